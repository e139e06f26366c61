"""The OCFL object layer, validated by ocfl-py, including interrupted writes: on local disk and
in memory."""
import hashlib
import json
import tempfile
from pathlib import Path

import pytest

from storage import LocalStorage, MemoryStorage
from storage.ocfl import ObjectNotFound, OcflError, OcflRoot, VersionConflict, object_path
from tests.helpers import FailingStream, assert_ocfl_valid


@pytest.fixture(params=["local", "memory"])
def root(request, tmp_path):
    r = OcflRoot(LocalStorage(tmp_path) if request.param == "local" else MemoryStorage())
    r.init()
    return r


def assert_valid(root):
    """ocfl-py's verdict on the storage root: the local folder, or the keys in memory written out."""
    if isinstance(root.storage, LocalStorage):
        return assert_ocfl_valid(root.storage.root / "ocfl")
    with tempfile.TemporaryDirectory() as folder:
        for key in root.storage.list("ocfl/"):
            (Path(folder) / key).parent.mkdir(parents=True, exist_ok=True)
            (Path(folder) / key).write_bytes(root.storage.read_range(key, 0, root.storage.size(key)))
        assert_ocfl_valid(Path(folder) / "ocfl")


def test_object_path_follows_extension_0003():
    # Example from the extension's specification (sha256, tupleSize 3, numberOfTuples 3).
    assert object_path("object-01") == "3c0/ff4/240/object-01"
    assert object_path("..hor/rib:le-$id") == "487/326/d8c/%2e%2ehor%2frib%3ale-%24id"
    long_id = "a" * 120
    assert object_path(long_id).endswith("a" * 100 + "-" + hashlib.sha256(long_id.encode()).hexdigest())


def test_versions_state_and_validation(root):
    root.commit("item:a", {"metadata.json": b"{}", "originals/信札.jpg": b"letter"}, user="wang", message="create",
                expected_head=0)
    inv = root.commit("item:a", {"metadata.json": b'{"v": 2}', "originals/信札.jpg": None}, user="li",
                      message="update: remove scan", expected_head=1)
    assert inv["head"] == "v2"
    assert inv["fixity"]["sha256"][hashlib.sha256(b"letter").hexdigest()] == ["v1/content/originals/信札.jpg"]
    with root.open("item:a", "originals/信札.jpg", version=1) as f:
        assert f.read() == b"letter"
    with pytest.raises(ObjectNotFound, match="no file originals/信札.jpg"):
        root.open("item:a", "originals/信札.jpg")
    assert [(v.number, v.user, v.message) for v in root.versions("item:a")] == [
        (1, "wang", "create"), (2, "li", "update: remove scan")]
    assert list(root.list_objects()) == ["item:a"]
    assert_valid(root)


def test_conflict_writes_nothing(root):
    root.commit("item:a", {"m": b"1"}, user="u", message="m", expected_head=0)
    with pytest.raises(VersionConflict, match="at version 1.*from version 0"):
        root.commit("item:a", {"m": b"2"}, user="u", message="m", expected_head=0)
    assert root.inventory("item:a")["head"] == "v1"


@pytest.mark.parametrize("path", ["../x", "/abs", "a//b", "a/./b", ""])
def test_logical_paths_are_checked(root, path):
    with pytest.raises(OcflError, match="invalid file path"):
        root.commit("item:a", {path: b"x"}, user="u", message="m")
    assert not root.exists("item:a")


def test_failure_midway_removes_partial_version(root):
    root.commit("item:a", {"m": b"1"}, user="u", message="m", expected_head=0)
    before = sorted(root.storage.list("ocfl/"))
    with pytest.raises(Exception, match="connection lost"):
        root.commit("item:a", {"ok.bin": b"fine", "bad.bin": FailingStream(b"x" * 1000)}, user="u", message="m")
    assert sorted(root.storage.list("ocfl/")) == before
    assert_valid(root)


def test_crash_before_root_inventory_is_cleaned_up_by_next_write(root):
    """A crash after v2's files but before the root inventory: v1 stays head; v2 leftovers go."""
    root.commit("item:a", {"m": b"1"}, user="u", message="m")
    base = "ocfl/" + object_path("item:a")
    root.storage.put(f"{base}/v2/content/m", b"half written")
    assert root.inventory("item:a")["head"] == "v1"
    root.commit("item:a", {"m": b"2"}, user="u", message="m", expected_head=1)
    with root.open("item:a", "m") as f:
        assert f.read() == b"2"
    assert_valid(root)


