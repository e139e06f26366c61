"""AuthorityTable: the authority file's lookup table (records, their names, their links).

Derived state: ``authority.service.Authorities.rebuild`` recreates it from the objects
``authority:<id>`` in storage (``fangzhi rebuild``). Name keys (folded forms, pinyin) are made by
the caller; this table only stores and matches them.
"""
from __future__ import annotations

import json
from functools import cache

from sqlalchemy import Column, ForeignKey, Index, Integer, Table, and_, bindparam, func, select, text, true

from .database import TEXT, Database, metadata

authorities = Table(
    "authorities", metadata,
    Column("id", TEXT, primary_key=True), Column("kind", TEXT, nullable=False),
    Column("preferred", TEXT, nullable=False), Column("merged_into", TEXT), Column("initial", TEXT),
    Column("surname", TEXT), Column("number", Integer, nullable=False), Column("version", Integer, nullable=False),
    Column("created", TEXT, nullable=False), Column("updated", TEXT, nullable=False),
    Column("record", TEXT, nullable=False),
    Index("authorities_by_kind", "kind", "initial"),
    # merged records only: an index of every row's merged_into would be chosen for "current" (IS NULL) lookups
    Index("authorities_by_merge", "merged_into", sqlite_where=text("merged_into IS NOT NULL"),
          postgresql_where=text("merged_into IS NOT NULL")))
authority_names = Table(
    "authority_names", metadata,
    Column("id", TEXT, ForeignKey("authorities.id", ondelete="CASCADE"), nullable=False),
    Column("name", TEXT, nullable=False), Column("type", TEXT, nullable=False), Column("key", TEXT, nullable=False),
    Index("authority_names_by_key", "key"), Index("authority_names_by_id", "id"))
authority_links = Table(
    "authority_links", metadata,
    Column("id", TEXT, ForeignKey("authorities.id", ondelete="CASCADE"), nullable=False),
    Column("target", TEXT, nullable=False), Column("how", TEXT, nullable=False),
    Index("authority_links_by_target", "target"), Index("authority_links_by_id", "id"))
TABLES = [authorities, authority_names, authority_links]
a = authorities.c


class AuthorityTable:
    def __init__(self, database: Database):
        self.db = database

    def put(self, row: dict, keys: list[tuple[str, str, str]], links: list[tuple[str, str]]) -> None:
        """One record: ``row`` (id, kind, preferred, merged_into, initial, surname, number, version,
        created, updated, record), its (name, type, key) rows and its (target id, how) links."""
        with self.db.begin() as db:
            db.execute(authorities.delete().where(a.id == row["id"]))  # its names and links go with it (CASCADE)
            db.execute(authorities.insert().values(
                {**row, "record": json.dumps(row["record"], ensure_ascii=False, sort_keys=True)}))
            if keys:
                db.execute(authority_names.insert(), [dict(id=row["id"], name=n, type=t, key=k) for n, t, k in keys])
            if links:
                db.execute(authority_links.insert(), [dict(id=row["id"], target=t, how=h) for t, h in links])

    def clear(self) -> None:
        with self.db.begin() as db:
            for table in reversed(TABLES):
                db.execute(table.delete())

    def get(self, rid: str) -> dict | None:
        with self.db.connect() as db:
            row = db.execute(select(authorities).where(a.id == rid)).first()
        return _row(row) if row else None

    def next_number(self, kind: str) -> int:
        with self.db.connect() as db:
            return db.execute(select(func.coalesce(func.max(a.number), 0) + 1).where(a.kind == kind)).scalar()

    def with_key(self, key: str, kind: str | None = None) -> list[dict]:
        """Current (not merged) records with a name whose key is exactly ``key``."""
        with self.db.connect() as db:  # (the statement made once: manifests look names up cell by cell)
            return [_row(r) for r in db.execute(_with_key(kind), {"key": key})]

    def with_prefix(self, prefix: str, kind: str | None = None, *, limit: int = 10) -> list[dict]:
        """Current records with a name key starting with ``prefix`` (shortest names first)."""
        return self._query(_named(authority_names.c.key.startswith(prefix, autoescape=True)), kind, limit=limit,
                           order=(func.length(a.preferred), a.preferred, a.id))

    def containing(self, text: str, kind: str | None = None, *, limit: int = 20, offset: int = 0) -> tuple[list, int]:
        where = _named(authority_names.c.key.contains(text, autoescape=True))
        return self._query(where, kind, limit=limit, offset=offset), self.count(kind, where)

    def listing(self, kind: str, *, initial: str | None = None, surname: str | None = None,
                limit: int = 50, offset: int = 0) -> tuple[list[dict], int]:
        where = and_(true(), *([a.initial == initial] if initial else []), *([a.surname == surname] if surname else []))
        return (self._query(where, kind, limit=limit, offset=offset, order=(a.initial, a.preferred, a.id)),
                self.count(kind, where))

    def count(self, kind: str | None, where=true()) -> int:
        with self.db.connect() as db:
            return db.execute(_current(select(func.count()).select_from(authorities), where, kind)).scalar()

    def facets(self, kind: str, column: str) -> list[tuple[str, int]]:
        """(value, count) of ``initial`` or ``surname`` among current records of a kind."""
        assert column in ("initial", "surname")
        c = a[column]
        with self.db.connect() as db:
            return [tuple(r) for r in db.execute(
                _current(select(c, func.count()), c.is_not(None), kind).group_by(c).order_by(c))]

    def pointing_at(self, rid: str) -> list[tuple[dict, str]]:
        """(record, how) of every current record with a link to ``rid``."""
        links = authority_links.c
        query = _current(select(authorities, links.how).join(authority_links, links.id == a.id), links.target == rid,
                         None).order_by(a.id)
        with self.db.connect() as db:
            return [(_row(r), r.how) for r in db.execute(query)]

    def merged_into(self, rid: str) -> list[str]:
        with self.db.connect() as db:
            return list(db.execute(select(a.id).where(a.merged_into == rid).order_by(a.id)).scalars())

    def merges(self) -> dict[str, list[str]]:
        """Every merge at once: id → the ids merged directly into it."""
        out = {}
        with self.db.connect() as db:
            for rid, into in db.execute(select(a.id, a.merged_into).where(a.merged_into.is_not(None)).order_by(a.id)):
                out.setdefault(into, []).append(rid)
        return out

    def current(self, kind: str | None = None) -> list[dict]:
        return self._query(true(), kind, limit=None)

    def stamp(self) -> str:
        with self.db.connect() as db:
            n, total, newest = db.execute(select(func.count(), func.coalesce(func.sum(a.version), 0),
                                                 func.max(a.updated))).one()
        return f"{n}:{int(total)}:{newest or ''}"

    def _query(self, where, kind: str | None, *, limit: int | None, offset: int = 0, order=(a.id,)) -> list[dict]:
        query = _current(select(authorities), where, kind).order_by(*order)
        if limit is not None:
            query = query.limit(limit).offset(offset)
        with self.db.connect() as db:
            return [_row(r) for r in db.execute(query)]


@cache
def _with_key(kind: str | None):
    return _current(select(authorities), _named(authority_names.c.key == bindparam("key")), kind).order_by(a.id).limit(50)


def _named(condition):
    """Records with a name row matching ``condition``."""
    return a.id.in_(select(authority_names.c.id).where(condition))


def _current(query, where, kind: str | None):
    query = query.where(a.merged_into.is_(None), where)
    return query.where(a.kind == kind) if kind else query


def _row(row) -> dict:
    out = {k: v for k, v in row._mapping.items() if k != "how"}
    out["record"] = json.loads(out["record"])
    return out
