"""Interviews: who spoke, when and where, their transcripts (time-coded cues) and their index
(segments after the OHMS index point) — plain data with validation, like ``repository.model``.

``Interview.from_dict`` collects every problem and raises one ValidationError naming each field
("transcripts[0].cues[3].start: …"). Restricted segments are handled here once:
``redaction_spans`` says which spans of the recording are restricted, ``public_view`` is the
interview without their words, ``search_passages`` marks their passages staff-only.
"""
from __future__ import annotations

import copy
import dataclasses
import math
import re
from dataclasses import dataclass, field

from repository.errors import ValidationError
from repository.model import LANG_RE, Agent, LangMap, Place, Checker, read_date
from search.documents import Passage, strictest

from .timecodes import DURATION_SLACK, clock

TRANSCRIPT_KINDS = ("verbatim", "rendering")  # as spoken (e.g. 无锡话), or rendered in another language
# Bounds on what an interview holds (every cue and segment is shown, searched, exported, and each
# restricted segment is a span ffmpeg silences): an 8-hour interview has ~30 000 cues.
MAX_TRANSCRIPTS = 20
MAX_CUES = 50_000  # per transcript
MAX_CUE_CHARS = 10_000
MAX_SEGMENTS = 1_000
URL_RE = re.compile(r"^https?://\S+$")


@dataclass
class Cue:
    """One timed piece of a transcript (seconds), with who said it."""
    start: float
    end: float
    text: str
    speaker: str | None = None
    settings: str = ""  # WebVTT cue settings as read (W3C WebVTT §4.1), e.g. "align:start line:0"


@dataclass
class Transcript:
    """The words of a recording in one language: ``verbatim`` (as spoken) or a ``rendering``."""
    language: str
    cues: list[Cue] = field(default_factory=list)
    label: LangMap = field(default_factory=dict)  # {"zh": "无锡话逐字稿"}
    kind: str = "verbatim"
    draft: bool = False  # made by speech recognition, not yet corrected by an archivist
    blocks: list[str] = field(default_factory=list)  # WebVTT STYLE and REGION blocks as read, for export


@dataclass
class GpsPoint:
    lat: float
    lon: float
    description: str = ""


@dataclass
class Hyperlink:
    url: str
    description: str = ""


@dataclass
class Segment:
    """A part of the recording (OHMS index point): from ``start`` to the next segment's start."""
    start: float
    title: str = ""
    partial_transcript: str = ""
    synopsis: str = ""
    keywords: list[str] = field(default_factory=list)
    subjects: list[str] = field(default_factory=list)
    gps: list[GpsPoint] = field(default_factory=list)
    hyperlinks: list[Hyperlink] = field(default_factory=list)
    restricted: bool = False  # its words are for staff only


