"""SQLiteMentionStore: proposed mentions of authority records in items' texts, and staff's decisions.

One row per item and authority record: the names found and where (``places``: field, file,
page, cue time, the passage's access level and a short excerpt), its state — proposed, confirmed,
rejected — and who decided when. Proposals can be made again from storage (search.mentions),
but a decision is kept: a rejected record is not proposed again for that item; a confirmed one
is in the item's metadata (Item.mentions).
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from .sqlite import SQLiteDatabase

SCHEMA = """
CREATE TABLE IF NOT EXISTS mentions (
    id INTEGER PRIMARY KEY, item_id TEXT NOT NULL, authority_id TEXT NOT NULL, name TEXT NOT NULL,
    places TEXT NOT NULL, state TEXT NOT NULL DEFAULT 'proposed', decided_by TEXT, decided_at TEXT,
    UNIQUE (item_id, authority_id)
);
CREATE INDEX IF NOT EXISTS mentions_by_state ON mentions(state, item_id);
"""
STATES = ("proposed", "confirmed", "rejected")


@dataclass
class MentionRow:
    id: int
    item_id: str
    authority_id: str
    name: str
    places: list[dict]  # {"field", "file_id", "page", "time", "access", "excerpt"}
    state: str
    decided_by: str | None
    decided_at: str | None


class SQLiteMentionStore(SQLiteDatabase):
    def __init__(self, path: str | Path):
        super().__init__(path, SCHEMA)

    @staticmethod
    def _row(row) -> MentionRow | None:
        if row is None:
            return None
        return MentionRow(row["id"], row["item_id"], row["authority_id"], row["name"], json.loads(row["places"]),
                          row["state"], row["decided_by"], row["decided_at"])

    def propose(self, item_id: str, found: dict[str, tuple[str, list[dict]]]) -> None:
        """Make ``found`` (authority id → (name, places)) the item's proposals: new ones added,
        undecided ones no longer found removed, decided ones kept as they are."""
        with self._db() as db:
            db.execute("DELETE FROM mentions WHERE item_id = ? AND state = 'proposed'", (item_id,))
            for authority_id, (name, places) in found.items():
                db.execute("INSERT OR IGNORE INTO mentions (item_id, authority_id, name, places) VALUES (?, ?, ?, ?)",
                           (item_id, authority_id, name, json.dumps(places, ensure_ascii=False)))

    def forget(self, item_id: str) -> None:
        """An item purged: its proposals and decisions go."""
        with self._db() as db:
            db.execute("DELETE FROM mentions WHERE item_id = ?", (item_id,))

    def get(self, mention_id: int) -> MentionRow | None:
        return self._row(self._db().execute("SELECT * FROM mentions WHERE id = ?", (mention_id,)).fetchone())

    def listed(self, state: str = "proposed", *, after: int = 0, limit: int = 50) -> list[MentionRow]:
        rows = self._db().execute("SELECT * FROM mentions WHERE state = ? AND id > ? ORDER BY id LIMIT ?",
                                  (state, after, limit))
        return [self._row(r) for r in rows]

    def of_item(self, item_id: str) -> list[MentionRow]:
        return [self._row(r) for r in self._db().execute("SELECT * FROM mentions WHERE item_id = ? ORDER BY id",
                                                         (item_id,))]

    def decide(self, mention_id: int, state: str, *, user: str) -> None:
        if state not in STATES[1:]:
            raise ValueError(f"a mention is confirmed or rejected, not {state!r}")
        with self._db() as db:
            db.execute("UPDATE mentions SET state = ?, decided_by = ?, decided_at = ? WHERE id = ?",
                       (state, user, datetime.now(timezone.utc).isoformat(timespec="seconds"), mention_id))
