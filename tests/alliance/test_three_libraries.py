"""Three Fangzhi libraries on loopback (tests/alliance/instances.py: own data folders and ports):
east harvests west and north over OAI-PMH (with the read-alliance tokens they gave it) and searches
them live. Harvest, union search, a duplicate group across two members, an incremental harvest that
sees only new changes, a withdrawal that propagates, alliance material for members only, and a
member stopped in the middle of a live search."""
import threading
import time

import pytest

from repository.access import ANONYMOUS, SYSTEM, User
from tests.alliance import instances
from tests.helpers import photo_item
from tests.web.auth_helpers import add_users, login

MEMBER = User("east-reader", frozenset({"member"}))
ISBN = "978-7-5325-0001-1"  # the same edition at west and north: one work, held by two libraries


def add(instance, item_id, title, **fields):
    instance.archive.create_item(photo_item(id=item_id, title={"zh": title}, holding_library=instance.library,
                                            **fields), user=SYSTEM)


@pytest.fixture(scope="module")
def libraries(tmp_path_factory):
    root = tmp_path_factory.mktemp("three")
    east = instances.start(root, "east", "东区图书馆", ALLIANCE_OVERLAP_SECONDS=0)  # incremental: exactly since
    west, north = instances.start(root, "west", "西区图书馆"), instances.start(root, "north", "北区图书馆")
    add(east, "e1", "梁溪老照片")
    add(west, "w1", "梁溪码头")
    add(west, "w-secret", "梁溪秘档", visibility="alliance")
    add(west, "w-staff", "梁溪内部", visibility="staff")
    add(west, "w-book", "无锡县志", kind="book", identifiers=[ISBN], creators=[{"name": {"zh": "钱穆"}}],
        date={"edtf": "1936"})
    add(north, "n1", "梁溪桥梁")
    add(north, "n-book", "無錫縣誌", kind="book", identifiers=[ISBN], creators=[{"name": {"zh": "钱穆"}}],
        date={"edtf": "1936"})
    for member in (west, north):
        east.fangzhi.members.add(member.member(member.token("read-alliance")))
    add_users(east.app)
    time.sleep(1.1)  # datestamps have whole seconds, `from` is inclusive: the records are older than the harvest
    outcomes = {o.member: o for o in east.fangzhi.harvester.harvest()}
    yield east, west, north, outcomes
    for i in (east, west, north):
        instances.stop(i)


def remote(east, q, user=ANONYMOUS, **filters):
    """East's local search: the harvested works, as (title, sorted holding members)."""
    hits = east.fangzhi.search.search(q, user=user, filters=filters, per_page=100).hits
    return {(h.holdings[0]["title"], tuple(sorted(x["member"] for x in h.holdings))) for h in hits if h.remote}


def test_harvest_reads_every_member(libraries):
    east, west, north, outcomes = libraries
    assert outcomes["west"].ok and outcomes["north"].ok, outcomes
    assert outcomes["west"].records == 3 and outcomes["north"].records == 2  # public + alliance, never staff
    status = {m.name: m for m in east.fangzhi.members.list()}
    assert status["west"].last_success and status["west"].records == 3 and not status["west"].error


def test_union_search_finds_members_records_with_links_back(libraries):
    east, west, north, _ = libraries
    found = remote(east, "梁溪")
    assert found == {("梁溪码头", ("west",)), ("梁溪桥梁", ("north",))}
    hit = next(h for h in east.fangzhi.search.search("梁溪码头", user=ANONYMOUS).hits if h.remote)
    assert hit.holdings[0]["link"] == f"{west.url}/items/w1"
    assert hit.holdings[0]["manifest"] == f"{west.url}/iiif/3/manifest/w1"
    page = east.app.test_client().get("/search?q=梁溪").get_data(as_text=True)
    assert f'href="{west.url}/items/w1"' in page and 'href="/items/e1"' in page
    libraries_facet = dict(east.fangzhi.search.search("梁溪", user=ANONYMOUS).facets["library"])
    assert libraries_facet == {"东区图书馆": 1, "西区图书馆": 1, "北区图书馆": 1}


