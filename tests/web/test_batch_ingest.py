"""Web batch ingest: a folder or many files (and a manifest) through the browser's protocol become
the same plan, checks and job as `fangzhi ingest`; metadata is checked before anything is sent."""
import io
import json
import re
import time

import pytest

from ingest.sources import plan
from repository.access import SYSTEM
from tests.ingest import fixtures
from tests.web.auth_helpers import add_users, csrf_token, login


@pytest.fixture
def app(tmp_path):
    from fangzhi.bootstrap import build
    from fangzhi.settings import load
    from web import create_app

    # ingest runs inline (in the job's thread): the same pipeline, without spawning worker processes
    return create_app(fangzhi=build(load({"DATA_DIR": str(tmp_path / "data"), "SECRET_KEY": "test"}, environ={}),
                                    inline=True))


@pytest.fixture
def staff(app):
    add_users(app, ["admin", "archivist", "curator", "researcher"])
    client = app.test_client()
    login(client, "archivist")
    client.token = csrf_token(client, "/admin/ingest/batch")
    return client


def preflight(client, paths, manifest=None, lang="zh", **form):
    data = {"csrf_token": client.token, "mode": "items", "kind": "photo", "visibility": "staff",
            "paths": json.dumps([{"path": p, "size": s} for p, s in paths]), **form}
    if manifest is not None:
        data["manifest"] = (io.BytesIO(manifest[1]), manifest[0])
    return client.post(f"/admin/uploads/preflight?lang={lang}", data=data, content_type="multipart/form-data")


def send(client, upload_id, path, data, *, chunk=64 * 1024, manifest=False, start=0):
    offset = start
    query = f"manifest=1&path={path}" if manifest else f"path={path}"
    while offset < len(data) or (not data and offset == 0):
        r = client.put(f"/admin/uploads/{upload_id}/files?{query}&offset={offset}", data=data[offset:offset + chunk],
                       headers={"X-CSRFToken": client.token})
        assert r.status_code == 200, r.get_data(as_text=True)
        offset = r.json["size"]
        if not data:
            break
    return offset


def wait(client, url, deadline=240):
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        page = client.get(url).get_data(as_text=True)
        if 'http-equiv="refresh"' not in page:
            return page
        time.sleep(0.5)
    raise AssertionError(f"{url} did not finish")


def new_upload(client):
    return client.post("/admin/uploads", headers={"X-CSRFToken": client.token}).json["id"]


def donation(tmp_path, n=12):
    folder = tmp_path / "donation"
    folder.mkdir()
    return [fixtures.jpeg(folder / f"照片{i}.jpg", seed=i, size=(96, 64)) for i in range(1, n + 1)]


def test_a_twelve_file_batch_is_planned_and_ingested_as_the_command_line_would(staff, app, archive, tmp_path):
    files = donation(tmp_path)
    paths = [(f.name, f.stat().st_size) for f in files]
    ok = preflight(staff, paths)
    assert ok.status_code == 200 and ok.json == {"ok": True, "files": 12}
    upload_id = new_upload(staff)
    for f in files:
        assert send(staff, upload_id, f.name, f.read_bytes()) == f.stat().st_size
    done = staff.post(f"/admin/uploads/{upload_id}/batch", data={
        "csrf_token": staff.token, "mode": "items", "kind": "photo", "visibility": "public",
        "holding_library": "城关区图书馆", "subjects": "老照片"})
    assert done.status_code == 303, done.get_data(as_text=True)
    page = wait(staff, done.headers["Location"])
    assert page.count("<td>完成") == 12, page
    jobs = app.extensions["fangzhi"].jobs
    job = jobs.jobs()[0]
    entries = jobs.entries(job.id)
    # the same plan as `fangzhi ingest` of the folder: labels, kinds, files in order
    cli = plan(tmp_path / "donation")
    assert [e.label for e in entries] == [p.label for p in cli]
    assert [e.metadata["kind"] for e in entries] == [p.metadata["kind"] for p in cli]
    items = {i.id: i for i in archive.list_items(user=SYSTEM, limit=50)[0]}
    assert len(items) == 12
    for e in entries:
        item = items[e.item_id]
        assert item.holding_library == "城关区图书馆" and item.subjects == ["老照片"] and item.visibility == "public"
        assert [f.path for f in item.originals] == [f"originals/{e.label}.jpg"]
        # recorded under the staff member who uploaded, never "system"
        assert {v.user for v in archive.history(item.id, user=SYSTEM)} == {"archivist"}
    assert job.user == "archivist" and "网页上传" in page and str(tmp_path) not in page


