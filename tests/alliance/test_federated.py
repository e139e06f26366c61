"""Live federated search (alliance.federated, /search?scope=alliance, /api/search?scope=alliance)
against real Fangzhi instances on loopback (tests/alliance/instances.py), and a hostile member."""
import functools
import gzip
import json
import threading
import time

import pytest
from werkzeug.serving import make_server

from alliance.federated import K, Answer, RemoteHit, fuse, marked, merge_facets
from alliance.members import Member
from repository.access import SYSTEM
from search.service import Hit
from tests.alliance import instances
from tests.helpers import photo_item
from tests.web.auth_helpers import add_users, login


def add(instance, item_id, title, **fields):
    instance.archive.create_item(photo_item(id=item_id, title={"zh": title}, holding_library=instance.library,
                                            **fields), user=SYSTEM)


@pytest.fixture(scope="module")
def alliance(tmp_path_factory):
    """east (the portal) with members west and north, each holding 运河 records."""
    root = tmp_path_factory.mktemp("alliance")
    east, west, north = (instances.start(root, n, lib) for n, lib in
                         (("east", "东区图书馆"), ("west", "西区图书馆"), ("north", "北区图书馆")))
    add(east, "e1", "运河老照片")
    add(west, "w1", "运河码头")
    add(west, "w2", "运河秘档", visibility="alliance")
    add(west, "w3", "运河内部", visibility="staff")
    for n in range(1, 4):
        add(north, f"n{n}", f"运河桥梁{n}", kind="book" if n == 3 else "photo")
    west.archive.create_collection({"id": "canal", "title": {"zh": "运河档案", "en": "Canal records"}}, user=SYSTEM)
    west.archive.create_collection({"id": "docks", "title": "码头", "parent": "canal"}, user=SYSTEM)
    west.archive.create_collection({"id": "shared", "title": "联盟专藏", "visibility": "alliance"}, user=SYSTEM)
    west.archive.create_collection({"id": "inner", "title": "内部专藏", "visibility": "staff"}, user=SYSTEM)
    for member in (west, north):
        east.fangzhi.members.add(member.member(member.token("read-alliance")))
    east.fangzhi.members.update_status("west", last_success="2026-12-01T10:00:00Z", records=3)
    add_users(east.app)
    yield east, west, north
    for i in (east, west, north):
        instances.stop(i)


def ids(data):
    return [(h["member"] or "local", h["id"]) for h in data["hits"]]


def test_union_search_fuses_every_member(alliance):
    east, west, north = alliance
    data = east.app.test_client().get("/api/search?scope=alliance&q=运河&per_page=50").json
    assert data["scope"] == "alliance"
    assert set(ids(data)) == {("local", "e1"), ("west", "w1"), ("north", "n1"), ("north", "n2"), ("north", "n3")}
    assert {m["name"]: m["status"] for m in data["members"]} == {"west": "ok", "north": "ok"}
    assert all(m["seconds"] >= 0 and m["reason"] is None for m in data["members"])
    assert {m["name"]: m["total"] for m in data["members"]} == {"west": 1, "north": 3}
    assert data["total"] == 5
    west_hit = next(h for h in data["hits"] if h["id"] == "w1")
    assert west_hit["links"]["html"] == f"{west.url}/items/w1" and west_hit["sources"] == ["west"]
    assert "<mark>运河</mark>" in west_hit["highlights"]["title"]
    # facets across members: each value's count is the sum of what each source reported
    library = {f["value"]: f["count"] for f in data["facets"]["library"]}
    assert library == {"东区图书馆": 1, "西区图书馆": 1, "北区图书馆": 3}
    assert {f["value"]: f["count"] for f in data["facets"]["kind"]} == {"photo": 4, "book": 1}
    assert "collection" not in data["facets"]
    # a filter goes to every member
    only = east.app.test_client().get("/api/search?scope=alliance&q=运河&library=北区图书馆").json
    assert sorted(ids(only)) == [("north", "n1"), ("north", "n2"), ("north", "n3")]
    assert east.app.test_client().get("/api/search?scope=everywhere").status_code == 400


