"""IIIF Change Discovery 1.0 (https://iiif.io/api/discovery/1.0/), level 2 (§2.1.3): the public
items' manifests as an Activity Streams OrderedCollection of Create, Update and Delete activities,
oldest first, so that harvesters read it backwards from the last page and stop at what they know.

Derived from the storage version history only: the audit events (one per OCFL version of an item,
rebuilt from storage, plus purge records) and each version's own metadata. An item is published
while anonymous readers may see it (the one access policy, applied as of that time):

* the version that publishes it → Create (again after a Delete: §3.3 allows a re-used URI);
* a new version while it stays published → Update;
* a version that stops it being public (visibility changed, withdrawn) → Delete;
* an embargo ending → Create, at 00:00 UTC of the day it ends;
* a purge of a published item → Delete (the purge record says whether it was public).

Items never public appear nowhere.
"""
from __future__ import annotations

import weakref
from dataclasses import dataclass
from datetime import date, datetime, time, timezone

from repository.access import ANONYMOUS, SYSTEM, can_view_item
from repository.errors import RepositoryError

CONTEXT = "http://iiif.io/api/discovery/1/context.json"

_states = weakref.WeakKeyDictionary()  # archive → {(object id, version, time): State | None}


@dataclass(frozen=True)
class State:
    """What decides whether an item version is public (duck-types an Item for the policy)."""
    visibility: str
    embargo_until: str | None
    withdrawn: bool


def _when(at: str) -> datetime:
    return datetime.fromisoformat(at.replace("Z", "+00:00")).astimezone(timezone.utc)


def _stamp(when: datetime) -> str:
    """§3.3 endTime: xsd:dateTime in UTC."""
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")


def _state(archive, item_id: str, version: int, at: str) -> State | None:
    """The item's state at ``version``, or None when that version is gone (the item was purged
    and its id used again). Versions never change, so the answer is kept."""
    cache = _states.setdefault(archive, {})
    key = (item_id, version, at)
    if key not in cache:
        try:
            record = archive.get_item(item_id, user=SYSTEM, version=version)
            item = record.value
            cache[key] = State(item.visibility, item.embargo_until, bool(item.withdrawn)) \
                if record.updated == at else None
        except RepositoryError:
            cache[key] = None
    return cache[key]


def _purges(archive) -> dict[tuple[str, str], bool]:
    """(object id, time) of each purge → whether the item was public until then."""
    return {(record["object_id"], record["at"]): bool(record.get("public")) for record in archive.purge_records()}


def activities(archive, manifest_url) -> list[dict]:
    """Every activity, oldest first. ``manifest_url(item_id)`` gives the object's id."""
    today: date = archive.today()
    purges = _purges(archive)
    by_item: dict[str, list[dict]] = {}
    for event in archive.catalog.events():
        if event["object_id"].startswith("item:"):
            by_item.setdefault(event["object_id"].split(":", 1)[1], []).append(event)
    found = []
    for item_id, events in by_item.items():
        events.sort(key=lambda e: (e["at"], e["version"] or 0, e["action"] == "purge"))
        published = False

        def emit(kind: str, when: datetime):
            found.append((when, item_id, len(found), {"type": kind, "object": {
                "id": manifest_url(item_id), "type": "Manifest"}, "endTime": _stamp(when)}))

        for n, event in enumerate(events):
            when = _when(event["at"])
            if event["action"] == "purge":
                if published or purges.get((event["object_id"], event["at"])):
                    emit("Delete", when)
                published = False
                continue
            state = _state(archive, item_id, event["version"], event["at"])
            if state is None:
                continue
            if can_view_item(ANONYMOUS, state, today=when.date()):
                emit("Update" if published else "Create", when)
                published = True
                continue
            if published:
                emit("Delete", when)
                published = False
            if state.visibility == "embargoed" and state.embargo_until and not state.withdrawn:
                lifted = datetime.combine(date.fromisoformat(state.embargo_until), time(), timezone.utc)
                following = _when(events[n + 1]["at"]) if n + 1 < len(events) else None
                if lifted.date() <= today and lifted > when and (following is None or lifted < following):
                    emit("Create", lifted)
                    published = True
    found.sort(key=lambda f: f[:3])
    return [activity for *_, activity in found]


def collection(total: int, *, page_size: int, url: str, page_url) -> dict:
    """§2.3 the OrderedCollection: total, first and last pages (pages numbered from 0)."""
    last = max(0, -(-total // page_size) - 1)
    return {"@context": CONTEXT, "id": url, "type": "OrderedCollection", "totalItems": total,
            "first": {"id": page_url(0), "type": "OrderedCollectionPage"},
            "last": {"id": page_url(last), "type": "OrderedCollectionPage"}}


def page(found: list[dict], number: int, *, page_size: int, url: str, page_url) -> dict | None:
    """§2.2 one OrderedCollectionPage, or None past the last page."""
    last = max(0, -(-len(found) // page_size) - 1)
    if not 0 <= number <= last:
        return None
    body = {"@context": CONTEXT, "id": page_url(number), "type": "OrderedCollectionPage",
            "partOf": {"id": url, "type": "OrderedCollection"}, "startIndex": number * page_size}
    if number > 0:
        body["prev"] = {"id": page_url(number - 1), "type": "OrderedCollectionPage"}
    if number < last:
        body["next"] = {"id": page_url(number + 1), "type": "OrderedCollectionPage"}
    body["orderedItems"] = found[number * page_size:(number + 1) * page_size]
    return body
