"""OHMS XML: the current and the legacy format in, the current format out (valid against the
official ohms.xsd), round trips, restricted segments in exports, and errors with their lines."""
import dataclasses
from datetime import date
from pathlib import Path

import pytest

from oral_history.model import Cue, GpsPoint, Hyperlink, Interview, Segment
from oral_history.ohms import language_tag, read_ohms, sync_marks, validate_ohms, write_ohms
from oral_history.timecodes import TranscriptError
from repository.notices import Notice
from tests.helpers import conformance, english
from web.notices import render

FIXTURES = Path(__file__).with_name("fixtures")
CURRENT = (FIXTURES / "采访_张.xml").read_bytes()
LEGACY = (FIXTURES / "legacy.xml").read_bytes()


def interview_from(transcripts, segments, meta) -> Interview:
    """What ingest does with ``read_transcript``'s answer."""
    fields = ("interviewees", "interviewers", "date", "duration", "summary", "keywords", "subjects", "languages")
    return Interview.from_dict({**{k: meta[k] for k in fields if k in meta},
                                "transcripts": [dataclasses.asdict(t) for t in transcripts],
                                "segments": [dataclasses.asdict(s) for s in segments]})


def export(interview, **kw) -> bytes:
    return write_ohms(interview, title="张阿婆口述", exported=date(2024, 5, 1), **kw)


def fails(data: bytes, **kw) -> TranscriptError:
    with pytest.raises(TranscriptError) as exc:
        read_ohms("采访_张.xml", data, **kw)
    return exc.value


def replace(data: bytes, old: str, new: str) -> bytes:
    assert old.encode() in data
    return data.replace(old.encode(), new.encode(), 1)


# --- reading ------------------------------------------------------------------------------------

def test_reads_the_current_format():
    transcripts, segments, meta = read_ohms("采访_张.xml", CURRENT)
    assert meta == {
        "format": "ohms", "title": "张阿婆口述：南长街的豆腐店", "accession": "KS-1998-003",
        "date": {"edtf": "1998-05-01", "display": "一九九八年五月一日"},  # m/d/yyyy → EDTF
        "interviewees": ["张阿婆"], "interviewers": ["李明"], "keywords": ["豆腐店", "清名桥"],
        "subjects": ["饮食业"], "duration": 300.0, "summary": "张阿婆回忆民国时期南长街家中的豆腐店。",
        "media_format": "audio", "collection": "南长街口述史", "languages": ["wuu", "zh"],
    }
    assert segments[0] == Segment(
        0.0, "童年与南长街", "伲屋里向住勒南长街", "张阿婆讲她小时候住在南长街清名桥边，家里开豆腐店。",
        ["南长街", "清名桥", "童年"], ["街巷"], [GpsPoint(31.564, 120.307, "清名桥")],
        [Hyperlink("https://zh.wikipedia.org/wiki/清名桥", "清名桥（维基百科）")])
    assert segments[1].keywords == ["豆腐", "手艺"]  # a full-width ； separates too
    assert [s.start for s in segments] == [0, 12, 20]
    verbatim, rendering = transcripts
    assert (verbatim.language, verbatim.kind, rendering.language, rendering.kind) == ("wuu", "verbatim", "zh", "rendering")
    assert verbatim.cues[1] == Cue(4.5, 12.0, "伲屋里向住勒南长街，清名桥旁边。\n开一爿豆腐店。", "张阿婆")
    assert rendering.cues[0] == Cue(0.0, 4.5, "阿婆，您小时候住在哪里？", "采访者")  # from a CDATA section


@pytest.mark.parametrize("value, fmt, display, expected", [
    ("5/1/1998", "m/d/yyyy", "", {"edtf": "1998-05-01"}),
    ("1/5/1998", "d/m/yyyy", "", {"edtf": "1998-05-01"}),
    ("1998-05", "yyyy-mm", "一九九八年五月", {"edtf": "1998-05", "display": "一九九八年五月"}),
    ("2/30/1998", "m/d/yyyy", "", {"display": "2/30/1998"}),  # no such day: kept as words, not a date
    ("民国三十七年", "", "", {"display": "民国三十七年"}),
    ("", "", "", {}),
])
def test_record_dates(value, fmt, display, expected):
    data = replace(CURRENT, '<date value="5/1/1998" format="m/d/yyyy"/>', f'<date value="{value}" format="{fmt}"/>')
    data = replace(data, "一九九八年五月一日", display)
    _, _, meta = read_ohms("采访_张.xml", data)
    assert meta.get("date", {}) == expected
    interview_from(*read_ohms("采访_张.xml", data))  # and the interview accepts it


