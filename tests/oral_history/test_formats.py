"""SRT, timecoded text, encodings, format detection and the ``read_transcript`` entry point."""
import codecs
from pathlib import Path

import pytest

from oral_history.formats import (decode_text, detect_format, language_from_name, read_srt, read_timecoded_text,
                                  read_transcript)
from oral_history.model import Cue
from oral_history.timecodes import TranscriptError, clock, parse_clock, split_speaker
from tests.helpers import english

FIXTURES = Path(__file__).with_name("fixtures")
SAMPLE = "[00:00:00] 张阿婆：伲屋里向住勒南长街。\n[00:00:05] 采访者：后首来呢？\n"


def fails(call, *args, **kw) -> TranscriptError:
    with pytest.raises(TranscriptError) as exc:
        call(*args, **kw)
    return exc.value


# --- times and speakers -------------------------------------------------------------------------

def test_clock_and_parse_clock():
    assert clock(3723.004) == "01:02:03.004"
    assert clock(62.345, sep=",") == "00:01:02,345"
    assert clock(300, always_ms=False) == "00:05:00"
    assert [parse_clock(t) for t in ("0:05:00", "05:00", "1:02:03.5", "90", "12.250")] == [300, 300, 3723.5, 90, 12.25]
    assert parse_clock("00:61") is None and parse_clock("abc") is None


@pytest.mark.parametrize("line, expected", [
    ("张阿婆：伲屋里向", ("张阿婆", "伲屋里向")),
    ("采访者: 后来呢？", ("采访者", "后来呢？")),
    ("BEAM: --during Prohibition", ("BEAM", "--during Prohibition")),
    ("10:30 出门", (None, "10:30 出门")),  # a time is not a speaker
    ("见 https://example.org", (None, "见 https://example.org")),
    ("I said: fine", (None, "I said: fine")),  # spaces: a sentence, not a name
    ("伲屋里向住勒南长街。", (None, "伲屋里向住勒南长街。")),
])
def test_split_speaker(line, expected):
    assert split_speaker(line) == expected


# --- SRT ----------------------------------------------------------------------------------------

def test_reads_srt_with_speakers_and_without_formatting():
    t = read_srt("采访_张.srt", (FIXTURES / "采访_张.srt").read_text("utf-8"), language="wuu")
    assert t.language == "wuu"
    assert t.cues == [
        Cue(0.0, 4.5, "阿婆，倷小辰光住勒啥地方？", "采访者"),
        Cue(4.5, 12.0, "伲屋里向住勒南长街，清名桥旁边。\n开一爿豆腐店。", "张阿婆"),
        Cue(12.0, 20.25, "夜里三点钟就要起来磨豆腐。", None),
    ]


def srt(text: str, **kw):
    found: list = []
    cues = read_srt("a.srt", text, warnings=found, **kw).cues
    return [(c.start, c.end, c.text) for c in cues], english(found)


@pytest.mark.parametrize("text", [
    "1\n00:00:01,000 --> 00:00:02,500\n甲\n\n2\n00:00:03,000 --> 00:00:04,000\n乙\n",
    "1\n00:00:01.000 --> 00:00:02.500\n甲\n\n2\n00:00:03.000 --> 00:00:04.000\n乙\n",  # full stops
    "00:00:01,000 --> 00:00:02,500\n甲\n\n00:00:03,000 --> 00:00:04,000\n乙\n",  # no sequence numbers
    "7\n00:00:01,000 --> 00:00:02,500\n甲\n\n7\n00:00:03,000 --> 00:00:04,000\n乙\n",  # wrong ones
    "\n\n1\n00:00:01,000 --> 00:00:02,500\n甲\n\n\n\n2\n\n00:00:03,000 --> 00:00:04,000\n乙\n\n\n",  # extra blanks
    "\ufeff1\r\n00:00:01,000 --> 00:00:02,500\r\n甲\r\n\r\n2\r\n00:00:03,000 --> 00:00:04,000\r\n乙\r\n",  # BOM, CRLF
    "1\n00:01,000 --> 00:02,5\n甲\n\n2\n00:00:03 --> 00:00:04\n乙\n",  # no hours, short or no milliseconds
])
def test_srt_as_subtitle_tools_write_it(text):
    assert srt(text) == ([(1.0, 2.5, "甲"), (3.0, 4.0, "乙")], [])


def test_srt_through_read_transcript_with_bom_and_warnings():
    data = "\ufeff1\r\n00:00:01,000 --> 00:00:02,000\r\n甲\r\n\r\n2\r\n00:00:03,000 -> 00:00:04,000\r\n乙\r\n"
    (t,), _, meta = read_transcript("a.srt", data.encode("utf-8-sig"))
    assert [c.text for c in t.cues] == ["甲"]
    assert english(meta["warnings"]) == ["a.srt line 6: subtitle skipped: bad timing line '00:00:03,000 -> 00:00:04,000' "
                                "(use -->)"]


