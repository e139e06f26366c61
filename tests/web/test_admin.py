"""Staff work in the browser: adding an item with files, editing, conflicts, withdrawing."""
import io

import pytest

from repository.access import SYSTEM
from tests.web import forms
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
            "subjects": "运河\n桥梁", "visibility": "public", "why": "张氏捐赠",
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
    # named in the interface language (issue 16): the field's label, never its code
    assert response.status_code == 400 and "题名：必填" in html and "日期（EDTF）：“民国”不是 EDTF 日期" in html
    assert "date.edtf" not in html
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


# --- the edit form keeps every field (issue 11 #1) ------------------------------------------------

def submitted(html: str, **changes):
    """The item form as a browser sends it when "save" is pressed, with ``changes``."""
    return forms.submitted(html, "version", button=("action", "save"), **changes)


MAXIMAL = {
    "id": "maximal-1", "kind": "book",
    "title": {"zh": "无锡县志", "en": "Gazetteer of Wuxi", "zh-Hant": "無錫縣志"},
    "description": {"zh": "光绪年间刻本。\n第二段：修补记录。", "en": "A Guangxu-era woodblock print.", "ja": "光緒年間の刻本"},
    "creators": [
        {"name": {"zh": "秦毓钧", "en": "Qin Yujun"}, "role": "author", "id": "viaf-123456",
         "aliases": [{"name": "伯虞", "type": "字"}, {"name": "梁溪老人", "type": "号"}, {"name": "Q. Y.", "type": "别名"}]},
        {"name": {"zh": "无锡县署"}, "type": "organization", "role": "publisher"},
        {"name": {"en": "Smith, John"}, "role": "editor"}],
    "contributors": [{"name": {"zh": "张三", "en": "Zhang San"}, "role": "scanner",
                      "aliases": [{"name": "三郎: 张", "type": "笔名"}]}],
    "date": {"edtf": "1881/1882?", "display": "光绪七年至八年"},
    "places": [{"name": {"zh": "无锡", "en": "Wuxi"}, "aliases": ["锡山", "梁溪"], "coordinates": [31.49, 120.3125]},
               {"name": {"zh": "江阴"}}],
    "subjects": ["地方志", "Wuxi (Jiangsu Sheng, China) -- History"],
    "language": ["lzh", "zh-Hant"], "extent": "12 册",
    "rights": "https://creativecommons.org/licenses/by-nc-sa/4.0/",  # not one of the form's listed statements
    "holding_library": "区图书馆", "viewing_direction": "right-to-left",
    "identifiers": ["K295.3, 卷一", "捐赠号 2024-017"],
    "collections": ["zeta", "alpha", "sealed"],  # in this order; "sealed" is private (archivists do not list it)
    "visibility": "embargoed", "embargo_until": "2099-01-01",
}


def maximal_files():
    from repository.services import NewFile

    return [NewFile("vol1.jpg", jpeg(), "image/jpeg", 1, label={"zh": "卷一", "en": "Volume 1", "lzh": "卷之一"}),
            NewFile("vol2.jpg", jpeg() + b"2", "image/jpeg", 2, label={"zh": "卷二"}, access="alliance"),
            NewFile("consent.pdf", b"%PDF-1.4 consent", "application/pdf", role="supplement", purpose="consent",
                    access="private", label={"en": "Deed of gift"}),
            NewFile("thumb.jpg", jpeg(), "image/jpeg", role="derivative", derived_from="f1", purpose="thumbnail",
                    tech={"width": 20, "height": 10})]


def demo_records(folder):
    """The demo collection's items (web/demo.py) with their files, as the archive would hold them."""
    import mimetypes

    from repository.services import NewFile
    from web.demo import demo_items

    for planned in demo_items(folder, "区图书馆"):
        files = [NewFile(p.name, p.read_bytes(), mimetypes.guess_type(p.name)[0], n) for n, p in enumerate(planned.files, 1)]
        yield planned.metadata, files


