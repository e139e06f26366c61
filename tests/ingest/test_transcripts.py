"""Transcripts beside a recording (or named in a manifest) attach to that interview on ingest:
one item, the files stored as they are in version 1, read by the "transcript" step after the
access copies exist; bad files fail that step with file and line, and a retry after fixing works."""
import re

import pytest

from ingest.pipeline import plan_job, process
from ingest.sources.folder import plan_folder
from ingest.sources.manifest import plan_manifest
from oral_history.model import Interview
from oral_history.ohms import write_ohms
from oral_history.service import read_interview
from oral_history.transcript_files import TranscriptStep
from repository.access import SYSTEM
from web.notices import render
from tests.helpers import build_on, conformance, english
from tests.ingest import fixtures
from tests.ingest.test_pipeline import fangzhi, archive_of

WUU = "WEBVTT\n\n00:00:00.500 --> 00:00:01.500\n<v 张阿婆>伲小辰光住勒南长街。\n\n" \
      "00:00:02.000 --> 00:00:03.500\n<v 张阿婆>隔壁人家个事体勿好讲。\n"
ZH = "WEBVTT\n\n00:00:00.500 --> 00:00:01.500\n<v 张阿婆>我小时候住在南长街。\n\n" \
     "00:00:02.000 --> 00:00:03.500\n<v 张阿婆>隔壁人家的事不好讲。\n"
OVERLAP = "WEBVTT\n\n00:00:00.500 --> 00:00:02.500\n第一句\n\n00:00:02.000 --> 00:00:03.000\n第二句\n"


def ohms(**fields) -> bytes:
    return write_ohms(Interview.from_dict({
        "interviewees": [{"name": {"zh": "张阿婆"}}], "interviewers": [{"name": {"zh": "李馆员"}}],
        "summary": {"zh": "南长街的童年"}, "keywords": ["南长街"],
        "segments": [{"start": 0, "title": "童年"}, {"start": 2, "title": "邻居", "restricted": True}], **fields}),
        title="采访", public=False)


@pytest.fixture
def ctx(tmp_path_factory):
    data = tmp_path_factory.mktemp("data")
    return build_on(data).ingest_context()


def ingest(ctx, planned):
    job = plan_job(ctx, "test", planned)
    states = [process(ctx, job, n) for n in range(1, len(planned) + 1)]
    return job, states


def test_a_folder_pairs_transcripts_with_their_recording(tmp_path):
    fixtures.wav(tmp_path / "采访_张.wav", 4)
    (tmp_path / "采访_张.wuu.vtt").write_text(WUU, encoding="utf-8")
    (tmp_path / "采访_张.zh.vtt").write_text(ZH, encoding="utf-8")
    (tmp_path / "采访_张.xml").write_bytes(ohms())
    (tmp_path / "notes.txt").write_text("无关的笔记")  # no recording of that name: an item of its own
    planned = plan_folder(tmp_path)
    assert [p.label for p in planned] == ["notes", "采访_张"]
    interview = planned[1]
    assert [f.name for f in interview.files] == ["采访_张.wav"]
    assert [f.name for f in interview.transcripts] == ["采访_张.wuu.vtt", "采访_张.xml", "采访_张.zh.vtt"]


def test_a_manifest_names_transcripts_in_its_transcript_column(tmp_path):
    fixtures.wav(tmp_path / "a.wav", 2)
    fixtures.jpeg(tmp_path / "p.jpg")
    (tmp_path / "a.vtt").write_text(WUU, encoding="utf-8")
    (tmp_path / "m.csv").write_text("题名,文件,转录\n采访,a.wav,a.vtt\n照片,p.jpg,a.vtt\n坏,a.wav,p.jpg\n",
                                    encoding="utf-8")
    ok, photo, bad = plan_manifest(tmp_path, tmp_path / "m.csv")
    assert ok.transcripts == [tmp_path / "a.vtt"] and not ok.problems
    assert photo.problems == ["row 3, 转录: a transcript needs an audio or video recording in 文件"]
    assert bad.problems == ["row 4, 转录: p.jpg is not a transcript (.vtt .srt .txt or OHMS .xml)"]


