"""Researchers' saved lists: private by default, shared by an unguessable link that still applies
the access policy to each item for whoever opens it; kept in the database (DATABASE_URL)."""
import re

import pytest

from repository.access import SYSTEM
from tests.helpers import photo_item
from tests.web.auth_helpers import add_users, csrf_token, login


@pytest.fixture
def site(app, archive):
    add_users(app)
    archive.create_item(photo_item(id="pub", title={"zh": "公开照片"}), user=SYSTEM)
    archive.create_item(photo_item(id="ally", title={"zh": "联盟手稿"}, visibility="alliance"), user=SYSTEM)
    return app


def save(client, item, note="", name=None):
    """Through the item page's form, as a browser does."""
    page = client.get(f"/items/{item}").get_data(as_text=True)
    form = re.search(r'<form method="post" action="([^"]+)" class="save-form"', page)
    assert form, "the item page has no save form"
    data = {"csrf_token": csrf_token(client, f"/items/{item}"), "item": item}
    if form.group(1) == "/lists":
        data.update(name=name or "我的收藏", item_note=note)
    else:
        data.update(list=re.search(r'<option value="(\d+)"', page).group(1), note=note)
    return client.post(form.group(1), data=data)


def list_id(client):
    return int(re.search(r'href="/lists/(\d+)"', client.get("/lists").get_data(as_text=True)).group(1))


def titles(html):
    return re.findall(r'<li><a href="/items/[^"]+">([^<]+)</a>', html)


def test_a_reader_keeps_a_private_list_with_notes(site):
    me, other = site.test_client(), site.test_client()
    login(me, "member")
    assert save(me, "pub", note="第三页有题记").status_code == 302
    assert save(me, "ally", note="对照").status_code == 302
    lid = list_id(me)
    html = me.get(f"/lists/{lid}").get_data(as_text=True)
    assert titles(html) == ["公开照片", "联盟手稿"] and "第三页有题记" in html
    login(other, "researcher")
    assert other.get(f"/lists/{lid}").status_code == 404  # someone else's list does not exist for them
    r = other.post(f"/lists/{lid}", data={"csrf_token": csrf_token(other, "/lists"), "action": "share"})
    assert r.status_code == 404
    assert site.test_client().get(f"/lists/{lid}").status_code == 302  # anonymous: to the login page
    assert site.test_client().get("/lists").status_code == 302


def test_a_shared_link_shows_each_viewer_what_they_may_see(site):
    me = site.test_client()
    login(me, "member")
    save(me, "pub")
    save(me, "ally")
    lid = list_id(me)
    me.post(f"/lists/{lid}", data={"csrf_token": csrf_token(me, "/lists"), "action": "share"})
    link = re.search(r'value="http://localhost(/shared/[^"]+)"', me.get(f"/lists/{lid}").get_data(as_text=True)).group(1)
    assert len(link.rsplit("/", 1)[1]) >= 40  # 256 random bits
    anonymous = site.test_client().get(link)
    assert titles(anonymous.get_data(as_text=True)) == ["公开照片"]
    assert anonymous.headers["Referrer-Policy"] == "strict-origin-when-cross-origin"  # the secret stays here
    assert anonymous.headers["Cache-Control"] == "private, no-store"
    member = site.test_client()
    login(member, "curator")
    assert titles(member.get(link).get_data(as_text=True)) == ["公开照片", "联盟手稿"]
    assert site.test_client().get("/shared/" + "x" * 43).status_code == 404
    me.post(f"/lists/{lid}", data={"csrf_token": csrf_token(me, "/lists"), "action": "unshare"})
    assert site.test_client().get(link).status_code == 404  # the old link dies


def test_an_item_restricted_later_disappears(site, archive):
    me = site.test_client()
    login(me, "member")
    save(me, "pub")
    save(me, "ally")
    record = archive.get_item("ally", user=SYSTEM)
    archive.update_item("ally", {"visibility": "staff"}, expected_version=record.version, user=SYSTEM)
    html = me.get(f"/lists/{list_id(me)}").get_data(as_text=True)
    assert titles(html) == ["公开照片"] and "联盟手稿" not in html
    staff = site.test_client()
    login(staff, "archivist")
    assert "联盟手稿" in staff.get("/items/ally").get_data(as_text=True)


def test_one_cannot_save_what_one_may_not_see(site):
    me = site.test_client()
    login(me, "researcher")
    save(me, "pub")
    r = me.post("/lists/save", data={"csrf_token": csrf_token(me, "/lists"), "list": list_id(me), "item": "ally"})
    assert r.status_code == 404
    assert "联盟手稿" not in me.get(f"/lists/{list_id(me)}").get_data(as_text=True)
    assert site.test_client().post("/lists", data={"name": "x"}).status_code in (400, 403)  # no session, no CSRF


def test_api_tokens_never_read_lists(site):
    me = site.test_client()
    login(me, "researcher")
    save(me, "pub")
    secret, _ = site.extensions["fangzhi"].accounts.create_token("researcher", ["read"], by=SYSTEM)
    token = site.test_client()
    token.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {secret}"
    assert token.get(f"/lists/{list_id(me)}").status_code == 403


def test_lists_are_kept_in_the_database(site, tmp_path):
    from web import create_app
    me = site.test_client()
    login(me, "researcher")
    save(me, "pub", note="留存")
    assert (tmp_path / "data" / "fangzhi.sqlite3").exists() and not (tmp_path / "data" / "lists.sqlite3").exists()
    again = create_app({"DATA_DIR": str(tmp_path / "data"), "SECRET_KEY": "test"}).test_client()
    login(again, "researcher")
    assert "留存" in again.get(f"/lists/{list_id(again)}").get_data(as_text=True)


def test_names_and_notes_are_checked(site):
    me = site.test_client()
    login(me, "researcher")
    token = csrf_token(me, "/lists")
    r = me.post("/lists", data={"csrf_token": token, "name": " "})
    assert r.status_code == 400 and "name" in r.get_data(as_text=True)
    assert me.post("/lists", data={"csrf_token": token, "name": "x" * 201}).status_code == 400
    html = me.post("/lists", data={"csrf_token": token, "name": "<script>alert(1)</script>"}, follow_redirects=True)
    assert "<script>alert(1)" not in html.get_data(as_text=True)


def test_hostile_list_requests(site):
    me = site.test_client()
    login(me, "researcher")
    token = csrf_token(me, "/lists")
    assert me.post("/lists/save", data={"csrf_token": token, "list": "abc", "item": "pub"}).status_code == 404
    assert me.post("/lists/save", data={"csrf_token": token, "list": "-1", "item": "pub"}).status_code == 404
    save(me, "pub")
    r = me.post("/lists/save", data={"csrf_token": token, "list": list_id(me), "item": "pub", "note": "x" * 2001})
    assert r.status_code == 400
    assert me.get("/lists/99999999999999999999").status_code == 404
