"""The interview model: JSON round trip, validation naming each field, restricted passages."""
import math

import pytest

from oral_history.model import (Cue, Interview, Segment, Transcript, public_view, redaction_spans, search_passages,
                                segment_spans)
from repository.errors import ValidationError


def interview_data(**changes) -> dict:
    data = {
        "interviewees": [{"name": {"zh": "张阿婆"}, "role": "受访者", "aliases": [{"name": "阿婆", "type": "别名"}]}],
        "interviewers": [{"name": "李明", "role": "采访者"}],
        "date": {"edtf": "1998-05-01", "display": "一九九八年五月一日"},
        "place": {"name": {"zh": "南长街"}, "coordinates": [31.564, 120.307]},
        "languages": ["wuu", "zh"],
        "duration": 60,
        "summary": {"zh": "张阿婆回忆南长街的豆腐店。"},
        "keywords": ["豆腐店"],
        "subjects": ["饮食业"],
        "transcripts": [
            {"language": "wuu", "label": {"zh": "无锡话逐字稿"}, "kind": "verbatim", "cues": [
                {"start": 0, "end": 8, "text": "伲屋里向住勒南长街。", "speaker": "张阿婆"},
                {"start": 8, "end": 15, "text": "阿爹勿许伲讲格桩事体。", "speaker": "张阿婆"},
                {"start": 15, "end": 25, "text": "日本兵来个辰光，伲躲勒豆腐店后头。", "speaker": "张阿婆"},
                {"start": 25, "end": 40, "text": "后首来店关脱哉。", "speaker": "张阿婆"},
            ]},
            {"language": "zh", "label": {"zh": "普通话译文"}, "kind": "rendering", "cues": [
                {"start": 0, "end": 12, "text": "我家住在南长街。"},
                {"start": 14, "end": 22, "text": "日本兵来的时候，我们躲在豆腐店后面。"},
            ]},
        ],
        "segments": [
            {"start": 0, "title": "童年与南长街", "synopsis": "住在清名桥边。", "keywords": ["南长街"],
             "gps": [{"lat": 31.564, "lon": 120.307, "description": "清名桥"}],
             "hyperlinks": [{"url": "https://zh.wikipedia.org/wiki/清名桥", "description": "清名桥"}]},
            {"start": 10, "title": "躲日本兵", "synopsis": "战时躲藏的经历。", "keywords": ["抗战"],
             "partial_transcript": "阿爹勿许伲讲", "restricted": True},
            {"start": 20, "title": "避难之后", "restricted": True},
            {"start": 30, "title": "店关门", "synopsis": "豆腐店后来关门。"},
        ],
    }
    data.update(changes)
    return data


def problems(data, **kw) -> dict:
    with pytest.raises(ValidationError) as exc:
        Interview.from_dict(data, **kw)
    return dict(exc.value.problems)


def test_round_trips_through_json():
    interview = Interview.from_dict(interview_data())
    assert interview.interviewees[0].aliases[0].name == "阿婆"
    assert interview.interviewers[0].name == {"zh": "李明"}  # a bare name is Chinese
    assert interview.transcripts[0].cues[2] == Cue(15.0, 25.0, "日本兵来个辰光，伲躲勒豆腐店后头。", "张阿婆")
    assert interview.segments[0].gps[0].description == "清名桥"
    assert Interview.from_dict(interview.to_dict()) == interview
    assert Interview.from_dict({}) == Interview()


