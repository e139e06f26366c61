"""Harvesting OAI-PMH members into the union catalogue (alliance.harvest, alliance.union), against
an independent provider implementation (pyoai's server side) and hostile providers, on 127.0.0.1."""
from __future__ import annotations

import dataclasses
import json
import time

import pytest

from alliance.members import Member
from alliance.records import error_text
from fangzhi.bootstrap import build
from fangzhi.settings import load
from repository.access import ANONYMOUS, User
from search.tantivy_index import TantivyIndex
from tests.alliance.providers import Source, hostile_app, pyoai_app
from tests.helpers import serving

MEMBER = User("west-library", frozenset({"member"}))


@pytest.fixture
def fz(tmp_path):
    fz = build(load({"DATA_DIR": str(tmp_path), "ALLIANCE_TIMEOUT": 1.0, "ALLIANCE_ATTEMPTS": 2}, environ={}),
               index=TantivyIndex())
    fz.harvester.limits = dataclasses.replace(fz.harvester.limits, backoff=0.05)
    return fz


def titles(fz, q="", user=ANONYMOUS, **filters):
    return sorted(h.holdings[0]["title"] for h in fz.search.search(q, user=user, filters=filters, per_page=100).hits
                  if h.remote)


def fill(source: Source, n: int = 5):
    for i in range(n):
        source.put(f"oai:pyoai:{i}", title=f"無錫縣誌 第{i}卷", creator="钱穆", date="1936",
                   identifier=[f"CALL-{i}", f"http://pyoai.example.org/items/{i}"],
                   relation=f"http://pyoai.example.org/iiif/{i}/manifest")


def test_harvests_an_independent_provider_through_resumption(fz):
    source = Source()
    fill(source)
    with serving(pyoai_app(source, batch=2)) as url:
        fz.members.add(Member("pyoai", f"{url}/cgi/oai2", label_zh="独立馆", label_en="Independent"))
        [outcome] = fz.harvester.harvest()
    assert outcome.ok and outcome.error is None and outcome.records == 5 and outcome.changed == 5
    status = fz.members.get("pyoai")
    assert status.records == 5 and status.last_success and status.harvest_from and status.error is None
    # the same analysis as local items: traditional characters fold, words segment
    assert titles(fz, "无锡县志") == [f"無錫縣誌 第{i}卷" for i in range(5)]
    results = fz.search.search("钱穆", user=ANONYMOUS)
    assert ("独立馆", 5) in results.facets["library"]
    hit = results.hits[0]
    assert hit.holdings[0]["link"].startswith("http://pyoai.example.org/items/")
    assert hit.holdings[0]["manifest"].endswith("/manifest")
    assert titles(fz, library=["独立馆"]) and not titles(fz, library=["别的馆"])


def test_incremental_harvest_sees_only_changes_and_propagates_deletions(fz):
    source = Source()
    fill(source, 3)
    with serving(pyoai_app(source)) as url:
        fz.members.add(Member("pyoai", f"{url}/cgi/oai2"))
        fz.harvester.limits = dataclasses.replace(fz.harvester.limits, overlap=0)
        time.sleep(1.1)  # seconds granularity: the first harvest's responseDate is after the records
        fz.harvester.harvest()
        time.sleep(1.1)
        source.put("oai:pyoai:new", title="新到方志", creator="某人", date="2000")
        source.put("oai:pyoai:1", deleted=True)
        source.put("oai:pyoai:2", title="改过的题名", creator="钱穆", date="1936")
        [outcome] = fz.harvester.harvest()
    assert (outcome.changed, outcome.deleted, outcome.records) == (2, 1, 3)
    assert titles(fz) == ["改过的题名", "新到方志", "無錫縣誌 第0卷"]