def test_reads_the_legacy_transcript_and_sync_map():
    transcripts, segments, meta = read_ohms("legacy.xml", LEGACY)
    assert meta["format"] == "ohms-legacy" and meta["languages"] == ["zh"]  # <language>Chinese</language>
    assert [s.title for s in segments] == ["南长街", "店里的货色"]
    # "1:|3(1)|7(2)": line 0 at 0:00, line 3 at 1:00, line 7 at 2:00; speaker turns share each minute
    # by length; the last minute lasts until the record's duration (3:00); footnotes are dropped.
    assert transcripts[0].cues == [
        Cue(0.0, 60.0, "伲屋里向住勒南长街。\n老早辰光街上交关闹猛。", "张阿婆"),
        Cue(60.0, 75.652, "店里卖点啥？", "采访者"),
        Cue(75.652, 120.0, "豆腐、百叶、油豆腐。\n还有豆腐花。", "张阿婆"),
        Cue(120.0, 140.0, "后来呢？", "采访者"),
        Cue(140.0, 180.0, "后首来店关脱哉。", "张阿婆"),
    ]


def test_a_given_duration_ends_the_legacy_transcript():
    transcripts, _, _ = read_ohms("legacy.xml", LEGACY, duration=150)
    assert transcripts[0].cues[-1].end == 150
    transcripts, _, meta = read_ohms("legacy.xml", LEGACY, duration=100)  # the 2:00 mark is past the end
    assert english(meta["warnings"]) == ["legacy.xml line 9: sync marks from 00:02:00.000 on, after the end of the "
                                         "recording (00:01:40.000), ignored"]
    assert transcripts[0].cues[-1].end == 100 and "后首来店关脱哉。" in transcripts[0].cues[-1].text


def test_a_legacy_transcript_without_a_usable_sync_map_is_not_read_with_a_warning():
    data = replace(LEGACY, "<sync>1:|3(1)|7(2)</sync>", "")
    transcripts, segments, meta = read_ohms("legacy.xml", data)
    assert transcripts == [] and meta["unsynced_transcript"].startswith("张阿婆：伲屋里向住勒南长街。")
    assert len(segments) == 2  # the index is read all the same
    assert english(meta["warnings"]) == ["legacy.xml line 21: <transcript> has no sync map: the transcript, without "
                                         "times, is not read (the file is kept as it is)"]
    _, _, meta = read_ohms("legacy.xml", replace(LEGACY, "<sync>1:|3(1)|7(2)</sync>", "<sync>x:|3(1)</sync>"))
    assert english(meta["warnings"]) == ["legacy.xml line 9: bad sync map 'x:|3(1)' (it must start with the minutes "
                                         "between marks, e.g. '1:|13(3)|19(14)'): the transcript, without times, is "
                                         "not read (the file is kept as it is)"]


@pytest.mark.parametrize("sync, marks", [
    ("1:|13(3)|19(14)|27(9)", [(0, 0), (13, 60), (19, 120), (27, 180)]),
    ("1:13(3)|19(14)", [(0, 0), (13, 60), (19, 120)]),  # no leading empty mark: the same
    ("2:|5(1)||9(2)", [(0, 0), (5, 120), (9, 360)]),  # an empty mark: a minute without a mark
    ("1:|3(1)|3(9)|5(0)", [(0, 0), (3, 60), (5, 180)]),  # two marks on one line: the earlier counts
    ("0.5:|2(1)|4(1)", [(0, 0), (2, 30), (4, 60)]),  # a 30-second interval
])
def test_sync_marks(sync, marks):
    assert sync_marks("a.xml", 9, sync, 30)[1] == marks


