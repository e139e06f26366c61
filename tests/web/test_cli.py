"""The `fangzhi` command line, run as a real process."""
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from storage.ocfl import object_path
from tests.helpers import assert_ocfl_valid
from tests.web.auth_helpers import login


def fangzhi(data_dir, *args):
    env = {**os.environ, "FANGZHI_DATA_DIR": str(data_dir)}
    return subprocess.run([sys.executable, "-m", "web.cli", *args], capture_output=True, text=True, env=env,
                          timeout=300, cwd=Path(__file__).resolve().parents[2])


@pytest.fixture(scope="module")
def demo_dir(tmp_path_factory):
    data = tmp_path_factory.mktemp("demo")
    result = fangzhi(data, "demo")
    assert result.returncode == 0, result.stderr
    assert "items created" in result.stdout
    return data


def test_demo_is_valid_ocfl_and_idempotent(demo_dir):
    assert_ocfl_valid(demo_dir / "storage" / "ocfl")
    again = fangzhi(demo_dir, "demo")
    assert again.returncode == 0 and "already present" in again.stdout


def test_demo_has_a_published_bilingual_exhibition_with_a_region_and_a_clip(demo_dir):
    from web import create_app

    client = create_app({"DATA_DIR": str(demo_dir)}).test_client()
    html = client.get("/exhibitions/canal-lives").get_data(as_text=True)
    assert "运河人家" in html and 'class="block block-region"' in html and 'class="block block-clip"' in html
    assert "/240,180,480,360/" in html and "伲小辰光" in html
    assert "Lives by the canal" in client.get("/exhibitions/canal-lives?lang=en").get_data(as_text=True)
    assert "/exhibitions/canal-lives" in client.get("/").get_data(as_text=True)


def test_item_show(demo_dir):
    from web import create_app

    items = create_app({"DATA_DIR": str(demo_dir)}).test_client().get("/api/items?per_page=100").json["items"]
    manuscript = next(i for i in items if i["kind"] == "manuscript")
    out = fangzhi(demo_dir, "item", "show", manuscript["id"])
    record = json.loads(out.stdout)
    assert record["version"] == 2  # v1: the originals, v2: their derivatives (pyramids, OCR)
    assert len([f for f in record["files"] if f["role"] == "original"]) == 4
    assert {f["purpose"] for f in record["files"] if f["role"] == "derivative"} == {"pyramid", "thumbnail", "ocr", "text"}
    assert record["creators"][0]["aliases"][0] == {"name": "伯虞", "type": "字"}


def test_demo_interview_has_transcripts_and_an_index_with_a_silenced_passage(demo_dir):
    from oral_history.service import read_interview
    from repository.access import ANONYMOUS, SYSTEM
    from web import create_app

    archive = create_app({"DATA_DIR": str(demo_dir)}).extensions["fangzhi"].archive
    item = next(i for i in archive.list_items(user=SYSTEM, limit=100)[0] if i.kind == "audio")
    interview = read_interview(archive, item)
    assert [(t.language, t.kind) for t in interview.transcripts] == [("wuu", "verbatim"), ("zh", "rendering")]
    assert "伲小辰光" in interview.transcripts[0].cues[0].text and interview.transcripts[0].cues[0].speaker == "张阿婆"
    assert [s.restricted for s in interview.segments] == [False, False, True, False]
    heard = [f for f in archive.visible_files(item, user=ANONYMOUS) if f.purpose == "access"]
    assert heard and all(f.tech.get("redacted") for f in heard)


def test_unknown_item_is_one_line_and_exit_1(demo_dir):
    out = fangzhi(demo_dir, "item", "show", "nope")
    assert out.returncode == 1 and out.stderr == "fangzhi: no item nope\n"


def test_rebuild_from_storage(demo_dir):
    from tests.helpers import build_on

    fz = build_on(demo_dir)
    fz.catalog.clear()
    fz.authorities.table.clear()
    out = fangzhi(demo_dir, "rebuild")
    stored = list(build_on(demo_dir).objects.list_objects())  # collections, items, authorities, the exhibition
    assert {oid.split(":")[0] for oid in stored} == {"collection", "item", "authority", "exhibition"}
    assert out.returncode == 0 and f"rebuilt the catalog from {len(stored)} objects" in out.stdout
    assert len(build_on(demo_dir).authorities.find("伯虞")) == 1  # the lookup table, from storage alone


