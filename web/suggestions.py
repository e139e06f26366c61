"""What the search page offers when a search finds nothing (or nothing was asked): the query in the
other script (简/繁), its pinyin reading, broader queries (a word dropped), and the most used facet
values — each only when it finds something for this reader, with how many it finds."""
from __future__ import annotations

from dataclasses import dataclass, field

from search.analysis import pinyin, tokens
from search.query import QueryError

from .context import current_user, search
from .display import _convert

BROWSE_FACETS = ("kind", "collection", "place", "subject")  # offered as ways in
MAX_QUERIES = 6  # searches tried per page (each a cheap count)


@dataclass
class Suggestions:
    queries: list[tuple[str, str, int]] = field(default_factory=list)  # (why, query, count)
    facets: dict[str, list[tuple[str, int]]] = field(default_factory=dict)  # name → [(value, count)]


def candidates(q: str) -> list[tuple[str, str]]:
    out = []
    for config in ("t2s", "s2t"):
        other = _convert(q, config)
        if other != q:
            out.append(("script", other))
    if any("\u3400" <= ch <= "\u9fff" for ch in q):
        words = [w for w in q.split() if w]
        reading = " ".join(p[0] for p in map(pinyin, words) if p)
        if reading and reading != q:
            out.append(("pinyin", reading))
    words = q.split() if len(q.split()) > 1 else [t for t in tokens(q) if t.strip()]
    if len(words) > 1:
        for n in range(len(words)):
            out.append(("broader", " ".join(words[:n] + words[n + 1:])))
    return list(dict.fromkeys(out))


def suggestions(q: str) -> Suggestions:
    """Suggestions for the query ``q`` that found nothing (or for an empty search)."""
    user, found = current_user(), Suggestions()
    q = q.strip()
    for why, query in candidates(q)[:MAX_QUERIES]:
        try:
            total = search().search(query, user=user, per_page=1, facets=[]).total
        except QueryError:  # a candidate the query parser refuses is simply not offered
            continue
        if total:
            found.queries.append((why, query, total))
    every = search().search("", user=user, per_page=1, facets=list(BROWSE_FACETS), facet_size=5)
    found.facets = {name: values for name, values in every.facets.items() if values}
    return found
