"""This library's own items in the union catalogue's duplicate groups (alliance.union): a work held
here and by a member is one result, held by N libraries, this library first; never through
disagreeing identifiers; and never revealing a restricted local item or an alliance-only holding."""
from __future__ import annotations

import dataclasses

import pytest

from alliance.federated import Answer, RemoteHit, fuse
from alliance.members import Member
from fangzhi.bootstrap import build
from fangzhi.settings import load
from repository.access import ANONYMOUS, SYSTEM, User
from search.tantivy_index import TantivyIndex
from tests.alliance.providers import Source, pyoai_app
from tests.helpers import photo_item, serving

MEMBER = User("west-library", frozenset({"member"}))
STAFF = User("keeper", frozenset({"archivist"}))
GAZETTEER = dict(title={"zh": "無錫縣誌"}, date={"edtf": "1881"}, creators=[{"name": {"zh": "秦缃业"}}])


@pytest.fixture
def fz(tmp_path):
    fz = build(load({"DATA_DIR": str(tmp_path), "LIBRARY_NAME": "本馆", "ALLIANCE_TIMEOUT": 1.0}, environ={}),
               index=TantivyIndex())
    fz.harvester.limits = dataclasses.replace(fz.harvester.limits, backoff=0.05)
    return fz


def harvest(fz, source: Source, token: str | None = None) -> None:
    with serving(pyoai_app(source)) as url:
        fz.members.add(Member("east", f"{url}/cgi/oai2", token=token, label_zh="东馆", label_en="East"))
        assert all(o.ok for o in fz.harvester.harvest())


def works(fz, user=ANONYMOUS, q=""):
    """Each hit as (local item id or "", the holdings' members or item ids)."""
    results = fz.search.search(q, user=user, per_page=100)
    found = sorted(("" if h.remote else h.item_id,
                    tuple(x.get("item_id") or x["member"] for x in h.holdings)) for h in results.hits)
    assert results.total == len(found)
    return found


def east(**extra) -> Source:
    source = Source()
    source.put("oai:east:1", title="无锡县志", creator="秦緗業", date="1881", identifier="ISBN 978-7-5013-0000-6",
               relation="http://east.example.org/iiif/1/manifest", **extra)
    return source


def test_a_local_item_joins_the_members_holding_of_the_same_work(fz):
    fz.archive.create_item(photo_item(id="here1", identifiers=["9787501300006"], **GAZETTEER), user=SYSTEM)
    harvest(fz, east())
    assert works(fz) == [("here1", ("here1", "east"))]  # one result, held by 2 libraries, this one first
    [hit] = fz.search.search("无锡县志", user=ANONYMOUS).hits
    assert hit.holdings[0]["library"]["zh"] == "本馆" and hit.holdings[1]["manifest"].endswith("/manifest")
    libraries = dict(fz.search.search("", user=ANONYMOUS).facets["library"])
    assert libraries == {"本馆": 1, "东馆": 1}


def test_the_same_title_creator_and_date_join_without_identifiers(fz):
    fz.archive.create_item(photo_item(id="here1", **GAZETTEER), user=SYSTEM)
    source = Source()
    source.put("oai:east:1", title="無錫縣志", creator="秦缃业", date="1881")
    harvest(fz, source)
    assert works(fz) == [("here1", ("here1", "east"))]


def test_disagreeing_isbns_stay_two_works(fz):
    fz.archive.create_item(photo_item(id="here1", identifiers=["ISBN 978-7-101-00000-9"], **GAZETTEER), user=SYSTEM)
    harvest(fz, east())  # the same title, creator and date, another ISBN
    assert works(fz) == [("", ("east",)), ("here1", ())]


def test_a_restricted_local_item_is_never_revealed_through_its_group(fz):
    fz.archive.create_item(photo_item(id="here1", visibility="staff", identifiers=["9787501300006"], **GAZETTEER),
                           user=SYSTEM)
    harvest(fz, east())
    assert works(fz) == [("", ("east",))]  # anonymous: the member's holding alone, nothing of ours
    assert works(fz, MEMBER) == [("", ("east",))]
    assert works(fz, STAFF) == [("here1", ("here1", "east"))]
    assert dict(fz.search.search("", user=ANONYMOUS).facets["library"]) == {"东馆": 1}


