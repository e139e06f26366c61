"""IIIF Content Search 2.0 (https://iiif.io/api/search/2.0/) within one item, and the 1.0 form
of the same results for viewers that speak only 1.0 (Mirador 4).

Text comes in ``Segment``s, each on a canvas: OCR lines (with line and character boxes), the
paragraphs of EPUB chapters and the lines of PDF text layers (whole canvas), and time-coded cues
(``cue_segments``: an interview's transcripts as the user may read them, ``#t=`` targets).
``find`` matches a query against any list of them with the project's Chinese analysis: text and
query are folded alike (``search.analysis.fold``: traditional → simplified, full-width → ASCII,
lower case), so 無錫 finds 无锡; each space-separated term is found as a substring (two-character
words and single characters too); a term not found whole is looked for as its jieba words
(``search.analysis.tokens``).

Only files the user may see give text (``canvases.visible``): a restricted page's text is
never searched. Parameters this server does not implement (motivation, date, user) are reported
in ``ignored`` (§4.2.4).

Answers are bounded whatever the text: a paragraph or line longer than ``SEGMENT_CHARS`` is
searched (and answered) in pieces of that length, a search keeps its first ``MAX_MATCHES``
matches, and a 2.0 page highlights at most ``PAGE_MATCHES`` of them.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from urllib.parse import urlencode

from search.analysis import fold, tokens

from .canvases import LRU, Links, cue_id, cue_text, listening, name, plan, read_json, visible

CONTEXT2 = "http://iiif.io/api/search/2/context.json"
CONTEXT1 = "http://iiif.io/api/search/1/context.json"
IGNORED = ("motivation", "date", "user")  # §4.1.1 parameters not implemented
AROUND = 12  # characters of context before and after a match (TextQuoteSelector prefix/suffix)
TERMS = 20  # autocomplete terms returned at most
SEGMENT_CHARS = 1000  # longer paragraphs and lines are searched in pieces of this many characters
MAX_MATCHES = 5000  # matches a search keeps (in text order)
PAGE_MATCHES = 1000  # highlighting annotations on one 2.0 page
_ocr = LRU(2048)  # OCR lines by the SHA-256 of their file: (text, box, character boxes)
_folds = LRU(100_000)  # folded text of a segment
_words = LRU(100_000)  # word counts of a segment


@dataclass(frozen=True)
class Segment:
    """A piece of text on a canvas: an OCR line, a paragraph, or a time-coded cue."""
    id: str  # the annotation id of this text
    canvas: str  # the canvas id
    text: str
    box: tuple | None = None  # x, y, w, h on the canvas
    chars: tuple | None = None  # one box per character of ``text``, when known
    start: float | None = None  # seconds, for time-coded text
    end: float | None = None

    def target(self, span: tuple[int, int] | None = None) -> str:
        """The canvas fragment of the segment, or of the characters ``span`` (§4.2: canvas#xywh=)."""
        if self.start is not None:
            return f"{self.canvas}#t={_num(self.start)},{_num(self.end if self.end is not None else self.start)}"
        box = self.box
        if span and self.chars and len(self.chars) == len(self.text):
            boxes = self.chars[span[0]:span[1]]
            x0, y0 = min(b[0] for b in boxes), min(b[1] for b in boxes)
            x1, y1 = max(b[0] + b[2] for b in boxes), max(b[1] + b[3] for b in boxes)
            box = (x0, y0, x1 - x0, y1 - y0)
        return f"{self.canvas}#xywh={','.join(str(int(v)) for v in box)}" if box else self.canvas


def _num(value: float) -> str:
    return f"{value:.3f}".rstrip("0").rstrip(".")


def cue_segments(cues, *, base: str | None = None) -> list[Segment]:
    """Segments from time-coded text: ``cues`` are (canvas id, text, start, end) in seconds. A
    cue's id ends with its start in milliseconds (``canvases.cue_id``), the same whether
    restricted cues are left out (the public view) or not."""
    return [Segment(cue_id(base or canvas, start), canvas, text, start=start, end=end)
            for canvas, text, start, end in cues]


def _lines(text: str) -> list[str]:
    """The non-empty lines of a text, those longer than SEGMENT_CHARS cut into pieces."""
    lines = (line.strip() for line in text.splitlines())
    return [line[i:i + SEGMENT_CHARS] for line in lines if line for i in range(0, len(line), SEGMENT_CHARS)]


def segments(archive, item, links: Links, *, user) -> list[Segment]:
    """The searchable text of an item, in canvas order, from the files ``user`` may see."""
    files = visible(archive, item, user=user)
    pages = plan(archive, item, files, user=user)
    canvas = {p.key: links.canvas(item.id, p.key) for p in pages}
    layers = {}  # original id → {page number: text} of a PDF's text layer
    for f in files:
        if f.purpose == "text" and name(f) == "pages.json":
            layers[f.derived_from] = {p["page"]: p["text"] for p in read_json(archive, item.id, f, user=user)}
    out = []
    for page in pages:
        cid = canvas[page.key]
        if page.ocr is not None:  # OCR lines: §4.2 targets with boxes
            lines = _ocr.get_or_make(page.ocr.sha256, lambda f=page.ocr: tuple(
                (line["text"], tuple(line["box"]), tuple(tuple(c["box"]) for c in line.get("chars", [])) or None)
                for line in read_json(archive, item.id, f, user=user, cache=False).get("lines", [])))
            out += [Segment(f"{cid}/text/l{n}", cid, text, box, chars) for n, (text, box, chars) in enumerate(lines, 1)]
        elif page.text is not None:  # an EPUB chapter: its paragraphs, on the whole canvas
            out += [Segment(f"{cid}/text/l{n}", cid, t) for n, t in enumerate(_lines(page.text), 1)]
        elif page.page and layers.get(page.original.id, {}).get(page.page):
            out += [Segment(f"{cid}/text/l{n}", cid, t)
                    for n, t in enumerate(_lines(layers[page.original.id][page.page]), 1)]
    heard = listening(archive, item, pages, user=user)
    if heard is not None:  # an interview's cues, as the user may read them, with the manifest's annotation ids
        page, interview = heard
        cid = canvas[page.key]
        for n, t in enumerate(interview.transcripts, 1):
            out += cue_segments([(cid, cue_text(c), c.start, c.end) for c in t.cues], base=f"{cid}/transcript/{n}")
    return out


# --- matching ----------------------------------------------------------------------------------

def folded(text: str) -> str:
    """``fold(text)`` with one character for each character of ``text``, so that positions in
    the folded text are positions in the text (OpenCC or NFKC rarely change the length; then
    each character is folded on its own)."""
    whole = fold(text)
    if len(whole) == len(text):
        return whole
    return "".join(f if len(f := fold(c)) == 1 else c.lower() for c in text)


def _folded_cached(text: str) -> str:
    return _folds.get_or_make(text, lambda: folded(text))


def terms(query: str, segments: list[Segment]) -> list[str]:
    """The folded terms to look for: each space-separated word, or its jieba words (two or more
    characters) when the word is not found whole."""
    out = []
    for word in query.split():
        term = folded(word)
        if any(term in _folded_cached(s.text) for s in segments):
            out.append(term)
        else:
            words = [t for t in tokens(word, mode="query") if len(t) > 1] or [t for t in tokens(word, mode="query")]
            out += [w for w in words if w != term]
    return list(dict.fromkeys(t for t in out if t))


@dataclass(frozen=True)
class Hit:
    segment: Segment
    start: int
    end: int

    @property
    def exact(self) -> str:
        return self.segment.text[self.start:self.end]

    @property
    def prefix(self) -> str:
        return self.segment.text[max(0, self.start - AROUND):self.start]

    @property
    def suffix(self) -> str:
        return self.segment.text[self.end:self.end + AROUND]


def find(query: str, segments: list[Segment], *, most: int = MAX_MATCHES) -> list[Hit]:
    """The first ``most`` matches of the query's terms, in text order; overlapping matches are merged."""
    wanted = terms(query, segments)
    hits = []
    for segment in segments:
        if len(hits) >= most:
            break
        text = _folded_cached(segment.text)
        spans = []
        for term in wanted:
            at = text.find(term)
            while at >= 0:
                spans.append([at, at + len(term)])
                at = text.find(term, at + len(term))
        merged = []
        for span in sorted(spans):
            if merged and span[0] <= merged[-1][1]:
                merged[-1][1] = max(merged[-1][1], span[1])
            else:
                merged.append(span)
        hits += [Hit(segment, a, b) for a, b in merged]
    return hits[:most]


# --- Content Search 2.0 responses ----------------------------------------------------------------

def _url(base: str, **params) -> str:
    params = {k: v for k, v in params.items() if v not in (None, "")}
    return f"{base}?{urlencode(params)}" if params else base


def ignored(args) -> list[str]:
    return [p for p in IGNORED if args.get(p)]


def search_page(hits: list[Hit], *, service: str, query: str, page: int, size: int, ignore: list[str]) -> dict:
    """§4.2 an Annotation Page of matching text: ``items`` are the segments (lines) that match,
    targeting their canvas region; ``annotations`` holds one ``highlighting`` annotation per
    match with a TextQuoteSelector (§4.3.2). Paged by segment (§4.2.2) when there are more than
    ``size``."""
    matched = list(dict.fromkeys(h.segment for h in hits))
    last = max(1, -(-len(matched) // size))
    shown = matched[(page - 1) * size:page * size]
    in_page = set(shown)
    body = {"@context": CONTEXT2, "id": _url(service, q=query, page=page if last > 1 else None), "type": "AnnotationPage"}
    if ignore:
        body["ignored"] = ignore
    if last > 1:  # §4.2.2 paging
        ref = lambda n: {"id": _url(service, q=query, page=n), "type": "AnnotationPage"}  # noqa: E731
        body["partOf"] = {"id": _url(service, q=query), "type": "AnnotationCollection", "total": len(matched),
                          "first": ref(1), "last": ref(last)}
        if page < last:
            body["next"] = ref(page + 1)
        if page > 1:
            body["prev"] = ref(page - 1)
        body["startIndex"] = (page - 1) * size
    body["items"] = [{"id": s.id, "type": "Annotation", "motivation": "supplementing",
                      "body": {"type": "TextualBody", "value": s.text, "format": "text/plain"},
                      "target": s.target()} for s in shown]
    highlights = [h for h in hits if h.segment in in_page][:PAGE_MATCHES]
    if highlights:
        body["annotations"] = [{"type": "AnnotationPage", "items": [
            {"id": f"{h.segment.id}/match/{h.start}-{h.end}", "type": "Annotation", "motivation": "highlighting",
             "target": {"type": "SpecificResource", "source": h.segment.id, "selector": [
                 {"type": "TextQuoteSelector", "prefix": h.prefix, "exact": h.exact, "suffix": h.suffix}]}}
            for h in highlights]}]
    return body


def term_counts(segments: list[Segment]) -> Counter:
    """How often each word (folded, jieba search mode) occurs in the segments."""
    counts = Counter()
    for s in segments:
        counts.update(_words.get_or_make(s.text, lambda s=s: Counter(tokens(s.text))))
    return counts


def complete(query: str, segments: list[Segment], *, least: int = 1) -> list[tuple[str, int]]:
    """Words of two or more characters starting with the query, most frequent first (§5)."""
    prefix = folded(query.strip())
    if not prefix:
        return []
    found = [(t, n) for t, n in term_counts(segments).items() if t.startswith(prefix) and len(t) > 1 and n >= least]
    return sorted(found, key=lambda tn: (-tn[1], tn[0]))[:TERMS]


def term_page(terms_found: list[tuple[str, int]], *, service: str, query: str, ignore: list[str]) -> dict:
    """§5.2 a TermPage; each term's value can be used as ``q`` as it is."""
    body = {"@context": CONTEXT2, "id": _url(service, q=query), "type": "TermPage"}
    if ignore:
        body["ignored"] = ignore
    body["items"] = [{"value": t, "total": n} for t, n in terms_found]
    return body


# --- Content Search 1.0 (https://iiif.io/api/search/1.0/), for Mirador 4 ----------------------------

def search_list1(hits: list[Hit], *, service: str, query: str, page: int, size: int, ignore: list[str]) -> dict:
    """1.0 §3.3–3.4: an AnnotationList with one annotation per match (the box of its characters
    where OCR gives them) and ``hits`` carrying before/match/after; paged by match."""
    last = max(1, -(-len(hits) // size))
    shown = hits[(page - 1) * size:page * size]
    body = {"@context": [CONTEXT1], "@id": _url(service, q=query, page=page if last > 1 else None),
            "@type": "sc:AnnotationList",
            "within": {"@type": "sc:Layer", "total": len(hits), "ignored": ignore} if ignore else
            {"@type": "sc:Layer", "total": len(hits)}}
    if last > 1:
        body["within"].update(first=_url(service, q=query, page=1), last=_url(service, q=query, page=last))
        body["startIndex"] = (page - 1) * size
        if page < last:
            body["next"] = _url(service, q=query, page=page + 1)
        if page > 1:
            body["prev"] = _url(service, q=query, page=page - 1)
    resources, found = [], []
    for h in shown:
        anno = f"{h.segment.id}/match/{h.start}-{h.end}"
        resources.append({"@id": anno, "@type": "oa:Annotation", "motivation": "sc:painting",
                          "resource": {"@type": "cnt:ContentAsText", "chars": h.exact},
                          "on": h.segment.target((h.start, h.end))})
        found.append({"@type": "search:Hit", "annotations": [anno], "match": h.exact,
                      "before": h.prefix, "after": h.suffix})
    body["resources"], body["hits"] = resources, found
    return body


def term_list1(terms_found: list[tuple[str, int]], *, service: str, search: str, query: str,
               ignore: list[str]) -> dict:
    body = {"@context": CONTEXT1, "@id": _url(service, q=query), "@type": "search:TermList"}
    if ignore:
        body["ignored"] = ignore
    body["terms"] = [{"match": t, "url": _url(search, q=t), "count": n} for t, n in terms_found]
    return body