def test_one_multi_page_item_from_a_folder(staff, archive, tmp_path):
    folder = tmp_path / "信"
    folder.mkdir()
    pages = [fixtures.jpeg(folder / f"{n}.jpg", seed=n, size=(96, 64)) for n in (10, 2, 1)]
    upload_id = new_upload(staff)
    for p in pages:
        send(staff, upload_id, f"第一封/{p.name}", p.read_bytes())
    assert preflight(staff, [(f"第一封/{p.name}", p.stat().st_size) for p in pages], mode="one",
                     title_zh="王氏家书", kind="manuscript").status_code == 200
    done = staff.post(f"/admin/uploads/{upload_id}/batch", data={
        "csrf_token": staff.token, "mode": "one", "kind": "manuscript", "title_zh": "王氏家书",
        "date_edtf": "1936-05"})
    assert done.status_code == 303
    wait(staff, done.headers["Location"])
    (item,) = archive.list_items(user=SYSTEM)[0]
    assert item.title == {"zh": "王氏家书"} and item.date == {"edtf": "1936-05"} and item.kind == "manuscript"
    assert [f.path.rsplit("/", 1)[-1] for f in item.originals] == ["1.jpg", "2.jpg", "10.jpg"]  # natural order


MANIFEST = ("题名,文件,日期,创作者,地点\n"
            "县前街,photos/a.jpg,195X,李德华（摄影）,县前街\n"
            "王氏家书,letters/1936,1936-05,王仲文（作者）,上海\n")


def test_a_folder_with_a_manifest(staff, archive, tmp_path):
    a = fixtures.jpeg(tmp_path / "a.jpg", seed=1, size=(96, 64)).read_bytes()
    p1 = fixtures.jpeg(tmp_path / "p1.jpg", seed=2, size=(96, 64)).read_bytes()
    p2 = fixtures.jpeg(tmp_path / "p2.jpg", seed=3, size=(96, 64)).read_bytes()
    files = {"photos/a.jpg": a, "letters/1936/p1.jpg": p1, "letters/1936/p2.jpg": p2}
    manifest = MANIFEST.encode()
    ok = preflight(staff, [(p, len(d)) for p, d in files.items()], manifest=("清单.csv", manifest))
    assert ok.status_code == 200, ok.json
    upload_id = new_upload(staff)
    for path, data in files.items():
        send(staff, upload_id, path, data)
    send(staff, upload_id, "清单.csv", manifest, manifest=True)
    done = staff.post(f"/admin/uploads/{upload_id}/batch", data={"csrf_token": staff.token, "mode": "items",
                                                                   "kind": "photo", "visibility": "staff"})
    assert done.status_code == 303
    page = wait(staff, done.headers["Location"])
    assert page.count("<td>完成") == 2, page
    items = {i.title["zh"]: i for i in archive.list_items(user=SYSTEM)[0]}
    assert items["县前街"].date == {"edtf": "195X"} and items["县前街"].creators[0].role == "摄影"
    letter = items["王氏家书"]
    assert letter.kind == "manuscript" and len(letter.originals) == 2 and letter.places[0].name == {"zh": "上海"}


def test_metadata_is_checked_before_anything_is_uploaded(staff, app):
    uploads = app.extensions["fangzhi"].uploads.root
    before = sorted(uploads.glob("*")) if uploads.exists() else []
    bad = ("题名,文件,日期\n县前街,a.jpg,195X\n王氏家书,b.jpg,19x6\n无文件,,1936\n")
    r = preflight(staff, [("a.jpg", 10), ("b.jpg", 10)], manifest=("清单.csv", bad.encode()), date_edtf="1936-13")
    assert r.status_code == 422
    messages = [f"{p['where']}：{p['message']}" for p in r.json["problems"]]
    assert "日期（EDTF）：“1936-13”不是 EDTF 日期（如 1936、1936-05、193X、1911/1949、1936?）" in messages
    assert any("第 3 行“日期”列：“19x6”不是 EDTF 日期" in m for m in messages), messages
    assert any("第 4 行“文件”列：没有填写文件" in m for m in messages), messages
    assert not any(re.search(r"[A-Za-z]{4,} (is|must)", m) for m in messages), messages  # no English sentences
    en = preflight(staff, [("a.jpg", 10)], lang="en", date_edtf="19x6")
    assert any(p["where"] == "Date (EDTF)" and "is not an EDTF date" in p["message"] for p in en.json["problems"])
    # a file named in the manifest but not sent, and a bad collection
    r = preflight(staff, [("a.jpg", 10)], manifest=("m.csv", "题名,文件\nX,missing.jpg\n".encode()),
                  collections="nope")
    messages = [p["message"] for p in r.json["problems"]]
    assert any("上传的文件中没有 missing.jpg" in m for m in messages) and "没有馆藏 nope" in messages
    assert (sorted(uploads.glob("*")) if uploads.exists() else []) == before  # nothing was stored


