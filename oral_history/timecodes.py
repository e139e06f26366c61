"""Times, speakers and the errors every transcript reader shares.

Times are seconds as floats rounded to the millisecond, so reading, writing and reading a
timestamp again gives the same number. ``TranscriptError`` names the file, the line and the
problem in words an archivist can act on.
"""
from __future__ import annotations

import re

DURATION_SLACK = 0.5  # seconds a time may pass the media's measured duration (rounding by encoders)


def within_recording(start: float, end: float, duration: float | None, warn, kind: str) -> float | None:
    """The end a cue (of WebVTT or SRT, ``kind`` "vtt" or "srt") may keep in a recording of
    ``duration``: None when it starts after the end (skipped), the end when it runs past it (cut
    there, as a player stops), each with a warning ``warn(code, **values)``."""
    if duration is None or end <= duration + DURATION_SLACK:
        return end
    if start >= duration:
        warn(f"{kind}.after_end", start=clock(start), end=clock(duration))
        return None
    warn(f"{kind}.clipped", end=clock(end), duration=clock(duration))
    return duration


class OralHistoryError(Exception):
    """Base of every error raised by the oral-history package."""


class TranscriptError(OralHistoryError, ValueError):
    """A transcript or index file cannot be read: ``name``, ``line`` (1-based, or None) and
    ``problem``; ``problems`` lists (line, problem) pairs when there are several."""

    def __init__(self, name: str, line: int | None, problem: str,
                 problems: list[tuple[int | None, str]] | None = None):
        self.name, self.line, self.problem = name, line, problem
        self.problems = problems or [(line, problem)]
        where = f"{name} line {line}" if line else name
        super().__init__(f"{where}: {problem}")


def seconds(ms: int) -> float:
    """A whole number of milliseconds as seconds."""
    return ms / 1000


def to_ms(value: float) -> int:
    return round(value * 1000)


def clock(value: float, *, sep: str = ".", always_ms: bool = True) -> str:
    """Seconds as ``hh:mm:ss.ttt`` (``sep`` "," for SRT); without ``always_ms``, whole seconds
    are written ``hh:mm:ss``."""
    ms = to_ms(value)
    h, rest = divmod(ms, 3_600_000)
    m, rest = divmod(rest, 60_000)
    s, ms = divmod(rest, 1000)
    text = f"{h:02d}:{m:02d}:{s:02d}"
    return f"{text}{sep}{ms:03d}" if always_ms or ms else text


_CLOCK = re.compile(r"^(?:(\d+):)?(\d{1,2}):(\d{1,2})(?:[.,](\d{1,3}))?$")


def parse_clock(text: str) -> float | None:
    """A lenient ``[h:]mm:ss[.ttt]`` or plain seconds → seconds; None when it is neither.
    Minutes and seconds above 59 are refused."""
    text = text.strip()
    if re.fullmatch(r"\d+(?:\.\d{1,3})?", text):
        return round(float(text), 3)
    m = _CLOCK.match(text)
    if not m or int(m[2]) > 59 or int(m[3]) > 59:
        return None
    fraction = int((m[4] or "0").ljust(3, "0"))
    return seconds(((int(m[1] or 0) * 60 + int(m[2])) * 60 + int(m[3])) * 1000 + fraction)


# A speaker prefix: "张阿婆：", "采访者:", "Q:" — a name without spaces, not starting with a digit
# (so "10:30" is not a speaker) and not a URL scheme ("http://").
_NOT_NAME = r"\s:：,，。!?！？()（）\[\]【】\"“”<>"
_SPEAKER = re.compile(rf"^\s*([^{_NOT_NAME}\d.'‘’][^{_NOT_NAME}]{{0,15}})\s*[：:](?!//)\s*")


def split_speaker(line: str) -> tuple[str | None, str]:
    """("张阿婆", "我小辰光…") from "张阿婆：我小辰光…"; (None, line) when there is no prefix."""
    m = _SPEAKER.match(line)
    if not m:
        return None, line.strip()
    return m[1], line[m.end():].strip()