@dataclass
class Interview:
    interviewees: list[Agent] = field(default_factory=list)
    interviewers: list[Agent] = field(default_factory=list)
    date: dict = field(default_factory=dict)  # {"edtf": "1998-05-01", "display": "一九九八年五月"}
    place: Place | None = None
    languages: list[str] = field(default_factory=list)  # "wuu" (无锡话), "zh" …
    duration: float | None = None  # seconds
    summary: LangMap = field(default_factory=dict)
    keywords: list[str] = field(default_factory=list)
    subjects: list[str] = field(default_factory=list)
    transcripts: list[Transcript] = field(default_factory=list)
    segments: list[Segment] = field(default_factory=list)

    @classmethod
    def from_dict(cls, data: dict, *, duration: float | None = None) -> Interview:
        """Validate ``data`` and build an Interview, or raise ValidationError listing every
        problem. Times are checked against ``duration`` (the media's), else the interview's."""
        if not isinstance(data, dict):
            raise ValidationError([("interview", "must be a JSON object")])
        c = Checker()
        _unknown(c, data, cls, "", "an interview")
        place = data.get("place")
        interview = cls(
            interviewees=[Agent.read(c, a, f"interviewees[{i}]")
                          for i, a in enumerate(c.items(data, "interviewees", "interviewees"))],
            interviewers=[Agent.read(c, a, f"interviewers[{i}]")
                          for i, a in enumerate(c.items(data, "interviewers", "interviewers"))],
            date=read_date(c, data.get("date")),
            place=Place.read(c, place, "place") if place not in (None, "", {}) else None,
            languages=c.strings(data, "languages", "languages"),
            duration=_time(c, data, "duration", "duration", required=False),
            summary=c.langmap(data, "summary", "summary"),
            keywords=c.strings(data, "keywords", "keywords"),
            subjects=c.strings(data, "subjects", "subjects"),
            transcripts=[_read_transcript(c, t, f"transcripts[{i}]")
                         for i, t in enumerate(c.items(data, "transcripts", "transcripts"))],
            segments=[_read_segment(c, s, f"segments[{i}]")
                      for i, s in enumerate(c.items(data, "segments", "segments"))],
        )
        for i, lang in enumerate(interview.languages):
            if not LANG_RE.match(lang):
                c.fail(f"languages[{i}]", f"{lang!r} is not a language tag such as zh or wuu")
        if not c.problems:
            c.problems += interview.problems(duration=duration)
        c.raise_if_any()
        return interview

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    def problems(self, *, duration: float | None = None) -> list[tuple[str, str]]:
        """(field, problem) pairs for times out of order, overlapping, or beyond ``duration``
        (default: the interview's own)."""
        duration = self.duration if duration is None else duration
        found = []
        if len(self.transcripts) > MAX_TRANSCRIPTS:
            found.append(("transcripts", f"{len(self.transcripts)} transcripts: at most {MAX_TRANSCRIPTS}"))
        for i, t in enumerate(self.transcripts[:MAX_TRANSCRIPTS]):
            found += transcript_problems(t, duration=duration, where=f"transcripts[{i}]")
        if len(self.segments) > MAX_SEGMENTS:
            return found + [("segments", f"{len(self.segments):,} segments: an interview has at most {MAX_SEGMENTS:,}")]
        previous = None
        for i, s in enumerate(self.segments):
            where = f"segments[{i}].start"
            if previous is not None and s.start <= previous:
                found.append((where, f"{clock(s.start)} is not after the previous segment's start "
                                     f"({clock(previous)}): segment starts must increase"))
            if duration is not None and s.start >= duration:
                found.append((where, f"{clock(s.start)} is not before the end of the recording ({clock(duration)})"))
            previous = s.start
        return found

    def validate(self, *, duration: float | None = None) -> None:
        """Raise ValidationError if any time is wrong (see ``problems``)."""
        found = self.problems(duration=duration)
        if found:
            raise ValidationError(found)


def transcript_problems(t: Transcript, *, duration: float | None = None,
                        where: str = "transcript") -> list[tuple[str, str]]:
    """(field, problem) pairs for a transcript's cue times, count and lengths."""
    if len(t.cues) > MAX_CUES:
        return [(f"{where}.cues", f"{len(t.cues):,} cues: a transcript has at most {MAX_CUES:,}")]
    found = []
    previous = None
    for j, cue in enumerate(t.cues):
        at = f"{where}.cues[{j}]"
        if len(cue.text) > MAX_CUE_CHARS:
            found.append((f"{at}.text", f"{len(cue.text):,} characters: a cue has at most {MAX_CUE_CHARS:,}"))
        if cue.end <= cue.start:
            found.append((f"{at}.end", f"{clock(cue.end)} is not after the start ({clock(cue.start)})"))
        if previous is not None and cue.start < previous.start:  # overlapping cues are fine (WebVTT §4.1)
            found.append((f"{at}.start", f"{clock(cue.start)} is before the previous cue's start "
                                         f"({clock(previous.start)}): cues must be in time order"))
        if duration is not None and cue.end > duration + DURATION_SLACK:
            found.append((f"{at}.end", f"{clock(cue.end)} is after the end of the recording ({clock(duration)})"))
        previous = cue
    return found