def test_every_problem_is_named_by_field():
    data = interview_data(duration=-1, languages=["Wuxi dialect"], colour="red", place={"name": ""})
    data["interviewees"] = [{"role": "受访者"}]
    data["transcripts"][0]["kind"] = "summary"
    data["transcripts"][0]["language"] = ""
    data["transcripts"][0]["cues"][1] = {"start": "8s", "end": 15, "text": 3, "tone": "sad"}
    data["transcripts"][1]["draft"] = "yes"
    data["segments"][0]["gps"] = [{"lat": 131, "lon": 120}]
    data["segments"][0]["hyperlinks"] = [{"url": "javascript:alert(1)"}]
    data["segments"][1]["restricted"] = "yes"
    data["segments"][2]["start"] = None
    found = problems(data)
    assert found == {
        "colour": "is not a field of an interview",
        "interviewees[0].name": "is required (at least one language, e.g. {\"zh\": \"…\"})",
        "place.name": "is required (at least one language, e.g. {\"zh\": \"…\"})",
        "duration": "must not be negative (got -1)",
        "languages[0]": "'Wuxi dialect' is not a language tag such as zh or wuu",
        "transcripts[0].language": "is required",
        "transcripts[0].kind": "must be one of verbatim, rendering (got 'summary')",
        "transcripts[0].cues[1].tone": "is not a field of a cue",
        "transcripts[0].cues[1].text": "must be text",
        "transcripts[0].cues[1].start": "must be a number of seconds, not '8s'",
        "transcripts[1].draft": "must be true or false",
        "segments[0].gps[0]": "must be {\"lat\": …, \"lon\": …, \"description\": …} in degrees",
        "segments[0].hyperlinks[0]": "must have an http(s) url",
        "segments[1].restricted": "must be true or false",
        "segments[2].start": "is required (seconds)",
    }


def test_times_in_order_and_within_the_recording_overlaps_allowed():
    data = interview_data()
    cues = data["transcripts"][0]["cues"]
    cues[1].update(start=6)          # overlaps cue 0 (0–8): allowed (WebVTT)
    cues[2].update(start=3, end=30)  # before cue 1
    cues[3].update(start=40, end=39)  # ends before it starts
    data["segments"][2]["start"] = 10  # not after segment 1
    data["segments"][3]["start"] = 75  # after the recording (60 s)
    assert problems(data) == {
        "transcripts[0].cues[2].start": "00:00:03.000 is before the previous cue's start (00:00:06.000): cues must be in time order",
        "transcripts[0].cues[3].end": "00:00:39.000 is not after the start (00:00:40.000)",
        "segments[2].start": "00:00:10.000 is not after the previous segment's start (00:00:10.000): segment starts must increase",
        "segments[3].start": "00:01:15.000 is not before the end of the recording (00:01:00.000)",
    }


def test_a_given_media_duration_is_checked_too():
    assert problems(interview_data(), duration=30) == {
        "transcripts[0].cues[3].end": "00:00:40.000 is after the end of the recording (00:00:30.000)",
        "segments[3].start": "00:00:30.000 is not before the end of the recording (00:00:30.000)",
    }
    interview = Interview.from_dict(interview_data())
    with pytest.raises(ValidationError, match=r"segments\[3\].start"):
        interview.validate(duration=30)


# --- restricted passages ------------------------------------------------------------------------

def test_segment_and_redaction_spans():
    interview = Interview.from_dict(interview_data())
    assert segment_spans(interview) == [(0, 10), (10, 20), (20, 30), (30, 60)]
    assert redaction_spans(interview) == [(10, 30)]  # two restricted segments in a row: one span
    interview.segments[3].restricted = True
    assert redaction_spans(interview) == [(10, 60)]  # the last one lasts until the end
    interview.duration = None
    assert redaction_spans(interview) == [(10, math.inf)]  # or for ever, when the length is unknown


def test_public_view_removes_every_restricted_word():
    interview = Interview.from_dict(interview_data())
    public = public_view(interview)
    assert public.segments[1] == Segment(10.0, restricted=True) and public.segments[2] == Segment(20.0, restricted=True)
    assert public.segments[0] == interview.segments[0]
    # cues touching 10–30 go, even those that only partly overlap it (8–15, 25–40 in the dialect,
    # 0–12 and 14–22 in the rendering)
    assert [c.text for c in public.transcripts[0].cues] == ["伲屋里向住勒南长街。"]
    assert public.transcripts[1].cues == []
    text = repr(public)
    for words in ("躲日本兵", "战时躲藏", "抗战", "阿爹勿许伲讲", "日本兵", "避难之后", "后首来店关脱哉"):
        assert words not in text
    assert interview.segments[1].title == "躲日本兵"  # the original is untouched


