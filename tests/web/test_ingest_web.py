"""Staff ingest in the browser's way: chunked, resumable upload, then a background job."""
import re
import time

import pytest

from ingest.jobs import Entry
from repository.access import SYSTEM
from repository.notices import Notice, part
from tests.ingest import fixtures
from tests.web.auth_helpers import add_users, csrf_token, login


@pytest.fixture
def staff(app):
    add_users(app, ["archivist", "researcher"])
    client = app.test_client()
    login(client, "archivist")
    client.token = csrf_token(client, "/admin/ingest")
    return client


def upload(client, upload_id, index, name, data, chunk=4096):
    offset = 0
    while offset < len(data):
        r = client.put(f"/admin/uploads/{upload_id}/{index}?name={name}&offset={offset}",
                       data=data[offset:offset + chunk], headers={"X-CSRFToken": client.token})
        assert r.status_code == 200, r.get_data(as_text=True)
        offset = r.json["size"]
    return offset


def test_chunked_upload_becomes_an_item(staff, archive, tmp_path):
    page1 = fixtures.jpeg(tmp_path / "p1.jpg", seed=1).read_bytes()
    page2 = fixtures.jpeg(tmp_path / "p2.jpg", seed=2).read_bytes()
    upload_id = staff.post("/admin/uploads", headers={"X-CSRFToken": staff.token}).json["id"]
    assert upload(staff, upload_id, 0, "第1页.jpg", page1) == len(page1)
    # an interrupted upload: the server says how far it got, the client continues from there
    half = len(page2) // 2
    upload(staff, upload_id, 1, "第2页.jpg", page2[:half])
    stale = staff.put(f"/admin/uploads/{upload_id}/1?name=第2页.jpg&offset=0", data=page2,
                      headers={"X-CSRFToken": staff.token})
    assert stale.status_code == 409 and stale.json["size"] == half
    r = staff.put(f"/admin/uploads/{upload_id}/1?name=第2页.jpg&offset={half}", data=page2[half:],
                  headers={"X-CSRFToken": staff.token})
    assert r.json["size"] == len(page2)
    done = staff.post(f"/admin/uploads/{upload_id}/finish", data={
        "kind": "manuscript", "title_zh": "张氏家书", "visibility": "public", "csrf_token": staff.token})
    assert done.status_code == 303
    job_url = done.headers["Location"]
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        page = staff.get(job_url).get_data(as_text=True)
        if 'http-equiv="refresh"' not in page:
            break
        time.sleep(1)
    assert re.search(r"<td>完成</td>", page), page
    (item,) = archive.list_items(user=SYSTEM)[0]
    assert item.title == {"zh": "张氏家书"} and [f.path for f in item.originals] == [
        "originals/第1页.jpg", "originals/第2页.jpg"]
    assert {f.purpose for f in item.files} >= {"pyramid", "thumbnail", "ocr"}


def test_upload_routes_need_staff_and_csrf(app, staff):
    assert staff.post("/admin/uploads").status_code == 400  # no CSRF token
    researcher = app.test_client()
    login(researcher, "researcher")
    assert researcher.post("/admin/uploads", headers={"X-CSRFToken": csrf_token(researcher, "/")}).status_code == 403
    assert staff.put("/admin/uploads/" + "0" * 32 + "/0?name=a.jpg&offset=0", data=b"x",
                     headers={"X-CSRFToken": staff.token}).status_code == 404
    upload_id = staff.post("/admin/uploads", headers={"X-CSRFToken": staff.token}).json["id"]
    bad = staff.put(f"/admin/uploads/{upload_id}/0?name=../../evil.jpg&offset=0", data=b"x",
                    headers={"X-CSRFToken": staff.token})
    assert bad.status_code == 400 and "name" in bad.get_data(as_text=True)


def test_jobs_pages(staff):
    assert staff.get("/admin/jobs").status_code == 200
    assert staff.get("/admin/jobs/nope").status_code == 404