def test_alliance_records_only_for_alliance_users(fz):
    source = Source(token="secret-token")
    fill(source, 2)
    source.put("oai:pyoai:inner", title="内部族谱", creator="某氏", date="1900")
    source.private.add("oai:pyoai:inner")
    with serving(pyoai_app(source)) as url:
        fz.members.add(Member("pyoai", f"{url}/cgi/oai2", token="secret-token"))
        [outcome] = fz.harvester.harvest()
    assert outcome.ok and outcome.records == 3
    assert titles(fz, user=MEMBER) == ["内部族谱", "無錫縣誌 第0卷", "無錫縣誌 第1卷"]
    assert titles(fz) == ["無錫縣誌 第0卷", "無錫縣誌 第1卷"]
    anonymous = fz.search.search("族谱", user=ANONYMOUS)
    assert anonymous.total == 0 and not any(v == "某氏" for v, _ in anonymous.facets.get("person", []))
    assert fz.search.search("", user=ANONYMOUS).total == 2
    assert "内部族谱" not in json.dumps(fz.search.suggest("内部", user=ANONYMOUS), ensure_ascii=False)
    # without the token, the alliance record is not harvested at all
    with serving(pyoai_app(source)) as url:
        fz.members.add(Member("pyoai-anon", f"{url}/cgi/oai2"))
        fz.harvester.harvest(["pyoai-anon"])
    assert fz.members.get("pyoai-anon").records == 2


def test_duplicate_groups_merge_the_same_work_and_never_disagreeing_identifiers(fz):
    east, west = Source(), Source()
    east.put("oai:east:1", title="無錫縣誌", creator="秦緗業", date="1881", identifier="ISBN 978-7-5013-0000-6")
    west.put("oai:west:9", title="无锡县志（光绪本）", creator="秦缃业", date="1881", identifier="9787501300006")
    east.put("oai:east:2", title="惠山记", creator="邵宝", date="1520", identifier="东-001")
    west.put("oai:west:3", title="惠山記", creator="邵寶", date="1520", identifier="西-778")  # call numbers are local
    east.put("oai:east:4", title="梁溪诗钞", creator="顾光旭", date="1795", identifier="ISBN 7-5013-0001-1")
    west.put("oai:west:5", title="梁溪诗钞", creator="顾光旭", date="1795", identifier="ISBN 978-7-101-00000-9")
    with serving(pyoai_app(east)) as e, serving(pyoai_app(west)) as w:
        fz.members.add(Member("east", f"{e}/cgi/oai2", label_zh="东馆", label_en="East"))
        fz.members.add(Member("west", f"{w}/cgi/oai2", label_zh="西馆", label_en="West"))
        assert all(o.ok for o in fz.harvester.harvest())
    found = fz.search.search("", user=ANONYMOUS, per_page=100).hits
    works = sorted(tuple(x["oai_id"] for x in h.holdings) for h in found)
    assert works == [("oai:east:1", "oai:west:9"),  # the same ISBN, written two ways
                     ("oai:east:2", "oai:west:3"),  # the same folded title, creator and date
                     ("oai:east:4",), ("oai:west:5",)]  # different ISBNs: two works, never merged
    assert fz.search.search("", user=ANONYMOUS).total == 4
    assert ("东馆", 3) in fz.search.search("", user=ANONYMOUS).facets["library"]


def test_rebuild_keeps_the_union_catalogue(fz, tmp_path):
    source = Source()
    fill(source, 2)
    with serving(pyoai_app(source)) as url:
        fz.members.add(Member("pyoai", f"{url}/cgi/oai2"))
        fz.harvester.harvest()
    fz.search.rebuild()
    assert len(titles(fz)) == 2
    again = build(load({"DATA_DIR": str(tmp_path)}, environ={}), index=TantivyIndex())  # an empty index
    again.archive.rebuild()
    again.search.rebuild()
    assert len(titles(again, "无锡县志")) == 2


def test_removing_a_member_removes_its_records(fz):
    from alliance.harvest import remove_member

    source = Source()
    fill(source, 2)
    with serving(pyoai_app(source)) as url:
        fz.members.add(Member("pyoai", f"{url}/cgi/oai2"))
        fz.harvester.harvest()
    remove_member(fz.members, fz.harvester.store, fz.harvester.union, "pyoai")
    assert titles(fz) == [] and list(fz.harvester.store.records()) == []


