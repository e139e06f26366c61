"""Interviews stored with their items: saving, reading by role, and search of cues and segments."""
import io

import pytest

from repository.access import ANONYMOUS, SYSTEM, User
from repository.errors import ValidationError
from repository.services import NewFile
from oral_history.model import Interview
from oral_history.service import interview_file, load_interview, save_interview

ARCHIVIST = User("a", frozenset({"archivist"}))
INTERVIEW = {
    "interviewees": [{"name": {"zh": "张阿婆"}}], "interviewers": [{"name": {"zh": "李馆员"}}],
    "place": {"name": {"zh": "南长街"}}, "languages": ["wuu", "zh"],
    "transcripts": [{"language": "zh", "cues": [
        {"start": 0, "end": 4, "text": "伲小辰光就住勒南长街。", "speaker": "张阿婆"},
        {"start": 5, "end": 9, "text": "隔壁人家的秘密事体勿好讲。", "speaker": "张阿婆"},
        {"start": 11, "end": 15, "text": "清名桥下头船来船往。", "speaker": "张阿婆"}]}],
    "segments": [{"start": 0, "title": "童年", "synopsis": "南长街的童年"},
                 {"start": 5, "title": "邻居", "synopsis": "邻居家事", "restricted": True},
                 {"start": 10, "title": "运河", "synopsis": "清名桥与运河"}],
}


@pytest.fixture
def interview_item(fangzhi):
    archive, search = fangzhi.archive, fangzhi.search
    record = archive.create_item({"id": "oh1", "kind": "audio", "title": {"zh": "南长街口述"}},
                                 [NewFile("采访_张.wav", io.BytesIO(b"RIFF....WAVE"), "audio/wav", 1)], user=SYSTEM)
    vtt = NewFile("采访_张.vtt", io.BytesIO(b"WEBVTT\n"), "text/vtt")
    # the copy oral_history.redaction makes (the restricted passage silenced): the public may hear the recording
    quiet = NewFile("access.redacted.webm", b"quiet", "audio/webm", role="derivative", derived_from="f1",
                    purpose="access", tech={"redacted": True, "spans": [[5.0, 10.0]]})
    save_interview(archive, "oh1", Interview.from_dict(INTERVIEW), user=SYSTEM, expected_version=record.version,
                   sources=[vtt], add_files=[quiet])
    return archive, search


def test_staff_read_everything_the_public_reads_no_restricted_words(interview_item):
    archive, _ = interview_item
    item = archive.get_item("oh1", user=SYSTEM).value
    assert interview_file(item).access == "staff"
    full, whole = load_interview(archive, item, user=ARCHIVIST)
    assert whole and len(full.transcripts[0].cues) == 3
    public, whole = load_interview(archive, item, user=ANONYMOUS)
    assert not whole and "秘密" not in str(public.to_dict()) and "邻居家事" not in str(public.to_dict())
    assert [s.start for s in public.segments] == [0, 5, 10]


def test_cues_and_segments_are_searchable_with_their_time_restricted_only_for_staff(interview_item):
    _, search = interview_item
    hit = search.search("清名桥", user=ANONYMOUS).hits[0]
    assert hit.item_id == "oh1" and {p["time"] for p in hit.passages} >= {10.0, 11.0}
    assert search.search("秘密", user=ANONYMOUS).total == 0
    assert search.search("秘密", user=ARCHIVIST).hits[0].passages[0]["time"] == 5.0


def test_overlapping_cues_are_searchable_as_passages_with_their_own_times(interview_item):
    """Two people speaking at once (cues overlapping in time, different voices): each cue is its
    own passage, found with its own start and end, whichever words are searched."""
    archive, search = interview_item
    data = {**INTERVIEW, "segments": [], "transcripts": [{"language": "zh", "cues": [
        {"start": 20, "end": 26, "text": "清名桥旁边就是伲屋里。", "speaker": "张阿婆"},
        {"start": 23, "end": 25, "text": "清名桥下头有豆腐店吗？", "speaker": "采访者"},
        {"start": 23, "end": 25, "text": "运河里船交关多。", "speaker": "李阿伯"}]}]}
    record = archive.get_item("oh1", user=SYSTEM)
    save_interview(archive, "oh1", Interview.from_dict(data), user=SYSTEM, expected_version=record.version)
    times = lambda q: sorted((p["time"], p["end"]) for p in search.search(q, user=ANONYMOUS).hits[0].passages)  # noqa: E731
    assert times("伲屋里") == [(20.0, 26.0)]
    assert times("豆腐店") == [(23.0, 25.0)]
    assert times("船交关多") == [(23.0, 25.0)]  # the same times as another cue: a passage of its own
    assert times("清名桥") == [(20.0, 26.0), (23.0, 25.0)]  # both overlapping cues, each with its times
    assert times("采访者") == [(23.0, 25.0)] and times("李阿伯") == [(23.0, 25.0)]  # speakers kept apart


def test_interviewee_place_and_dialect_are_facets(interview_item):
    _, search = interview_item
    facets = search.search("", user=ANONYMOUS).facets
    assert dict(facets["interviewee"]) == {"张阿婆": 1}
    assert dict(facets["place"]) == {"南长街": 1} and dict(facets["language"]) == {"wuu": 1, "zh": 1}
    assert {"张阿婆", "李馆员"} <= set(dict(facets["person"]))
    assert search.search("", user=ANONYMOUS, filters={"interviewee": ["张阿婆"]}).total == 1


def test_saving_again_replaces_the_interview_and_a_same_named_source(interview_item):
    archive, _ = interview_item
    record = archive.get_item("oh1", user=SYSTEM)
    changed = Interview.from_dict({**INTERVIEW, "segments": INTERVIEW["segments"][:1]})
    save_interview(archive, "oh1", changed, user=SYSTEM, expected_version=record.version,
                   sources=[NewFile("采访_张.vtt", io.BytesIO(b"WEBVTT\n\n"), "text/vtt")])
    item = archive.get_item("oh1", user=SYSTEM).value
    assert len([f for f in item.files if f.role == "supplement"]) == 2
    assert len(load_interview(archive, item, user=SYSTEM)[0].segments) == 1


def test_times_beyond_the_recording_are_refused_and_nothing_changes(interview_item):
    archive, _ = interview_item
    record = archive.get_item("oh1", user=SYSTEM)
    archive.update_item("oh1", {"files": [{"id": "f1", "tech": {"duration": 12.0}}]},
                        expected_version=record.version, user=SYSTEM)
    record = archive.get_item("oh1", user=SYSTEM)
    with pytest.raises(ValidationError, match=r"cues\[2\]\.end: .* after the end of the recording"):
        save_interview(archive, "oh1", Interview.from_dict(INTERVIEW), user=SYSTEM, expected_version=record.version)
    assert archive.get_item("oh1", user=SYSTEM).version == record.version
