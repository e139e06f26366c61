"""Audio and video steps: ffprobe metadata, web access copies, a waveform and a poster frame.

All media work happens in ffmpeg/ffprobe subprocesses (commands built with ffmpeg-python); Python
never holds media in memory: encoders write files, and the waveform reads decoded PCM from
ffmpeg's stdout in fixed-size chunks. Every output is written as ``<name>.part`` and renamed when
complete, so an output that exists is finished and is returned as it is on the next call.

Originals are opened as ``file:`` URLs with only the ``file`` protocol and the demuxers of
:data:`FORMATS` allowed, so a hostile upload cannot make ffmpeg open a playlist, a network address
or another file. What ffprobe says is checked against the limits (``ingest.safety.Limits``: frame
size, duration, frame rate) before anything is encoded, and every ffprobe/ffmpeg run has a time
limit (``tool_timeout``, plus ``tool_timeout_ratio`` seconds per second of media for a decode or
encode); a run past it is stopped and the step fails saying which tool, output and file.

    audio(original, media_type, work)  → access.webm (Opus), access.m4a (AAC), waveform.json
    video(original, media_type, work)  → access.mp4 (H.264/AAC, ≤ 720 px high), poster.jpg
    probe(path)                         → a compact summary of ffprobe's output
"""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
import threading
from array import array
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from pathlib import Path

import ffmpeg

from ingest.safety import Limits
from ingest.steps import Derivative, StepError, StepResult
from oral_history.timecodes import clock

# Demuxers accepted for originals (ffmpeg names; "mov" covers mp4/m4a, "matroska" covers webm).
FORMATS = "wav,w64,aiff,flac,mp3,aac,ogg,mov,matroska,avi"

MAX_HEIGHT = 720  # access video: at most this many pixels high, never upscaled
INTERLACED = ("tt", "bb", "tb", "bt")  # ffprobe field orders of interlaced video
ACCESS_TYPES = ("audio/webm", "audio/mp4", "video/mp4")  # the access copies made (``access_copy``)
POSTER_MAX_WIDTH = 1280
WAVEFORM_RATE = 8000  # Hz, mono, for the waveform peaks
WAVEFORM_SAMPLES_PER_PIXEL = 160  # 50 peaks per second
_CHUNK_PIXELS = 1024  # PCM read per chunk: 1024 pixels × 160 samples × 2 bytes = 320 KiB

MAX_FRAME_RATE = 240  # frames per second (slow-motion phone video); more is refused
_QUIET = ("-nostdin", "-hide_banner", "-nostats", "-loglevel", "error")


# -- probe ------------------------------------------------------------------------------------

def probe(path, formats: str | None = FORMATS, *, timeout: float = Limits.tool_timeout) -> dict:
    """Summarise ``ffprobe`` for ``path``; raise :class:`StepError` when it is not readable media.

    Returns ``{"format", "duration", "bit_rate", "size", "tags", "audio", "video"}``: ``audio``
    and ``video`` describe the first audio stream and the first video stream that is not cover
    art (or are ``None``); ``tags`` merges container and stream tags with lower-case keys.
    ``formats`` limits the demuxers ffprobe may use (``None``: any, for our own outputs).
    """
    args = ["ffprobe", "-show_format", "-show_streams", "-of", "json", "-v", "error", "-protocol_whitelist", "file"]
    if formats:
        args += ["-format_whitelist", formats]
    try:
        raw = json.loads(_run(args + [_url(path)], timeout, f"reading {Path(path).name}"))
    except _Failed as e:
        raise StepError(f"not a readable audio or video file: {_reason(e.stderr)}") from None

    fmt = raw.get("format", {})
    streams = raw.get("streams", [])
    audio = next((s for s in streams if s.get("codec_type") == "audio"), None)
    video = next((s for s in streams if s.get("codec_type") == "video"
                  and not s.get("disposition", {}).get("attached_pic")), None)
    tags = {}
    for source in [fmt] + [s for s in (audio, video) if s]:
        for key, value in source.get("tags", {}).items():
            tags.setdefault(key.lower(), value)
    return {
        "format": fmt.get("format_name"),
        "duration": _number(fmt.get("duration"), float) or _number((audio or video or {}).get("duration"), float),
        "bit_rate": _number(fmt.get("bit_rate"), int),
        "size": _number(fmt.get("size"), int),
        "tags": tags,
        "audio": audio and {
            "index": audio["index"],
            "codec": audio.get("codec_name"),
            "profile": audio.get("profile"),
            "sample_rate": _number(audio.get("sample_rate"), int),
            "channels": audio.get("channels"),
            "bit_rate": _number(audio.get("bit_rate"), int),
            "duration": _number(audio.get("duration"), float),
        },
        "video": video and {
            "index": video["index"],
            "codec": video.get("codec_name"),
            "width": video.get("width"),
            "height": video.get("height"),
            "frame_rate": _rate(video.get("avg_frame_rate")) or _rate(video.get("r_frame_rate")),
            "pix_fmt": video.get("pix_fmt"),
            "field_order": video.get("field_order"),
            "rotation": _rotation(video),
            "duration": _number(video.get("duration"), float),
        },
    }


