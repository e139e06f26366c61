"""Audio and video steps: ffprobe metadata, web access copies, a waveform and a poster frame,
made with ``media.av`` (ffmpeg/ffprobe subprocesses with time limits).

What ffprobe says is checked against the limits (``ingest.safety.Limits``: frame size, duration,
frame rate) before anything is encoded, and every ffprobe/ffmpeg run has a time limit
(``tool_timeout``, plus ``tool_timeout_ratio`` seconds per second of media for a decode or
encode: ``MediaLimits.run_time``); a run past it is stopped and the step fails saying which
tool, output and file. An output that exists in ``work`` is finished and is returned as it is
on the next call.

    audio(original, media_type, work)  → access.webm (Opus), access.m4a (AAC), waveform.json
    video(original, media_type, work)  → access.mp4 (H.264/AAC, ≤ 720 px high), poster.jpg
    audio_or_video(…)                   → either, by what the file holds (WebM, Matroska)
"""
from __future__ import annotations

import functools
import re
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from pathlib import Path

from ingest.safety import Limits
from ingest.steps import Derivative, StepError, StepResult
from media import MediaError
from media.av import (INTERLACED, WAVEFORM_RATE, WAVEFORM_SAMPLES_PER_PIXEL, access_copy, encode, poster, probe,
                      waveform, waveform_length)
from oral_history.timecodes import clock

MAX_FRAME_RATE = 240  # frames per second (slow-motion phone video); more is refused


def _step(run):
    """A media tool's failure fails the step (StepError, with the tool's message)."""
    @functools.wraps(run)
    def step(*args, **kwargs) -> StepResult:
        try:
            return run(*args, **kwargs)
        except MediaError as exc:
            raise StepError(str(exc)) from exc
    return step


# -- audio ------------------------------------------------------------------------------------

@_step
def audio(original: Path, media_type: str, work: Path, *, limits: Limits = Limits()) -> StepResult:
    """Audio original (WAV, FLAC, MP3, M4A/AAC, OGG/Opus) → two access copies and a waveform.

    ``access.webm`` (Opus, 64 kb/s) and ``access.m4a`` (AAC-LC, 96 kb/s, for Safari) have role
    "access"; ``waveform.json`` (BBC audiowaveform JSON, version 2, 8-bit, mono) has role
    "waveform". ``tech`` is the original's ffprobe summary (with ``decoded_duration`` when far less
    or more could be decoded than the file declares); ``metadata`` suggests a title and a date from
    the file's tags. ``media_type`` is not needed: ffprobe reads the file itself.
    """
    work.mkdir(parents=True, exist_ok=True)
    info = check(probe(original, timeout=limits.tool_timeout), limits)
    stream = info["audio"]
    if not stream:
        raise StepError("the file contains no audio stream")
    timeout = limits.run_time(info["duration"])

    peaks = work / "waveform.json"  # first: decoding the whole file also checks that it is readable
    if not peaks.exists():
        waveform(original, stream["index"], peaks, timeout=timeout)
    length = waveform_length(peaks)
    if not length:
        raise StepError("no audio could be decoded from the file")
    webm, m4a = work / "access.webm", work / "access.m4a"
    jobs = [(webm, *access_copy("audio/webm", info)), (m4a, *access_copy("audio/mp4", info))]
    with ThreadPoolExecutor(2) as pool:  # the two encoders run side by side, one per core
        for done in [pool.submit(encode, original, indexes, target, container, options, timeout=timeout)
                     for target, indexes, container, options in jobs if not target.exists()]:
            done.result()

    tech = {
        "format": info["format"],
        "duration": info["duration"] or round(length * WAVEFORM_SAMPLES_PER_PIXEL / WAVEFORM_RATE, 2),
        "codec": stream["codec"],
        "sample_rate": stream["sample_rate"],
        "channels": stream["channels"],
        "bit_rate": stream["bit_rate"] or info["bit_rate"],
    }
    decoded = round(length * WAVEFORM_SAMPLES_PER_PIXEL / WAVEFORM_RATE, 2)
    if abs(decoded - tech["duration"]) > max(1.0, 0.05 * tech["duration"]):
        tech["decoded_duration"] = decoded  # the file is damaged or truncated: this much could be played
    return StepResult(
        derivatives=[
            Derivative("access.webm", webm, "audio/webm", "access", tech=_audio_tech(webm, limits)),
            Derivative("access.m4a", m4a, "audio/mp4", "access", tech=_audio_tech(m4a, limits)),
            Derivative("waveform.json", peaks, "application/json", "waveform", tech={
                "length": length, "sample_rate": WAVEFORM_RATE,
                "samples_per_pixel": WAVEFORM_SAMPLES_PER_PIXEL}),
        ],
        tech=tech,
        metadata=_suggestions(info["tags"]),
    )


def _audio_tech(path: Path, limits: Limits) -> dict:
    """Duration, codec, bit rate, sample rate and channels of an access copy."""
    info = probe(path, formats=None, timeout=limits.tool_timeout)
    a = info["audio"] or {}
    return {"duration": info["duration"], "codec": a.get("codec"), "bit_rate": a.get("bit_rate") or info["bit_rate"],
            "sample_rate": a.get("sample_rate"), "channels": a.get("channels")}


# -- video ------------------------------------------------------------------------------------

