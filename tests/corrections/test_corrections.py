"""Reviewed corrections over HTTP: proposals by one person, accepted or rejected by a second, new
derivative versions, search, stale proposals, volunteers, restricted transcript cues, hostile text."""
import json
import re

import pytest

from corrections.service import CorrectionRefused
from repository.access import SYSTEM, User
from repository.services import NewFile
from tests.iiif.builders import ocr
from tests.web.auth_helpers import add_users, csrf_token, login
from web import create_app

ITEM = "corr-book"
LINES = ["无锡县志卷一", "南长街旧有古桥", "惠山泥人"]


def ocr_page(lines, uncertain_at=None) -> bytes:
    data = json.loads(ocr(lines))
    if uncertain_at is not None:
        line, char = uncertain_at
        data["lines"][line]["chars"][char]["uncertain"] = True
        data["lines"][line]["uncertain"] = 1
    return json.dumps(data, ensure_ascii=False).encode()


def page_pyramid(lines) -> bytes:
    """A pyramidal TIFF of an 800 × 1100 page with a dark stroke per character where ``ocr`` puts it."""
    from iiif.imaging import pyvips

    page = (pyvips.Image.black(800, 1100) + 235).cast("uchar")
    for n, text in enumerate(lines):
        for i in range(len(text)):
            page = page.draw_rect(40, 708 - n * 60, 88 + i * 50, 24, 34, fill=True)
    return page.tiffsave_buffer(tile=True, pyramid=True, compression="jpeg")


def add_book(archive, item_id=ITEM, visibility="public", lines=LINES):
    files = [NewFile("page1.jpg", f"{item_id} scan".encode(), "image/jpeg", 1),
             NewFile("pyramid.tif", page_pyramid(lines), "image/tiff", role="derivative", derived_from="f1",
                     purpose="pyramid", tech={"width": 800, "height": 1100}),
             NewFile("pyramid.ocr.json", ocr_page(lines, (1, 3)), "application/json", role="derivative",
                     derived_from="f1", purpose="ocr"),
             NewFile("pyramid.txt", "\n".join(lines).encode(), "text/plain", role="derivative", derived_from="f1",
                     purpose="text")]
    record = archive.create_item({"id": item_id, "kind": "book", "title": {"zh": f"县志{item_id}"},
                                  "visibility": visibility}, files, user=SYSTEM)
    return next(f.id for f in record.value.files if f.purpose == "ocr")


def make_app(tmp_path, **settings):
    app = create_app({"DATA_DIR": str(tmp_path / "data"), "SECRET_KEY": "t", "LOGIN_RATE_LIMIT": "1000 per minute",
                      **settings})
    add_users(app)
    return app


@pytest.fixture
def app(tmp_path):
    return make_app(tmp_path)


def as_user(app, name):
    client = app.test_client()
    if name != "anonymous":
        assert login(client, name).status_code == 302
    return client


def propose(client, url, fields, version=None):
    page = client.get(url)
    html = page.get_data(as_text=True)
    version = version if version is not None else int(re.search(r'name="version" value="(\d+)"', html).group(1))
    was = dict(re.findall(r'name="(was-[^"]+)" value="([^"]*)"', html))
    data = {"csrf_token": re.search(r'name="csrf_token" value="([^"]+)"', html).group(1), "version": version,
            **was, **fields}
    return client.post(url, data=data)


def decide(client, proposal_id, decision, **extra):
    token = csrf_token(client, "/admin/corrections")
    return client.post(f"/admin/corrections/{proposal_id}/{decision}", data={"csrf_token": token, **extra})


def fz(app):
    return app.extensions["fangzhi"]


