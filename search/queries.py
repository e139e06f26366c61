"""Searches that found nothing, to guide cataloguing (the staff dashboard): each query's
normalised text and how often, when it was last asked — never who asked. The table is bounded:
beyond ``KEEP`` queries, the least asked (then the oldest) are dropped."""
from __future__ import annotations

import re
import unicodedata
from datetime import datetime, timezone
from pathlib import Path

from storage.sqlite import SQLiteDatabase

SCHEMA = """
CREATE TABLE IF NOT EXISTS zero_results (query TEXT PRIMARY KEY, count INTEGER NOT NULL, last TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS zero_results_by_count ON zero_results(count, last);
"""
KEEP = 1000  # queries kept
MAX_CHARS = 100  # of a query's text
_SPACE = re.compile(r"\s+")


def normalise(query: str) -> str:
    """NFKC, lower case, without control characters, spaces collapsed, at most MAX_CHARS."""
    text = "".join(c for c in unicodedata.normalize("NFKC", query or "") if unicodedata.category(c)[0] != "C")
    return _SPACE.sub(" ", text).strip().lower()[:MAX_CHARS].strip()


class ZeroResults(SQLiteDatabase):
    def __init__(self, path: str | Path, *, keep: int = KEEP):
        super().__init__(path, SCHEMA)
        self.keep = keep

    def record(self, query: str) -> None:
        text = normalise(query)
        if not text:
            return
        at = datetime.now(timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")
        with self._db() as db:
            db.execute("INSERT INTO zero_results VALUES (?, 1, ?) ON CONFLICT(query) DO UPDATE SET count = count + 1, "
                       "last = excluded.last", (text, at))
            db.execute("DELETE FROM zero_results WHERE query IN (SELECT query FROM zero_results ORDER BY count DESC, "
                       "last DESC, query LIMIT -1 OFFSET ?)", (self.keep,))

    def top(self, limit: int = 20) -> list[tuple[str, int, str]]:
        """(query, times asked, last asked), most asked first."""
        rows = self._db().execute("SELECT query, count, last FROM zero_results ORDER BY count DESC, last DESC, query "
                                  "LIMIT ?", (limit,))
        return [tuple(r) for r in rows]

    def total(self) -> tuple[int, int]:
        """(distinct queries kept, times they were asked)."""
        return tuple(self._db().execute("SELECT count(*), coalesce(sum(count), 0) FROM zero_results").fetchone())
