"""Ingest jobs: every batch is a job with one entry per planned item and its state.

An entry is pending, done, duplicate or failed (with the step, the file and the reason), and
holds the notices of what its steps skipped or changed (``repository.notices``, as data). The
item id of every entry is fixed when the job is planned, so a job interrupted at any point
(even by SIGKILL) resumes without making any item twice.

The tables are in the database (``storage.database``: DATABASE_URL), shared by every process and
machine that ingests. A worker of a distributed queue takes an entry's *lease* before working on
it (``claim_lease``), renews it while it works and releases it after: no other worker takes the
entry meanwhile, and the entry of a worker that died is taken over once its lease has run out.
"""
from __future__ import annotations

import json
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

from sqlalchemy import Column, ForeignKey, Integer, Table, and_, func, or_, select

from storage.database import TEXT, Database, counts_by_state, metadata

STATES = ("pending", "done", "duplicate", "failed")
FINISHED = ("done", "duplicate")  # an entry in these states is never worked on again
# what kind of failure (entries.kind), which decides whether a retry can help:
# "transient": storage or the system failed (a full disk, an object store away, a concurrent edit) — a
# retry can help; "input": the file or its metadata is wrong (an unsupported or unsafe file, a bad
# date) — the same input fails again, so no retry is offered; planning problems are never retried.
FAILURE_KINDS = ("transient", "input")

jobs_table = Table(
    "jobs", metadata,
    Column("id", TEXT, primary_key=True), Column("created", TEXT, nullable=False),
    Column("source", TEXT, nullable=False), Column("user", TEXT, nullable=False),
    Column("options", TEXT, nullable=False))  # JSON
entries_table = Table(  # files, file_fields, metadata, notes: JSON; times: ISO 8601 text in UTC
    "entries", metadata,
    Column("job_id", TEXT, ForeignKey("jobs.id"), primary_key=True), Column("n", Integer, primary_key=True),
    Column("label", TEXT, nullable=False), Column("item_id", TEXT, nullable=False, index=True),
    Column("files", TEXT, nullable=False), Column("file_fields", TEXT, nullable=False),
    Column("metadata", TEXT, nullable=False), Column("state", TEXT, nullable=False),
    Column("step", TEXT), Column("file", TEXT), Column("reason", TEXT), Column("updated", TEXT, nullable=False),
    Column("notes", TEXT), Column("kind", TEXT),
    Column("worker", TEXT), Column("lease_until", TEXT))  # the lease: who works on the entry, until when
TABLES = (jobs_table, entries_table)  # parents first (storage.adopt)


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
    worker: str | None = None  # the lease's holder (it may have run out: see lease_until)
    lease_until: str | None = None

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


def _instant(seconds: float = 0) -> str:
    """Now (+ ``seconds``) to the microsecond: entries' ``updated`` (their order) and leases."""
    return (datetime.now(timezone.utc) + timedelta(seconds=seconds)).isoformat(timespec="microseconds")


def _json(value) -> str:
    return json.dumps(value, ensure_ascii=False)


_unplanned = func.coalesce(entries_table.c.step, "") != "plan"  # a plan problem is never retried or completed
_unfinished = and_(entries_table.c.state.in_(("failed", "pending")), _unplanned)
_released = {"worker": None, "lease_until": None}