def test_a_correction_proposed_by_one_user_is_accepted_by_a_second(app):
    archive = fz(app).archive
    ocr_id = add_book(archive)
    before = archive.get_item(ITEM, user=SYSTEM)
    curator = as_user(app, "curator")
    url = f"/items/{ITEM}/corrections/ocr/{ocr_id}"
    page = curator.get(url).get_data(as_text=True)
    # each line beside its image region (IIIF Image API region of its box), uncertain characters marked
    assert f"/iiif/3/{ITEM}~f2/700,80,40,300/max/0/default.jpg" in page
    assert curator.get(f"/iiif/3/{ITEM}~f2/700,80,40,300/max/0/default.jpg").status_code == 200
    assert '<mark class="uncertain" title="识别把握低">旧</mark>' in page
    r = propose(curator, url, {"line-1": "南長街舊有古橋"})
    assert r.status_code == 302
    [p] = fz(app).corrections.store.list()
    assert (p.before, p.after, p.proposer, p.version, p.place) == ("南长街旧有古桥", "南長街舊有古橋", "curator",
                                                                   before.version, "1")
    assert "南长街旧有古桥" in archive.file_reader(ITEM)(archive.get_item(ITEM, user=SYSTEM).value.file(ocr_id)).decode()
    assert archive.get_item(ITEM, user=SYSTEM).version == before.version  # a proposal changes nothing yet

    assert decide(curator, p.id, "accept").status_code == 403  # curators propose, never accept
    archivist = as_user(app, "archivist")
    queue = archivist.get("/admin/corrections").get_data(as_text=True)
    assert "南長街舊有古橋" in queue and "curator" in queue
    assert decide(archivist, p.id, "accept").status_code == 302

    after = archive.get_item(ITEM, user=SYSTEM)
    assert after.version == before.version + 1
    assert archive.history(ITEM, user=SYSTEM)[-1].user == "archivist"
    new_ocr = next(f for f in after.value.files if f.purpose == "ocr")
    assert new_ocr.id != ocr_id and new_ocr.path == "derivatives/f1/pyramid.ocr.json"
    data = json.loads(archive.file_reader(ITEM)(new_ocr))
    line = data["lines"][1]
    assert line["text"] == "南長街舊有古橋" and data["text"].split("\n")[1] == "南長街舊有古橋"
    assert line["uncertain"] == 0 and not any(c["uncertain"] for c in line["chars"])
    assert [c["text"] for c in line["chars"]] == list("南長街舊有古橋")
    [c] = line["corrections"]
    assert (c["by"], c["accepted_by"], c["before"], c["after"], c["against_version"]) == (
        "curator", "archivist", "南长街旧有古桥", "南長街舊有古橋", before.version)
    text = next(f for f in after.value.files if f.purpose == "text")
    assert archive.file_reader(ITEM)(text).decode().split("\n")[1] == "南長街舊有古橋"
    assert new_ocr.tech["corrected"] == 1
    # the PREMIS event, with the object
    events = archive.preservation_events(ITEM, user=SYSTEM)
    [mod] = [e for e in events if e["type"] == "modification"]
    assert "curator" in mod["outcome_detail"] and "archivist" in mod["outcome_detail"] and mod["files"] == ["f1"]
    assert fz(app).corrections.store.get(p.id).state == "accepted"
    # re-indexed; credited on the item page
    anonymous = as_user(app, "anonymous")
    assert [h["id"] for h in anonymous.get("/api/search?q=舊有古橋").json["hits"]] == [ITEM]
    page = anonymous.get(f"/items/{ITEM}").get_data(as_text=True)
    assert re.search(r"<dt>校对</dt><dd class=\"correctors\">curator</dd>", page)
    assert "Corrected by" in anonymous.get(f"/items/{ITEM}?lang=en").get_data(as_text=True)
    # the IIIF Content Search answer reads the new text too
    assert "舊有古橋" in anonymous.get(f"/iiif/3/search/{ITEM}?q=古橋").get_data(as_text=True)


def test_search_finds_the_corrected_word_and_not_the_old_one(app):
    archive = fz(app).archive
    ocr_id = add_book(archive, lines=["惠山泥人阿福", "运河码头"])
    anonymous = as_user(app, "anonymous")
    assert [h["id"] for h in anonymous.get("/api/search?q=码头").json["hits"]] == [ITEM]
    archivist = as_user(app, "archivist")
    assert propose(archivist, f"/items/{ITEM}/corrections/ocr/{ocr_id}", {"line-1": "运河渡口"}).status_code == 302
    [p] = fz(app).corrections.store.list()
    r = decide(archivist, p.id, "accept")  # the proposer may not accept …
    assert r.status_code == 403 and "不能审核自己提出的校对" in r.get_data(as_text=True)
    assert fz(app).corrections.store.get(p.id).state == "proposed"
    assert "自己提出的，须由他人审核" in archivist.get("/admin/corrections").get_data(as_text=True)
    assert decide(as_user(app, "admin"), p.id, "accept").status_code == 302  # … a second person may
    assert fz(app).corrections.store.get(p.id).state == "accepted"
    assert anonymous.get("/api/search?q=码头").json["hits"] == []
    assert [h["id"] for h in anonymous.get("/api/search?q=渡口").json["hits"]] == [ITEM]


