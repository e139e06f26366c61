"""Restricted passages silenced: redacted access copies of an interview's recording.

When an interview has restricted segments, every access copy of the recording (and its waveform,
or a video's poster) gets a redacted copy made with ffmpeg from the original — the spans, widened
by ``MARGIN``, silenced (``volume=enable='between(t,A,B)':volume=0`` on frames of 64 samples)
and, for video, the picture blacked — stored as a derivative of the recording with the same
purpose and ``tech`` ``{"redacted": true, "spans": [[A, B], …], "margin": MARGIN}``. The access
policy (``repository.access.file_levels``) then keeps the recording and its full copies for
staff, and gives everyone else the redacted ones.

``save`` is the one way to store an interview: it makes the redacted copies the new restricted
spans need (before anything is written) and stores them with the interview in one version, so the
public copy never lags behind the index; copies for spans no longer restricted are removed.
"""
from __future__ import annotations

import math
import tempfile
from contextlib import ExitStack
from pathlib import Path, PurePath

from media import MediaLimits
from media.av import ACCESS_TYPES, access_copy, encode, poster, probe, waveform
from repository.access import SYSTEM, User
from repository.errors import Conflict
from repository.model import File, Item
from repository.services import NewFile

from .model import Interview, redaction_spans
from .service import media_duration, recording, save_interview

REDACTED_PURPOSES = ("access", "waveform", "poster")
MARGIN = 0.1  # seconds silenced (and blacked) before and after each restricted span, for lossy encoders' frames


def spans(interview: Interview | None, duration: float | None) -> list[list[float]]:
    """The restricted spans as [[start, end], …] in seconds, within the recording."""
    if interview is None:
        return []
    end = duration or interview.duration
    out = []
    for a, b in redaction_spans(interview):
        b = min(b, end) if end else b
        if not math.isinf(b) and b > a:
            out.append([round(a, 3), round(b, 3)])
    return out


def redacted_name(name: str) -> str:
    """access.webm → access.redacted.webm"""
    path = PurePath(name)
    return f"{path.stem}.redacted{path.suffix}"


def current_spans(item: Item) -> list[list[float]] | None:
    """The spans the item's redacted copies silence (None when it has none)."""
    rec = recording(item)
    made = [f for f in item.derivatives(rec.id) if f.tech.get("redacted")] if rec else []
    return made[0].tech.get("spans") if made else None


def save(archive, item_id: str, interview: Interview, *, user: User, expected_version: int, why: str = "",
         sources: list[NewFile] = (), work: Path, limits: MediaLimits = MediaLimits(), events=()) -> object:
    """Store ``interview`` (``service.save_interview``) with redacted copies of the recording
    for its restricted spans, in one version; ``work`` is scratch space for ffmpeg (within
    ``limits``' time limits). Raises ValidationError (bad times), Conflict (stale version) or
    MediaError (ffmpeg) before anything is written."""
    record = archive.get_item(item_id, user=user)
    if record.version != expected_version:
        raise Conflict(f"item {item_id} is at version {record.version}; your edit was made from "
                       f"version {expected_version}. Reload it and apply your change again.")
    item = record.value
    duration = media_duration(item)
    if interview.duration is None and duration:
        interview.duration = duration
    interview.validate(duration=duration)
    wanted = spans(interview, duration)
    rec = recording(item)
    made = [f for f in item.derivatives(rec.id) if f.tech.get("redacted")] if rec else []
    full = [f for f in item.derivatives(rec.id) if f.purpose in REDACTED_PURPOSES
            and not f.tech.get("redacted")] if rec else []
    up_to_date = (current_spans(item) or []) == wanted and (
        not wanted or {redacted_name(_name(f)) for f in full} <= {_name(f) for f in made})
    Path(work).mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=work, prefix="redaction-") as tmp, ExitStack() as files:
        add, remove = [], []
        if not up_to_date:
            remove = [f.id for f in made]
            add = redacted_copies(archive, item, full, wanted, Path(tmp), limits) if wanted else []
            for f in add:
                f.stream = files.enter_context(open(f.stream, "rb"))
        return save_interview(archive, item_id, interview, user=user, expected_version=expected_version, why=why,
                              sources=sources, add_files=add, remove_files=remove, events=events)


def _name(f: File) -> str:
    return f.path.rsplit("/", 1)[-1]


def redacted_copies(archive, item: Item, full: list[File], wanted: list[list[float]], work: Path,
                    limits: MediaLimits = MediaLimits()) -> list[NewFile]:
    """Redacted copies of the recording's access copies, waveform and poster (files in ``work``).

    Each access copy is encoded again from the original, as ingest made it (``access_copy``),
    not from the lossy copy: decoding a copy (AAC's encoder delay, Opus's pre-skip) shifts its
    timeline, so the silence would start late. The silenced spans are widened by ``MARGIN`` on
    each side, for the spread of a lossy encoder's frames across the edge of a span."""
    rec = recording(item)
    if rec is None or not full:
        return []
    with archive.open_file(item.id, rec.id, user=SYSTEM).local_path(dir=work) as source:
        return _redacted(source, item, full, wanted, work, limits)


def _redacted(source: Path, item: Item, full: list[File], wanted: list[list[float]], work: Path,
              limits: MediaLimits) -> list[NewFile]:
    """``redacted_copies`` from the recording's file at ``source``."""
    timeout = limits.run_time(media_duration(item))
    info = probe(source, timeout=limits.tool_timeout)
    enable = "+".join(f"between(t,{max(0.0, a - MARGIN):.3f},{b + MARGIN:.3f})" for a, b in wanted)
    made, audio, video = [], None, None
    for f in sorted(full, key=lambda f: f.purpose != "access"):  # access copies first: the others come from them
        target = work / redacted_name(_name(f))
        if f.purpose == "access" and f.media_type in ACCESS_TYPES:
            indexes, fmt, options = access_copy(f.media_type, info)
            if info["audio"]:
                options["af"] = f"asetnsamples=n=64,volume=enable='{enable}':volume=0"  # small frames: exact edges
            if "vf" in options:
                options["vf"] += f",drawbox=x=0:y=0:w=iw:h=ih:color=black:t=fill:enable='{enable}'"
            encode(source, indexes, target, fmt, options, timeout=timeout)
            if "vf" in options:
                video = video or target
            elif info["audio"]:
                audio = audio or target
        elif f.purpose == "waveform" and audio:
            waveform(audio, 0, target, timeout=timeout)  # the copy's only stream
        elif f.purpose == "poster" and video:
            poster(video, 0, target, at=f.tech.get("time") or 0, timeout=limits.tool_timeout, fit=False)
        else:
            continue  # nothing to redact it from: the policy keeps the full one for staff
        made.append(NewFile(target.name, target, f.media_type, f.sequence, role="derivative", derived_from=f.derived_from,
                            purpose=f.purpose, label=f.label or None,
                            tech={**f.tech, "redacted": True, "spans": wanted, "margin": MARGIN}))
    return made
