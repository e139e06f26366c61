"""WebVTT (W3C WebVTT, Candidate Recommendation 2019) read and write, for transcripts.

Reading is stricter than a browser's parser, because an archivist fixing a file needs to know
what is wrong and where: a missing ``WEBVTT`` header, a malformed arrow or timestamp,
out-of-order or overlapping cues are errors naming the line. Cue settings are ignored; NOTE,
STYLE and REGION blocks are skipped; voice spans ``<v 张阿婆>…</v>`` give the speaker.
"""
from __future__ import annotations

import html
import re

from .model import Cue, Interview, Transcript, public_view
from .timecodes import OralHistoryError, Timed, TranscriptError, check_order, clock, seconds

LINE_BREAK = re.compile(r"\r\n|\r|\n")  # §4.1: a WebVTT line terminator is CRLF, LF or CR
# §4.1 WebVTT timestamp: optional hours (two or more digits), minutes and seconds 00-59, and
# exactly three digits of milliseconds after a full stop.
TIMESTAMP = re.compile(r"^(?:(\d{2,}):)?([0-5]\d):([0-5]\d)\.(\d{3})$")
TIMING = re.compile(r"^(\S+)[ \t]*-->[ \t]*(\S+)(?:[ \t]+.*)?$")  # §4.1 cue timings; settings ignored
LOOKS_TIMED = re.compile(r"^\s*\d+:\d")
ARROWISH = re.compile(r"\d\s*(?:-+|=+|—|–|→)>?\s*\d")
# §4.2.2 voice span start tag: "<v" with optional classes, whitespace, then the annotation (the name)
VOICE = re.compile(r"<v(?:\.[^\s>]*)*[ \t\f]+([^>\n]*)>|</v>")
TAG = re.compile(r"<[^>\n]*>")  # other spans (c, i, b, u, ruby, rt, lang) and inner timestamps


def read_webvtt(name: str, text: str, *, language: str = "zh", duration: float | None = None,
                first_line: int = 1) -> tuple[Transcript, dict]:
    """A Transcript from WebVTT text and the header's ``Key: value`` lines (lower-case keys).

    ``first_line`` is the line number of the text's first line, for a VTT embedded in another
    file (OHMS ``vtt_transcript``). A ``Language:`` header overrides ``language``.
    """
    lines = LINE_BREAK.split(text.lstrip("\ufeff"))
    at = lambda i: i + first_line  # noqa: E731 — index → line number

    # §4.1: the file starts with "WEBVTT", alone or followed by a space or tab and any text
    if not (lines[0] == "WEBVTT" or lines[0].startswith(("WEBVTT ", "WEBVTT\t"))):
        raise TranscriptError(name, at(0), f"missing WEBVTT header: the first line must be WEBVTT "
                                           f"(found {lines[0][:40]!r})")
    header = {}
    i = 1
    while i < len(lines) and lines[i].strip():
        if "-->" in lines[i]:
            raise TranscriptError(name, at(i), "a blank line must separate the WEBVTT header from the first cue")
        key, sep, value = lines[i].partition(":")
        if sep:
            header[key.strip().lower()] = value.strip()
        i += 1
    language = header.get("language") or language

    timed, cues = [], []
    for start, block in blocks(lines, i):
        first = block[0]
        # §4.1: NOTE comment blocks, STYLE and REGION blocks are not cues
        if re.match(r"^(NOTE|STYLE|REGION)([ \t]|$)", first):
            continue
        k = 0 if "-->" in first or LOOKS_TIMED.match(first) else 1  # an optional cue identifier first
        if k == 1 and (len(block) < 2 or not ("-->" in block[1] or LOOKS_TIMED.match(block[1]))):
            raise TranscriptError(name, at(start), f"text outside a cue: {first[:40]!r} (a cue needs a timing "
                                                   f"line 'start --> end'; is a blank line misplaced?)")
        line = at(start + k)
        begin, end = _timing(name, line, block[k])
        for j, payload in enumerate(block[k + 1:], start + k + 1):
            if "-->" in payload:  # §4.1: cue payload must not contain "-->"
                raise TranscriptError(name, at(j), "cue text cannot contain '-->' (is a blank line missing "
                                                   "before this cue?)")
        speaker, words = cue_text(block[k + 1:])
        timed.append(Timed(line, begin, end))
        cues.append(Cue(begin, end, words, speaker))
    check_order(name, timed, duration)
    return Transcript(language=language, cues=cues), header


