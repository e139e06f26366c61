"""The store of bulk jobs (repository.bulk): tables beside the ingest jobs' in the database
(``storage.database``), one entry per item with its fields before and after, the version it was
planned from, and its state (operational state: the versions the jobs wrote are in the archive,
with the job's tag)."""
from __future__ import annotations

import json
import secrets
from datetime import datetime, timezone

from sqlalchemy import Column, ForeignKey, Integer, Table, select

from repository.bulk import STATES, BulkJob, Change

from .database import TEXT, Database, counts_by_state, metadata

bulk_jobs = Table(
    "bulk_jobs", metadata,
    Column("id", TEXT, primary_key=True), Column("created", TEXT, nullable=False), Column("user", TEXT, nullable=False),
    Column("kind", TEXT, nullable=False), Column("description", TEXT, nullable=False), Column("why", TEXT, nullable=False),
    Column("undo_of", TEXT))
bulk_entries = Table(  # before, after: JSON; row: the spreadsheet's row of an update
    "bulk_entries", metadata,
    Column("job_id", TEXT, ForeignKey("bulk_jobs.id"), primary_key=True), Column("n", Integer, primary_key=True),
    Column("item_id", TEXT, nullable=False), Column("version", Integer, nullable=False),
    Column("label", TEXT, nullable=False), Column("before", TEXT, nullable=False), Column("after", TEXT, nullable=False),
    Column("state", TEXT, nullable=False), Column("reason", TEXT, nullable=False),
    Column("new_version", Integer), Column("row", Integer), Column("updated", TEXT, nullable=False))
TABLES = (bulk_jobs, bulk_entries)  # parents first (storage.adopt)


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def _json(value) -> str:
    return json.dumps(value, ensure_ascii=False)


class BulkJobs:
    def __init__(self, database: Database):
        self.db = database

    def create(self, kind: str, changes: list[Change], *, user: str, description: str, why: str,
               undo_of: str | None = None) -> str:
        job_id = datetime.now(timezone.utc).strftime("b%Y%m%d-%H%M%S-") + secrets.token_hex(2)
        with self.db.begin() as conn:
            conn.execute(bulk_jobs.insert().values(id=job_id, created=_now(), user=user, kind=kind,
                                                   description=description, why=why, undo_of=undo_of))
            if changes:
                conn.execute(bulk_entries.insert(), [
                    {"job_id": job_id, "n": n, "item_id": c.item_id, "version": c.version, "label": c.label,
                     "before": _json(c.before), "after": _json(c.after), "state": "pending", "reason": "",
                     "row": c.row, "updated": _now()} for n, c in enumerate(changes, 1)])
        return job_id

    def mark(self, job_id: str, n: int, state: str, *, reason: str = "", new_version: int | None = None) -> None:
        assert state in STATES
        with self.db.begin() as conn:
            conn.execute(bulk_entries.update().where(bulk_entries.c.job_id == job_id, bulk_entries.c.n == n)
                         .values(state=state, reason=reason, new_version=new_version, updated=_now()))

    def job(self, job_id: str) -> BulkJob | None:
        found = self._jobs(select(bulk_jobs).where(bulk_jobs.c.id == job_id))
        return found[0] if found else None

    def jobs(self, limit: int = 50) -> list[BulkJob]:
        return self._jobs(select(bulk_jobs).order_by(bulk_jobs.c.created.desc(), bulk_jobs.c.id.desc()).limit(limit))

    def _jobs(self, query) -> list[BulkJob]:
        """The jobs ``query`` selects, each with its entries counted by state (one query for all)."""
        with self.db.connect() as conn:
            rows = conn.execute(query).all()
            counts = counts_by_state(conn, bulk_entries, [row.id for row in rows])
        return [BulkJob(r.id, r.created, r.user, r.kind, r.description, r.why, r.undo_of, counts[r.id]) for r in rows]

    def entries(self, job_id: str, states: tuple = STATES, *, limit: int | None = None, offset: int = 0) -> list[Change]:
        query = (select(bulk_entries).where(bulk_entries.c.job_id == job_id, bulk_entries.c.state.in_(states))
                 .order_by(bulk_entries.c.n).limit(limit).offset(offset))
        with self.db.connect() as conn:
            return [Change(r.item_id, r.version, r.label, json.loads(r.before), json.loads(r.after), n=r.n,
                           state=r.state, reason=r.reason, new_version=r.new_version, row=r.row)
                    for r in conn.execute(query)]

    def undone_by(self, job_id: str) -> str | None:
        with self.db.connect() as conn:
            return conn.execute(select(bulk_jobs.c.id).where(bulk_jobs.c.undo_of == job_id)
                                .order_by(bulk_jobs.c.created).limit(1)).scalar()