# -- audio ------------------------------------------------------------------------------------

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
    timeout = run_time(info["duration"], limits)

    peaks = work / "waveform.json"  # first: decoding the whole file also checks that it is readable
    if not peaks.exists():
        _waveform(original, stream["index"], peaks, timeout=timeout)
    length = _waveform_length(peaks)
    if not length:
        raise StepError("no audio could be decoded from the file")
    webm, m4a = work / "access.webm", work / "access.m4a"
    jobs = [(webm, *access_copy("audio/webm", info)), (m4a, *access_copy("audio/mp4", info))]
    with ThreadPoolExecutor(2) as pool:  # the two encoders run side by side, one per core
        for done in [pool.submit(_encode, original, indexes, target, container, options, timeout=timeout)
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


def _waveform(original: Path, index: int, target: Path, *, timeout: float) -> None:
    """Write audiowaveform-style JSON peaks, streaming 8 kHz mono s16le PCM from ffmpeg's stdout.

    Memory is one chunk of PCM plus the peaks (2 bytes per pixel: 100 bytes per second of audio).
    ffmpeg's stderr goes to a temporary file, so it can never fill a pipe and stall the decoder;
    ffmpeg is killed once it has run ``timeout`` seconds.
    """
    source = _input(original)
    args = (ffmpeg.output(source[str(index)], "pipe:", format="s16le", acodec="pcm_s16le", ac=1, ar=WAVEFORM_RATE)
            .global_args(*_QUIET).compile())
    spp = WAVEFORM_SAMPLES_PER_PIXEL
    peaks = array("b")
    with tempfile.TemporaryFile() as errors:
        try:
            proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=errors)
        except FileNotFoundError:
            raise StepError("ffmpeg is not installed") from None
        stopped = threading.Event()
        timer = threading.Timer(timeout, lambda: (stopped.set(), proc.kill()))
        timer.start()
        try:
            while chunk := proc.stdout.read(_CHUNK_PIXELS * spp * 2):
                samples = array("h", chunk[: len(chunk) // 2 * 2])
                if sys.byteorder == "big":
                    samples.byteswap()
                for start in range(0, len(samples), spp):
                    block = samples[start:start + spp]
                    peaks.append(min(block) >> 8)
                    peaks.append(max(block) >> 8)
        except BaseException:  # interrupted: stop ffmpeg rather than leave it running
            proc.kill()
            proc.wait()
            raise
        finally:
            proc.stdout.close()
            timer.cancel()
        if stopped.is_set():
            proc.wait()
            raise StepError(_stopped("ffmpeg", timeout, f"making {target.name} from {Path(original).name}"))
        if proc.wait() != 0:
            errors.seek(0)
            raise StepError(f"ffmpeg could not decode the audio: {_reason(errors.read())}")
    if not peaks:
        raise StepError("no audio could be decoded from the file")

    part = target.with_name(target.name + ".part")
    with open(part, "w", encoding="ascii") as out:
        out.write(f'{{"version": 2, "channels": 1, "sample_rate": {WAVEFORM_RATE}, "samples_per_pixel": {spp}, '
                  f'"bits": 8, "length": {len(peaks) // 2}, "data": [')
        for start in range(0, len(peaks), 65536):
            out.write(("," if start else "") + ",".join(map(str, peaks[start:start + 65536])))
        out.write("]}\n")
    os.replace(part, target)


def _waveform_length(path: Path) -> int:
    """The ``length`` field of a waveform file (read from its small header, not the whole file)."""
    with open(path, encoding="ascii") as f:
        match = re.search(r'"length": (\d+)', f.read(256))
    return int(match.group(1)) if match else 0


# -- video ------------------------------------------------------------------------------------

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
    timeout = run_time(info["duration"], limits)

    interlaced = stream["field_order"] in INTERLACED
    access = work / "access.mp4"
    if not access.exists():
        indexes, container, options = access_copy("video/mp4", info)
        _encode(original, indexes, access, container, options, timeout=timeout)

    poster = work / "poster.jpg"
    duration = info["duration"]
    at = round(duration * 0.1, 3) if duration else 1.0
    if not poster.exists():
        filters = (("yadif," if interlaced else "")
                   + f"scale='trunc(iw*sar/2)*2':ih,setsar=1,scale='min({POSTER_MAX_WIDTH},iw)':-2")
        options = {"frames:v": 1, "vf": filters, "q:v": 3, "update": 1, "c:v": "mjpeg"}
        try:
            _encode(original, stream["index"], poster, "image2", options, seek=at, timeout=limits.tool_timeout)
        except StepError:  # e.g. the duration was wrong and the seek went past the end
            at = 0.0
            _encode(original, stream["index"], poster, "image2", options, seek=0, timeout=limits.tool_timeout)

    a = probe(access, formats=None, timeout=limits.tool_timeout)
    p = probe(poster, formats=None, timeout=limits.tool_timeout)["video"] or {}
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
            Derivative("poster.jpg", poster, "image/jpeg", "poster", tech={
                "width": p.get("width"), "height": p.get("height"), "time": at}),
        ],
        tech=tech,
        metadata=_suggestions(info["tags"]),
    )


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


