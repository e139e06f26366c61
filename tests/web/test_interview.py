"""The interview page, its exports (WebVTT, OHMS), its IIIF manifest and Content Search, and the
restricted passage that must not leave by any route: for anonymous readers, researchers and
members, a unique word of a restricted segment appears in none of the answers; staff get it."""
import io
import json
import re

import pytest
from lxml import etree

from oral_history.model import Interview
from oral_history.service import save_interview
from repository.access import SYSTEM
from repository.services import NewFile
from tests.helpers import conformance
from tests.iiif import builders
from tests.iiif.builders import derivative
from tests.web.auth_helpers import add_users, login

SECRET = "龙凤镯"  # only in the restricted segment (title, synopsis, keywords) and the cues within it
PUBLIC_ROLES = ("anonymous", "researcher", "member")
STAFF = ("archivist", "admin")
INTERVIEW = {
    "interviewees": [{"name": {"zh": "张阿婆"}}], "interviewers": [{"name": {"zh": "李馆员"}}],
    "languages": ["wuu", "zh"], "date": {"edtf": "1998-05-01"}, "summary": {"zh": "南长街的往事。"},
    "transcripts": [
        {"language": "wuu", "label": {"zh": "无锡话逐字稿"}, "cues": [
            {"start": 0, "end": 4, "text": "伲小辰光就住勒南长街。", "speaker": "张阿婆"},
            {"start": 5, "end": 9, "text": f"隔壁人家藏仔一只{SECRET}。", "speaker": "张阿婆"},
            {"start": 11, "end": 15, "text": "清名桥下头船来船往。", "speaker": "张阿婆"}]},
        {"language": "zh", "kind": "rendering", "label": {"zh": "普通话译文"}, "cues": [
            {"start": 0, "end": 4, "text": "我小时候就住在南长街。", "speaker": "张阿婆"},
            {"start": 5, "end": 9, "text": f"隔壁人家藏了一只{SECRET}。", "speaker": "张阿婆"},
            {"start": 11, "end": 15, "text": "清名桥下面船来船往。", "speaker": "张阿婆"}]}],
    "segments": [{"start": 0, "title": "童年", "synopsis": "南长街的童年", "keywords": ["南长街"]},
                 {"start": 5, "title": f"{SECRET}的来历", "synopsis": f"邻居家的{SECRET}", "keywords": [SECRET],
                  "restricted": True},
                 {"start": 10, "title": "运河", "synopsis": "清名桥与运河", "keywords": ["清名桥"]}],
}


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    from web import create_app

    app = create_app({"DATA_DIR": str(tmp_path_factory.mktemp("interview")), "SECRET_KEY": "t",
                      "LOGIN_RATE_LIMIT": "1000 per minute"})
    archive = app.extensions["fangzhi"].archive
    record = archive.create_item({"id": "oh1", "kind": "audio", "title": {"zh": "南长街口述"}, "visibility": "public"},
                                 [NewFile("采访_张.wav", b"RIFF....WAVE", "audio/wav", 1, tech={"duration": 20.0})],
                                 user=SYSTEM)
    wave = json.dumps({"version": 2, "channels": 1, "bits": 8, "length": 4, "data": [-10, 10, -60, 60, 0, 0, -5, 5]})
    record = archive.update_item("oh1", {}, expected_version=record.version, user=SYSTEM, add_files=[
        derivative("f1", "access.webm", b"full webm", "audio/webm", "access", duration=20.0),
        derivative("f1", "access.m4a", b"full m4a", "audio/mp4", "access", duration=20.0),
        derivative("f1", "waveform.json", wave.encode(), "application/json", "waveform"),
        # the redacted copies oral_history.redaction makes: 5–10 s silenced
        derivative("f1", "access.redacted.webm", b"quiet webm", "audio/webm", "access", duration=20.0,
                   redacted=True, spans=[[5, 10]]),
        derivative("f1", "access.redacted.m4a", b"quiet m4a", "audio/mp4", "access", duration=20.0,
                   redacted=True, spans=[[5, 10]])])
    save_interview(archive, "oh1", Interview.from_dict(INTERVIEW), user=SYSTEM, expected_version=record.version,
                   sources=[NewFile("采访_张.vtt", io.BytesIO(b"WEBVTT\n"), "text/vtt")])
    builders.audio(archive)
    video = builders.video(archive, "ohv")
    save_interview(archive, "ohv", Interview.from_dict({"transcripts": [{"language": "zh", "cues": [
        {"start": 1, "end": 3, "text": "庙会开始了。"}]}]}), user=SYSTEM,
        expected_version=archive.get_item(video.id, user=SYSTEM).version)
    add_users(app, ["researcher", "member", "archivist", "admin"])
    return app