class JobStore:
    """The jobs and their entries in the database (operational state: back it up)."""

    def __init__(self, database: Database):
        self.db = database

    def create(self, source: str, entries: list[Entry], *, user: str, options: dict | None = None) -> str:
        job_id = datetime.now(timezone.utc).strftime("j%Y%m%d-%H%M%S-") + secrets.token_hex(2)
        with self.db.begin() as conn:
            conn.execute(jobs_table.insert().values(id=job_id, created=_now(), source=source, user=user,
                                              options=_json(options or {})))
            if entries:
                conn.execute(entries_table.insert(), [
                    {"job_id": job_id, "n": e.n, "label": e.label, "item_id": e.item_id, "files": _json(e.files),
                     "file_fields": _json(e.file_fields), "metadata": _json(e.metadata), "state": e.state,
                     "step": e.step, "file": e.file, "reason": e.reason, "updated": _instant()} for e in entries])
        return job_id

    def mark(self, job_id: str, n: int, state: str, *, step: str | None = None, file: str | None = None,
             reason: str | None = None, item_id: str | None = None, notes: list | None = None,
             kind: str | None = None, holder: str | None = None) -> bool:
        """Record an entry's new state (and, when it completed another entry's item, that item)
        with its ``notes`` (``Notice``s). An entry that leaves pending is no longer worked on: its
        lease ends. With ``holder``, only while that worker holds the entry's lease; whether it was
        recorded."""
        assert state in STATES and kind in (None, *FAILURE_KINDS)
        values = {"state": state, "step": step, "file": file, "reason": reason, "kind": kind, "updated": _instant(),
                  "notes": _json([n.to_dict() for n in notes]) if notes else None,
                  **({"item_id": item_id} if item_id is not None else {}), **(_released if state != "pending" else {})}
        held = (entries_table.c.worker == holder,) if holder is not None else ()
        with self.db.begin() as conn:
            return conn.execute(entries_table.update().where(self._is(job_id, n), *held).values(values)).rowcount == 1

    def claim(self, job_id: str, n: int) -> bool:
        """Make a failed entry pending again for a retry; False if it is not failed (any more):
        another retry took it, or it is done. One retry at a time works on an entry."""
        with self.db.begin() as conn:  # one conditional UPDATE: of two retries racing, one changes the row
            return conn.execute(entries_table.update().where(self._is(job_id, n), entries_table.c.state == "failed", _unplanned)
                                .values(state="pending", updated=_instant())).rowcount == 1

    def claim_failed(self, job_id: str, n: int | None = None) -> list[int]:
        """Claim the job's failed entries that a retry can help (or only entry ``n``) for a retry;
        the numbers claimed."""
        return [e.n for e in self.entries(job_id, ("failed",))
                if n in (None, e.n) and e.retryable and self.claim(job_id, e.n)]

    # --- leases: one worker at a time on an entry (a distributed queue may give a task out twice) ---

    def claim_lease(self, job_id: str, n: int, worker: str, seconds: float) -> bool:
        """Give ``worker`` the lease on entry ``n`` for ``seconds``: True if no one holds it, its
        holder's lease has run out, or ``worker`` holds it already, and the entry is not finished
        (done or duplicate). One conditional UPDATE: of workers racing, in any processes or on any
        machines, exactly one gets it (PostgreSQL re-checks the condition on the row a concurrent
        winner committed; SQLite writers take turns). Times are the claiming machine's clock."""
        now = _instant()
        free = or_(entries_table.c.worker.is_(None), entries_table.c.worker == worker, entries_table.c.lease_until.is_(None),
                   entries_table.c.lease_until < now)
        with self.db.begin() as conn:
            return conn.execute(entries_table.update().where(self._is(job_id, n), entries_table.c.state.not_in(FINISHED), free)
                                .values(worker=worker, lease_until=_instant(seconds))).rowcount == 1

    def renew_lease(self, job_id: str, n: int, worker: str, seconds: float) -> bool:
        """Extend ``worker``'s lease to ``seconds`` from now; False if it no longer holds it (another
        worker took the entry over after the lease ran out, or the entry finished)."""
        with self.db.begin() as conn:
            return conn.execute(entries_table.update().where(self._is(job_id, n), entries_table.c.worker == worker,
                                                       entries_table.c.state.not_in(FINISHED))
                                .values(lease_until=_instant(seconds))).rowcount == 1

    def release_lease(self, job_id: str, n: int, worker: str) -> None:
        """End ``worker``'s lease on the entry (nothing if another worker holds it now)."""
        with self.db.begin() as conn:
            conn.execute(entries_table.update().where(self._is(job_id, n), entries_table.c.worker == worker).values(_released))

    def lease_holder(self, job_id: str, n: int) -> str | None:
        """The worker whose lease on the entry has not run out, if any."""
        with self.db.connect() as conn:
            return conn.execute(select(entries_table.c.worker).where(self._is(job_id, n),
                                                               entries_table.c.lease_until >= _instant())).scalar()

    # --- reading ---

    def unfinished(self, item_ids: list[str] | None = None) -> dict[str, Entry]:
        """The newest entry still failed or pending of each item (of ``item_ids``, else of all):
        an item stored by such an entry lacks derivatives or its interview (issue 11 #2).
        Entries whose item was never stored are here too: callers check that the item exists."""
        query = select(entries_table).where(_unfinished)
        if item_ids is not None:
            query = query.where(entries_table.c.item_id.in_(item_ids))
        return {e.item_id: e for e in self._entries(query.order_by(entries_table.c.updated, entries_table.c.job_id, entries_table.c.n))}

    def completed(self, item_id: str, job_id: str, n: int) -> None:
        """Entry ``job_id`` #``n`` completed ``item_id``: its other unfinished entries are done too."""
        with self.db.begin() as conn:
            conn.execute(entries_table.update().where(entries_table.c.item_id == item_id, _unfinished, ~self._is(job_id, n))
                         .values(state="done", reason=f"completed by job {job_id} #{n}", updated=_instant(), **_released))

    def entry(self, job_id: str, n: int) -> Entry:
        (found,) = self._entries(select(entries_table).where(self._is(job_id, n)))
        return found

    def entries(self, job_id: str, states=STATES) -> list[Entry]:
        return self._entries(select(entries_table).where(entries_table.c.job_id == job_id, entries_table.c.state.in_(states))
                             .order_by(entries_table.c.n))

    def job(self, job_id: str) -> Job | None:
        found = self._jobs(select(jobs_table).where(jobs_table.c.id == job_id))
        return found[0] if found else None

    def jobs(self, limit: int = 50) -> list[Job]:
        return self._jobs(select(jobs_table).order_by(jobs_table.c.created.desc(), jobs_table.c.id.desc()).limit(limit))

    def _jobs(self, query) -> list[Job]:
        """The jobs ``query`` selects, each with its entries counted by state (one query for all)."""
        with self.db.connect() as conn:
            rows = conn.execute(query).all()
            counts = counts_by_state(conn, entries_table, [row.id for row in rows])
        return [Job(r.id, r.created, r.source, r.user, json.loads(r.options), counts[r.id]) for r in rows]

    def throughput(self, since: str) -> list[tuple[str, str, int]]:
        """(day, state, entries) of the entries last changed on or after ``since`` (an ISO date),
        by day: what ingest did and how much of it failed, over time."""
        day = func.substr(entries_table.c.updated, 1, 10)
        with self.db.connect() as conn:
            rows = conn.execute(select(day, entries_table.c.state, func.count()).where(entries_table.c.updated >= since)
                                .group_by(day, entries_table.c.state).order_by(day, entries_table.c.state))
            return [tuple(r) for r in rows]

    def state_counts(self) -> dict[str, int]:
        """Entries by state, over every job."""
        with self.db.connect() as conn:
            return dict(conn.execute(select(entries_table.c.state, func.count()).group_by(entries_table.c.state)).all())

    @staticmethod
    def _is(job_id: str, n: int):
        return and_(entries_table.c.job_id == job_id, entries_table.c.n == n)

    def _entries(self, query) -> list[Entry]:
        with self.db.connect() as conn:
            return [Entry(r.job_id, r.n, r.label, r.item_id, json.loads(r.files), json.loads(r.file_fields),
                          json.loads(r.metadata), r.state, r.step, r.file, r.reason, json.loads(r.notes or "[]"),
                          r.kind, r.worker, r.lease_until) for r in conn.execute(query)]