def test_the_page_lists_every_members_hits_zh_first_then_en(alliance):
    east, west, north = alliance
    client = east.app.test_client()
    page = client.get("/search?scope=alliance&q=运河").get_data(as_text=True)
    assert 'href="/items/e1"' in page and f'href="{west.url}/items/w1"' in page
    assert "收藏于：西区图书馆" in page and "部分成员馆未能应答" not in page
    assert "已检索本馆及 2 个成员馆中的 2 个" in page
    english = client.get("/search?scope=alliance&q=运河&lang=en").get_data(as_text=True)
    assert "Held by: West Library" in english


def test_alliance_material_crosses_only_to_members(alliance):
    """The token east holds for west is presented only for a reader who may see alliance material
    at east (a member, a read-alliance token): anonymous readers and researchers never see it."""
    east, west, north = alliance

    def found(client, **kw):
        data = client.get("/api/search?scope=alliance&q=运河&per_page=50", **kw).json
        page = client.get("/search?scope=alliance&q=运河", **kw).get_data(as_text=True)
        assert (f'href="{west.url}/items/w2"' in page) == (("west", "w2") in ids(data))
        return set(ids(data))

    assert ("west", "w2") not in found(east.app.test_client())
    researcher = east.app.test_client()
    login(researcher, "researcher")
    assert ("west", "w2") not in found(researcher)
    member = east.app.test_client()
    login(member, "member")
    assert ("west", "w2") in found(member)
    token = east.token("read-alliance")
    assert ("west", "w2") in found(east.app.test_client(), headers={"Authorization": f"Bearer {token}"})
    reader = east.token("read")
    assert ("west", "w2") not in found(east.app.test_client(), headers={"Authorization": f"Bearer {reader}"})
    # staff material never crosses, whoever asks
    admin = east.app.test_client()
    login(admin, "admin")
    assert ("west", "w3") not in found(admin) and ("west", "w2") in found(admin)


def test_date_and_title_sorts_order_every_sources_hits(alliance):
    east, west, north = alliance
    east.archive.create_item(photo_item(id="e-dated", title={"zh": "运河地图"}, date={"edtf": "1911"},
                                        holding_library=east.library), user=SYSTEM)
    west.archive.create_item(photo_item(id="w-dated", title={"zh": "运河契约"}, date={"edtf": "1890/1899"},
                                        holding_library=west.library), user=SYSTEM)
    north.archive.create_item(photo_item(id="n-dated", title={"zh": "运河船票"}, date={"edtf": "1936"},
                                         holding_library=north.library), user=SYSTEM)
    try:
        client = east.app.test_client()
        oldest = ids(client.get("/api/search?scope=alliance&q=运河&sort=date&per_page=50").json)
        assert oldest[:3] == [("west", "w-dated"), ("local", "e-dated"), ("north", "n-dated")]
        newest = ids(client.get("/api/search?scope=alliance&q=运河&sort=-date&per_page=50").json)
        assert newest[:3] == [("north", "n-dated"), ("local", "e-dated"), ("west", "w-dated")]
        titles = client.get("/api/search?scope=alliance&q=运河&sort=title&per_page=50").json["hits"]
        keys = [h["title"]["zh"] for h in titles]
        assert keys.index("运河船票") < keys.index("运河地图") < keys.index("运河契约")  # chuan < di < qi
    finally:
        for instance, item in ((east, "e-dated"), (west, "w-dated"), (north, "n-dated")):
            instance.archive.purge_item(item, user=SYSTEM, reason="test")