def test_fixity_reports_every_mismatch(tmp_path, demo_dir):
    import shutil

    copy = tmp_path / "copy"
    shutil.copytree(demo_dir, copy)
    ok = fangzhi(copy, "fixity")
    assert ok.returncode == 0 and "0 problems" in ok.stdout
    jpgs = sorted((copy / "storage" / "ocfl").rglob("*.jpg"))
    for path in jpgs[:2]:
        path.write_bytes(path.read_bytes()[:-1] + b"\x00")
    bad = fangzhi(copy, "fixity", "--digest", "sha512")
    assert bad.returncode == 1
    assert bad.stderr.count("FIXITY FAILURE") == 2 and "2 problems" in bad.stdout


def test_demo_creates_an_admin_with_a_printed_password(tmp_path):
    out = fangzhi(tmp_path, "demo")
    password = re.search(r"administrator 'admin' created with password (\S+)", out.stdout).group(1)
    assert len(password) >= 12
    assert "administrator" not in fangzhi(tmp_path, "demo").stdout  # only the first time
    from web import create_app

    client = create_app({"DATA_DIR": str(tmp_path)}).test_client()
    assert login(client, "admin", password).status_code == 302


def test_user_and_token_commands(tmp_path):
    added = fangzhi(tmp_path, "user", "add", "wang", "--role", "archivist", "--name", "王馆员")
    assert added.returncode == 0 and re.search(r"with password \S{12,}", added.stdout)
    assert fangzhi(tmp_path, "user", "add", "li", "--role", "wizard", "--password", "x" * 12).stderr.startswith(
        "fangzhi: roles: unknown role wizard")
    assert fangzhi(tmp_path, "user", "set-role", "wang", "archivist", "curator").returncode == 0
    assert fangzhi(tmp_path, "user", "disable", "wang").returncode == 0
    listing = fangzhi(tmp_path, "user", "list").stdout
    assert re.search(r"wang\s+archivist,curator\s+disabled", listing)
    assert fangzhi(tmp_path, "user", "disable", "nobody").stderr == "fangzhi: no user nobody\n"
    created = fangzhi(tmp_path, "token", "create", "江阴市图书馆", "--scope", "read-alliance")
    token_id, secret = re.search(r"token (\d+) for 江阴市图书馆: (fzt_\S+)", created.stdout).groups()
    assert fangzhi(tmp_path, "token", "revoke", token_id).returncode == 0
    assert re.search(r"江阴市图书馆\s+read-alliance\s+revoked", fangzhi(tmp_path, "token", "list").stdout)


def test_audit_command(demo_dir, tmp_path):
    from repository.access import SYSTEM
    from web import create_app

    archive = create_app({"DATA_DIR": str(demo_dir)}).extensions["fangzhi"].archive
    item = archive.list_items(user=SYSTEM)[0][0]
    version = archive.get_item(item.id, user=SYSTEM).version
    archive.update_item(item.id, {"subjects": ["桥"]}, expected_version=version, user=SYSTEM, why="补充主题")
    lines = fangzhi(demo_dir, "audit", item.id).stdout.splitlines()
    assert "create" in lines[0] and "v1" in lines[0]
    assert "update" in lines[-1] and "补充主题" in lines[-1] and "system" in lines[-1]
    assert fangzhi(demo_dir, "audit", "nope").returncode == 1


def test_search_finds_the_demo_with_ocr_page_and_json(demo_dir):
    result = fangzhi(demo_dir, "search", "--json", "惠山")
    assert result.returncode == 0, result.stderr
    found = json.loads(result.stdout)
    assert found["total"] >= 1 and found["hits"][0]["highlights"]
    text = fangzhi(demo_dir, "search", "惠山")
    assert text.returncode == 0 and "results" in text.stdout and "【" in text.stdout


def test_bad_search_is_a_usage_error(demo_dir):
    result = fangzhi(demo_dir, "search", "date:明年")
    assert result.returncode == 2 and "is not a date" in result.stderr


def test_dictionary_words_then_index_rebuild(tmp_path, demo_dir):
    data = tmp_path / "data"
    words = tmp_path / "words.txt"
    words.write_text("# 档案员的词\n梁溪区图书馆 5 nt\n", encoding="utf-8")
    assert fangzhi(data, "dictionary", "add", "清名桥", "荣巷").returncode == 0
    assert fangzhi(data, "dictionary", "load", str(words)).returncode == 0
    listed = fangzhi(data, "dictionary", "list").stdout.splitlines()
    assert listed == ["清名桥", "荣巷", "梁溪区图书馆 5 nt"]
    again = fangzhi(data, "dictionary", "add", "荣巷")
    assert "added 0 word" in again.stdout
    rebuilt = fangzhi(demo_dir, "index", "rebuild")
    assert rebuilt.returncode == 0 and "rebuilt the search index from" in rebuilt.stdout
    assert json.loads(fangzhi(demo_dir, "search", "--json", "惠山").stdout)["total"] >= 1