def test_srt_overlaps_and_a_blank_line_inside_a_subtitle_are_kept():
    assert srt("1\n00:00:01,000 --> 00:00:04,000\n甲\n\n第二行\n\n2\n00:00:03,000 --> 00:00:05,000\n乙\n") == (
        [(1.0, 4.0, "甲\n第二行"), (3.0, 5.0, "乙")], [])


@pytest.mark.parametrize("text, cues, warning", [
    ("1\n00:00:01,000 -> 00:00:02,000\n嗯\n", [], "line 2: subtitle skipped: bad timing line "
                                                  "'00:00:01,000 -> 00:00:02,000' (use -->)"),
    ("1\n00:00:61,000 --> 00:00:62,000\n嗯\n", [], "line 2: subtitle skipped: bad start time '00:00:61,000' "
                                                    "(use hh:mm:ss,ttt)"),
    ("1\n00:00:02,000 --> 00:00:01,000\n嗯\n", [], "line 2: subtitle skipped: it ends at 00:00:01.000, not after "
                                                    "it starts (00:00:02.000)"),
    ("1\n00:00:03,000 --> 00:00:04,000\n甲\n\n2\n00:00:01,000 --> 00:00:02,000\n乙\n",
     [(1.0, 2.0, "乙"), (3.0, 4.0, "甲")],
     "line 6: subtitle starts at 00:00:01.000, before the previous subtitle (line 2, 00:00:03.000): put in time order"),
    ("丙\n\n1\n00:00:01,000 --> 00:00:02,000\n甲\n", [(1.0, 2.0, "甲")], "line 1: text outside a subtitle ignored: '丙'"),
])
def test_a_bad_subtitle_is_skipped_with_a_warning(text, cues, warning):
    assert srt(text) == (cues, ["a.srt " + warning])


def test_srt_beyond_the_recording():
    text = "1\n00:00:01,000 --> 00:00:09,000\n嗯\n\n2\n00:00:05,000 --> 00:00:06,000\n后\n"
    assert srt(text, duration=4) == ([(1.0, 4.0, "嗯")], [  # a player shows it until the end
        "a.srt line 2: subtitle ends at 00:00:09.000, after the end of the recording (00:00:04.000): it ends with "
        "the recording",
        "a.srt line 6: subtitle skipped: it starts at 00:00:05.000, after the end of the recording (00:00:04.000)"])
    exc = fails(read_srt, "a.srt", "1\n00:00:05,000 --> 00:00:09,000\n嗯\n", duration=4)
    assert (exc.line, exc.problem) == (None, "every subtitle starts after the end of the recording (00:00:04.000): "
                                             "is this the transcript of this recording?")


# --- timecoded text -----------------------------------------------------------------------------

def test_reads_timecoded_text():
    t = read_timecoded_text("采访_张.txt", (FIXTURES / "采访_张.txt").read_text("utf-8"), duration=30)
    assert t.cues == [
        Cue(0.0, 4.0, "阿婆，倷小辰光住勒啥地方？", "采访者"),
        Cue(4.0, 12.0, "伲屋里向住勒南长街，清名桥旁边。\n开一爿豆腐店。", "张阿婆"),  # ASCII colon too
        Cue(12.0, 30.0, "夜里三点钟就要起来磨豆腐，交关辛苦。", "张阿婆"),  # [mm:ss]; ends with the recording
    ]


def test_last_cue_without_a_duration_lasts_as_long_as_its_words():
    t = read_timecoded_text("a.txt", SAMPLE)
    assert t.cues[-1] == Cue(5.0, 6.25, "后首来呢？", "采访者")  # 5 characters at about 4 a second


def test_inline_timecodes_split_a_paragraph():
    t = read_timecoded_text("a.txt", "[00:00:00] 张阿婆：老早辰光 [00:01:00] 街上交关闹猛。")
    assert [(c.start, c.text, c.speaker) for c in t.cues] == [(0, "老早辰光", "张阿婆"), (60, "街上交关闹猛。", None)]


def timecoded(text: str, **kw):
    found: list = []
    cues = read_timecoded_text("a.txt", text, warnings=found, **kw).cues
    return [(c.start, c.end, c.text) for c in cues], english(found)


