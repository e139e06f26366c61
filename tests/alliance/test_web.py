"""The alliance on the site: /admin/alliance, remote records on /search and /api/search, access."""
import time

import pytest

from alliance.members import Member
from tests.alliance.providers import Source, hostile_app, pyoai_app
from tests.helpers import serving
from tests.web.auth_helpers import add_users, csrf_token, login


@pytest.fixture
def app(tmp_path):
    from web import create_app

    app = create_app({"DATA_DIR": str(tmp_path), "SECRET_KEY": "t", "LOGIN_RATE_LIMIT": "1000 per minute",
                      "ALLIANCE_TIMEOUT": 2.0, "ALLIANCE_ATTEMPTS": 1, "LIBRARY_NAME": "本馆"})
    add_users(app, ["admin", "curator", "member"])
    return app


@pytest.fixture
def harvested(app):
    """Two members: one harvested with public and alliance records, one that fails."""
    fz = app.extensions["fangzhi"]
    source = Source(token="tok")
    source.put("oai:e:1", title="惠山古镇图志", creator="某甲", date="1936", identifier="http://east.example.org/items/1",
               relation=["http://east.example.org/iiif/3/manifest/1", "https://east.example.org/iiif/3/f1/full/200,/0/default.jpg"])
    source.put("oai:e:2", title="内部族谱稿本", creator="某乙", date="1900")
    source.private.add("oai:e:2")
    with serving(pyoai_app(source)) as good, serving(hostile_app("bomb")) as bad:
        fz.members.add(Member("east", f"{good}/cgi/oai2", token="tok", label_zh="东区图书馆", label_en="East District Library"))
        fz.members.add(Member("bad", f"{bad}/cgi/oai2", label_zh="坏馆", label_en="Broken"))
        fz.harvester.harvest()
    return fz


def test_admin_page_lists_members_with_status_in_the_readers_language(app, harvested):
    client = app.test_client()
    assert client.get("/admin/alliance").status_code == 302  # sign in first
    login(client, "curator")
    assert client.get("/admin/alliance").status_code == 403
    login(client, "admin")
    zh = client.get("/admin/alliance").get_data(as_text=True)
    assert "东区图书馆" in zh and "应答声明了 DTD 或实体" in zh and "tok" not in zh.replace("token", "")
    en = client.get("/admin/alliance?lang=en").get_data(as_text=True)
    assert "East District Library" in en and "the answer declares a DTD or entities" in en and "Harvest every member" in en


def test_admin_adds_harvests_and_removes_members_with_csrf(app):
    client = app.test_client()
    login(client, "admin")
    source = Source()
    source.put("oai:w:1", title="西区方志", creator="某丙", date="1950")
    with serving(pyoai_app(source)) as url:
        form = {"name": "west", "oai_url": f"{url}/cgi/oai2", "label_zh": "西馆"}
        assert client.post("/admin/alliance", data=form).status_code == 400  # no CSRF token
        token = csrf_token(client, "/admin/alliance")
        assert client.post("/admin/alliance", data={**form, "csrf_token": token}).status_code == 302
        bad = client.post("/admin/alliance", data={**form, "name": "Not A Slug", "csrf_token": token})
        assert bad.status_code == 400 and "lower-case letters" in bad.get_data(as_text=True)
        assert client.post("/admin/alliance/harvest", data={"member": "west"}).status_code == 400
        assert client.post("/admin/alliance/harvest", data={"member": "nobody", "csrf_token": token}).status_code == 404
        assert client.post("/admin/alliance/harvest", data={"member": "west", "csrf_token": token}).status_code == 302
        harvester = app.extensions["fangzhi"].harvester
        for _ in range(100):
            if not harvester.running:
                break
            time.sleep(0.1)
    assert app.extensions["fangzhi"].members.get("west").records == 1
    assert client.get("/api/search?q=西区方志").json["total"] == 1
    assert client.post("/admin/alliance/west/remove", data={"csrf_token": token}).status_code == 302
    assert client.get("/api/search?q=西区方志").json["total"] == 0


def test_remote_records_in_search_page_and_api(app, harvested):
    client = app.test_client()
    page = client.get("/search?q=惠山古镇").get_data(as_text=True)
    assert "<mark>惠山古镇</mark>图志" in page and 'href="http://east.example.org/items/1"' in page
    assert 'href="http://east.example.org/iiif/3/manifest/1"' in page and "收藏馆：" in page
    assert 'src="https://east.example.org/iiif/3/f1/full/200,/0/default.jpg"' in page
    en = client.get("/search?q=惠山古镇&lang=en").get_data(as_text=True)
    assert "East District Library" in en and "Held by:" in en
    api = client.get("/api/search?q=惠山古镇").json
    [hit] = api["hits"]
    assert hit["remote"] and hit["links"] == {"html": "http://east.example.org/items/1",
                                              "iiif_manifest": "http://east.example.org/iiif/3/manifest/1"}
    from web.openapi import SEARCH_RESULTS
    import jsonschema

    jsonschema.validate(api, SEARCH_RESULTS)  # the API's own description holds for remote hits
    assert hit["holdings"][0]["library"] == {"zh": "东区图书馆", "en": "East District Library"}
    assert {"value": "东区图书馆", "count": 1} in api["facets"]["library"]


