"""The staff dashboard: its figures equal what was ingested, the JSON and /metrics answers parse,
and only staff (or read-staff tokens) get them, each counting what it may see."""
import time

import pytest

from repository.access import SYSTEM, User
from tests.ingest import fixtures
from tests.web.auth_helpers import add_users, login
from web import create_app


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    from ingest.pipeline import plan_job, process
    from ingest.sources.folder import plan_folder

    tmp = tmp_path_factory.mktemp("dashboard")
    app = create_app({"DATA_DIR": str(tmp / "data"), "SECRET_KEY": "t", "LOGIN_RATE_LIMIT": "1000 per minute"})
    add_users(app)
    fz = app.extensions["fangzhi"]
    source = tmp / "donation"
    source.mkdir()
    fixtures.jpeg(source / "scan.jpg", seed=3)
    fixtures.jpeg(source / "scan2.jpg", seed=4)
    (source / "letter.txt").write_text("惠山古镇的来信\n", encoding="utf-8")
    (source / "records.csv").write_text("name,year\n张,1936\n", encoding="utf-8")
    (source / "empty.tif").write_bytes(b"")  # fails: the file is empty
    (source / "truncated.jpg").write_bytes((source / "scan.jpg").read_bytes()[:600])  # fails: not readable
    ctx = fz.ingest_context(User("archivist", frozenset({"archivist"})))
    job = plan_job(ctx, "donation", plan_folder(source))
    states = [process(ctx, job, entry.n) for entry in fz.jobs.entries(job)]
    assert sorted(states) == ["done", "done", "done", "done", "failed", "failed"], states
    fz.archive.create_collection({"id": "huishan", "title": "惠山"}, user=SYSTEM)
    items = fz.archive.list_items(user=SYSTEM, limit=100)[0]
    scan = next(i for i in items if i.label() == "scan")
    for item in items:  # ingested as staff-only; all but the first scan published
        if item is not scan:
            fz.archive.update_item(item.id, {"visibility": "public"}, user=SYSTEM,
                                   expected_version=fz.archive.get_item(item.id, user=SYSTEM).version)
    fz.archive.update_item(scan.id, {"visibility": "staff", "collections": ["huishan"], "date": {"edtf": "1936"}},
                           expected_version=fz.archive.get_item(scan.id, user=SYSTEM).version, user=SYSTEM)
    return app


def client_as(app, who):
    client = app.test_client()
    if who != "anonymous":
        assert login(client, who).status_code == 302
    return client


def slow_counts(archive, user):
    """The same figures the slow way: every item the user may see, loaded."""
    items = archive.list_items(user=user, limit=1000)[0]
    kinds, formats, sizes = {}, {}, {}
    for item in items:
        kinds[item.kind] = kinds.get(item.kind, 0) + 1
        for f in item.files:
            sizes[f.role] = sizes.get(f.role, 0) + f.size
            if f.role == "original":
                puid = (f.tech.get("pronom") or {}).get("puid")
                formats[puid] = formats.get(puid, 0) + 1
    return len(items), kinds, formats, sizes


def test_the_figures_equal_what_was_ingested(site):
    archivist = client_as(site, "archivist")
    assert archivist.get("/search?q=没有这个词的检索").status_code == 200  # a search that finds nothing
    assert archivist.get("/api/search?q=没有这个词的检索").status_code == 200
    data = archivist.get("/metrics.json").json
    fz = site.extensions["fangzhi"]
    total, kinds, formats, sizes = slow_counts(fz.archive, User("archivist", frozenset({"archivist"})))
    assert data["items"]["total"] == total == 4
    assert {k["kind"]: k["items"] for k in data["items"]["kinds"]} == kinds
    assert {f["puid"]: f["files"] for f in data["formats"]} == formats
    assert "fmt/43" in formats or "fmt/44" in formats  # the JPEGs, identified by PRONOM
    assert {role: v["bytes"] for role, v in data["storage"].items()} == sizes
    assert data["items"]["collections"] == [{"id": "huishan", "title": "惠山", "items": 1}]
    # both photographs are dated 1936 by their EXIF date
    assert data["items"]["decades"] == [{"decade": 1930, "items": 2}] and data["items"]["undated"] == 2
    today = data["ingest"]["days"][-1]
    assert (today["done"], today["failed"]) == (4, 2) and data["ingest"]["entries"] == {"done": 4, "failed": 2}
    assert data["zero_results"]["queries"][0]["query"] == "没有这个词的检索"
    assert data["zero_results"]["queries"][0]["count"] == 2
    assert set(data["zero_results"]["queries"][0]) == {"query", "count", "last"}  # never who asked
    assert data["fixity"]["objects"] == 5 and data["fixity"]["never"] == 5 and data["fixity"]["last_run"] is None


