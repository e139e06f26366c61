"""WebVTT: reading a real-looking Wuxi-dialect transcript, writing it back, and every skipped
cue's warning naming its line (browser-parsing cases are in test_webvtt_parsing.py)."""
from pathlib import Path

import pytest

from oral_history.model import Cue, Interview, Segment, Transcript
from oral_history.timecodes import OralHistoryError, TranscriptError
from oral_history.webvtt import cue_text, export_webvtt, read_webvtt, write_webvtt
from tests.helpers import english

FIXTURES = Path(__file__).with_name("fixtures")


def read(text: str, **kw):
    return read_webvtt("采访_张.vtt", text, **kw)[0]


def error(text: str, **kw) -> TranscriptError:
    with pytest.raises(TranscriptError) as exc:
        read(text, **kw)
    return exc.value


def test_reads_speakers_dialect_skips_notes_and_keeps_styles_and_settings():
    transcript, header = read_webvtt("采访_张.vtt", (FIXTURES / "采访_张.vtt").read_text("utf-8"))
    assert header == {"language": "wuu"}
    assert transcript.language == "wuu"  # the Language: header wins over the default
    assert transcript.cues == [
        Cue(0.0, 4.5, "阿婆，倷小辰光住勒啥地方？", "采访者", "align:start line:90%"),
        Cue(4.5, 12.0, "伲屋里向住勒南长街，清名桥旁边。\n开一爿豆腐店。", "张阿婆"),
        # <v.soft …> classes, <i> and &amp; are markup, not words
        Cue(12.0, 20.25, "夜里三点钟就要起来磨豆腐，交关辛苦 & 冷。", "张阿婆"),
        # a second voice in one cue keeps its words, named
        Cue(20.25, 25.0, "后来呢？\n张阿婆：后首来店关脱哉。", "采访者"),
    ]
    assert transcript.blocks == ['STYLE\n::cue(v[voice="张阿婆"]) { color: yellow }']


def test_hours_minutes_and_crlf_line_endings():
    t = read("WEBVTT\r\n\r\n01:02:03.004 --> 01:02:05.000\r\n交关闹猛\r\n\r\n"
             "100:00:00.000 --> 100:00:01.500\r\n长录音\r\n")
    assert [(c.start, c.end) for c in t.cues] == [(3723.004, 3725.0), (360000.0, 360001.5)]


def test_cue_text_without_voice_has_no_speaker():
    assert cue_text(["<c.yellow>惠山</c>泥人", "<00:00:01.000>大阿福"]) == (None, "惠山泥人\n大阿福")
    assert cue_text(["<v.loud Esme Smith>Hello &lt;there&gt;</v>"]) == ("Esme Smith", "Hello <there>")


def test_write_then_read_is_exact():
    original = Transcript("wuu", [
        Cue(0.0, 1.5, "阿婆 <讲> & 笑", "张阿婆"),
        Cue(1.5, 3.001, "第一行\n第二行", None),
        Cue(3723.25, 3725.999, "后首来 --> 关脱哉", "采访者 A&B"),
    ])
    text = write_webvtt(original)
    assert text.startswith("WEBVTT\n\n00:00:00.000 --> 00:00:01.500\n<v 张阿婆>阿婆 &lt;讲&gt; &amp; 笑\n")
    assert read(text, language="wuu") == original


def test_fixture_round_trips_through_the_writer():
    first, _ = read_webvtt("a.vtt", (FIXTURES / "采访_张.vtt").read_text("utf-8"))
    again = read(write_webvtt(first), language=first.language)
    assert again == first


def warnings_of(text: str, **kw) -> tuple[list[Cue], list[str]]:
    found: list = []
    return read(text, warnings=found, **kw).cues, english(found)


@pytest.mark.parametrize("text", ["", "WEBVTT-ish\n\n00:01.000 --> 00:02.000\n嗯\n", "\n\nWEBVTT\n", "webvtt\n"])
def test_only_a_file_without_the_signature_is_refused(text):
    exc = error(text)
    assert exc.line == 1 and "missing WEBVTT header" in exc.problem
    assert str(exc).startswith("采访_张.vtt line 1: ")