@pytest.mark.parametrize("kind, expected", [
    ("invalid", "not well-formed XML"),
    ("bomb", "DTD or entities"),
    ("xxe", "DTD or entities"),
    ("loop", "resumption loop"),
    ("huge", "over the limit"),
    ("huge-text", "not well-formed XML: Resource limit exceeded"),
    ("slow", "no answer within 1.0 s"),
    ("error500", "HTTP status 500"),
])
def test_hostile_providers_fail_alone_with_a_clear_error(fz, kind, expected):
    from flask_babel import gettext

    from web import create_app

    source = Source()
    fill(source, 2)
    with serving(pyoai_app(source)) as good, serving(hostile_app(kind, delay=3)) as bad:
        fz.members.add(Member("good", f"{good}/cgi/oai2"))
        fz.members.add(Member("bad", f"{bad}/cgi/oai2"))
        started = time.monotonic()
        outcomes = {o.member: o for o in fz.harvester.harvest()}
        assert time.monotonic() - started < 10
    assert outcomes["good"].ok and fz.members.get("good").records == 2
    bad = fz.members.get("bad")
    assert bad.error and outcomes["bad"].error == bad.error
    app = create_app(fangzhi=fz)
    with app.test_request_context("/?lang=en"):
        app.preprocess_request()
        english = error_text(bad.error, gettext)
    assert expected in english, english
    assert expected not in error_text(bad.error)  # the source text is Chinese
    kept = 1 if kind in ("huge", "loop") else 0  # the good records before the refusal are kept
    if kind == "huge":
        assert outcomes["bad"].ok and bad.last_success and "oai:huge:big" in english
    else:
        assert not outcomes["bad"].ok and bad.last_success is None and bad.harvest_from is None
    assert bad.records == kept and len(titles(fz)) == 2 + kept


@pytest.mark.parametrize("value, key", [
    ("ISBN 978-7-5013-0000-6", ("isbn", "9787501300006")), ("9787501300006", ("isbn", "9787501300006")),
    ("ISBN 7-5013-0001-1", ("isbn", "9787501300013")), ("urn:isbn:9787501300013", ("isbn", "9787501300013")),
    ("ISBN 978-7-5013-0000-3", ("isbn", "9787501300003")),  # a wrong check digit is still an ISBN
    ("ISSN 1234-5679", ("issn", "12345679")), ("doi:10.1000/XYZ", ("doi", "10.1000/xyz")),
    ("東-001", ("local", "东-001")), ("Call No. 123 A", ("local", "callno.123a")),
])
def test_identifiers_are_normalised(value, key):
    from alliance.union import identifier_key

    assert identifier_key(value) == key


def test_a_third_record_never_joins_works_whose_isbns_disagree():
    from alliance.union import group
    from search.documents import RemoteRecord

    a = RemoteRecord("a", "1", "public", title=["梁溪诗钞"], creator=["顾光旭"], date="1795", identifiers=["ISBN 9787501300006"])
    b = RemoteRecord("b", "2", "public", title=["梁溪诗钞"], creator=["顾光旭"], date="1795", identifiers=["ISBN 9787101000009"])
    c = RemoteRecord("c", "3", "public", title=["梁溪诗钞"], creator=["顾光旭"], date="1795")  # no ISBN: matches both
    groups = sorted(sorted(r.member for r in g) for g in group([a, b, c]))
    assert groups == [["a", "c"], ["b"]]


def test_our_token_never_follows_a_redirect_to_another_site(fz):
    """urllib forwards every header on a redirect, Authorization too: a member (or whoever can make
    it redirect) would receive the token we hold for it."""
    seen = []
    source = Source(token="secret-token")
    fill(source, 1)
    inner = pyoai_app(source)

    def recording(environ, start_response):
        seen.append(environ.get("HTTP_AUTHORIZATION"))
        return inner(environ, start_response)

    with serving(recording) as elsewhere:
        def redirecting(environ, start_response):
            query = environ.get("QUERY_STRING", "")
            start_response("302 Found", [("Location", f"{elsewhere}/cgi/oai2?{query}")])
            return [b""]
        with serving(redirecting) as url:
            fz.members.add(Member("moved", f"{url}/cgi/oai2", token="secret-token"))
            [outcome] = fz.harvester.harvest()
    assert outcome.ok and seen and "Bearer secret-token" not in seen


def test_a_redirect_off_http_is_refused(fz):
    def to_file(environ, start_response):
        start_response("302 Found", [("Location", "file:///etc/passwd")])
        return [b""]
    with serving(to_file) as url:
        fz.members.add(Member("files", f"{url}/cgi/oai2"))
        [outcome] = fz.harvester.harvest()
    assert not outcome.ok and "HTTP 状态 302" in error_text(outcome.error) and not fz.members.get("files").records
