"""Repository services over a real local OCFL root (validated with ocfl-py) and SQLite catalog."""
import hashlib

import pytest

from repository.access import ANONYMOUS, User
from repository.errors import Conflict, Gone, NotFound, PermissionDenied, ValidationError
from repository.services import NewFile
from tests.helpers import FailingStream, assert_ocfl_valid, photo_item
from tests.repository.conftest import ADMIN, ARCHIVIST

ROOT = lambda archive: archive.storage.root / "ocfl"  # noqa: E731


def new_photo(archive, **fields):
    return archive.create_item(photo_item(**fields), [NewFile("惠山.jpg", b"jpeg bytes", "image/jpeg", 1)],
                               user=ARCHIVIST, why="donation 2026-11")


def test_create_stores_original_with_checksum(archive):
    record = new_photo(archive)
    item = record.value
    assert record.version == 1 and item.id.startswith("fz")
    f = item.files[0]
    assert (f.path, f.size, f.sha256) == ("originals/惠山.jpg", 10, hashlib.sha256(b"jpeg bytes").hexdigest())
    found = archive.open_file(item.id, f.id, user=ANONYMOUS)
    with found.open() as stream:
        assert stream.read() == b"jpeg bytes"
    assert_ocfl_valid(ROOT(archive))


def test_version_carries_who_and_why(archive):
    record = new_photo(archive)
    (v1,) = archive.history(record.value.id, user=ARCHIVIST)
    assert (v1.user, v1.message) == ("wang", "create: donation 2026-11")
    (public,) = archive.history(record.value.id, user=ANONYMOUS)  # who and why are for staff
    assert (public.number, public.created, public.user, public.message) == (1, v1.created, "", "")


def test_update_makes_a_new_version_and_keeps_the_old(archive):
    item_id = new_photo(archive).value.id
    archive.update_item(item_id, {"title": {"zh": "惠山古镇祠堂"}}, expected_version=1, user=ARCHIVIST, why="fix title")
    assert archive.get_item(item_id, user=ANONYMOUS).value.title == {"zh": "惠山古镇祠堂"}
    assert archive.get_item(item_id, user=ANONYMOUS, version=1).value.title["zh"] == "惠山古镇"
    assert [v.number for v in archive.history(item_id, user=ANONYMOUS)] == [1, 2]
    with pytest.raises(NotFound, match="no version 3"):
        archive.get_item(item_id, user=ANONYMOUS, version=3)
    assert_ocfl_valid(ROOT(archive))


def test_stale_update_is_a_conflict_and_writes_nothing(archive):
    item_id = new_photo(archive).value.id
    archive.update_item(item_id, {"subjects": ["祠堂"]}, expected_version=1, user=ARCHIVIST)
    with pytest.raises(Conflict, match="version 2.*version 1"):
        archive.update_item(item_id, {"subjects": ["古镇"]}, expected_version=1, user=ARCHIVIST)
    record = archive.get_item(item_id, user=ANONYMOUS)
    assert (record.version, record.value.subjects) == (2, ["祠堂"])


def test_invalid_update_changes_nothing(archive):
    item_id = new_photo(archive).value.id
    with pytest.raises(ValidationError, match="date.edtf"):
        archive.update_item(item_id, {"date": {"edtf": "民国"}}, expected_version=1, user=ARCHIVIST)
    with pytest.raises(ValidationError, match="id: cannot be changed"):
        archive.update_item(item_id, {"id": "other"}, expected_version=1, user=ARCHIVIST)
    assert archive.get_item(item_id, user=ANONYMOUS).version == 1
    assert_ocfl_valid(ROOT(archive))


def test_failed_upload_leaves_previous_version_intact(archive):
    item_id = new_photo(archive).value.id
    before = sorted(archive.storage.list("ocfl/"))
    with pytest.raises(Exception, match="connection lost"):
        archive.update_item(item_id, {}, expected_version=1, user=ARCHIVIST,
                            add_files=[NewFile("big.tif", FailingStream(b"x" * 300_000), "image/tiff")])
    assert sorted(archive.storage.list("ocfl/")) == before
    assert archive.get_item(item_id, user=ANONYMOUS).version == 1
    assert_ocfl_valid(ROOT(archive))
    # and the work can be done again
    archive.update_item(item_id, {}, expected_version=1, user=ARCHIVIST, add_files=[NewFile("big.tif", b"tiff")])
    assert_ocfl_valid(ROOT(archive))


