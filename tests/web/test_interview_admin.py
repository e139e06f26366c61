"""The interview page of the staff area: who may use it, uploads (errors with file and line,
nothing stored), editing speakers, summary and segments, restricted segments silenced in what
the public may fetch, stale versions, and a draft transcript from a speech recognizer."""
import io
import re

import pytest

from oral_history.model import Cue, Transcript
from oral_history.service import read_interview
from repository.access import SYSTEM
from tests.oral_history.test_redaction import ingest_recording
from tests.web.auth_helpers import add_users, csrf_token, login

VTT = "WEBVTT\n\n00:00:01.000 --> 00:00:03.000\n<v 张阿婆>伲小辰光住勒南长街。\n\n" \
      "00:00:05.000 --> 00:00:07.000\n<v 张阿婆>隔壁人家个事体勿好讲。\n"
OVERLAP = "WEBVTT\n\n00:00:00.500 --> 00:00:02.500\n第一句\n\n00:00:02.000 --> 00:00:03.000\n第二句\n"


class FakeRecognizer:
    def transcribe(self, audio_path, *, language):
        return Transcript(language, [Cue(0.5, 2.0, "自动识别的一句"), Cue(900.0, 901.0, "录音之后的一句")])


@pytest.fixture
def app(tmp_path):
    from web import create_app

    return create_app({"DATA_DIR": str(tmp_path / "data"), "SECRET_KEY": "test",
                       "SPEECH_RECOGNIZER": "tests.web.test_interview_admin:FakeRecognizer"})


@pytest.fixture
def item_id(app, tmp_path):
    add_users(app)
    _, item_id = ingest_recording(app.extensions["fangzhi"], tmp_path / "src")
    return item_id


def client_as(app, role=None):
    client = app.test_client()
    if role:
        login(client, role)
    return client


def url(item_id):
    return f"/admin/items/{item_id}/interview"


def post(client, item_id, **data):
    archive = client.application.extensions["fangzhi"].archive
    form = {"csrf_token": csrf_token(client, url(item_id)), "version": archive.get_item(item_id, user=SYSTEM).version,
            **data}
    return client.post(url(item_id), data=form, content_type="multipart/form-data")


def segments(*rows):
    """Form fields of segment rows (start, title, restricted)."""
    form = {"segments": str(len(rows))}
    for i, (start, title, restricted) in enumerate(rows):
        form |= {f"segments-{i}-start": start, f"segments-{i}-title": title, f"segments-{i}-synopsis": f"{title}提要",
                 f"segments-{i}-keywords": "南长街；运河"}
        if restricted:
            form[f"segments-{i}-restricted"] = "1"
    return form


def test_interview_page_is_for_managers_only(app, item_id):
    assert client_as(app).get(url(item_id)).status_code == 302  # to the login page
    for role in ("curator", "member", "researcher"):
        client = client_as(app, role)
        assert client.get(url(item_id)).status_code == 403
        assert client.post(url(item_id), data={"action": "save"}).status_code in (400, 403)
    for role in ("archivist", "admin"):
        assert client_as(app, role).get(url(item_id)).status_code == 200
    edit_page = client_as(app, "archivist").get(f"/admin/items/{item_id}/edit").get_data(as_text=True)
    assert url(item_id) in edit_page  # linked from the item's edit page


def test_a_bad_upload_names_file_and_line_and_stores_nothing(app, item_id):
    client = client_as(app, "archivist")
    archive = app.extensions["fangzhi"].archive
    version = archive.get_item(item_id, user=SYSTEM).version
    response = post(client, item_id, action="upload", transcript=(io.BytesIO(b"WEBVT\n\n" + OVERLAP.encode()), "采访.vtt"))
    assert response.status_code == 400
    assert re.search(r"采访\.vtt line 1</code>: missing WEBVTT header", response.get_data(as_text=True))
    wrong = post(client, item_id, action="upload", transcript=(io.BytesIO(b"\x89PNG...."), "scan.png"))
    assert wrong.status_code == 400 and "scan.png" in wrong.get_data(as_text=True)
    assert archive.get_item(item_id, user=SYSTEM).version == version


@pytest.mark.parametrize("language, notice", [
    ("zh", "注意：采访.vtt 第 9 行：已跳过字幕：时间行“00:00:00.500 --&gt; 00:00:60.000”有误（结束时间“00:00:60.000”有误："
           "分和秒只能是 00 到 59）"),
    ("en", "Note: 采访.vtt line 9: cue skipped: bad timing line &#39;00:00:00.500 --&gt; 00:00:60.000&#39; "
           "(bad end time &#39;00:00:60.000&#39;: minutes and seconds run from 00 to 59)"),
])
def test_overlapping_cues_are_stored_and_a_skipped_cue_is_a_notice(app, item_id, language, notice):
    client = client_as(app, "archivist")
    client.set_cookie("lang", language)
    text = OVERLAP + "\n00:00:00.500 --> 00:00:60.000\n坏\n"
    response = post(client, item_id, action="upload", why="转录", transcript=(io.BytesIO(text.encode()), "采访.vtt"))
    assert response.status_code == 302
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert notice in page  # the whole warning in the interface language, not only its prefix
    archive = app.extensions["fangzhi"].archive
    cues = read_interview(archive, archive.get_item(item_id, user=SYSTEM).value).transcripts[0].cues
    assert [(c.start, c.end) for c in cues] == [(0.5, 2.5), (2.0, 3.0)]


