"""The derived list of exhibitions (``DATA_DIR/exhibitions.sqlite3``): each one's head status and
its published version, for /exhibitions and the home page. Storage is the source of truth:
``Exhibitions.rebuild`` (called by ``Archive.rebuild``, so ``fangzhi rebuild``) recreates it."""
from __future__ import annotations

import json
import sqlite3
import threading
from pathlib import Path

SCHEMA = """CREATE TABLE IF NOT EXISTS exhibitions (
  id TEXT PRIMARY KEY, status TEXT NOT NULL, head INTEGER NOT NULL, updated TEXT NOT NULL,
  published_version INTEGER, published_at TEXT, published TEXT, title TEXT NOT NULL)"""


class ExhibitionList:
    def __init__(self, path: Path | str):
        self.path, self._local = str(path), threading.local()
        with self._db() as db:
            db.execute(SCHEMA)

    def _db(self) -> sqlite3.Connection:
        db = getattr(self._local, "db", None)
        if db is None:
            db = self._local.db = sqlite3.connect(self.path, timeout=30)
            db.row_factory = sqlite3.Row
        return db

    def put(self, ident: str, *, status: str, head: int, updated: str, published_version: int | None,
            published_at: str | None, published: dict | None, title: dict) -> None:
        with self._db() as db:
            db.execute("INSERT OR REPLACE INTO exhibitions VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                       (ident, status, head, updated, published_version, published_at,
                        json.dumps(published, ensure_ascii=False) if published else None,
                        json.dumps(title, ensure_ascii=False)))

    def clear(self) -> None:
        with self._db() as db:
            db.execute("DELETE FROM exhibitions")

    def published(self, *, limit: int = 100) -> list[tuple[dict, str]]:
        """(the published exhibition as stored, when it was published), newest first."""
        rows = self._db().execute("SELECT published, published_at FROM exhibitions WHERE published IS NOT NULL "
                                  "ORDER BY published_at DESC, id LIMIT ?", (limit,)).fetchall()
        return [(json.loads(r["published"]), r["published_at"]) for r in rows]

    def all(self) -> list[dict]:
        """Every exhibition's row (for curators), latest change first."""
        rows = self._db().execute("SELECT id, status, head, updated, published_version, title FROM "
                                  "exhibitions ORDER BY updated DESC, id").fetchall()
        return [{**dict(r), "title": json.loads(r["title"])} for r in rows]
