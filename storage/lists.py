"""ListStore: researchers' saved lists (repository.lists) in the database, beside the accounts.
Primary state, not rebuilt from storage: back it up with the database."""
from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import Column, ForeignKey, Index, Table, UniqueConstraint, select

from repository.lists import SavedList

from .database import ID, TEXT, Database, metadata

lists = Table(
    "lists", metadata,
    Column("id", ID, primary_key=True), Column("owner", TEXT, nullable=False), Column("name", TEXT, nullable=False),
    Column("note", TEXT, nullable=False, server_default=""), Column("share", TEXT, unique=True),
    Column("created", TEXT, nullable=False), Index("lists_by_owner", "owner"))
# ``id`` keeps the order entries were added in (an old file's rows are adopted in that order).
list_entries = Table(
    "list_entries", metadata,
    Column("id", ID, primary_key=True),
    Column("list_id", ID, ForeignKey("lists.id", ondelete="CASCADE"), nullable=False),
    Column("item_id", TEXT, nullable=False), Column("note", TEXT, nullable=False, server_default=""),
    Column("added", TEXT, nullable=False), UniqueConstraint("list_id", "item_id"))
TABLES = [lists, list_entries]
c, e = lists.c, list_entries.c


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


class ListStore:
    def __init__(self, database: Database):
        self.db = database

    def _lists(self, where) -> list[SavedList]:
        with self.db.connect() as db:
            rows = db.execute(select(lists).where(where).order_by(c.created, c.id)).all()
            entries = {}
            if rows:
                for x in db.execute(select(e.list_id, e.item_id, e.note, e.added)
                                    .where(e.list_id.in_([r.id for r in rows])).order_by(e.id)):
                    entries.setdefault(x.list_id, []).append((x.item_id, x.note, x.added))
        return [SavedList(r.id, r.owner, r.name, r.note, r.share, r.created, entries.get(r.id, [])) for r in rows]

    def lists(self, owner: str) -> list[SavedList]:
        return self._lists(c.owner == owner)

    def get(self, list_id: int) -> SavedList | None:
        return next(iter(self._lists(c.id == list_id)), None)

    def by_share(self, secret: str) -> SavedList | None:
        return next(iter(self._lists(c.share == secret)), None)

    def create(self, owner: str, name: str, note: str) -> SavedList:
        with self.db.begin() as db:
            list_id = db.execute(lists.insert().values(owner=owner, name=name, note=note, created=_now())
                                 .returning(c.id)).scalar()
        return self.get(list_id)

    def update(self, list_id: int, *, name: str, note: str, share: str | None) -> None:
        with self.db.begin() as db:
            db.execute(lists.update().where(c.id == list_id).values(name=name, note=note, share=share))

    def delete(self, list_id: int) -> None:
        with self.db.begin() as db:
            db.execute(lists.delete().where(c.id == list_id))  # its entries go with it (CASCADE)

    def put_entry(self, list_id: int, item_id: str, note: str) -> None:
        insert = self.db.insert(list_entries).values(list_id=list_id, item_id=item_id, note=note, added=_now())
        with self.db.begin() as db:
            db.execute(insert.on_conflict_do_update(index_elements=["list_id", "item_id"],
                                                    set_={"note": insert.excluded.note}))

    def delete_entry(self, list_id: int, item_id: str) -> None:
        with self.db.begin() as db:
            db.execute(list_entries.delete().where(e.list_id == list_id, e.item_id == item_id))