def test_a_refused_token_is_named(alliance):
    """A member that no longer accepts our token fails with that reason, for the readers we send
    it for; anonymous readers (no token sent) still get its public answer."""
    east, west, north = alliance
    east.fangzhi.members.add(Member("revoked", f"{west.url}/oai", token="fzt_revoked", label_zh="旧令牌馆"))
    try:
        member = east.app.test_client()
        login(member, "member")
        status = {m["name"]: m for m in member.get("/api/search?scope=alliance&q=运河").json["members"]}
        assert status["revoked"]["status"] == "failed" and "refused this library's token" in status["revoked"]["reason"]
        anonymous = east.app.test_client().get("/api/search?scope=alliance&q=运河").json["members"]
        assert {m["name"]: m["status"] for m in anonymous}["revoked"] == "ok"
    finally:
        east.fangzhi.members.remove("revoked")


def test_paging_runs_through_the_fused_list(alliance):
    east = alliance[0]
    client = east.app.test_client()
    whole = ids(client.get("/api/search?scope=alliance&q=运河&per_page=50").json)
    pages = []
    for n in (1, 2, 3):
        data = client.get(f"/api/search?scope=alliance&q=运河&per_page=2&page={n}").json
        pages += ids(data)
        assert (data["next"] is None) == (n == 3)
    assert pages == whole and len(set(pages)) == 5
    html = client.get("/search?scope=alliance&q=运河&per_page=2&page=2").get_data(as_text=True)
    assert "第 2 页，共 3 页" in html and "scope=alliance" in html.split('rel="next"')[1].split(">")[0]


def test_a_member_stopped_in_the_middle_of_a_search(tmp_path):
    """A member dies while the search waits for it: the page shows the others' results and names it."""
    portal, alive, dying = (instances.start(tmp_path, n, lib) for n, lib in
                            (("portal", "总馆"), ("alive", "甲馆"), ("dying", "乙馆")))
    try:
        add(portal, "p1", "惠山泥人")
        add(alive, "a1", "惠山庙会")
        add(dying, "d1", "惠山古镇")
        for m in (alive, dying):
            portal.fangzhi.members.add(m.member())
        dying.hold()
        answer = {}
        client = portal.app.test_client()
        asking = threading.Thread(target=lambda: answer.update(
            page=client.get("/search?scope=alliance&q=惠山"), api=None))
        asking.start()
        assert dying.waiting.wait(10), "the search never reached the member"
        dying.kill()
        asking.join(20)
        page = answer["page"]
        assert page.status_code == 200
        html = page.get_data(as_text=True)
        assert "部分成员馆未能应答，以下结果不完整。" in html and "乙馆：出错" in html
        assert 'href="/items/p1"' in html and f'href="{alive.url}/items/a1"' in html and "惠山古镇" not in html
        # and once it is gone, at once: connection refused, named in the API's answer
        data = client.get("/api/search?scope=alliance&q=惠山").json
        status = {m["name"]: (m["status"], m["reason"]) for m in data["members"]}
        assert status["alive"] == ("ok", None) and status["dying"][0] == "failed"
        assert "Connection" in status["dying"][1] or "refused" in status["dying"][1]
        english = client.get("/search?scope=alliance&q=惠山&lang=en").get_data(as_text=True)
        assert "Some member libraries did not answer: the results below are incomplete." in english
    finally:
        for i in (portal, alive, dying):
            instances.stop(i)


def test_a_slow_member_times_out_and_the_others_answer(tmp_path):
    portal = instances.start(tmp_path, "portal", "总馆", ALLIANCE_SEARCH_SECONDS=1.0)
    slow = instances.start(tmp_path, "slow", "慢馆")
    try:
        add(portal, "p1", "惠山泥人")
        add(slow, "s1", "惠山庙会")
        portal.fangzhi.members.add(slow.member())
        slow.hold()
        started = time.monotonic()
        data = portal.app.test_client().get("/api/search?scope=alliance&q=惠山").json
        took = time.monotonic() - started
        assert took < 2.5, took
        assert data["members"][0]["status"] == "timeout" and data["members"][0]["seconds"] >= 0.9
        assert ids(data) == [("local", "p1")]
        html = portal.app.test_client().get("/search?scope=alliance&q=惠山").get_data(as_text=True)
        assert "慢馆：超时" in html
    finally:
        instances.stop(slow)
        instances.stop(portal)


