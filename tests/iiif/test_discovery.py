"""IIIF Change Discovery 1.0 (tests written from the spec's text: no validator exists)."""
import re
from datetime import date, timedelta

import pytest

from repository.access import SYSTEM
from tests.helpers import photo_item

CONTEXT = "http://iiif.io/api/discovery/1/context.json"
BASE = "http://localhost"


@pytest.fixture
def app(tmp_path):
    from web import create_app

    return create_app({"DATA_DIR": str(tmp_path / "data"), "SECRET_KEY": "t", "IIIF_DISCOVERY_PAGE_SIZE": 3})


@pytest.fixture
def archive(app):
    return app.extensions["fangzhi"].archive


def harvest(client) -> list[dict]:
    """Every activity, read the way §3.5 describes: from the collection's last page backwards."""
    collection = client.get("/iiif/discovery/changes").json
    assert list(collection)[0] == "@context" and collection["@context"] == CONTEXT  # §3.4.1
    assert collection["type"] == "OrderedCollection" and collection["id"] == f"{BASE}/iiif/discovery/changes"
    pages, url = [], collection["last"]["id"]
    while url:
        page = client.get(url.removeprefix(BASE)).json
        assert page["type"] == "OrderedCollectionPage" and page["partOf"] == {
            "id": collection["id"], "type": "OrderedCollection"}
        pages.insert(0, page)
        url = page.get("prev", {}).get("id")
    assert pages[0]["id"] == collection["first"]["id"] and "prev" not in pages[0] and "next" not in pages[-1]
    for earlier, later in zip(pages, pages[1:]):
        assert earlier["next"]["id"] == later["id"] and later["prev"]["id"] == earlier["id"]
        assert later["startIndex"] == earlier["startIndex"] + len(earlier["orderedItems"])
    found = [a for p in pages for a in p["orderedItems"]]
    assert collection["totalItems"] == len(found)
    assert [a["endTime"] for a in found] == sorted(a["endTime"] for a in found)  # §3.1 oldest first
    for activity in found:
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", activity["endTime"])  # §3.3 UTC xsd:dateTime
        assert activity["object"]["type"] == "Manifest"
    return found


def of(found, item_id):
    return [a["type"] for a in found if a["object"]["id"] == f"{BASE}/iiif/3/manifest/{item_id}"]


def test_public_items_are_created_then_updated(app, archive):
    record = archive.create_item(photo_item(id="p1"), user=SYSTEM)
    archive.update_item("p1", {"subjects": ["桥"]}, expected_version=record.version, user=SYSTEM)
    archive.create_item(photo_item(id="p2"), user=SYSTEM)
    found = harvest(app.test_client())
    assert of(found, "p1") == ["Create", "Update"] and of(found, "p2") == ["Create"]
    assert found[-1]["object"] == {"id": f"{BASE}/iiif/3/manifest/p2", "type": "Manifest"}  # newest last


def test_items_never_public_do_not_appear(app, archive):
    for visibility in ("alliance", "staff", "private"):
        archive.create_item(photo_item(id=visibility, visibility=visibility), user=SYSTEM)
    record = archive.create_item(photo_item(id="draft", visibility="staff"), user=SYSTEM)
    archive.update_item("draft", {"subjects": ["草稿"]}, expected_version=record.version, user=SYSTEM)
    archive.withdraw_item("draft", user=SYSTEM, reason="not needed")
    assert harvest(app.test_client()) == []


def test_leaving_public_view_is_a_delete_and_coming_back_a_create(app, archive):
    record = archive.create_item(photo_item(id="p1"), user=SYSTEM)
    record = archive.update_item("p1", {"visibility": "staff"}, expected_version=record.version, user=SYSTEM)
    record = archive.update_item("p1", {"subjects": ["修订"]}, expected_version=record.version, user=SYSTEM)
    archive.update_item("p1", {"visibility": "public"}, expected_version=record.version, user=SYSTEM)
    archive.withdraw_item("p1", user=SYSTEM, reason="duplicate")
    archive.reinstate_item("p1", user=SYSTEM)
    assert of(harvest(app.test_client()), "p1") == ["Create", "Delete", "Create", "Delete", "Create"]


def test_purged_public_items_are_deleted_even_after_a_rebuild(app, archive):
    archive.create_item(photo_item(id="public"), user=SYSTEM)
    archive.create_item(photo_item(id="hidden", visibility="private"), user=SYSTEM)
    archive.purge_item("public", user=SYSTEM, reason="donor asked")
    archive.purge_item("hidden", user=SYSTEM, reason="mistake")
    before = harvest(app.test_client())
    assert of(before, "public") == ["Delete"] and of(before, "hidden") == []
    archive.rebuild()
    assert harvest(app.test_client()) == before


def test_an_embargo_ending_is_a_create_at_that_date(app, archive):
    ends = date.today() + timedelta(days=3)
    archive.create_item(photo_item(id="later", visibility="embargoed", embargo_until=ends.isoformat()), user=SYSTEM)
    assert harvest(app.test_client()) == []
    archive.today = lambda: ends + timedelta(days=1)
    (activity,) = harvest(app.test_client())
    assert activity["type"] == "Create" and activity["endTime"] == f"{ends.isoformat()}T00:00:00Z"


def test_pages(app, archive):
    """§2.2/2.3: IIIF_DISCOVERY_PAGE_SIZE (3 here) activities a page; pages beyond the last are 404."""
    for n in range(7):
        archive.create_item(photo_item(id=f"p{n}"), user=SYSTEM)
    client = app.test_client()
    collection = client.get("/iiif/discovery/changes").json
    assert collection["totalItems"] == 7 and collection["last"]["id"].endswith("/changes/page/2")
    assert [len(client.get(f"/iiif/discovery/changes/page/{n}").json["orderedItems"]) for n in range(3)] == [3, 3, 1]
    assert client.get("/iiif/discovery/changes/page/3").status_code == 404
    assert client.get("/iiif/discovery/changes").headers["Access-Control-Allow-Origin"] == "*"
    assert len(harvest(client)) == 7


def test_the_same_for_everyone(app, archive):
    """Harvesters and staff see the same list: public items only."""
    from tests.web.auth_helpers import add_users, login

    archive.create_item(photo_item(id="pub"), user=SYSTEM)
    archive.create_item(photo_item(id="staff", visibility="staff"), user=SYSTEM)
    add_users(app, ["admin"])
    admin = app.test_client()
    login(admin, "admin")
    assert harvest(admin) == harvest(app.test_client())