@pytest.fixture(scope="module", params=PUBLIC_ROLES + STAFF)
def client(request, site):
    client = site.test_client()
    if request.param != "anonymous":
        assert login(client, request.param).status_code == 302
    client.role = request.param
    return client


def file_id(site, name):
    item = site.extensions["fangzhi"].archive.get_item("oh1", user=SYSTEM).value
    return next(f.id for f in item.files if f.path.endswith("/" + name))


def text(response) -> str:
    """The answer as text with tags removed (a highlight must not split the word unseen) and
    JSON's escapes undone."""
    body = response.get_data(as_text=True)
    if response.is_json:
        body = json.dumps(response.json, ensure_ascii=False)
    return re.sub(r"<[^>]+>", "", body)


# Every route that shows the interview's words, with a query finding the restricted passage: the
# word itself in traditional characters (so the echo of the query is not the word) or its neighbour 隔壁.
ROUTES = [
    "/items/oh1", "/items/oh1?t=12", "/items/oh1/interview.vtt", "/items/oh1/interview.vtt?lang=zh",
    "/items/oh1/interview.xml",
    "/api/search?q=隔壁", "/api/search?q=龍鳳鐲", "/api/search?q=南长街", "/search?q=隔壁", "/search?q=龍鳳鐲",
    "/api/suggest?q=龙", "/iiif/3/manifest/oh1", "/iiif/3/search/oh1?q=隔壁", "/iiif/3/search/oh1?q=龍鳳鐲",
    "/iiif/search/1/oh1?q=隔壁", "/iiif/3/autocomplete/oh1?q=龙", "/iiif/search/1/autocomplete/oh1?q=龙",
    "/api/items/oh1",
]
# Where staff find the word (the item record and suggestions carry no interview text for anyone).
STAFF_FIND = set(ROUTES) - {"/api/search?q=南长街", "/api/suggest?q=龙", "/api/items/oh1"}


@pytest.mark.parametrize("url", ROUTES)
def test_restricted_words_only_for_staff(client, url):
    r = client.get(url)
    assert r.status_code == 200, (url, r.status_code)
    found = SECRET in text(r) or "龙凤" in text(r)
    assert found == (client.role in STAFF and url in STAFF_FIND), (client.role, url)


def test_full_recording_and_interview_data_are_refused_to_the_public(site, client):
    staff = client.role in STAFF
    for name in ("access.webm", "access.m4a", "waveform.json", "采访_张.wav", "interview.json", "采访_张.vtt"):
        assert client.get(f"/items/oh1/files/{file_id(site, name)}").status_code == (200 if staff else 403), name
    quiet = file_id(site, "access.redacted.webm")
    assert client.get(f"/items/oh1/files/{quiet}").status_code == 200
    page = client.get("/items/oh1").get_data(as_text=True)
    sources = re.findall(r'<source src="/items/oh1/files/(\w+)', page)
    assert sources == ([file_id(site, "access.webm"), file_id(site, "access.m4a")] if staff else
                       [quiet, file_id(site, "access.redacted.m4a")])
    files = {f["path"].rsplit("/", 1)[-1] for f in client.get("/api/items/oh1").json["files"]}
    assert ("interview.json" in files) == staff


def test_page_marks_the_restricted_segment_and_offers_exports(site, client):
    html = client.get("/items/oh1").get_data(as_text=True)
    assert "此段仅限馆员" in html and "童年" in html and "清名桥下头船来船往" in html
    assert 'role="tablist"' in html and "无锡话逐字稿" in html and "普通话译文" in html
    assert "/items/oh1/interview.vtt?lang=wuu" in html and "/items/oh1/interview.xml" in html
    assert 'href="/items/oh1?t=11"' in html and 'data-start="11.0"' in html
    assert "张阿婆" in html and "李馆员" in html
    assert 'src="/static/interview.js?v=' in html  # a versioned URL (web.assets)
    r = client.get("/items/oh1?t=12")
    assert "#t=12" in r.get_data(as_text=True)
    assert "'unsafe-inline'" not in r.headers["Content-Security-Policy"]


def test_in_page_search_folds_traditional_characters(client):
    html = client.get("/items/oh1").get_data(as_text=True)
    folds = json.loads(re.search(r'<script type="application/json" id="fold-map">(.*?)</script>', html, re.S).group(1))
    assert folds.get("橋") == "桥" and folds.get("長") == "长"  # 清名橋 finds 清名桥
    assert 'data-fold="张阿婆清名桥下头船来船往。"' in html


