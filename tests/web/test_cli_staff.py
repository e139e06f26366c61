"""The command line records its work under a person: the operating-system user or `--as NAME`
(issue 16), and manages collections (`fangzhi collection …`)."""
import json
import os
import subprocess
import sys
from pathlib import Path

from repository.access import SYSTEM
from tests.helpers import build_on
from tests.ingest import fixtures

ROOT = Path(__file__).resolve().parents[2]


def fangzhi(data_dir, *args, user="os-archivist"):
    env = {**os.environ, "FANGZHI_DATA_DIR": str(data_dir), "LOGNAME": user, "USER": user}
    return subprocess.run([sys.executable, "-m", "web.cli", *args], capture_output=True, text=True, env=env,
                          timeout=300, cwd=ROOT)


def test_cli_work_is_recorded_under_the_os_user_or_as_name(tmp_path):
    data = tmp_path / "data"
    box = tmp_path / "box"
    box.mkdir()
    fixtures.jpeg(box / "a.jpg", seed=1, size=(96, 64))
    fixtures.jpeg(box / "b.jpg", seed=2, size=(96, 64))
    first = fangzhi(data, "ingest", str(box / "a.jpg").rsplit("/", 1)[0], "--workers", "1")
    assert first.returncode == 0, first.stderr
    other = tmp_path / "box2"
    other.mkdir()
    fixtures.jpeg(other / "c.jpg", seed=3, size=(96, 64))
    second = fangzhi(data, "--as", "王馆员", "ingest", str(other), "--workers", "1")
    assert second.returncode == 0, second.stderr
    assert fangzhi(data, "user", "add", "reader1", "--role", "researcher", "--password", "x" * 16).returncode == 0
    made = fangzhi(data, "--as", "王馆员", "collection", "add", "letters", "--title", "家书")
    assert made.returncode == 0, made.stderr
    f = build_on(data)
    users = {}
    for item in f.archive.list_items(user=SYSTEM, limit=10)[0]:
        users[item.title["zh"]] = {v.user for v in f.archive.history(item.id, user=SYSTEM)}
    assert users == {"a": {"os-archivist"}, "b": {"os-archivist"}, "c": {"王馆员"}}
    assert [j.user for j in f.jobs.jobs()] == ["王馆员", "os-archivist"]
    events = f.archive.catalog.events()
    assert {e["user"] for e in events if e["object_id"] == "collection:letters"} == {"王馆员"}
    assert {e["user"] for e in events} == {"os-archivist", "王馆员"}  # never "system"
    auth = f.accounts.store.events(limit=10)
    assert [e["user"] for e in auth if "reader1" in e["detail"]] == ["os-archivist"]
    assert fangzhi(data, "--as", " ", "ingest", str(other)).returncode != 0  # an empty name is refused


def test_collection_commands_create_nest_reorder_and_delete_only_when_empty(tmp_path):
    data = tmp_path / "data"
    for cid, title, extra in (("town", "城关镇", []), ("letters", "家书", ["--parent", "town"]),
                              ("photos", "照片", ["--parent", "town"]), ("maps", "地图", ["--parent", "town"])):
        r = fangzhi(data, "collection", "add", cid, "--title", title, *extra)
        assert r.returncode == 0, r.stderr
    assert fangzhi(data, "collection", "move", "maps", "--position", "0").returncode == 0
    listed = fangzhi(data, "collection", "list").stdout.splitlines()
    assert [line.split()[0] for line in listed] == ["town", "maps", "letters", "photos"]
    assert listed[1].startswith("  maps  地图")
    # a loop is refused, and says so
    loop = fangzhi(data, "collection", "move", "town", "--parent", "letters")
    assert loop.returncode == 1 and "loop" in loop.stderr
    assert fangzhi(data, "collection", "edit", "letters", "--title-en", "Letters").returncode == 0
    f = build_on(data)
    letters = f.archive.get_collection("letters", user=SYSTEM).value
    assert letters.title == {"zh": "家书", "en": "Letters"} and letters.parent == "town"
    f.archive.create_item({"kind": "photo", "title": "信", "collections": ["letters"], "visibility": "private"},
                          user=SYSTEM)
    for cid, why in (("letters", "1 items"), ("town", "3 sub-collections")):
        r = fangzhi(data, "collection", "delete", cid)
        assert r.returncode == 1 and "not empty" in r.stderr and why in r.stderr, r.stderr
    gone = fangzhi(data, "collection", "delete", "maps", "--why", "duplicate")
    assert gone.returncode == 0, gone.stderr
    f = build_on(data)
    assert [c.id for c in f.archive.list_collections(user=SYSTEM, parent="town")] == ["letters", "photos"]
    assert any(e["action"] == "delete" and e["message"] == "duplicate" for e in f.archive.catalog.events())
    f.archive.rebuild()  # the deletion is still in the audit trail after a rebuild
    assert any(e["action"] == "delete" and e["object_id"] == "collection:maps" for e in f.archive.catalog.events())