def test_failed_create_leaves_nothing(archive):
    with pytest.raises(Exception, match="connection lost"):
        archive.create_item(photo_item(id="broken"), [NewFile("a.jpg", FailingStream(b"abc"))], user=ARCHIVIST)
    with pytest.raises(NotFound):
        archive.get_item("broken", user=ADMIN)
    assert_ocfl_valid(ROOT(archive))
    assert archive.create_item(photo_item(id="broken"), [NewFile("a.jpg", b"abc")], user=ARCHIVIST).version == 1


def test_add_remove_and_edit_files(archive):
    item_id = new_photo(archive).value.id
    r = archive.update_item(item_id, {}, expected_version=1, user=ARCHIVIST,
                            add_files=[NewFile("p2.jpg", b"page two", "image/jpeg", 2)])
    assert [f.id for f in r.value.originals] == ["f1", "f2"]
    r = archive.update_item(item_id, {"files": [{"id": "f2", "access": "staff", "label": {"zh": "背面"}}]},
                            expected_version=2, user=ARCHIVIST)
    assert r.value.file("f2").access == "staff"
    with pytest.raises(PermissionDenied):
        archive.open_file(item_id, "f2", user=ANONYMOUS)
    assert [f.id for f in archive.visible_files(r.value, user=ANONYMOUS)] == ["f1"]
    with pytest.raises(ValidationError, match="files\\[0\\].sha256: cannot be changed"):
        archive.update_item(item_id, {"files": [{"id": "f1", "sha256": "0" * 64}]}, expected_version=3, user=ARCHIVIST)
    r = archive.update_item(item_id, {}, expected_version=3, user=ARCHIVIST, remove_files=["f1"])
    assert [f.id for f in r.value.files] == ["f2"]
    assert archive.get_item(item_id, user=ADMIN, version=3).value.file("f1")  # still in the old version
    with pytest.raises(NotFound, match="has no file nope"):
        archive.update_item(item_id, {}, expected_version=4, user=ARCHIVIST, remove_files=["nope"])
    assert_ocfl_valid(ROOT(archive))


def test_same_bytes_are_stored_once(archive):
    r = archive.create_item(photo_item(), [NewFile("a.jpg", b"same"), NewFile("b.jpg", b"same")], user=ARCHIVIST)
    inventory = archive.objects.inventory(f"item:{r.value.id}")
    assert len(inventory["manifest"]) == 3  # the two identical files once, metadata.json, events/v1.json
    assert_ocfl_valid(ROOT(archive))


@pytest.mark.parametrize("name", ["../etc/passwd", "..", "a\x00b"])
def test_unsafe_file_names(archive, name):
    if name == "../etc/passwd":  # folders are dropped: only the name is kept
        r = archive.create_item(photo_item(), [NewFile(name, b"x")], user=ARCHIVIST)
        assert r.value.files[0].path == "originals/passwd"
    else:
        with pytest.raises(ValidationError, match="not a usable file name"):
            archive.create_item(photo_item(), [NewFile(name, b"x")], user=ARCHIVIST)


def test_withdraw_is_a_tombstone_version(archive):
    item_id = new_photo(archive).value.id
    with pytest.raises(ValidationError, match="reason"):
        archive.withdraw_item(item_id, user=ARCHIVIST, reason=" ")
    archive.withdraw_item(item_id, user=ARCHIVIST, reason="捐赠人要求撤回")
    with pytest.raises(Gone) as gone:
        archive.get_item(item_id, user=ANONYMOUS)
    assert gone.value.item.withdrawn["reason"] == "捐赠人要求撤回"
    assert archive.get_item(item_id, user=ARCHIVIST).version == 2
    assert archive.get_item(item_id, user=ARCHIVIST, version=1).value.withdrawn is None
    assert archive.list_items(user=ANONYMOUS)[1] == 0
    archive.reinstate_item(item_id, user=ARCHIVIST, why="agreement renewed")
    assert archive.get_item(item_id, user=ANONYMOUS).version == 3


def test_purge_is_admin_only_and_recorded(archive):
    item_id = new_photo(archive).value.id
    with pytest.raises(PermissionDenied):
        archive.purge_item(item_id, user=ARCHIVIST, reason="mistake")
    archive.purge_item(item_id, user=ADMIN, reason="ingested by mistake")
    with pytest.raises(NotFound):
        archive.get_item(item_id, user=ADMIN)
    (purge,) = [e for e in archive.catalog.events() if e["action"] == "purge"]
    assert (purge["user"], purge["object_id"], purge["message"]) == ("admin", f"item:{item_id}", "ingested by mistake")
    (record,) = archive.purge_records()
    assert (record["object_id"], record["public"], [e["action"] for e in record["history"]]) == (
        f"item:{item_id}", True, ["create"])
    assert_ocfl_valid(ROOT(archive))


