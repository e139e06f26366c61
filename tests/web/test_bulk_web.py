"""The staff item list and bulk work over HTTP: list, filters, selection, preview, apply (CSRF),
the job page, undo, export and update by spreadsheet; and the list and preview in Chromium."""
import io
import re
import time

import openpyxl
import pytest

from repository.access import ANONYMOUS, SYSTEM
from tests.helpers import photo_item
from tests.web.auth_helpers import add_users, csrf_token, login


@pytest.fixture
def site(app):
    add_users(app)
    archive = app.extensions["fangzhi"].archive
    archive.create_collection({"id": "old-town", "title": {"zh": "老城"}}, user=SYSTEM)
    for i in range(3):
        archive.create_item(photo_item(id=f"s{i}", title={"zh": f"县前街照片{i}"}, subjects=["街景"],
                                       collections=["old-town"], visibility="public" if i else "staff"),
                            user=SYSTEM, why="donation")
    archive.create_item(photo_item(id="secret", title={"zh": "县前街 密档"}, visibility="private"), user=SYSTEM)
    archive.create_item(photo_item(id="gone", title={"zh": "县前街旧档"}), user=SYSTEM)
    archive.withdraw_item("gone", user=SYSTEM, reason="duplicate")
    return app


def staff(site, role="archivist"):
    client = site.test_client()
    login(client, role)
    return client


def wait(site, job_id):
    store = site.extensions["fangzhi"].bulk.store
    for _ in range(200):
        if not store.job(job_id).counts.get("pending"):
            return store.job(job_id)
        time.sleep(0.05)
    raise AssertionError("the job did not finish")


def test_the_list_shows_badges_filters_and_only_what_the_user_may_see(site):
    client = staff(site)
    page = client.get("/admin/items?q=县前街").get_data(as_text=True)
    for i in range(3):
        assert f"县前街照片{i}" in page
    assert "密档" not in page  # private: admins only
    assert "县前街旧档" in page and "已撤回" in page  # withdrawn: managers see it, badged
    assert "仅馆员" in page or "馆员" in page  # the badge is text
    assert "老城" in page and "第 1 版" in page and "system" in page
    only_staff = client.get("/admin/items?q=县前街&visibility=staff").get_data(as_text=True)
    assert "县前街照片0" in only_staff and "县前街照片1" not in only_staff
    assert "县前街 密档" in staff(site, "admin").get("/admin/items?q=县前街").get_data(as_text=True)
    curator = staff(site, "curator").get("/admin/items").get_data(as_text=True)
    assert "县前街照片1" in curator and "县前街照片0" not in curator and 'name="op"' not in curator
    # the item page shows staff the badge, readers not
    assert "badge vis-staff" in client.get("/items/s0").get_data(as_text=True)
    reader = site.test_client()
    assert "badge vis-public" not in reader.get("/items/s1").get_data(as_text=True)


def test_preview_apply_undo_over_http(site):
    client = staff(site)
    args = {"q": "县前街", "all": "1", "op": "add", "field": "subjects", "value": "城市变迁"}
    preview = client.get("/admin/bulk/preview", query_string=args)
    text = preview.get_data(as_text=True)
    assert preview.status_code == 200
    assert "将修改 3 件" in text and "城市变迁" in text and "密档" not in text
    archive = site.extensions["fangzhi"].archive
    assert archive.get_item("s1", user=SYSTEM).version == 1  # nothing written
    assert client.post("/admin/bulk/apply", data={**args, "why": "x"}).status_code == 400  # no CSRF token
    token = csrf_token(client, "/admin/items")
    done = client.post("/admin/bulk/apply", data={**args, "why": "整理主题", "csrf_token": token})
    assert done.status_code == 303
    job_id = done.headers["Location"].rsplit("/", 1)[-1]
    assert wait(site, job_id).counts == {"done": 3}
    assert archive.get_item("s1", user=SYSTEM).value.subjects == ["街景", "城市变迁"]
    assert archive.get_item("secret", user=SYSTEM).version == 1
    page = client.get(f"/admin/bulk/jobs/{job_id}").get_data(as_text=True)
    assert "已完成 3" in page and "撤销整个任务" in page
    undo = client.post(f"/admin/bulk/jobs/{job_id}/undo", data={"csrf_token": token})
    undo_id = undo.headers["Location"].rsplit("/", 1)[-1]
    assert wait(site, undo_id).counts == {"done": 3}
    assert archive.get_item("s1", user=SYSTEM).value.subjects == ["街景"]
    assert archive.get_item("s1", user=SYSTEM).version == 3


