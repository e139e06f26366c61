"""OHMS XML (Oral History Metadata Synchronizer, Louie B. Nunn Center; schema version 6.0).

Read: the current format — an ``<index>`` of ``<point>``s and the transcript embedded as WebVTT
in ``<vtt_transcript>`` (``<vtt_transcript_alt>`` for a second language) — and the legacy one: a
plain ``<transcript>`` with a ``<sync>`` map (see ``sync_marks``), from exports of any OHMS
version; what cannot be read is left out with a warning by line (``read_ohms``). Write: the
current format, valid against ``ohms.xsd``. OHMS has no restricted flag, so ``write_ohms`` exports the public
view unless asked for the staff copy, which lists restricted segment starts in ``<user_notes>``
("fangzhi:restricted=600,1320") so a re-import keeps them restricted.
"""
from __future__ import annotations

import functools
import re
from datetime import date

from lxml import etree
from lxml.builder import ElementMaker

from repository.model import EDTF_RE, LANG_RE, best
from repository.notices import Notice

from .model import Cue, GpsPoint, Hyperlink, Interview, Segment, Transcript, public_view
from .timecodes import TranscriptError, clock, parse_clock, seconds, split_speaker, to_ms
from .webvtt import LINE_BREAK, read_webvtt, write_webvtt

NS = "https://www.weareavp.com/nunncenter/ohms"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
MAX_PROBLEMS = 5
RESTRICTED_NOTE = re.compile(r"fangzhi:restricted=([\d.,\s]*)")
LANGUAGE_NAMES = {  # OHMS <language> holds a name; Fangzhi keeps language tags
    "chinese": "zh", "mandarin": "zh", "中文": "zh", "汉语": "zh", "普通话": "zh", "國語": "zh",
    "wu": "wuu", "wu chinese": "wuu", "吴语": "wuu", "无锡话": "wuu", "上海话": "wuu", "shanghainese": "wuu",
    "cantonese": "yue", "粤语": "yue", "english": "en", "英语": "en", "japanese": "ja", "日语": "ja",
}


def language_tag(value: str, default: str = "und") -> str:
    """A language tag from an OHMS language name ("Chinese", "无锡话") or a tag ("wuu")."""
    value = (value or "").strip()
    if value.lower() in LANGUAGE_NAMES:
        return LANGUAGE_NAMES[value.lower()]
    return value if value and LANG_RE.match(value) else default


# --- parsing and the schema ---------------------------------------------------------------------

def parse_xml(name: str, data: bytes) -> etree._Element:
    """The root element; no DTDs, external entities or network access (hostile files)."""
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)
    try:
        root = etree.fromstring(data, parser)
    except etree.XMLSyntaxError as exc:
        raise TranscriptError(name, exc.lineno or None, f"not well-formed XML: {exc.msg}") from exc
    if root is None:
        raise TranscriptError(name, None, "is empty")
    return root


@functools.lru_cache(maxsize=4)
def _schema(path: str) -> etree.XMLSchema:
    return etree.XMLSchema(etree.parse(path))


def schema_problems(name: str, data: bytes, schema: str) -> list[tuple[int | None, str]]:
    """The first (line, problem) pairs of ``data`` against the OHMS XSD at ``schema`` (none: valid)."""
    xsd = _schema(str(schema))
    if xsd.validate(parse_xml(name, data).getroottree()):
        return []
    return [(e.line, e.message.replace("{" + NS + "}", "").rstrip("."))
            for e in list(xsd.error_log)[:MAX_PROBLEMS]]


def validate_ohms(name: str, data: bytes, schema: str) -> None:
    """Raise TranscriptError listing the first schema problems (with their lines) unless
    ``data`` is valid against the OHMS XSD at ``schema`` (what Fangzhi writes must be)."""
    problems = schema_problems(name, data, schema)
    if problems:
        rest = "".join(f"; line {line}: {message}" for line, message in problems[1:])
        raise TranscriptError(name, problems[0][0], f"does not follow the OHMS XML schema: {problems[0][1]}{rest}",
                              problems=problems)


def _local(el) -> str:
    return etree.QName(el).localname if isinstance(el.tag, str) else ""


def _children(el, tag: str) -> list:
    return [child for child in el if _local(child) == tag]


def _text(el, tag: str) -> str:
    found = _children(el, tag)
    return (found[0].text or "").strip() if found else ""


def _all(el, tag: str) -> list[str]:
    return [t for t in ((child.text or "").strip() for child in _children(el, tag)) if t]


