"""WebVTT (W3C WebVTT, Candidate Recommendation 2019) read and write, for transcripts.

Reading follows the standard's parsing algorithm (§6), so a file imports with the cues a
browser plays: overlapping cues are kept, a cue a browser drops is skipped with a warning
naming the file, line and reason, and only a file without the ``WEBVTT`` signature is refused.
Cue settings and the STYLE and REGION blocks are kept as written and written back; NOTE
blocks are skipped; voice spans ``<v 张阿婆>…</v>`` give the speaker.
"""
from __future__ import annotations

import functools
import html
import re

from repository.notices import Notice, part

from .model import Cue, Interview, Transcript, public_view
from .timecodes import OralHistoryError, TranscriptError, clock, seconds, within_recording

LINE_BREAK = re.compile(r"\r\n|\r|\n")  # §4.1: a WebVTT line terminator is CRLF, LF or CR
LOOKS_TIMED = re.compile(r"^\s*\d+:\d")
ARROWISH = re.compile(r"\d\s*(?:-+|=+|—|–|→)>?\s*\d")
# §4.2.2 voice span start tag: "<v" with optional classes, whitespace, then the annotation (the name)
VOICE = re.compile(r"<v(?:\.[^\s>]*)*[ \t\f]+([^>\n]*)>|</v>")
BREAK = re.compile(r"<br\s*/?>", re.I)
TAG = re.compile(r"<[^>\n]*>")  # other spans (c, i, b, u, ruby, rt, lang) and inner timestamps
SPACE = " \t\n\f\r"  # §6.1 (ASCII whitespace around "-->" and between cue settings)
DIGITS = re.compile(r"[0-9]+")


class BadTiming(ValueError):
    """A cue timing line the §6.3 algorithm fails on: the browser drops the cue. ``part`` says
    why (a notice part, ``repository.notices.part``)."""

    def __init__(self, code: str, **args):
        self.part = part(code, **args)
        super().__init__(code)


def read_webvtt(name: str, text: str, *, language: str = "zh", duration: float | None = None,
                first_line: int = 1, warnings: list[Notice] | None = None) -> tuple[Transcript, dict]:
    """A Transcript from WebVTT text and the header's ``Key: value`` lines (lower-case keys).

    Parsed by the W3C "WebVTT file parsing" algorithm (§6.1): every cue a browser keeps is kept;
    a cue it drops (bad timing line) is skipped, as are cues that end before they start or start
    after the end of the recording (never shown; one that ends after it ends with it), each with a warning (a ``Notice``: file, line, code) appended to ``warnings``. Only a file
    without the ``WEBVTT`` signature, or whose every cue is past the recording, is refused. ``first_line`` is the line number of the text's
    first line, for a VTT embedded in another file (OHMS ``vtt_transcript``). A ``Language:``
    header overrides ``language``.
    """
    found = warnings if warnings is not None else []
    at = lambda i: i + first_line  # noqa: E731 — index → line number
    warn = lambda i, code, **args: found.append(Notice(name, at(i), code, args))  # noqa: E731
    # §6.1 steps 1-2: NULs become U+FFFD, CRLF and CR become LF (one BOM is dropped by decoding)
    lines = LINE_BREAK.split(text.removeprefix("\ufeff").replace("\0", "\ufffd"))

    # §6.1 steps 3-5: "WEBVTT", then nothing, a space, a tab or a line terminator
    if not (lines[0] == "WEBVTT" or lines[0].startswith(("WEBVTT ", "WEBVTT\t"))):
        raise TranscriptError(name, at(0), f"missing WEBVTT header: the first line must be WEBVTT "
                                           f"(found {lines[0][:40]!r})")
    # §6.1 step 9: the header block ends at an empty line or before a line holding "-->"
    header, i = {}, 1
    while i < len(lines) and lines[i] and "-->" not in lines[i]:
        key, sep, value = lines[i].partition(":")
        if sep:
            header[key.strip().lower()] = value.strip()
        i += 1
    language = header.get("language") or language

    cues, starts, seen_cue, kept, late = [], [], False, [], 0
    while i < len(lines):  # §6.1 step 12, the block loop
        if not lines[i]:
            i += 1
            continue
        begin_at, i, timing, buffer = _block(lines, i)
        first = lines[begin_at]
        if timing is None:
            if buffer and re.match(r"(STYLE|REGION)[ \t]*$", buffer[0]):
                if seen_cue:  # §6.1 step 12.3: only before the first cue
                    warn(begin_at, "vtt.block_after_cue", block=buffer[0].strip())
                elif len(buffer) > 1:
                    kept.append("\n".join(buffer))
                continue
            if re.match(r"NOTE([ \t]|$)", first):
                continue
            timed = [j for j, text in enumerate(buffer[:2]) if LOOKS_TIMED.match(text)]
            if timed:  # a timing line without "-->": the browser sees no cue
                raw = buffer[timed[0]].strip()
                warn(begin_at + timed[0], "vtt.no_arrow_use" if ARROWISH.search(raw) else "vtt.no_arrow",
                     raw=raw[:60])
            else:
                warn(begin_at, "vtt.text_outside", text=first[:40])
            continue
        line, raw = timing
        try:
            start, end, settings = _timings(raw)
        except BadTiming as exc:
            warn(line, "vtt.bad_timing", raw=raw.strip()[:60], detail=exc.part)
            continue
        seen_cue = True
        if end <= start:  # kept by the parser but never shown: not a cue an archive can hold
            warn(line, "vtt.end_before_start", start=clock(start), end=clock(end))
            continue
        end = within_recording(start, end, duration, functools.partial(warn, line), "vtt")  # never past the end
        if end is None:
            late += 1
            continue
        if starts and start < starts[-1][1]:
            warn(line, "vtt.out_of_order", start=clock(start), previous_line=at(starts[-1][0]),
                 previous=clock(starts[-1][1]))
        speaker, words = cue_text(buffer)
        starts.append((line, start))
        cues.append(Cue(start, end, words, speaker, settings))
    if late and not cues:  # a browser would show nothing: the transcript of another recording
        raise TranscriptError(name, None, f"every cue starts after the end of the recording ({clock(duration)}): "
                                          "is this the transcript of this recording?")
    # HTML "text track cue order": by start time, then in file order (a stable sort)
    cues.sort(key=lambda cue: cue.start)
    return Transcript(language=language, cues=cues, blocks=kept), header


