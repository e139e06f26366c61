"""Index documents: one per item (its metadata and full text) and one per passage (an OCR'd
page, an e-book chapter, a transcript cue) so a hit can point to the exact page or moment.

Text restricted beyond its item (a staff-only page) goes into ``text_staff`` (and so on): the
service only queries the text fields a user's levels allow, so such words can neither match nor
show in a snippet for anyone else. Every text field starts with the token ``_`` so that each
engine counts every document in every field (equal BM25 statistics on every backend).
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Callable, Iterable

from repository.model import File, Item, best, edtf_years

from . import analysis
from .index import TEXT_FIELDS

LEVELS = ("alliance", "staff", "private")  # restrictions beyond the item, least to most strict
CLEARANCES = ("public", *LEVELS)  # up to which level a user sees files restricted beyond their item
DYNASTIES = {"明": (1368, 1644), "清": (1644, 1911), "民国": (1912, 1949), "中华人民共和国": (1949, 9999)}
MAX_DECADES = 12  # a wider date range is not counted in every decade it spans
MAX_REIGNS = 3   # … nor in every reign title


@dataclass
class Passage:
    """A piece of an item's full text with where it is: page, chapter or time (seconds)."""
    text: str
    file_id: str | None = None
    page: int | None = None
    chapter: str | None = None
    time: float | None = None
    end: float | None = None
    access: str | None = None  # the strictest restriction of the file(s) it comes from


@dataclass
class Contribution:
    """What a feature adds to an item's documents (the answer of a ``Search`` contributor, e.g.
    oral history's interview): passages, and facet values read from a file at ``level`` (the
    strictest restriction beyond the item; None: as visible as the item)."""
    passages: list[Passage] = field(default_factory=list)
    facets: dict[str, list[str]] = field(default_factory=dict)
    level: str | None = None
    holdings: list[dict] = field(default_factory=list)  # the work's holdings in the alliance (alliance.union)


def strictest(*levels: str | None) -> str | None:
    ranked = [lvl for lvl in levels if lvl]
    return max(ranked, key=LEVELS.index) if ranked else None


def field_for(access: str | None, *, passage: bool = False) -> str:
    """The text field of an item's full text (a passage's own text: ``passage``) at ``access``."""
    name = "passage" if passage else "text"
    return f"{name}_{access}" if access else name


PASSAGE_FIELDS = tuple(field_for(level, passage=True) for level in (None, *LEVELS))


def _tokens(*texts: str) -> str:
    return " ".join(["_", *(analysis.analyze(t) for t in texts if t)])


def _names(agents) -> list[str]:
    return [n for a in agents for n in [*a.name.values(), *(al.name for al in a.aliases)]]


def _years(item: Item) -> tuple[int, int] | None:
    if item.date.get("edtf"):
        return edtf_years(item.date["edtf"])
    if item.date.get("display"):
        return analysis.era_years(item.date["display"])
    return None


def eras(years: tuple[int, int] | None) -> list[str]:
    """Dynasties and (for short spans) reign titles a date range falls in."""
    if not years:
        return []
    lo, hi = years
    names = [name for name, (a, b) in DYNASTIES.items() if a <= hi and b >= lo]
    reigns = [name for name, (a, b) in analysis.REIGN_ERAS.items()
              if a <= hi and b >= lo and name not in names]
    return names + (reigns if len(reigns) <= MAX_REIGNS else [])


def decades(years: tuple[int, int] | None) -> list[str]:
    if not years:
        return []
    first, last = years[0] // 10 * 10, years[1] // 10 * 10
    if (last - first) // 10 >= MAX_DECADES:
        return []
    return [str(d) for d in range(first, last + 1, 10)]


def authority_links(item: Item) -> dict[str, list[str]]:
    """The authority records an item is linked to (search/names.py): ``authority_about`` — its
    creators', contributors' and places' records and what it is about; ``authority`` — those
    and the confirmed mentions in its text."""
    about = [a.id for a in [*item.creators, *item.contributors] if a.id]
    about += [p.id for p in item.places if p.id] + list(item.about)
    about = list(dict.fromkeys(about))
    return {"authority_about": about,
            "authority": list(dict.fromkeys([*about, *(m["id"] for m in item.mentions)]))}


def _yyyymmdd(iso: str | None) -> int:
    return int(iso.replace("-", "")) if iso else 0