def test_exports(site, client):
    staff = client.role in STAFF
    vtt = client.get("/items/oh1/interview.vtt?lang=wuu")
    assert vtt.mimetype == "text/vtt" and vtt.get_data(as_text=True).startswith("WEBVTT")
    assert "<v 张阿婆>伲小辰光就住勒南长街。" in vtt.get_data(as_text=True)
    assert client.get("/items/oh1/interview.vtt?lang=en").status_code == 404
    xml = client.get("/items/oh1/interview.xml")
    assert xml.mimetype == "application/xml"
    root = etree.fromstring(xml.data)
    ns = {"o": root.nsmap[None]}
    assert [p.findtext("o:title", namespaces=ns) for p in root.iter(f"{{{ns['o']}}}point")] == \
        ["童年", f"{SECRET}的来历" if staff else "", "运河"]
    media = root.findtext(".//o:media_url", namespaces=ns)
    assert media.endswith(file_id(site, "access.webm" if staff else "access.redacted.webm"))
    schema = etree.XMLSchema(etree.parse(str(conformance("ohms/ohms.xsd"))))
    assert schema.validate(root), schema.error_log


def test_no_interview_no_exports(site):
    client = site.test_client()
    assert client.get("/items/none/interview.vtt").status_code == 404


def test_manifest_has_transcripts_ranges_and_vtt(client):
    from tests.iiif.test_presentation import assert_valid

    staff = client.role in STAFF
    m = client.get("/iiif/3/manifest/oh1").json
    assert_valid(m)
    canvas = m["items"][0]
    cid = canvas["id"]
    assert canvas["duration"] == 20.0
    pages = canvas["annotations"]
    assert [p["label"]["zh"] for p in pages] == [["无锡话逐字稿"], ["普通话译文"]]
    cues = pages[0]["items"]
    assert {a["motivation"] for a in cues} == {"supplementing"}
    assert cues[0]["body"] == {"type": "TextualBody", "value": "张阿婆：伲小辰光就住勒南长街。", "format": "text/plain",
                               "language": "wuu"}
    assert [a["target"] for a in cues] == [f"{cid}#t=0,4"] + ([f"{cid}#t=5,9"] if staff else []) + [f"{cid}#t=11,15"]
    assert canvas["rendering"][0]["format"] == "text/vtt"
    assert canvas["rendering"][0]["id"].endswith("/items/oh1/interview.vtt?lang=wuu")
    ranges = m["structures"]
    assert [r["label"] for r in ranges] == [
        {"zh": ["童年"]}, {"zh": [f"{SECRET}的来历"]} if staff else {"zh": ["此段仅限馆员"], "en": [
            "Restricted passage (library staff only)"]}, {"zh": ["运河"]}]
    assert [r["items"][0]["id"] for r in ranges] == [f"{cid}#t=0,5", f"{cid}#t=5,10", f"{cid}#t=10,20"]
    body = canvas["items"][0]["items"][0]["body"]
    assert len(body["items"]) == 2  # one copy of each format: full for staff, redacted for the public
    assert m["service"][0]["type"] == "SearchService2"


def test_content_search_answers_with_time_targets(client):
    r = client.get("/iiif/3/search/oh1?q=清名橋").json
    targets = [a["target"] for a in r["items"]]
    assert targets and all(re.search(r"/canvas/f1#t=11,15$", t) for t in targets) and len(targets) == 2
    assert r["items"][0]["id"].endswith("/canvas/f1/transcript/1/cue/11000")  # the manifest's annotation


def test_plain_recordings_get_a_player_and_a_video_its_subtitles(site):
    client = site.test_client()
    audio = client.get("/items/audio1").get_data(as_text=True)
    assert "<audio controls" in audio and 'data-waveform="/items/audio1/files/' in audio
    assert 'class="transcripts"' not in audio and "interview.xml" not in audio
    video = client.get("/items/ohv").get_data(as_text=True)
    assert "<video controls" in video and 'poster="/items/ohv/files/' in video and 'type="video/mp4"' in video
    # a transcript as spoken is the video's captions, shown by default (a rendering would be subtitles)
    assert '<track kind="captions" srclang="zh"' in video and "/items/ohv/interview.vtt?lang=zh" in video
    assert re.search(r'<track kind="captions" srclang="zh"\s+label="[^"]+" default', video)
    assert "庙会开始了" in client.get("/items/ohv/interview.vtt").get_data(as_text=True)
    assert client.get("/items/audio1/interview.vtt").status_code == 404
