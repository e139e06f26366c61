"""WebVTT files read as a browser reads them (W3C WebVTT §6.1 "WebVTT file parsing", §6.3
"collect WebVTT cue timings and settings"). Cases modelled on web-platform-tests
webvtt/parsing/file-parsing (tests/*.vtt with the cues a browser yields): each gives the
cues as (start, end, text) and the warnings Fangzhi adds for what the browser dropped."""
import pytest

from oral_history.formats import read_transcript
from oral_history.timecodes import TranscriptError
from oral_history.webvtt import read_webvtt
from tests.helpers import english

NAME = "wpt.vtt"


def parse(text: str):
    warnings: list = []
    transcript, _ = read_webvtt(NAME, text, warnings=warnings)
    return [(c.start, c.end, c.text) for c in transcript.cues], english(warnings)


CASES = {
    # overlapping and equal times: a browser keeps every cue (only start times must not decrease)
    "overlapping": ("WEBVTT\n\n00:01.000 --> 00:05.000\n<v 甲>一\n\n00:02.000 --> 00:04.000\n<v 乙>二\n",
                    [(1.0, 5.0, "一"), (2.0, 4.0, "二")], []),
    "equal-times": ("WEBVTT\n\n00:01.000 --> 00:02.000\na\n\n00:01.000 --> 00:02.000\nb\n\n"
                    "00:01.000 --> 00:02.000\nc\n", [(1.0, 2.0, "a"), (1.0, 2.0, "b"), (1.0, 2.0, "c")], []),
    "nested": ("WEBVTT\n\n00:00.000 --> 00:10.000\nlong\n\n00:01.000 --> 00:02.000\nshort\n",
               [(0.0, 10.0, "long"), (1.0, 2.0, "short")], []),
    # signature and header
    "signature-space-text": ("WEBVTT some text\n\n00:00.000 --> 00:01.000\nx\n", [(0.0, 1.0, "x")], []),
    "signature-tab": ("WEBVTT\tx\n\n00:00.000 --> 00:01.000\nx\n", [(0.0, 1.0, "x")], []),
    "bom": ("\ufeffWEBVTT\n\n00:00.000 --> 00:01.000\nx\n", [(0.0, 1.0, "x")], []),
    "timing-right-after-header": ("WEBVTT\n00:00.000 --> 00:01.000\nx\n", [(0.0, 1.0, "x")], []),
    "timing-after-header-text": ("WEBVTT\nKind: captions\n00:00.000 --> 00:01.000\nx\n", [(0.0, 1.0, "x")], []),
    # line terminators and NUL (§6.1 steps 1-2)
    "cr": ("WEBVTT\r\r00:00.000 --> 00:01.000\rx\r", [(0.0, 1.0, "x")], []),
    "crlf": ("WEBVTT\r\n\r\n00:00.000 --> 00:01.000\r\nx\r\n", [(0.0, 1.0, "x")], []),
    "nul": ("WEBVTT\n\n00:00.000 --> 00:01.000\na\0b\n", [(0.0, 1.0, "a\ufffdb")], []),
    # cue timings: whitespace of any kind around "-->", settings after the end time (§6.3)
    "form-feed-around-arrow": ("WEBVTT\n\n00:00.000\f-->\f00:01.000\nx\n", [(0.0, 1.0, "x")], []),
    "no-space-around-arrow": ("WEBVTT\n\n00:00.000-->00:01.000\nx\n", [(0.0, 1.0, "x")], []),
    "leading-whitespace": ("WEBVTT\n\n \t00:00.000 --> 00:01.000\nx\n", [(0.0, 1.0, "x")], []),
    "settings": ("WEBVTT\n\n00:00.000 --> 00:01.000 align:start line:0 position:10% size:50% vertical:rl\nx\n",
                 [(0.0, 1.0, "x")], []),
    "settings-junk-ignored": ("WEBVTT\n\n00:00.000 --> 00:01.000 --> x :a b: align:end\nx\n", [(0.0, 1.0, "x")], []),
    "hours-one-digit": ("WEBVTT\n\n0:00:01.000 --> 0:00:02.000\nx\n", [(1.0, 2.0, "x")], []),  # §6.3 step 4
    "hours-three-digits": ("WEBVTT\n\n100:00:00.000 --> 100:00:01.000\nx\n", [(360000.0, 360001.0, "x")], []),
    "identifier": ("WEBVTT\n\nid 1\n00:00.000 --> 00:01.000\nx\n", [(0.0, 1.0, "x")], []),
    # a timing line inside a cue starts the next cue (§6.1 "collect a WebVTT block")
    "arrow-line-in-payload": ("WEBVTT\n\n00:00.000 --> 00:01.000\na\n00:01.000 --> 00:02.000\nb\n",
                              [(0.0, 1.0, "a"), (1.0, 2.0, "b")], []),
    "notes-and-styles": ("WEBVTT\n\nSTYLE\n::cue { color: red }\n\nREGION\nid:r\n\nNOTE a -- note\n\n"
                         "00:00.000 --> 00:01.000\nx\n", [(0.0, 1.0, "x")], []),
    # dropped by the browser: skipped with a warning; the rest is kept
    "sixty-seconds": ("WEBVTT\n\n00:00:60.000 --> 00:01:01.000\nbad\n\n00:02.000 --> 00:03.000\nok\n",
                      [(2.0, 3.0, "ok")],
                      ["wpt.vtt line 3: cue skipped: bad timing line '00:00:60.000 --> 00:01:01.000' "
                       "(bad start time '00:00:60.000': minutes and seconds run from 00 to 59)"]),
    "sixty-minutes": ("WEBVTT\n\n00:60:00.000 --> 01:01:00.000\nbad\n", [],
                      ["wpt.vtt line 3: cue skipped: bad timing line '00:60:00.000 --> 01:01:00.000' "
                       "(bad start time '00:60:00.000': minutes and seconds run from 00 to 59)"]),
    "doubled-arrow": ("WEBVTT\n\n00:00.000 --> --> 00:01.000\nbad\n\n00:02.000 --> 00:03.000\nok\n",
                      [(2.0, 3.0, "ok")],
                      ["wpt.vtt line 3: cue skipped: bad timing line '00:00.000 --> --> 00:01.000' "
                       "(bad end time: expected some digits at its start, found nothing)"]),
    "one-digit-minutes": ("WEBVTT\n\n0:01.000 --> 0:02.000\nbad\n", [],
                          ["wpt.vtt line 3: cue skipped: bad timing line '0:01.000 --> 0:02.000' (bad start time "
                           "'0:01.': expected ':' (a first number that is not two digits from 00 to 59 is hours: "
                           "hh:mm:ss.ttt))"]),
    "end-before-start": ("WEBVTT\n\n00:02.000 --> 00:01.000\nbad\n\n00:02.000 --> 00:02.000\nzero\n", [],
                         ["wpt.vtt line 3: cue skipped: it ends at 00:00:01.000, not after it starts (00:00:02.000)",
                          "wpt.vtt line 6: cue skipped: it ends at 00:00:02.000, not after it starts (00:00:02.000)"]),
    "only-arrow-line": ("WEBVTT\n\n00:00.000 --> 00:01.000\na\n-->\nlost\n\n00:02.000 --> 00:03.000\nok\n",
                        [(0.0, 1.0, "a"), (2.0, 3.0, "ok")],
                        ["wpt.vtt line 5: cue skipped: bad timing line '-->' "
                         "(bad start time: expected some digits at its start, found nothing)"]),
    "comma-decimals": ("WEBVTT\n\n00:00:01,000 --> 00:00:02,000\nbad\n", [],
                       ["wpt.vtt line 3: cue skipped: bad timing line '00:00:01,000 --> 00:00:02,000' (bad start "
                        "time '00:00:01,': expected '.' (WebVTT puts a full stop before the milliseconds))"]),
    "timing-on-third-line": ("WEBVTT\n\nid\ntext\n00:00.000 --> 00:01.000\nx\n", [(0.0, 1.0, "x")],
                             ["wpt.vtt line 3: text outside a cue ignored: 'id' (a cue needs a timing line "
                              "'start --> end' first or after its identifier)"]),
    "style-after-cue": ("WEBVTT\n\n00:00.000 --> 00:01.000\nx\n\nSTYLE\n::cue { color: red }\n",
                        [(0.0, 1.0, "x")],
                        ["wpt.vtt line 6: STYLE block after the first cue ignored (browsers ignore it too)"]),
    # start times that decrease: the browser keeps the cue, in text track cue order (HTML)
    "decreasing-start": ("WEBVTT\n\n00:05.000 --> 00:06.000\nlate\n\n00:01.000 --> 00:02.000\nearly\n",
                         [(1.0, 2.0, "early"), (5.0, 6.0, "late")],
                         ["wpt.vtt line 6: cue starts at 00:00:01.000, before the previous cue (line 3, "
                          "00:00:05.000): put in time order, as a browser does"]),
}


