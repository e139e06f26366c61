"""The union catalogue: every member's harvested records, grouped into works, in the search index.

Built from the raw records in storage alone (storage.harvested), so ``fangzhi rebuild`` makes it
again. A work held by several members (a duplicate group) is one search document listing every
holding. Records join a group when they share an identifier (ISBN, ISSN, DOI, or the same call
number) or have the same title, creator and date after folding; records whose standard
identifiers (ISBN, ISSN, DOI) disagree are never merged, not even through a third record.
Call numbers are local to a library: equal ones join, different ones do not keep records apart.

This library's own items join the groups by the same rules (at most one local item per group):
the work is then found through the local item's documents, which list every holding (this
library's first, the others as each reader may see them, ``contribute``), and the group's remote
documents are hidden from the readers who see the local item. A local item joins only while
withdrawn or embargoed it is not: every reader who sees it sees it through its visibility alone.
"""
from __future__ import annotations

import hashlib
import logging
import re
from collections import defaultdict
from typing import Iterator

from repository.model import best
from search import analysis
from search.documents import CLEARANCES, UNION, Contribution, RemoteRecord, holding, remote_documents
from search.index import Bool, Term, Terms
from storage.harvested import HarvestStore

from .records import BadResponse, parse_xml, read_record

log = logging.getLogger("fangzhi.alliance")
DECISIVE = ("isbn", "issn", "doi")  # identifiers of a work's edition, not of one library's copy
LOCAL = ""  # the member name of this library's own items in a group


def _isbn13(digits: str) -> str | None:
    if len(digits) == 10:
        core = "978" + digits[:9]
    elif len(digits) == 13 and digits.isdigit():
        core = digits[:12]
    else:
        return None
    if len(digits) == 10 and not (digits[:9].isdigit() and sum((10 - i) * (10 if c in "Xx" else int(c))
                                                                for i, c in enumerate(digits)) % 11 == 0):
        return None
    check = (10 - sum((1 if i % 2 == 0 else 3) * int(c) for i, c in enumerate(core)) % 10) % 10
    return core + str(check) if len(digits) == 10 or digits[-1] == str(check) else None


def identifier_key(value: str) -> tuple[str, str]:
    """(scheme, normalised value) of an identifier: isbn (as ISBN-13), issn, doi, else local."""
    text = analysis.fold(value).strip()
    bare = re.sub(r"^(urn:)?(isbn|issn|doi)[:：\s]*", "", text)
    compact = re.sub(r"[\s-]", "", bare)
    if re.match(r"^(urn:)?isbn", text) or re.fullmatch(r"97[89]\d{10}|\d{9}[\dx]", compact):
        isbn = _isbn13(compact.upper())
        if isbn or re.match(r"^(urn:)?isbn", text):  # one written as an ISBN stays one, even mistyped
            return "isbn", isbn or compact
    if re.match(r"^(urn:)?issn", text) and re.fullmatch(r"\d{7}[\dx]", compact):
        return "issn", compact
    if text.startswith("doi") or re.match(r"^10\.\d{4,}/", bare):
        return "doi", bare
    return "local", re.sub(r"\s+", "", text)


def _title_key(r: RemoteRecord) -> tuple | None:
    def norm(values):
        return re.sub(r"[\W_]+", "", analysis.fold(values[0])) if values else ""
    title, creator, date = norm(r.title), norm(r.creator), re.sub(r"\s+", "", r.date)
    return (title, creator, date) if title and (creator or date) else None


def group(records: list[RemoteRecord]) -> list[list[RemoteRecord]]:
    """The records as works: lists of holdings, in a stable order."""
    records = sorted(records, key=lambda r: (r.member, r.oai_id))
    parent = list(range(len(records)))
    ids = [defaultdict(set) for _ in records]  # per group root: scheme → values
    for n, r in enumerate(records):
        for scheme, value in map(identifier_key, r.identifiers):
            ids[n][scheme].add(value)
        if r.member == LOCAL:
            ids[n]["item"].add(r.oai_id)  # two local items are two works here: never one group

    def root(n: int) -> int:
        while parent[n] != n:
            parent[n] = parent[parent[n]]
            n = parent[n]
        return n

    def join(a: int, b: int) -> None:
        a, b = root(a), root(b)
        if a == b or any(ids[a][s] and ids[b][s] and not ids[a][s] & ids[b][s] for s in (*DECISIVE, "item")):
            return  # the same group already, or their identifiers disagree
        parent[b] = a
        for scheme, values in ids[b].items():
            ids[a][scheme] |= values

    keys: dict = {}
    for n, r in enumerate(records):
        for key in [*(identifier_key(i) for i in r.identifiers), ("title", _title_key(r))]:
            if key[1] is None:
                continue
            if key in keys:
                join(keys[key], n)
            else:
                keys[key] = n
    groups: dict[int, list[RemoteRecord]] = defaultdict(list)
    for n, r in enumerate(records):
        groups[root(n)].append(r)
    return list(groups.values())


