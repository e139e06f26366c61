"""Mentions: names of authority records found in an item's titles, descriptions, OCR text and
transcripts, proposed as links for staff to confirm or reject (issue 14, "Mentions").

``MentionReview`` follows the archive (an ``Archive`` listener): each committed item is read
again — its metadata and the passages search indexes (search.service.Search.passages: OCR
pages, e-book chapters, transcript cues with their access level) — and the names of the
authority file (search.name_index.NameIndex.find: two characters or more, longest first) become
proposals in the store, one per record, with every place found (field, file, page, cue time).
Records the item is already linked to are not proposed, nor those staff rejected for it.
Confirming one writes a new version of the item with the mention in ``Item.mentions`` (who and
why recorded), which the index then follows. Only staff who may edit and may see the item
review it, and a passage restricted beyond what the reviewer may read is listed without its text.
"""
from __future__ import annotations

from dataclasses import dataclass

from repository import access
from repository.access import User
from repository.errors import Gone, NotFound, PermissionDenied
from repository.model import Item, best

from . import analysis
from .documents import authority_links

EXCERPT = 24  # characters either side of a name
MAX_PLACES = 20  # places kept per record and item


@dataclass
class Proposal:
    """A mention as a reviewer may see it."""
    id: int
    item_id: str
    title: str
    authority_id: str
    name: str
    places: list[dict]  # as stored, ``excerpt`` None where the reviewer may not read the passage
    state: str


class MentionReview:
    def __init__(self, search, archive, store):
        self.search, self.archive, self.store = search, archive, store

    # --- proposing -----------------------------------------------------------------------------

    def item_changed(self, item_id: str, item: Item | None) -> None:
        """An Archive listener: propose the mentions of an item's new version."""
        if item is None:
            self.store.forget(item_id)
        else:
            self.store.propose(item_id, self.found(item))

    def found(self, item: Item) -> dict[str, tuple[str, list[dict]]]:
        """Authority id → (the first name found, where) for the item's texts."""
        self.search.refresh_names(reindex=False)  # an Archive listener: no re-indexing from inside a commit
        linked = set(authority_links(item)["authority"])
        texts = [({"field": "title"}, t) for t in item.title.values()]
        texts += [({"field": "description"}, t) for t in item.description.values()]
        passages, _ = self.search.passages(item)
        texts += [({"field": "text", "file_id": p.file_id, "page": p.page, "chapter": p.chapter, "time": p.time,
                    "access": p.access}, p.text) for p in passages]
        out: dict[str, tuple[str, list[dict]]] = {}
        for where, text in texts:
            folded = analysis.fold(text)
            text = text if len(folded) == len(text) else folded  # positions are the folded text's
            for start, end, name, ids in self.search.names.find(text):
                for authority_id in ids:
                    if authority_id in linked:
                        continue
                    _, places = out.setdefault(authority_id, (text[start:end], []))
                    if len(places) < MAX_PLACES:
                        places.append({**{k: v for k, v in where.items() if v is not None}, "name": name,
                                       "excerpt": text[max(0, start - EXCERPT):end + EXCERPT]})
        return out

    def rebuild(self, progress=lambda done, total: None) -> int:
        """Propose again for every item from storage (decisions are kept): `fangzhi mentions`."""
        ids = self.archive.item_ids()
        for n, item_id in enumerate(ids, 1):
            self.item_changed(item_id, self.archive.load_item(item_id))
            progress(n, len(ids))
        return len(ids)

    # --- reviewing -----------------------------------------------------------------------------

    def queue(self, user: User, *, state: str = "proposed", after: int = 0, limit: int = 50) -> list[Proposal]:
        """The proposals (or decisions) of items the user may edit and see, oldest first."""
        _require_staff(user)
        out: list[Proposal] = []
        while len(out) < limit:
            rows = self.store.listed(state, after=after, limit=limit)
            if not rows:
                break
            for row in rows:
                after = row.id
                seen = self._seen(row, user)
                if seen is not None:
                    out.append(seen)
        return out[:limit]

    def get(self, mention_id: int, user: User) -> Proposal:
        _require_staff(user)
        row = self.store.get(mention_id)
        seen = self._seen(row, user) if row is not None else None
        if seen is None:
            raise NotFound(f"mention {mention_id}")
        return seen

    def _seen(self, row, user: User) -> Proposal | None:
        try:
            item = self.archive.get_item(row.item_id, user=user).value
        except (NotFound, Gone):
            return None
        levels = access.visible_levels(user)
        places = [{**p, "excerpt": p["excerpt"] if not p.get("access") or p["access"] in levels else None}
                  for p in row.places]
        return Proposal(row.id, row.item_id, best(item.title), row.authority_id, row.name, places, row.state)

    def confirm(self, mention_id: int, user: User, *, why: str = "") -> None:
        """The mention becomes part of the item's metadata: a new version, with who and why."""
        proposal = self.get(mention_id, user)
        if proposal.state != "proposed":
            raise NotFound(f"mention {mention_id} (already {proposal.state})")
        record = self.archive.get_item(proposal.item_id, user=user)
        place = next((p for p in proposal.places if p["excerpt"] is not None), proposal.places[0])
        mention = {"id": proposal.authority_id, "name": proposal.name, "where": where(place)}
        self.archive.update_item(proposal.item_id, {"mentions": [*record.value.mentions, mention]},
                                 expected_version=record.version, user=user,
                                 why=why or f"confirmed mention of {proposal.name} ({proposal.authority_id})")
        self.store.decide(mention_id, "confirmed", user=user.name)

    def reject(self, mention_id: int, user: User) -> None:
        """Not this record: it is not proposed again for the item."""
        proposal = self.get(mention_id, user)
        if proposal.state != "proposed":
            raise NotFound(f"mention {mention_id} (already {proposal.state})")
        self.store.decide(mention_id, "rejected", user=user.name)


def where(place: dict) -> str:
    """A place as Item.mentions keeps it: "title", "description", "f1 p3", "f2 t=75.5"."""
    if place["field"] != "text":
        return place["field"]
    parts = [place.get("file_id") or ""]
    if place.get("page"):
        parts.append(f"p{place['page']}")
    if place.get("time") is not None:
        parts.append(f"t={place['time']:g}")
    return " ".join(p for p in parts if p)


def _require_staff(user: User) -> None:
    if not access.can_edit(user):
        raise PermissionDenied("reviewing mentions needs an archivist's or administrator's role")