@pytest.mark.parametrize("case", CASES)
def test_cues_and_warnings_as_a_browser_yields_them(case):
    text, cues, warnings = CASES[case]
    assert parse(text) == (cues, warnings)


@pytest.mark.parametrize("text", ["WEBVTTx\n\n00:00.000 --> 00:01.000\nx\n", "WEBVT\n", " WEBVTT\n", "\n"])
def test_a_file_without_the_signature_is_refused_with_the_reason(text):
    with pytest.raises(TranscriptError, match=r"^wpt.vtt line 1: missing WEBVTT header"):
        read_webvtt(NAME, text)


def test_read_transcript_reports_the_warnings():
    data = CASES["sixty-seconds"][0].encode()
    (transcript,), _, meta = read_transcript(NAME, data)
    assert [c.text for c in transcript.cues] == ["ok"]
    assert english(meta["warnings"]) == CASES["sixty-seconds"][2]
    assert "warnings" not in read_transcript(NAME, CASES["overlapping"][0].encode())[2]


OVERLAPPING = ("WEBVTT\n\nREGION\nid:left\nwidth:40%\n\nSTYLE\n::cue(v[voice=\"乙\"]) { color: cyan }\n\n"
               "00:01.000 --> 00:05.000 region:left align:start\n<v 甲>我先讲\n\n"
               "00:02.000 --> 00:04.000 position:80% size:30%\n<v 乙>我也讲\n\n"
               "00:02.000 --> 00:04.000 vertical:rl line:0\n<v 丙>同时\n")


