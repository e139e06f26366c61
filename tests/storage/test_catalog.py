"""The catalog on SQLite and on a real PostgreSQL: the same answers (orders, NULLs, counts, the
dashboard's JSON figures), writers of one item racing, and an old data folder's catalog.sqlite3
rebuilt from storage once."""
import sqlite3
from datetime import date

import pytest

from repository.access import ANONYMOUS, SYSTEM
from repository.model import Collection, Item
from storage.catalog import Catalog
from storage.database import Database
from tests.helpers import build_on, photo_item, together

TODAY = date(2026, 6, 1)
SHA = "ab" * 32


@pytest.fixture
def catalog(database_url):
    database = Database(database_url)
    yield Catalog(database)
    database.dispose()


def item(item_id, **fields):
    return Item.from_dict(photo_item(id=item_id, **fields))


def put(catalog, value, version=1, updated="2026-01-01T00:00:00Z"):
    catalog.put_item(value, version, "2026-01-01T00:00:00Z", updated)


def test_items_are_listed_under_the_access_policy_newest_first(catalog):
    put(catalog, item("a", collections=["c1", "c2"]), updated="2026-01-02T00:00:00Z")
    put(catalog, item("b", collections=["c2"], visibility="embargoed", embargo_until="2026-05-01"))
    put(catalog, item("c", visibility="embargoed", embargo_until="2026-07-01"))
    put(catalog, item("d", withdrawn={"at": "2026-01-01", "by": "admin", "reason": "duplicate"}))
    put(catalog, item("e", visibility="staff", collections=["c1"]))
    listed, total = catalog.list_items(user=ANONYMOUS, today=TODAY)
    assert [i.id for i in listed] == ["a", "b"] and total == 2  # the embargo lifted; not the withdrawn
    assert [i.id for i in catalog.list_items(user=SYSTEM, today=TODAY)[0]] == ["a", "b", "c", "d", "e"]
    assert catalog.list_items(user=SYSTEM, today=TODAY, collection="c1", limit=1, offset=1)[0][0].id == "e"
    assert [i.id for i in catalog.list_items(user=ANONYMOUS, today=TODAY, collection=["c1", "c2"])[0]] == ["a", "b"]
    states = {s["id"]: s for s in catalog.item_states()}
    assert states["a"]["collections"] == ["c1", "c2"] and states["c"]["collections"] == []
    assert states["d"]["withdrawn"] is True and states["a"]["withdrawn"] is False
    assert list(states) == ["a", "b", "c", "d", "e"]
    assert catalog.items_stamp() == (5, 5, "2026-01-02T00:00:00Z")


def test_a_new_version_replaces_the_row_and_its_collections_originals_and_links(catalog):
    first = item("a", collections=["c1"], about=["person-1"])
    first.files = []
    put(catalog, first)
    put(catalog, item("a", collections=["c2"], about=["person-2", "person-2"]), version=2)
    assert catalog.list_items(user=SYSTEM, today=TODAY, collection="c1") == ([], 0)
    assert catalog.linked_items(["person-1"], user=SYSTEM, today=TODAY) == ([], 0)
    linked, total = catalog.linked_items(["person-2"], user=SYSTEM, today=TODAY)
    assert total == 1 and linked[0][1] == ["about"]
    assert catalog.item_states()[0]["version"] == 2
    catalog.delete("item:a")
    assert catalog.item_states() == [] and catalog.dump()["item_collections"] == []  # cascaded


def test_linked_items_oldest_date_first_undated_last_each_with_how(catalog):
    person = {"id": "person-1", "name": {"zh": "荣德生"}}
    put(catalog, item("undated", creators=[person]))
    put(catalog, item("late", date={"edtf": "1936"}, about=["person-1"], contributors=[person]))
    put(catalog, item("early", date={"edtf": "1911"}, mentions=[{"id": "person-1", "name": "荣德生", "where": "x"}]))
    put(catalog, item("other", date={"edtf": "1900"}, about=["person-2"]))
    linked, total = catalog.linked_items(["person-1"], user=SYSTEM, today=TODAY, limit=2)
    assert total == 3 and [(i.id, how) for i, how in linked] == [("early", ["mention"]), ("late", ["about", "contributor"])]
    assert [i.id for i, _ in catalog.linked_items(["person-1"], user=SYSTEM, today=TODAY, offset=2)[0]] == ["undated"]


def test_events_oldest_first_pages_of_the_newest_and_null_versions_first(catalog):
    for at, version in (("2026-01-01", 1), ("2026-01-01", None), ("2026-01-02", 2), ("2026-01-03", None)):
        catalog.add_event({"at": at, "user": "wang", "action": "update", "object_id": "item:a", "version": version})
    catalog.add_event({"at": "2026-01-02", "user": "wang", "action": "update", "object_id": "item:a", "version": 2})
    catalog.add_event({"at": "2026-01-01", "user": "li", "action": "create", "object_id": "item:b", "version": 1,
                       "message": "新"})
    every = catalog.events()
    assert [(e["at"], e["object_id"], e["version"]) for e in every] == [
        ("2026-01-01", "item:a", None), ("2026-01-01", "item:a", 1), ("2026-01-01", "item:b", 1),
        ("2026-01-02", "item:a", 2), ("2026-01-03", "item:a", None)]  # the repeated event kept once
    assert list(every[2]) == ["at", "user", "action", "object_id", "version", "message"] and every[2]["message"] == "新"
    assert catalog.events(limit=2, offset=1) == every[2:4]
    assert [e["version"] for e in catalog.events("item:a", limit=3)] == [1, 2, None]
    assert catalog.count_events() == 5 and catalog.count_events("item:b") == 1