@pytest.mark.parametrize("text, line, problem", [
    ("WEBVTT\n\n1\n00:01.000 -> 00:02.000\n嗯\n", 4,
     "cue skipped: bad timing line '00:01.000 -> 00:02.000' (no '-->'; use -->)"),
    ("WEBVTT\n\n00:01.000 => 00:02.000\n嗯\n", 3, "; use -->)"),
    ("WEBVTT\n\n00:01.000 — 00:02.000\n嗯\n", 3, "; use -->)"),
    ("WEBVTT\n\n00:00:01,000 --> 00:00:02,000\n嗯\n", 3, "(WebVTT puts a full stop before the milliseconds)"),
    ("WEBVTT\n\n0:01.000 --> 00:02.000\n嗯\n", 3, "is hours: hh:mm:ss.ttt"),
    ("WEBVTT\n\n00:01.000 --> 00:61.000\n嗯\n", 3, "bad end time '00:61.000': minutes and seconds run from 00 to 59"),
    ("WEBVTT\n\n00:01.00 --> 00:02.000\n嗯\n", 3, "bad start time: expected 3 digits at 00:01.…, found '00'"),
    ("WEBVTT\n\n00:05.000 --> 00:02.000\n嗯\n", 3, "cue skipped: it ends at 00:00:02.000, not after it starts "
                                                     "(00:00:05.000)"),
    ("WEBVTT\n\n00:01.000 --> 00:02.000\n嗯\n\n阿婆讲\n", 6, "text outside a cue ignored: '阿婆讲'"),
])
def test_a_bad_cue_is_skipped_with_a_warning_naming_line_and_problem(text, line, problem):
    cues, found = warnings_of(text)
    assert len(found) == 1 and problem in found[0], found
    assert found[0].startswith(f"采访_张.vtt line {line}: ")
    assert cues == ([Cue(1.0, 2.0, "嗯")] if "阿婆讲" in text else [])


def test_the_message_reads_like_the_brief():
    cues, found = warnings_of("WEBVTT\n\n" + "\n".join(f"00:0{i}.000 --> 00:0{i}.500\n句{i}\n" for i in range(3))
                              + "\n00:05.000 -> 00:06.000\n坏\n")
    assert [c.text for c in cues] == ["句0", "句1", "句2"]
    assert found == ["采访_张.vtt line 12: cue skipped: bad timing line '00:05.000 -> 00:06.000' "
                     "(no '-->'; use -->)"]


def test_times_beyond_the_recording():
    text = "WEBVTT\n\n00:01.000 --> 00:02.000\n甲\n\n00:59.000 --> 01:01.000\n乙\n"
    assert read(text, duration=61.0).cues[-1].end == 61.0
    # a browser shows a cue until the recording ends and never one that starts after it
    cues, found = warnings_of(text + "\n00:00:10.000 --> 00:00:40.000\n丙\n", duration=30.0)
    assert [(c.start, c.end, c.text) for c in cues] == [(1.0, 2.0, "甲"), (10.0, 30.0, "丙")]
    assert found == ["采访_张.vtt line 6: cue skipped: it starts at 00:00:59.000, after the end of the recording "
                     "(00:00:30.000)",
                     "采访_张.vtt line 9: cue ends at 00:00:40.000, after the end of the recording (00:00:30.000): "
                     "it ends with the recording"]
    exc = error(text, duration=0.5)  # nothing a browser would show: not this recording's transcript
    assert (exc.line, exc.problem) == (None, "every cue starts after the end of the recording (00:00:00.500): "
                                             "is this the transcript of this recording?")


def test_embedded_line_numbers_are_offset():
    _, found = warnings_of("WEBVTT\n\n00:01.000 -> 00:02.000\n嗯\n", first_line=40)
    assert found[0].startswith("采访_张.vtt line 42: ")


def test_touching_cues_and_empty_payloads_are_fine():
    t = read("WEBVTT\n\n00:01.000 --> 00:02.000\n\n00:02.000 --> 00:03.000\n嗯\n")
    assert t.cues == [Cue(1.0, 2.0, "", None), Cue(2.0, 3.0, "嗯", None)]


def test_interview_export_is_public_unless_asked():
    interview = Interview(duration=30, segments=[Segment(0, "南长街"), Segment(10, "躲日本兵", restricted=True)],
                          transcripts=[Transcript("wuu", [Cue(0, 5, "伲屋里向住勒南长街。", "张阿婆"),
                                                          Cue(12, 20, "日本兵来个辰光伲躲勒后头。", "张阿婆")]),
                                       Transcript("zh", [Cue(0, 5, "我家住在南长街。")], kind="rendering")])
    public = export_webvtt(interview)
    assert "南长街" in public and "日本兵" not in public
    assert "日本兵" in export_webvtt(interview, public=False)
    assert read(export_webvtt(interview, language="zh")).cues == [Cue(0, 5, "我家住在南长街。")]
    with pytest.raises(OralHistoryError, match="no transcript"):
        export_webvtt(Interview())
