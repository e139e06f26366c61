"""SQLiteCatalog: derived operational state (record list, collection membership, audit events).

Nothing here is the source of truth: ``Archive.rebuild`` recreates it from the object store.
Listing queries filter with the access policy's own rule (``repository.access``).
"""
from __future__ import annotations

import json
from datetime import date
from pathlib import Path

from repository import access
from repository.access import User
from repository.model import Collection, Item, edtf_years

from .sqlite import SQLiteDatabase

SCHEMA = """
CREATE TABLE IF NOT EXISTS items (
    id TEXT PRIMARY KEY, kind TEXT NOT NULL, title TEXT NOT NULL,
    visibility TEXT NOT NULL, embargo_until TEXT, withdrawn INTEGER NOT NULL,
    year_start INTEGER, year_end INTEGER, holding_library TEXT,
    version INTEGER NOT NULL, created TEXT NOT NULL, updated TEXT NOT NULL, record TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS item_collections (
    item_id TEXT NOT NULL REFERENCES items(id) ON DELETE CASCADE,
    collection_id TEXT NOT NULL, position INTEGER NOT NULL,
    PRIMARY KEY (item_id, collection_id)
);
CREATE INDEX IF NOT EXISTS item_collections_by_collection ON item_collections(collection_id);
CREATE INDEX IF NOT EXISTS items_by_updated ON items(updated);
CREATE TABLE IF NOT EXISTS originals (
    sha256 TEXT NOT NULL, item_id TEXT NOT NULL REFERENCES items(id) ON DELETE CASCADE, file_id TEXT NOT NULL,
    PRIMARY KEY (item_id, file_id)
);
CREATE INDEX IF NOT EXISTS originals_by_sha256 ON originals(sha256);
CREATE TABLE IF NOT EXISTS collections (
    id TEXT PRIMARY KEY, parent TEXT, title TEXT NOT NULL,
    visibility TEXT NOT NULL, embargo_until TEXT,
    version INTEGER NOT NULL, created TEXT NOT NULL, updated TEXT NOT NULL, record TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS events (
    at TEXT NOT NULL, user TEXT NOT NULL, action TEXT NOT NULL, object_id TEXT NOT NULL,
    version INTEGER, message TEXT NOT NULL,
    UNIQUE (object_id, version, action, at)
);
CREATE INDEX IF NOT EXISTS events_by_object ON events(object_id);
CREATE TABLE IF NOT EXISTS item_links (
    item_id TEXT NOT NULL REFERENCES items(id) ON DELETE CASCADE, authority_id TEXT NOT NULL, how TEXT NOT NULL,
    PRIMARY KEY (item_id, authority_id, how)
);
CREATE INDEX IF NOT EXISTS item_links_by_authority ON item_links(authority_id);
"""