@pytest.mark.parametrize("text, cues, warning", [
    ("无锡口述史\n\n[00:00:00] 甲\n[00:00:02] 乙\n", [(0, 2, "甲"), (2, 3, "乙")],
     "a.txt line 1: text before the first [hh:mm:ss] timecode ignored: '无锡口述史'"),
    ("[00:00:00] 甲\n[00:00:00] 乙\n[00:00:02] 丙\n", [(0, 2, "甲\n乙"), (2, 3, "丙")],
     "a.txt line 2: timecode [00:00:00] is not after the previous one (line 1, 00:00:00.000), ignored: the words "
     "after it join the previous passage"),
    ("[00:00:05] 甲\n\n[00:00:01] 乙\n", [(5, 6, "甲\n乙")], "a.txt line 3: timecode [00:00:01] is not after"),
    ("[00:00:00] 甲\n[00:75:00] 乙\n[00:00:02] 丙\n", [(0, 2, "甲\n乙"), (2, 3, "丙")],
     "a.txt line 2: bad timecode [00:75:00] ignored (use [hh:mm:ss] or [mm:ss]): the words after it join the "
     "previous passage"),
    ("[00:00:00] 甲\n[1:00:00:00] 乙\n", [(0, 1, "甲\n乙")], "a.txt line 2: bad timecode [1:00:00:00] ignored"),
])
def test_a_bad_timecode_is_ignored_with_a_warning(text, cues, warning):
    got, found = timecoded(text)
    assert [(s, e, t) for s, e, t in got] == cues
    assert len(found) == 1 and found[0].startswith(warning), found


def test_timecoded_text_beyond_the_recording():
    assert timecoded(SAMPLE, duration=4) == ([(0, 4, "伲屋里向住勒南长街。\n采访者：后首来呢？")], [
        "a.txt line 2: timecode [00:00:05] is after the end of the recording (00:00:04.000), ignored: the words "
        "after it join the previous passage"])
    assert fails(read_timecoded_text, "a.txt", "没有时间码").problem == "has no [hh:mm:ss] timecodes"
    exc = fails(read_timecoded_text, "a.txt", "[00:99:00] 甲\n[00:98:00] 乙\n")
    assert (exc.line, exc.problem) == (1, "has no usable [hh:mm:ss] timecode (use [hh:mm:ss] or [mm:ss])")


# --- encodings ----------------------------------------------------------------------------------

@pytest.mark.parametrize("encode, encoding", [
    (lambda s: s.encode("utf-8"), "utf-8"),
    (lambda s: codecs.BOM_UTF8 + s.encode("utf-8"), "utf-8-sig"),
    (lambda s: s.encode("utf-16"), "utf-16"),  # with its BOM
    (lambda s: codecs.BOM_UTF16_BE + s.encode("utf-16-be"), "utf-16"),
    (lambda s: s.encode("gb18030"), "gb18030"),
])
def test_decodes_chinese_encodings(encode, encoding):
    text = SAMPLE * 3
    assert decode_text("a.txt", encode(text)) == (text, encoding)


def test_decodes_big5_traditional_text():
    text = "[00:00:00] 張阿婆：我們屋裡住在南長街，開一家豆腐店。\n[00:00:05] 採訪者：後首來呢？\n"
    assert decode_text("a.txt", text.encode("big5")) == (text, "big5")


def test_gb18030_transcript_reads_through_the_entry_point():
    transcripts, _, meta = read_transcript("采访_张.txt", (FIXTURES / "采访_张.txt").read_text("utf-8").encode("gb18030"))
    assert meta == {"format": "text", "encoding": "gb18030"}
    assert transcripts[0].cues[1].text.startswith("伲屋里向住勒南长街")


def test_undecodable_bytes_name_the_file():
    exc = fails(decode_text, "采访_张.txt", bytes(range(0x80, 0x100)) * 8)
    assert str(exc).startswith("采访_张.txt: cannot tell the text encoding")


def test_a_damaged_byte_in_a_utf8_file_is_replaced_with_a_warning_naming_its_line():
    """As a browser decodes WebVTT (§6.1 "UTF-8 decode") and players decode SRT: U+FFFD."""
    data = "[00:00:00] 张阿婆：伲屋里向住勒南长街。\n[00:00:05] 采访者：".encode() + b"\xff\xfe" + "呢？\n".encode()
    (t,), _, meta = read_transcript("a.txt", data)
    assert t.cues[1].text == "\ufffd\ufffd呢？" and meta["encoding"] == "utf-8"
    assert english(meta["warnings"]) == ["a.txt line 2: bytes that are not UTF-8 (damaged or mixed encodings) "
                                         "replaced with '\ufffd'"]
    many = ("WEBVTT\n\nNOTE 南长街口述史：张阿婆\n\n"
            + "".join(f"00:00:0{i}.000 --> 00:00:0{i}.500\n南长街\n\n" for i in range(8))).encode()
    many = many.replace("街\n".encode(), "街".encode() + b"\xff\n")
    (t,), _, meta = read_transcript("a.vtt", many)
    assert len(t.cues) == 8 and english(meta["warnings"])[-1] == ("a.vtt line 21: 3 more lines with bytes that are "
                                                                  "not UTF-8 replaced with '\ufffd'")
    # XML without a declaration is read the same way (one that declares UTF-8 is the XML parser's: not well-formed)
    ohms = (FIXTURES / "采访_张.xml").read_bytes().split(b"\n", 1)[1]
    transcripts, _, meta = read_transcript("采访_张.xml", ohms.replace("豆腐店。".encode(), "豆腐店".encode() + b"\xff", 1))
    assert len(transcripts) == 2 and english(meta["warnings"]) == [
        "采访_张.xml line 22: bytes that are not UTF-8 (damaged or mixed encodings) replaced with '\ufffd'"]


