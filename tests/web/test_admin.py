"""Staff work in the browser: adding an item with files, editing, conflicts, withdrawing."""
import io

import pytest

from repository.access import SYSTEM
from tests.web.auth_helpers import add_users, csrf_token, login


@pytest.fixture
def staff(app):
    add_users(app, ["archivist", "curator"])
    client = app.test_client()
    login(client, "archivist")
    return client


def jpeg() -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (20, 10), "blue").save(out, "JPEG")
    return out.getvalue()


def new_item(staff, **fields):
    data = {"kind": "photo", "title_zh": "梁溪旧影", "title_en": "Old Liangxi", "date_edtf": "1936",
            "subjects": "运河，桥梁", "visibility": "public", "why": "张氏捐赠",
            "csrf_token": csrf_token(staff, "/admin/items/new"),
            "files": [(io.BytesIO(jpeg()), "p1.jpg"), (io.BytesIO(jpeg()), "p2.jpg")], **fields}
    return staff.post("/admin/items/new", data=data, content_type="multipart/form-data")


def test_add_item_with_files(staff, archive):
    response = new_item(staff)
    assert response.status_code == 302
    item_id = response.headers["Location"].rsplit("/", 1)[-1]
    record = archive.get_item(item_id, user=SYSTEM)
    item = record.value
    assert item.title == {"zh": "梁溪旧影", "en": "Old Liangxi"} and item.subjects == ["运河", "桥梁"]
    assert [(f.path, f.sequence, f.media_type) for f in item.files] == [
        ("originals/p1.jpg", 1, "image/jpeg"), ("originals/p2.jpg", 2, "image/jpeg")]
    assert archive.history(item_id, user=SYSTEM)[0].message == "create: 张氏捐赠"
    assert archive.history(item_id, user=SYSTEM)[0].user == "archivist"


def test_invalid_form_names_the_field(staff, archive):
    response = new_item(staff, title_zh="", title_en="", date_edtf="民国")
    html = response.get_data(as_text=True)
    assert response.status_code == 400 and "title" in html and "date.edtf" in html
    assert archive.list_items(user=SYSTEM)[1] == 0


def test_edit_stale_version_and_withdraw(staff, archive):
    item_id = new_item(staff).headers["Location"].rsplit("/", 1)[-1]
    token = csrf_token(staff, f"/admin/items/{item_id}/edit")
    form = {"kind": "photo", "title_zh": "梁溪旧影（修订）", "visibility": "public", "version": "1", "csrf_token": token}
    assert staff.post(f"/admin/items/{item_id}/edit", data=form).status_code == 302
    stale = staff.post(f"/admin/items/{item_id}/edit", data={**form, "title_zh": "另一个题名"})
    assert stale.status_code == 409 and "内容已被他人修改" in stale.get_data(as_text=True)
    assert archive.get_item(item_id, user=SYSTEM).value.title["zh"] == "梁溪旧影（修订）"
    withdrawn = staff.post(f"/admin/items/{item_id}/edit", data={**form, "version": "2", "action": "withdraw",
                                                               "why": "重复入藏"})
    assert withdrawn.status_code == 302
    assert staff.application.test_client().get(f"/items/{item_id}").status_code == 410


def test_curator_cannot_add_items(app):
    add_users(app, ["curator"])
    client = app.test_client()
    login(client, "curator")
    assert client.get("/admin/items/new").status_code == 403