def test_fixity_figures_count_the_last_run_and_its_failures(site, tmp_path):
    from storage import fixity

    fz = site.extensions["fangzhi"]
    items = fz.archive.list_items(user=SYSTEM, limit=100)[0]
    victim = next(i for i in items if i.label() == "letter")
    stored = fz.archive.open_file(victim.id, victim.originals[0].id, user=SYSTEM).on_disk()
    good = stored.read_bytes()
    try:
        stored.write_bytes(b"X" + good[1:])  # a bit flip
        fixity.check(fz.objects, list(fz.objects.list_objects()))
        admin = client_as(site, "admin").get("/metrics.json").json["fixity"]
        assert admin["last_run"]["failed"] == 1 and admin["in_cycle"] == admin["objects"] and admin["never"] == 0
        assert [p["object_id"] for p in admin["problems"]] == [f"item:{victim.id}"]
        curator = client_as(site, "curator").get("/metrics.json").json["fixity"]
        assert curator["last_run"]["failed"] == 1 and curator["problems"] is None  # counts, not which objects
        page = client_as(site, "admin").get("/admin/").get_data(as_text=True)
        assert "失败 1" in page and f"item:{victim.id}" in page
    finally:
        stored.write_bytes(good)


def test_counts_follow_the_access_policy_of_the_one_asking(site):
    curator = client_as(site, "curator").get("/metrics.json").json
    archivist = client_as(site, "archivist").get("/metrics.json").json
    assert archivist["items"]["total"] == 4 and curator["items"]["total"] == 3  # the staff-only scan is not theirs
    assert curator["items"]["collections"] == [] and curator["items"]["decades"] == [{"decade": 1930, "items": 1}]
    assert curator["storage"]["original"]["files"] == 3 and archivist["storage"]["original"]["files"] == 4


def test_readers_and_anonymous_get_no_figures_and_tokens_are_scoped(site):
    from prometheus_client.parser import text_string_to_metric_families

    fz = site.extensions["fangzhi"]
    anonymous = site.test_client()
    for url in ("/metrics.json", "/metrics"):
        r = anonymous.get(url)
        assert r.status_code == 401 and r.headers["WWW-Authenticate"].startswith("Bearer")
        assert b"fangzhi_" not in r.data and b"items" not in r.data
        for who in ("member", "researcher"):
            r = client_as(site, who).get(url)
            assert r.status_code == 403 and b"fangzhi_items" not in r.data and b'"total"' not in r.data
    assert anonymous.get("/admin/").status_code == 302  # to the login page
    assert client_as(site, "member").get("/admin/").status_code == 403
    for scopes, allowed in ((["read"], False), (["read-alliance"], False), (["write"], False), (["read-staff"], True)):
        secret, _ = fz.accounts.create_token(f"scrape-{scopes[0]}", scopes, by=SYSTEM)
        headers = {"Authorization": f"Bearer {secret}"}
        r = anonymous.get("/metrics", headers=headers)
        assert (r.status_code == 200) == allowed, scopes
        assert (anonymous.get("/metrics.json", headers=headers).status_code == 200) == allowed
        if allowed:
            assert r.headers["Content-Type"].startswith("text/plain; version=")
            families = {f.name: f for f in text_string_to_metric_families(r.get_data(as_text=True))}
            items = {s.labels["kind"]: s.value for s in families["fangzhi_items"].samples}
            assert sum(items.values()) == 4  # a read-staff token reads what archivists read
            ingest = {s.labels["state"]: s.value for s in families["fangzhi_ingest_entries"].samples}
            assert ingest == {"done": 4.0, "failed": 2.0}
            assert {s.labels["result"] for s in families["fangzhi_fixity_last_run_files"].samples} == {
                "checked", "passed", "failed", "missing"}
            assert "fangzhi_zero_result_queries" in families
            assert "没有这个词" not in r.get_data(as_text=True)  # query texts stay on the staff page
        assert anonymous.get("/admin/", headers=headers).status_code == 403  # the page: sessions only