def test_portal_lists_the_members_zh_first_then_en(alliance):
    east, west, north = alliance
    client = east.app.test_client()
    html = client.get("/alliance").get_data(as_text=True)
    assert "地方文献联盟" in html and 'action="/search"' in html and 'name="scope" value="alliance"' in html
    assert html.index("西区图书馆") < html.index("West Library")  # the reader's language first
    assert 'href="/alliance/west"' in html and 'href="/alliance/north"' in html and "东区图书馆" in html
    west_card = html.split('href="/alliance/west"')[1].split("</li>")[0]
    assert "专题馆藏 2 个" in west_card and "上次采集：2026-12-01 10:00:00 UTC，3 条记录" in west_card
    assert "尚未采集" in html.split('href="/alliance/north"')[1].split("</li>")[0]
    english = client.get("/alliance?lang=en").get_data(as_text=True)
    assert english.index("West Library") < english.index("西区图书馆") and "2 collections" in english
    assert client.get("/alliance/nowhere").status_code == 404


def test_a_members_page_lists_its_collections_as_the_reader_may_see_them(alliance):
    east, west, north = alliance
    anonymous = east.app.test_client().get("/alliance/west").get_data(as_text=True)
    assert f'href="{west.url}/collections/canal"' in anonymous and "运河档案" in anonymous
    assert anonymous.index("运河档案") < anonymous.index("码头")  # nested under its parent
    assert "联盟专藏" not in anonymous and "内部专藏" not in anonymous
    member = east.app.test_client()
    login(member, "member")
    html = member.get("/alliance/west").get_data(as_text=True)
    assert "联盟专藏" in html and "内部专藏" not in html
    assert "Canal records" in member.get("/alliance/west?lang=en").get_data(as_text=True)


def test_portal_names_a_member_that_does_not_answer(tmp_path):
    portal = instances.start(tmp_path, "portal", "总馆")
    gone = instances.start(tmp_path, "gone", "停馆")
    try:
        portal.fangzhi.members.add(gone.member())
        instances.stop(gone)
        assert "专题馆藏暂不可知（成员馆未应答）" in portal.app.test_client().get("/alliance").get_data(as_text=True)
        page = portal.app.test_client().get("/alliance/gone")
        assert page.status_code == 200 and "该馆暂未应答" in page.get_data(as_text=True)
    finally:
        instances.stop(portal)


def test_alliance_searches_at_once_are_bounded(tmp_path):
    """Readers cannot make the portal flood its members: past the searches allowed at once, members
    are not asked and are named as busy; this library's results still come."""
    portal = instances.start(tmp_path, "portal", "总馆", ALLIANCE_SEARCH_SECONDS=3.0)
    slow = instances.start(tmp_path, "slow", "慢馆")
    try:
        add(portal, "p1", "惠山泥人")
        portal.fangzhi.members.add(slow.member())
        portal.fangzhi.federation.slots = threading.BoundedSemaphore(1)
        slow.hold()
        first = threading.Thread(target=lambda: portal.app.test_client().get("/api/search?scope=alliance&q=惠山"))
        first.start()
        assert slow.waiting.wait(10)
        data = portal.app.test_client().get("/api/search?scope=alliance&q=惠山").json
        assert data["members"][0]["status"] == "failed" and "busy" in data["members"][0]["reason"]
        assert ids(data) == [("local", "p1")]
        slow.release()
        first.join(10)
        again = portal.app.test_client().get("/api/search?scope=alliance&q=惠山").json
        assert again["members"][0]["status"] == "ok"  # the slot was given back
    finally:
        instances.stop(slow)
        instances.stop(portal)