@_step
def video(original: Path, media_type: str, work: Path, *, limits: Limits = Limits()) -> StepResult:
    """Video original (MP4, MOV, AVI, MKV, WebM) → ``access.mp4`` and ``poster.jpg``.

    The access copy is H.264 (libx264, veryfast, CRF 23, yuv420p) scaled down to at most 720 px
    high (even dimensions, aspect kept, never upscaled; interlaced sources deinterlaced) with AAC
    audio when the source has audio, ``+faststart``. The poster is the frame at 10 % of the
    duration (1 s when the duration is unknown), at most 1280 px wide. ``tech`` is the original's
    ffprobe summary.
    """
    work.mkdir(parents=True, exist_ok=True)
    info = check(probe(original, timeout=limits.tool_timeout), limits)
    stream, sound = info["video"], info["audio"]
    if not stream:  # (image and text demuxers are not in FORMATS, so a still image never gets here)
        raise StepError("the file contains no video stream")
    timeout = limits.run_time(info["duration"])

    interlaced = stream["field_order"] in INTERLACED
    access = work / "access.mp4"
    if not access.exists():
        indexes, container, options = access_copy("video/mp4", info)
        encode(original, indexes, access, container, options, timeout=timeout)

    still = work / "poster.jpg"
    duration = info["duration"]
    at = round(duration * 0.1, 3) if duration else 1.0
    if not still.exists():
        try:
            poster(original, stream["index"], still, at=at, timeout=limits.tool_timeout, interlaced=interlaced)
        except MediaError:  # e.g. the duration was wrong and the seek went past the end
            at = 0.0
            poster(original, stream["index"], still, at=0, timeout=limits.tool_timeout, interlaced=interlaced)

    a = probe(access, formats=None, timeout=limits.tool_timeout)
    p = probe(still, formats=None, timeout=limits.tool_timeout)["video"] or {}
    tech = {
        "format": info["format"],
        "duration": duration,
        "width": stream["width"],
        "height": stream["height"],
        "frame_rate": stream["frame_rate"],
        "codec": stream["codec"],
        "audio_codec": sound and sound["codec"],
        "bit_rate": info["bit_rate"],
    }
    if stream["rotation"]:
        tech["rotation"] = stream["rotation"]
    if interlaced:
        tech["field_order"] = stream["field_order"]
    return StepResult(
        derivatives=[
            Derivative("access.mp4", access, "video/mp4", "access", tech={
                "duration": a["duration"], "width": a["video"]["width"], "height": a["video"]["height"],
                "frame_rate": a["video"]["frame_rate"], "codec": a["video"]["codec"],
                "audio_codec": a["audio"] and a["audio"]["codec"], "bit_rate": a["bit_rate"]}),
            Derivative("poster.jpg", still, "image/jpeg", "poster", tech={
                "width": p.get("width"), "height": p.get("height"), "time": at}),
        ],
        tech=tech,
        metadata=_suggestions(info["tags"]),
    )


@_step
def audio_or_video(original: Path, media_type: str, work: Path, *, limits: Limits = Limits()) -> StepResult:
    """WebM and Matroska hold video or sound alone (browser and phone recordings of interviews)."""
    step = video if probe(original, timeout=limits.tool_timeout).get("video") else audio
    return step(original, media_type, work, limits=limits)


# -- limits -----------------------------------------------------------------------------------

def check(info: dict, limits: Limits) -> dict:
    """``info`` (a probe) if the recording is within the limits, else StepError saying which."""
    video, duration = info["video"], info["duration"]
    if duration and duration > limits.max_media_seconds:
        raise StepError(f"the recording lasts {clock(duration, always_ms=False)}, longer than the limit of "
                        f"{clock(limits.max_media_seconds, always_ms=False)}")
    if video and (video["width"] or 0) * (video["height"] or 0) > limits.max_video_pixels:
        raise StepError(f"the video is {video['width']} × {video['height']} pixels a frame, more than the "
                        f"limit of {limits.max_video_pixels:,} pixels")
    if video and (video["frame_rate"] or 0) > MAX_FRAME_RATE:
        raise StepError(f"the video has {video['frame_rate']:g} frames a second, more than {MAX_FRAME_RATE}")
    return info



# -- suggestions ------------------------------------------------------------------------------

def _suggestions(tags: dict) -> dict:
    """Item fields suggested by the file's own tags: a title, and a date from an explicit date tag.

    ``creation_time`` is not used: it is usually when the file was made (a transfer or an
    export), not the date of what it records.
    """
    out = {}
    title = (tags.get("title") or "").strip()
    if title:
        out["title"] = {"zh": title}
    for key in ("date", "year", "originationdate", "origination_date"):
        edtf = _edtf(tags.get(key))
        if edtf:
            out["date"] = {"edtf": edtf}
            break
    return out


def _edtf(value) -> str | None:
    """"1987", "1987-05", "1987-05-04…" (also with / or : separators) → EDTF, else None."""
    match = re.match(r"\s*(\d{4})(?:[-/:.](\d{1,2})(?:[-/:.](\d{1,2}))?)?", str(value or ""))
    if not match:
        return None
    year, month, day = match.groups()
    try:
        date(int(year), int(month or 1), int(day or 1))
    except ValueError:
        return None
    return "-".join([year] + [f"{int(p):02d}" for p in (month, day) if p])
