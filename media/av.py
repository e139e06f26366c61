"""Audio and video with ffmpeg/ffprobe: what a file holds (``probe``), access copies (the
recipes of ``access_copy``, run by ``encode``), waveform peaks (``waveform``) and poster frames
(``poster``).

All media work happens in ffmpeg/ffprobe subprocesses (commands built with ffmpeg-python); Python
never holds media in memory: encoders write files, and the waveform reads decoded PCM from
ffmpeg's stdout in fixed-size chunks. Every output is written as ``<name>.part`` and renamed when
complete, so an output that exists is finished.

Inputs are opened as ``file:`` URLs with only the ``file`` protocol and the demuxers of
:data:`FORMATS` allowed, so a hostile upload cannot make ffmpeg open a playlist, a network address
or another file. Every run has a time limit (``timeout``: see ``MediaLimits``); a run past it is
stopped and fails (MediaError) saying which tool, output and file.
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
from pathlib import Path

import ffmpeg

from . import MediaError, MediaLimits
from .tools import ToolFailed, run, stopped

# Demuxers accepted for originals (ffmpeg names; "mov" covers mp4/m4a, "matroska" covers webm).
FORMATS = "wav,w64,aiff,flac,mp3,aac,ogg,mov,matroska,avi"

MAX_HEIGHT = 720  # access video: at most this many pixels high, never upscaled
INTERLACED = ("tt", "bb", "tb", "bt")  # ffprobe field orders of interlaced video
ACCESS_TYPES = ("audio/webm", "audio/mp4", "video/mp4")  # the access copies made (``access_copy``)
POSTER_MAX_WIDTH = 1280
WAVEFORM_RATE = 8000  # Hz, mono, for the waveform peaks
WAVEFORM_SAMPLES_PER_PIXEL = 160  # 50 peaks per second
_CHUNK_PIXELS = 1024  # PCM read per chunk: 1024 pixels × 160 samples × 2 bytes = 320 KiB

_QUIET = ("-nostdin", "-hide_banner", "-nostats", "-loglevel", "error")


# -- probe ------------------------------------------------------------------------------------

def probe(path, formats: str | None = FORMATS, *, timeout: float = MediaLimits.tool_timeout) -> dict:
    """Summarise ``ffprobe`` for ``path``; raise :class:`MediaError` when it is not readable media.

    Returns ``{"format", "duration", "bit_rate", "size", "tags", "audio", "video"}``: ``audio``
    and ``video`` describe the first audio stream and the first video stream that is not cover
    art (or are ``None``); ``tags`` merges container and stream tags with lower-case keys.
    ``formats`` limits the demuxers ffprobe may use (``None``: any, for our own outputs).
    """
    args = ["ffprobe", "-show_format", "-show_streams", "-of", "json", "-v", "error", "-protocol_whitelist", "file"]
    if formats:
        args += ["-format_whitelist", formats]
    try:
        raw = json.loads(run(args + [_url(path)], timeout, f"reading {Path(path).name}"))
    except ToolFailed as e:
        raise MediaError(f"not a readable audio or video file: {_reason(e.stderr)}") from None

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


# -- waveform ---------------------------------------------------------------------------------

def waveform(original: Path, index: int, target: Path, *, timeout: float) -> None:
    """Write audiowaveform-style JSON peaks (BBC audiowaveform JSON, version 2, 8-bit, mono) of
    the audio stream ``index``, streaming 8 kHz mono s16le PCM from ffmpeg's stdout.

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
            raise MediaError("ffmpeg is not installed") from None
        halted = threading.Event()
        timer = threading.Timer(timeout, lambda: (halted.set(), proc.kill()))
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
        if halted.is_set():
            proc.wait()
            raise MediaError(stopped("ffmpeg", timeout, f"making {target.name} from {Path(original).name}"))
        if proc.wait() != 0:
            errors.seek(0)
            raise MediaError(f"ffmpeg could not decode the audio: {_reason(errors.read())}")
    if not peaks:
        raise MediaError("no audio could be decoded from the file")

    part = target.with_name(target.name + ".part")
    with open(part, "w", encoding="ascii") as out:
        out.write(f'{{"version": 2, "channels": 1, "sample_rate": {WAVEFORM_RATE}, "samples_per_pixel": {spp}, '
                  f'"bits": 8, "length": {len(peaks) // 2}, "data": [')
        for start in range(0, len(peaks), 65536):
            out.write(("," if start else "") + ",".join(map(str, peaks[start:start + 65536])))
        out.write("]}\n")
    os.replace(part, target)


