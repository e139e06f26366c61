"""The ``SearchIndex`` protocol every backend implements, the fields it holds, and the small
backend-neutral query tree it executes.

The search service (``search/service.py``) builds documents and queries: analysis, the access
filter, query parsing, facets and highlighting are decided there once, so the embedded index
(``search/tantivy_index.py``) and Elasticsearch (``search/elasticsearch_index.py``) only store
documents and execute a ``Node`` tree. Both score with BM25 (k1 1.2, b 0.75) over the same
pre-segmented tokens, so they return the same hits in the same order (a contract test checks it).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable, Protocol, Union

from .errors import SearchError

# --- the fields ------------------------------------------------------------------------------

# Text fields hold space-separated tokens made by search/analysis.py; engines split them on
# whitespace only (positions kept, for phrases). Every document has every text field.
TEXT_FIELDS = (
    "title", "creator", "place", "subject", "description", "identifier", "pinyin",
    "text",            # full text readable by whoever may see the document
    "text_alliance",   # full text of files restricted to alliance members
    "text_staff",      # … to staff
    "text_private",    # … to administrators
    # A passage's text (a page, a cue) in its document, by the same levels: apart from the items'
    # full text, so an item query reads the items' posting lists only (bench/search.py).
    "passage", "passage_alliance", "passage_staff", "passage_private",
)
# Exact-value fields, multi-valued, used for filters and facet counts.
KEYWORD_FIELDS = (
    "id", "type", "item_id", "file_id", "kind", "collection", "decade", "era", "place_name",
    "person", "language", "library", "rights", "subject_name", "visibility", "file_access",
    "interviewee",  # oral history: who was interviewed
    "format",  # PRONOM PUIDs of the originals (staff-only: ingest.pronom.format_search)
    "hidden_from",  # clearances (search.documents.CLEARANCES) an item's document is not for
    "suggest",  # folded titles, names, places and subjects, for autocompletion
    "authority",  # ids of the authority records an item is linked to, confirmed mentions too
    "authority_about",  # … its creators', contributors', places' and subjects' records only
)
# Whole numbers, single-valued (0 when absent).
INTEGER_FIELDS = (
    "year_start", "year_end", "embargo_until",  # embargo as yyyymmdd
    "withdrawn", "page", "time_ms",
    "date_sort", "date_newest",  # oldest first: first year; newest first: minus the last year; undated: 99999
)
# "source" (stored, not indexed): the JSON dict the service shows with a hit.


def field_kind(name: str, *allowed: str) -> str:
    """``"text"``, ``"keyword"``, ``"integer"`` or ``"sort"`` (title_sort); ValueError for any
    other name, or for a kind not in ``allowed`` when that is given."""
    kind = next((kind for kind, names in (("text", TEXT_FIELDS), ("keyword", KEYWORD_FIELDS),
                                          ("integer", INTEGER_FIELDS), ("sort", ("title_sort",)))
                 if name in names), None)
    if kind is None or (allowed and kind not in allowed):
        raise ValueError(f"{name!r} is not a search field" + (f" of kind {' or '.join(allowed)}" if allowed else ""))
    return kind


def document_fields(document: dict) -> dict:
    """A document as every backend indexes it: each text field (tokens), keyword fields as lists
    of non-empty strings, integers (0 when absent), ``title_sort`` ("" when absent), ``source``."""
    missing = [name for name in TEXT_FIELDS if not document.get(name)]
    if missing or not document.get("id"):
        raise ValueError(f"search document {document.get('id')!r} lacks {missing or 'an id'}")
    fields = {name: document[name] for name in TEXT_FIELDS}
    for name in KEYWORD_FIELDS:
        value = document.get(name) or []
        fields[name] = [v for v in ([value] if isinstance(value, str) else value) if v]
    fields.update({name: int(document.get(name) or 0) for name in INTEGER_FIELDS})
    fields["title_sort"] = document.get("title_sort") or ""
    fields["source"] = document.get("source") or {}
    return fields


# --- the query tree ----------------------------------------------------------------------------

@dataclass(frozen=True)
class Term:
    """The exact token (text field: BM25) or value (keyword field: constant score 1) in ``field``."""
    field: str
    value: str


@dataclass(frozen=True)
class Terms:
    """Any of ``values`` in a keyword field (scoring like a filter: constant)."""
    field: str
    values: tuple[str, ...]


@dataclass(frozen=True)
class Phrase:
    """The tokens in this order, adjacent, in a text field."""
    field: str
    tokens: tuple[str, ...]


@dataclass(frozen=True)
class Range:
    """An integer field between ``lo`` and ``hi`` inclusive (None: open); constant score 1."""
    field: str
    lo: int | None = None
    hi: int | None = None


@dataclass(frozen=True)
class Prefix:
    """A keyword field value, or a token of a text field, starting with ``value``; constant score 1."""
    field: str
    value: str


@dataclass(frozen=True)
class MatchAll:
    """Every document, score 1."""


@dataclass(frozen=True)
class Bool:
    """Lucene/Elasticsearch bool semantics: every ``must`` and ``filter`` clause matches, no
    ``must_not`` clause matches; with no ``must``, at least one ``should`` matches (if any).
    Scores add up over matching ``must`` and ``should`` clauses; ``filter`` does not score (a Bool
    of only ``filter``/``must_not`` clauses scores 0). A Bool with no clause at all is MatchAll."""
    must: tuple["Node", ...] = ()
    should: tuple["Node", ...] = ()
    must_not: tuple["Node", ...] = ()
    filter: tuple["Node", ...] = ()


@dataclass(frozen=True)
class Boost:
    query: "Node"
    factor: float


Node = Union[Term, Terms, Phrase, Range, Prefix, MatchAll, Bool, Boost]


# --- requests and answers ----------------------------------------------------------------------

@dataclass(frozen=True)
class Facet:
    field: str       # a keyword field
    size: int = 20   # the most frequent values, by count then value


@dataclass(frozen=True)
class Sort:
    field: str | None = None  # None: relevance (score)
    descending: bool = False  # for a field; relevance is always best first
    # Ties always break by document id ascending, on every backend. Fields: title_sort or an
    # integer field; hits sorted by a field have score 0.


@dataclass
class Hit:
    id: str
    score: float
    source: dict


@dataclass
class Hits:
    total: int
    hits: list[Hit] = field(default_factory=list)
    facets: dict[str, list[tuple[str, int]]] = field(default_factory=dict)


class SearchIndexError(SearchError):
    """The index cannot be used (unreachable server, corrupt directory…); names the backend."""


class SearchIndex(Protocol):
    def replace(self, item_id: str, documents: list[dict]) -> None:
        """Make ``documents`` (an item's document and its passages) the only documents with this
        ``item_id``, visible to searches when this returns."""

    def delete(self, item_id: str) -> None:
        """Remove every document with this ``item_id``."""

    def rebuild(self, documents: Iterable[dict]) -> int:
        """Replace the whole index by ``documents``; searches see the old index until the new
        one is complete (Elasticsearch: a new index and an alias swap). Returns the count."""

    def search(self, query: Node, *, facets: dict[str, Facet] | None = None, sort: Sort = Sort(),
               offset: int = 0, limit: int = 10) -> Hits:
        """Documents matching ``query``: ``total`` (exact), the page ``[offset, offset+limit)``
        ordered by ``sort`` then id, and facet counts over all matching documents."""

    def suggest(self, field: str, prefix: str, *, query: Node, limit: int = 10) -> list[tuple[str, int]]:
        """Values of keyword ``field`` starting with ``prefix`` among documents matching
        ``query`` (the access filter), most frequent first, then by value."""

    def count(self) -> int:
        """How many documents the index holds."""

    def close(self) -> None: ...