@pytest.mark.parametrize("user", [ANONYMOUS, User("r", frozenset({"researcher"})), User("c", frozenset({"curator"}))])
def test_only_managers_write(archive, user):
    with pytest.raises(PermissionDenied):
        archive.create_item(photo_item(), user=user)


def test_unknown_ids(archive):
    for bad in ("nope", "../x", "a/b"):
        with pytest.raises(NotFound):
            archive.get_item(bad, user=ADMIN)
    with pytest.raises(NotFound):
        archive.get_collection("nope", user=ADMIN)
    item_id = new_photo(archive).value.id
    with pytest.raises(NotFound, match="no file f9"):
        archive.open_file(item_id, "f9", user=ADMIN)


def test_duplicate_id_is_refused(archive):
    new_photo(archive, id="wx-001")
    with pytest.raises(Conflict, match="already exists"):
        new_photo(archive, id="wx-001")


def test_collections_nest_and_refuse_loops(archive):
    archive.create_collection({"id": "root", "title": "总馆藏"}, user=ARCHIVIST)
    archive.create_collection({"id": "photos", "title": "照片", "parent": "root"}, user=ARCHIVIST)
    with pytest.raises(ValidationError, match="no collection nowhere"):
        archive.create_collection({"id": "x", "title": "某", "parent": "nowhere"}, user=ARCHIVIST)
    with pytest.raises(ValidationError, match="loop"):
        archive.update_collection("root", {"parent": "photos"}, expected_version=1, user=ARCHIVIST)
    with pytest.raises(ValidationError, match="no collection ghost"):
        new_photo(archive, collections=["ghost"])
    new_photo(archive, collections=["photos"])
    assert [c.id for c in archive.list_collections(user=ANONYMOUS, parent=None)] == ["root"]
    assert [c.id for c in archive.list_collections(user=ANONYMOUS, parent="root")] == ["photos"]
    assert archive.list_items(user=ANONYMOUS, collection="photos")[1] == 1
    archive.update_collection("photos", {"visibility": "staff"}, expected_version=1, user=ARCHIVIST)
    with pytest.raises(NotFound):
        archive.get_collection("photos", user=ANONYMOUS)
    assert archive.list_collections(user=ANONYMOUS, parent="root") == []


@pytest.mark.parametrize("write", ["update", "create"])
def test_a_collection_written_meanwhile_is_a_conflict(archive, monkeypatch, write):
    """Another writer commits between the archive's version check and its write: the object store
    refuses, and the archive says Conflict (409), as for items, not a storage failure (503)."""
    if write == "update":
        archive.create_collection({"id": "c", "title": "甲"}, user=ARCHIVIST)
    new_version = archive.objects.new_version

    def racing(oid, **kwargs):
        monkeypatch.setattr(archive.objects, "new_version", new_version)
        if write == "update":
            archive.update_collection("c", {"title": "乙"}, expected_version=1, user=ADMIN)
        else:
            archive.create_collection({"id": "c", "title": "乙"}, user=ADMIN)
        return new_version(oid, **kwargs)

    monkeypatch.setattr(archive.objects, "new_version", racing)
    with pytest.raises(Conflict, match="collection:c is at version"):
        if write == "update":
            archive.update_collection("c", {"title": "丙"}, expected_version=1, user=ARCHIVIST)
        else:
            archive.create_collection({"id": "c", "title": "丙"}, user=ARCHIVIST)
    assert archive.get_collection("c", user=ADMIN).value.title == {"zh": "乙"}


def test_rebuild_recreates_the_catalog_from_storage(archive, database_url, monkeypatch):
    from sqlalchemy import event

    from repository import services
    from storage.catalog import Catalog
    from storage.database import Database

    archive.create_collection({"id": "photos", "title": "照片"}, user=ARCHIVIST)
    ids = [new_photo(archive, collections=["photos"]).value.id for _ in range(3)]
    archive.update_item(ids[0], {"subjects": ["桥"]}, expected_version=1, user=ARCHIVIST, why="subjects")
    archive.withdraw_item(ids[1], user=ARCHIVIST, reason="duplicate")
    new_photo(archive, id="gone")
    archive.purge_item("gone", user=ADMIN, reason="test purge")
    before = archive.catalog.dump()
    archive.catalog = Catalog(Database(database_url))  # the archive's SQLite file, then a new PostgreSQL database
    archive.catalog.clear()
    assert archive.catalog.dump()["items"] == []
    commits = []
    event.listen(archive.catalog.db.engine, "commit", commits.append)
    monkeypatch.setattr(services, "REBUILD_BATCH", 3)
    assert archive.rebuild() == 4  # 1 collection + 3 items
    assert archive.catalog.dump() == before
    assert len(commits) <= 4  # clear, two batches, the purge record: not several per record
    archive.catalog.db.dispose()


