"""Collections from the staff area and the API (create, edit, nest, reorder, delete when empty;
loops refused), collection pages with their sub-collections' items, and purge (admins only)."""
import re

import pytest

from repository.access import SYSTEM
from tests.web.auth_helpers import add_users, csrf_token, login


@pytest.fixture
def users(app):
    add_users(app)
    clients = {}
    for role in ("admin", "archivist", "curator", "researcher"):
        c = app.test_client()
        login(c, role)
        c.token = csrf_token(c, "/")
        clients[role] = c
    return clients


def form(client, url, **data):
    return client.post(url, data={"csrf_token": client.token, **data})


def ids(archive, parent):
    return [c.id for c in archive.list_collections(user=SYSTEM, parent=parent)]


def test_staff_create_nest_reorder_edit_and_delete_collections(users, archive):
    a = users["archivist"]
    assert a.get("/admin/collections/new").status_code == 200
    for cid, title, parent in (("town", "城关镇", ""), ("letters", "家书", "town"), ("photos", "照片", "town"),
                               ("maps", "地图", "town")):
        r = form(a, "/admin/collections/new", id=cid, title_zh=title, parent=parent, visibility="public")
        assert r.status_code == 302, r.get_data(as_text=True)
    assert ids(archive, "town") == ["letters", "maps", "photos"]
    form(a, "/admin/collections/maps/move", position="0")
    assert ids(archive, "town") == ["maps", "letters", "photos"]
    form(a, "/admin/collections/photos/move", position="1")
    assert ids(archive, "town") == ["maps", "photos", "letters"]
    page = a.get("/admin/collections").get_data(as_text=True)
    assert page.index("地图") < page.index("照片") < page.index("家书")
    # edit: the English title, and moved to the top level
    version = archive.get_collection("letters", user=SYSTEM).version
    r = form(a, "/admin/collections/letters/edit", version=str(version), title_zh="家书", title_en="Letters",
             parent="", visibility="public", position="")
    assert r.status_code == 302
    letters = archive.get_collection("letters", user=SYSTEM).value
    assert letters.title == {"zh": "家书", "en": "Letters"} and letters.parent is None
    # a loop: town into its own child, refused with a message in the interface language
    version = archive.get_collection("town", user=SYSTEM).version
    r = form(a, "/admin/collections/town/edit", version=str(version), title_zh="城关镇", parent="maps",
             visibility="public")
    assert r.status_code == 400 and "这样会形成循环" in r.get_data(as_text=True)
    assert archive.get_collection("town", user=SYSTEM).value.parent is None
    edit_page = a.get("/admin/collections/town/edit").get_data(as_text=True)
    assert 'value="maps"' not in edit_page and 'value="town"' not in edit_page  # no loop offered
    r = form(a, "/admin/collections/town/move", parent="maps")
    assert "这样会形成循环" in a.get("/admin/collections").get_data(as_text=True)
    # delete: refused while not empty (a private item counts too), allowed once empty
    archive.create_item({"kind": "photo", "title": "信", "collections": ["photos"], "visibility": "private"},
                        user=SYSTEM)
    form(a, "/admin/collections/photos/delete")
    assert "馆藏 photos 不是空的：有 1 件藏品、0 个子馆藏" in a.get("/admin/collections").get_data(as_text=True)
    form(a, "/admin/collections/town/delete")
    assert "有 0 件藏品、2 个子馆藏" in a.get("/admin/collections").get_data(as_text=True)
    form(a, "/admin/collections/maps/delete", why="重复")
    assert ids(archive, "town") == ["photos"]
    assert any(e["action"] == "delete" and e["user"] == "archivist" and e["message"] == "重复"
               for e in archive.catalog.events())


def test_collection_writes_need_an_archivist_and_csrf(users, app):
    a = users["archivist"]
    form(a, "/admin/collections/new", id="town", title_zh="城关镇", visibility="public")
    assert a.post("/admin/collections/town/delete").status_code == 400  # no CSRF token
    for role in ("curator", "researcher"):
        c = users[role]
        for url in ("/admin/collections/new", "/admin/collections/town/edit"):
            assert c.get(url).status_code == 403
        assert form(c, "/admin/collections/town/delete").status_code == 403
    curator = users["curator"].get("/admin/collections").get_data(as_text=True)
    assert "城关镇" in curator and "新建馆藏" not in curator and "需要档案员或管理员权限" in curator
    assert users["researcher"].get("/admin/collections").status_code == 403


def test_a_curators_admin_page_says_what_a_curator_may_do(users):
    page = users["curator"].get("/admin/").get_data(as_text=True)
    assert "作为策展人，您可以" in page and "/admin/items" in page and "/admin/collections" in page
    assert "/admin/ingest" not in page
    en = users["curator"].get("/admin/?lang=en").get_data(as_text=True)
    assert "As a curator you may" in en


