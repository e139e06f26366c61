"""Transcript files in, whatever their format and encoding.

``read_transcript(name, data)`` is the one entry point ingest uses: it decodes the bytes
(UTF-8 with or without BOM, UTF-16 with BOM, GB18030, Big5), tells the format from the name and
the content (``detect_format``) and reads WebVTT, SRT, text with ``[hh:mm:ss]`` timecodes or
OHMS XML into transcripts, index segments and metadata.
"""
from __future__ import annotations

import codecs
import functools
import re
from pathlib import PurePath

import charset_normalizer

from repository.model import LANG_RE
from repository.notices import Notice, part

from .model import Cue, Segment, Transcript
from .ohms import NS, language_tag, read_ohms
from .timecodes import TranscriptError, clock, parse_clock, seconds, split_speaker, to_ms, within_recording
from .webvtt import ARROWISH, LINE_BREAK, LOOKS_TIMED, TAG, blocks, read_webvtt

FORMATS = ("webvtt", "srt", "text", "ohms")
EXTENSIONS = {".vtt": "webvtt", ".srt": "srt", ".txt": "text", ".text": "text", ".xml": "ohms"}
# language tags recognised in a file name such as 采访_张.wuu.vtt
NAME_LANGUAGES = {"zh", "zh-Hans", "zh-Hant", "cmn", "wuu", "yue", "nan", "hak", "en", "ja"}
CHARS_PER_SECOND = 4  # speech rate for timing the last cue of a text without a known duration
MAX_NOTICES = 5  # damaged lines named one by one; the others counted
MAX_BYTES = 16 << 20  # a transcript or OHMS file is read whole into memory: larger ones are refused


# --- encodings ----------------------------------------------------------------------------------

def decode_text(name: str, data: bytes, warnings: list[Notice] | None = None) -> tuple[str, str]:
    """(text, encoding) of a transcript file: a BOM decides (UTF-8, UTF-16, UTF-32); else UTF-8;
    else GB18030 or Big5, whichever charset-normalizer finds coherent; else TranscriptError.
    A UTF-8 file with a few damaged bytes is decoded as browsers and players decode it (WebVTT
    §6.1: "UTF-8 decode", each bad byte U+FFFD), each damaged line a warning in ``warnings``."""
    for bom, encoding in ((codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF32_LE, "utf-32"),
                          (codecs.BOM_UTF32_BE, "utf-32"), (codecs.BOM_UTF16_LE, "utf-16"),
                          (codecs.BOM_UTF16_BE, "utf-16")):
        if data.startswith(bom):
            try:
                return _text_only(name, data.decode(encoding)), encoding
            except UnicodeDecodeError as exc:
                raise TranscriptError(name, None, f"starts with a {encoding.upper()} byte order mark but is "
                                                  f"not {encoding.upper()} text ({exc.reason})") from exc
    try:
        return _text_only(name, data.decode("utf-8")), "utf-8"
    except UnicodeDecodeError as exc:
        good = data[:exc.start].decode("utf-8")
        if sum(ord(ch) > 0x7F for ch in good) >= 8:  # clearly UTF-8 so far: a damaged byte, not GB18030
            return _text_only(name, _damaged_utf8(name, data, warnings)), "utf-8"
    match = charset_normalizer.from_bytes(data, cp_isolation=["gb18030", "big5"]).best()
    if match is None or match.chaos > 0.2:
        raise TranscriptError(name, None, "cannot tell the text encoding (not UTF-8, UTF-16, GB18030 or Big5); "
                              "save the file as UTF-8")
    return _text_only(name, str(match)), match.encoding


def _damaged_utf8(name: str, data: bytes, warnings: list[Notice] | None) -> str:
    text = data.decode("utf-8", "replace")
    damaged = [n for n, line in enumerate(text.split("\n"), 1) if "\ufffd" in line]
    for n in damaged[:MAX_NOTICES]:
        (warnings if warnings is not None else []).append(Notice(name, n, "text.bad_bytes"))
    if len(damaged) > MAX_NOTICES:
        (warnings if warnings is not None else []).append(Notice(name, damaged[MAX_NOTICES], "text.bad_bytes_more",
                                                                 {"count": len(damaged) - MAX_NOTICES}))
    return text