def test_a_duplicate_group_across_two_members(libraries):
    east, west, north, _ = libraries
    works = [h for h in east.fangzhi.search.search("钱穆", user=ANONYMOUS, per_page=100).hits if h.remote]
    assert len(works) == 1 and sorted(x["member"] for x in works[0].holdings) == ["north", "west"]
    page = east.app.test_client().get("/search?q=钱穆").get_data(as_text=True)
    assert "2 家图书馆收藏" in page
    # live, both members' own hits are that same work: one entry, found by this index and both members
    data = east.app.test_client().get("/api/search?scope=alliance&q=钱穆").json
    assert len(data["hits"]) == 1 and data["hits"][0]["sources"] == ["local", "north", "west"]
    assert data["total"] == 1  # found by three sources, counted once


def test_alliance_material_is_for_members_only(libraries):
    east, *_ = libraries
    assert ("梁溪秘档", ("west",)) not in remote(east, "梁溪")
    assert ("梁溪秘档", ("west",)) in remote(east, "梁溪", user=MEMBER)
    assert all("内部" not in title for title, _ in remote(east, "梁溪", user=SYSTEM))  # staff never crosses

    east, west, north = libraries[:3]
    secret = f'href="{west.url}/items/w-secret"'

    def everywhere(client, **kw):
        local = client.get("/search?q=梁溪秘档", **kw).get_data(as_text=True)
        live = client.get("/api/search?scope=alliance&q=梁溪秘档", **kw).json
        page = client.get("/search?scope=alliance&q=梁溪秘档", **kw).get_data(as_text=True)
        return secret in local, bool(live["hits"]), secret in page

    assert everywhere(east.app.test_client()) == (False, False, False)
    token = east.token("read-alliance")
    assert everywhere(east.app.test_client(), headers={"Authorization": f"Bearer {token}"}) == (True, True, True)
    member = east.app.test_client()
    login(member, "member")
    assert everywhere(member) == (True, True, True)
    researcher = east.app.test_client()
    login(researcher, "researcher")
    assert everywhere(researcher) == (False, False, False)


def test_incremental_harvest_sees_only_new_changes_and_a_withdrawal_propagates(libraries):
    east, west, north, _ = libraries
    time.sleep(1.1)  # datestamps have whole seconds: the changes come after the last harvest's
    add(west, "w-new", "梁溪新到")
    west.archive.withdraw_item("w1", user=SYSTEM, reason="duplicate scan")
    outcomes = {o.member: o for o in east.fangzhi.harvester.harvest()}
    assert (outcomes["west"].changed, outcomes["west"].deleted) == (1, 1), outcomes["west"]
    assert (outcomes["north"].changed, outcomes["north"].deleted) == (0, 0), outcomes["north"]
    found = remote(east, "梁溪")
    assert ("梁溪新到", ("west",)) in found and ("梁溪码头", ("west",)) not in found
    live = east.app.test_client().get("/api/search?scope=alliance&q=梁溪码头").json
    assert all(h["id"] != "w1" for h in live["hits"])


def test_a_member_stopped_in_the_middle_of_a_live_search(libraries):
    """Last (it stops north): the page names north, shows east's and west's results, and north's
    records from the last harvest."""
    east, west, north, _ = libraries
    north.hold()
    answer = {}
    asking = threading.Thread(target=lambda: answer.update(
        page=east.app.test_client().get("/search?scope=alliance&q=梁溪")))
    asking.start()
    assert north.waiting.wait(10)
    north.kill()
    asking.join(20)
    html = answer["page"].get_data(as_text=True)
    assert answer["page"].status_code == 200
    assert "部分成员馆未能应答，以下结果不完整。" in html and "北区图书馆：出错" in html
    assert 'href="/items/e1"' in html and f'href="{west.url}/items/w-new"' in html
    assert f'href="{north.url}/items/n1"' in html  # from the harvested copy