# --- a hostile member ---------------------------------------------------------------------------

XSS = '<script>alert(1)</script><img src=x onerror=alert(2)>'
HOSTILE = {
    "xss": {"total": 1, "hits": [
        {"id": "x1", "title": {"zh": f"惠山{XSS}"}, "kind": f"k{XSS}", "date": {"display": XSS},
         "thumbnail": "javascript:alert(3)",
         "highlights": {"title": f"<mark>惠山</mark>{XSS}</mark><mark>", "description": "&lt;b&gt;<mark>x"},
         "passages": [{"snippet": XSS, "url": "javascript:alert(4)"}],
         "links": {"html": "javascript:alert(5)"}},
        {"id": 5, "title": "bad id"}, "not a hit"],
        "facets": {"library": [{"value": XSS, "count": 1}, {"value": "x", "count": -3}, {"value": "y", "count": 10**12}],
                   "kind": "nonsense"}},
    "shape": [1, 2, 3],
    "total": {"total": "many", "hits": []},
}


@functools.cache
def bomb() -> bytes:
    return gzip.compress(b'{"total": 0, "hits": ["' + b"x" * (64 << 20), compresslevel=9)


def hostile_app(environ, start_response):
    path = environ["PATH_INFO"].split("/")[1]
    if path == "redirect":
        start_response("302 Found", [("Location", "http://127.0.0.1:1/elsewhere")])
        return [b""]
    if path == "gzip":  # a compression bomb: 64 MiB of JSON-ish bytes in a small body
        start_response("200 OK", [("Content-Type", "application/json"), ("Content-Encoding", "gzip")])
        return [bomb()]
    if path == "html":
        start_response("200 OK", [("Content-Type", "text/html")])
        return [b"<html>hi</html>"]
    start_response("200 OK", [("Content-Type", "application/json")])
    if environ["PATH_INFO"].endswith("/api/collections"):
        return [json.dumps({"collections": [{"id": "c1", "title": {"zh": f"专藏{XSS}"}, "description": XSS,
                                             "links": {"html": "javascript:alert(6)"}}, {"title": "no id"}]}
                           if path == "xss" else {"collections": "nonsense"}).encode()]
    if path == "notjson":
        return [b"{not json"]
    if path == "surrogate":  # no character: no page could show it
        return [b'{"total": 1, "hits": [{"id": "s1", "title": {"zh": "\\ud800"}}]}']
    if path == "deep":
        return [b"[" * 100_000 + b"]" * 100_000]
    if path == "huge":  # more than MAX_ANSWER_BYTES, without Content-Length
        return (b'{"total": 0, "hits": ["' + b"x" * (1 << 20) if n == 0 else b"x" * (1 << 20) for n in range(6))
    return [json.dumps(HOSTILE[path]).encode()]