# --- reading dicts ------------------------------------------------------------------------------

def _unknown(c: Checker, data: dict, cls, where: str, what: str) -> None:
    known = {f.name for f in dataclasses.fields(cls)}
    for key in data:
        if key not in known:
            c.fail(f"{where}{key}", f"is not a field of {what}")


def _time(c: Checker, data: dict, key: str, where: str, *, required=True) -> float | None:
    value = data.get(key)
    if value is None:
        if required:
            c.fail(where, "is required (seconds)")
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        c.fail(where, f"must be a number of seconds, not {value!r}")
        return None
    if value < 0:
        c.fail(where, f"must not be negative (got {value})")
        return None
    return round(float(value), 3)


def _read_transcript(c: Checker, data, where: str) -> Transcript | None:
    if not isinstance(data, dict):
        c.fail(where, "must be an object with a language and cues")
        return None
    _unknown(c, data, Transcript, f"{where}.", "a transcript")
    language = c.text(data, "language", f"{where}.language", required=True, pattern=LANG_RE)
    cues = []
    for j, cue in enumerate(c.items(data, "cues", f"{where}.cues")):
        at = f"{where}.cues[{j}]"
        if not isinstance(cue, dict):
            c.fail(at, "must be an object with start, end and text")
            continue
        _unknown(c, cue, Cue, f"{at}.", "a cue")
        text = cue.get("text", "")
        if not isinstance(text, str):
            c.fail(f"{at}.text", "must be text")
            text = ""
        settings = c.text(cue, "settings", f"{at}.settings") or ""
        if "-->" in settings or "\n" in settings:
            c.fail(f"{at}.settings", "WebVTT cue settings are one line without '-->'")
            settings = ""
        cues.append(Cue(_time(c, cue, "start", f"{at}.start"), _time(c, cue, "end", f"{at}.end"),
                        text.strip(), c.text(cue, "speaker", f"{at}.speaker"), settings))
    if any(cue.start is None or cue.end is None for cue in cues):
        cues = []  # already reported; keep the time checks from tripping over None
    draft = data.get("draft", False)
    if not isinstance(draft, bool):
        c.fail(f"{where}.draft", "must be true or false")
    blocks = [b for b in c.items(data, "blocks", f"{where}.blocks")
              if isinstance(b, str) and re.match(r"(STYLE|REGION)[ \t]*\n", b) and "-->" not in b and "\n\n" not in b]
    if len(blocks) != len(data.get("blocks") or []):
        c.fail(f"{where}.blocks", "must be WebVTT STYLE or REGION blocks (no blank line, no '-->')")
    return Transcript(language=language, cues=cues, label=c.langmap(data, "label", f"{where}.label"),
                      kind=c.text(data, "kind", f"{where}.kind", choices=TRANSCRIPT_KINDS) or "verbatim",
                      draft=draft is True, blocks=blocks)