def test_saving_the_edit_form_unchanged_changes_nothing(app, staff, archive, tmp_path):
    for cid, vis in (("alpha", "public"), ("zeta", "public"), ("sealed", "private"), ("demo", "public"),
                     ("demo-photos", "public"), ("demo-manuscripts", "public"), ("demo-oral-history", "public")):
        archive.create_collection({"id": cid, "title": {"zh": cid}, "visibility": vis}, user=SYSTEM)
    records = [archive.create_item(MAXIMAL, maximal_files(), user=SYSTEM)]
    records += [archive.create_item(data, files, user=SYSTEM) for data, files in demo_records(tmp_path / "demo")]
    assert len(records) == 1 + 10  # the maximal record and every demo item
    for before in records:
        url = f"/admin/items/{before.value.id}/edit"
        page = staff.get(url)
        assert page.status_code == 200
        response = staff.post(url, data=submitted(page.get_data(as_text=True)), content_type="multipart/form-data")
        assert response.status_code == 302, response.get_data(as_text=True)
        after = archive.get_item(before.value.id, user=SYSTEM)
        assert after.value.to_dict() == before.value.to_dict(), before.value.id
        assert after.version == before.version  # nothing changed: no new version


def test_editing_one_field_keeps_every_other(staff, archive):
    for cid, vis in (("alpha", "public"), ("zeta", "public"), ("sealed", "private")):
        archive.create_collection({"id": cid, "title": {"zh": cid}, "visibility": vis}, user=SYSTEM)
    before = archive.create_item(MAXIMAL, maximal_files(), user=SYSTEM).value.to_dict()
    url = "/admin/items/maximal-1/edit"
    html = staff.get(url).get_data(as_text=True)
    form = submitted(html, **{"title_en": "Wuxi county gazetteer", "files-1-access": "staff",
                              "files-0-label-en": "", "creators-3-name-zh": "王五", "creators-3-role": "annotator",
                              "creators-3-aliases": "字：子美", "why": "英文题名"})
    assert staff.post(url, data=form, content_type="multipart/form-data").status_code == 302
    after = archive.get_item("maximal-1", user=SYSTEM)
    assert after.version == 2
    expected = {**before, "title": {**before["title"], "en": "Wuxi county gazetteer"},
                "creators": before["creators"] + [{"name": {"zh": "王五"}, "type": "person", "role": "annotator",
                                                   "id": None, "aliases": [{"name": "子美", "type": "字"}]}]}
    expected["files"] = [dict(f) for f in before["files"]]
    expected["files"][0]["label"] = {"zh": "卷一", "lzh": "卷之一"}
    expected["files"][1]["access"] = "staff"
    assert after.value.to_dict() == expected


def test_a_bad_field_is_named_and_the_form_keeps_what_was_sent(staff, archive):
    item_id = new_item(staff).headers["Location"].rsplit("/", 1)[-1]
    url = f"/admin/items/{item_id}/edit"
    form = submitted(staff.get(url).get_data(as_text=True),
                     **{"places-0-name-zh": "惠山", "places-0-coordinates": "北纬31度", "creators-0-role": "photographer"})
    response = staff.post(url, data=form, content_type="multipart/form-data")
    html = response.get_data(as_text=True)
    assert response.status_code == 400 and "地点 1 · 坐标：应是以度表示的“纬度, 经度”" in html
    assert "创作者 1 · 名称：必填" in html and "places[0]" not in html
    assert 'value="北纬31度"' in html and 'value="惠山"' in html and 'value="photographer"' in html
    assert archive.get_item(item_id, user=SYSTEM).version == 1


@pytest.mark.parametrize("route", ["page", "api"])
def test_a_version_conflict_from_storage_is_a_409_on_pages_and_api(app, staff, archive, monkeypatch, route):
    """Every conflict answers 409, whichever layer reports it: the object store's own (a backend
    conflict a service lets through answered 503 "storage not available" before)."""
    from storage.ocfl import VersionConflict

    item_id = new_item(staff).headers["Location"].rsplit("/", 1)[-1]

    def moved_on(*args, **kwargs):
        raise VersionConflict(f"item:{item_id}", 1, 2)

    monkeypatch.setattr(archive, "update_item", moved_on)
    if route == "page":
        form = {"kind": "photo", "title_zh": "梁溪旧影（修订）", "visibility": "public", "version": "1",
                "csrf_token": csrf_token(staff, f"/admin/items/{item_id}/edit")}
        response = staff.post(f"/admin/items/{item_id}/edit", data=form)
        assert response.status_code == 409 and "内容已被他人修改" in response.get_data(as_text=True)
    else:
        secret, _ = app.extensions["fangzhi"].accounts.create_token("t", ["write"], by=SYSTEM)
        response = app.test_client().patch(f"/api/items/{item_id}", json={"subjects": ["桥"]},
                                           headers={"Authorization": f"Bearer {secret}", "If-Match": '"1"'})
        assert response.status_code == 409 and response.json["error"] == "VersionConflict"
        assert "at version 2" in response.json["message"]