def test_a_stale_proposal_is_refused_with_a_clear_message(app):
    archive = fz(app).archive
    ocr_id = add_book(archive)
    url = f"/items/{ITEM}/corrections/ocr/{ocr_id}"
    curator, archivist, admin = as_user(app, "curator"), as_user(app, "archivist"), as_user(app, "admin")
    assert propose(curator, url, {"line-0": "無錫縣志卷一", "line-2": "惠山泥人阿福"}).status_code == 302
    assert propose(archivist, url, {"line-0": "无锡县志卷之一"}).status_code == 302
    first, other_line, second = fz(app).corrections.store.list()
    assert decide(admin, first.id, "accept").status_code == 302
    version = archive.get_item(ITEM, user=SYSTEM).version
    r = decide(admin, second.id, "accept")  # its line is no longer what it saw
    assert r.status_code == 302
    page = admin.get("/admin/corrections").get_data(as_text=True)
    assert "这条校对所依据的文本已经改变" in page
    assert archive.get_item(ITEM, user=SYSTEM).version == version  # nothing written
    assert fz(app).corrections.store.get(second.id).state == "proposed"
    # another line of the same page, still as its proposer saw it, is applied to the new version
    assert decide(archivist, other_line.id, "accept").status_code == 302
    item = archive.get_item(ITEM, user=SYSTEM).value
    data = json.loads(archive.file_reader(ITEM)(next(f for f in item.files if f.purpose == "ocr")))
    assert [line["text"] for line in data["lines"]] == ["無錫縣志卷一", "南长街旧有古桥", "惠山泥人阿福"]
    assert decide(admin, second.id, "reject", reason="已有更好的校对").status_code == 302
    assert fz(app).corrections.store.get(second.id).state == "rejected"
    # a page read before the item changed, sent now: the line it changed has changed since — stale;
    # another line, still as it was, is proposed against the page's OCR now (the old file id is replaced)
    html = curator.get(url).get_data(as_text=True)  # url names the first OCR file, replaced twice since
    token = re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)
    current = next(f.id for f in item.files if f.purpose == "ocr")
    old_page = {"csrf_token": token, "version": first.version, "was-0": LINES[0], "was-1": LINES[1]}
    r = curator.post(url, data={**old_page, "line-0": "无锡县志卷首"})
    assert r.status_code == 409 and "这条校对所依据的文本已经改变" in r.get_data(as_text=True)
    r = curator.post(url, data={**old_page, "line-1": "南长街旧有石桥"})
    assert r.status_code == 302 and r.headers["Location"].endswith(f"/corrections/ocr/{current}")
    latest = fz(app).corrections.store.list()[-1]
    assert (latest.file_id, latest.before, latest.version) == (current, LINES[1], version + 1)
    # the queue links to the page's OCR now, whichever file a proposal was made on
    assert admin.get(f"{url}?version={first.version}").status_code == 200
    # without the text seen (an API caller): a later version than the one read is stale
    with pytest.raises(CorrectionRefused) as refused:
        fz(app).corrections.propose(ITEM, "ocr", current, "2", "惠山泥人大阿福", version=first.version,
                                    user=User("curator", frozenset({"curator"})))
    assert refused.value.code == "stale"


