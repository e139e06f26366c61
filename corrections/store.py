"""The proposals of reviewed corrections, kept in ``DATA_DIR/corrections.sqlite3`` (primary state,
not rebuilt: who proposed what, and who accepted or rejected it; what was accepted is also in the
objects, as a new version of the derivative and its PREMIS event)."""
from __future__ import annotations

import os
from dataclasses import dataclass, fields
from datetime import datetime, timezone
from pathlib import Path

from storage.sqlite import SQLiteDatabase

SCHEMA = """
CREATE TABLE IF NOT EXISTS proposals (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    item_id TEXT NOT NULL, target TEXT NOT NULL, file_id TEXT NOT NULL, place TEXT NOT NULL,
    before TEXT NOT NULL, after TEXT NOT NULL, note TEXT NOT NULL,
    version INTEGER NOT NULL, sha256 TEXT NOT NULL,
    proposer TEXT NOT NULL, proposed TEXT NOT NULL,
    state TEXT NOT NULL, reviewer TEXT, reviewed TEXT, reason TEXT, result_version INTEGER
);
CREATE INDEX IF NOT EXISTS proposals_by_state ON proposals(state, id);
CREATE INDEX IF NOT EXISTS proposals_by_item ON proposals(item_id, state);
"""
STATES = ("proposed", "accepted", "rejected")


@dataclass
class Proposal:
    """One proposed correction: of OCR line ``place`` ("3": the 4th line) of the OCR derivative
    ``file_id``, or of transcript cue ``place`` ("t0:c5") of the interview file ``file_id``, made
    against item ``version`` when that file had digest ``sha256``."""
    item_id: str
    target: str  # "ocr" or "transcript"
    file_id: str
    place: str
    before: str
    after: str
    version: int
    sha256: str
    proposer: str
    note: str = ""
    proposed: str = ""
    state: str = "proposed"
    reviewer: str | None = None
    reviewed: str | None = None
    reason: str | None = None
    result_version: int | None = None
    id: int | None = None


COLUMNS = [f.name for f in fields(Proposal) if f.name != "id"]


def now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")


class ProposalStore(SQLiteDatabase):
    def __init__(self, path: str | Path):
        super().__init__(path, SCHEMA)
        os.chmod(self.path, 0o600)

    def add(self, p: Proposal) -> Proposal:
        p.proposed = p.proposed or now()
        with self._db() as db:
            cur = db.execute(f"INSERT INTO proposals ({','.join(COLUMNS)}) VALUES ({','.join('?' * len(COLUMNS))})",
                             [getattr(p, c) for c in COLUMNS])
        p.id = cur.lastrowid
        return p

    def get(self, proposal_id: int) -> Proposal | None:
        row = self._db().execute("SELECT * FROM proposals WHERE id = ?", (proposal_id,)).fetchone()
        return Proposal(**dict(row)) if row else None

    def decide(self, p: Proposal, *, state: str, reviewer: str, reason: str = "",
               result_version: int | None = None) -> bool:
        """Record the decision, unless another reviewer decided first (False)."""
        with self._db() as db:
            cur = db.execute("UPDATE proposals SET state = ?, reviewer = ?, reviewed = ?, reason = ?, result_version = ?"
                             " WHERE id = ? AND state = 'proposed'", (state, reviewer, now(), reason, result_version, p.id))
        return cur.rowcount == 1

    def list(self, *, state: str | None = "proposed", item_id: str | None = None, proposer: str | None = None,
             limit: int = 200, offset: int = 0) -> list[Proposal]:
        where, params = [], []
        for column, value in (("state", state), ("item_id", item_id), ("proposer", proposer)):
            if value is not None:
                where.append(f"{column} = ?")
                params.append(value)
        sql = "SELECT * FROM proposals" + (f" WHERE {' AND '.join(where)}" if where else "")
        rows = self._db().execute(sql + " ORDER BY id LIMIT ? OFFSET ?", (*params, limit, offset))
        return [Proposal(**dict(r)) for r in rows]

    def count(self, *, state: str = "proposed", proposer: str | None = None) -> int:
        sql, params = "SELECT count(*) FROM proposals WHERE state = ?", [state]
        if proposer is not None:
            sql, params = sql + " AND proposer = ?", params + [proposer]
        return self._db().execute(sql, params).fetchone()[0]

    def credits(self, item_id: str) -> list[tuple[str, int]]:
        """(proposer, accepted corrections) of an item, most first."""
        rows = self._db().execute("SELECT proposer, count(*) FROM proposals WHERE item_id = ? AND state = 'accepted' "
                                  "GROUP BY proposer ORDER BY count(*) DESC, proposer", (item_id,))
        return [(r[0], r[1]) for r in rows]