def item_documents(item: Item, passages: Iterable[Passage], *,
                   ancestors: Callable[[str], list[str]] = lambda cid: [],
                   thumbnail: dict | None = None, library: str = "") -> list[dict]:
    """The item's document followed by one document per passage (``library``: the holding
    library when the item names none)."""
    passages = [p for p in passages if p.text.strip()]
    years = _years(item)
    people = _names(item.creators) + _names(item.contributors)
    places = [n for p in item.places for n in [*p.name.values(), *p.aliases]]
    access_fields = {
        "visibility": item.visibility, "embargo_until": _yyyymmdd(item.embargo_until),
        "withdrawn": 1 if item.withdrawn else 0, "item_id": item.id,
    }
    texts = {field_for(level): [] for level in (None, *LEVELS)}
    for p in passages:
        texts[field_for(p.access)].append(p.text)
    title = best(item.title)
    raw = {"title": title, "description": best(item.description),
           "creator": "、".join(best(a.name) for a in [*item.creators, *item.contributors]),
           "place": "、".join(best(p.name) for p in item.places), "subject": "、".join(item.subjects)}
    doc = {
        **access_fields, "id": item.id, "type": "item",
        "title": _tokens(*item.title.values()),
        "creator": _tokens(*people),
        "place": _tokens(*places),
        "subject": _tokens(*item.subjects),
        "description": _tokens(*item.description.values()),
        "identifier": _tokens(*item.identifiers),
        "pinyin": " ".join(["_", *analysis.pinyin_tokens(people + places)]),
        **{name: _tokens(*parts) for name, parts in texts.items()}, **dict.fromkeys(PASSAGE_FIELDS, "_"),
        "kind": item.kind,
        "collection": list(dict.fromkeys(c for cid in item.collections for c in [cid, *ancestors(cid)])),
        "decade": decades(years), "era": eras(years),
        "place_name": [best(p.name) for p in item.places],
        **authority_links(item),
        "person": [best(a.name) for a in [*item.creators, *item.contributors]],
        "subject_name": list(item.subjects),
        "language": list(item.language), "library": item.holding_library or library, "rights": item.rights or "",
        "year_start": years[0] if years else 0, "year_end": years[1] if years else 0,
        "date_sort": years[0] if years else 99999, "date_newest": -years[1] if years else 99999,
        "title_sort": f"{(analysis.pinyin(title) or [''])[0]} {item.id}",
        "suggest": list(dict.fromkeys(analysis.fold(s) for s in
                                      [title, *people, *places, *item.subjects] if s)),
        "source": {"title": item.title, "kind": item.kind, "date": item.date, "fields": raw,
                   "thumbnail": thumbnail},
    }
    docs = [doc]
    for n, p in enumerate(passages, 1):
        docs.append({
            **access_fields, "id": f"{item.id}#{n}", "type": "passage", "file_id": p.file_id or "",
            **{name: "_" for name in TEXT_FIELDS}, field_for(p.access, passage=True): _tokens(p.text),
            "page": p.page or 0, "time_ms": round(p.time * 1000) if p.time is not None else 0,
            "source": {"text": p.text, "file_id": p.file_id, "page": p.page, "chapter": p.chapter,
                       "time": p.time, "end": p.end},
        })
    return docs


def with_facets(docs: list[dict], contributions: list[Contribution]) -> list[dict]:
    """``docs`` (``item_documents``) with the facet values of ``contributions`` added to the item's
    document. Values restricted beyond the item go into another item document, ``<id>@<level>``,
    for the users cleared for that level (and each stricter level another, when contributions
    differ); the first, without them, is for everyone else (``hidden_from``: the clearances it is
    not for): every user finds one document per item, so no facet, filter or count reveals the
    values to those who may not read them."""
    item = docs[0]
    variants: list[tuple[dict, list[str]]] = []  # (document, the clearances it is for), least cleared first
    for clearance in CLEARANCES:
        doc = dict(item)
        for c in contributions:
            if c.level is None or CLEARANCES.index(c.level) <= CLEARANCES.index(clearance):
                doc.update({name: list(dict.fromkeys([*_listed(doc.get(name)), *values]))
                            for name, values in c.facets.items()})
                if c.holdings:
                    doc["source"] = {**doc["source"], "holdings": [*doc["source"].get("holdings", []), *c.holdings]}
        if variants and variants[-1][0] == doc:
            variants[-1][1].append(clearance)
        else:
            variants.append((doc, [clearance]))
    if len(variants) == 1:
        return [variants[0][0], *docs[1:]]
    out = [dict(doc, hidden_from=[c for c in CLEARANCES if c not in cleared]) for doc, cleared in variants]
    for doc, (_, cleared) in zip(out[1:], variants[1:]):
        doc["id"] = f"{item['id']}@{cleared[0]}"
    return [*out, *docs[1:]]


def _listed(value) -> list:
    return value if isinstance(value, list) else [value] if value else []


def item_passages(item: Item, read: Callable[[File], bytes]) -> list[Passage]:
    """The full text of an item's files, read from its derivatives (``read(file)`` → bytes):
    OCR pages, PDF pages, EPUB chapters, else a plain text file, in page order."""
    passages = []
    for original in item.originals:
        made = item.derivatives(original.id)
        ocr = [f for f in made if f.purpose == "ocr"]
        structured = [f for f in made if f.purpose == "text" and f.media_type == "application/json"]
        plain = [f for f in made if f.purpose == "text" and f.media_type == "text/plain"]
        for f in ocr or structured or plain[:1]:
            access = strictest(original.access, f.access)
            data = read(f)
            if f in ocr:
                passages.append(Passage(json.loads(data).get("text", ""), original.id,
                                        page=f.sequence or original.sequence, access=access))
            elif f in structured:
                for part in json.loads(data):
                    passages.append(Passage(part.get("text", ""), original.id, page=part.get("page"),
                                            chapter=part.get("title"), access=access))
            else:
                passages.append(Passage(data.decode("utf-8", "replace"), original.id,
                                        page=original.sequence, access=access))
    return passages