def test_search_passages_are_timed_and_restricted_ones_staff_only():
    interview = Interview.from_dict(interview_data())
    passages = search_passages(interview, file_id="f1")
    cues = passages[:6]
    assert [(p.text, p.time, p.end, p.access) for p in cues] == [
        ("张阿婆：伲屋里向住勒南长街。", 0, 8, None),
        ("张阿婆：阿爹勿许伲讲格桩事体。", 8, 15, "staff"),
        ("张阿婆：日本兵来个辰光，伲躲勒豆腐店后头。", 15, 25, "staff"),
        ("张阿婆：后首来店关脱哉。", 25, 40, "staff"),
        ("我家住在南长街。", 0, 12, "staff"),
        ("日本兵来的时候，我们躲在豆腐店后面。", 14, 22, "staff"),
    ]
    segments = passages[6:]
    assert [(p.chapter, p.time, p.end, p.access) for p in segments] == [
        ("童年与南长街", 0, 10, None), ("躲日本兵", 10, 20, "staff"), ("避难之后", 20, 30, "staff"), ("店关门", 30, 60, None)]
    assert segments[1].text == "躲日本兵\n战时躲藏的经历。\n抗战\n阿爹勿许伲讲"
    assert all(p.file_id == "f1" for p in passages)


def test_search_passages_keep_the_files_own_restriction():
    interview = Interview.from_dict(interview_data())
    levels = {p.access for p in search_passages(interview, access="alliance")}
    assert levels == {"alliance", "staff"}  # the stricter of the two wins
    assert {p.access for p in search_passages(interview, access="private")} == {"private"}


def test_an_interview_without_restrictions_is_its_own_public_view():
    interview = Interview(duration=10, transcripts=[Transcript("zh", [Cue(0, 5, "惠山泥人")])], segments=[Segment(0, "泥人")])
    assert public_view(interview) == interview and redaction_spans(interview) == []
    assert [p.end for p in search_passages(interview)] == [5, 10]


def test_counts_and_lengths_are_bounded():
    """Every cue and segment is shown, searched and exported, and a restricted segment is a span
    ffmpeg silences: an interview holds at most MAX_SEGMENTS segments, a transcript MAX_CUES
    cues of at most MAX_CUE_CHARS characters, MAX_TRANSCRIPTS transcripts."""
    from oral_history.model import MAX_CUE_CHARS, MAX_CUES, MAX_SEGMENTS, MAX_TRANSCRIPTS

    cues = [Cue(i / 10, i / 10 + 0.05, "句") for i in range(MAX_CUES + 1)]
    interview = Interview(transcripts=[Transcript("zh", cues)],
                          segments=[Segment(start=i) for i in range(MAX_SEGMENTS + 1)])
    assert interview.problems() == [
        ("transcripts[0].cues", f"{MAX_CUES + 1:,} cues: a transcript has at most {MAX_CUES:,}"),
        ("segments", f"{MAX_SEGMENTS + 1:,} segments: an interview has at most {MAX_SEGMENTS:,}")]
    long = Interview(transcripts=[Transcript("zh", [Cue(0, 1, "话" * (MAX_CUE_CHARS + 1))])] * (MAX_TRANSCRIPTS + 1))
    found = dict(long.problems())
    assert found["transcripts"] == f"{MAX_TRANSCRIPTS + 1} transcripts: at most {MAX_TRANSCRIPTS}"
    assert found["transcripts[0].cues[0].text"] == \
        f"{MAX_CUE_CHARS + 1:,} characters: a cue has at most {MAX_CUE_CHARS:,}"
    with pytest.raises(ValidationError):
        interview.validate()
    assert not Interview(transcripts=[Transcript("zh", cues[:MAX_CUES])], segments=[Segment(start=0)]).problems()