def _list(text: str) -> list[str]:
    return [part.strip() for part in re.split(r"[;；]", text) if part.strip()]


# --- reading ------------------------------------------------------------------------------------

def read_ohms(name: str, data: bytes, *, duration: float | None = None,
              schema: str | None = None) -> tuple[list[Transcript], list[Segment], dict]:
    """Transcripts, index segments and record metadata of an OHMS XML file, of any OHMS version.

    Read as leniently as the OHMS viewer reads them: the namespace may be the current one, none
    or another (older exports and hand-made files), optional elements may be missing or empty,
    the transcript may be the current embedded WebVTT or the legacy ``transcript`` + ``sync``
    (versions 5.x and before). What cannot be read — an index point without a usable time, a bad
    GPS point or link, a bad sync mark, cues the WebVTT reader skips, what ``schema`` (the path of
    ``ohms.xsd``) finds — is left out with a warning naming its line (``meta["warnings"]``,
    ``Notice``s). Only a file that is not XML, or holds no ``<record>``, is refused.
    Times are checked against ``duration`` (the media's) when given.
    """
    root = parse_xml(name, data)
    warnings: list[Notice] = []
    warn = lambda line, code, **args: warnings.append(Notice(name, line, code, args))  # noqa: E731
    for line, problem in schema_problems(name, data, schema) if schema else []:
        warn(line, "ohms.schema", problem=problem)
    namespace = etree.QName(root).namespace
    if _local(root) == "record":  # a record without its ROOT (hand-made, or cut from an export)
        records = [root]
    elif _local(root) == "ROOT":
        records = _children(root, "record")
    else:
        raise TranscriptError(name, root.sourceline, f"not an OHMS file: the root element is <{root.tag}>, "
                                                     f"not <ROOT>")
    if namespace not in (None, NS) and "ohms" not in namespace.lower():
        warn(root.sourceline, "ohms.namespace", namespace=namespace[:80])
    if not records:
        raise TranscriptError(name, root.sourceline, "holds no <record>: an OHMS file holds the interview in one")
    if len(records) > 1:
        warn(records[1].sourceline, "ohms.more_records", count=len(records) - 1)
    record = records[0]
    meta = _metadata(record, warn)
    segments = _segments(record, duration, warn)
    restricted = RESTRICTED_NOTE.search(_text(record, "user_notes"))
    if restricted:
        starts = {to_ms(float(t)) for t in re.findall(r"\d+(?:\.\d+)?", restricted[1])}
        for s in segments:
            s.restricted = to_ms(s.start) in starts
    language = language_tag(_text(record, "language"), "zh")
    alt_language = language_tag(_text(record, "transcript_alt_lang"), "en")
    transcripts = []
    for suffix, lang, kind in (("", language, "verbatim"), ("_alt", alt_language, "rendering")):
        vtt = _children(record, f"vtt_transcript{suffix}")
        legacy = _children(record, f"transcript{suffix}")
        if vtt and (vtt[0].text or "").strip():
            if _is_webvtt(vtt[0].text):
                transcripts.append(_embedded_vtt(name, vtt[0], lang, kind, duration, warnings))
                continue
            warn(vtt[0].sourceline, "ohms.not_webvtt", tag=f"vtt_transcript{suffix}")  # the rest is read
        if legacy and (legacy[0].text or "").strip():
            sync = _children(record, f"sync{suffix}")
            end = duration if duration is not None else meta.get("duration")
            timed = _legacy(name, legacy[0], sync[0] if sync else None, lang, kind, end, warn)
            if timed is None:
                meta[f"unsynced_transcript{suffix}"] = legacy[0].text.strip()
            else:
                transcripts.append(timed)
                meta["format"] = "ohms-legacy"
    meta["languages"] = list(dict.fromkeys([t.language for t in transcripts] or [language]))
    if warnings:
        meta["warnings"] = warnings  # what was left out, by line
    return transcripts, segments, meta


def _metadata(record, warn) -> dict:
    date_els = _children(record, "date")
    value = (date_els[0].get("value") or date_els[0].text or "").strip() if date_els else ""
    fmt = (date_els[0].get("format") or "").lower() if date_els else ""
    meta = {
        "format": "ohms", "title": _text(record, "title"), "accession": _text(record, "accession"),
        "date": _date(value, fmt, _text(record, "date_nonpreferred_format")),
        "interviewees": _all(record, "interviewee"), "interviewers": _all(record, "interviewer"),
        "keywords": _all(record, "keyword"), "subjects": _all(record, "subject"),
        "duration": _duration(record, warn),
        "summary": _text(record, "description"), "rights": _text(record, "rights"),
        "media_url": _text(record, "media_url"), "media_format": _text(record, "fmt"),
        "collection": _text(record, "collection_name"), "series": _text(record, "series_name"),
        "repository": _text(record, "repository"),
    }
    return {k: v for k, v in meta.items() if v not in ("", None, [], {})}