def test_collection_pages_include_items_of_sub_collections(users, archive, client):
    archive.create_collection({"id": "town", "title": "城关镇"}, user=SYSTEM)
    archive.create_collection({"id": "letters", "title": "家书", "parent": "town"}, user=SYSTEM)
    archive.create_collection({"id": "old", "title": "旧信", "parent": "letters"}, user=SYSTEM)
    archive.create_item({"kind": "photo", "title": "深处的信", "collections": ["old"]}, user=SYSTEM)
    archive.create_item({"kind": "photo", "title": "馆员的信", "collections": ["old"], "visibility": "staff"},
                        user=SYSTEM)
    page = client.get("/collections/town").get_data(as_text=True)
    assert "深处的信" in page and "馆员的信" not in page and "共 1 件" in page
    assert client.get("/api/collections/town").json["items"]["total"] == 1
    assert "馆员的信" in users["archivist"].get("/collections/town").get_data(as_text=True)


@pytest.fixture
def tokens(app):
    accounts = app.extensions["fangzhi"].accounts
    write, _ = accounts.create_token("writer", ["write"], by=SYSTEM)
    read, _ = accounts.create_token("reader", ["read-staff"], by=SYSTEM)
    return {"write": {"Authorization": f"Bearer {write}"}, "read": {"Authorization": f"Bearer {read}"}}


def test_collections_through_the_api(client, archive, tokens):
    w = tokens["write"]
    r = client.post("/api/collections", json={"id": "town", "title": {"zh": "城关镇"}}, headers=w)
    assert r.status_code == 201 and r.json["version"] == 1 and r.headers["Location"].endswith("/api/collections/town")
    assert client.post("/api/collections", json={"id": "x", "title": "X"}, headers=tokens["read"]).status_code == 403
    assert client.post("/api/collections", json={"id": "x", "title": "X"}).status_code in (401, 403)
    client.post("/api/collections", json={"id": "letters", "title": "家书", "parent": "town"}, headers=w)
    client.post("/api/collections", json={"id": "maps", "title": "地图", "parent": "town"}, headers=w)
    moved = client.post("/api/collections/maps/move", json={"parent": "town", "position": 0}, headers=w)
    assert moved.status_code == 200 and ids(archive, "town") == ["maps", "letters"]
    loop = client.patch("/api/collections/town", json={"parent": "letters"}, headers={**w, "If-Match": '"1"'})
    assert loop.status_code == 400 and "loop" in loop.get_data(as_text=True)
    stale = client.patch("/api/collections/letters", json={"title": "信"}, headers={**w, "If-Match": '"9"'})
    assert stale.status_code == 409
    version = client.get("/api/collections/letters", headers=w).json["version"]
    assert version == 2  # the move put it second among its siblings: a new version
    ok = client.patch("/api/collections/letters", json={"title": {"zh": "家书", "en": "Letters"}},
                      headers={**w, "If-Match": f'"{version}"'})
    assert ok.status_code == 200 and ok.json["title"]["en"] == "Letters"
    assert client.delete("/api/collections/town", headers=w).status_code == 409
    assert client.delete("/api/collections/maps", headers=w).status_code == 204
    assert client.get("/api/collections/maps").status_code == 404


def test_purge_from_the_staff_area_is_for_admins_with_a_reason_and_the_id_typed(users, archive):
    item_id = archive.create_item({"kind": "photo", "title": "误传的照片", "visibility": "staff"}, user=SYSTEM).value.id
    url = f"/admin/items/{item_id}/purge"
    for role in ("archivist", "curator", "researcher"):
        assert users[role].get(url).status_code == 403
        assert form(users[role], url, reason="x", confirm=item_id).status_code == 403
    admin = users["admin"]
    assert f'href="{url}"' in admin.get(f"/admin/items/{item_id}/edit").get_data(as_text=True)
    assert f'href="{url}"' not in users["archivist"].get(f"/admin/items/{item_id}/edit").get_data(as_text=True)
    assert admin.post(url, data={"reason": "x", "confirm": item_id}).status_code == 400  # no CSRF token
    no_reason = form(admin, url, reason=" ", confirm=item_id)
    assert no_reason.status_code == 400 and "请填写清除的原因" in no_reason.get_data(as_text=True)
    wrong = form(admin, url, reason="捐赠者撤回授权", confirm="something-else")
    assert wrong.status_code == 400 and f"请输入藏品编号 {item_id}" in wrong.get_data(as_text=True)
    assert archive.objects.exists(f"item:{item_id}")
    done = form(admin, url, reason="捐赠者撤回授权", confirm=item_id)
    assert done.status_code == 302 and not archive.objects.exists(f"item:{item_id}")
    (record,) = [p for p in archive.purge_records() if p["object_id"] == f"item:{item_id}"]
    assert record["user"] == "admin" and record["message"] == "捐赠者撤回授权"
    assert admin.get(url).status_code == 404
