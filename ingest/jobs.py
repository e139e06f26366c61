"""Ingest jobs: every batch is a job with one entry per planned item and its state.

An entry is pending, done, duplicate or failed (with the step, the file and the reason), and
holds the notices of what its steps skipped or changed (``repository.notices``, as data). The
item id of every entry is fixed when the job is planned, so a job interrupted at any point
(even by SIGKILL) resumes without making any item twice.
"""
from __future__ import annotations

import json
import secrets
import sqlite3
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from storage.sqlite import SQLiteDatabase

STATES = ("pending", "done", "duplicate", "failed")

SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    id TEXT PRIMARY KEY, created TEXT NOT NULL, source TEXT NOT NULL, user TEXT NOT NULL, options TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS entries (
    job_id TEXT NOT NULL REFERENCES jobs(id), n INTEGER NOT NULL, label TEXT NOT NULL, item_id TEXT NOT NULL,
    files TEXT NOT NULL, file_fields TEXT NOT NULL, metadata TEXT NOT NULL,
    state TEXT NOT NULL, step TEXT, file TEXT, reason TEXT, updated TEXT NOT NULL,
    PRIMARY KEY (job_id, n)
);
CREATE INDEX IF NOT EXISTS entries_by_item ON entries(item_id);
"""
NOTES = "notes"  # a column added after the first release: databases without it gain it when opened
KIND = "kind"  # likewise: what kind of failure (FAILURE_KINDS), which decides whether a retry can help
# "transient": storage or the system failed (a full disk, an object store away, a concurrent edit) — a
# retry can help; "input": the file or its metadata is wrong (an unsupported or unsafe file, a bad
# date) — the same input fails again, so no retry is offered; planning problems are never retried.
FAILURE_KINDS = ("transient", "input")


@dataclass
class Entry:
    job_id: str
    n: int
    label: str
    item_id: str
    files: list[str]
    file_fields: list[dict]  # per file: explicit id, label, access (may be empty)
    metadata: dict
    state: str = "pending"
    step: str | None = None
    file: str | None = None
    reason: str | None = None
    notes: list[dict] = field(default_factory=list)  # Notice dicts: shown in the reader's language
    kind: str | None = None  # a failure's kind (FAILURE_KINDS); None for older entries: a retry is offered

    @property
    def retryable(self) -> bool:
        """Whether trying a failed entry again can help (not a planning problem, not bad input)."""
        return self.state == "failed" and self.step != "plan" and self.kind != "input"


@dataclass
class Job:
    id: str
    created: str
    source: str
    user: str
    options: dict
    counts: dict  # state → number of entries


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


class JobStore(SQLiteDatabase):
    """SQLite store of jobs and entries (operational state in DATA_DIR/jobs.sqlite3)."""

    def __init__(self, path: str | Path):
        super().__init__(path, SCHEMA)
        with self._db() as db:
            for column in (NOTES, KIND):
                if column not in {row["name"] for row in db.execute("PRAGMA table_info(entries)")}:
                    try:
                        db.execute(f"ALTER TABLE entries ADD COLUMN {column} TEXT")
                    except sqlite3.OperationalError as exc:  # another process (a worker) added it a moment ago
                        if "duplicate column" not in str(exc):
                            raise

    def create(self, source: str, entries: list[Entry], *, user: str, options: dict | None = None) -> str:
        job_id = datetime.now(timezone.utc).strftime("j%Y%m%d-%H%M%S-") + secrets.token_hex(2)
        with self._db() as db:
            db.execute("INSERT INTO jobs VALUES (?,?,?,?,?)",
                       (job_id, _now(), source, user, json.dumps(options or {}, ensure_ascii=False)))
            db.executemany("INSERT INTO entries (job_id, n, label, item_id, files, file_fields, metadata, state, "
                           "step, file, reason, updated) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)", [
                (job_id, e.n, e.label, e.item_id, json.dumps(e.files, ensure_ascii=False), json.dumps(e.file_fields, ensure_ascii=False),
                 json.dumps(e.metadata, ensure_ascii=False), e.state, e.step, e.file, e.reason, _now())
                for e in entries])
        return job_id

    def mark(self, job_id: str, n: int, state: str, *, step: str | None = None, file: str | None = None,
             reason: str | None = None, item_id: str | None = None, notes: list | None = None,
             kind: str | None = None) -> None:
        """Record an entry's new state (and, when it completed another entry's item, that item)
        with its ``notes`` (``Notice``s)."""
        assert state in STATES and kind in (None, *FAILURE_KINDS)
        kept = json.dumps([n.to_dict() for n in notes], ensure_ascii=False) if notes else None
        with self._db() as db:
            db.execute(f"UPDATE entries SET state=?, step=?, file=?, reason=?, notes=?, {KIND}=?, updated=?, "
                       "item_id=COALESCE(?, item_id) WHERE job_id=? AND n=?",
                       (state, step, file, reason, kept, kind, _now(), item_id, job_id, n))

    def claim(self, job_id: str, n: int) -> bool:
        """Make a failed entry pending again for a retry; False if it is not failed (any more):
        another retry took it, or it is done. One retry at a time works on an entry."""
        with self._db() as db:
            return db.execute("UPDATE entries SET state='pending', updated=? WHERE job_id=? AND n=? AND state='failed' "
                              "AND COALESCE(step, '') != 'plan'", (_now(), job_id, n)).rowcount == 1

    def claim_failed(self, job_id: str, n: int | None = None) -> list[int]:
        """Claim the job's failed entries that a retry can help (or only entry ``n``) for a retry;
        the numbers claimed."""
        return [e.n for e in self.entries(job_id, ("failed",))
                if n in (None, e.n) and e.retryable and self.claim(job_id, e.n)]

    def unfinished(self, item_ids: list[str] | None = None) -> dict[str, Entry]:
        """The newest entry still failed or pending of each item (of ``item_ids``, else of all):
        an item stored by such an entry lacks derivatives or its interview (issue 11 #2).
        Entries whose item was never stored are here too: callers check that the item exists."""
        sql = "SELECT * FROM entries WHERE state IN ('failed', 'pending') AND COALESCE(step, '') != 'plan'"
        params: tuple = ()
        if item_ids is not None:
            sql += f" AND item_id IN ({','.join('?' * len(item_ids))})"
            params = tuple(item_ids)
        return {e.item_id: e for e in map(self._entry, self._db().execute(sql + " ORDER BY updated, rowid", params))}

    def completed(self, item_id: str, job_id: str, n: int) -> None:
        """Entry ``job_id`` #``n`` completed ``item_id``: its other unfinished entries are done too."""
        with self._db() as db:
            db.execute("UPDATE entries SET state='done', reason=?, updated=? WHERE item_id=? AND state IN "
                       "('failed', 'pending') AND COALESCE(step, '') != 'plan' AND NOT (job_id=? AND n=?)",
                       (f"completed by job {job_id} #{n}", _now(), item_id, job_id, n))

    def entry(self, job_id: str, n: int) -> Entry:
        row = self._db().execute("SELECT * FROM entries WHERE job_id=? AND n=?", (job_id, n)).fetchone()
        return self._entry(row)

    def entries(self, job_id: str, states=STATES) -> list[Entry]:
        rows = self._db().execute(f"SELECT * FROM entries WHERE job_id=? AND state IN ({','.join('?' * len(states))}) "
                                  "ORDER BY n", (job_id, *states))
        return [self._entry(r) for r in rows]

    def job(self, job_id: str) -> Job | None:
        row = self._db().execute("SELECT * FROM jobs WHERE id=?", (job_id,)).fetchone()
        if row is None:
            return None
        counts = dict(self._db().execute("SELECT state, COUNT(*) FROM entries WHERE job_id=? GROUP BY state",
                                         (job_id,)).fetchall())
        return Job(row["id"], row["created"], row["source"], row["user"], json.loads(row["options"]), counts)

    def jobs(self, limit: int = 50) -> list[Job]:
        ids = [r[0] for r in self._db().execute("SELECT id FROM jobs ORDER BY created DESC, id DESC LIMIT ?", (limit,))]
        return [self.job(i) for i in ids]

    def throughput(self, since: str) -> list[tuple[str, str, int]]:
        """(day, state, entries) of the entries last changed on or after ``since`` (an ISO date),
        by day: what ingest did and how much of it failed, over time."""
        rows = self._db().execute("SELECT substr(updated, 1, 10) AS day, state, count(*) FROM entries "
                                  "WHERE updated >= ? GROUP BY day, state ORDER BY day, state", (since,))
        return [tuple(r) for r in rows]

    def state_counts(self) -> dict[str, int]:
        """Entries by state, over every job."""
        return {r[0]: r[1] for r in self._db().execute("SELECT state, count(*) FROM entries GROUP BY state")}

    @staticmethod
    def _entry(row) -> Entry:
        return Entry(row["job_id"], row["n"], row["label"], row["item_id"], json.loads(row["files"]),
                     json.loads(row["file_fields"]), json.loads(row["metadata"]), row["state"], row["step"],
                     row["file"], row["reason"], json.loads(row[NOTES] or "[]"), row[KIND])