def _duration(record, warn) -> float | None:
    """The record's duration; "00:00:00" (what OHMS writes when it does not know) is none."""
    raw = _text(record, "duration")
    value = parse_clock(raw) if raw else None
    if raw and value is None:
        warn(_children(record, "duration")[0].sourceline, "ohms.bad_duration", raw=raw[:30])
    return value or None


def _date(value: str, fmt: str, display: str) -> dict:
    out, edtf = {}, value
    m = re.fullmatch(r"(\d{1,2})/(\d{1,2})/(\d{4})", value)
    if m:  # "5/1/1998" with format "m/d/yyyy" (OHMS's usual) or "d/m/yyyy"
        month, day = (m[2], m[1]) if fmt.startswith("d") else (m[1], m[2])
        edtf = f"{m[3]}-{int(month):02d}-{int(day):02d}"
    if edtf and EDTF_RE.match(edtf) and _real_date(edtf):
        out["edtf"] = edtf
    elif value:
        display = display or value
    if display:
        out["display"] = display
    return out


def _real_date(value: str) -> bool:
    try:
        return len(value) != 10 or bool(date.fromisoformat(value))
    except ValueError:
        return False


def _segments(record, duration: float | None, warn) -> list[Segment]:
    """The index points (every ``<index>``'s), in time order; one that cannot be placed is left out."""
    segments, lines = [], {}
    for index in _children(record, "index"):
        for point in _children(index, "point"):
            raw, line = _text(point, "time"), (_children(point, "time") or [point])[0].sourceline
            start = parse_clock(raw) if raw else None
            if start is None:
                warn(line, "ohms.point_time", raw=raw[:30])
                continue
            if duration is not None and start >= duration:
                warn(line, "ohms.point_after_end", start=clock(start), end=clock(duration))
                continue
            same = lines.get(to_ms(start))
            if same is not None:
                warn(line, "ohms.point_same", start=clock(start), previous_line=same)
                continue
            if segments and start < segments[-1].start:
                previous = segments[-1].start
                warn(line, "ohms.point_order", start=clock(start), previous_line=lines[to_ms(previous)],
                     previous=clock(previous))
            lines[to_ms(start)] = line
            segments.append(Segment(
                start=start, title=_text(point, "title"), partial_transcript=_text(point, "partial_transcript"),
                synopsis=_text(point, "synopsis"), keywords=_list(_text(point, "keywords")),
                subjects=_list(_text(point, "subjects")),
                gps=[g for g in (_gps(el, warn) for el in [*_children(point, "gpspoints"), point]
                                 if _text(el, "gps")) if g],
                hyperlinks=[h for h in (_link(el, warn) for el in [*_children(point, "hyperlinks"), point]
                                        if _text(el, "hyperlink")) if h],
            ))
    return sorted(segments, key=lambda s: s.start)


def _gps(el, warn) -> GpsPoint | None:
    """A GPS point: "31.5803, 120.2890" (OHMS: latitude, longitude) and its description."""
    raw = _text(el, "gps")
    m = re.fullmatch(r"\s*(-?\d+(?:\.\d+)?)\s*[,，]\s*(-?\d+(?:\.\d+)?)\s*", raw)
    if not m or not (-90 <= float(m[1]) <= 90 and -180 <= float(m[2]) <= 180):
        warn(_children(el, "gps")[0].sourceline, "ohms.bad_gps", raw=raw[:60])
        return None
    return GpsPoint(float(m[1]), float(m[2]), _text(el, "gps_text"))


def _link(el, warn) -> Hyperlink | None:
    url = _text(el, "hyperlink")
    if not re.match(r"^https?://\S+$", url):
        warn(_children(el, "hyperlink")[0].sourceline, "ohms.bad_link", url=url[:60])
        return None
    return Hyperlink(url, _text(el, "hyperlink_text"))


def _is_webvtt(text: str) -> bool:
    first = text.lstrip().removeprefix("\ufeff").split("\n", 1)[0]
    return first.rstrip("\r") == "WEBVTT" or first.startswith(("WEBVTT ", "WEBVTT\t"))