@pytest.mark.parametrize("sync, marks, warning", [
    ("1:|abc|5(1)", [(0, 0), (5, 120)], "bad sync mark 'abc' at 00:01:00.000 ignored (expected line(word), e.g. 13(3))"),
    ("1:|50(1)|5(1)", [(0, 0), (5, 120)],
     "sync mark '50(1)' at 00:01:00.000 points to line 50, past the end of the transcript (30 lines): ignored"),
    ("1:|5(1)|3(1)|7(1)", [(0, 0), (5, 60), (7, 180)],
     "sync mark '3(1)' at 00:02:00.000 points to line 3, before the previous mark's line 5: ignored"),
])
def test_a_bad_sync_mark_is_ignored_with_a_warning(sync, marks, warning):
    found = []
    assert sync_marks("a.xml", 9, sync, 30, lambda line, code, **args: found.append(Notice("a.xml", line, code, args)))[1] == marks
    assert english(found) == [f"a.xml line 9: {warning}"]


def test_a_sync_map_without_an_interval_is_refused():
    with pytest.raises(TranscriptError) as exc:
        sync_marks("a.xml", 9, "x:|1(1)", 30)
    assert (exc.value.line, exc.value.problem) == (9, "bad sync map 'x:|1(1)': it must start with the minutes between "
                                                      "marks, e.g. '1:|13(3)|19(14)'")


def test_language_tags():
    assert [language_tag(v) for v in ("无锡话", "Chinese", "wuu", "zh-Hant", "Klingon", "")] == \
           ["wuu", "zh", "wuu", "zh-Hant", "und", "und"]


# --- errors -------------------------------------------------------------------------------------

@pytest.mark.parametrize("old, new, warning, left", [
    ("<time>12</time>", "<time>-3</time>", "line 37: index point skipped: no valid time (seconds), found '-3'",
     ([0, 20], 1, 1)),
    ("<time>12</time>", "<time></time>", "line 37: index point skipped: no valid time (seconds), found ''",
     ([0, 20], 1, 1)),
    ("<time>20</time>", "<time>10</time>",
     "line 45: index point starts at 00:00:10.000, before the previous point (line 37, 00:00:12.000): put in time order",
     ([0, 10, 12], 1, 1)),
    ("<time>20</time>", "<time>12</time>",
     "line 45: index point skipped: it starts at 00:00:12.000, as the point at line 37 does", ([0, 12], 1, 1)),
    ("<gps>31.564, 120.307</gps>", "<gps>清名桥</gps>",
     "line 27: GPS point '清名桥' ignored (expected 'latitude, longitude' in degrees)", ([0, 12, 20], 0, 1)),
    ("<gps>31.564, 120.307</gps>", "<gps>131.564, 120.307</gps>", "line 27: GPS point '131.564, 120.307' ignored",
     ([0, 12, 20], 0, 1)),
    ("<hyperlink>https://zh.wikipedia.org", "<hyperlink>javascript:alert(1)",
     "line 32: hyperlink 'javascript:alert(1)/wiki/清名桥' ignored: not an http(s) address", ([0, 12, 20], 1, 0)),
    ("<duration>0:05:00</duration>", "<duration>五分钟</duration>",
     "line 9: <duration> '五分钟' is not a duration: ignored", ([0, 12, 20], 1, 1)),
])
def test_what_cannot_be_read_is_left_out_with_a_warning_naming_its_line(old, new, warning, left):
    """The rest of the file is read: one bad index point, GPS point or link never refuses the file."""
    transcripts, segments, meta = read_ohms("采访_张.xml", replace(CURRENT, old, new))
    assert english(meta["warnings"]) == [f"采访_张.xml {warning}"] or english(meta["warnings"])[0].startswith(
        f"采访_张.xml {warning}")
    starts, gps, links = left
    assert [s.start for s in segments] == starts
    assert (len(segments[0].gps), len(segments[0].hyperlinks)) == (gps, links)
    assert [len(t.cues) for t in transcripts] == [4, 2]
    interview_from(transcripts, segments, meta).validate()  # what was read makes a valid interview


def test_a_file_that_is_not_xml_is_refused_with_its_line():
    exc = fails(replace(CURRENT, "</title>", "</titel>"))
    assert exc.line == 7 and exc.problem.startswith("not well-formed XML: Opening and ending tag mismatch")
    assert str(exc).startswith("采访_张.xml line 7: ")