def test_a_job_report_shows_notices_in_the_interface_language(app, staff):
    jobs = app.extensions["fangzhi"].jobs
    job_id = jobs.create("box", [Entry("", 1, "采访", "it-notes", [], [], {})], user="archivist")
    skipped = Notice("采访.vtt", 9, "vtt.bad_timing", {"raw": "00:00:00.500 --> 00:00:60.000", "detail": part(
        "timing.sixty", which=part("term.end"), text="00:00:60.000")})
    jobs.mark(job_id, 1, "done", notes=[skipped, Notice("采访.wav", None, "ingest.type_differs",
                                                        {"named": "audio/x-wav", "found": "audio/wav"})])
    zh = staff.get(f"/admin/jobs/{job_id}").get_data(as_text=True)
    assert ("<li>采访.vtt 第 9 行：已跳过字幕：时间行“00:00:00.500 --&gt; 00:00:60.000”有误（结束时间“00:00:60.000”"
            "有误：分和秒只能是 00 到 59）</li>") in zh
    assert "<li>采访.wav：文件名表明是 audio/x-wav，内容却是 audio/wav</li>" in zh
    en = staff.get(f"/admin/jobs/{job_id}?lang=en").get_data(as_text=True)
    assert ("<li>采访.vtt line 9: cue skipped: bad timing line &#39;00:00:00.500 --&gt; 00:00:60.000&#39; (bad end "
            "time &#39;00:00:60.000&#39;: minutes and seconds run from 00 to 59)</li>") in en
    assert "<li>采访.wav: the name says audio/x-wav, the content is audio/wav</li>" in en
    assert "已跳过" not in en and "cue skipped" not in zh


def wait_for_job(client, job_url, deadline=180):
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        page = client.get(job_url).get_data(as_text=True)
        if 'http-equiv="refresh"' not in page:
            return page
        time.sleep(1)
    raise AssertionError(f"{job_url} did not finish")


def test_a_failed_entry_leaves_an_item_staff_see_as_incomplete_and_retry(app, staff, archive, tmp_path, monkeypatch):
    from ingest.pipeline import plan_job, process
    from ingest.sources.folder import plan_folder
    from tests.ingest.test_pipeline import failing_image_step

    add_users(app, ["curator", "member"])
    source = tmp_path / "box"
    source.mkdir()
    fixtures.jpeg(source / "scan.jpg", seed=7)
    ctx = app.extensions["fangzhi"].ingest_context()
    planned = plan_folder(source)
    planned[0].metadata["visibility"] = "public"
    with monkeypatch.context() as m:
        failing_image_step(m)  # in this process only: the retry's worker processes have memory again
        job_id = plan_job(ctx, "box", planned)
        assert process(ctx, job_id, 1) == "failed"
    item_id = ctx.jobs.entry(job_id, 1).item_id
    banner = "入藏未完成"

    # visibly incomplete to staff (the step and reason, a retry), and to no reader
    page = staff.get(f"/items/{item_id}").get_data(as_text=True)
    assert banner in page and "vips: out of memory" in page and f"{job_id}" in page and "重试此项" in page
    curator = app.test_client()
    login(curator, "curator")
    assert banner in curator.get(f"/items/{item_id}").get_data(as_text=True)
    member = app.test_client()
    login(member, "member")
    for reader in (app.test_client(), member):
        html = reader.get(f"/items/{item_id}").get_data(as_text=True)
        assert "scan" in html and banner not in html and "out of memory" not in html
    # the staff list's filter
    listed = staff.get("/admin/items?incomplete=1").get_data(as_text=True)
    assert f"/items/{item_id}" in listed and "image" in listed
    assert "未完成: 失败" in listed and "公开" in listed and ">public<" not in listed  # states and levels in words
    other = archive.create_item({"kind": "photo", "title": "完整的藏品"}, user=SYSTEM).value.id
    assert f"/items/{other}" not in listed and f"/items/{other}" in staff.get("/admin/items").get_data(as_text=True)
    job_page = staff.get(f"/admin/jobs/{job_id}").get_data(as_text=True)
    assert f'href="/items/{item_id}"' in job_page and "已存原件，未完成" in job_page
    assert "失败 1" in job_page and "<td>失败" in job_page
    assert "failed 1" in staff.get(f"/admin/jobs/{job_id}?lang=en").get_data(as_text=True)

    # retried from the job page (this entry alone): the item is completed from its stored original
    done = staff.post(f"/admin/jobs/{job_id}/retry", data={"entry": "1", "csrf_token": staff.token})
    assert done.status_code == 303
    assert re.search(r"<td>完成</td>", wait_for_job(staff, done.headers["Location"]))
    item = archive.get_item(item_id, user=SYSTEM).value
    assert {"pyramid", "thumbnail"} <= {f.purpose for f in item.derivatives(item.originals[0].id)}
    assert banner not in staff.get(f"/items/{item_id}").get_data(as_text=True)
    assert f"/items/{item_id}" not in staff.get("/admin/items?incomplete=1").get_data(as_text=True)