def test_originals_collections_figures_and_object_ids(catalog):
    put(catalog, item("b", date={"edtf": "1936"}, collections=["c1"], files=[
        {"id": "f1", "path": "originals/a.tif", "role": "original", "media_type": "image/tiff", "size": 300,
         "sha256": SHA, "tech": {"pronom": {"puid": "fmt/353", "format": "TIFF"}}},
        {"id": "f2", "path": "derivatives/a.jpg", "role": "derivative", "media_type": "image/jpeg", "size": 20,
         "sha256": "cd" * 32, "derived_from": "f1"}]))
    put(catalog, item("a", date={"edtf": "1931"}, collections=["c1"], files=[
        {"id": "f1", "path": "originals/b.tif", "role": "original", "media_type": "image/tiff", "size": 100,
         "sha256": SHA, "tech": {"pronom": {"puid": "fmt/353", "format": "TIFF"}}}]))
    put(catalog, item("s", visibility="staff"))
    catalog.put_collection(Collection.from_dict({"id": "c1", "title": {"zh": "照片"}}), 1, "x", "y")
    catalog.put_collection(Collection.from_dict({"id": "c1", "title": {"zh": "老照片"}}), 2, "x", "z")
    assert catalog.find_original(SHA) == ("a", "f1") and catalog.find_original("ef" * 32) is None
    assert [c.title for c in catalog.list_collections(user=ANONYMOUS, today=TODAY, parent=None)] == [{"zh": "老照片"}]
    assert catalog.list_collections(user=ANONYMOUS, today=TODAY, parent="c1") == []
    figures = catalog.figures(user=ANONYMOUS, today=TODAY)
    assert figures == {"items": 2, "kinds": [("photo", 2)], "decades": [(1930, 2)], "undated": 0,
                       "collections": [("c1", 2)], "roles": [("derivative", 1, 20), ("original", 2, 400)],
                       "formats": [("fmt/353", "TIFF", 2, 400)]}
    assert catalog.figures(user=SYSTEM, today=TODAY)["undated"] == 1
    assert sorted(catalog.object_ids()) == ["collection:c1", "item:a", "item:b", "item:s"]
    catalog.clear()
    assert all(rows == [] for rows in catalog.dump().values())


def test_writers_of_one_item_racing_leave_one_whole_version(catalog):
    """Two processes cataloguing the same item at once (an ingest worker's refresh and an edit):
    whichever writes last, the row and its children are one version's, never a mix or an error."""
    versions = [item("a", collections=[f"c{n}"], about=[f"person-{n}"]) for n in range(8)]

    def write(n):
        for _ in range(5):
            put(catalog, versions[n], version=n)

    assert together(write, range(8)) == []
    (state,) = catalog.item_states()
    n = state["version"]
    assert state["collections"] == [f"c{n}"]
    assert catalog.dump()["item_links"] == [("a", f"person-{n}", "about")]


OLD_CATALOG = """
CREATE TABLE items (id TEXT PRIMARY KEY, kind TEXT NOT NULL, title TEXT NOT NULL, visibility TEXT NOT NULL,
    embargo_until TEXT, withdrawn INTEGER NOT NULL, year_start INTEGER, year_end INTEGER, holding_library TEXT,
    version INTEGER NOT NULL, created TEXT NOT NULL, updated TEXT NOT NULL, record TEXT NOT NULL);
CREATE TABLE events (at TEXT NOT NULL, user TEXT NOT NULL, action TEXT NOT NULL, object_id TEXT NOT NULL,
    version INTEGER, message TEXT NOT NULL, UNIQUE (object_id, version, action, at));
"""


def test_an_old_data_folders_catalog_file_is_rebuilt_from_storage_once(tmp_path):
    """A data folder from before DATABASE_URL: its catalog.sqlite3 (derived) is not copied but made
    again from storage, every record there, and kept beside as catalog.sqlite3.adopted."""
    fz = build_on(tmp_path)
    fz.archive.create_collection({"id": "photos", "title": "照片"}, user=SYSTEM)
    ids = [fz.archive.create_item(photo_item(collections=["photos"]), user=SYSTEM).value.id for _ in range(3)]
    fz.authorities.create({"kind": "person", "name": "钱穆"}, user=SYSTEM)
    expected = fz.catalog.dump()
    fz.catalog.clear()  # as if the database were new beside the old files
    fz.authorities.table.clear()
    fz.database.dispose()
    with sqlite3.connect(tmp_path / "catalog.sqlite3") as old:
        old.executescript(OLD_CATALOG)
    sqlite3.connect(tmp_path / "authorities.sqlite3").close()  # the authority lookup's (derived too)
    again = build_on(tmp_path)
    assert again.catalog.dump() == expected
    assert sorted(i.id for i in again.archive.list_items(user=SYSTEM)[0]) == sorted(ids)
    assert len(again.authorities.find("钱穆")) == 1  # rebuilt by the catalog's rebuild, the file only renamed
    for name in ("catalog.sqlite3", "authorities.sqlite3"):
        assert not (tmp_path / name).exists() and (tmp_path / f"{name}.adopted").exists()
    again.catalog.clear()
    assert build_on(tmp_path).catalog.dump()["items"] == []  # once: the next start leaves the catalog as it is