def test_transcripts_and_index_become_one_interview_with_redacted_copies(ctx, tmp_path):
    fixtures.wav(tmp_path / "采访_张.wav", 4)
    for name, text in (("采访_张.wuu.vtt", WUU), ("采访_张.zh.vtt", ZH)):
        (tmp_path / name).write_text(text, encoding="utf-8")
    (tmp_path / "采访_张.xml").write_bytes(ohms())
    planned = plan_folder(tmp_path)
    planned[0].metadata["language"] = ["wuu", "zh"]
    _, states = ingest(ctx, planned)
    assert states == ["done"]
    items, total = ctx.archive.list_items(user=SYSTEM)
    item = items[0]
    assert total == 1
    v1 = ctx.archive.get_item(item.id, user=SYSTEM, version=1).value  # stored before any processing
    assert sorted(f.path for f in v1.files) == ["originals/采访_张.wav", "supplements/采访_张.wuu.vtt",
                                                "supplements/采访_张.xml", "supplements/采访_张.zh.vtt"]
    for f in v1.files:  # byte for byte; the transcripts for staff only
        assert ctx.archive.file_reader(item.id)(f) == (tmp_path / f.path.split("/")[1]).read_bytes()
        assert f.access == ("staff" if f.role == "supplement" else None)
    interview = read_interview(ctx.archive, item)
    assert [(t.language, t.kind, len(t.cues)) for t in interview.transcripts] == [
        ("wuu", "verbatim", 2), ("zh", "rendering", 2)]
    assert [s.restricted for s in interview.segments] == [False, True]
    assert interview.interviewees[0].name == {"zh": "张阿婆"} and interview.summary == {"zh": "南长街的童年"}
    redacted = [f for f in item.files if f.tech.get("redacted")]
    assert {f.purpose for f in redacted} == {"access", "waveform"}
    assert redacted[0].tech["spans"] == [[2.0, interview.duration]]


@pytest.mark.parametrize("name,content,problem", [
    ("采访_张.vtt", b"WEBVTT\n\n00:00:05.500 --> 00:00:09.000\nA\n", r"every cue starts after the end of the recording"),
    ("采访_张.txt", "[00:00:00] 张阿婆：伲小辰光住勒南长街。\n[00:00:01] 隔\x01壁".encode(),
     r"采访_张\.txt line 2: holds control characters"),
])
def test_bad_transcripts_fail_at_the_transcript_step_and_keep_the_recording(ctx, tmp_path, name, content, problem):
    fixtures.wav(tmp_path / "采访_张.wav", 2)
    (tmp_path / name).write_bytes(content)
    job, states = ingest(ctx, plan_folder(tmp_path))
    entry = ctx.jobs.entry(job, 1)
    assert states == ["failed"] and entry.step == "transcript" and entry.file == str(tmp_path / name)
    assert re.search(problem, entry.reason), entry.reason
    item = ctx.archive.get_item(entry.item_id, user=SYSTEM).value
    assert {f.purpose for f in item.files} == {None, "access", "waveform", "transcript-source"}
    assert read_interview(ctx.archive, item) is None


def test_overlapping_cues_are_kept_and_a_bad_cue_is_skipped_with_a_note(ctx, tmp_path):
    fixtures.wav(tmp_path / "采访_张.wav", 4)
    (tmp_path / "采访_张.vtt").write_text(OVERLAP + "\n00:00:00.500 -> 00:00:01.500\n坏\n", encoding="utf-8")
    job, states = ingest(ctx, plan_folder(tmp_path))
    entry = ctx.jobs.entry(job, 1)
    assert states == ["done"]
    assert english(entry.notes)[-1] == ("采访_张.vtt line 9: cue skipped: bad timing line '00:00:00.500 -> "
                                        "00:00:01.500' (no '-->'; use -->)")  # after the fixture's WAV type note
    assert render(entry.notes[-1], "zh") == "采访_张.vtt 第 9 行：已跳过字幕：时间行“00:00:00.500 -> 00:00:01.500”有误（没有“-->”；请用 -->）"
    interview = read_interview(ctx.archive, ctx.archive.get_item(entry.item_id, user=SYSTEM).value)
    assert [(c.start, c.end, c.text) for c in interview.transcripts[0].cues] == [
        (0.5, 2.5, "第一句"), (2.0, 3.0, "第二句")]


