"""IIIF Change Discovery 1.0 consumer (https://iiif.io/api/discovery/1.0/): each Fangzhi member's
``/iiif/discovery/changes``, read incrementally, kept as the member's manifest list in storage
(``alliance/<member>/manifests.json``), from which the alliance IIIF Collection is derived.

§4 (consuming): start at the ``last`` page and walk ``prev``, newest activity first, until an
activity older than the last run's newest (``discovery_cursor``); for each object only its newest
activity counts (Create/Update: it is there; Delete/Remove: it is gone). Pages must stay on the
member's own site, no page is read twice, and there are at most ALLIANCE_MAX_PAGES.
"""
from __future__ import annotations

from urllib.parse import urlsplit

from repository.model import loads_text
from storage.harvested import HarvestStore

from .harvest import Limits, fetch
from .members import Member, Members
from .records import BadResponse, HarvestError, N_

GONE = ("Delete", "Remove")


def _json(data: bytes) -> dict:
    try:
        body = loads_text(data)
    except ValueError as exc:
        raise BadResponse(N_("变更发现流不是 JSON：%(detail)s"), detail=str(exc)[:200]) from None
    if not isinstance(body, dict):
        raise BadResponse(N_("变更发现流不是 JSON：%(detail)s"), detail="not an object")
    return body


class Discovery:
    def __init__(self, store: HarvestStore, members: Members):
        self.store, self.members = store, members

    def harvest_member(self, member: Member, limits: Limits) -> int:
        """Read the member's new activities; the count of activities applied."""
        origin = urlsplit(member.api_url)[:2]

        def get(url: str) -> dict:
            if urlsplit(url)[:2] != origin:
                raise BadResponse(N_("变更发现流指向别的网站：%(url)s"), url=url[:200])
            return _json(fetch(url, {}, None, limits, accept="application/ld+json, application/json"))

        stream = get(f"{member.api_url}/iiif/discovery/changes")
        cursor = member.discovery_cursor or ""
        manifests = self.store.get_json(member.name, "manifests", {})
        decided: set[str] = set()
        newest, applied, seen = cursor, 0, set()
        url = (stream.get("last") or {}).get("id") if stream.get("totalItems", 1) else None
        while url:
            if url in seen or len(seen) >= limits.max_pages:
                raise HarvestError(N_("变更发现流的页面循环或太多：%(url)s"), url=url[:200])
            seen.add(url)
            page = get(url)
            older = False
            for activity in reversed(page.get("orderedItems") or []):
                when, obj = str(activity.get("endTime") or ""), activity.get("object") or {}
                if cursor and when < cursor:
                    older = True
                    break
                newest = max(newest, when)
                target = obj.get("id")
                if not isinstance(target, str) or obj.get("type") != "Manifest" or target in decided:
                    continue
                decided.add(target)  # newest first: later (older) activities of it are history
                if activity.get("type") in GONE:
                    manifests.pop(target, None)
                else:
                    manifests[target] = {"id": target, "updated": when}
                applied += 1
            if older:
                break
            url = (page.get("prev") or {}).get("id")
        self.store.put_json(member.name, "manifests", manifests)
        self.members.update_status(member.name, discovery_cursor=newest or None)
        return applied


    def label(self, records) -> None:
        """Name each kept manifest by the title of the member's public record linking to it (a
        Collection's items need a label, Presentation 3.0 §3.1; Change Discovery gives none)."""
        titles: dict[str, dict[str, str]] = {}
        for r in records:
            if r.visibility == "public" and r.manifest and r.title:
                titles.setdefault(r.member, {})[r.manifest] = r.title[0]
        for member in self.members.list():
            manifests = self.store.get_json(member.name, "manifests", {})
            named = {k: {**v, "label": titles.get(member.name, {}).get(k) or v.get("label")} for k, v in manifests.items()}
            if named != manifests:
                self.store.put_json(member.name, "manifests", named)

    def collection_members(self) -> list[tuple[Member, list[dict]]]:
        """Each member with its manifests ({id, label, updated}), for the alliance Collection."""
        return [(m, sorted(self.store.get_json(m.name, "manifests", {}).values(), key=lambda v: v["id"]))
                for m in self.members.list()]
