"""The union catalogue: every member's harvested records, grouped into works, in the search index.

Built from the raw records in storage alone (storage.harvested), so ``fangzhi rebuild`` makes it
again. A work held by several members (a duplicate group) is one search document listing every
holding. Records join a group when they share an identifier (ISBN, ISSN, DOI, or the same call
number) or have the same title, creator and date after folding; records whose standard
identifiers (ISBN, ISSN, DOI) disagree are never merged, not even through a third record.
Call numbers are local to a library: equal ones join, different ones do not keep records apart.
"""
from __future__ import annotations

import hashlib
import logging
import re
from collections import defaultdict
from typing import Iterator

from search import analysis
from search.documents import UNION, RemoteRecord, remote_documents
from storage.harvested import HarvestStore

from .records import BadResponse, parse_xml, read_record

log = logging.getLogger("fangzhi.alliance")
DECISIVE = ("isbn", "issn", "doi")  # identifiers of a work's edition, not of one library's copy


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

    def root(n: int) -> int:
        while parent[n] != n:
            parent[n] = parent[parent[n]]
            n = parent[n]
        return n

    def join(a: int, b: int) -> None:
        a, b = root(a), root(b)
        if a == b or any(ids[a][s] and ids[b][s] and not ids[a][s] & ids[b][s] for s in DECISIVE):
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


class UnionCatalogue:
    """The harvested records of the registered members, as search documents."""

    def __init__(self, store: HarvestStore, members, search):
        self.store, self.members, self.search = store, members, search

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
        for holdings in group(list(self.records()) if records is None else records):
            first = holdings[0]
            key = hashlib.sha256(f"{first.member}\n{first.oai_id}".encode()).hexdigest()[:24]
            yield from remote_documents(key, holdings)

    def refresh(self, records: list[RemoteRecord] | None = None) -> int:
        """Index the union catalogue (of ``records``, default all stored) again, at once (one
        change of the index); the document count."""
        docs = list(self.documents(records))
        if docs:
            self.search.index.replace(UNION, docs)
        else:
            self.search.index.delete(UNION)
        return len(docs)