def local_record(item) -> RemoteRecord | None:
    """This library's item as a record that may join a group; None while it is withdrawn or
    embargoed (who sees it then depends on more than its visibility)."""
    if item.withdrawn or item.visibility not in CLEARANCES:
        return None
    title = best(item.title)
    return RemoteRecord(LOCAL, item.id, item.visibility, title=[title, *(t for t in item.title.values() if t != title)],
                        creator=[best(a.name) for a in [*item.creators, *item.contributors]],
                        date=item.date.get("edtf") or item.date.get("display") or "", kind=item.kind,
                        identifiers=list(item.identifiers))


def _seen_by(visibility: str) -> set[str]:
    """The clearances that see an item of ``visibility`` (one of CLEARANCES)."""
    return set(CLEARANCES[CLEARANCES.index(visibility):])


class UnionCatalogue:
    """The harvested records of the registered members, as search documents."""

    def __init__(self, store: HarvestStore, members, search):
        self.store, self.members, self.search = store, members, search
        self._remote: tuple | None = None  # (members' harvest stamp, records)
        self._local: dict[str, tuple[int, RemoteRecord | None]] = {}  # item id → (version, record)
        self._groups: dict | None = None  # local item id → its group, while records stay the same
        self._stamp = None  # the catalogue's items_stamp when the local records were read

    # --- this library's items in the groups ---------------------------------------------------

    def _remote_records(self) -> list[RemoteRecord]:
        stamp = tuple((m.name, m.last_success, m.records) for m in self.members.list())
        if self._remote is None or self._remote[0] != stamp:  # another process may have harvested
            self._remote, self._groups = (stamp, list(self.records())), None
        return self._remote[1]

    def _sync_local(self) -> None:
        """The local records, as the catalogue has them now (items another process changed too).
        None are read while no member's records are stored: there is no group then, and reading
        every item's state at each change made an ingest's cost grow with the archive."""
        if not self._remote_records():
            return
        archive = self.search.archive
        stamp = archive.catalog.items_stamp()
        if stamp == self._stamp:
            return
        states = {s["id"]: s["version"] for s in archive.catalog.item_states()}
        for item_id in [i for i in self._local if i not in states]:
            del self._local[item_id]
            self._groups = None
        for item_id, version in states.items():
            if self._local.get(item_id, (None,))[0] != version:
                self._set_local(item_id, archive.load_item(item_id), version)
        self._stamp = stamp

    def _set_local(self, item_id: str, item, version=None) -> None:
        record = local_record(item) if item is not None else None
        old_version, old = self._local.get(item_id, (None, None))
        if old != record:
            self._groups = None
        self._local[item_id] = (version or old_version, record)

    def _local_groups(self) -> dict[str, list[RemoteRecord]]:
        remote = self._remote_records()
        if not remote:  # local items never group with each other: no member's records, no groups
            return {}
        if self._groups is None:
            local = [r for _, r in self._local.values() if r is not None]
            self._groups = {h.oai_id: g for g in group(remote + local) if len(g) > 1
                            for h in g if h.member == LOCAL}
        return self._groups

    def holdings_of(self, item_id: str) -> list[RemoteRecord]:
        """The members' records in the local item's group (none: it is in no group)."""
        self._sync_local()
        return [h for h in self._local_groups().get(item_id, []) if h.member != LOCAL]

    def contribute(self, archive, item) -> list[Contribution]:
        """A Search contributor: what the local item's documents say of its group, each holding
        at the level it may be seen (a member's alliance record only for readers cleared for it)."""
        self._sync_local()
        self._set_local(item.id, item)
        others = [h for h in self._local_groups().get(item.id, []) if h.member != LOCAL]
        if not others:
            return []
        here = {"member": LOCAL, "library": {"zh": self.search.library, "en": self.search.library},
                "title": best(item.title), "link": None, "manifest": None, "thumbnail": None, "oai_id": "",
                "local": True, "item_id": item.id}
        public = [h for h in others if h.visibility == "public"]
        rest = [h for h in others if h.visibility != "public"]
        out = [Contribution(facets={"library": [h.library for h in public]},
                            holdings=[here, *map(holding, public)])]
        if rest:
            out.append(Contribution(facets={"library": [h.library for h in rest]},
                                    holdings=list(map(holding, rest)), level="alliance"))
        return out

    def item_changed(self, item_id: str, item) -> None:
        """An Archive listener (before the search's): when the item joins, leaves or changes
        visibility in a group, the group's remote documents are made again (a process that has
        not read the local records yet cannot tell: it makes them again)."""
        before = self._membership(item_id) if self._stamp is not None else None
        self._sync_local()
        self._set_local(item_id, item)
        after = self._membership(item_id)
        if after != before and (before is not None or self._remote_records()):
            self.refresh(reindex_local=False)

    def _membership(self, item_id: str) -> tuple:
        return tuple((h.member, h.oai_id, h.visibility) for h in self._local_groups().get(item_id, []))

    def records(self) -> Iterator[RemoteRecord]:
        labels = {m.name: m for m in self.members.list()}
        for member, visibility, data in self.store.records():
            if member not in labels:
                continue  # removed from the alliance
            try:
                r = read_record(parse_xml(data), member, visibility)
            except BadResponse as exc:
                log.warning("alliance: skipped a stored record of %s: %s", member, exc)
                continue
            r.library, r.library_en = labels[member].label_zh, labels[member].label_en
            yield r

    def documents(self, records: list[RemoteRecord] | None = None) -> Iterator[dict]:
        if records is not None:
            self._remote, self._groups = (tuple((m.name, m.last_success, m.records) for m in self.members.list()),
                                          list(records)), None
        self._sync_local()
        remote = self._remote_records()
        local = [r for _, r in self._local.values() if r is not None]
        for holdings in group(remote + local):
            here = [h for h in holdings if h.member == LOCAL]
            holdings = [h for h in holdings if h.member != LOCAL]
            if not holdings:
                continue
            first = holdings[0]
            key = hashlib.sha256(f"{first.member}\n{first.oai_id}".encode()).hexdigest()[:24]
            for doc in remote_documents(key, holdings):
                if here:  # those who see the local item find the work through it (contribute)
                    doc["hidden_from"] = sorted(set(doc["hidden_from"]) | _seen_by(here[0].visibility),
                                                key=CLEARANCES.index)
                yield doc

    def refresh(self, records: list[RemoteRecord] | None = None, *, reindex_local: bool = True,
                libraries: tuple = ()) -> int:
        """Index the union catalogue (of ``records``, default all stored) again, at once (one
        change of the index), and the local items in its groups (they list the holdings; also
        those naming one of ``libraries``, a member just removed); the document count."""
        if records is None:
            self._remote = None
        grouped_before = set(self._groups or {})
        docs = list(self.documents(records))
        if docs:
            self.search.index.replace(UNION, docs)
        else:
            self.search.index.delete(UNION)
        if reindex_local:
            archive = self.search.archive
            for item_id in sorted(grouped_before | set(self._local_groups()) | self._indexed_with_holdings(libraries)):
                if item_id in self._local:
                    self.search.item_changed(item_id, archive.load_item(item_id))
        return len(docs)

    def _indexed_with_holdings(self, libraries: tuple) -> set[str]:
        """Local items whose documents in the index name a member as holding library (an
        earlier group, perhaps found by another process)."""
        labels = tuple(m.label_zh for m in self.members.list()) + tuple(libraries)
        if not labels:
            return set()
        found = self.search.index.search(Bool(filter=(Term("type", "item"), Terms("library", labels)),
                                              must_not=(Term("item_id", UNION),)), limit=10_000)
        return {h.id.partition("@")[0] for h in found.hits}