def test_fixity_schedule_reports_a_bit_flip_a_truncation_and_a_missing_file(tmp_path):
    """The counts and the list agree: every injected failure is in both, and the report never
    says 0 failed while listing failures."""
    from ingest.pipeline import plan_job
    from ingest.sources import plan
    from storage.fixity import files_to_check
    from tests.helpers import build_on

    data, source = tmp_path / "data", tmp_path / "donation"
    source.mkdir()
    for n in range(4):
        (source / f"信{n}.txt").write_bytes(f"第{n}封信：惠山泉水。".encode() * 50)
    fz = build_on(data, inline=True)
    ctx = fz.ingest_context()
    job = plan_job(ctx, str(source), plan(source))
    fz.runner.run([(job, e.n) for e in ctx.jobs.entries(job)])
    stored = {}
    for object_id, path, _ in files_to_check(fz.objects):
        if path.endswith(".txt") and "/originals/" in path:
            stored[object_id] = Path(fz.objects.storage.local_path(fz.objects._key(object_path(object_id), path)))
    assert len(stored) == 4
    flipped, cut, lost, _ = [stored[k] for k in sorted(stored)]
    data_ = bytearray(flipped.read_bytes())
    data_[7] ^= 0x01
    flipped.write_bytes(bytes(data_))
    cut.write_bytes(cut.read_bytes()[:20])
    lost.unlink()
    out = fangzhi(data, "fixity", "--schedule", "--cycle-days", "1")
    assert out.returncode == 1, out.stdout + out.stderr
    lines = out.stderr.splitlines()
    failed = [line for line in lines if line.startswith("FIXITY FAILURE (failed)")]
    missing = [line for line in lines if line.startswith("FIXITY FAILURE (missing)")]
    assert len(failed) == 2 and len(missing) == 1
    assert any(flipped.name in line and "sha256 is" in line for line in failed)
    assert any(cut.name in line for line in failed) and lost.name in missing[0]
    summary = out.stdout.strip().splitlines()[-1]
    counts = re.fullmatch(r"(\d+) files checked in 4 of 4 objects: (\d+) passed, 2 failed, 1 missing \(3 problems\)",
                          summary)
    assert counts and int(counts.group(1)) - int(counts.group(2)) == 3, summary
    assert "0 failed" not in out.stdout + out.stderr
    events = fangzhi(data, "events", sorted(stored)[1].split(":", 1)[1])
    assert events.returncode == 0 and "fixity check" in events.stdout and "failure" in events.stdout
    assert "format identification" in events.stdout and "x-fmt/111" in events.stdout
    formats = fangzhi(data, "formats")
    assert formats.returncode == 0 and re.search(r"\s4\s+x-fmt/111\s+Plain Text File", formats.stdout), formats.stdout
    assert "4 originals in 1 PRONOM formats, 0 unidentified" in formats.stdout


def test_mentions_command_looks_at_every_item(demo_dir):
    done = fangzhi(demo_dir, "mentions")
    assert done.returncode == 0, done.stderr
    assert re.search(r"looked for mentions in [1-9]\d* items", done.stdout)
def test_exhibition_export_import_and_list(tmp_path):
    """An exhibition exported and imported again is its next version; a bad file is refused naming
    the file and field in English; the list shows status and versions."""
    from tests.iiif import builders
    from tests.helpers import build_on

    fz = build_on(tmp_path)
    builders.photo(fz.archive, "photo1")
    data = {"id": "canal", "title": {"zh": "运河", "en": "Canal"},
            "sections": [{"heading": "码头", "blocks": [{"kind": "item", "item": "photo1"}]}]}
    (tmp_path / "canal.json").write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    out = fangzhi(tmp_path, "exhibition", "import", str(tmp_path / "canal.json"), "--publish", "--why", "开展")
    assert out.returncode == 0 and "version 2 published" in out.stdout, out.stderr
    exported = fangzhi(tmp_path, "exhibition", "export", "canal", "-o", str(tmp_path / "out.json"))
    assert exported.returncode == 0, exported.stderr
    assert json.loads((tmp_path / "out.json").read_text())["sections"][0]["blocks"][0]["item"] == "photo1"
    again = fangzhi(tmp_path, "exhibition", "import", str(tmp_path / "out.json"))
    assert again.returncode == 0 and "version 3 (draft)" in again.stdout, again.stderr
    assert "canal\tdraft\tv3\tv2\t运河" in fangzhi(tmp_path, "exhibition", "list").stdout
    data["sections"][0]["blocks"][0] = {"kind": "region", "item": "photo1", "region": "1,2"}
    (tmp_path / "bad.json").write_text(json.dumps(data), encoding="utf-8")
    bad = fangzhi(tmp_path, "exhibition", "import", str(tmp_path / "bad.json"))
    assert bad.returncode == 1 and "bad.json: sections[0].blocks[0].region: Draw a box on the image" in bad.stderr