@pytest.mark.parametrize("old, new, warning", [
    ("00:04.500 --> 00:12.000\n&lt;v 张阿婆", "00:04.500 -> 00:12.000\n&lt;v 张阿婆",
     "采访_张.xml line 56: cue skipped: bad timing line '00:04.500 -> 00:12.000' (no '-->'; use -->)"),  # the XML file's line
    ("00:04.500 --> 00:12.000\n&lt;v 张阿婆", "00:04.500 --> 00:60.000\n&lt;v 张阿婆",
     "采访_张.xml line 56: cue skipped: bad timing line '00:04.500 --> 00:60.000' (bad end time '00:60.000': "
     "minutes and seconds run from 00 to 59)"),
])
def test_a_bad_cue_in_the_embedded_webvtt_is_skipped_with_a_warning(old, new, warning):
    good = read_ohms("采访_张.xml", CURRENT)
    transcripts, _, meta = read_ohms("采访_张.xml", replace(CURRENT, old, new))
    assert english(meta["warnings"]) == [warning]
    assert "warnings" not in good[2]
    assert len(transcripts[0].cues) == len(good[0][0].cues) - 1


def test_times_beyond_the_recording():
    transcripts, segments, meta = read_ohms("采访_张.xml", CURRENT, duration=15)
    assert [s.start for s in segments] == [0, 12]
    assert english(meta["warnings"])[0] == ("采访_张.xml line 45: index point skipped: it starts at 00:00:20.000, after "
                                            "the end of the recording (00:00:15.000)")
    assert all(c.end <= 15 for t in transcripts for c in t.cues)
    _, _, meta = read_ohms("采访_张.xml", CURRENT, duration=22)
    assert english(meta["warnings"]) == ["采访_张.xml line 63: cue ends at 00:00:25.000, after the end of the recording "
                                         "(00:00:22.000): it ends with the recording"]


def test_not_an_ohms_file():
    assert "the root element is <html>, not <ROOT>" in fails(b"<html><record/></html>").problem
    assert fails(b"<ROOT><title/></ROOT>").problem == "holds no <record>: an OHMS file holds the interview in one"
    assert fails(b"").problem.startswith("not well-formed XML")