def test_volunteers_propose_only_when_enabled_and_never_accept(tmp_path):
    off = make_app(tmp_path / "off")
    ocr_id = add_book(fz(off).archive)
    url = f"/items/{ITEM}/corrections/ocr/{ocr_id}"
    researcher = as_user(off, "researcher")
    r = researcher.get(url)
    assert r.status_code == 403 and "志愿校对未开放" in r.get_data(as_text=True)
    assert "校对 OCR 文本" not in researcher.get(f"/items/{ITEM}").get_data(as_text=True)
    token = csrf_token(researcher, "/password")
    assert researcher.post(url, data={"csrf_token": token, "version": 2, "line-0": "x"}).status_code == 403
    assert fz(off).corrections.store.list() == []

    on = make_app(tmp_path / "on", CORRECTIONS_VOLUNTEERS=True)
    ocr_id = add_book(fz(on).archive)
    staff_ocr = add_book(fz(on).archive, "corr-staff", visibility="staff")
    researcher, member = as_user(on, "researcher"), as_user(on, "member")
    assert "校对 OCR 文本" in researcher.get(f"/items/{ITEM}").get_data(as_text=True)
    assert propose(researcher, f"/items/{ITEM}/corrections/ocr/{ocr_id}", {"line-2": "惠山泥人大阿福"}).status_code == 302
    assert researcher.get(f"/items/corr-staff/corrections/ocr/{staff_ocr}").status_code == 404  # not theirs to see
    [p] = fz(on).corrections.store.list()
    assert p.proposer == "researcher"
    assert member.get("/admin/corrections").status_code == 403
    assert decide(member, p.id, "accept").status_code == 403
    assert fz(on).corrections.store.get(p.id).state == "proposed"
    assert decide(as_user(on, "archivist"), p.id, "accept").status_code == 302
    assert "researcher" in as_user(on, "anonymous").get(f"/items/{ITEM}").get_data(as_text=True)


def test_anonymous_users_and_tokens_cannot_propose(app):
    ocr_id = add_book(fz(app).archive)
    url = f"/items/{ITEM}/corrections/ocr/{ocr_id}"
    anonymous = app.test_client()
    assert anonymous.get(url).status_code == 302  # to the login page
    secret, _ = fz(app).accounts.create_token("bot", ["write", "read-staff"], by=SYSTEM)
    r = anonymous.get(url, headers={"Authorization": f"Bearer {secret}"})
    assert r.status_code == 403
    assert anonymous.get("/admin/corrections", headers={"Authorization": f"Bearer {secret}"}).status_code == 403


def test_hostile_correction_text_is_refused_with_the_reason(app):
    ocr_id = add_book(fz(app).archive)
    url = f"/items/{ITEM}/corrections/ocr/{ocr_id}"
    curator = as_user(app, "curator")
    for text, reason in (("字" * 1001, "超过 1000 个字符"), ("南长\x00街", "控制字符"), ("南长\x1b[2J街", "控制字符"),
                         ("南长\u202e街", "文字方向控制符"), ("   ", "不能为空")):
        r = propose(curator, url, {"line-1": text})
        assert r.status_code == 400, text
        assert reason in r.get_data(as_text=True), text
    r = propose(curator, url, {"line-1": "南长街", "note": "说" * 501})
    assert r.status_code == 400 and "说明" in r.get_data(as_text=True)
    assert fz(app).corrections.store.list() == []
    # CSRF: a form without the token is refused
    r = curator.post(url, data={"version": 2, "line-1": "南长街"})
    assert r.status_code == 400
    assert fz(app).corrections.store.list() == []
    # a line that does not exist, and a file that is not OCR
    r = propose(curator, url, {"line-99": "多出来的一行"})
    assert r.status_code == 400 and "没有这一行" in r.get_data(as_text=True)
    assert curator.get(f"/items/{ITEM}/corrections/ocr/f1").status_code == 404
    # fields sent without the page's "was-" copies: lines left as they were are no proposal, nor a problem
    token = csrf_token(curator, url)
    r = curator.post(url, data={"csrf_token": token, "version": fz(app).archive.get_item(ITEM, user=SYSTEM).version, "line-0": LINES[0], "line-2": LINES[2]})
    assert r.status_code == 302 and fz(app).corrections.store.list() == []
    # the same proposal sent twice is one proposal
    for _ in range(2):
        assert propose(curator, url, {"line-2": "惠山泥人阿福"}).status_code == 302
    [twice] = fz(app).corrections.store.list()
    # a decision without the CSRF token is refused
    archivist = as_user(app, "archivist")
    assert archivist.post(f"/admin/corrections/{twice.id}/accept").status_code == 400
    assert fz(app).corrections.store.get(twice.id).state == "proposed"
    # accepted text is written as data: markup in it is shown escaped on the queue page
    assert propose(curator, url, {"line-1": "<script>alert(1)</script>"}).status_code == 302
    page = as_user(app, "archivist").get("/admin/corrections").get_data(as_text=True)
    assert "<script>alert(1)</script>" not in page and "&lt;script&gt;" in page