def test_zero_result_queries_are_normalised_capped_and_bounded(database):
    from search.queries import MAX_CHARS, ZeroResults

    queries = ZeroResults(database, keep=5)
    queries.record("  ＡＢＣ\x00\x1b   惠山 \n")
    queries.record("abc 惠山")
    queries.record("   ")
    queries.record("长" * 5000)
    assert queries.top(1) == [("abc 惠山", 2, queries.top(1)[0][2])]
    assert max(len(q) for q, *_ in queries.top()) == MAX_CHARS
    for n in range(20):
        queries.record(f"query {n}")
    assert queries.total()[0] == 5 and queries.top(1)[0][0] == "abc 惠山"  # the most asked stays


def test_the_dashboard_page_has_each_chart_and_its_table(site):
    page = client_as(site, "archivist").get("/admin/").get_data(as_text=True)
    for key in ("kinds", "decades", "collections", "ingest", "storage", "formats", "fixity"):
        assert f'data-chart="{key}"' in page and f'id="chart-{key}-title"' in page
    assert page.count("<summary>数据表</summary>") == 7
    assert '<script type="application/json" id="dashboard-data">' in page
    assert "/vendor/echarts/echarts.min.js" in page and "没有这个词的检索" in page
    assert "<script>" not in page  # no inline script (CSP)
    english = client_as(site, "archivist").get("/admin/?lang=en").get_data(as_text=True)
    assert "Items by kind" in english and "Searches with no results" in english


def test_the_figures_are_cheap_at_a_few_thousand_items(tmp_path):
    """SQL over the catalog: measured here with 3000 items of three files each."""
    from fangzhi.figures import figures
    from repository.model import Item
    from tests.helpers import build_on

    fz = build_on(tmp_path / "data")
    for n in range(3000):
        item = Item.from_dict({"id": f"it{n:05d}", "kind": ("photo", "book", "document")[n % 3],
                               "title": {"zh": f"藏品{n}"}, "date": {"edtf": str(1900 + n % 100)}, "files": [
            {"id": "f1", "path": "originals/a.jpg", "media_type": "image/jpeg", "size": 1000, "sha256": f"{n:064x}",
             "role": "original", "tech": {"pronom": {"puid": ("fmt/43", "fmt/353")[n % 2]}}},
            {"id": "f2", "path": "derivatives/f1/p.tif", "media_type": "image/tiff", "size": 5000,
             "sha256": "0" * 64, "role": "derivative", "derived_from": "f1", "purpose": "pyramid"},
            {"id": "f3", "path": "derivatives/f1/t.jpg", "media_type": "image/jpeg", "size": 50,
             "sha256": "1" * 64, "role": "derivative", "derived_from": "f1", "purpose": "thumbnail"}]})
        fz.catalog.put_item(item, 1, "2026-01-01T00:00:00Z", "2026-01-01T00:00:00Z")
    started = time.perf_counter()
    found = figures(fz, User("archivist", frozenset({"archivist"})))
    seconds = time.perf_counter() - started
    print(f"dashboard figures for 3000 items: {seconds * 1000:.0f} ms")
    assert found["items"]["total"] == 3000 and found["storage"]["derivative"] == {"files": 6000, "bytes": 15_150_000}
    assert {f["puid"]: f["files"] for f in found["formats"]} == {"fmt/43": 1500, "fmt/353": 1500}
    assert len(found["items"]["decades"]) == 10
    assert seconds < 2.0
