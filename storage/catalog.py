"""Catalog: derived operational state (record list, collection membership, audit events) in the
database (``storage.database``: SQLite by default, PostgreSQL in production).

Nothing here is the source of truth: ``Archive.rebuild`` recreates it from the object store.
Listing queries filter with the access policy's own rule (``repository.access``).
"""
from __future__ import annotations

import json
import threading
from contextlib import contextmanager
from datetime import date
from functools import lru_cache

from sqlalchemy import (Boolean, Column, ForeignKey, Integer, Numeric, Table, UniqueConstraint, bindparam, cast,
                        column, func, literal, select, true, union_all)
from sqlalchemy.dialects.postgresql import JSONB

from repository import access
from repository.access import User
from repository.model import Collection, Item, edtf_years

from .database import TEXT, Database, metadata

items = Table(
    "items", metadata,
    Column("id", TEXT, primary_key=True), Column("kind", TEXT, nullable=False), Column("title", TEXT, nullable=False),
    Column("visibility", TEXT, nullable=False), Column("embargo_until", TEXT), Column("withdrawn", Boolean, nullable=False),
    Column("year_start", Integer), Column("year_end", Integer), Column("holding_library", TEXT),
    Column("version", Integer, nullable=False), Column("created", TEXT, nullable=False),
    Column("updated", TEXT, nullable=False, index=True), Column("record", TEXT, nullable=False))
item_collections = Table(
    "item_collections", metadata,
    Column("item_id", TEXT, ForeignKey("items.id", ondelete="CASCADE"), primary_key=True),
    Column("collection_id", TEXT, primary_key=True, index=True), Column("position", Integer, nullable=False))
originals = Table(
    "originals", metadata,
    Column("sha256", TEXT, nullable=False, index=True),
    Column("item_id", TEXT, ForeignKey("items.id", ondelete="CASCADE"), primary_key=True),
    Column("file_id", TEXT, primary_key=True))
collections = Table(
    "collections", metadata,
    Column("id", TEXT, primary_key=True), Column("parent", TEXT), Column("title", TEXT, nullable=False),
    Column("visibility", TEXT, nullable=False), Column("embargo_until", TEXT),
    Column("version", Integer, nullable=False), Column("created", TEXT, nullable=False),
    Column("updated", TEXT, nullable=False), Column("record", TEXT, nullable=False))
events = Table(
    "events", metadata,
    Column("at", TEXT, nullable=False), Column("user", TEXT, nullable=False), Column("action", TEXT, nullable=False),
    Column("object_id", TEXT, nullable=False, index=True), Column("version", Integer),
    Column("message", TEXT, nullable=False),
    UniqueConstraint("object_id", "version", "action", "at"))
item_links = Table(
    "item_links", metadata,
    Column("item_id", TEXT, ForeignKey("items.id", ondelete="CASCADE"), primary_key=True),
    Column("authority_id", TEXT, primary_key=True, index=True), Column("how", TEXT, primary_key=True))
TABLES = (items, item_collections, originals, item_links, collections, events)

_INSERT = {t: t.insert() for t in (item_collections, originals, item_links)}
_DELETE_CHILDREN = {t: t.delete().where(t.c.item_id == bindparam("id")) for t in (item_collections, originals, item_links)}
_FIND_ORIGINAL = (select(originals.c.item_id, originals.c.file_id).where(originals.c.sha256 == bindparam("sha256"))
                  .order_by(originals.c.item_id).limit(1))
_EVENT_COLUMNS = (events.c.at, events.c.user, events.c.action, events.c.object_id, events.c.version, events.c.message)


