"""The search service: keeps the index current and answers searches, the same on every backend.

Everything that decides *what* a user finds lives here, once: the documents (documents.py), the
query language (query.py), the access filter (built from repository/access.py's rule, inside
the query, so totals, facets and snippets never count what a user may not see), facets, sorting
and snippets (highlight.py). A backend (search/index.py) only stores and executes.
"""
from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from datetime import date
from typing import Callable, Iterable, Iterator

from markupsafe import Markup

from repository import access
from repository.access import User
from repository.model import Item

from . import analysis, highlight
from .documents import CLEARANCES, LEVELS, Contribution, Passage, field_for, item_documents, item_passages, with_facets
from .index import Bool, Facet, MatchAll, Node, Range, SearchIndex, Sort, Term, Terms
from .name_index import NameIndex
from .names import NameSource, NoNames
from .query import Parsed, QueryError, build, dated_within, limited, parse

# facet name (also the URL parameter) → index field
FACETS = {"kind": "kind", "collection": "collection", "decade": "decade", "era": "era",
          "place": "place_name", "person": "person", "interviewee": "interviewee", "subject": "subject_name",
          "language": "language",
          "library": "library", "rights": "rights", "format": "format", "visibility": "visibility"}
# Facets of staff-only facts (contributed at level "staff"): neither counted nor filtered for other users.
STAFF_FACETS = {"format": "staff", "visibility": "alliance"}  # visibility: the staff item list's filter
SORTS = {"relevance": Sort(), "date": Sort("date_sort"), "-date": Sort("date_newest"),
         "title": Sort("title_sort")}
MAX_PER_PAGE = 100
MAX_RESULTS = 10_000  # deepest hit a page may start at
PASSAGES_PER_HIT = 3
STORED_PAGE = 1000  # documents read at a time when new authority names are looked for in stored texts
log = logging.getLogger(__name__)


@dataclass
class Hit:
    item_id: str
    score: float
    title: dict
    kind: str
    date: dict
    thumbnail: str | None  # file id, only when the user may see it
    highlights: dict[str, Markup] = field(default_factory=dict)  # title, description, creator …
    passages: list[dict] = field(default_factory=list)  # {snippet, page, chapter, time, file_id}
    # A remote record (the alliance's union catalogue): every member holding the work that the
    # user may see, {member, library {zh, en}, title, link, manifest, thumbnail, oai_id}
    holdings: list[dict] = field(default_factory=list)
    image: dict | None = None  # the thumbnail's page image {file (a pyramid), width, height}, when the user may see it

    @property
    def remote(self) -> bool:
        """A work found through the union catalogue only (a local item in a group lists its
        holdings, this library's first)."""
        return bool(self.holdings) and not self.holdings[0].get("local")