def test_ohms_with_a_bad_index_point_is_read_with_a_note_naming_the_line(ctx, tmp_path):
    fixtures.wav(tmp_path / "采访_张.wav", 2)
    (tmp_path / "采访_张.xml").write_bytes(ohms().replace(b"<time>2</time>", b"<time>0</time>"))
    job, states = ingest(ctx, plan_folder(tmp_path))
    entry = ctx.jobs.entry(job, 1)
    assert states == ["done"]
    assert re.fullmatch(r"采访_张\.xml line \d+: index point skipped: it starts at 00:00:00.000, as the point at "
                        r"line \d+ does", english(entry.notes)[-1])
    interview = read_interview(ctx.archive, ctx.archive.get_item(entry.item_id, user=SYSTEM).value)
    assert [s.start for s in interview.segments] == [0]


def test_a_cue_running_past_the_recording_ends_with_it(ctx, tmp_path):
    fixtures.wav(tmp_path / "采访_张.wav", 2)
    (tmp_path / "采访_张.vtt").write_text("WEBVTT\n\n00:00:00.500 --> 00:00:09.000\nA\n", encoding="utf-8")
    job, states = ingest(ctx, plan_folder(tmp_path))
    entry = ctx.jobs.entry(job, 1)
    assert states == ["done"] and "after the end of the recording" in english(entry.notes)[-1]
    interview = read_interview(ctx.archive, ctx.archive.get_item(entry.item_id, user=SYSTEM).value)
    assert [(c.start, c.end) for c in interview.transcripts[0].cues] == [(0.5, interview.duration)]


def test_retry_after_fixing_the_file_completes_the_interview(tmp_path):
    source = tmp_path / "donation"
    source.mkdir()
    fixtures.wav(source / "采访_张.wav", 4)
    (source / "采访_张.vtt").write_text("WEBVT\n\n00:00:00.500 --> 00:00:09.000\nA\n", encoding="utf-8")  # no signature
    data = tmp_path / "data"
    out = fangzhi(data, "ingest", source, "--workers", "1")
    assert out.returncode == 1 and "step transcript" in out.stderr and "line 1" in out.stderr, out.stderr
    job_id = re.search(r"job (j\S+):", out.stdout).group(1)
    (source / "采访_张.vtt").write_text(WUU, encoding="utf-8")
    out = fangzhi(data, "ingest", "--resume", job_id, "--retry", "--workers", "1")
    assert out.returncode == 0 and "1 done" in out.stdout, out.stdout + out.stderr
    archive = archive_of(data)
    items, total = archive.list_items(user=SYSTEM)
    assert total == 1
    item = items[0]
    assert len(read_interview(archive, item).transcripts[0].cues) == 2
    stored = next(f for f in item.files if f.purpose == "transcript-source")
    assert archive.file_reader(item.id)(stored) == WUU.encode()  # the fixed file replaced the bad one
    assert len([f for f in item.files if f.purpose == "transcript-source"]) == 1


@pytest.mark.conformance
def test_ohms_schema_setting_validates_ohms_files(ctx, tmp_path):
    ctx.after_steps = (TranscriptStep(ohms_schema=str(conformance("ohms/ohms.xsd"))),)
    fixtures.wav(tmp_path / "采访_张.wav", 4)
    (tmp_path / "采访_张.xml").write_bytes(ohms().replace(b"<title>", b"<bogus/><title>", 1))
    job, states = ingest(ctx, plan_folder(tmp_path))
    entry = ctx.jobs.entry(job, 1)
    assert states == ["done"]  # what the schema finds is noted by line; the file is read all the same
    assert re.fullmatch(r"采访_张\.xml line \d+: does not follow the OHMS XML schema \(Element 'bogus': This element is "
                        r"not expected\..*\): what could be read was read", english(entry.notes)[-1])