class Catalog:
    def __init__(self, database: Database):
        self.db = database
        self._put_item, self._put_collection = _upsert(database, items), _upsert(database, collections)
        self._add_event = database.insert(events).on_conflict_do_nothing()  # an event already there is kept once
        self._held = threading.local()  # this thread's transaction of a ``batch``

    @contextmanager
    def batch(self):
        """This thread's writes inside the block in one transaction, committed at its end (a
        rebuild: one commit per few hundred records instead of several per record)."""
        if getattr(self._held, "conn", None) is not None:
            yield
            return
        with self.db.begin() as conn:
            self._held.conn = conn
            try:
                yield
            finally:
                self._held.conn = None

    @contextmanager
    def _begin(self):
        held = getattr(self._held, "conn", None)
        if held is not None:
            yield held
        else:
            with self.db.begin() as conn:
                yield conn

    # --- writing ---------------------------------------------------------------------------

    def put_item(self, item: Item, version: int, created: str, updated: str) -> None:
        years = edtf_years(item.date["edtf"]) if item.date.get("edtf") else None
        row = {"id": item.id, "kind": item.kind, "title": item.label(), "visibility": item.visibility,
               "embargo_until": item.embargo_until, "withdrawn": bool(item.withdrawn),
               "year_start": years[0] if years else None, "year_end": years[1] if years else None,
               "holding_library": item.holding_library, "version": version, "created": created, "updated": updated,
               "record": json.dumps(item.to_dict(), ensure_ascii=False, sort_keys=True)}
        children = {
            item_collections: [{"item_id": item.id, "collection_id": c, "position": i}
                               for i, c in enumerate(dict.fromkeys(item.collections))],
            originals: [{"sha256": f.sha256, "item_id": item.id, "file_id": f.id} for f in item.originals],
            item_links: [{"item_id": item.id, "authority_id": a, "how": how} for a, how in dict.fromkeys(_links(item))]}
        with self._begin() as conn:  # the upsert locks the item's row: its children are rewritten by one writer
            conn.execute(self._put_item, row)
            for table, rows in children.items():
                conn.execute(_DELETE_CHILDREN[table], {"id": item.id})
                if rows:
                    conn.execute(_INSERT[table], rows)

    def put_collection(self, col: Collection, version: int, created: str, updated: str) -> None:
        row = {"id": col.id, "parent": col.parent, "title": col.label(), "visibility": col.visibility,
               "embargo_until": col.embargo_until, "version": version, "created": created, "updated": updated,
               "record": json.dumps(col.to_dict(), ensure_ascii=False, sort_keys=True)}
        with self._begin() as conn:
            conn.execute(self._put_collection, row)

    def delete(self, object_id: str) -> None:
        kind, _, oid = object_id.partition(":")
        table = items if kind == "item" else collections
        with self._begin() as conn:
            conn.execute(table.delete().where(table.c.id == oid))

    def add_event(self, event: dict) -> None:
        with self._begin() as conn:
            conn.execute(self._add_event, {"version": None, "message": "",
                                           **{c.name: event[c.name] for c in _EVENT_COLUMNS if c.name in event}})

    def clear(self) -> None:
        with self._begin() as conn:
            for table in TABLES[::-1]:  # children before the items they point at
                conn.execute(table.delete())

    # --- reading ---------------------------------------------------------------------------

    def list_items(self, *, user: User, today: date, collection: str | list[str] | None = None,
                   limit: int = 20, offset: int = 0) -> tuple[list[Item], int]:
        count, page = _item_listing(access.can_manage(user), collection is not None)
        params = {**_policy(user, today), "limit": limit, "offset": offset,  # one collection, or any of several
                  "collections": [collection] if isinstance(collection, str) else list(collection or [])}
        with self.db.connect() as conn:
            rows, total = _page(conn, count, page, params)
        return [Item.from_dict(json.loads(r.record)) for r in rows], total

    def list_collections(self, *, user: User, today: date, parent: str | None = ...) -> list[Collection]:
        query = _collection_listing("any" if parent is ... else "top" if parent is None else "in")
        with self.db.connect() as conn:
            rows = conn.execute(query, {**_policy(user, today), "parent": parent}).scalars().all()
        return [Collection.from_dict(json.loads(r)) for r in rows]

    def linked_items(self, authority_ids: list[str], *, user: User, today: date, limit: int = 50,
                     offset: int = 0) -> tuple[list[tuple[Item, list[str]]], int]:
        """The items the user may see that point at any of ``authority_ids`` (creator, contributor,
        place, subject, mention), newest date first, each with how it points (``about`` first)."""
        if not authority_ids:
            return [], 0
        count, page, how = _linked_listing(access.can_manage(user))
        params = {**_policy(user, today), "authorities": list(authority_ids), "limit": limit, "offset": offset}
        with self.db.connect() as conn:
            rows, total = _page(conn, count, page, params)
            hows = {}
            for item_id, way in conn.execute(how, {**params, "items": [r.id for r in rows]}):
                hows.setdefault(item_id, set()).add(way)
        return [(Item.from_dict(json.loads(r.record)), sorted(hows[r.id], key=LINK_ORDER.index)) for r in rows], total

    def item_states(self) -> list[dict]:
        """Every item's id, kind, access facts (visibility, embargo_until, withdrawn), head version
        and its time (updated), and collections (a list), by id: what OAI-PMH headers are made of."""
        c = items.c
        with self.db.connect() as conn:
            rows = conn.execute(select(c.id, c.kind, c.visibility, c.embargo_until, c.withdrawn, c.version, c.updated)
                                .order_by(c.id)).mappings().all()
            member = {}
            for item_id, collection_id in conn.execute(
                    select(item_collections.c.item_id, item_collections.c.collection_id)
                    .order_by(item_collections.c.item_id, item_collections.c.position)):
                member.setdefault(item_id, []).append(collection_id)
        return [{**r, "collections": member.get(r["id"], [])} for r in rows]

    def items_stamp(self) -> tuple:
        """(count, sum of versions, newest update) of the items: every create, update and purge
        changes the first two together with the purge records, so answers derived from
        ``item_states`` can be kept until it changes."""
        with self.db.connect() as conn:
            return tuple(conn.execute(select(func.count(), func.coalesce(func.sum(items.c.version), 0),
                                             func.max(items.c.updated))).one())

    def find_original(self, sha256: str) -> tuple[str, str] | None:
        with self.db.connect() as conn:
            row = conn.execute(_FIND_ORIGINAL, {"sha256": sha256}).first()
        return (row[0], row[1]) if row else None

    def events(self, object_id: str | None = None, *, limit: int | None = None, offset: int = 0) -> list[dict]:
        """Audit events, oldest first; with ``limit``, the newest ``limit`` of them after the newest ``offset``."""
        query = select(*_EVENT_COLUMNS)
        if object_id:
            query = query.where(events.c.object_id == object_id)
        if limit:  # SQLite's order of NULL versions (first when ascending) on PostgreSQL too
            newest = query.order_by(events.c.at.desc(), events.c.object_id.desc(),
                                    events.c.version.desc().nulls_last()).limit(limit).offset(offset).subquery()
            query = select(*newest.c)
            at, oid, version = newest.c.at, newest.c.object_id, newest.c.version
        else:
            at, oid, version = events.c.at, events.c.object_id, events.c.version
        with self.db.connect() as conn:
            return [dict(r) for r in conn.execute(query.order_by(at, oid, version.nulls_first())).mappings()]

    def count_events(self, object_id: str | None = None) -> int:
        query = select(func.count()).select_from(events)
        if object_id:
            query = query.where(events.c.object_id == object_id)
        with self.db.connect() as conn:
            return conn.execute(query).scalar()

    def figures(self, *, user: User, today: date) -> dict:
        """The staff dashboard's counts of the items ``user`` may see, in three SQL queries (one pass
        over the rows, one over their files' JSON; no Item parsed): by kind, decade, collection;
        files' count and bytes by role; originals by PRONOM format."""
        visible = select(items.c.id, items.c.kind, items.c.year_start, items.c.record) \
            .where(_visible(items, access.can_manage(user))).subquery()
        decade = (visible.c.year_start // 10) * 10
        role, puid, name, size, files = _file_fields(self.db.dialect, visible.c.record)
        policy = _policy(user, today)
        with self.db.connect() as conn:
            rows = conn.execute(select(visible.c.kind, decade, func.count()).group_by(visible.c.kind, decade),
                                policy).all()
            found = conn.execute(select(role, puid, func.max(name), func.count(), func.sum(size))
                                 .select_from(visible).join(files, true()).group_by(role, puid), policy).all()
            counted = func.count()
            by_collection = conn.execute(
                select(item_collections.c.collection_id, counted)
                .select_from(visible.join(item_collections, item_collections.c.item_id == visible.c.id))
                .group_by(item_collections.c.collection_id)
                .order_by(counted.desc(), item_collections.c.collection_id), policy).all()
        kinds, decades = {}, {}
        for kind, dec, n in rows:
            kinds[kind] = kinds.get(kind, 0) + n
            decades[dec] = decades.get(dec, 0) + n
        files = [(r, p, f, n, float(s or 0)) for r, p, f, n, s in found]
        roles = {}
        for r, _puid, _name, n, s in files:
            count, total = roles.get(r, (0, 0))
            roles[r] = (count + n, total + s)
        return {
            "items": sum(kinds.values()),
            "kinds": sorted(kinds.items(), key=lambda kv: (-kv[1], kv[0])),
            "decades": sorted((d, n) for d, n in decades.items() if d is not None),
            "undated": decades.get(None, 0),
            "collections": [tuple(r) for r in by_collection],
            "roles": sorted((r, n, s) for r, (n, s) in roles.items() if r),
            "formats": sorted(((p, f, n, s) for r, p, f, n, s in files if r == "original"),
                              key=lambda f: (-f[2], f[0] or "")),
        }

    def object_ids(self) -> list[str]:
        """Every object catalogued (items, withdrawn ones too, and collections), as OCFL object ids."""
        with self.db.connect() as conn:
            return list(conn.execute(union_all(select(literal("item:", TEXT) + items.c.id),
                                               select(literal("collection:", TEXT) + collections.c.id))).scalars())

    def dump(self) -> dict:
        """Everything in the catalog, for comparing a rebuilt catalog with the original."""
        with self.db.connect() as conn:
            return {t.name: sorted((tuple(r) for r in conn.execute(select(t))), key=repr) for t in TABLES}


LINK_ORDER = ("about", "creator", "contributor", "place", "mention")


def _links(item: Item) -> list[tuple[str, str]]:
    """(authority id, how) of every authority record an item points at."""
    return ([(a, "about") for a in item.about] + [(a.id, "creator") for a in item.creators if a and a.id]
            + [(a.id, "contributor") for a in item.contributors if a and a.id]
            + [(p.id, "place") for p in item.places if p and p.id] + [(m["id"], "mention") for m in item.mentions])


def _upsert(database: Database, table: Table):
    """INSERT of a whole row, or UPDATE of the row with its key (made once: statements built per
    call cost more than SQLite's own work)."""
    key = [c.name for c in table.primary_key]
    insert = database.insert(table)
    return insert.on_conflict_do_update(index_elements=key,
                                        set_={c.name: insert.excluded[c.name] for c in table.c if c.name not in key})


# The reading statements are made once, with the user's levels and the date as parameters: making
# one costs more than SQLite's own work for a page of records.

def _page(conn, count, page, params) -> tuple[list, int]:
    """A page of rows and the count of all."""
    return conn.execute(page, params).all(), conn.execute(count, params).scalar()


def _policy(user: User, today: date) -> dict:
    """The parameters of ``_visible``: the levels the user may see, today's date."""
    return {"levels": sorted(access.visible_levels(user)), "today": today.isoformat()}


def _visible(table: Table, manage: bool):
    """The access policy as a WHERE clause (kept equal to access.can_view_record by a test)."""
    level = access.level_sql(bindparam("today"), table.c.visibility, table.c.embargo_until)
    where = level.in_(bindparam("levels", expanding=True))
    if table is items and not manage:
        where = where & table.c.withdrawn.is_(False)
    return where


@lru_cache(maxsize=None)
def _item_listing(manage: bool, by_collection: bool):
    where = _visible(items, manage)
    if by_collection:
        where = where & items.c.id.in_(select(item_collections.c.item_id).where(
            item_collections.c.collection_id.in_(bindparam("collections", expanding=True))))
    return (select(func.count()).select_from(items).where(where),
            select(items.c.record).where(where).order_by(items.c.updated.desc(), items.c.id)
            .limit(bindparam("limit")).offset(bindparam("offset")))


@lru_cache(maxsize=None)
def _collection_listing(parent: str):
    query = select(collections.c.record).where(_visible(collections, True)).order_by(collections.c.id)
    if parent == "top":
        return query.where(collections.c.parent.is_(None))
    return query.where(collections.c.parent == bindparam("parent")) if parent == "in" else query


@lru_cache(maxsize=None)
def _linked_listing(manage: bool):
    pointing = item_links.c.authority_id.in_(bindparam("authorities", expanding=True))
    where = _visible(items, manage) & items.c.id.in_(select(item_links.c.item_id).where(pointing))
    return (select(func.count()).select_from(items).where(where),
            select(items.c.id, items.c.record).where(where)
            .order_by(items.c.year_start.is_(None), items.c.year_start, items.c.id)
            .limit(bindparam("limit")).offset(bindparam("offset")),
            select(item_links.c.item_id, item_links.c.how)
            .where(pointing, item_links.c.item_id.in_(bindparam("items", expanding=True))))


def _file_fields(dialect: str, record):
    """Each file of an item's record (its JSON ``files``) as a table, and its role, PRONOM id and
    format name, and size: SQLite's JSON functions, or PostgreSQL's."""
    if dialect == "postgresql":
        files = func.jsonb_array_elements(cast(record, JSONB)["files"]).table_valued(column("value", JSONB)).lateral()
        value = files.c.value
        return (value["role"].astext, value[("tech", "pronom", "puid")].astext,
                value[("tech", "pronom", "format")].astext, cast(value["size"].astext, Numeric), files)
    files = func.json_each(record, "$.files").table_valued("value")
    value = files.c.value
    return (func.json_extract(value, "$.role"), func.json_extract(value, "$.tech.pronom.puid"),
            func.json_extract(value, "$.tech.pronom.format"), func.json_extract(value, "$.size"), files)
