"""Fangzhi to Fangzhi: three instances on 127.0.0.1 (own ports and data folders). Two members
publish through their /oai and /iiif/discovery/changes; we harvest them: union search, a
duplicate group across the two members, alliance material for our members only (east gave us a
read-alliance token, west none), an incremental harvest that sees only new changes, a withdrawal
that propagates, and the alliance IIIF Collection."""
from __future__ import annotations

import dataclasses
import time

import pytest

from alliance.members import Member
from repository.access import ANONYMOUS, SYSTEM, User
from tests.helpers import photo_item, serving

MEMBER = User("reader-at-a-member", frozenset({"member"}))


def instance(tmp_path, name):
    from web import create_app

    return create_app({"DATA_DIR": str(tmp_path / name), "SECRET_KEY": "t", "LIBRARY_NAME": f"{name}馆"})


@pytest.fixture
def alliance(tmp_path):
    east, west, us = instance(tmp_path, "east"), instance(tmp_path, "west"), instance(tmp_path, "us")
    ea, wa = east.extensions["fangzhi"].archive, west.extensions["fangzhi"].archive
    ea.create_item(photo_item(id="e1", title={"zh": "無錫縣誌", "en": "Wuxi gazetteer"}, identifiers=["ISBN 978-7-5013-0000-6"],
                              date={"edtf": "1881"}, creators=[{"name": {"zh": "秦缃业"}}]), user=SYSTEM)
    ea.create_item(photo_item(id="e2", title={"zh": "荣氏族谱稿"}, visibility="alliance"), user=SYSTEM)
    ea.create_item(photo_item(id="e3", title={"zh": "东馆馆员专藏"}, visibility="staff"), user=SYSTEM)
    wa.create_item(photo_item(id="w1", title={"zh": "无锡县志"}, identifiers=["9787501300006", "西-12"],
                              date={"edtf": "1881"}), user=SYSTEM)
    wa.create_item(photo_item(id="w2", title={"zh": "梁溪诗钞"}), user=SYSTEM)
    secret, _ = east.extensions["fangzhi"].accounts.create_token("us", ["read-alliance"], by=SYSTEM)
    with serving(east) as e, serving(west) as w:
        fz = us.extensions["fangzhi"]
        fz.members.add(Member("east", f"{e}/oai", token=secret, label_zh="东区图书馆", label_en="East"))
        fz.members.add(Member("west", f"{w}/oai", label_zh="西区图书馆", label_en="West"))
        fz.harvester.limits = dataclasses.replace(fz.harvester.limits, overlap=0)
        yield fz, ea, wa, e, w, us


def holdings(fz, q="", user=ANONYMOUS):
    return sorted(tuple(sorted(f"{h['member']}:{h['oai_id'].rsplit(':', 1)[1]}" for h in hit.holdings))
                  for hit in fz.search.search(q, user=user, per_page=100).hits if hit.remote)


def test_fangzhi_members_harvested_into_the_union_catalogue(alliance):
    fz, ea, wa, e, w, us = alliance
    time.sleep(1.1)  # the records' datestamps are before the first harvest's responseDate
    outcomes = {o.member: o for o in fz.harvester.harvest()}
    assert all(o.ok and o.error is None for o in outcomes.values()), outcomes
    assert (outcomes["east"].records, outcomes["west"].records) == (2, 2)  # e2 via the token; e3 never
    assert holdings(fz) == [("east:e1", "west:w1"), ("west:w2",)]  # the same ISBN: one work, held by two
    assert holdings(fz, user=MEMBER) == [("east:e1", "west:w1"), ("east:e2",), ("west:w2",)]
    assert fz.search.search("族谱", user=ANONYMOUS).total == 0 and "东馆馆员专藏" not in str(holdings(fz, user=SYSTEM))
    [work] = [h for h in fz.search.search("无锡县志", user=ANONYMOUS).hits if h.remote]
    east_holding = next(h for h in work.holdings if h["member"] == "east")
    assert east_holding["link"] == f"{e}/items/e1" and east_holding["manifest"] == f"{e}/iiif/3/manifest/e1"
    assert work.kind == "photo" and east_holding["library"] == {"zh": "东区图书馆", "en": "East"}
    # the alliance Collection: both members' public manifests, nothing restricted
    body = us.test_client().get("/iiif/3/collection/alliance").json
    assert sorted(m["id"] for m in body["items"]) == sorted([f"{e}/iiif/3/manifest/e1", f"{w}/iiif/3/manifest/w1",
                                                             f"{w}/iiif/3/manifest/w2"])
    assert {m["id"]: m["label"] for m in body["items"]}[f"{e}/iiif/3/manifest/e1"]["zh"] == ["無錫縣誌"]

    # incremental: only what changed since, and a withdrawal propagates
    time.sleep(1.1)
    wa.create_item(photo_item(id="w3", title={"zh": "惠山寺志"}), user=SYSTEM)
    ea.withdraw_item("e1", user=SYSTEM, reason="duplicate")
    outcomes = {o.member: o for o in fz.harvester.harvest()}
    assert (outcomes["west"].changed, outcomes["west"].deleted) == (1, 0)
    assert outcomes["east"].deleted == 1 and outcomes["east"].changed == 0
    assert holdings(fz) == [("west:w1",), ("west:w2",), ("west:w3",)]
    body = us.test_client().get("/iiif/3/collection/alliance").json
    assert f"{e}/iiif/3/manifest/e1" not in {m["id"] for m in body["items"]}


def test_a_members_thumbnail_and_links_reach_our_search_page(alliance):
    from tests.iiif import builders

    fz, ea, wa, e, w, us = alliance
    builders.photo(ea, "e4")  # with a thumbnail derivative: MODS gives it as location/url access="preview"
    fz.harvester.harvest(["east"])
    [hit] = [h for h in fz.search.search("惠山旧影", user=ANONYMOUS).hits if h.remote]
    thumbnail = hit.holdings[0]["thumbnail"]
    assert thumbnail and thumbnail.startswith(f"{e}/")
    import urllib.request

    with urllib.request.urlopen(thumbnail, timeout=10) as answer:  # the member serves it to anyone
        assert answer.status == 200 and answer.headers["Content-Type"].startswith("image/")
    page = us.test_client().get("/search?q=惠山旧影").get_data(as_text=True)
    assert f'src="{thumbnail}"' in page and f'href="{e}/items/e4"' in page