@dataclass
class Results:
    query: str
    total: int
    page: int
    per_page: int
    sort: str
    hits: list[Hit]
    facets: dict[str, list[tuple[str, int]]]
    filters: dict[str, list[str]]
    years: tuple[int, int] | None = None

    @property
    def pages(self) -> int:
        return max(1, -(-min(self.total, MAX_RESULTS) // self.per_page))


Contributor = Callable[..., Contribution]  # (archive, item) → what a feature adds to the item's documents


class Search:
    """Indexes items of an Archive into a SearchIndex and searches them for a user. Features add
    to an item's documents through ``contributors`` (oral history: an interview's passages and
    facets), registered where the search is built. ``sources`` give the documents kept outside the
    archive (the alliance's union catalogue), indexed again on rebuild; ``library`` is this
    library's name, the holding library of local items that name none."""

    def __init__(self, index: SearchIndex, archive, *, contributors: tuple[Contributor, ...] = (),
                 sources: tuple[Callable[[], Iterable[dict]], ...] = (), library: str = "",
                 today: Callable[[], date] = date.today, names: NameSource | None = None):
        self.index, self.archive, self.contributors, self.today = index, archive, tuple(contributors), today
        self.sources, self.library = list(sources), library
        self.names = NameIndex(names or NoNames())
        self._unchecked: list[str] = []  # new dictionary words whose items are not re-indexed yet

    # --- the authority file's names -------------------------------------------------------------

    def refresh_names(self, *, force: bool = False, reindex: bool = True) -> list[str]:
        """Take the authority file's names again when its stamp changed (search.name_index): new
        names of three or more characters join the dictionary, and the items whose text has one
        of them are indexed again, so the name is one token there too. Those items are found by
        reading the texts the index stores (titles, descriptions, pages, cues): a name in a text
        indexed before may have been cut into other tokens (过探先字 → 过探 先字), which no query of
        tokens finds. Items linked by id need no re-indexing: their documents hold the ids, and
        queries carry every name of a record. A process's first reading only fills its
        dictionary: the index was made with the names by whichever process wrote it (each makes
        documents after reading them); an index made before the authority file: `fangzhi rebuild`.
        ``reindex=False`` (while documents are being made: a rebuild) leaves the re-indexing to
        the next call that allows it (the next search)."""
        first = not self.names.read
        added = self.names.refresh(force=force) or []
        if not first and self.archive is not None:
            self._unchecked += added
        analysis.add_words(added)
        if reindex and self._unchecked:
            words, self._unchecked = self._unchecked, []
            for item_id in sorted(self._items_with(words)):
                self.item_changed(item_id, self.archive.load_item(item_id))
        return added

    def _items_with(self, words: list[str]) -> set[str]:
        """The ids of the local items whose stored text has one of ``words`` (folded)."""
        pattern = re.compile("|".join(map(re.escape, sorted(words, key=len, reverse=True))))
        found, offset = set(), 0
        query = Bool(filter=(Terms("type", ("item", "passage")),))
        while True:
            page = self.index.search(query, offset=offset, limit=STORED_PAGE).hits
            for hit in page:
                item_id = hit.id.partition("#")[0].partition("@")[0]
                text = hit.source.get("text") or "\n".join(map(str, (hit.source.get("fields") or {}).values()))
                if item_id not in found and not hit.id.startswith("remote:") and pattern.search(analysis.fold(text)):
                    found.add(item_id)
            if len(page) < STORED_PAGE:
                return found
            offset += STORED_PAGE
            if offset >= MAX_RESULTS:  # the deepest page an engine gives (Elasticsearch: 10 000)
                log.warning("new authority names: documents past the first %d not read again; "
                            "run `fangzhi rebuild` so that their texts find the names", MAX_RESULTS)
                return found

    def passages(self, item: Item) -> tuple[list[Passage], list[Contribution]]:
        """The item's full text (its files' and what contributors add) and the contributions."""
        added = [c for contribute in self.contributors for c in _contributions(contribute(self.archive, item))]
        return item_passages(item, self.archive.file_reader(item.id)) + [p for c in added for p in c.passages], added

    def documents(self, item: Item) -> list[dict]:
        self.refresh_names(reindex=False)
        passages, added = self.passages(item)
        docs = item_documents(item, passages, ancestors=self.archive.collection_ancestors, thumbnail=_thumbnail(item),
                              library=self.library)
        return with_facets(docs, added)

    def item_changed(self, item_id: str, item: Item | None) -> None:
        """An Archive listener: re-index one item after its new version is committed."""
        if item is None:
            self.index.delete(item_id)
        else:
            self.index.replace(item_id, self.documents(item))

    def rebuild(self, progress: Callable[[int, int], None] = lambda done, total: None) -> int:
        """Re-index every item from storage alone (searches keep working meanwhile)."""
        ids = self.archive.item_ids()
        last = self.archive.catalog.events(limit=1)

        def all_documents() -> Iterator[dict]:
            for n, item_id in enumerate(ids, 1):
                yield from self.documents(self.archive.load_item(item_id))
                progress(n, len(ids))
            for source in self.sources:
                yield from source()
        self.index.rebuild(all_documents())
        # Changes committed meanwhile may have gone to the index being replaced (Elasticsearch
        # swaps an alias at the end): index those items again.
        since = last[0]["at"] if last else ""  # whole seconds: take that second again
        changed = {e["object_id"].split(":", 1)[1] for e in self.archive.catalog.events(limit=10_000)
                   if e["object_id"].startswith("item:") and e["at"] >= since}
        present = set(self.archive.item_ids()) if changed else set()
        for item_id in sorted(changed):
            self.item_changed(item_id, self.archive.load_item(item_id) if item_id in present else None)
        return len(ids)

    # --- searching ------------------------------------------------------------------------------

    def search(self, text: str = "", *, user: User, filters: dict[str, list[str]] | None = None,
               years: tuple[int, int] | None = None, sort: str | None = None, page: int = 1,
               per_page: int = 20, facet_size: int = 20, facets: list[str] | None = None) -> Results:
        """``facets``: the facet names to count (default all). Raises QueryError for a query that
        cannot be understood (it says what to change)."""
        parsed = parse(text)
        self.refresh_names()
        cleared = CLEARANCES.index(clearance(user))
        offered = {name: f for name, f in FACETS.items()
                   if name not in STAFF_FACETS or cleared >= CLEARANCES.index(STAFF_FACETS[name])}
        filters = {k: [v for v in vs if v] for k, vs in (filters or {}).items() if k in offered}
        filters = {k: vs for k, vs in filters.items() if vs}
        sort = sort if sort in SORTS else ("relevance" if not parsed.empty else "date")
        per_page = max(1, min(per_page, MAX_PER_PAGE))
        page = max(1, page)
        if (page - 1) * per_page >= MAX_RESULTS:
            raise QueryError(f"results are shown up to number {MAX_RESULTS}: narrow the search")
        years = _intersect(parsed.years, years)
        scoring = build(parsed, self._text_fields(user), expand=self.names.expand) or MatchAll()
        limits = [Term("type", "item"), self.access_filter(user)]
        limits += [Terms(FACETS[name], tuple(values)) for name, values in filters.items()]
        if years:
            limits.append(dated_within(years))
        found = self.index.search(Bool(must=(scoring,), filter=tuple(limits)),
                                  facets={name: Facet(f, facet_size) for name, f in offered.items()
                                          if facets is None or name in facets},
                                  sort=SORTS[sort], offset=(page - 1) * per_page, limit=per_page)
        words = self._words(parsed)
        hits = [self._hit(h, user, words) for h in found.hits]
        if hits and not parsed.empty:
            self._add_passages(hits, parsed, user)
        return Results(text, found.total, page, per_page, sort, hits, found.facets, filters, years)

    def suggest(self, prefix: str, *, user: User, limit: int = 10) -> list[str]:
        """Titles, names, places and subjects starting with ``prefix``, among what the user may see."""
        prefix = analysis.fold(prefix).strip()
        if not prefix:
            return []
        query = Bool(filter=(Term("type", "item"), self.access_filter(user)))
        return [value for value, _ in self.index.suggest("suggest", prefix, query=query, limit=limit)]

    def access_filter(self, user: User) -> Node:
        """repository/access.py's rule as a query: the visibility levels the user's roles grant,
        an embargo that has lifted by today, withdrawn items only for those who manage them."""
        levels = tuple(sorted(access.visible_levels(user)))
        today = int(self.today().strftime("%Y%m%d"))
        lifted = Bool(filter=(Term("visibility", "embargoed"), Range("embargo_until", 1, today)))
        visible = Bool(should=(Terms("visibility", levels), lifted))
        hidden = (Term("hidden_from", clearance(user)),)  # the item's one document for this user (with_facets)
        if access.can_manage(user):
            return Bool(filter=(visible,), must_not=hidden)
        return Bool(filter=(visible,), must_not=(Range("withdrawn", 1, None), *hidden))

    def _text_fields(self, user: User, *, passage: bool = False) -> tuple[str, ...]:
        levels = access.visible_levels(user)
        return tuple(field_for(level, passage=passage) for level in (None, *LEVELS) if level is None or level in levels)

    def _hit(self, found, user: User, words: list[str]) -> Hit:
        source = found.source
        thumb = source.get("thumbnail") or {}
        allowed = access.visible_levels(user)
        marks = {}
        for name, text in (source.get("fields") or {}).items():
            marked = highlight.mark(text, words) if name != "description" else highlight.snippet(text, words)
            if marked and "<mark>" in marked:
                marks[name] = marked
        image = thumb.get("image") or {}
        return Hit(found.id.partition("@")[0], found.score, source["title"], source["kind"], source.get("date") or {},
                   thumb.get("file") if set(thumb.get("levels", [])) <= allowed else None, marks,
                   holdings=source.get("holdings") or [],
                   image=image if image and set(image.get("levels", [])) <= allowed else None)

    def _words(self, parsed: Parsed) -> list[str]:
        """The folded tokens hits are highlighted with: the query's, and the names of the
        authority records its words name (so a passage naming 乐农 shows for 荣德生)."""
        words, expand = parsed.words(), limited(self.names.expand)
        for group in parsed.groups:
            for c in group:
                found = expand(c.text) if c.field != "date" else None
                words += [t for name in (found.names if found else ()) for t in analysis.tokens(name, mode="query")]
        return list(dict.fromkeys(words))

    def _add_passages(self, hits: list[Hit], parsed: Parsed, user: User) -> None:
        words = self._words(parsed)
        fields = self._text_fields(user, passage=True)
        if not words:
            return
        matching = Bool(should=tuple(Term(f, w) for f in fields for w in words))
        by_id = {h.item_id: h for h in hits}
        query = Bool(must=(matching,), filter=(Term("type", "passage"), Terms("item_id", tuple(by_id)),
                                               self.access_filter(user)))
        found = self.index.search(query, limit=len(hits) * PASSAGES_PER_HIT * 4)
        for p in found.hits:
            hit = by_id[p.id.split("#")[0]]
            if len(hit.passages) >= PASSAGES_PER_HIT:
                continue
            snippet = highlight.snippet(p.source["text"], words)
            if snippet:
                hit.passages.append({"snippet": snippet, **{k: p.source.get(k) for k in
                                                            ("file_id", "page", "chapter", "time", "end")}})


def _contributions(answer) -> list[Contribution]:
    """A contributor's answer: a Contribution, or a list of them (at different levels)."""
    return list(answer) if isinstance(answer, (list, tuple)) else [answer]


def clearance(user: User) -> str:
    """The strictest of the file levels (search.documents.LEVELS) up to which the user sees all
    ("public": none of them)."""
    levels = access.visible_levels(user)
    cleared = "public"
    for level in LEVELS:
        if level not in levels:
            break
        cleared = level
    return cleared


def _thumbnail(item: Item) -> dict | None:
    """The first thumbnail, with its original's first pyramid (the IIIF image a hit's ``srcset``
    comes from), each with the levels that may see it."""
    for original in item.originals:
        for f in item.derivatives(original.id, "thumbnail"):
            pyramid = next(iter(item.derivatives(original.id, "pyramid")), None)
            image = pyramid and {"file": pyramid.id, "width": pyramid.tech.get("width") or 0,
                                 "height": pyramid.tech.get("height") or 0,
                                 "levels": [lv for lv in access.file_levels(item, pyramid) if lv]}
            return {"file": f.id, "levels": [lv for lv in access.file_levels(item, f) if lv], "image": image}
    return None


def _intersect(a: tuple[int, int] | None, b: tuple[int, int] | None) -> tuple[int, int] | None:
    if not a or not b:
        return a or b
    return max(a[0], b[0]), min(a[1], b[1])