def test_new_metadata_cannot_claim_files_or_a_tombstone(archive):
    fake = {"id": "f1", "path": "originals/x.jpg", "media_type": "image/jpeg", "size": 1, "sha256": "a" * 64}
    with pytest.raises(ValidationError, match="files: cannot be given in new metadata"):
        archive.create_item(photo_item(files=[fake]), user=ARCHIVIST)
    with pytest.raises(ValidationError, match="withdrawn: cannot be given"):
        archive.create_item(photo_item(withdrawn={"reason": "x"}), user=ARCHIVIST)


def test_visibility_changes_are_named_in_the_audit_trail(archive):
    item_id = new_photo(archive, visibility="staff").value.id
    archive.update_item(item_id, {"visibility": "public"}, expected_version=1, user=ARCHIVIST, why="cleared")
    archive.update_item(item_id, {"visibility": "alliance"}, expected_version=2, user=ARCHIVIST, why="donor asked")
    archive.update_item(item_id, {"subjects": ["桥"]}, expected_version=3, user=ARCHIVIST)
    actions = [(e["action"], e["message"]) for e in archive.catalog.events(f"item:{item_id}")]
    assert actions == [("create", "donation 2026-11"), ("publish", "cleared"), ("visibility", "donor asked"),
                       ("update", "")]


def test_past_versions_close_with_the_item_and_its_files(archive):
    from repository.access import ANONYMOUS, SYSTEM, User
    from repository.errors import NotFound, PermissionDenied
    from repository.services import NewFile

    record = archive.create_item({"id": "v1", "kind": "photo", "title": {"zh": "旧照"}},
                                 [NewFile("a.jpg", b"a", "image/jpeg", 1), NewFile("b.jpg", b"b", "image/jpeg", 2)],
                                 user=SYSTEM)
    assert archive.open_file("v1", "f1", user=ANONYMOUS, version=1).file.id == "f1"
    record = archive.update_item("v1", {"files": [{"id": "f1", "access": "staff"}]}, expected_version=record.version,
                                 user=SYSTEM, remove_files=["f2"])
    with pytest.raises(PermissionDenied):  # restricted now, so in the past too
        archive.open_file("v1", "f1", user=ANONYMOUS, version=1)
    with pytest.raises(PermissionDenied):  # removed since: managers only
        archive.open_file("v1", "f2", user=ANONYMOUS, version=1)
    assert archive.open_file("v1", "f2", user=User("a", frozenset({"archivist"})), version=1).file.id == "f2"
    archive.update_item("v1", {"visibility": "private"}, expected_version=record.version, user=SYSTEM)
    with pytest.raises(NotFound):
        archive.get_item("v1", user=ANONYMOUS, version=1)


def test_file_ids_are_never_reused(archive):
    """A removed file's id is never given to another file (ids of every version count), so a past
    version's file is never taken for a later one; a past file is judged by what it is now."""
    from repository.access import ANONYMOUS, SYSTEM

    record = archive.create_item({"id": "ids", "kind": "photo", "title": {"zh": "编号"}},
                                 [NewFile("a.jpg", b"a", "image/jpeg", 1), NewFile("b.jpg", b"b", "image/jpeg", 2)],
                                 user=SYSTEM)
    record = archive.update_item("ids", {}, expected_version=record.version, user=SYSTEM, remove_files=["f2"])
    record = archive.update_item("ids", {}, expected_version=record.version, user=SYSTEM,
                                 add_files=[NewFile("c.jpg", b"c", "image/jpeg", 2)])
    assert [f.id for f in record.value.files] == ["f1", "f3"]
    with pytest.raises(PermissionDenied):  # b.jpg is gone: not mistaken for a later file
        archive.open_file("ids", "f2", user=ANONYMOUS, version=1)
    with pytest.raises(ValidationError, match="file id f2 is already used"):
        archive.update_item("ids", {}, expected_version=record.version, user=SYSTEM,
                            add_files=[NewFile("d.jpg", b"d", "image/jpeg", 3, id="f2")])
    # the same content under its id today: served for the past version as for the latest
    assert archive.open_file("ids", "f1", user=ANONYMOUS, version=1).public
