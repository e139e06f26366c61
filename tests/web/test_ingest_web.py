"""Staff ingest in the browser's way: chunked, resumable upload, then a background job."""
import re
import time

import pytest

from repository.access import SYSTEM
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
    assert re.search(r"<td>done</td>", page), page
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