INTERVIEW = {"transcripts": [{"language": "zh", "cues": [{"start": 0, "end": 4, "text": "住在南长街。"},
                                                         {"start": 5, "end": 9, "text": "隔壁的秘密。"}]}],
             "segments": [{"start": 0, "title": "童年"}, {"start": 5, "title": "秘密", "restricted": True}]}


def add_interview(archive, item_id="corr-oh"):
    from oral_history.model import Interview
    from oral_history.service import save_interview

    record = archive.create_item({"id": item_id, "kind": "audio", "title": {"zh": "访谈"}},
                                 [NewFile("interview.wav", b"wav", "audio/wav", 1, tech={"duration": 12.0})], user=SYSTEM)
    interview = Interview.from_dict(INTERVIEW)
    silenced = NewFile("access.redacted.webm", b"redacted", "audio/webm", role="derivative", derived_from="f1",
                       purpose="access", tech={"redacted": True, "spans": [[5.0, 12.0]]})  # as redaction.spans makes them
    save_interview(archive, item_id, interview, user=SYSTEM, expected_version=record.version, add_files=[silenced])


def test_transcript_corrections_never_show_or_take_a_restricted_cue_for_a_reader(tmp_path):
    app = make_app(tmp_path, CORRECTIONS_VOLUNTEERS=True)
    archive = fz(app).archive
    add_interview(archive)
    url = "/items/corr-oh/corrections/transcript"
    researcher = as_user(app, "researcher")
    page = researcher.get(url).get_data(as_text=True)
    assert "住在南长街" in page and "隔壁的秘密" not in page and "cue-t0:c1" not in page
    r = propose(researcher, url, {"cue-t0:c1": "隔壁的秘密改写"})  # the restricted cue, by its place
    assert r.status_code == 400 and "没有这一行或这一条字幕" in r.get_data(as_text=True)
    assert fz(app).corrections.store.list() == []
    curator = as_user(app, "curator")  # staff, but not cleared for the restricted passage
    assert "隔壁的秘密" not in curator.get(url).get_data(as_text=True)

    assert propose(researcher, url, {"cue-t0:c0": "住在南長街。"}).status_code == 302
    archivist = as_user(app, "archivist")
    cleared = archivist.get(url).get_data(as_text=True)
    assert "隔壁的秘密" in cleared and cleared.count("限制段落") == 1  # cleared staff see (marked) and correct it
    assert propose(archivist, url, {"cue-t0:c1": "隔壁人家的秘密。"}).status_code == 302
    mine, theirs = fz(app).corrections.store.list()
    assert decide(archivist, mine.id, "accept").status_code == 302
    assert decide(as_user(app, "admin"), theirs.id, "accept").status_code == 302
    vtt = as_user(app, "anonymous").get("/items/corr-oh/interview.vtt").get_data(as_text=True)
    assert "住在南長街。" in vtt and "秘密" not in vtt
    full = archivist.get("/items/corr-oh/interview.vtt").get_data(as_text=True)
    assert "隔壁人家的秘密。" in full
    assert any(e["type"] == "modification" for e in archive.preservation_events("corr-oh", user=SYSTEM))
    for page in ("preservation", "premis.xml"):  # staff not cleared for the passage see the events, not its words
        assert "隔壁人家" not in curator.get(f"/admin/items/corr-oh/{page}").get_data(as_text=True)
    # the redacted copy is the one made for the same spans: kept as it was
    item = archive.get_item("corr-oh", user=SYSTEM).value
    assert [f.path for f in item.files if f.tech.get("redacted")] == ["derivatives/f1/access.redacted.webm"]
