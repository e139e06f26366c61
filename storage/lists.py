"""SQLiteListStore: researchers' saved lists (repository.lists) in ``DATA_DIR/lists.sqlite3``,
beside the accounts. Primary state, not rebuilt from storage: back it up with the data folder."""
from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

from repository.lists import SavedList

from .sqlite import SQLiteDatabase

SCHEMA = """
CREATE TABLE IF NOT EXISTS lists (
    id INTEGER PRIMARY KEY, owner TEXT NOT NULL, name TEXT NOT NULL, note TEXT NOT NULL DEFAULT '',
    share TEXT UNIQUE, created TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS lists_by_owner ON lists(owner);
CREATE TABLE IF NOT EXISTS list_entries (
    list_id INTEGER NOT NULL REFERENCES lists(id) ON DELETE CASCADE, item_id TEXT NOT NULL,
    note TEXT NOT NULL DEFAULT '', added TEXT NOT NULL, PRIMARY KEY (list_id, item_id)
);
"""


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


class SQLiteListStore(SQLiteDatabase):
    def __init__(self, path: str | Path):
        super().__init__(path, SCHEMA)

    def _list(self, row) -> SavedList | None:
        if row is None:
            return None
        entries = [(e["item_id"], e["note"], e["added"]) for e in self._db().execute(
            "SELECT * FROM list_entries WHERE list_id = ? ORDER BY rowid", (row["id"],))]
        return SavedList(row["id"], row["owner"], row["name"], row["note"], row["share"], row["created"], entries)

    def lists(self, owner: str) -> list[SavedList]:
        rows = self._db().execute("SELECT * FROM lists WHERE owner = ? ORDER BY created, id", (owner,)).fetchall()
        return [self._list(r) for r in rows]

    def get(self, list_id: int) -> SavedList | None:
        return self._list(self._db().execute("SELECT * FROM lists WHERE id = ?", (list_id,)).fetchone())

    def by_share(self, secret: str) -> SavedList | None:
        return self._list(self._db().execute("SELECT * FROM lists WHERE share = ?", (secret,)).fetchone())

    def create(self, owner: str, name: str, note: str) -> SavedList:
        with self._db() as db:
            list_id = db.execute("INSERT INTO lists (owner, name, note, created) VALUES (?,?,?,?)",
                                 (owner, name, note, _now())).lastrowid
        return self.get(list_id)

    def update(self, list_id: int, *, name: str, note: str, share: str | None) -> None:
        with self._db() as db:
            db.execute("UPDATE lists SET name = ?, note = ?, share = ? WHERE id = ?", (name, note, share, list_id))

    def delete(self, list_id: int) -> None:
        with self._db() as db:
            db.execute("DELETE FROM lists WHERE id = ?", (list_id,))

    def put_entry(self, list_id: int, item_id: str, note: str) -> None:
        with self._db() as db:
            db.execute("INSERT INTO list_entries (list_id, item_id, note, added) VALUES (?,?,?,?) "
                       "ON CONFLICT (list_id, item_id) DO UPDATE SET note = excluded.note", (list_id, item_id, note, _now()))

    def delete_entry(self, list_id: int, item_id: str) -> None:
        with self._db() as db:
            db.execute("DELETE FROM list_entries WHERE list_id = ? AND item_id = ?", (list_id, item_id))