def test_an_interrupted_batch_resumes(staff, archive, tmp_path):
    files = donation(tmp_path, n=3)
    upload_id = new_upload(staff)
    send(staff, upload_id, files[0].name, files[0].read_bytes())
    data = files[1].read_bytes()
    half = len(data) // 2
    send(staff, upload_id, files[1].name, data[:half], chunk=1024)  # the connection dropped here
    # the page, reloaded, sends every file from the start: the server says how much it has
    for f in files:
        r = staff.put(f"/admin/uploads/{upload_id}/files?path={f.name}&offset=0", data=f.read_bytes()[:10],
                      headers={"X-CSRFToken": staff.token})
        if f is files[2]:
            assert r.status_code == 200
            send(staff, upload_id, f.name, f.read_bytes(), start=10)
        else:
            assert r.status_code == 409 and r.json["size"] == {0: files[0].stat().st_size, 1: half}[files.index(f)]
            assert "从那里继续" in r.json["message"]
            send(staff, upload_id, f.name, f.read_bytes(), start=r.json["size"])
    done = staff.post(f"/admin/uploads/{upload_id}/batch", data={"csrf_token": staff.token, "mode": "items",
                                                                   "kind": "photo"})
    assert wait(staff, done.headers["Location"]).count("<td>完成") == 3
    sizes = sorted(f.size for i in archive.list_items(user=SYSTEM)[0] for f in i.originals)
    assert sizes == sorted(f.stat().st_size for f in files)  # byte for byte, no chunk twice


@pytest.mark.parametrize("path", ["../evil.jpg", "a/../../evil.jpg", "/etc/evil.jpg", "a//b.jpg", "a\\..\\..\\b.jpg",
                                  "./a.jpg", "a/\u202egpj.exe", "/".join(["d"] * 20) + "/a.jpg"])
def test_a_path_that_climbs_out_of_the_donation_is_refused(staff, app, path):
    r = preflight(staff, [(path, 10)])
    assert r.status_code == 422 and r.json["problems"][0]["where"] in (path, "—")
    upload_id = new_upload(staff)
    r = staff.put(f"/admin/uploads/{upload_id}/files?path={path}&offset=0", data=b"x", headers={"X-CSRFToken": staff.token})
    assert r.status_code == 400
    root = app.extensions["fangzhi"].uploads.root
    assert not (root.parent / "evil.jpg").exists() and not (root / "evil.jpg").exists()
    assert [p for p in (root / upload_id).rglob("*") if p.is_file()] == []


def test_a_huge_manifest_is_refused_without_reading_it_all(staff, monkeypatch):
    from web import batch_views

    with monkeypatch.context() as m:
        m.setattr(batch_views, "MAX_MANIFEST_BYTES", 1000)
        r = preflight(staff, [("a.jpg", 10)], manifest=("m.csv", b"title,files\n" + b"x,a.jpg\n" * 500))
        assert r.status_code == 422 and "超过上限 1,000 字节" in r.json["problems"][0]["message"]
    rows = "题名,文件,日期\n" + "".join(f"t{i},a.jpg,19x{i}\n" for i in range(2000))
    r = preflight(staff, [("a.jpg", 10)], manifest=("m.csv", rows.encode()))
    assert r.status_code == 422 and len(r.json["problems"]) == 200  # capped


def test_batch_routes_need_an_archivist_and_csrf(app, staff):
    assert staff.post("/admin/uploads/preflight", data={"paths": "[]"}).status_code == 400  # no CSRF token
    upload_id = new_upload(staff)
    assert staff.put(f"/admin/uploads/{upload_id}/files?path=a.jpg&offset=0", data=b"x").status_code == 400
    assert staff.post(f"/admin/uploads/{upload_id}/batch", data={"mode": "items"}).status_code == 400
    for role in ("researcher", "curator"):
        other = app.test_client()
        login(other, role)
        token = csrf_token(other, "/")
        assert other.post("/admin/uploads/preflight", data={"paths": "[]", "csrf_token": token}).status_code == 403
        assert other.put(f"/admin/uploads/{upload_id}/files?path=a.jpg&offset=0", data=b"x",
                         headers={"X-CSRFToken": token}).status_code == 403
        assert other.get("/admin/ingest/batch").status_code == 403
    assert app.test_client().get("/admin/ingest/batch").status_code == 302  # to the login page


