"""The derived list of exhibitions (the database's table ``exhibitions``): each one's head status
and its published version, for /exhibitions and the home page. Storage is the source of truth:
``Exhibitions.rebuild`` (called by ``Archive.rebuild``, so ``fangzhi rebuild``) recreates it."""
from __future__ import annotations

import json

from sqlalchemy import Column, Integer, Table, select

from storage.database import TEXT, Database, metadata

exhibitions = Table(
    "exhibitions", metadata,
    Column("id", TEXT, primary_key=True), Column("status", TEXT, nullable=False), Column("head", Integer, nullable=False),
    Column("updated", TEXT, nullable=False), Column("published_version", Integer), Column("published_at", TEXT),
    Column("published", TEXT), Column("title", TEXT, nullable=False))
TABLES = [exhibitions]
x = exhibitions.c


class ExhibitionList:
    def __init__(self, database: Database):
        self.db = database

    def put(self, ident: str, *, status: str, head: int, updated: str, published_version: int | None,
            published_at: str | None, published: dict | None, title: dict) -> None:
        row = dict(status=status, head=head, updated=updated, published_version=published_version,
                   published_at=published_at, published=json.dumps(published, ensure_ascii=False) if published else None,
                   title=json.dumps(title, ensure_ascii=False))
        with self.db.begin() as db:
            db.execute(self.db.insert(exhibitions).values(id=ident, **row)
                       .on_conflict_do_update(index_elements=["id"], set_=row))

    def clear(self) -> None:
        with self.db.begin() as db:
            db.execute(exhibitions.delete())

    def published(self, *, limit: int = 100) -> list[tuple[dict, str]]:
        """(the published exhibition as stored, when it was published), newest first."""
        with self.db.connect() as db:
            rows = db.execute(select(x.published, x.published_at).where(x.published.is_not(None))
                              .order_by(x.published_at.desc(), x.id).limit(limit)).all()
        return [(json.loads(r.published), r.published_at) for r in rows]

    def all(self) -> list[dict]:
        """Every exhibition's row (for curators), latest change first."""
        with self.db.connect() as db:
            rows = db.execute(select(x.id, x.status, x.head, x.updated, x.published_version, x.title)
                              .order_by(x.updated.desc(), x.id)).all()
        return [{**r._mapping, "title": json.loads(r.title)} for r in rows]