class SQLiteCatalog(SQLiteDatabase):
    def __init__(self, path: str | Path):
        super().__init__(path, SCHEMA)
        with self._db() as db:  # a catalog made before item_links: its items' links, once
            if db.execute("PRAGMA user_version").fetchone()[0] < 1:
                for row in db.execute("SELECT record FROM items").fetchall():
                    item = Item.from_dict(json.loads(row["record"]))
                    db.executemany("INSERT OR IGNORE INTO item_links VALUES (?,?,?)",
                                   [(item.id, aid, how) for aid, how in _links(item)])
                db.execute("PRAGMA user_version = 1")

    # --- writing ---------------------------------------------------------------------------

    def put_item(self, item: Item, version: int, created: str, updated: str) -> None:
        years = edtf_years(item.date["edtf"]) if item.date.get("edtf") else None
        with self._db() as db:
            db.execute("DELETE FROM items WHERE id = ?", (item.id,))
            db.execute(
                "INSERT INTO items VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
                (item.id, item.kind, item.label(), item.visibility, item.embargo_until,
                 1 if item.withdrawn else 0, years[0] if years else None, years[1] if years else None,
                 item.holding_library, version, created, updated,
                 json.dumps(item.to_dict(), ensure_ascii=False, sort_keys=True)),
            )
            db.executemany("INSERT INTO item_collections VALUES (?,?,?)",
                           [(item.id, c, i) for i, c in enumerate(item.collections)])
            db.executemany("INSERT INTO originals VALUES (?,?,?)",
                           [(f.sha256, item.id, f.id) for f in item.originals])
            db.executemany("INSERT OR IGNORE INTO item_links VALUES (?,?,?)",
                           [(item.id, aid, how) for aid, how in _links(item)])

    def put_collection(self, col: Collection, version: int, created: str, updated: str) -> None:
        with self._db() as db:
            db.execute("INSERT OR REPLACE INTO collections VALUES (?,?,?,?,?,?,?,?,?)",
                       (col.id, col.parent, col.label(), col.visibility, col.embargo_until,
                        version, created, updated, json.dumps(col.to_dict(), ensure_ascii=False, sort_keys=True)))

    def delete(self, object_id: str) -> None:
        kind, _, oid = object_id.partition(":")
        table = "items" if kind == "item" else "collections"
        with self._db() as db:
            db.execute(f"DELETE FROM {table} WHERE id = ?", (oid,))

    def add_event(self, event: dict) -> None:
        with self._db() as db:
            db.execute("INSERT OR IGNORE INTO events VALUES (:at,:user,:action,:object_id,:version,:message)",
                       {"version": None, "message": "", **event})

    def clear(self) -> None:
        with self._db() as db:
            for table in ("item_collections", "originals", "item_links", "items", "collections", "events"):
                db.execute(f"DELETE FROM {table}")

    # --- reading ---------------------------------------------------------------------------

    def list_items(self, *, user: User, today: date, collection: str | list[str] | None = None,
                   limit: int = 20, offset: int = 0) -> tuple[list[Item], int]:
        where, params = _visible(user, today, "items")
        if collection is not None:  # one collection, or any of several
            ids = [collection] if isinstance(collection, str) else list(collection)
            where += (f" AND id IN (SELECT item_id FROM item_collections WHERE collection_id IN "
                      f"({','.join('?' * len(ids))}))")
            params += tuple(ids)
        db = self._db()
        total = db.execute(f"SELECT COUNT(*) FROM items WHERE {where}", params).fetchone()[0]
        rows = db.execute(f"SELECT record FROM items WHERE {where} ORDER BY updated DESC, id "
                          "LIMIT ? OFFSET ?", params + (limit, offset)).fetchall()
        return [Item.from_dict(json.loads(r["record"])) for r in rows], total

    def list_collections(self, *, user: User, today: date, parent: str | None = ...) -> list[Collection]:
        where, params = _visible(user, today, "collections")
        if parent is None:
            where += " AND parent IS NULL"
        elif parent is not ...:
            where += " AND parent = ?"
            params += (parent,)
        rows = self._db().execute(f"SELECT record FROM collections WHERE {where} ORDER BY id", params)
        return [Collection.from_dict(json.loads(r["record"])) for r in rows]

    def linked_items(self, authority_ids: list[str], *, user: User, today: date, limit: int = 50,
                     offset: int = 0) -> tuple[list[tuple[Item, list[str]]], int]:
        """The items the user may see that point at any of ``authority_ids`` (creator, contributor,
        place, subject, mention), newest date first, each with how it points (``about`` first)."""
        if not authority_ids:
            return [], 0
        where, params = _visible(user, today, "items")
        marks = ",".join("?" * len(authority_ids))
        linked = f"id IN (SELECT item_id FROM item_links WHERE authority_id IN ({marks}))"
        db = self._db()
        total = db.execute(f"SELECT COUNT(*) FROM items WHERE {where} AND {linked}",
                           params + tuple(authority_ids)).fetchone()[0]
        rows = db.execute(
            f"SELECT id, record, (SELECT group_concat(how, ' ') FROM item_links l WHERE l.item_id = items.id AND "
            f"l.authority_id IN ({marks})) AS hows FROM items WHERE {where} AND {linked} "
            "ORDER BY year_start IS NULL, year_start, id LIMIT ? OFFSET ?",
            tuple(authority_ids) + params + tuple(authority_ids) + (limit, offset)).fetchall()
        return [(Item.from_dict(json.loads(r["record"])), sorted(set(r["hows"].split()), key=LINK_ORDER.index))
                for r in rows], total

    def item_states(self) -> list[dict]:
        """Every item's id, kind, access facts (visibility, embargo_until, withdrawn), head version
        and its time (updated), and collections (a list), by id: what OAI-PMH headers are made of."""
        rows = self._db().execute(
            "SELECT id, kind, visibility, embargo_until, withdrawn, version, updated, (SELECT group_concat("
            "collection_id, ' ') FROM (SELECT collection_id FROM item_collections c WHERE c.item_id = items.id "
            "ORDER BY position)) AS collections FROM items ORDER BY id")
        return [{**dict(r), "withdrawn": bool(r["withdrawn"]), "collections": (r["collections"] or "").split()}
                for r in rows]

    def items_stamp(self) -> tuple:
        """(count, sum of versions, newest update) of the items: every create, update and purge
        changes the first two together with the purge records, so answers derived from
        ``item_states`` can be kept until it changes."""
        return tuple(self._db().execute("SELECT count(*), total(version), max(updated) FROM items").fetchone())

    def find_original(self, sha256: str) -> tuple[str, str] | None:
        row = self._db().execute("SELECT item_id, file_id FROM originals WHERE sha256 = ? ORDER BY item_id LIMIT 1",
                                 (sha256,)).fetchone()
        return (row[0], row[1]) if row else None

    def events(self, object_id: str | None = None, *, limit: int | None = None, offset: int = 0) -> list[dict]:
        """Audit events, oldest first; with ``limit``, the newest ``limit`` of them after the newest ``offset``."""
        sql = "SELECT * FROM events" + (" WHERE object_id = ?" if object_id else "")
        params = (object_id,) if object_id else ()
        if limit:
            sql = f"SELECT * FROM ({sql} ORDER BY at DESC, object_id DESC, version DESC LIMIT ? OFFSET ?)"
            params += (limit, offset)
        rows = self._db().execute(sql + " ORDER BY at, object_id, version", params)
        return [dict(r) for r in rows]

    def count_events(self, object_id: str | None = None) -> int:
        sql = "SELECT count(*) FROM events" + (" WHERE object_id = ?" if object_id else "")
        return self._db().execute(sql, (object_id,) if object_id else ()).fetchone()[0]

    def figures(self, *, user: User, today: date) -> dict:
        """The staff dashboard's counts of the items ``user`` may see, in three SQL queries (one pass
        over the rows, one over their files' JSON; no Item parsed): by kind, decade, collection;
        files' count and bytes by role; originals by PRONOM format."""
        where, params = _visible(user, today, "items")
        db = self._db()
        visible = f"SELECT id, kind, year_start, record FROM items WHERE {where}"
        rows = db.execute(f"SELECT kind, (year_start / 10) * 10, count(*) FROM ({visible}) GROUP BY 1, 2", params).fetchall()
        kinds, decades = {}, {}
        for kind, decade, n in rows:
            kinds[kind] = kinds.get(kind, 0) + n
            decades[decade] = decades.get(decade, 0) + n
        files = db.execute(
            "SELECT json_extract(f.value, '$.role'), json_extract(f.value, '$.tech.pronom.puid'), "
            "max(json_extract(f.value, '$.tech.pronom.format')), count(*), total(json_extract(f.value, '$.size')) "
            f"FROM ({visible}) AS i, json_each(i.record, '$.files') AS f GROUP BY 1, 2", params).fetchall()
        roles = {}
        for role, _puid, _name, n, size in files:
            count, total = roles.get(role, (0, 0))
            roles[role] = (count + n, total + size)
        return {
            "items": sum(kinds.values()),
            "kinds": sorted(kinds.items(), key=lambda kv: (-kv[1], kv[0])),
            "decades": sorted((d, n) for d, n in decades.items() if d is not None),
            "undated": decades.get(None, 0),
            "collections": [tuple(r) for r in db.execute(
                f"SELECT c.collection_id, count(*) FROM ({visible}) AS i JOIN item_collections c ON c.item_id = i.id "
                "GROUP BY c.collection_id ORDER BY count(*) DESC, c.collection_id", params)],
            "roles": sorted((role, n, size) for role, (n, size) in roles.items() if role),
            "formats": sorted(((puid, name, n, size) for role, puid, name, n, size in files if role == "original"),
                              key=lambda f: (-f[2], f[0] or "")),
        }

    def object_ids(self) -> list[str]:
        """Every object catalogued (items, withdrawn ones too, and collections), as OCFL object ids."""
        return [r[0] for r in self._db().execute("SELECT 'item:' || id FROM items UNION ALL "
                                                  "SELECT 'collection:' || id FROM collections")]

    def dump(self) -> dict:
        """Everything in the catalog, for comparing a rebuilt catalog with the original."""
        db = self._db()
        return {t: sorted((tuple(r) for r in db.execute(f"SELECT * FROM {t}")), key=repr)
                for t in ("items", "item_collections", "originals", "item_links", "collections", "events")}


LINK_ORDER = ("about", "creator", "contributor", "place", "mention")


def _links(item: Item) -> list[tuple[str, str]]:
    """(authority id, how) of every authority record an item points at."""
    return ([(a, "about") for a in item.about] + [(a.id, "creator") for a in item.creators if a and a.id]
            + [(a.id, "contributor") for a in item.contributors if a and a.id]
            + [(p.id, "place") for p in item.places if p and p.id] + [(m["id"], "mention") for m in item.mentions])


def _visible(user: User, today: date, table: str) -> tuple[str, tuple]:
    """The access policy as a WHERE clause (kept equal to access.can_view_record by a test)."""
    level, params = access.level_sql(today)
    levels = sorted(access.visible_levels(user))
    where = f"{level} IN ({','.join('?' * len(levels))})"
    if table == "items" and not access.can_manage(user):
        where += " AND withdrawn = 0"
    return where, params + tuple(levels)