def _block(lines: list[str], i: int) -> tuple[int, int, tuple[int, str] | None, list[str]]:
    """§6.1 "collect a WebVTT block" from line ``i`` (in header not set): (first line, next line,
    (index, text) of the timing line or None, the payload or the block's lines)."""
    first, count, buffer, timing = i, 0, [], None
    while i < len(lines):
        line = lines[i]
        count += 1
        if "-->" in line:
            if count == 1 or (count == 2 and timing is None):
                timing, buffer = (i, line), []  # a cue identifier before it is not kept
                i += 1
                continue
            break  # the line starts the next block
        if not line:
            break
        buffer.append(line)
        i += 1
    return first, i, timing, buffer


def _timings(raw: str) -> tuple[float, float, str]:
    """§6.3 "collect WebVTT cue timings and settings": (start, end, the settings as written,
    single-spaced, without what a browser ignores). Raises BadTiming saying why."""
    pos = len(raw) - len(raw.lstrip(SPACE))
    start, pos = _timestamp(raw, pos, "start")
    pos += len(raw[pos:]) - len(raw[pos:].lstrip(SPACE))
    if not raw.startswith("-->", pos):
        raise BadTiming("timing.no_arrow_use" if ARROWISH.search(raw) else "timing.no_arrow")
    pos += 3
    pos += len(raw[pos:]) - len(raw[pos:].lstrip(SPACE))
    end, pos = _timestamp(raw, pos, "end")
    # §6.3 "parse the WebVTT cue settings": a setting without a colon inside it is ignored
    return start, end, " ".join(w for w in raw[pos:].split() if ":" in w.strip(":"))


def _timestamp(raw: str, pos: int, which: str) -> tuple[float, int]:
    """§6.3 "collect a WebVTT timestamp" at ``pos``: (seconds, position after it)."""
    term = part(f"term.{which}")

    def number(at: int, size: int | None) -> tuple[str, int]:
        m = DIGITS.match(raw, at)
        if not m or (size and len(m[0]) != size):
            if at == pos:
                raise BadTiming("timing.no_digits", which=term)
            raise BadTiming("timing.digits" if m else "timing.no_more_digits", which=term, text=raw[pos:at],
                            size=size, got=m[0] if m else "")
        return m[0], m.end()

    def sep(at: int, char: str) -> int:
        if raw[at:at + 1] != char:
            code = ("timing.comma" if raw[at:at + 1] == "," else
                    "timing.hours" if char == ":" and hours else "timing.separator")
            raise BadTiming(code, which=term, text=raw[pos:at + 1], char=char)
        return at + 1

    hours = False

    first, at = number(pos, None)
    hours = len(first) != 2 or int(first) > 59
    second, at = number(sep(at, ":"), 2)
    if hours or raw[at:at + 1] == ":":
        third, at = number(sep(at, ":"), 2)
    else:
        first, second, third = "0", first, second
    ms, at = number(sep(at, "."), 3)
    if int(second) > 59 or int(third) > 59:
        raise BadTiming("timing.sixty", which=term, text=raw[pos:at])
    return seconds(((int(first) * 60 + int(second)) * 60 + int(third)) * 1000 + int(ms)), at


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


def cue_text(lines: list[str]) -> tuple[str | None, str]:
    """(speaker, plain text) of a cue payload: the first voice span names the speaker; the words
    of any other voice are kept prefixed with "name：". Other tags are dropped, character
    references decoded (§4.2.2)."""
    speaker, voice, parts = None, None, []
    # "<br>" is no WebVTT tag (a browser drops it) but OHMS writes it between paragraphs, as its
    # viewer shows them: a line break
    text = BREAK.sub("\n", "\n".join(line.strip() for line in lines))
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
    """The transcript as WebVTT: its STYLE and REGION blocks, then one cue per Cue with its
    settings, the speaker as a voice span."""
    out = ["WEBVTT", ""]
    for block in transcript.blocks:
        out += [block, ""]
    for cue in transcript.cues:
        text = "\n".join(line.strip() for line in cue.text.split("\n") if line.strip())  # no blank line in a cue
        if cue.speaker:
            text = f"<v {_escape(cue.speaker)}>{_escape(text)}"
        else:
            text = _escape(text)
        timing = f"{clock(cue.start)} --> {clock(cue.end)}" + (f" {cue.settings}" if cue.settings else "")
        out += [timing, *([text] if text else []), ""]
    return "\n".join(out)


def export_webvtt(interview: Interview, *, language: str | None = None, public: bool = True) -> str:
    """An interview's transcript as WebVTT — the one in ``language``, else the first — from its
    public view (no restricted words) unless ``public=False``."""
    transcripts = (public_view(interview) if public else interview).transcripts
    chosen = next((t for t in transcripts if t.language == language), transcripts[0] if transcripts else None)
    if chosen is None:
        raise OralHistoryError("the interview has no transcript to export")
    return write_webvtt(chosen)
