"""The staff review queue of mentions over HTTP (/admin/mentions): who may open it, what it
shows of restricted pages, confirm and reject."""
import pytest

from repository.access import SYSTEM
from search import name_index
from search.name_index import NameIndex
from tests.search.test_mentions import GROUPS
from tests.search.test_names import Names
from tests.search.test_service import add
from tests.web.auth_helpers import add_users, csrf_token, login


@pytest.fixture
def staff(app, archive):
    add_users(app)
    fangzhi = app.extensions["fangzhi"]
    fangzhi.search.names = NameIndex(Names(*GROUPS))
    name_index.CHECK_SECONDS, saved = 0.0, name_index.CHECK_SECONDS
    add(archive, "w1", "乡里见闻", pages=["是日过周汝桐宅。"])
    add(archive, "w2", "密札", pages=["鹤樵居士手书机密"], page_access="private")
    add(archive, "w3", "私人信札", visibility="private", pages=["延祥乡私事"])
    yield fangzhi
    name_index.CHECK_SECONDS = saved


@pytest.mark.parametrize("role", ["anonymous", "researcher", "member", "curator"])
def test_the_queue_is_for_archivists_and_admins(client, staff, role):
    if role != "anonymous":
        login(client, role)
    r = client.get("/admin/mentions")
    assert r.status_code in (302, 403) and "周汝桐" not in r.get_data(as_text=True)


def test_an_archivist_sees_where_but_not_what_of_pages_they_may_not_read(client, staff):
    login(client, "archivist")
    html = client.get("/admin/mentions").get_data(as_text=True)
    assert "是日过周汝桐宅" in html and "密札" in html
    assert "手书机密" not in html and "（受限内容，无权查看）" in html
    assert "私人信札" not in html and "延祥乡私事" not in html  # a private item is the admin's
    login(client, "admin")
    html = client.get("/admin/mentions").get_data(as_text=True)
    assert "手书机密" in html and "延祥乡私事" in html


def test_confirm_and_reject_over_http(client, staff, archive):
    login(client, "archivist")
    rows = {p.item_id: p for p in staff.mentions.queue(SYSTEM)}
    token = csrf_token(client, "/admin/mentions")
    assert client.post(f"/admin/mentions/{rows['w1'].id}/confirm", data={"why": "核对家谱", "csrf_token": token}).status_code == 302
    assert archive.get_item("w1", user=SYSTEM).value.mentions[0]["id"] == "person-zy"
    assert client.post(f"/admin/mentions/{rows['w2'].id}/reject", data={"csrf_token": token}).status_code == 302
    assert client.post(f"/admin/mentions/{rows['w3'].id}/reject", data={"csrf_token": token}).status_code == 404
    assert client.post(f"/admin/mentions/{rows['w2'].id}/reject").status_code == 400  # no CSRF token
    html = client.get("/admin/mentions?state=rejected").get_data(as_text=True)
    assert "密札" in html and "乡里见闻" not in html
    assert client.get("/admin/mentions?state=x&after=99999999999999999999").status_code == 200