def test_a_hostile_line_in_a_notice_is_shown_as_text(app, item_id):
    client = client_as(app, "archivist")
    text = OVERLAP + "\n00:00:00.500 -> <img src=x onerror=alert(1)>%(file)s\n坏\n"
    response = post(client, item_id, action="upload", why="转录", transcript=(io.BytesIO(text.encode()), "采访.vtt"))
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "<img src=x" not in page and "&lt;img src=x onerror=alert(1)&gt;%(file)s" in page


def test_upload_edit_and_restrict_a_segment(app, item_id):
    client = client_as(app, "archivist")
    archive = app.extensions["fangzhi"].archive
    assert post(client, item_id, action="upload", why="转录",
                transcript=(io.BytesIO(VTT.encode()), "采访.wuu.vtt")).status_code == 302
    item = archive.get_item(item_id, user=SYSTEM).value
    assert read_interview(archive, item).transcripts[0].language == "wuu"
    assert [f.path for f in item.files if f.purpose == "transcript-source"] == ["supplements/采访.wuu.vtt"]

    form = {"action": "save", "why": "编目", "interviewees": "张阿婆", "interviewers": "李馆员\n王馆员",
            "summary_zh": "南长街的童年"}
    assert post(client, item_id, **form, **segments(("0", "童年", False), ("00:00:04", "邻居", True),
                                                     ("8", "运河", False))).status_code == 302
    item = archive.get_item(item_id, user=SYSTEM).value
    interview = read_interview(archive, item)
    assert [best.name["zh"] for best in interview.interviewers] == ["李馆员", "王馆员"]
    assert [(s.start, s.title, s.restricted, s.keywords) for s in interview.segments] == [
        (0, "童年", False, ["南长街", "运河"]), (4, "邻居", True, ["南长街", "运河"]), (8, "运河", False, ["南长街", "运河"])]
    assert interview.transcripts[0].cues  # the transcript stays
    assert archive.history(item_id, user=SYSTEM)[-1].message == "update: 编目"
    full = next(f for f in item.files if f.purpose == "access" and not f.tech.get("redacted"))
    redacted = next(f for f in item.files if f.purpose == "access" and f.tech.get("redacted"))
    anonymous = app.test_client()
    assert anonymous.get(f"/items/{item_id}/files/{full.id}").status_code == 403
    assert anonymous.get(f"/items/{item_id}/files/{item.originals[0].id}").status_code == 403
    assert anonymous.get(f"/items/{item_id}/files/{redacted.id}").status_code == 200
    assert client.get(f"/items/{item_id}/files/{full.id}").status_code == 200  # staff hear everything

    # a segment removed, one added, the restriction lifted: the redacted copies go
    rows = segments(("0", "童年", False), ("00:00:04", "邻居", False), ("8", "运河", False), ("10", "结尾", False))
    assert post(client, item_id, **form, **rows, **{"segments-2-remove": "1"}).status_code == 302
    item = archive.get_item(item_id, user=SYSTEM).value
    assert [s.title for s in read_interview(archive, item).segments] == ["童年", "邻居", "结尾"]
    assert not any(f.tech.get("redacted") for f in item.files)
    assert anonymous.get(f"/items/{item_id}/files/{full.id}").status_code == 200


def test_a_stale_form_is_a_conflict_and_bad_times_are_named(app, item_id):
    client = client_as(app, "archivist")
    archive = app.extensions["fangzhi"].archive
    version = archive.get_item(item_id, user=SYSTEM).version
    token = csrf_token(client, url(item_id))
    form = {"csrf_token": token, "action": "save", **segments(("0", "童年", False))}
    assert client.post(url(item_id), data={**form, "version": version}).status_code == 302
    stale = client.post(url(item_id), data={**form, "version": version})
    assert stale.status_code == 409 and "Reload it" in stale.get_data(as_text=True)
    bad = post(client, item_id, action="save", **segments(("0", "童年", False), ("半小时", "x", False), ("99", "y", False)))
    html = bad.get_data(as_text=True)
    assert bad.status_code == 400 and "segments[1].start" in html and "半小时" in html
    beyond = post(client, item_id, action="save", **segments(("0", "童年", False), ("99", "y", False)))
    assert beyond.status_code == 400 and "not before the end of the recording" in beyond.get_data(as_text=True)
    assert client.post(url(item_id), data={**form, "version": version + 1, "csrf_token": ""}).status_code == 400