def test_a_job_page_speaks_the_interface_language_and_offers_a_retry_only_where_it_can_help(app, staff, tmp_path):
    from ingest.jobs import Entry

    jobs = app.extensions["fangzhi"].jobs
    root = str(tmp_path / "捐赠")
    job_id = jobs.create(root, [Entry("", n, f"条目{n}", f"it-{n}", [], [], {}) for n in (1, 2, 3, 4)], user="archivist")
    jobs.mark(job_id, 1, "failed", step="check", file=f"{root}/信件/p1.tif", kind="input",
              reason="date.edtf: '19x6' is not an EDTF date (e.g. 1936, 1936-05, 193X, 1911/1949, 1936?)")
    jobs.mark(job_id, 2, "failed", step="pyramid", file=f"{root}/照片/a.jpg", kind="transient",
              reason="[Errno 28] No space left on device")
    jobs.mark(job_id, 3, "failed", step="plan", reason="row 3, 日期: '19x6' is not an EDTF date (e.g. 1936)")
    jobs.mark(job_id, 4, "failed", step="check", file=f"{root}/x.exe", kind="input",
              reason="x.exe: not a file type Fangzhi can keep")
    zh = staff.get(f"/admin/jobs/{job_id}").get_data(as_text=True)
    assert "日期（EDTF）：“19x6”不是 EDTF 日期" in zh and "date.edtf" not in zh
    assert "第 3 行“日期”列：“19x6”不是 EDTF 日期" in zh
    assert "文件：信件/p1.tif" in zh and "文件：照片/a.jpg" in zh and root not in zh and str(tmp_path) not in zh
    assert "步骤：生成图像金字塔" in zh and "来源：捐赠" in zh
    assert "存储或系统暂时出错：可以重试" in zh and "文件或元数据有误" in zh and "规划时发现问题" in zh
    assert zh.count("重试此项") == 1 and "重试失败项" in zh  # only the storage failure
    assert re.search(r'name="entry" value="2"', zh) and not re.search(r'name="entry" value="[134]"', zh)
    assert not re.search(r"\b(failed|pending|check|pyramid)\b", re.sub(r"<[^>]+>", " ", zh.split("<main", 1)[1]))
    en = staff.get(f"/admin/jobs/{job_id}?lang=en").get_data(as_text=True)
    assert "Date (EDTF)" in en and "a retry can help" in en
    # the retry button takes only what a retry can help
    staff.post(f"/admin/jobs/{job_id}/retry", data={"csrf_token": staff.token})
    states = {e.n: e.state for e in jobs.entries(job_id)}
    assert states[1] == states[3] == states[4] == "failed"
    staff.post(f"/admin/jobs/{job_id}/retry", data={"csrf_token": staff.token, "entry": "1"})
    assert jobs.entry(job_id, 1).state == "failed"


def test_a_real_bad_input_failure_is_not_offered_a_retry(staff, app, tmp_path):
    from ingest.pipeline import plan_job, process
    from ingest.sources.folder import plan_folder

    jobs = app.extensions["fangzhi"].jobs
    ctx = app.extensions["fangzhi"].ingest_context()
    for name, make, metadata in (("broken", lambda f: (f / "scan.jpg").write_bytes(b"\xff\xd8\xff\xe0" + b"x" * 300), {}),
                                 ("dated", lambda f: fixtures.jpeg(f / "scan.jpg", seed=3, size=(96, 64)),
                                  {"date": {"edtf": "19x6"}})):
        source = tmp_path / name
        source.mkdir()
        make(source)
        planned = plan_folder(source)
        planned[0].metadata.update(metadata)
        job_id = plan_job(ctx, str(source), planned)
        assert process(ctx, job_id, 1) == "failed"
        entry = jobs.entry(job_id, 1)
        assert entry.kind == "input" and not entry.retryable, entry
        page = staff.get(f"/admin/jobs/{job_id}").get_data(as_text=True)
        assert "重试此项" not in page and "重试失败项" not in page and str(source) not in page
        assert "文件或元数据有误" in page and re.search(r"[A-Za-z]{4,} (is|must|not)", page.split("<main", 1)[1]) is None
    assert "日期（EDTF）：“19x6”不是 EDTF 日期" in page
