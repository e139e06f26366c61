"""The authority file's pages and API: records, redirects after merges, JSON-LD, browsing, and
no item a reader may not see."""
import json
import re

import pytest

from repository.access import SYSTEM
from tests.web.auth_helpers import add_users, login
from web import create_app
from web.demo import demo_authorities


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    app = create_app({"DATA_DIR": str(tmp_path_factory.mktemp("authority")), "SECRET_KEY": "t",
                      "LOGIN_RATE_LIMIT": "1000 per minute"})
    fz = app.extensions["fangzhi"]
    ids = demo_authorities(fz.authorities)
    archive = fz.archive
    archive.create_item({"id": "gen-public", "kind": "book", "title": {"zh": "梁溪荣氏家谱"}, "subjects": ["家谱"],
                         "about": [ids["rong"]], "date": {"edtf": "1935"}}, user=SYSTEM)
    archive.create_item({"id": "gen-private", "kind": "book", "title": {"zh": "秘藏荣氏支谱"}, "subjects": ["家谱"],
                         "about": [ids["rong"]], "visibility": "private"}, user=SYSTEM)
    archive.create_item({"id": "letter-staff", "kind": "manuscript", "title": {"zh": "荣德生馆员信札"},
                         "creators": [{"name": "荣德生", "id": ids["desheng"]}], "visibility": "staff"}, user=SYSTEM)
    archive.create_item({"id": "photo-public", "kind": "photo", "title": {"zh": "荣巷老街照片"},
                         "places": [{"name": "荣巷", "id": ids["rongxiang"]}], "date": {"edtf": "1956"}}, user=SYSTEM)
    add_users(app)
    app.ids = ids
    return app


def test_person_page(site):
    ids = site.ids
    html = site.test_client().get(f"/people/{ids['qin']}").get_data(as_text=True)
    for text in ("秦毓钧", "伯虞", "梁溪老人", "同治十二年（1873）", "民国二十六年（1937）", "籍贯", "无锡市", "方志学者"):
        assert text in html, text
    ld = json.loads(re.search(r'<script type="application/ld\+json">(.*?)</script>', html, re.DOTALL).group(1))
    assert ld["@type"] == "Person" and ld["birthDate"] == "1873" and "伯虞" in ld["alternateName"]
    assert ld["homeLocation"]["name"] == "无锡市"
    assert 'id="authority-map"' in html and "/vendor/leaflet/leaflet.js" in html
    html = site.test_client().get(f"/people/{ids['desheng']}").get_data(as_text=True)
    assert "荣熙泰" in html and "荣毅仁" in html and "子女" in html  # 荣毅仁's father: shown from his side
    assert site.test_client().get(f"/places/{ids['qin']}").status_code == 404  # a person is not a place
    assert site.test_client().get("/people/person-999").status_code == 404


def test_family_page_lists_the_genealogies_a_reader_may_see(site):
    url = f"/families/{site.ids['rong']}"
    anonymous = site.test_client().get(url).get_data(as_text=True)
    for text in ("梁溪荣氏", "敦睦堂", "上谷", "荣巷", "世系", "梁溪荣氏家谱"):
        assert text in anonymous, text
    assert "秘藏荣氏支谱" not in anonymous
    tree = re.search(r'<div class="family-tree".*?</div>', anonymous, re.DOTALL).group(0)
    assert tree.index("荣熙泰") < tree.index("荣德生") < tree.index("荣毅仁")
    assert '<span class="gen" title="字辈">毅</span>' in tree
    ld = json.loads(re.search(r'<script type="application/ld\+json">(.*?)</script>', anonymous, re.DOTALL).group(1))
    assert ld["@type"] == "Organization" and len(ld["member"]) == 4
    admin = site.test_client()
    login(admin, "admin")
    assert "秘藏荣氏支谱" in admin.get(url).get_data(as_text=True)
    families = site.test_client().get("/families?q=敦睦").get_data(as_text=True)
    assert "梁溪荣氏" in families
    for q in ("荣", "荣巷", "熙宗毅"):
        assert "梁溪荣氏" in site.test_client().get(f"/families?q={q}").get_data(as_text=True), q
    assert "梁溪荣氏" not in site.test_client().get("/families?q=钱").get_data(as_text=True)