def waveform_length(path: Path) -> int:
    """The ``length`` field of a waveform file (read from its small header, not the whole file)."""
    with open(path, encoding="ascii") as f:
        match = re.search(r'"length": (\d+)', f.read(256))
    return int(match.group(1)) if match else 0


# -- access copies and posters ----------------------------------------------------------------

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


def encode(original: Path, indexes, target: Path, fmt: str, options: dict, seek: float | None = None, *,
           timeout: float) -> None:
    """Run one ffmpeg encode of the given stream indexes to ``target`` via ``target.part``,
    for at most ``timeout`` seconds."""
    source = _input(original, **({"ss": seek} if seek is not None else {}))
    indexes = indexes if isinstance(indexes, list) else [indexes]
    part = target.with_name(target.name + ".part")
    stream = ffmpeg.output(*[source[str(i)] for i in indexes], _url(part), format=fmt, **options)
    try:
        run(stream.global_args(*_QUIET).compile(overwrite_output=True), timeout,
            f"making {target.name} from {Path(original).name}")
    except ToolFailed as e:
        part.unlink(missing_ok=True)
        raise MediaError(f"ffmpeg could not make {target.name}: {_reason(e.stderr)}") from None
    except MediaError:
        part.unlink(missing_ok=True)
        raise
    if not part.exists() or part.stat().st_size == 0:
        part.unlink(missing_ok=True)
        raise MediaError(f"ffmpeg could not make {target.name}: nothing could be decoded")
    os.replace(part, target)


def poster(video: Path, index: int, target: Path, *, at: float, timeout: float, fit: bool = True,
           interlaced: bool = False) -> None:
    """A JPEG of the frame at ``at`` seconds of the video stream ``index``; with ``fit`` (an
    original) in square pixels, at most ``POSTER_MAX_WIDTH`` wide (deinterlaced when
    ``interlaced``), else as the video is (an access copy)."""
    options = {"frames:v": 1, "q:v": 3, "update": 1, "c:v": "mjpeg"}
    if fit:
        options["vf"] = (("yadif," if interlaced else "")
                         + f"scale='trunc(iw*sar/2)*2':ih,setsar=1,scale='min({POSTER_MAX_WIDTH},iw)':-2")
    encode(video, index, target, "image2", options, seek=at, timeout=timeout)


# -- helpers ----------------------------------------------------------------------------------

def _reason(stderr: bytes | None) -> str:
    """ffmpeg's last stderr line, after the line before it (usually the specific cause).

    The file URL and the ``[demuxer @ 0x…]`` prefixes are removed: the caller names the file.
    """
    lines = []
    for line in (stderr or b"").decode("utf-8", "replace").splitlines():
        line = re.sub(r"^file:/.*?: ", "", re.sub(r"^\[[^\]]* @ 0x[0-9a-f]+\]\s*", "", line.strip()))
        if line and line not in lines[-1:]:
            lines.append(line)
    if any("not on whitelist" in line for line in lines):
        return "this container format is not accepted"
    return "; ".join(lines[-2:]) or "unknown error"


def _url(path) -> str:
    """An absolute ``file:`` URL, so no file name is read as an option or another protocol."""
    return "file:" + str(Path(path).absolute())


def _input(original: Path, **options):
    """The original as an ffmpeg input limited to local files and the accepted demuxers."""
    return ffmpeg.input(_url(original), protocol_whitelist="file", format_whitelist=FORMATS, **options)


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
