"""The proposals of reviewed corrections, kept in the database's table ``proposals`` (primary state,
not rebuilt: who proposed what, and who accepted or rejected it; what was accepted is also in the
objects, as a new version of the derivative and its PREMIS event)."""
from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import datetime, timezone

from sqlalchemy import Column, Index, Integer, Table, func, select

from storage.database import ID, TEXT, Database, metadata

proposals = Table(
    "proposals", metadata,
    Column("id", ID, primary_key=True), Column("item_id", TEXT, nullable=False),
    Column("target", TEXT, nullable=False), Column("file_id", TEXT, nullable=False), Column("place", TEXT, nullable=False),
    Column("before", TEXT, nullable=False), Column("after", TEXT, nullable=False), Column("note", TEXT, nullable=False),
    Column("version", Integer, nullable=False), Column("sha256", TEXT, nullable=False),
    Column("proposer", TEXT, nullable=False), Column("proposed", TEXT, nullable=False),
    Column("state", TEXT, nullable=False), Column("reviewer", TEXT), Column("reviewed", TEXT), Column("reason", TEXT),
    Column("result_version", Integer),
    Index("proposals_by_state", "state", "id"), Index("proposals_by_item", "item_id", "state"),
    sqlite_autoincrement=True)  # a proposal's id is never given again, as on PostgreSQL
TABLES = [proposals]
pc = proposals.c
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


class ProposalStore:
    def __init__(self, database: Database):
        self.db = database

    def add(self, p: Proposal) -> Proposal:
        p.proposed = p.proposed or now()
        with self.db.begin() as db:
            p.id = db.execute(proposals.insert().values({c: getattr(p, c) for c in COLUMNS})).inserted_primary_key[0]
        return p

    def get(self, proposal_id: int) -> Proposal | None:
        with self.db.connect() as db:
            row = db.execute(select(proposals).where(pc.id == proposal_id)).first()
        return Proposal(**row._mapping) if row else None

    def decide(self, p: Proposal, *, state: str, reviewer: str, reason: str = "",
               result_version: int | None = None) -> bool:
        """Record the decision, unless another reviewer decided first (False)."""
        with self.db.begin() as db:  # the conditional UPDATE: of two reviewers racing, one changes the row
            return db.execute(proposals.update().where(pc.id == p.id, pc.state == "proposed").values(
                state=state, reviewer=reviewer, reviewed=now(), reason=reason, result_version=result_version)
            ).rowcount == 1

    def list(self, *, state: str | None = "proposed", item_id: str | None = None, proposer: str | None = None,
             limit: int = 200, offset: int = 0) -> list[Proposal]:
        query = select(proposals)
        for column, value in (("state", state), ("item_id", item_id), ("proposer", proposer)):
            if value is not None:
                query = query.where(pc[column] == value)
        with self.db.connect() as db:
            return [Proposal(**r._mapping) for r in db.execute(query.order_by(pc.id).limit(limit).offset(offset))]

    def count(self, *, state: str = "proposed", proposer: str | None = None) -> int:
        query = select(func.count()).where(pc.state == state)
        if proposer is not None:
            query = query.where(pc.proposer == proposer)
        with self.db.connect() as db:
            return db.execute(query).scalar()

    def credits(self, item_id: str) -> list[tuple[str, int]]:
        """(proposer, accepted corrections) of an item, most first."""
        n = func.count().label("n")
        query = (select(pc.proposer, n).where(pc.item_id == item_id, pc.state == "accepted")
                 .group_by(pc.proposer).order_by(n.desc(), pc.proposer))
        with self.db.connect() as db:
            return [(r[0], r[1]) for r in db.execute(query)]