def _text_only(name: str, text: str) -> str:
    bad = re.search(r"[\x00-\x08\x0b\x0e-\x1f]", text)
    if bad:
        raise TranscriptError(name, text.count("\n", 0, bad.start()) + 1,
                              "holds control characters: this is not a text file")
    return text


def _peek(data: bytes) -> str:
    """The start of the file as text, leniently, for sniffing."""
    head = data[:4096]
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return head.decode("utf-16", "replace")
    return head.decode("utf-8", "replace").lstrip("\ufeff")


SRT_START = re.compile(r"^\d+[ \t]*\r?\n[ \t]*\d{1,3}:\d{2}:\d{2}[,.]\d{1,3}[ \t]*-->")
TIMECODE = re.compile(r"\[(\d+(?::\d+)+(?:[.,]\d+)?)\]")


def detect_format(name: str, data: bytes) -> str | None:
    """"webvtt", "srt", "text" or "ohms" from the content (a WEBVTT header, XML, an SRT first
    subtitle) and the extension (.vtt, .srt, .txt, .xml); None when it is none of these."""
    ext = PurePath(name).suffix.lower()
    head = _peek(data).lstrip()
    if head.startswith("WEBVTT"):
        return "webvtt"
    if head.startswith("<") and (ext == ".xml" or "<ROOT" in head or NS in head):
        return "ohms"
    if SRT_START.match(head):
        return "srt"
    if ext in EXTENSIONS:
        return EXTENSIONS[ext]
    return "text" if TIMECODE.search(head) else None


def language_from_name(name: str) -> str | None:
    """"wuu" from 采访_张.wuu.vtt: a known language tag before the extension."""
    tag = PurePath(PurePath(name).stem).suffix.lstrip(".")
    return tag if tag in NAME_LANGUAGES else None


# --- SRT ----------------------------------------------------------------------------------------

# SubRip as subtitle tools write it: hours optional, a comma or a full stop before 1-3 digits of
# milliseconds (or none)
SRT_TIME = re.compile(r"^(?:(\d{1,3}):)?([0-5]\d):([0-5]\d)(?:[,.](\d{1,3}))?$")
SRT_TAG = re.compile(r"\{\\[^}]*\}")  # {\an8}-style positioning left by subtitle editors


