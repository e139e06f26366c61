"""The search box language, parsed into clauses, then turned into a backend-neutral query tree.

    无锡 茶馆                 both words (each may match any field; words written together,
                              like 无锡县志, need all their tokens and rank higher adjacent)
    惠山 OR 鼋头渚             either (also ``|``)
    "清名桥"  “南长街”          a phrase (ASCII or Chinese quotes)
    -工厂                     without
    title:家谱  creator:荣德生  place:惠山  subject:丝绸   one field (题名: 作者: 地点: 主题: too)
    date:光绪  date:民国二十五年  date:1930..1939  date:1936  date:1875/1908   a date range
    wuxi  rds                 Latin words also match the pinyin (full and initials) of names
                              and places

A bare reign title or era date (光绪, 民国二十五年) also matches items dated in it.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Callable

from repository.model import EDTF_RE, edtf_years

from . import analysis
from .errors import SearchError
from .index import Bool, Boost, MatchAll, Node, Phrase, Range, Term, Terms

FIELD_ALIASES = {"title": "title", "题名": "title", "标题": "title", "creator": "creator", "作者": "creator",
                 "人物": "creator", "place": "place", "地点": "place", "subject": "subject", "主题": "subject",
                 "date": "date", "日期": "date", "年代": "date"}
# Where a free word is looked for, and how much a match there counts.
WEIGHTS = {"title": 3.0, "creator": 2.5, "place": 2.0, "subject": 2.0, "identifier": 2.0,
           "description": 1.0, "pinyin": 2.0}
TEXT_WEIGHT = 1.0
PHRASE_BONUS = 1.5  # extra for the tokens of one word found adjacent
# An item linked to the authority record a word names (search.name_index): a constant that
# outweighs a passing mention's text score; linked by creator, place or subject more than by a
# confirmed mention in its text (the two add up).
ABOUT_WEIGHT, LINK_WEIGHT = 30.0, 15.0
MAX_EXPANDED_TOKENS = 8  # the words of one clause looked up in the authority file
MAX_EXPANDED_WORDS = 8  # the words of one query expanded to the records they name
_EXPANDED = (None, "creator", "place", "subject")
Expand = Callable[[str], "object | None"]  # a word → search.name_index.Expansion or None

_TOKEN = re.compile(r'(-?)(?:([^\s:："“”「」]+)[:：])?(?:"([^"]*)"?|“([^”]*)”?|「([^」]*)」?|([^\s"“”「」]+))')


class QueryError(SearchError, ValueError):
    """A query that cannot be understood, with what to change."""


@dataclass
class Clause:
    text: str
    field: str | None = None  # title, creator, place, subject, date; None: everywhere
    phrase: bool = False
    negated: bool = False


@dataclass
class Parsed:
    groups: list[list[Clause]] = field(default_factory=list)  # AND of ORs
    excluded: list[Clause] = field(default_factory=list)
    years: tuple[int, int] | None = None

    @property
    def empty(self) -> bool:
        return not self.groups

    def words(self) -> list[str]:
        """The folded tokens a hit is highlighted with."""
        out = []
        for group in self.groups:
            for c in group:
                if c.field != "date":
                    out += analysis.tokens(c.text, mode="query")
        return list(dict.fromkeys(out))


def parse(text: str) -> Parsed:
    parsed, pending_or = Parsed(), False
    for match in _TOKEN.finditer(text or ""):
        neg, name, *quoted, bare = match.groups()
        value = next((q for q in quoted if q is not None), bare)
        if bare in ("OR", "|") and not name and not neg:
            pending_or = bool(parsed.groups)
            continue
        fname = None
        if name:
            fname = FIELD_ALIASES.get(name.lower())
            if fname is None:  # not a field: take "a:b" as text
                value, fname = f"{name}:{value}", None
        if not value.strip():
            continue
        if fname == "date":
            if neg:
                raise QueryError(f"-date:{value}: a date cannot be excluded; give the dates to search instead")
            years = date_range(value)
            if years is None:
                raise QueryError(f"date:{value} is not a date: write a year (1936), a range (1930..1939), "
                                 f"an EDTF date (1875/1908) or a reign title (光绪, 民国二十五年)")
            parsed.years = years if parsed.years is None else (
                max(parsed.years[0], years[0]), min(parsed.years[1], years[1]))
            continue
        clause = Clause(value, fname, phrase=any(q is not None for q in quoted), negated=bool(neg))
        if clause.negated:
            parsed.excluded.append(clause)
        elif pending_or:
            parsed.groups[-1].append(clause)
        else:
            parsed.groups.append([clause])
        pending_or = False
    return parsed


def date_range(value: str) -> tuple[int, int] | None:
    value = value.strip()
    if m := re.fullmatch(r"(\d{1,4})\s*(?:\.\.|-|–|至|到)\s*(\d{1,4})", value):
        lo, hi = int(m[1]), int(m[2])
        return (lo, hi) if lo <= hi else None
    if EDTF_RE.match(value):
        return edtf_years(value)
    return analysis.era_years(value)


def build(parsed: Parsed, text_fields: tuple[str, ...], *, expand: Expand = lambda word: None) -> Node | None:
    """The scoring part of the query (None for an empty query); ``text_fields`` are the full
    text fields the user may search (see documents.field_for); ``expand`` gives the authority
    records a word names (search.name_index.NameIndex.expand)."""
    if parsed.empty and not parsed.excluded:
        return None
    expand = limited(expand)
    must = tuple(_any(group, text_fields, expand) for group in parsed.groups) or (MatchAll(),)
    must_not = tuple(_clause(c, text_fields) for c in parsed.excluded)
    return Bool(must=must, must_not=must_not)


def limited(expand: Expand) -> Expand:
    """``expand`` for at most ``MAX_EXPANDED_WORDS`` words of one query that name records (a query
    of hundreds of names costs no more than one of a few)."""
    left = [MAX_EXPANDED_WORDS]

    def once(word: str):
        found = expand(word) if left[0] > 0 else None
        left[0] -= found is not None
        return found
    return once


def _any(group: list[Clause], text_fields, expand) -> Node:
    nodes = [_clause(c, text_fields, expand) for c in group]
    return nodes[0] if len(nodes) == 1 else Bool(should=tuple(nodes))


def _fields(clause: Clause, tokens: list[str], text_fields) -> dict[str, float]:
    latin = all(t.isascii() for t in tokens)
    if clause.field:
        fields = {clause.field: WEIGHTS[clause.field]}
        if clause.field in ("creator", "place") and latin:
            fields["pinyin"] = WEIGHTS["pinyin"]
        return fields
    fields = {f: w for f, w in WEIGHTS.items() if f != "pinyin" or latin}
    return {**fields, **{f: TEXT_WEIGHT for f in text_fields}}


def _clause(clause: Clause, text_fields, expand: Expand = lambda word: None) -> Node:
    tokens = analysis.tokens(clause.text, mode="query")
    if not tokens:
        raise QueryError(f"“{clause.text}” has no words to search for")
    fields = _fields(clause, tokens, text_fields)
    # A phrase is matched as the index wrote it: index mode puts sub-words (读书 书声) before the
    # whole word (读书声), so the same text segmented the same way gives the same positions.
    indexed = analysis.tokens(clause.text, mode="index")
    names = expand(clause.text) if clause.field in _EXPANDED and len(tokens) <= MAX_EXPANDED_TOKENS else None
    if clause.phrase or len(tokens) == 1 or names:
        node = Bool(should=tuple(_weighted(_phrase(f, tokens if f == "pinyin" else indexed), w)
                                 for f, w in fields.items()) + _named(names, clause, fields))
    else:  # every token somewhere; adjacent in one field ranks higher
        node = Bool(must=tuple(Bool(should=tuple(_weighted(Term(f, t), w) for f, w in fields.items())
                                    + _named(expand(t) if len(t) > 1 else None, clause, fields))
                               for t in tokens[:MAX_EXPANDED_TOKENS]) + tuple(
                        Bool(should=tuple(_weighted(Term(f, t), w) for f, w in fields.items()))
                        for t in tokens[MAX_EXPANDED_TOKENS:]),
                    should=tuple(_weighted(Phrase(f, tuple(indexed)), w * PHRASE_BONUS)
                                 for f, w in fields.items() if f != "pinyin"))
    if clause.field is None and not clause.phrase:
        years = analysis.era_query(clause.text)
        if years:
            node = Bool(should=(node, Bool(filter=(dated_within(years),))))
    return node


def _named(names, clause: Clause, fields: dict[str, float]) -> tuple[Node, ...]:
    """What a word that names authority records adds (``names``: their Expansion): each of their
    names where the word is looked for, and the items linked to them (about them above those
    with only a confirmed mention), which rank above those merely naming them in their text."""
    if names is None:
        return ()
    own = analysis.fold(clause.text).replace(" ", "")
    out = []
    for name in names.names:
        if name == own:
            continue
        indexed = analysis.tokens(name, mode="index")
        if indexed:
            out += [_weighted(_phrase(f, indexed), w) for f, w in fields.items() if f != "pinyin"]
    if clause.field is None:  # a field's words find the names in that field only
        out += [Boost(Terms("authority_about", names.ids), ABOUT_WEIGHT), Boost(Terms("authority", names.ids), LINK_WEIGHT)]
    return tuple(out)


def _phrase(f: str, tokens: list[str]) -> Node:
    return Term(f, tokens[0]) if len(tokens) == 1 else Phrase(f, tuple(tokens))


def _weighted(node: Node, weight: float) -> Node:
    return node if weight == 1.0 else Boost(node, weight)


def dated_within(years: tuple[int, int]) -> Node:
    """Items whose date range overlaps ``years`` (undated items have year_start 0)."""
    lo, hi = years
    return Bool(filter=(Range("year_start", 1, hi), Range("year_end", lo, None)))