def test_settings_a_browser_ignores_are_dropped():
    transcript, _ = read_webvtt(NAME, CASES["settings-junk-ignored"][0])
    assert transcript.cues[0].settings == "align:end"


def test_overlapping_cues_settings_and_blocks_survive_webvtt_and_ohms_export_and_reimport():
    from oral_history.model import Interview
    from oral_history.ohms import read_ohms, write_ohms
    from oral_history.webvtt import write_webvtt

    first, _ = read_webvtt(NAME, OVERLAPPING, warnings=(found := []))
    assert not found
    assert [(c.start, c.end, c.speaker, c.settings) for c in first.cues] == [
        (1.0, 5.0, "甲", "region:left align:start"), (2.0, 4.0, "乙", "position:80% size:30%"),
        (2.0, 4.0, "丙", "vertical:rl line:0")]
    assert first.blocks == ["REGION\nid:left\nwidth:40%", 'STYLE\n::cue(v[voice="乙"]) { color: cyan }']
    again, _ = read_webvtt(NAME, write_webvtt(first), language=first.language)
    assert again == first
    interview = Interview(languages=["zh"], transcripts=[first])
    assert Interview.from_dict(interview.to_dict()) == interview  # stored and read back
    transcripts, _, meta = read_ohms("wpt.xml", write_ohms(interview))
    assert "warnings" not in meta
    assert transcripts[0].cues == first.cues and transcripts[0].blocks == first.blocks