def blocks(lines: list[str], i: int):
    """(index of first line, lines) of each block; blocks are separated by blank lines."""
    block: list[str] = []
    for j in range(i, len(lines) + 1):
        line = lines[j] if j < len(lines) else ""
        if line.strip():
            if not block:
                first = j
            block.append(line)
        elif block:
            yield first, block
            block = []


def _timing(name: str, line: int, raw: str) -> tuple[float, float]:
    m = TIMING.match(raw.strip())
    if not m:
        hint = ("use -->" if "-->" not in raw and ARROWISH.search(raw)
                else "expected start --> end, e.g. 00:01.000 --> 00:04.000")
        raise TranscriptError(name, line, f"bad timing line {raw.strip()!r} ({hint})")
    return _timestamp(name, line, m[1], "start"), _timestamp(name, line, m[2], "end")


def _timestamp(name: str, line: int, text: str, which: str) -> float:
    m = TIMESTAMP.match(text)
    if not m:
        hint = ("WebVTT puts a full stop before the milliseconds: " + text.replace(",", ".")
                if "," in text else "use mm:ss.ttt or hh:mm:ss.ttt")
        raise TranscriptError(name, line, f"bad {which} time {text!r} ({hint})")
    hours, minutes, secs, ms = (int(g or 0) for g in m.groups())
    return seconds(((hours * 60 + minutes) * 60 + secs) * 1000 + ms)


def cue_text(lines: list[str]) -> tuple[str | None, str]:
    """(speaker, plain text) of a cue payload: the first voice span names the speaker; the words
    of any other voice are kept prefixed with "name：". Other tags are dropped, character
    references decoded (§4.2.2)."""
    speaker, voice, parts = None, None, []
    text = "\n".join(line.strip() for line in lines)
    pos = 0
    for m in [*VOICE.finditer(text), None]:
        chunk = text[pos:m.start() if m else len(text)]
        words = html.unescape(TAG.sub("", chunk))
        if words.strip():
            if voice and speaker is None:
                speaker = voice
            if voice and voice != speaker and (not parts or parts[-1][0] != voice):
                words = f"\n{voice}：{words.lstrip()}"  # another speaker's words on their own line
            parts.append((voice, words))
        if m:
            voice = html.unescape(m[1]).strip() if m[1] is not None else None
            pos = m.end()
    joined = "".join(words for _, words in parts).split("\n")
    return speaker, "\n".join(line.strip() for line in joined if line.strip())


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def write_webvtt(transcript: Transcript) -> str:
    """The transcript as WebVTT: one cue per Cue, the speaker as a voice span."""
    out = ["WEBVTT", ""]
    for cue in transcript.cues:
        text = "\n".join(line.strip() for line in cue.text.split("\n") if line.strip())  # no blank line in a cue
        if cue.speaker:
            text = f"<v {_escape(cue.speaker)}>{_escape(text)}"
        else:
            text = _escape(text)
        out += [f"{clock(cue.start)} --> {clock(cue.end)}", *([text] if text else []), ""]
    return "\n".join(out)


def export_webvtt(interview: Interview, *, language: str | None = None, public: bool = True) -> str:
    """An interview's transcript as WebVTT — the one in ``language``, else the first — from its
    public view (no restricted words) unless ``public=False``."""
    transcripts = (public_view(interview) if public else interview).transcripts
    chosen = next((t for t in transcripts if t.language == language), transcripts[0] if transcripts else None)
    if chosen is None:
        raise OralHistoryError("the interview has no transcript to export")
    return write_webvtt(chosen)