def _embedded_vtt(name, el, language, kind, duration, warnings: list[Notice]) -> Transcript:
    text = el.text
    body = text.lstrip()
    first_line = el.sourceline + text[:len(text) - len(body)].count("\n")
    transcript, _ = read_webvtt(name, body, language=language, duration=duration, first_line=first_line,
                                warnings=warnings)
    transcript.kind = kind
    return transcript


# --- the legacy transcript and its sync map -----------------------------------------------------

FOOTNOTES = re.compile(r"\[\[footnotes\]\].*?\[\[/footnotes\]\]", re.S)
INLINE_MARKS = re.compile(r"\[\[footnote\]\]\s*\d+\s*\[\[/footnote\]\]|\{[0-9:]*\}")


def sync_marks(name: str, line: int, sync: str, lines: int, warn=None) -> tuple[float, list[tuple[int, float]]]:
    """The interval (seconds) and the (transcript line, seconds) marks of an OHMS sync map.

    "1:|13(3)|19(14)" means: a mark every 1 minute; at 1:00 the interview has reached line 13
    (word 3), at 2:00 line 19. Lines count from 0 over the transcript split at line feeds, as
    the OHMS viewer counts them; like the viewer, marks place whole lines (the word is ignored).
    A leading empty mark, or none, stands for line 0 at 0:00. A mark that cannot be used (not
    line(word), past the transcript, before the previous mark) is ignored, told to
    ``warn(line, code, **args)``; a map without a usable interval raises TranscriptError.
    """
    head, _, body = sync.strip().partition(":")
    try:
        interval = float(head) * 60
    except ValueError:
        interval = 0
    if not 0 < interval < float("inf"):
        raise TranscriptError(name, line, f"bad sync map {sync.strip()[:30]!r}: it must start with the minutes "
                                          f"between marks, e.g. '1:|13(3)|19(14)'")
    warn = warn or (lambda *a, **k: None)
    marks = body.split("|")
    if marks and not marks[0].strip():
        marks = marks[1:]
    out = [(0, 0.0)]
    for j, mark in enumerate(marks, 1):
        if not mark.strip():
            continue
        at = seconds(to_ms(j * interval))
        m = re.fullmatch(r"\s*(\d+)\s*(?:\(\s*\d+\s*\))?\s*", mark)
        if not m:
            warn(line, "ohms.sync_mark", mark=mark.strip()[:20], at=clock(at))
            continue
        target = int(m[1])
        if target >= lines:
            warn(line, "ohms.sync_past_text", mark=mark.strip(), at=clock(at), target=target, lines=lines)
        elif target < out[-1][0]:
            warn(line, "ohms.sync_backwards", mark=mark.strip(), at=clock(at), target=target, previous=out[-1][0])
        elif target > out[-1][0]:  # two marks on one line: the line starts at the earlier one
            out.append((target, at))
    return interval, out


def _legacy(name, transcript_el, sync_el, language, kind, end, warn) -> Transcript | None:
    """Cues from a legacy transcript: each stretch between two sync marks is split into speaker
    turns ("NAME: …" starts one), and the stretch's time shared among them by length. Times at
    the marks are exact; times inside a stretch are estimates. None (with a warning) when the
    sync map is missing or unusable: the transcript has no times."""
    lines = LINE_BREAK.split(FOOTNOTES.sub("", transcript_el.text))
    tag = etree.QName(transcript_el).localname
    if sync_el is None or not (sync_el.text or "").strip():
        warn(transcript_el.sourceline, "ohms.unsynced", tag=tag)
        return None
    try:
        interval, marks = sync_marks(name, sync_el.sourceline, sync_el.text, len(lines), warn)
    except TranscriptError:
        warn(sync_el.sourceline, "ohms.bad_sync", sync=sync_el.text.strip()[:30])
        return None
    if end is not None and marks[-1][1] >= end:
        first = next(k for k, (_, at) in enumerate(marks) if at >= end)
        warn(sync_el.sourceline, "ohms.sync_past_end", at=clock(marks[first][1]), end=clock(end))
        marks = marks[:max(first, 1)]
    cues, speaker = [], None
    for k, (first, start) in enumerate(marks):
        last, stop = marks[k + 1] if k + 1 < len(marks) else (len(lines), None)
        if stop is None:
            stop = end if end is not None and end > start else start + interval
        turns: list[list] = []
        for raw in lines[first:last]:
            who, words = split_speaker(INLINE_MARKS.sub("", raw))
            if who:
                speaker = who
                turns.append([who, words])
            elif words and turns:
                turns[-1][1] += "\n" + words
            elif words:
                turns.append([speaker, words])
        cues += _spread(turns, start, stop)
    return Transcript(language=language, cues=cues, kind=kind)