def test_a_hostile_member_cannot_inject_html_or_break_the_page(tmp_path):
    portal = instances.start(tmp_path, "portal", "总馆")
    server = make_server("127.0.0.1", 0, hostile_app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_port}"
    try:
        add(portal, "p1", "惠山泥人")
        names = ("xss", "shape", "total", "redirect", "html", "notjson", "deep", "huge", "gzip", "surrogate")
        for name in names:
            portal.fangzhi.members.add(Member(name, f"{base}/{name}/oai", token="fzt_secret", label_zh=f"馆{name}"))
        client = portal.app.test_client()
        member = portal.token("read-alliance")
        page = client.get("/search?scope=alliance&q=惠山", headers={"Authorization": f"Bearer {member}"})
        assert page.status_code == 200
        html = page.get_data(as_text=True)
        assert "<script>alert" not in html and "<img src=x" not in html and "javascript:" not in html
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html  # shown as text
        assert 'href="/items/p1"' in html
        data = client.get("/api/search?scope=alliance&q=惠山", headers={"Authorization": f"Bearer {member}"}).json
        status = {m["name"]: m for m in data["members"]}
        assert status["xss"]["status"] == "ok" and status["xss"]["skipped"] == 2
        hit = next(h for h in data["hits"] if h["member"] == "xss")
        assert hit["links"]["html"] is None and hit["thumbnail"] is None and hit["passages"][0]["url"] is None
        assert hit["highlights"]["title"] == ("<mark>惠山</mark>&lt;script&gt;alert(1)&lt;/script&gt;"
                                              "&lt;img src=x onerror=alert(2)&gt;<mark></mark>")
        assert hit["highlights"]["description"] == "&lt;b&gt;<mark>x</mark>"
        assert {f["value"] for f in data["facets"]["library"]} == {XSS, "总馆"}  # JSON; escaped on the page
        for name, words in (("shape", "not a search answer"), ("total", "total"), ("redirect", "HTTP 302"),
                            ("html", "not JSON"), ("notjson", "unusable"), ("deep", "unusable"),
                            ("huge", "larger than"), ("gzip", "larger than"), ("surrogate", "lone surrogate")):
            assert status[name]["status"] == "failed" and words in status[name]["reason"], (name, status[name])
        assert "部分成员馆未能应答" in html
        for url in ("/alliance", "/alliance/xss", "/alliance/shape"):
            page = client.get(url).get_data(as_text=True)
            assert "<script>alert" not in page and "javascript:" not in page and "<img src=x" not in page, url
        assert "专藏&lt;script&gt;" in client.get("/alliance/xss").get_data(as_text=True)
        assert "专题馆藏 1 个" in client.get("/alliance").get_data(as_text=True)
    finally:
        server.shutdown()
        instances.stop(portal)


# --- fusion ------------------------------------------------------------------------------------------

def _local(item_id, holdings=()):
    return Hit(item_id, 1.0, {"zh": item_id}, "photo", {}, None, holdings=list(holdings))


def _remote(member, item_id):
    return RemoteHit(member, item_id, {"zh": item_id}, "photo", {}, None, None)


def test_reciprocal_rank_fusion_and_dedupe_by_member_and_id():
    a = Answer("west", "西", "West", "ok", 0.1, 3, [_remote("west", "w1"), _remote("west", "w2"), _remote("west", "w3")])
    b = Answer("north", "北", "North", "ok", 0.1, 1, [_remote("north", "n1")])
    gone = Answer("south", "南", "South", "timeout", 1.0)
    local = [_local("e1"), _local("h1", holdings=[{"member": "west", "oai_id": "oai:west.example.org:w2"}])]  # harvested
    fused = fuse(local, [a, b, gone])
    scores = {tuple(sorted(e.keys))[0]: e.score for e in fused}
    assert scores[("", "e1")] == pytest.approx(1 / (K + 1))
    assert scores[("west", "w2")] == pytest.approx(1 / (K + 2) + 1 / (K + 2))  # found twice: one entry, both ranks
    assert len(fused) == 5 and [e for e in fused if ("west", "w2") in e.keys][0].sources == ["", "west"]
    assert fused[0].keys == {("west", "w2")}  # the record two sources found ranks first
    assert [e.remote.id if e.remote else e.local.item_id for e in fused][1:] == ["e1", "w1", "n1", "w3"]


def test_merged_facets_sum_what_each_source_reported():
    merged = merge_facets([{"kind": [("photo", 2)], "library": [("东", 2)], "collection": [("c", 1)]},
                           {"kind": [("photo", 1), ("map", 5)]}])
    assert merged == {"kind": [("map", 5), ("photo", 3)], "library": [("东", 2)]}


def test_marked_text_keeps_only_balanced_marks():
    assert marked("<mark>a</mark><b>b</b>") == "<mark>a</mark>&lt;b&gt;b&lt;/b&gt;"
    assert marked("</mark>x<mark>y") == "x<mark>y</mark>"
    assert marked("&amp;lt;") == "&amp;lt;"