def read_srt(name: str, text: str, *, language: str = "zh", duration: float | None = None,
             warnings: list[Notice] | None = None) -> Transcript:
    """A Transcript from SubRip: blocks of ``hh:mm:ss,ttt --> hh:mm:ss,ttt`` and text; formatting
    tags are dropped and a "张阿婆：" prefix names the speaker. Read as leniently as players do:
    sequence numbers may be missing or wrong, blank lines may be doubled or split a subtitle's
    text, times may use a full stop; a subtitle with a bad timing line or that ends before it
    starts is skipped and subtitles out of order are sorted, each with a warning (a ``Notice``)
    appended to ``warnings``."""
    found = warnings if warnings is not None else []
    warn = lambda line, code, **args: found.append(Notice(name, line, code, args))  # noqa: E731
    lines = LINE_BREAK.split(text.lstrip("\ufeff"))
    cues, starts, previous, late = [], [], None, 0  # previous: the subtitle text after a blank line continues
    for start, block in blocks(lines, 0):
        k = 1 if block[0].strip().isdigit() else 0  # the sequence number, whatever it says
        if k == 1 and len(block) < 2:
            continue  # a number before a doubled blank line
        raw, line = block[k].strip(), start + k + 1
        m = re.match(r"^(\S+)[ \t]*-->[ \t]*(\S+)", raw)
        if not m and k == 0 and "-->" not in raw and not LOOKS_TIMED.match(raw):
            if previous is None:
                warn(line, "srt.text_outside", text=raw[:40])
            else:  # a blank line inside a subtitle's text
                previous.text = "\n".join(w for w in [previous.text, *_srt_words(block)] if w)
            continue
        previous = None
        if not m:
            warn(line, "srt.bad_timing_use" if ARROWISH.search(raw) else "srt.bad_timing", raw=raw[:60])
            continue
        times = [_srt_time(m[g]) for g in (1, 2)]
        if None in times:
            which, bad = next((w, m[g]) for w, g, t in (("start", 1, times[0]), ("end", 2, times[1])) if t is None)
            warn(line, "srt.bad_time", which=part(f"term.{which}"), time=bad[:30])
            continue
        begin, end = times
        if end <= begin:
            warn(line, "srt.end_before_start", start=clock(begin), end=clock(end))
            continue
        end = within_recording(begin, end, duration, functools.partial(warn, line), "srt")
        if end is None:
            late += 1
            continue
        if starts and begin < starts[-1][1]:
            warn(line, "srt.out_of_order", start=clock(begin), previous_line=starts[-1][0],
                 previous=clock(starts[-1][1]))
        words = _srt_words(block[k + 1:])
        speaker, first = split_speaker(words[0]) if words else (None, "")
        starts.append((line, begin))
        previous = Cue(begin, end, "\n".join(w for w in [first, *words[1:]] if w), speaker)
        cues.append(previous)
    if late and not cues:
        raise TranscriptError(name, None, f"every subtitle starts after the end of the recording ({clock(duration)}): "
                                          "is this the transcript of this recording?")
    cues.sort(key=lambda cue: cue.start)
    return Transcript(language=language, cues=cues)


def _srt_words(lines: list[str]) -> list[str]:
    return [SRT_TAG.sub("", TAG.sub("", w)).strip() for w in lines]


def _srt_time(text: str) -> float | None:
    m = SRT_TIME.match(text)
    if not m:
        return None
    h, mi, s = int(m[1] or 0), int(m[2]), int(m[3])
    return seconds(((h * 60 + mi) * 60 + s) * 1000 + int((m[4] or "0").ljust(3, "0")))


# --- text with [hh:mm:ss] timecodes -------------------------------------------------------------

def read_timecoded_text(name: str, text: str, *, language: str = "zh", duration: float | None = None,
                        warnings: list[Notice] | None = None) -> Transcript:
    """A Transcript from text with ``[hh:mm:ss]`` or ``[mm:ss]`` timecodes, each starting a cue
    that lasts until the next (the last until ``duration``, else for as long as its words take
    to say at about four characters a second). "张阿婆：" or "张阿婆:" names the speaker.
    A timecode that is bad, not after the one before or past the recording is ignored (its words
    join the passage before), as is text before the first timecode, each with a warning
    appended to ``warnings``; a text without a usable timecode is refused."""
    found_notices = warnings if warnings is not None else []
    warn = lambda line, code, **args: found_notices.append(Notice(name, line, code, args))  # noqa: E731
    text = LINE_BREAK.sub("\n", text.lstrip("\ufeff"))
    line_of = lambda pos: text.count("\n", 0, pos) + 1  # noqa: E731
    marks = list(TIMECODE.finditer(text))
    if not marks:
        raise TranscriptError(name, None, "has no [hh:mm:ss] timecodes")
    before = text[:marks[0].start()]
    if before.strip():
        warn(line_of(len(before) - len(before.lstrip())), "text.before_first", text=before.strip()[:40])
    found: list[list] = []  # [line, start, chunks of words]
    for i, m in enumerate(marks):
        line = line_of(m.start())
        chunk = text[m.end():marks[i + 1].start() if i + 1 < len(marks) else len(text)]
        start = parse_clock(m[1]) if m[1].count(":") <= 2 else None
        if start is None:
            warn(line, "text.bad_timecode", mark=m[0])
        elif found and start <= found[-1][1]:
            warn(line, "text.not_after", mark=m[0], previous_line=found[-1][0], previous=clock(found[-1][1]))
        elif duration is not None and start >= duration:
            warn(line, "text.after_end", mark=m[0], end=clock(duration))
        else:
            found.append([line, start, [chunk]])
            continue
        if found:
            found[-1][2].append(chunk)
    if not found:
        raise TranscriptError(name, line_of(marks[0].start()), "has no usable [hh:mm:ss] timecode "
                                                            "(use [hh:mm:ss] or [mm:ss])")
    passages = []
    for _, start, chunks in found:
        parts = [p.strip() for p in "\n".join(chunks).split("\n") if p.strip()]
        speaker, first = split_speaker(parts[0]) if parts else (None, "")
        passages.append((start, speaker, "\n".join(p for p in [first, *parts[1:]] if p)))
    cues = []
    for i, (start, speaker, words) in enumerate(passages):
        if i + 1 < len(passages):
            end = passages[i + 1][0]
        elif duration is not None:
            end = duration
        else:
            end = seconds(to_ms(start + max(1.0, len(words) / CHARS_PER_SECOND)))
        if words:
            cues.append(Cue(start, end, words, speaker))
    return Transcript(language=language, cues=cues)