def _read_segment(c: Checker, data, where: str) -> Segment | None:
    if not isinstance(data, dict):
        c.fail(where, "must be an object with a start time")
        return None
    _unknown(c, data, Segment, f"{where}.", "a segment")
    gps, links = [], []
    for k, p in enumerate(c.items(data, "gps", f"{where}.gps")):
        ok = (isinstance(p, dict) and all(isinstance(p.get(x), (int, float)) and not isinstance(p.get(x), bool)
                                          for x in ("lat", "lon"))
              and -90 <= p["lat"] <= 90 and -180 <= p["lon"] <= 180)
        if ok:
            gps.append(GpsPoint(float(p["lat"]), float(p["lon"]), str(p.get("description") or "").strip()))
        else:
            c.fail(f"{where}.gps[{k}]", "must be {\"lat\": …, \"lon\": …, \"description\": …} in degrees")
    for k, link in enumerate(c.items(data, "hyperlinks", f"{where}.hyperlinks")):
        if isinstance(link, dict) and isinstance(link.get("url"), str) and URL_RE.match(link["url"].strip()):
            links.append(Hyperlink(link["url"].strip(), str(link.get("description") or "").strip()))
        else:
            c.fail(f"{where}.hyperlinks[{k}]", "must have an http(s) url")
    restricted = data.get("restricted", False)
    if not isinstance(restricted, bool):
        c.fail(f"{where}.restricted", "must be true or false")
    start = _time(c, data, "start", f"{where}.start")
    return Segment(
        start=start if start is not None else 0.0,
        title=c.text(data, "title", f"{where}.title") or "",
        partial_transcript=c.text(data, "partial_transcript", f"{where}.partial_transcript") or "",
        synopsis=c.text(data, "synopsis", f"{where}.synopsis") or "",
        keywords=c.strings(data, "keywords", f"{where}.keywords"),
        subjects=c.strings(data, "subjects", f"{where}.subjects"),
        gps=gps, hyperlinks=links, restricted=restricted is True,
    )


# --- restricted passages ------------------------------------------------------------------------

def segment_spans(interview: Interview) -> list[tuple[float, float]]:
    """(start, end) of each segment: it lasts until the next segment starts, the last one until
    the end of the recording (infinity when the duration is unknown)."""
    starts = [s.start for s in interview.segments]
    last = interview.duration if interview.duration is not None else math.inf
    return [(start, starts[i + 1] if i + 1 < len(starts) else max(last, start)) for i, start in enumerate(starts)]


def redaction_spans(interview: Interview) -> list[tuple[float, float]]:
    """The (start, end) spans of restricted segments, adjacent ones merged: what the public
    access copy silences and what no public transcript, export or search may show."""
    spans: list[tuple[float, float]] = []
    for segment, (start, end) in zip(interview.segments, segment_spans(interview)):
        if not segment.restricted:
            continue
        if spans and spans[-1][1] >= start:
            spans[-1] = (spans[-1][0], max(spans[-1][1], end))
        else:
            spans.append((start, end))
    return spans


def overlaps(cue: Cue, spans: list[tuple[float, float]]) -> bool:
    """Whether any part of the cue lies inside one of the spans."""
    return any(cue.start < end and cue.end > start for start, end in spans)


def public_view(interview: Interview) -> Interview:
    """A copy for the public: restricted segments keep only their start (so the index still
    shows where a closed passage is) and every cue overlapping a restricted span is gone."""
    spans = redaction_spans(interview)
    public = copy.deepcopy(interview)
    public.segments = [Segment(start=s.start, restricted=True) if s.restricted else s for s in public.segments]
    for t in public.transcripts:
        t.cues = [cue for cue in t.cues if not overlaps(cue, spans)]
    return public


def search_passages(interview: Interview, *, file_id: str | None = None,
                    access: str | None = None) -> list[Passage]:
    """Search passages: one per cue (speaker and words, its time) and one per segment (title,
    synopsis, keywords, subjects, partial transcript). Restricted words are staff-only;
    ``access`` is the recording file's own restriction, if any."""
    spans = redaction_spans(interview)
    passages = []
    for t in interview.transcripts:
        for cue in t.cues:
            text = f"{cue.speaker}：{cue.text}" if cue.speaker else cue.text
            level = strictest(access, "staff" if overlaps(cue, spans) else None)
            passages.append(Passage(text, file_id, time=cue.start, end=cue.end, access=level))
    for segment, (start, end) in zip(interview.segments, segment_spans(interview)):
        text = "\n".join(part for part in (segment.title, segment.synopsis, "、".join(segment.keywords),
                                           "、".join(segment.subjects), segment.partial_transcript) if part)
        level = strictest(access, "staff" if segment.restricted else None)
        passages.append(Passage(text, file_id, chapter=segment.title or None, time=start,
                                end=None if math.isinf(end) else end, access=level))
    return passages