def _spread(turns: list[list], start: float, stop: float) -> list[Cue]:
    turns = [t for t in turns if t[1].strip()]
    total = sum(len(words) for _, words in turns)
    cues, done = [], 0
    begin, span = to_ms(start), to_ms(stop) - to_ms(start)
    for i, (who, words) in enumerate(turns):
        a = begin + span * done // total
        done += len(words)
        b = begin + span * done // total if i + 1 < len(turns) else to_ms(stop)
        if b <= a and cues:  # too short to time on its own: joins the previous cue
            cues[-1].text += f"\n{who}：{words}" if who and who != cues[-1].speaker else f"\n{words}"
        elif b > a:
            cues.append(Cue(seconds(a), seconds(b), words.strip(), who))
    return cues


# --- writing ------------------------------------------------------------------------------------

def write_ohms(interview: Interview, *, title: str = "", record_id: int = 0, accession: str = "",
               media_url: str = "", media_format: str | None = None, exported: date | None = None,
               public: bool = True) -> bytes:
    """OHMS XML 6.0 for an interview: record metadata, the index and the first two transcripts
    (``vtt_transcript`` and ``vtt_transcript_alt``). The public view unless ``public=False``.

    OHMS index times are whole seconds; the place, roles and transcript labels have no field.
    """
    iv = public_view(interview) if public else interview
    E = ElementMaker(namespace=NS, nsmap={None: NS, "xsi": XSI})
    record = E.record(id=str(record_id), dt=(exported or date.today()).isoformat())
    edtf, display = iv.date.get("edtf", ""), iv.date.get("display", "")
    fmt = {4: "yyyy", 7: "yyyy-mm", 10: "yyyy-mm-dd"}.get(len(edtf), "edtf") if edtf else ""

    def add(tag, text=None, **attrs):
        el = etree.SubElement(record, f"{{{NS}}}{tag}", **attrs)
        el.text = text
        return el

    # children in the order of the schema's sequence
    add("version", "6.0")
    add("date", value=edtf or display, format=fmt)
    if display:
        add("date_nonpreferred_format", display)
    add("title", title)
    if accession:
        add("accession", accession)
    if iv.duration is not None:
        add("duration", clock(iv.duration, always_ms=False))
    for tag, values in (("subject", iv.subjects), ("keyword", iv.keywords),
                        ("interviewee", [best(a.name) for a in iv.interviewees]),
                        ("interviewer", [best(a.name) for a in iv.interviewers])):
        for value in values:
            add(tag, value)
    transcripts = iv.transcripts[:2]
    if len(transcripts) > 1:
        add("transcript_alt_lang", transcripts[1].language)
    if media_url:
        add("media_url", media_url)
    add("language", transcripts[0].language if transcripts else (iv.languages or ["zh"])[0])
    restricted = [str(round(s.start)) for s in iv.segments if s.restricted]
    if restricted and not public:
        add("user_notes", "fangzhi:restricted=" + ",".join(restricted))
    index = add("index")
    for s in iv.segments:
        index.append(_point(E, s))
    if iv.summary:
        add("description", best(iv.summary))
    for tag, t in zip(("vtt_transcript", "vtt_transcript_alt"), transcripts):
        add(tag, write_webvtt(t))
    if media_format in ("audio", "video"):
        add("fmt", media_format)
    root = E.ROOT(record)
    root.set(f"{{{XSI}}}schemaLocation", f"{NS} {NS}/ohms.xsd")
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)


def _point(E, s: Segment):
    point = E.point(E.time(str(round(s.start))), E.title(s.title), E.partial_transcript(s.partial_transcript),
                    E.synopsis(s.synopsis), E.keywords(";".join(k.replace(";", "；") for k in s.keywords)),
                    E.subjects(";".join(k.replace(";", "；") for k in s.subjects)))
    for g in s.gps:
        point.append(E.gpspoints(E.gps(f"{g.lat!r}, {g.lon!r}"), E.gps_zoom("17"), E.gps_text(g.description)))
    for h in s.hyperlinks:
        point.append(E.hyperlinks(E.hyperlink(h.url), E.hyperlink_text(h.description)))
    return point