def _xml_bytes(name: str, data: bytes, warnings: list[Notice]) -> bytes:
    """XML with a BOM or an encoding declaration goes to the parser as it is; XML without either
    must be UTF-8 (XML 1.0 §4.3.3), so GB18030 or Big5 saved without a declaration is decoded here."""
    if data.startswith((codecs.BOM_UTF8, codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)) or \
            re.match(rb"\s*<\?xml[^>]*encoding\s*=", data[:200]):
        return data
    try:
        data.decode("utf-8")
        return data
    except UnicodeDecodeError:
        return decode_text(name, data, warnings)[0].encode("utf-8")


# --- the entry point ----------------------------------------------------------------------------

def read_transcript(name: str, data: bytes, *, duration: float | None = None, language: str | None = None,
                    ohms_schema: str | None = None) -> tuple[list[Transcript], list[Segment], dict]:
    """Transcripts, index segments and metadata from a transcript or OHMS file.

    ``duration`` (seconds, the recording's) bounds every time; ``language`` is the transcript's
    language when the file does not say (default: a tag in the name, else "zh"); with
    ``ohms_schema`` (the path of ``ohms.xsd``) OHMS files are validated first. Metadata always
    holds ``format``; text formats add ``encoding``, OHMS the record's fields; ``warnings``
    lists what was skipped or changed (``Notice``s), when anything was.
    Raises TranscriptError naming the file, line and problem.
    """
    if len(data) > MAX_BYTES:
        raise TranscriptError(name, None, f"is larger than {MAX_BYTES >> 20} MiB, the limit for a transcript "
                                          "or OHMS file")
    fmt = detect_format(name, data)
    if fmt is None:
        raise TranscriptError(name, None, "is not a transcript Fangzhi can read: WebVTT (.vtt), SRT (.srt), "
                                          "text with [hh:mm:ss] timecodes (.txt) or OHMS XML (.xml)")
    if fmt == "ohms":
        damaged: list[Notice] = []
        transcripts, segments, meta = read_ohms(name, _xml_bytes(name, data, damaged), duration=duration,
                                                schema=ohms_schema)
        if damaged:
            meta["warnings"] = damaged + meta.get("warnings", [])
        return transcripts, segments, meta
    warnings: list[Notice] = []
    text, encoding = decode_text(name, data, warnings)
    language = language or language_from_name(name) or "zh"
    meta: dict = {"format": fmt, "encoding": encoding}
    if fmt == "webvtt":
        transcript, header = read_webvtt(name, text, language=language, duration=duration, warnings=warnings)
        if header:
            meta["header"] = header
    elif fmt == "srt":
        transcript = read_srt(name, text, language=language, duration=duration, warnings=warnings)
    else:
        transcript = read_timecoded_text(name, text, language=language, duration=duration, warnings=warnings)
    if warnings:
        meta["warnings"] = warnings
    if not LANG_RE.match(transcript.language):
        transcript.language = language_tag(transcript.language, language)
    return [transcript], [], meta