def test_an_alliance_only_holding_is_listed_only_for_alliance_readers(fz):
    fz.archive.create_item(photo_item(id="here1", identifiers=["9787501300006"], **GAZETTEER), user=SYSTEM)
    source = east()
    source.token = "secret"
    source.private.add("oai:east:1")
    harvest(fz, source, token="secret")
    assert works(fz) == [("here1", ("here1",))]  # our public item, no word of the member's alliance record
    assert "东馆" not in dict(fz.search.search("", user=ANONYMOUS).facets["library"])
    assert works(fz, MEMBER) == [("here1", ("here1", "east"))]
    assert works(fz, STAFF) == [("here1", ("here1", "east"))]


def test_a_local_item_leaves_its_group_when_edited_or_withdrawn_and_rebuild_keeps_it(fz, tmp_path):
    record = fz.archive.create_item(photo_item(id="here1", identifiers=["9787501300006"], **GAZETTEER), user=SYSTEM)
    harvest(fz, east())
    assert works(fz) == [("here1", ("here1", "east"))]
    fz.search.rebuild()
    assert works(fz) == [("here1", ("here1", "east"))]
    again = build(load({"DATA_DIR": str(tmp_path), "LIBRARY_NAME": "本馆"}, environ={}), index=TantivyIndex())
    again.search.rebuild()  # another process, an empty index: from storage alone
    assert works(again) == [("here1", ("here1", "east"))]
    record = fz.archive.update_item("here1", {"identifiers": ["ISBN 978-7-101-00000-9"]},
                                    expected_version=record.version, user=SYSTEM)
    assert works(fz) == [("", ("east",)), ("here1", ())]  # it no longer matches: apart at once
    record = fz.archive.update_item("here1", {"identifiers": ["9787501300006"]}, expected_version=record.version,
                                    user=SYSTEM)
    assert works(fz) == [("here1", ("here1", "east"))]
    record = fz.archive.update_item("here1", {"visibility": "private"}, expected_version=record.version, user=SYSTEM)
    assert works(fz) == [("", ("east",))]
    assert works(fz, SYSTEM) == [("here1", ("here1", "east"))]
    record = fz.archive.update_item("here1", {"visibility": "public"}, expected_version=record.version, user=SYSTEM)
    fz.archive.withdraw_item("here1", user=SYSTEM, reason="duplicate", expected_version=record.version)
    assert works(fz) == [("", ("east",))]


def test_a_change_made_by_another_process_is_seen(fz, tmp_path):
    harvest(fz, east())
    fz.harvester.union.holdings_of("none")  # this process has read the local records
    other = build(load({"DATA_DIR": str(tmp_path), "LIBRARY_NAME": "本馆"}, environ={}), index=fz.search.index)
    other.archive.create_item(photo_item(id="here1", identifiers=["9787501300006"], **GAZETTEER), user=SYSTEM)
    assert works(fz) == [("here1", ("here1", "east"))]
    assert [h.oai_id for h in fz.harvester.union.holdings_of("here1")] == ["oai:east:1"]


def test_live_search_keeps_a_group_one_entry(fz):
    fz.archive.create_item(photo_item(id="here1", identifiers=["9787501300006"], **GAZETTEER), user=SYSTEM)
    source = Source()
    source.put("oai:east.example.org:e1", title="无锡县志", creator="秦緗業", date="1881", identifier="9787501300006")
    harvest(fz, source)
    [local] = fz.search.search("无锡县志", user=ANONYMOUS).hits
    live = Answer("east", "东馆", "East", "ok", 0.1, 1, [RemoteHit("east", "e1", {"zh": "无锡县志"}, "photo", {}, None, None)])
    [entry] = fuse([local], [live])  # the member's own answer for its record joins our group's entry
    assert entry.local is local and entry.sources == ["", "east"]


def test_without_members_an_item_change_reads_no_other_item(fz, monkeypatch):
    """No member's records, no groups: a change of one item reads neither every item's state nor
    groups every record (ingest's cost per item stayed flat as the archive grew: bench/scale.py);
    the first harvest then groups the items made meanwhile."""
    for n in range(3):
        fz.archive.create_item(photo_item(id=f"here{n}", title={"zh": f"藏品{n}"}), user=SYSTEM)
    read = []
    monkeypatch.setattr(fz.archive.catalog, "item_states", lambda *a, **k: read.append(1) or [])
    monkeypatch.setattr("alliance.union.group", lambda records: read.append(2) or [])
    fz.archive.create_item(photo_item(id="here3", identifiers=["9787501300006"], **GAZETTEER), user=SYSTEM)
    assert read == []
    monkeypatch.undo()
    harvest(fz, east())
    assert ("here3", ("here3", "east")) in works(fz)
