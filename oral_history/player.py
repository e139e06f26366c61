"""What an audio or video item's page plays and shows: the access copies the user may hear, its
waveform and poster, and the interview as the user may read it (``service.load_interview``: the
public view unless the user may see the full one), with what the page's in-page search needs.

Which copies: among the files the user may see (``Archive.visible_files``), the recording's
"access" derivatives; full copies before redacted ones (``tech.redacted``), so staff hear the
whole recording and the public the copy with restricted passages silenced (the recording itself is
then staff-only: ``repository.access.file_levels``). The transcript is shown only to those who
may hear the recording or a copy of it.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

from repository.errors import NotFound, PermissionDenied
from repository.model import File, Item
from search.analysis import VARIANTS, fold

from .model import Interview, segment_spans
from .service import load_interview, recording

# HTML §4.8.11.5: the browser plays the first <source> it can; open formats first, then MP4/AAC (Safari).
SOURCE_ORDER = ("audio/webm", "video/webm", "audio/ogg", "audio/mp4", "video/mp4", "audio/mpeg")
_s2t = None


@dataclass
class Player:
    recording: File
    sources: list[File]  # access copies, in <source> order
    video: bool
    waveform: File | None = None
    poster: File | None = None
    interview: Interview | None = None
    full: bool = False  # the interview is the full one (restricted passages included)
    spans: list[tuple[float, float]] = field(default_factory=list)  # (start, end) of each segment
    folds: dict[str, str] = field(default_factory=dict)  # for the in-page search (``fold_map``)


def unredacted_first(files: list[File]) -> list[File]:
    """The full copies when the user may see them, else the redacted ones."""
    full = [f for f in files if not (f.tech or {}).get("redacted")]
    return full or files


def copies(files: list[File], original: File, purpose: str) -> list[File]:
    """The visible derivatives of ``original`` with ``purpose``, full ones preferred."""
    return unredacted_first([f for f in files if f.derived_from == original.id and f.purpose == purpose])


def player(archive, item: Item, *, user) -> Player | None:
    """The page's player, or None when the item has no recording the user may hear."""
    rec = recording(item)
    files = archive.visible_files(item, user=user)
    if rec is None or not audible(rec, files):
        return None
    sources = sorted(copies(files, rec, "access"),
                     key=lambda f: SOURCE_ORDER.index(f.media_type) if f.media_type in SOURCE_ORDER else 99)
    found = Player(rec, sources, video=any(f.media_type.startswith("video/") for f in sources) or
                   rec.media_type.startswith("video/"),
                   waveform=next(iter(copies(files, rec, "waveform")), None),
                   poster=next(iter(copies(files, rec, "poster")), None))
    found.interview, found.full = load_interview(archive, item, user=user)
    if found.interview is not None:
        duration = found.interview.duration or duration_of(found)
        found.spans = [(start, end if not math.isinf(end) else (duration or start))
                       for start, end in segment_spans(found.interview)]
        iv = found.interview
        found.folds = fold_map([f"{c.speaker or ''}{c.text}" for t in iv.transcripts for c in t.cues] +
                               [f"{s.title}{s.synopsis}{''.join(s.keywords)}" for s in iv.segments])
    return found


@dataclass
class Clip:
    """A time range of a recording as a user may hear and read it (an exhibition's clip): the
    copies ``player`` gives (redacted for readers when passages are restricted) and the cues of
    the interview as the user may read it (restricted cues are not in the public view) in range."""
    player: Player
    start: float
    end: float
    transcripts: list[tuple[str, dict, list]]  # (language, label, cues within the range)


def clip(archive, item: Item, start: float, end: float, *, user) -> Clip | None:
    """The clip ``start``–``end`` seconds of the item's recording, or None when the user may not hear it."""
    found = player(archive, item, user=user)
    if found is None:
        return None
    transcripts = []
    for t in found.interview.transcripts if found.interview else []:
        cues = [c for c in t.cues if c.end > start and c.start < end]
        if cues:
            transcripts.append((t.language, t.label, cues))
    return Clip(found, start, end, transcripts)


def audible(rec: File, files: list[File]) -> bool:
    """Whether the user may hear the recording: it is among ``files`` (those the user may see),
    or a copy of it is (a redacted copy, when the recording itself is for staff)."""
    return rec in files or any(f.derived_from == rec.id and f.purpose == "access" for f in files)


def duration_of(p: Player) -> float | None:
    return max((f.tech.get("duration") or 0 for f in p.sources), default=0) or p.recording.tech.get("duration")


def readable_interview(archive, item: Item, *, user) -> tuple[Interview, bool]:
    """(the interview as ``user`` may read it, whether it is the full one) for the exports;
    NotFound without one, PermissionDenied when the user may not hear the recording."""
    rec = recording(item)
    interview, full = load_interview(archive, item, user=user)
    if interview is None or rec is None:
        raise NotFound(f"item {item.id} has no interview")
    if not audible(rec, archive.visible_files(item, user=user)):
        raise PermissionDenied(f"the recording of item {item.id} is restricted, and so is its transcript")
    return interview, full


# --- the page's search within the interview ------------------------------------------------------

def fold_map(texts: list[str]) -> dict[str, str]:
    """Characters a reader may type → their folded form (``search.analysis.fold``), for the
    characters of ``texts`` and the traditional forms of their folded characters: the page folds
    a query with it as the server folds the text, so 運河 finds 运河 without OpenCC in the browser."""
    global _s2t
    if _s2t is None:
        import opencc

        _s2t = [opencc.OpenCC(c) for c in ("s2t", "s2hk", "s2tw")]
    chars = set("".join(texts))
    folded = "".join(sorted(set(fold("".join(texts)))))
    chars |= {c for converter in _s2t for c in converter.convert(folded)}
    chars |= {chr(k) for k, v in VARIANTS.items() if chr(v) in folded}
    out = {}
    for c in sorted(chars):
        f = fold(c)
        if f != c and len(f) == 1:
            out[c] = f
    return out


def stamp(seconds: float) -> str:
    """A time for people: ``m:ss``, or ``h:mm:ss`` from an hour on."""
    s = int(seconds)
    h, m = divmod(s // 60, 60)
    return f"{h}:{m:02d}:{s % 60:02d}" if h else f"{m}:{s % 60:02d}"