def test_crash_between_inventory_and_sidecar_is_recovered(root):
    root.commit("item:a", {"m": b"1"}, user="u", message="m")
    root.commit("item:a", {"m": b"2"}, user="u", message="m")
    base = "ocfl/" + object_path("item:a")
    # the root inventory was rewritten but its sidecar is stale/torn
    root.storage.put(f"{base}/inventory.json.sha512", b"0000  inventory.json\n")
    assert root.inventory("item:a")["head"] == "v2"
    assert_valid(root)
    # a torn root inventory: the newest complete version wins
    root.storage.put(f"{base}/inventory.json", b'{"id": "item:a", "head": "v')
    assert root.inventory("item:a")["head"] == "v2"
    assert_valid(root)


def test_a_kept_inventory_is_given_while_its_stored_bytes_are_unchanged(root):
    """Reading an unchanged object's inventory again parses nothing (the same dict is given);
    a commit through another root on the same storage (another process) is seen at once."""
    root.commit("item:a", {"m": b"1"}, user="u", message="m")
    first = root.inventory("item:a")
    assert root.inventory("item:a") is first
    other = OcflRoot(root.storage)
    other.commit("item:a", {"m": b"2"}, user="u", message="m", expected_head=1)
    assert root.inventory("item:a")["head"] == "v2" and first["head"] == "v1"  # and the kept one is unchanged
    other.purge("item:a")
    with pytest.raises(ObjectNotFound):
        root.inventory("item:a")


def test_a_kept_inventory_is_not_given_for_a_torn_write(root):
    """A crash after the inventory was read and kept: a stale sidecar or a torn inventory is
    recovered as if nothing had been kept."""
    root.commit("item:a", {"m": b"1"}, user="u", message="m")
    root.commit("item:a", {"m": b"2"}, user="u", message="m")
    base = "ocfl/" + object_path("item:a")
    assert root.inventory("item:a")["head"] == "v2"
    root.storage.put(f"{base}/inventory.json", root.storage.read_range(f"{base}/v1/inventory.json", 0, 1 << 20))
    assert root.inventory("item:a")["head"] == "v2"  # v1's inventory with v2's sidecar: v2 is reinstated
    assert_valid(root)
    assert root.inventory("item:a")["head"] == "v2"
    root.storage.put(f"{base}/inventory.json.sha512", b"0000  inventory.json\n")
    assert root.inventory("item:a")["head"] == "v2"
    assert_valid(root)


def test_unrecoverable_object_says_so(root):
    root.commit("item:a", {"m": b"1"}, user="u", message="m")
    base = "ocfl/" + object_path("item:a")
    root.storage.put(f"{base}/inventory.json", b"garbage")
    root.storage.put(f"{base}/v1/inventory.json", b"garbage")
    with pytest.raises(OcflError, match="item:a has no valid inventory"):
        root.inventory("item:a")


def test_purge(root):
    root.commit("item:a", {"m": b"1"}, user="u", message="m")
    root.commit("item:b", {"m": b"1"}, user="u", message="m")
    root.purge("item:a")
    assert not root.exists("item:a") and list(root.list_objects()) == ["item:b"]
    with pytest.raises(ObjectNotFound):
        root.purge("item:a")
    assert_valid(root)


def test_inventory_is_well_formed_json(root):
    root.commit("item:a", {"m": b"1"}, user="u", message="m")
    base = "ocfl/" + object_path("item:a")
    with root.storage.open(f"{base}/inventory.json") as f, root.storage.open(f"{base}/inventory.json.sha512") as g:
        raw, sidecar = f.read(), g.read().decode()
    assert sidecar == f"{hashlib.sha512(raw).hexdigest()}  inventory.json\n"
    inv = json.loads(raw)
    assert inv["type"] == "https://ocfl.io/1.1/spec/#inventory" and inv["digestAlgorithm"] == "sha512"
    assert inv["versions"]["v1"]["user"] == {"name": "u", "address": "urn:fangzhi:user:u"}