def test_binary_is_not_text():
    assert "not a text file" in fails(decode_text, "a.txt", b"[00:00:00] \x00\x01\x02").problem


# --- detection and the entry point --------------------------------------------------------------

@pytest.mark.parametrize("name, data, expected", [
    ("采访_张.vtt", b"WEBVTT\n\n", "webvtt"),
    ("采访_张.txt", b"\xef\xbb\xbfWEBVTT\n\n", "webvtt"),  # content wins over the extension
    ("采访_张.vtt", b"00:01.000 --> 00:02.000\n", "webvtt"),  # and the reader says the header is missing
    ("采访_张.srt", b"1\n00:00:01,000 --> 00:00:02,000\n", "srt"),
    ("采访_张.txt", b"1\r\n00:00:01,000 --> 00:00:02,000\r\n", "srt"),
    ("采访_张.txt", "[00:00:00] 甲".encode(), "text"),
    ("采访_张", "[00:00:00] 甲".encode(), "text"),
    ("采访_张.xml", b"<?xml version='1.0'?><ROOT/>", "ohms"),
    ("export", b"<ROOT xmlns='https://www.weareavp.com/nunncenter/ohms'/>", "ohms"),
    ("采访_张.wav", b"RIFF\x00\x00WAVE", None),
    ("notes", "随便写写".encode(), None),
])
def test_detect_format(name, data, expected):
    assert detect_format(name, data) == expected


def test_read_transcript_every_format_gives_the_same_words():
    words = []
    for name in ("采访_张.vtt", "采访_张.srt", "采访_张.txt", "采访_张.xml"):
        transcripts, _, meta = read_transcript(name, (FIXTURES / name).read_bytes(), duration=300)
        assert meta["format"] == {".vtt": "webvtt", ".srt": "srt", ".txt": "text", ".xml": "ohms"}[name[-4:]]
        words.append(transcripts[0].cues[1].text)
    assert len(set(words)) == 1


def test_language_from_the_file_name_or_the_caller():
    assert language_from_name("采访_张.wuu.vtt") == "wuu"
    assert language_from_name("zhang.old.vtt") is None
    data = "[00:00:00] 甲".encode()
    assert read_transcript("采访_张.wuu.txt", data)[0][0].language == "wuu"
    assert read_transcript("采访_张.txt", data, language="yue")[0][0].language == "yue"
    assert read_transcript("采访_张.txt", data)[0][0].language == "zh"
    vtt = "WEBVTT\nLanguage: English\n\n00:01.000 --> 00:02.000\nhi\n".encode()
    assert read_transcript("a.vtt", vtt)[0][0].language == "en"  # a language name becomes a tag


def test_read_transcript_refuses_what_it_cannot_read():
    exc = fails(read_transcript, "采访_张.wav", b"RIFF\x00\x00WAVE")
    assert str(exc).startswith("采访_张.wav: is not a transcript Fangzhi can read")
    exc = fails(read_transcript, "采访_张.vtt", "00:01.000 --> 00:02.000\n嗯\n".encode("gb18030"))
    assert exc.line == 1 and "missing WEBVTT header" in exc.problem


def test_ohms_in_gb18030_with_or_without_a_declaration():
    xml = (FIXTURES / "采访_张.xml").read_text("utf-8")
    declared = xml.replace('encoding="UTF-8"', 'encoding="GB18030"').encode("gb18030")
    undeclared = xml.replace('<?xml version="1.0" encoding="UTF-8"?>\n', "").encode("gb18030")
    for data in (declared, undeclared, xml.encode("utf-16")):
        transcripts, segments, meta = read_transcript("采访_张.xml", data)
        assert meta["title"] == "张阿婆口述：南长街的豆腐店" and segments[1].title == "磨豆腐"
        assert transcripts[0].cues[1].text.startswith("伲屋里向住勒南长街")


def test_a_transcript_larger_than_the_limit_is_refused_before_it_is_decoded():
    from oral_history.formats import MAX_BYTES, read_transcript

    data = b"WEBVTT\n\n" + b"x" * MAX_BYTES
    with pytest.raises(TranscriptError, match=r"huge\.vtt: is larger than 16 MiB"):
        read_transcript("huge.vtt", data)