def test_a_members_alliance_records_never_reach_anonymous_readers(app, harvested):
    anonymous = app.test_client()
    for url in ("/search?q=族谱", "/api/search?q=族谱", "/api/search?q=某乙", "/api/suggest?q=内部", "/search?q=&library=东区图书馆"):
        assert "内部族谱" not in anonymous.get(url).get_data(as_text=True), url
    assert anonymous.get("/api/search?q=").json["total"] == 1
    member = app.test_client()
    login(member, "member")
    assert "内部族谱稿本" in member.get("/search?q=某乙").get_data(as_text=True)
    answer = member.get("/api/search?q=").json
    assert answer["total"] == 2
    from web.openapi import SEARCH_RESULTS
    import jsonschema

    jsonschema.validate(answer, SEARCH_RESULTS)  # a remote record without any link has none in links


def test_local_items_carry_this_library_as_holding_library(app, harvested):
    from repository.access import SYSTEM
    from tests.helpers import photo_item

    app.extensions["fangzhi"].archive.create_item(photo_item(id="local1"), user=SYSTEM)
    facets = app.test_client().get("/api/search?q=").json["facets"]["library"]
    assert {"value": "本馆", "count": 1} in facets and {"value": "东区图书馆", "count": 1} in facets


def test_search_page_shows_titles_in_the_readers_language(app):
    """search.html imported the ``t`` macro without the context, so English readers saw Chinese titles."""
    from repository.access import SYSTEM
    from tests.helpers import photo_item

    app.extensions["fangzhi"].archive.create_item(photo_item(id="local1"), user=SYSTEM)
    page = app.test_client().get("/search?q=惠山&lang=en").get_data(as_text=True)
    assert "Huishan old town" in page


@pytest.mark.parametrize("scopes, sees", [(["read"], False), (["write"], False), (["read-alliance"], True),
                                          (["read-staff"], True)])
def test_token_scopes_and_a_members_alliance_records(app, harvested, scopes, sees):
    from repository.access import SYSTEM

    secret, _ = app.extensions["fangzhi"].accounts.create_token("t", scopes, by=SYSTEM)
    answer = app.test_client().get("/api/search?q=某乙", headers={"Authorization": f"Bearer {secret}"}).json
    assert (answer["total"] == 1) == sees and ("内部族谱" in str(answer)) == sees


def test_the_family_page_lists_the_members_genealogies_as_its_reader_may_see_them(app):
    """/families/<id>: the genealogies alliance members hold whose title or subjects name the
    family; one harvested with the alliance token is shown only to readers cleared for alliance."""
    from repository.access import SYSTEM

    fz = app.extensions["fangzhi"]
    place = fz.authorities.create({"kind": "place", "name": "梁溪"}, user=SYSTEM).value.id
    family = fz.authorities.create({"kind": "family", "name": "荣氏", "surname": "荣", "hall": "三槐堂",
                                    "ancestral_place": place}, user=SYSTEM).value.id
    source = Source(token="tok")
    source.put("oai:e:1", title="锡山榮氏宗譜", date="1935", identifier="http://east.example.org/items/1")
    source.put("oai:e:2", title="三槐堂世系录", subject="族谱", identifier="http://east.example.org/items/2")
    source.put("oai:e:3", title="荣氏家谱稿本", identifier="http://east.example.org/items/3")
    source.private.add("oai:e:3")  # harvested with the token: the alliance's only
    source.put("oai:e:6", title="梁溪荣府族谱", identifier="http://east.example.org/items/6")  # place + surname
    source.put("oai:e:4", title="梁溪张氏宗谱", identifier="http://east.example.org/items/4")  # another family
    source.put("oai:e:5", title="荣氏企业史料", identifier="http://east.example.org/items/5")  # not a genealogy
    with serving(pyoai_app(source)) as url:
        fz.members.add(Member("east", f"{url}/cgi/oai2", token="tok", label_zh="东区图书馆",
                              label_en="East District Library"))
        assert all(o.ok for o in fz.harvester.harvest())
    anonymous = app.test_client()
    html = anonymous.get(f"/families/{family}").get_data(as_text=True)
    assert "联盟成员馆收藏的家谱" in html and "东区图书馆" in html
    assert '<a href="http://east.example.org/items/1" rel="external">锡山榮氏宗譜</a>' in html
    assert "三槐堂世系录" in html and "梁溪荣府族谱" in html  # by its 堂号 (a genealogy by its subject); by place
    for absent in ("荣氏家谱稿本", "梁溪张氏宗谱", "荣氏企业史料"):
        assert absent not in html, absent
    assert "East District Library" in anonymous.get(f"/families/{family}?lang=en").get_data(as_text=True)
    member = app.test_client()
    login(member, "member")
    html = member.get(f"/families/{family}").get_data(as_text=True)
    assert "荣氏家谱稿本" in html and "锡山榮氏宗譜" in html and "梁溪张氏宗谱" not in html