def run_time(duration: float | None, limits: Limits) -> float:
    """Seconds one decode or encode of a recording of ``duration`` seconds may take."""
    return limits.tool_timeout + limits.tool_timeout_ratio * min(duration or 0, limits.max_media_seconds)


class _Failed(Exception):
    def __init__(self, stderr: bytes):
        self.stderr = stderr


def _run(args: list[str], timeout: float, what: str) -> bytes:
    """Run ffmpeg or ffprobe (``args[0]``); its stdout. _Failed (with stderr) if it fails;
    StepError if it is missing or still runs after ``timeout`` seconds (it is killed)."""
    try:
        done = subprocess.run(args, stdin=subprocess.DEVNULL, capture_output=True, timeout=timeout)
    except FileNotFoundError:
        raise StepError(f"{args[0]} is not installed") from None
    except subprocess.TimeoutExpired:
        raise StepError(_stopped(args[0], timeout, what)) from None
    if done.returncode != 0:
        raise _Failed(done.stderr)
    return done.stdout


def _stopped(tool: str, timeout: float, what: str) -> str:
    return (f"{tool} was stopped after {timeout:g} s {what}: the file is damaged or too demanding "
            f"(the limit is the setting TOOL_TIMEOUT)")


# -- helpers ----------------------------------------------------------------------------------

def _url(path) -> str:
    """An absolute ``file:`` URL, so no file name is read as an option or another protocol."""
    return "file:" + str(Path(path).absolute())


def _input(original: Path, **options):
    """The original as an ffmpeg input limited to local files and the accepted demuxers."""
    return ffmpeg.input(_url(original), protocol_whitelist="file", format_whitelist=FORMATS, **options)