def test_bulk_visibility_change_closes_every_route_at_once(site):
    client = staff(site, "admin")
    token = csrf_token(client, "/admin/items")
    reader = site.test_client()
    assert reader.get("/items/s1").status_code == 200
    done = client.post("/admin/bulk/apply", data={"id": ["s1", "s2"], "op": "visibility", "visibility": "private",
                                                  "why": "donor", "csrf_token": token})
    wait(site, done.headers["Location"].rsplit("/", 1)[-1])
    for url in ("/items/s1", "/api/items/s1", "/iiif/3/manifest/s1"):
        assert reader.get(url).status_code == 404, url
    assert reader.get("/api/search?q=县前街").json["total"] == 0
    found = staff(site).get("/api/search?q=县前街").json["hits"]
    assert {h["id"] for h in found} == {"s0", "gone"}  # the archivist: no longer s1, s2 (private)


def test_an_archivist_cannot_select_what_it_cannot_see(site):
    client = staff(site)
    token = csrf_token(client, "/admin/items")
    text = client.get("/admin/bulk/preview", query_string={"id": ["secret", "s1"], "op": "add", "field": "subjects",
                                                            "value": "泄露"}).get_data(as_text=True)
    assert "将修改 1 件" in text and "无此藏品" in text and "密档" not in text
    done = client.post("/admin/bulk/apply", data={"id": "secret", "op": "add", "field": "subjects", "value": "泄露",
                                                  "why": "x", "csrf_token": token})
    assert done.status_code == 302  # nothing to change: back to the list
    assert site.extensions["fangzhi"].archive.get_item("secret", user=SYSTEM).version == 1
    assert staff(site, "curator").get("/admin/bulk/preview?id=s1&op=publish").status_code == 403


def test_a_bad_regex_is_refused_with_a_message(site):
    client = staff(site)
    r = client.get("/admin/bulk/preview", query_string={"id": "s1", "op": "replace", "field": "title.zh",
                                                        "find": "(a+)+$", "regex": "1"}, follow_redirects=True)
    assert "嵌套的重复" in r.get_data(as_text=True)


def test_export_edit_and_update_by_excel(site):
    client = staff(site)
    sheet = client.get("/admin/bulk/export.xlsx", query_string={"q": "县前街", "all": "1"})
    assert sheet.status_code == 200
    book = openpyxl.load_workbook(io.BytesIO(sheet.data))
    rows = list(book.active.iter_rows(values_only=True))
    assert rows[0][:2] == ("标识符/id", "版本/version") and {r[0] for r in rows[1:]} == {"s0", "s1", "s2", "gone"}
    subjects = rows[0].index("主题/subjects")
    row = next(i for i, r in enumerate(rows, 1) if r[0] == "s2")
    book.active.cell(row, subjects + 1).value = "街景; 鼓楼"
    edited = io.BytesIO()
    book.save(edited)
    token = csrf_token(client, "/admin/bulk/update")
    preview = client.post("/admin/bulk/update", data={"sheet": (io.BytesIO(edited.getvalue()), "items.xlsx"),
                                                      "csrf_token": token}, content_type="multipart/form-data")
    text = preview.get_data(as_text=True)
    assert preview.status_code == 200 and "将修改 1 件" in text and "鼓楼" in text and "已撤回" in text
    apply_url = re.search(r'action="(/admin/bulk/update/[0-9a-f]+/apply)"', text).group(1)
    done = client.post(apply_url, data={"csrf_token": token})
    wait(site, done.headers["Location"].rsplit("/", 1)[-1])
    assert site.extensions["fangzhi"].archive.get_item("s2", user=SYSTEM).value.subjects == ["街景", "鼓楼"]
    # the same sheet again: stale, named by row and id
    again = client.post("/admin/bulk/update", data={"sheet": (io.BytesIO(edited.getvalue()), "items.xlsx"),
                                                    "csrf_token": token}, content_type="multipart/form-data")
    assert f"第 {row} 行 · s2" in again.get_data(as_text=True) and "已过时" in again.get_data(as_text=True)
    bad = client.post("/admin/bulk/update", data={"sheet": (io.BytesIO(b"PK\x03\x04junk"), "x.xlsx"),
                                                  "csrf_token": token}, content_type="multipart/form-data",
                      follow_redirects=True)
    assert "无法读取此表格" in bad.get_data(as_text=True)


def test_anonymous_and_tokens_never_reach_bulk_pages(site):
    reader = site.test_client()
    assert reader.get("/admin/bulk/preview?id=s1&op=publish").status_code == 302
    assert reader.get("/admin/bulk/export.csv?id=s1").status_code == 302
    assert ANONYMOUS.is_anonymous
