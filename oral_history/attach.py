"""Transcript and OHMS files → an interview: used by ingest (files beside a recording, or named
in a manifest) and by the admin page (uploads).

``attach`` reads each file with ``read_transcript`` and merges it into an interview: a
transcript in a language the interview already has replaces that one, another language is added
(the interview's first language is the verbatim transcript, the others renderings); an index
(OHMS) replaces the segments; the OHMS record's metadata fills empty fields. ``from_item`` fills
empty fields from the item's record (interviewees and interviewers among its creators).
"""
from __future__ import annotations

import copy
import re
from pathlib import PurePath

from repository.model import Agent, Item

from .formats import NAME_LANGUAGES, read_transcript
from .model import Interview

MEDIA_TYPES = {".vtt": "text/vtt", ".srt": "application/x-subrip", ".txt": "text/plain", ".xml": "application/xml"}
_CJK = re.compile(r"[\u3400-\u9fff]")


def recording_name(name: str) -> str | None:
    """The base name of the recording a transcript file belongs to: 采访_张.wuu.vtt → 采访_张;
    None when the name is not a transcript's (.vtt .srt .txt .xml)."""
    path = PurePath(name)
    if path.suffix.lower() not in MEDIA_TYPES:
        return None
    stem = PurePath(path.stem)
    return stem.stem if stem.suffix.lstrip(".") in NAME_LANGUAGES else str(stem)


def media_type(name: str) -> str:
    return MEDIA_TYPES.get(PurePath(name).suffix.lower(), "text/plain")


def attach(interview: Interview | None, files: list[tuple[str, bytes]], *, duration: float | None = None,
           ohms_schema: str | None = None, warnings: list | None = None) -> Interview:
    """A copy of ``interview`` (or a new one) with what ``files`` ((name, bytes) pairs) hold;
    what was skipped in them (``repository.notices.Notice``s) is appended to ``warnings``.
    Raises TranscriptError naming the file, the line and the problem."""
    interview = copy.deepcopy(interview) if interview is not None else Interview()
    for name, data in files:
        transcripts, segments, meta = read_transcript(name, data, duration=duration, ohms_schema=ohms_schema)
        if warnings is not None:
            warnings += meta.get("warnings", [])
        ohms = meta.get("format", "").startswith("ohms")
        if ohms:
            fill(interview, meta)
        for t in transcripts:
            same = next((i for i, old in enumerate(interview.transcripts) if old.language == t.language), None)
            if same is not None:
                old = interview.transcripts[same]
                t.label = t.label or old.label
                t.kind = t.kind if ohms else old.kind
                interview.transcripts[same] = t
            else:
                first = (interview.languages or [t.language])[0]
                t.kind = t.kind if ohms else ("verbatim" if t.language == first and not any(
                    o.kind == "verbatim" for o in interview.transcripts) else "rendering")
                interview.transcripts.append(t)
        if segments:
            interview.segments = segments
    interview.languages = list(dict.fromkeys(interview.languages + [t.language for t in interview.transcripts]))
    return interview


def name_map(text: str) -> dict:
    """A name as a language map: {"zh": …} when it holds Chinese characters, else {"en": …}."""
    return {"zh" if _CJK.search(text) else "en": text}


def fill(interview: Interview, meta: dict) -> Interview:
    """Empty fields of ``interview`` from an OHMS record's metadata (``read_ohms``)."""
    for key in ("interviewees", "interviewers"):
        if not getattr(interview, key) and meta.get(key):
            setattr(interview, key, [Agent(name_map(n)) for n in meta[key]])
    for key in ("keywords", "subjects", "date"):
        if not getattr(interview, key) and meta.get(key):
            setattr(interview, key, copy.deepcopy(meta[key]))
    if not interview.summary and meta.get("summary"):
        interview.summary = name_map(meta["summary"])
    if not interview.languages and meta.get("languages"):
        interview.languages = list(meta["languages"])
    return interview


def from_item(interview: Interview, item: Item) -> Interview:
    """Empty fields of ``interview`` from the item's record: interviewees and interviewers (its
    creators and contributors with those roles), date, place, languages, subjects."""
    agents = item.creators + item.contributors
    for key, role in (("interviewees", "interviewee"), ("interviewers", "interviewer")):
        if not getattr(interview, key):
            setattr(interview, key, [copy.deepcopy(a) for a in agents if (a.role or "").lower() == role])
    if not interview.date and item.date:
        interview.date = dict(item.date)
    if interview.place is None and item.places:
        interview.place = copy.deepcopy(item.places[0])
    if not interview.languages and item.language:
        interview.languages = list(item.language)
    if not interview.subjects and item.subjects:
        interview.subjects = list(item.subjects)
    return interview