def test_external_entities_are_never_read(tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("口令")
    data = (f'<?xml version="1.0"?><!DOCTYPE ROOT [<!ENTITY x SYSTEM "file://{secret}">]>'
            '<ROOT><record><title>&x;</title></record></ROOT>').encode()
    _, _, meta = read_ohms("evil.xml", data)
    assert "口令" not in repr(meta)


# --- the schema ---------------------------------------------------------------------------------

@pytest.mark.conformance
def test_fixtures_and_exports_are_valid_against_the_official_schema():
    schema = conformance("ohms/ohms.xsd")
    validate_ohms("采访_张.xml", CURRENT, schema)
    validate_ohms("legacy.xml", LEGACY, schema)
    interview = interview_from(*read_ohms("采访_张.xml", CURRENT))
    interview.segments[1].restricted = True
    for public in (True, False):
        validate_ohms("export.xml", export(interview, public=public, accession="KS-1998-003",
                                           media_url="https://example.org/a.mp3", media_format="audio"), schema)
    validate_ohms("empty.xml", export(Interview()), schema)


@pytest.mark.conformance
def test_schema_problems_are_warnings_with_their_lines():
    schema = conformance("ohms/ohms.xsd")
    data = replace(replace(replace(CURRENT, 'dt="2024-03-01"', 'dt="yesterday"'), "<gps_zoom>17</gps_zoom>", ""),
                   "<time>12</time>", "<time>twelve</time>")
    transcripts, segments, meta = read_ohms("采访_张.xml", data, schema=str(schema))
    assert english(meta["warnings"]) == [
        "采访_张.xml line 3: does not follow the OHMS XML schema (Element 'record', attribute 'dt': 'yesterday' is not "
        "a valid value of the atomic type 'xs:date'): what could be read was read",
        "采访_张.xml line 29: does not follow the OHMS XML schema (Element 'gps_text': This element is not expected. "
        "Expected is ( gps_zoom )): what could be read was read",
        "采访_张.xml line 37: does not follow the OHMS XML schema (Element 'time': 'twelve' is not a valid value of the "
        "atomic type 'xs:int'): what could be read was read",
        "采访_张.xml line 37: index point skipped: no valid time (seconds), found 'twelve'",
    ]
    assert [s.start for s in segments] == [0, 20] and len(transcripts) == 2
    with pytest.raises(TranscriptError) as exc:  # what Fangzhi writes is held to the schema
        validate_ohms("采访_张.xml", data, schema)
    assert exc.value.line == 3 and len(exc.value.problems) == 3


# --- round trips and restricted segments --------------------------------------------------------

def test_import_export_import_is_exact():
    transcripts, segments, meta = read_ohms("采访_张.xml", CURRENT)
    interview = interview_from(transcripts, segments, meta)
    data = export(interview)
    again, again_segments, again_meta = read_ohms("export.xml", data)
    assert again == transcripts and again_segments == segments
    assert {k: again_meta[k] for k in ("date", "interviewees", "interviewers", "keywords", "subjects", "duration",
                                       "summary", "languages")} == \
           {k: meta[k] for k in ("date", "interviewees", "interviewers", "keywords", "subjects", "duration",
                                 "summary", "languages")}
    assert export(interview_from(again, again_segments, again_meta)) == data  # and a fixed point


def test_legacy_import_exports_to_the_current_format():
    interview = interview_from(*read_ohms("legacy.xml", LEGACY))
    transcripts, segments, meta = read_ohms("export.xml", export(interview))
    assert meta["format"] == "ohms" and transcripts == interview.transcripts and segments == interview.segments


def test_the_public_export_holds_no_restricted_words():
    interview = interview_from(*read_ohms("采访_张.xml", CURRENT))
    interview.segments[1].restricted = True  # 磨豆腐, 00:12 until 00:20
    public = export(interview).decode()
    for words in ("磨豆腐", "凌晨起身", "手艺", "手工业", "夜里三点钟"):
        assert words not in public
    transcripts, segments, _ = read_ohms("export.xml", public.encode())
    assert segments[1] == Segment(12.0)  # the index still shows where the closed passage is
    assert [c.start for c in transcripts[0].cues] == [0.0, 4.5, 20.25]


def test_the_staff_export_keeps_restricted_segments_restricted():
    interview = interview_from(*read_ohms("采访_张.xml", CURRENT))
    interview.segments[1].restricted = True
    data = export(interview, public=False)
    assert b"<user_notes>fangzhi:restricted=12</user_notes>" in data
    transcripts, segments, _ = read_ohms("export.xml", data)
    assert [s.restricted for s in segments] == [False, True, False]
    assert segments == interview.segments and transcripts == interview.transcripts


# --- OHMS exports of several versions (fixtures modelled on real exports) -----------------------

VERSIONS = FIXTURES / "ohms"


def test_a_version_5_export_with_a_legacy_transcript_and_empty_elements():
    """OHMS 5.4 writes every element, most of them empty (an empty GPS point and link in every
    index point, an empty <duration> and <date value>), on one line, and a legacy transcript."""
    transcripts, segments, meta = read_ohms("v5.4-legacy.xml", (VERSIONS / "v5.4-legacy.xml").read_bytes())
    assert meta["format"] == "ohms-legacy" and meta["languages"] == ["wuu"]
    assert (meta["title"], meta["date"], meta["interviewees"]) == ("王师傅口述：惠山泥人", {"display": "一九八六年秋"},
                                                                   ["王师傅"])
    assert "duration" not in meta
    assert [(s.start, s.title, s.keywords) for s in segments] == [(3, "学手艺", ["惠山泥人", "学徒", "大阿福"]),
                                                                  (62, "泥从哪里来", ["黑泥", "惠山"])]
    assert segments[0].gps == [] and segments[0].hyperlinks == []  # empty ones are no points
    assert segments[1].gps == [GpsPoint(31.5867, 120.2611, "惠山")]
    assert english(meta["warnings"]) == ["v5.4-legacy.xml line 2: index point skipped: no valid time (seconds), found ''"]
    (t,) = transcripts
    assert [(c.start, c.speaker) for c in t.cues][:2] == [(0.0, "王师傅"), (60.0, "李明")]
    assert t.cues[-1].text == "后来就捏大阿福。"  # footnotes dropped
    interview_from(transcripts, segments, meta).validate()


def test_a_version_6_export_with_hours_notes_breaks_and_a_cue_ending_at_zero():
    """OHMS 6.0 writes <duration>00:00:00</duration> when it does not know, empty elements as
    <x/>, NOTE blocks and <br> in the embedded WebVTT, and can end the last cue at 00:00:00.000."""
    data = (VERSIONS / "v6.0-vtt.xml").read_bytes()
    transcripts, segments, meta = read_ohms("v6.0-vtt.xml", data)
    assert "duration" not in meta and segments == [] and meta["languages"] == ["zh"]
    (t,) = transcripts
    assert [(c.start, c.end, c.speaker, c.text) for c in t.cues] == [
        (3603.0, 3618.0, "采访者", "今天是十二月十六日。请讲讲您在丝厂的日子。"),
        (3618.0, 3631.0, "周阿姨", "我十六岁进永泰丝厂。\n车间里热得不得了。")]
    assert english(meta["warnings"]) == ["v6.0-vtt.xml line 52: cue skipped: it ends at 00:00:00.000, not after it "
                                         "starts (01:00:31.000)"]
    assert render(meta["warnings"][0], "zh") == ("v6.0-vtt.xml 第 52 行：已跳过字幕：结束于 00:00:00.000，不晚于开始"
                                                 "（01:00:31.000）")


def test_an_older_export_without_namespace_version_or_date():
    transcripts, segments, meta = read_ohms("no-namespace.xml", (VERSIONS / "no-namespace.xml").read_bytes())
    assert (meta["title"], meta["duration"], meta["languages"]) == ("钱老伯口述：运河船民", 180.0, ["zh"])
    assert [(s.start, s.title, s.keywords) for s in segments] == [(0, "船上人家", ["运河", "船民"]), (90, "上岸", [])]
    assert english(meta["warnings"]) == ["no-namespace.xml line 18: GPS point '31.56 120.30' ignored (expected "
                                         "'latitude, longitude' in degrees)"]
    assert transcripts == []


def test_an_older_namespace_and_several_records():
    transcripts, segments, meta = read_ohms("old.xml", (VERSIONS / "old-namespace.xml").read_bytes())
    assert (meta["title"], meta["date"], [s.start for s in segments]) == ("赵奶奶口述", {"edtf": "1985-03-12"}, [10])
    assert english(meta["warnings"]) == ["old.xml line 11: 1 more <record>s ignored: an interview is read from the first"]


def test_another_namespace_a_bare_record_and_a_vtt_transcript_that_is_not_webvtt():
    data = b"<ROOT xmlns='urn:x'><record><title>t</title><index><point><time>5</time></point></index></record></ROOT>"
    _, segments, meta = read_ohms("x.xml", data)
    assert [s.start for s in segments] == [5]
    assert english(meta["warnings"]) == ["x.xml line 1: the root element's namespace 'urn:x' is not OHMS's: read as OHMS"]
    bare = b"<record>\n<title>t</title>\n<vtt_transcript>00:01.000 --> 00:02.000\nhi</vtt_transcript>\n</record>"
    transcripts, _, meta = read_ohms("bare.xml", bare)
    assert transcripts == [] and meta["title"] == "t"
    assert english(meta["warnings"]) == ["bare.xml line 3: the transcript in <vtt_transcript> is not WebVTT (its first "
                                         "line must be WEBVTT): not read"]


@pytest.mark.conformance
def test_version_fixtures_against_the_official_schema():
    """The 6.0 fixture follows the 6.0 schema, as real exports do; the others do not (an empty
    <time>, no namespace), and are read all the same, their schema problems as warnings."""
    schema = str(conformance("ohms/ohms.xsd"))
    validate_ohms("v6.0-vtt.xml", (VERSIONS / "v6.0-vtt.xml").read_bytes(), schema)
    _, segments, meta = read_ohms("v5.4-legacy.xml", (VERSIONS / "v5.4-legacy.xml").read_bytes(), schema=schema)
    assert len(segments) == 2 and english(meta["warnings"]) == [
        "v5.4-legacy.xml line 2: does not follow the OHMS XML schema (Element 'time': '' is not a valid value of the "
        "atomic type 'xs:int'): what could be read was read",
        "v5.4-legacy.xml line 2: index point skipped: no valid time (seconds), found ''"]
    _, segments, meta = read_ohms("no-namespace.xml", (VERSIONS / "no-namespace.xml").read_bytes(), schema=schema)
    assert len(segments) == 2
    assert any(n.code == "ohms.schema" for n in meta["warnings"])