def test_place_page_and_hierarchy(site):
    ids = site.ids
    html = site.test_client().get(f"/places/{ids['wuxi']}").get_data(as_text=True)
    for text in ("无锡县", "金匮县", "1724", "常州府", "荣巷", "惠山"):
        assert text in html, text
    assert "荣巷老街照片" not in html  # linked to 荣巷, not to 无锡市
    rong = site.test_client().get(f"/places/{ids['rongxiang']}").get_data(as_text=True)
    assert "荣巷老街照片" in rong and "1956" in rong  # the item, in the timeline too
    tree = site.test_client().get("/places").get_data(as_text=True)
    assert tree.index("常州府") < tree.index("无锡市") < tree.index("南长街")
    people = site.test_client().get("/people?initial=R").get_data(as_text=True)
    assert "荣德生" in people and "秦毓钧" not in people
    assert "秦毓钧" in site.test_client().get("/people?surname=秦").get_data(as_text=True)


def test_api_and_suggest(site):
    client, ids = site.test_client(), site.ids
    assert client.get(f"/api/authorities/{ids['qin']}").json["names"][0] == {"name": "伯虞", "type": "字"}
    # 梁溪: an alias of 无锡市, the start of 秦毓钧’s 号 梁溪老人 and of 梁溪荣氏, by pinyin
    assert [r["id"] for r in client.get("/api/authorities/suggest?q=liangxi").json["records"]] == [ids["wuxi"], ids["qin"], ids["rong"]]
    assert client.get("/api/authorities/suggest?q=qyj").json["records"][0]["id"] == ids["qin"]
    assert client.get("/api/authorities/suggest?q=伯虞&kind=place").json["records"] == []
    assert client.get("/api/authorities?q=荣&kind=person").json["total"] == 4
    assert client.get("/api/authorities?kind=nonsense").status_code == 400
    items = client.get(f"/api/authorities/{ids['rong']}/items").json
    assert [i["id"] for i in items["items"]] == ["gen-public"] and items["items"][0]["how"] == ["about"]
    assert client.get("/api/authorities/suggest?q=" + "%" * 5000).status_code == 200  # capped, escaped


def test_merged_record_redirects_and_its_items_follow(site):
    fz = site.extensions["fangzhi"]
    a = fz.authorities.create({"kind": "person", "name": "荣宗锦"}, user=SYSTEM).value.id
    fz.archive.create_item({"kind": "photo", "title": {"zh": "荣宗锦旧照"}, "about": [a]}, user=SYSTEM)
    fz.authorities.merge(site.ids["zongjing"], a, user=SYSTEM, why="同一人")
    client = site.test_client()
    r = client.get(f"/people/{a}")
    assert r.status_code == 301 and r.headers["Location"].endswith(f"/people/{site.ids['zongjing']}")
    assert client.get(f"/api/authorities/{a}").status_code == 301
    assert "荣宗锦旧照" in client.get(f"/people/{site.ids['zongjing']}").get_data(as_text=True)


@pytest.mark.parametrize("url", ["/people/person-1%27%20OR%201=1", "/people/..%2F..%2Fetc", "/people/person-0",
                                 "/people/person-99999999999999999999", "/api/authorities/authority:person-1",
                                 "/api/authorities/person-1/items?per_page=100000", "/people?page=0&initial=%00",
                                 "/families?q=" + "%25" * 3000, "/people?surname=" + "钱" * 500])
def test_hostile_requests_are_refused_cleanly(site, url):
    status = site.test_client().get(url).status_code
    assert status in (200, 400, 404), (url, status)


def test_links_from_other_records_read_from_this_side(site):
    html = site.test_client().get(f"/places/{site.ids['wuxi']}").get_data(as_text=True)
    assert re.search(r'籍贯于此的人物</span> <a href="/people/person-\d+">秦毓钧', html)
    assert re.search(r'位于此地的机构</span> <a href="/organizations/org-\d+">茂新面粉厂', html)
    founder = site.test_client().get(f"/people/{site.ids['xitai']}").get_data(as_text=True)
    assert "所创家族" in founder and "所属家族" in founder