def access_copy(media_type: str, info: dict) -> tuple[list[int], str, dict]:
    """How the access copy of type ``media_type`` (audio/webm, audio/mp4, video/mp4) is encoded
    from an original (``info``: its ``probe``): the stream indexes, the container and ffmpeg's
    options. Redacted copies (oral_history.redaction) are made the same way, from the original."""
    sound, picture = info["audio"], info["video"]
    channels = min((sound or {}).get("channels") or 2, 2)  # mono stays mono, more → stereo
    if media_type == "video/mp4":
        interlaced = picture["field_order"] in INTERLACED
        options = {"c:v": "libx264", "preset": "veryfast", "crf": 23, "movflags": "+faststart",
                   "vf": ("yadif," if interlaced else "") + f"scale=-2:'2*trunc(min({MAX_HEIGHT},ih)/2)',format=yuv420p"}
        if sound:
            options.update({"c:a": "aac", "b:a": "128k", "ac": channels})
        return [picture["index"]] + ([sound["index"]] if sound else []), "mp4", options
    container, options = {"audio/webm": ("webm", {"c:a": "libopus", "b:a": "64k"}),
                          "audio/mp4": ("mp4", {"c:a": "aac", "b:a": "96k", "movflags": "+faststart"})}[media_type]
    return [sound["index"]], container, {**options, "ac": channels}


def _encode(original: Path, indexes, target: Path, fmt: str, options: dict, seek: float | None = None, *,
            timeout: float) -> None:
    """Run one ffmpeg encode of the given stream indexes to ``target`` via ``target.part``,
    for at most ``timeout`` seconds."""
    source = _input(original, **({"ss": seek} if seek is not None else {}))
    indexes = indexes if isinstance(indexes, list) else [indexes]
    part = target.with_name(target.name + ".part")
    stream = ffmpeg.output(*[source[str(i)] for i in indexes], _url(part), format=fmt, **options)
    try:
        _run(stream.global_args(*_QUIET).compile(overwrite_output=True), timeout,
             f"making {target.name} from {Path(original).name}")
    except _Failed as e:
        part.unlink(missing_ok=True)
        raise StepError(f"ffmpeg could not make {target.name}: {_reason(e.stderr)}") from None
    except StepError:
        part.unlink(missing_ok=True)
        raise
    if not part.exists() or part.stat().st_size == 0:
        part.unlink(missing_ok=True)
        raise StepError(f"ffmpeg could not make {target.name}: nothing could be decoded")
    os.replace(part, target)


def _reason(stderr: bytes | None) -> str:
    """ffmpeg's last stderr line, after the line before it (usually the specific cause).

    The file URL and the ``[demuxer @ 0x…]`` prefixes are removed: the pipeline names the file.
    """
    lines = []
    for line in (stderr or b"").decode("utf-8", "replace").splitlines():
        line = re.sub(r"^file:/.*?: ", "", re.sub(r"^\[[^\]]* @ 0x[0-9a-f]+\]\s*", "", line.strip()))
        if line and line not in lines[-1:]:
            lines.append(line)
    if any("not on whitelist" in line for line in lines):
        return "this container format is not accepted"
    return "; ".join(lines[-2:]) or "unknown error"


def _number(value, kind):
    """``kind(value)``, or None for missing or "N/A" values."""
    try:
        return kind(value)
    except (TypeError, ValueError):
        return None


def _rate(value: str | None) -> float | None:
    """A frame rate "30000/1001" → 29.97 (None for "0/0")."""
    num, _, den = (value or "").partition("/")
    try:
        return round(int(num) / int(den or 1), 3) or None
    except (ValueError, ZeroDivisionError):
        return None


def _rotation(stream: dict) -> int:
    """ffprobe's display rotation in degrees (phone videos; ffmpeg turns the picture upright)."""
    for side in stream.get("side_data_list", []):
        if "rotation" in side:
            return int(side["rotation"])
    return 0


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
