"""Searches that found nothing, to guide cataloguing (the staff dashboard): each query's
normalised text and how often, when it was last asked — never who asked. The table is bounded:
beyond ``KEEP`` queries, the least asked (then the oldest) are dropped."""
from __future__ import annotations

import re
import unicodedata
from datetime import datetime, timezone

from sqlalchemy import Column, Index, Integer, Table, func, select

from storage.database import TEXT, Database, metadata

zero_results = Table(
    "zero_results", metadata,
    Column("query", TEXT, primary_key=True), Column("count", Integer, nullable=False),
    Column("last", TEXT, nullable=False), Index("zero_results_by_count", "count", "last"))
TABLES = [zero_results]
z = zero_results.c
ORDER = (z["count"].desc(), z.last.desc(), z.query)  # most asked first
KEEP = 1000  # queries kept
MAX_CHARS = 100  # of a query's text
_SPACE = re.compile(r"\s+")


def normalise(query: str) -> str:
    """NFKC, lower case, without control characters, spaces collapsed, at most MAX_CHARS."""
    text = "".join(c for c in unicodedata.normalize("NFKC", query or "") if unicodedata.category(c)[0] != "C")
    return _SPACE.sub(" ", text).strip().lower()[:MAX_CHARS].strip()


class ZeroResults:
    def __init__(self, database: Database, *, keep: int = KEEP):
        self.db, self.keep = database, keep

    def record(self, query: str) -> None:
        text = normalise(query)
        if not text:
            return
        at = datetime.now(timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")
        insert = self.db.insert(zero_results).values(query=text, count=1, last=at)
        with self.db.begin() as db:
            db.execute(insert.on_conflict_do_update(index_elements=["query"],
                                                    set_={"count": z["count"] + 1, "last": insert.excluded.last}))
        with self.db.begin() as db:  # (apart: a writer holding its row while trimming others' could deadlock)
            db.execute(zero_results.delete().where(z.query.in_(select(z.query).order_by(*ORDER).offset(self.keep))))

    def top(self, limit: int = 20) -> list[tuple[str, int, str]]:
        """(query, times asked, last asked), most asked first."""
        with self.db.connect() as db:
            return [tuple(r) for r in db.execute(select(z.query, z["count"], z.last).order_by(*ORDER).limit(limit))]

    def total(self) -> tuple[int, int]:
        """(distinct queries kept, times they were asked)."""
        with self.db.connect() as db:
            return tuple(db.execute(select(func.count(), func.coalesce(func.sum(z["count"]), 0))).one())