@pytest.mark.parametrize("language, notice", [
    ("zh", "注意：已跳过草稿第 2 条字幕：它开始于 00:15:00.000，在录音结束（"),
    ("en", "Note: draft cue 2 skipped: it starts at 00:15:00.000, after the end of the recording ("),
])
def test_draft_transcript_from_the_configured_recognizer(app, item_id, language, notice):
    client = client_as(app, "archivist")
    client.set_cookie("lang", language)
    assert "生成转录草稿" in client.get(url(item_id) + "?lang=zh").get_data(as_text=True)
    response = post(client, item_id, action="draft")
    assert response.status_code == 302
    assert notice in client.get(response.headers["Location"]).get_data(as_text=True)  # the cue past the end: a notice
    archive = app.extensions["fangzhi"].archive
    transcript = read_interview(archive, archive.get_item(item_id, user=SYSTEM).value).transcripts[0]
    assert transcript.draft and [c.text for c in transcript.cues] == ["自动识别的一句"]
    assert "生成转录草稿" not in client.get(url(item_id) + "?lang=zh").get_data(as_text=True)


RICH = {  # what an OHMS import or an earlier edit may hold: every field the editor shows and more
    "interviewees": [{"name": {"zh": "张阿婆", "en": "Zhang Apo"}, "role": "interviewee",
                      "aliases": [{"name": "阿珍", "type": "小名"}]},
                     {"name": {"en": "Smith, John"}, "role": "interviewee"}],
    "interviewers": [{"name": {"zh": "李馆员"}, "role": "interviewer", "id": "staff-007"}],
    "date": {"edtf": "2024-06-12"}, "place": {"name": {"zh": "南长街"}, "coordinates": [31.56, 120.30]},
    "languages": ["wuu", "zh"], "keywords": ["南长街"], "subjects": ["口述史"],
    "summary": {"zh": "南长街的童年。", "en": "Childhood on Nanchang Street.", "wuu": "南长街个小辰光。"},
    "transcripts": [{"language": "wuu", "cues": [{"start": 1, "end": 3, "text": "伲小辰光住勒南长街。", "speaker": "张阿婆"}]}],
    "segments": [
        {"start": 0, "title": "童年", "synopsis": "南长街的童年，\n家里的南货店。", "partial_transcript": "伲小辰光",
         "keywords": ["Wuxi, China", "南货店"], "subjects": ["街巷"],
         "gps": [{"lat": 31.56, "lon": 120.3, "description": "南长街"}],
         "hyperlinks": [{"url": "https://example.org/nanchang", "description": "街区介绍"}]},
        {"start": 4.25, "title": "邻居", "keywords": ["邻里"], "restricted": True},
        {"start": 8, "title": "运河"}],
}


def test_saving_the_interview_form_unchanged_changes_nothing(app, item_id, tmp_path):
    from oral_history import redaction
    from oral_history.model import Interview
    from tests.web import forms

    archive = app.extensions["fangzhi"].archive
    record = archive.get_item(item_id, user=SYSTEM)
    redaction.save(archive, item_id, Interview.from_dict(RICH), user=SYSTEM, expected_version=record.version,
                   work=tmp_path / "work")
    before = archive.get_item(item_id, user=SYSTEM)
    client = client_as(app, "archivist")
    form = forms.submitted(client.get(url(item_id)).get_data(as_text=True), "interviewees")
    assert client.post(url(item_id), data=form, content_type="multipart/form-data").status_code == 302
    after = archive.get_item(item_id, user=SYSTEM)
    assert read_interview(archive, after.value).to_dict() == Interview.from_dict(RICH).to_dict() | {"duration": 12.0}
    assert after.version == before.version  # nothing changed: no new version


def test_segment_counts_are_bounded(app, item_id):
    """The segment count a form claims is checked before its rows are read (10⁹ rows were looped
    over), and an interview of more segments than MAX_SEGMENTS is refused; nothing is stored."""
    import time

    from oral_history.model import MAX_SEGMENTS

    client = client_as(app, "archivist")
    archive = app.extensions["fangzhi"].archive
    version = archive.get_item(item_id, user=SYSTEM).version
    start = time.monotonic()
    response = post(client, item_id, action="save", segments=str(10**9))
    assert time.monotonic() - start < 2
    assert response.status_code == 400 and f"最多 {MAX_SEGMENTS:,} 个片段" in response.get_data(as_text=True)
    rows = [(f"{i / 1000:.3f}", f"第{i}段", False) for i in range(MAX_SEGMENTS + 1)]
    form = {"csrf_token": csrf_token(client, url(item_id)), "version": version, "action": "save", **segments(*rows)}
    many = client.post(url(item_id), data=form)  # (the edit form is URL-encoded, as the page sends it)
    assert many.status_code == 400 and f"an interview has at most {MAX_SEGMENTS:,}" in many.get_data(as_text=True)
    assert archive.get_item(item_id, user=SYSTEM).version == version