def test_database_copy_moves_every_table_from_sqlite_into_an_empty_postgresql(tmp_path, postgres_url):
    """`fangzhi database copy --to URL`: a library moving to production gets every row (catalog,
    accounts, …) in PostgreSQL; new ids go on after the copied ones; a database with rows is refused."""
    from repository.access import SYSTEM
    from repository.accounts import Account
    from storage.accounts import AccountStore
    from storage.catalog import Catalog
    from storage.database import Database, metadata
    from tests.helpers import build_on, photo_item

    fz = build_on(tmp_path)
    fz.archive.create_collection({"id": "photos", "title": "照片"}, user=SYSTEM)
    fz.archive.create_item(photo_item(collections=["photos"], about=["person-1"]), user=SYSTEM)
    fz.accounts.add_user("wang", "correct horse battery", ["archivist"], by=SYSTEM)
    fz.accounts.create_token("harvester", ["read"], by=SYSTEM)
    dumps = {t.name: _rows(fz.database, t) for t in metadata.sorted_tables}
    out = fangzhi(tmp_path, "database", "copy", "--to", postgres_url)
    assert out.returncode == 0, out.stderr
    assert f"copied {sum(map(len, dumps.values()))} rows of {len(dumps)} tables" in out.stdout
    target = Database(postgres_url)
    assert {t.name: _rows(target, t) for t in metadata.sorted_tables} == dumps
    assert Catalog(target).dump() == fz.catalog.dump()
    li = AccountStore(target).save(Account(None, "li", "li", frozenset(), "x"))
    assert li.id == fz.accounts.store.get("wang").id + 1  # the sequence follows the copied ids
    again = fangzhi(tmp_path, "database", "copy", "--to", postgres_url)
    assert again.returncode == 1 and "is not empty (rows in accounts" in again.stderr and "--to" in again.stderr
    bad = fangzhi(tmp_path, "database", "copy", "--to", "mysql://x@h/db")
    assert bad.returncode == 2 and "--to" in bad.stderr and "DATABASE_URL" in bad.stderr
    target.dispose()


def _rows(database, table):
    from sqlalchemy import select

    with database.connect() as conn:
        return sorted((tuple(r) for r in conn.execute(select(table))), key=repr)


def test_rebuild_on_postgresql_brings_every_ingested_item_back(tmp_path, postgres_url, monkeypatch):
    """`fangzhi rebuild` with DATABASE_URL on PostgreSQL: ingested items, the catalog table wiped,
    every item back from storage alone."""
    from click.testing import CliRunner

    from fangzhi import bootstrap
    from fangzhi.settings import load
    from ingest.pipeline import plan_job
    from ingest.sources import plan
    from repository.access import SYSTEM
    from search.tantivy_index import TantivyIndex
    from tests.ingest import fixtures
    from web.cli import main

    environ = {"FANGZHI_DATA_DIR": str(tmp_path / "data"), "FANGZHI_DATABASE_URL": postgres_url}
    fz = bootstrap.build(load(environ=environ), index=TantivyIndex(None), inline=True)
    assert fz.database.dialect == "postgresql" and not (tmp_path / "data" / "fangzhi.sqlite3").exists()
    source = tmp_path / "box"
    source.mkdir()
    for i in range(3):
        fixtures.jpeg(source / f"{i}.jpg", seed=i + 1)
    ctx = fz.ingest_context()
    job = plan_job(ctx, str(source), plan(source), options={})
    fz.runner.run([(job, e.n) for e in ctx.jobs.entries(job, ("pending",))])
    ingested = {i.id: i.to_dict() for i in fz.archive.list_items(user=SYSTEM, limit=100)[0]}
    assert len(ingested) == 3
    before = fz.catalog.dump()
    fz.catalog.clear()
    assert fz.archive.list_items(user=SYSTEM)[1] == 0
    for name, value in environ.items():
        monkeypatch.setenv(name, value)
    out = CliRunner().invoke(main, ["rebuild"])
    assert out.exit_code == 0, out.output
    assert "rebuilt the catalog from 3 objects" in out.output
    assert {i.id: i.to_dict() for i in fz.archive.list_items(user=SYSTEM, limit=100)[0]} == ingested
    assert fz.catalog.dump() == before
    fz.database.dispose()
