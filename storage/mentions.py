"""MentionStore: proposed mentions of authority records in items' texts, and staff's decisions.

One row per item and authority record: the names found and where (``places``: field, file,
page, cue time, the passage's access level and a short excerpt), its state — proposed, confirmed,
rejected — and who decided when. Proposals can be made again from storage (search.mentions),
but a decision is kept: a rejected record is not proposed again for that item; a confirmed one
is in the item's metadata (Item.mentions).
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timezone

from sqlalchemy import Column, Index, Table, UniqueConstraint, select

from .database import ID, TEXT, Database, metadata

mentions = Table(
    "mentions", metadata,
    Column("id", ID, primary_key=True), Column("item_id", TEXT, nullable=False),
    Column("authority_id", TEXT, nullable=False), Column("name", TEXT, nullable=False),
    Column("places", TEXT, nullable=False), Column("state", TEXT, nullable=False, server_default="proposed"),
    Column("decided_by", TEXT), Column("decided_at", TEXT),
    UniqueConstraint("item_id", "authority_id"), Index("mentions_by_state", "state", "item_id"))
TABLES = [mentions]
m = mentions.c
STATES = ("proposed", "confirmed", "rejected")


@dataclass
class MentionRow:
    id: int
    item_id: str
    authority_id: str
    name: str
    places: list[dict]  # {"field", "file_id", "page", "time", "access", "excerpt"}
    state: str
    decided_by: str | None
    decided_at: str | None


class MentionStore:
    def __init__(self, database: Database):
        self.db = database

    @staticmethod
    def _row(row) -> MentionRow | None:
        if row is None:
            return None
        return MentionRow(row.id, row.item_id, row.authority_id, row.name, json.loads(row.places), row.state,
                          row.decided_by, row.decided_at)

    def propose(self, item_id: str, found: dict[str, tuple[str, list[dict]]]) -> None:
        """Make ``found`` (authority id → (name, places)) the item's proposals: new ones added,
        undecided ones no longer found removed, decided ones kept as they are."""
        with self.db.begin() as db:
            db.execute(mentions.delete().where(m.item_id == item_id, m.state == "proposed"))
            if found:
                db.execute(self.db.insert(mentions).on_conflict_do_nothing(index_elements=["item_id", "authority_id"]),
                           [dict(item_id=item_id, authority_id=authority_id, name=name,
                                 places=json.dumps(places, ensure_ascii=False))
                            for authority_id, (name, places) in found.items()])

    def forget(self, item_id: str) -> None:
        """An item purged: its proposals and decisions go."""
        with self.db.begin() as db:
            db.execute(mentions.delete().where(m.item_id == item_id))

    def get(self, mention_id: int) -> MentionRow | None:
        with self.db.connect() as db:
            return self._row(db.execute(select(mentions).where(m.id == mention_id)).first())

    def listed(self, state: str = "proposed", *, after: int = 0, limit: int = 50) -> list[MentionRow]:
        with self.db.connect() as db:
            rows = db.execute(select(mentions).where(m.state == state, m.id > after).order_by(m.id).limit(limit))
            return [self._row(r) for r in rows]

    def of_item(self, item_id: str) -> list[MentionRow]:
        with self.db.connect() as db:
            return [self._row(r) for r in db.execute(select(mentions).where(m.item_id == item_id).order_by(m.id))]

    def decide(self, mention_id: int, state: str, *, user: str) -> None:
        if state not in STATES[1:]:
            raise ValueError(f"a mention is confirmed or rejected, not {state!r}")
        with self.db.begin() as db:
            db.execute(mentions.update().where(m.id == mention_id).values(
                state=state, decided_by=user, decided_at=datetime.now(timezone.utc).isoformat(timespec="seconds")))
