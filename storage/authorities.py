"""SQLiteAuthorityTable: the authority file's lookup table (records, their names, their links).

Derived state: ``authority.service.Authorities.rebuild`` recreates it from the objects
``authority:<id>`` in storage (``fangzhi rebuild``). Name keys (folded forms, pinyin) are made by
the caller; this table only stores and matches them.
"""
from __future__ import annotations

import json
from pathlib import Path

from .sqlite import SQLiteDatabase

SCHEMA = """
CREATE TABLE IF NOT EXISTS authorities (
    id TEXT PRIMARY KEY, kind TEXT NOT NULL, preferred TEXT NOT NULL, merged_into TEXT,
    initial TEXT, surname TEXT, number INTEGER NOT NULL,
    version INTEGER NOT NULL, created TEXT NOT NULL, updated TEXT NOT NULL, record TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS authorities_by_kind ON authorities(kind, initial);
CREATE TABLE IF NOT EXISTS authority_names (
    id TEXT NOT NULL REFERENCES authorities(id) ON DELETE CASCADE, name TEXT NOT NULL, type TEXT NOT NULL,
    key TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS authority_names_by_key ON authority_names(key);
CREATE TABLE IF NOT EXISTS authority_links (
    id TEXT NOT NULL REFERENCES authorities(id) ON DELETE CASCADE, target TEXT NOT NULL, how TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS authority_links_by_target ON authority_links(target);
"""


class SQLiteAuthorityTable(SQLiteDatabase):
    def __init__(self, path: str | Path):
        super().__init__(path, SCHEMA)

    def put(self, row: dict, keys: list[tuple[str, str, str]], links: list[tuple[str, str]]) -> None:
        """One record: ``row`` (id, kind, preferred, merged_into, initial, surname, number, version,
        created, updated, record), its (name, type, key) rows and its (target id, how) links."""
        with self._db() as db:
            db.execute("DELETE FROM authorities WHERE id = ?", (row["id"],))
            db.execute("INSERT INTO authorities VALUES (:id,:kind,:preferred,:merged_into,:initial,:surname,"
                       ":number,:version,:created,:updated,:record)",
                       {**row, "record": json.dumps(row["record"], ensure_ascii=False, sort_keys=True)})
            db.executemany("INSERT INTO authority_names VALUES (?,?,?,?)", [(row["id"], *k) for k in keys])
            db.executemany("INSERT INTO authority_links VALUES (?,?,?)", [(row["id"], *link) for link in links])

    def clear(self) -> None:
        with self._db() as db:
            for table in ("authority_names", "authority_links", "authorities"):
                db.execute(f"DELETE FROM {table}")

    def get(self, rid: str) -> dict | None:
        row = self._db().execute("SELECT * FROM authorities WHERE id = ?", (rid,)).fetchone()
        return _row(row) if row else None

    def next_number(self, kind: str) -> int:
        return self._db().execute("SELECT coalesce(max(number), 0) + 1 FROM authorities WHERE kind = ?",
                                  (kind,)).fetchone()[0]

    def with_key(self, key: str, kind: str | None = None) -> list[dict]:
        """Current (not merged) records with a name whose key is exactly ``key``."""
        return self._query("id IN (SELECT id FROM authority_names WHERE key = ?)", (key,), kind, limit=50)

    def with_prefix(self, prefix: str, kind: str | None = None, *, limit: int = 10) -> list[dict]:
        """Current records with a name key starting with ``prefix`` (shortest names first)."""
        like = prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        return self._query("id IN (SELECT id FROM authority_names WHERE key LIKE ? ESCAPE '\\')", (like,),
                           kind, limit=limit, order="length(preferred), preferred, id")

    def containing(self, text: str, kind: str | None = None, *, limit: int = 20, offset: int = 0) -> tuple[list, int]:
        like = "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        where = "id IN (SELECT id FROM authority_names WHERE key LIKE ? ESCAPE '\\')"
        return (self._query(where, (like,), kind, limit=limit, offset=offset), self.count(kind, where, (like,)))

    def listing(self, kind: str, *, initial: str | None = None, surname: str | None = None,
                limit: int = 50, offset: int = 0) -> tuple[list[dict], int]:
        where, params = "1", ()
        if initial:
            where, params = "initial = ?", (initial,)
        if surname:
            where, params = where + " AND surname = ?", params + (surname,)
        return (self._query(where, params, kind, limit=limit, offset=offset, order="initial, preferred, id"),
                self.count(kind, where, params))

    def count(self, kind: str | None, where: str = "1", params: tuple = ()) -> int:
        sql = f"SELECT count(*) FROM authorities WHERE merged_into IS NULL AND ({where})"
        if kind:
            sql, params = sql + " AND kind = ?", params + (kind,)
        return self._db().execute(sql, params).fetchone()[0]

    def facets(self, kind: str, column: str) -> list[tuple[str, int]]:
        """(value, count) of ``initial`` or ``surname`` among current records of a kind."""
        assert column in ("initial", "surname")
        return [tuple(r) for r in self._db().execute(
            f"SELECT {column}, count(*) FROM authorities WHERE kind = ? AND merged_into IS NULL AND {column} "
            f"IS NOT NULL GROUP BY {column} ORDER BY {column}", (kind,))]

    def pointing_at(self, rid: str) -> list[tuple[dict, str]]:
        """(record, how) of every current record with a link to ``rid``."""
        rows = self._db().execute(
            "SELECT a.*, l.how FROM authority_links l JOIN authorities a ON a.id = l.id "
            "WHERE l.target = ? AND a.merged_into IS NULL ORDER BY a.id", (rid,)).fetchall()
        return [(_row(r), r["how"]) for r in rows]

    def merged_into(self, rid: str) -> list[str]:
        return [r[0] for r in self._db().execute("SELECT id FROM authorities WHERE merged_into = ? ORDER BY id",
                                                 (rid,))]

    def current(self, kind: str | None = None) -> list[dict]:
        return self._query("1", (), kind, limit=None)

    def stamp(self) -> str:
        n, total, newest = self._db().execute(
            "SELECT count(*), total(version), max(updated) FROM authorities").fetchone()
        return f"{n}:{int(total)}:{newest or ''}"

    def _query(self, where: str, params: tuple, kind: str | None, *, limit: int | None, offset: int = 0,
               order: str = "id") -> list[dict]:
        sql = f"SELECT * FROM authorities WHERE merged_into IS NULL AND ({where})"
        if kind:
            sql, params = sql + " AND kind = ?", params + (kind,)
        sql += f" ORDER BY {order}"
        if limit is not None:
            sql, params = sql + " LIMIT ? OFFSET ?", params + (limit, offset)
        return [_row(r) for r in self._db().execute(sql, params)]


def _row(row) -> dict:
    out = {k: row[k] for k in row.keys() if k != "how"}
    out["record"] = json.loads(out["record"])
    return out
