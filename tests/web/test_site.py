"""The public site and JSON API over HTTP (Flask test client)."""
from datetime import date, timedelta

import pytest

from repository.access import SYSTEM
from repository.services import NewFile
from tests.helpers import photo_item


@pytest.fixture
def items(archive):
    """One item per visibility, and a public item with a staff-only file."""
    archive.create_collection({"id": "photos", "title": {"zh": "老照片", "en": "Old photos"}}, user=SYSTEM)
    made = {}
    tomorrow = (date.today() + timedelta(days=1)).isoformat()
    for vis in ("public", "alliance", "staff", "embargoed", "private"):
        extra = {"embargo_until": tomorrow} if vis == "embargoed" else {}
        made[vis] = archive.create_item(
            photo_item(id=f"{vis}-1", visibility=vis, collections=["photos"], title={"zh": f"{vis}照片"}, **extra),
            [NewFile("scan.jpg", f"{vis} bytes".encode(), "image/jpeg", 1)], user=SYSTEM).value
    made["restricted-file"] = archive.create_item(
        photo_item(id="mixed-1", collections=["photos"]),
        [NewFile("front.jpg", b"front", "image/jpeg", 1), NewFile("release.pdf", b"consent", "application/pdf",
                                                                 access="staff")], user=SYSTEM).value
    return made


def test_health(client):
    assert client.get("/healthz").json == {"status": "ok"}


def test_home_and_collection_pages_list_only_public_items(client, items):
    for url in ("/", "/collections/photos"):
        html = client.get(url).get_data(as_text=True)
        assert "public照片" in html
        for hidden in ("alliance照片", "staff照片", "embargoed照片", "private照片"):
            assert hidden not in html, (url, hidden)
    assert "老照片" in client.get("/").get_data(as_text=True)


def test_item_page_shows_metadata_images_and_history(client, items):
    html = client.get("/items/public-1").get_data(as_text=True)
    assert "public照片" in html and "/items/public-1/files/f1" in html
    assert "无已知版权" not in html and "其他法律限制" in html  # rights label
    assert "v1" in html


@pytest.mark.parametrize("vis", ["alliance", "staff", "embargoed", "private"])
def test_restricted_items_are_not_found_by_any_route(client, items, vis):
    for url in (f"/items/{vis}-1", f"/api/items/{vis}-1", f"/items/{vis}-1/files/f1",
                f"/api/items/{vis}-1/versions"):
        response = client.get(url)
        assert response.status_code == 404, url
        assert vis + " bytes" not in response.get_data(as_text=True)
    listed = client.get("/api/items?per_page=100").json
    assert f"{vis}-1" not in {i["id"] for i in listed["items"]}
    assert listed["total"] == 2


def test_restricted_file_of_public_item(client, items):
    data = client.get("/api/items/mixed-1").json
    assert [f["id"] for f in data["files"]] == ["f1"] and data["restricted_files"] == 1
    assert client.get("/items/mixed-1/files/f2").status_code == 403
    assert "release.pdf" not in client.get("/items/mixed-1").get_data(as_text=True)


def test_file_download_with_checksum_etag_and_ranges(client, items):
    response = client.get("/items/public-1/files/f1")
    assert response.data == b"public bytes" and response.mimetype == "image/jpeg"
    assert response.headers["ETag"].strip('"') == items["public"].files[0].sha256
    assert response.headers["Cache-Control"] == "public, no-cache"
    assert client.get("/items/public-1/files/f1", headers={"Range": "bytes=0-5"}).data == b"public"
    assert client.get("/items/public-1/files/f1", headers={"If-None-Match": response.headers["ETag"]}).status_code == 304


def test_api_item_and_versions(client, archive, items):
    archive.update_item("public-1", {"subjects": ["运河"]}, expected_version=1, user=SYSTEM, why="subjects")
    data = client.get("/api/items/public-1").json
    assert data["version"] == 2 and data["subjects"] == ["运河"]
    assert data["files"][0]["url"].endswith("/items/public-1/files/f1")
    assert client.get("/api/items/public-1?version=1").json["subjects"] == []
    versions = client.get("/api/items/public-1/versions").json["versions"]
    assert [sorted(v) for v in versions] == [["created", "version"]] * 2  # who and why: for staff
    assert [v["version"] for v in versions] == [1, 2]


