"""The store of bulk jobs (repository.bulk): tables beside the ingest jobs' in DATA_DIR/jobs.sqlite3,
one entry per item with its fields before and after, the version it was planned from, and its
state (operational state: the versions the jobs wrote are in the archive, with the job's tag)."""
from __future__ import annotations

import json
import secrets
from datetime import datetime, timezone
from pathlib import Path

from repository.bulk import STATES, BulkJob, Change

from .sqlite import SQLiteDatabase

SCHEMA = """
CREATE TABLE IF NOT EXISTS bulk_jobs (
    id TEXT PRIMARY KEY, created TEXT NOT NULL, user TEXT NOT NULL, kind TEXT NOT NULL,
    description TEXT NOT NULL, why TEXT NOT NULL, undo_of TEXT
);
CREATE TABLE IF NOT EXISTS bulk_entries (
    job_id TEXT NOT NULL REFERENCES bulk_jobs(id), n INTEGER NOT NULL, item_id TEXT NOT NULL,
    version INTEGER NOT NULL, label TEXT NOT NULL, before TEXT NOT NULL, after TEXT NOT NULL,
    state TEXT NOT NULL, reason TEXT NOT NULL DEFAULT '', new_version INTEGER, row INTEGER, updated TEXT NOT NULL,
    PRIMARY KEY (job_id, n)
);
"""


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


class SQLiteBulkJobs(SQLiteDatabase):
    def __init__(self, path: str | Path):
        super().__init__(path, SCHEMA)

    def create(self, kind: str, changes: list[Change], *, user: str, description: str, why: str,
               undo_of: str | None = None) -> str:
        job_id = datetime.now(timezone.utc).strftime("b%Y%m%d-%H%M%S-") + secrets.token_hex(2)
        with self._db() as db:
            db.execute("INSERT INTO bulk_jobs VALUES (?,?,?,?,?,?,?)",
                       (job_id, _now(), user, kind, description, why, undo_of))
            db.executemany("INSERT INTO bulk_entries (job_id, n, item_id, version, label, before, after, state, row, "
                           "updated) VALUES (?,?,?,?,?,?,?,'pending',?,?)",
                           [(job_id, n, c.item_id, c.version, c.label, json.dumps(c.before, ensure_ascii=False),
                             json.dumps(c.after, ensure_ascii=False), c.row, _now())
                            for n, c in enumerate(changes, 1)])
        return job_id

    def mark(self, job_id: str, n: int, state: str, *, reason: str = "", new_version: int | None = None) -> None:
        assert state in STATES
        with self._db() as db:
            db.execute("UPDATE bulk_entries SET state=?, reason=?, new_version=?, updated=? WHERE job_id=? AND n=?",
                       (state, reason, new_version, _now(), job_id, n))

    def job(self, job_id: str) -> BulkJob | None:
        row = self._db().execute("SELECT * FROM bulk_jobs WHERE id=?", (job_id,)).fetchone()
        if row is None:
            return None
        counts = dict(self._db().execute("SELECT state, COUNT(*) FROM bulk_entries WHERE job_id=? GROUP BY state",
                                         (job_id,)).fetchall())
        return BulkJob(row["id"], row["created"], row["user"], row["kind"], row["description"], row["why"],
                       row["undo_of"], counts)

    def jobs(self, limit: int = 50) -> list[BulkJob]:
        ids = [r[0] for r in self._db().execute("SELECT id FROM bulk_jobs ORDER BY created DESC, id DESC LIMIT ?",
                                                (limit,))]
        return [self.job(i) for i in ids]

    def entries(self, job_id: str, states: tuple = STATES, *, limit: int | None = None, offset: int = 0) -> list[Change]:
        rows = self._db().execute(f"SELECT * FROM bulk_entries WHERE job_id=? AND state IN ({','.join('?' * len(states))}) "
                                  "ORDER BY n LIMIT ? OFFSET ?", (job_id, *states, -1 if limit is None else limit, offset))
        return [Change(r["item_id"], r["version"], r["label"], json.loads(r["before"]), json.loads(r["after"]),
                       n=r["n"], state=r["state"], reason=r["reason"], new_version=r["new_version"], row=r["row"])
                for r in rows]

    def undone_by(self, job_id: str) -> str | None:
        row = self._db().execute("SELECT id FROM bulk_jobs WHERE undo_of=? ORDER BY created LIMIT 1", (job_id,)).fetchone()
        return row[0] if row else None