# --- remote records: the alliance's union catalogue -------------------------------------------

UNION = "alliance:union"  # the item_id all remote documents share: the union catalogue is replaced at once


@dataclass
class RemoteRecord:
    """A record harvested from an alliance member (alliance.records reads it from OAI-PMH)."""
    member: str
    oai_id: str
    visibility: str  # "public": the member shows it to anyone; "alliance": only to member libraries
    datestamp: str = ""
    title: list[str] = field(default_factory=list)
    title_lang: dict = field(default_factory=dict)  # language → title, where the record says (xml:lang)
    creator: list[str] = field(default_factory=list)
    subject: list[str] = field(default_factory=list)
    description: list[str] = field(default_factory=list)
    place: list[str] = field(default_factory=list)
    date: str = ""
    kind: str = ""
    language: list[str] = field(default_factory=list)
    rights: str = ""
    identifiers: list[str] = field(default_factory=list)  # not links: ISBN, call numbers …
    link: str | None = None  # the member's page for the item
    manifest: str | None = None  # its IIIF manifest
    thumbnail: str | None = None
    library: str = ""  # the member's name (zh), the holding library facet
    library_en: str = ""


def _remote_years(date: str) -> tuple[int, int] | None:
    if not date:
        return None
    return edtf_years(date) if re.fullmatch(r"[0-9X?~%/.-]+", date) else analysis.era_years(date)


def remote_documents(key: str, holdings: list[RemoteRecord]) -> list[dict]:
    """The documents of one work held by one or more members (a duplicate group, ``key``): one per
    clearance that sees different holdings. Anyone cleared for ``alliance`` sees every holding;
    everyone else only the holdings the members show anonymously (``hidden_from``, as in
    ``with_facets``), so an anonymous reader never finds, counts or reads a member's alliance record."""
    public = [h for h in holdings if h.visibility == "public"]
    both = bool(public) and len(public) < len(holdings)
    variants = [(public, "public", [c for c in CLEARANCES if c != "public"] if both else [])] if public else []
    if len(public) < len(holdings):
        variants.append((holdings, "alliance", ["public"] if both else []))
    docs = []
    for seen, visibility, hidden in variants:
        doc = _remote_document(seen, visibility)
        doc["id"] = f"remote:{key}" + ("" if visibility == "public" or not public else "@alliance")
        doc["hidden_from"] = hidden
        docs.append(doc)
    return docs


def _remote_document(holdings: list[RemoteRecord], visibility: str) -> dict:
    first = holdings[0]
    years = next((y for y in map(_remote_years, (h.date for h in holdings)) if y), None)
    people = [n for h in holdings for n in h.creator]
    places = [n for h in holdings for n in h.place]
    subjects = list(dict.fromkeys(s for h in holdings for s in h.subject))
    title = (first.title or [first.oai_id])[0]
    raw = {"title": title, "description": (first.description or [""])[0], "creator": "、".join(first.creator),
           "place": "、".join(first.place), "subject": "、".join(first.subject)}
    return {
        "visibility": visibility, "embargo_until": 0, "withdrawn": 0, "item_id": UNION, "type": "item",
        "title": _tokens(*(t for h in holdings for t in h.title)),
        "creator": _tokens(*people), "place": _tokens(*places), "subject": _tokens(*subjects),
        "description": _tokens(*(d for h in holdings for d in h.description)),
        "identifier": _tokens(*(i for h in holdings for i in h.identifiers)),
        "pinyin": " ".join(["_", *analysis.pinyin_tokens(people + places)]),
        **{name: "_" for name in (*(field_for(level) for level in (None, *LEVELS)), *PASSAGE_FIELDS)},
        "kind": first.kind, "decade": decades(years), "era": eras(years),
        "place_name": list(dict.fromkeys(places)), "person": list(dict.fromkeys(people)), "subject_name": subjects,
        "language": list(dict.fromkeys(lang for h in holdings for lang in h.language)),
        "library": list(dict.fromkeys(h.library for h in holdings)), "rights": first.rights,
        "year_start": years[0] if years else 0, "year_end": years[1] if years else 0,
        "date_sort": years[0] if years else 99999, "date_newest": -years[1] if years else 99999,
        "title_sort": f"{(analysis.pinyin(title) or [''])[0]} remote {first.member} {first.oai_id}",
        "suggest": list(dict.fromkeys(analysis.fold(s) for s in [title, *people, *places, *subjects] if s)),
        "source": {"title": first.title_lang or {"zh": title}, "kind": first.kind, "date": {"display": first.date} if first.date else {},
                   "fields": raw, "thumbnail": None,
                   "holdings": [holding(h) for h in holdings]},
    }


def holding(h: RemoteRecord) -> dict:
    """A member's holding of a work, as search results list it."""
    return {"member": h.member, "library": {"zh": h.library, "en": h.library_en or h.library},
            "title": (h.title or [h.oai_id])[0], "link": h.link, "manifest": h.manifest,
            "thumbnail": h.thumbnail, "oai_id": h.oai_id}