def test_api_lists_paginate(client, archive, items):
    for n in range(5):
        archive.create_item(photo_item(id=f"extra-{n}"), user=SYSTEM)
    first = client.get("/api/items?per_page=3").json
    assert first["total"] == 7 and len(first["items"]) == 3 and first["next"]
    second = client.get(first["next"]).json
    assert not {i["id"] for i in first["items"]} & {i["id"] for i in second["items"]}
    assert client.get("/api/items?page=x").status_code == 400
    assert client.get("/api/items?collection=photos").json["total"] == 2


def test_api_collections(client, items):
    cols = client.get("/api/collections").json["collections"]
    assert [c["id"] for c in cols] == ["photos"]
    data = client.get("/api/collections/photos").json
    assert data["title"]["en"] == "Old photos" and data["items"]["total"] == 2


def test_errors_are_json_in_the_api_and_pages_elsewhere(client, items):
    response = client.get("/api/items/nope")
    assert response.status_code == 404 and response.json == {"error": "NotFound", "message": "no item nope"}
    assert client.get("/api/collections/nope").json["message"] == "no collection nope"
    assert client.get("/api/items/public-1?version=9").json["message"] == "item public-1 has no version 9 (latest is 1)"
    page = client.get("/items/nope")
    assert page.status_code == 404 and "找不到" in page.get_data(as_text=True)
    assert client.get("/no/such/page").status_code == 404


def test_withdrawn_item_is_gone(client, archive, items):
    archive.withdraw_item("public-1", user=SYSTEM, reason="捐赠人要求")
    response = client.get("/items/public-1")
    assert response.status_code == 410 and "捐赠人要求" in response.get_data(as_text=True)
    assert client.get("/api/items/public-1").status_code == 410
    assert client.get("/items/public-1/files/f1").status_code == 410


def test_storage_failure_is_a_503_with_a_message(client, archive, items, monkeypatch):
    from storage.base import StorageError

    def broken(*args, **kwargs):
        raise StorageError("cannot read ocfl/x: disk offline")

    monkeypatch.setattr(archive.objects, "inventory", broken)
    response = client.get("/api/items/public-1")
    assert response.status_code == 503 and "disk offline" in response.json["message"]


def test_language_switch(client, items):
    assert "首页" in client.get("/").get_data(as_text=True)
    response = client.get("/lang/en?next=/collections/photos")
    assert response.status_code == 302 and response.headers["Location"].endswith("/collections/photos")
    html = client.get("/collections/photos").get_data(as_text=True)
    assert "Home" in html and "Old photos" in html and 'lang="en"' in html
    assert "Home" in client.get("/?lang=en").get_data(as_text=True)
    assert client.get("/lang/en?next=https://evil.example/").headers["Location"].endswith("/")
    assert client.get("/lang/fr").status_code == 404


def test_cards_use_the_thumbnail_derivative(client, archive):
    record = archive.create_item(photo_item(id="scan-1"), [NewFile("scan.tif", b"II*\x00tiff", "image/tiff", 1)],
                                 user=SYSTEM)
    archive.update_item("scan-1", {}, expected_version=record.version, user=SYSTEM, add_files=[
        NewFile("thumbnail.jpg", b"jpeg", "image/jpeg", role="derivative", derived_from="f1", purpose="thumbnail")])
    assert "/items/scan-1/files/f2" in client.get("/").get_data(as_text=True)


def test_vendor_libraries_are_served_from_npm_and_nothing_else(client):
    answer = client.get("/vendor/leaflet/leaflet.js")
    assert answer.status_code == 200 and b"Leaflet" in answer.data[:2000]
    assert client.get("/vendor/echarts/echarts.min.js").status_code == 200
    assert client.get("/vendor/openseadragon/openseadragon.min.js").status_code == 200
    for path in ("/vendor/leaflet/package.json", "/vendor/leaflet/../../package.json", "/vendor/mirador/mirador.min.js",
                 "/vendor/leaflet/%2e%2e/%2e%2e/setup.cfg"):
        assert client.get(path).status_code == 404, path


def test_item_page_shows_the_reign_year_beside_a_gregorian_date_without_display(client, archive):
    for item_id, date_ in (("d-1936", {"edtf": "1936-10-10"}), ("d-shown", {"edtf": "1893", "display": "光绪癸巳"}),
                           ("d-span", {"edtf": "1930/1937"})):
        archive.create_item(photo_item(id=item_id, date=date_), [], user=SYSTEM)
    assert '<span class="reign">（民国二十五年）</span>' in client.get("/items/d-1936").get_data(as_text=True)
    shown = client.get("/items/d-shown").get_data(as_text=True)
    assert "光绪癸巳" in shown and 'class="reign"' not in shown  # the item's own display form is enough
    assert 'class="reign"' not in client.get("/items/d-span").get_data(as_text=True)
