import pytest

from storage import LocalStorage
from storage.fixity import audit
from storage.ocfl import OcflRoot, object_path


@pytest.fixture
def root(tmp_path):
    r = OcflRoot(LocalStorage(tmp_path))
    r.init()
    r.commit("item:a", {"a.jpg": b"aaaa", "b.jpg": b"bbbb"}, user="u", message="m")
    r.commit("item:b", {"c.jpg": b"cccc"}, user="u", message="m")
    return r


@pytest.mark.parametrize("digest", ["sha256", "sha512"])
def test_clean_archive_passes(root, digest):
    sizes = []
    assert audit(root, digest=digest, progress=sizes.append) == []
    assert sorted(sizes) == [4, 4, 4]


@pytest.mark.parametrize("digest", ["sha256", "sha512"])
def test_every_mismatch_and_missing_file_is_reported(root, digest):
    base = root.storage.root / "ocfl"
    (base / object_path("item:a") / "v1/content/a.jpg").write_bytes(b"AAAA")  # bit rot
    (base / object_path("item:b") / "v1/content/c.jpg").unlink()  # lost file
    problems = {(p.object_id, p.path): p.problem for p in audit(root, digest=digest)}
    assert set(problems) == {("item:a", "v1/content/a.jpg"), ("item:b", "v1/content/c.jpg")}
    assert f"{digest} is" in problems["item:a", "v1/content/a.jpg"]
    assert "missing" in problems["item:b", "v1/content/c.jpg"]


# -- scheduled checks and honest reports --------------------------------------------------------

from datetime import datetime, timedelta, timezone  # noqa: E402

import json  # noqa: E402

from repository import premis  # noqa: E402
from storage import fixity  # noqa: E402

DAY0 = datetime(2026, 1, 1, 2, 0, tzinfo=timezone.utc)


def many(storage, count):
    r = OcflRoot(storage)
    r.init()
    for n in range(count):
        r.commit(f"item:o{n:02d}", {f"f{n}.bin": bytes([n]) * 100}, user="u", message="m")
    return r


def test_a_nightly_schedule_checks_every_object_within_the_cycle(tmp_path):
    r = many(LocalStorage(tmp_path), 10)
    seen = []
    for day in range(5):  # cycle of 5 days: 2 objects a night, least recently checked first
        report = fixity.scheduled(r, cycle_days=5, now=lambda day=day: DAY0 + timedelta(days=day))
        assert report.objects == 2 and report.checked == 2 and report.problems == []
        seen.append(sorted(fixity._state(r.storage).items(), key=lambda kv: kv[1])[-2:])
    assert {o for night in seen for o, _ in night} == {f"item:o{n:02d}" for n in range(10)}
    again = fixity.due(r, cycle_days=5, now=DAY0 + timedelta(days=5))
    assert again == [o for o, _ in seen[0]]  # the first night's objects come round again
    # nights were missed: every object not checked within the cycle is checked at once
    assert len(fixity.scheduled(r, cycle_days=5, now=lambda: DAY0 + timedelta(days=30)).problems) == 0
    assert fixity._state(r.storage) and all(at.startswith("2026-01-31") for at in fixity._state(r.storage).values())
    assert len(fixity.runs(r.storage, limit=100)) == 6


def damage(r, storage):
    """A bit flip, a truncation and a deletion in three objects' stored files (any Storage)."""
    def key(oid, name):
        return r._key(object_path(oid), f"v1/content/{name}")
    with storage.open(key("item:o00", "f0.bin")) as f:
        data = bytearray(f.read())
    data[10] ^= 0x04
    storage.put(key("item:o00", "f0.bin"), bytes(data))
    storage.put(key("item:o01", "f1.bin"), bytes([1]) * 60)
    storage.delete(key("item:o02", "f2.bin"))
    return {("item:o00", "v1/content/f0.bin"): "failed", ("item:o01", "v1/content/f1.bin"): "failed",
            ("item:o02", "v1/content/f2.bin"): "missing"}


@pytest.mark.parametrize("backend", ["local", "s3"])
def test_injected_damage_is_in_the_counts_and_in_the_list(backend, tmp_path, request):
    storage = LocalStorage(tmp_path) if backend == "local" else request.getfixturevalue("s3_storage")
    r = many(storage, 5)
    expected = damage(r, storage)
    report = fixity.scheduled(r, cycle_days=1, now=lambda: DAY0)  # a cycle of one day: everything is due
    assert {(p.object_id, p.path): p.kind for p in report.problems} == expected
    assert (report.checked, report.passed, report.failed, report.missing) == (5, 2, 2, 1)
    assert report.summary() == "5 files checked in 5 of 5 objects: 2 passed, 2 failed, 1 missing (3 problems)"
    saved = fixity.runs(storage)[0]  # the stored report says the same
    assert (saved["checked"], saved["passed"], saved["failed"], saved["missing"]) == (5, 2, 2, 1)
    assert {(p["object_id"], p["path"]): p["kind"] for p in saved["problems"]} == expected
    log = json.loads(storage.open(premis.fixity_log_key("item:o01")).read())
    assert log[-1]["type"] == "fixity check" and log[-1]["outcome"] == "failure"
    assert "v1/content/f1.bin" in log[-1]["outcome_detail"]
    assert json.loads(storage.open(premis.fixity_log_key("item:o03")).read())[-1]["outcome"] == "success"
