"""Fuzzing and hostile uploads over HTTP: no server errors, clear 4xx answers, nothing stored."""
import io
import json
import os
import struct
import tempfile
import zipfile
import zlib

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from repository.access import SYSTEM
from tests.helpers import photo_item
from tests.web.auth_helpers import add_users, csrf_token, login

FUZZ = settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck), database=None)
TEXT = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=300) | st.sampled_from(
    ["../../etc/passwd", "%2e%2e%2f", "惠山", "\"unbalanced", "a" * 5000, "fz' OR 1=1 --", "<script>", "\x00"])


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    from web import create_app

    app = create_app({"DATA_DIR": str(tmp_path_factory.mktemp("fuzz") / "data"), "SECRET_KEY": "t",
                      "MAX_UPLOAD_MB": 1, "LOGIN_RATE_LIMIT": "1000 per minute"})
    app.extensions["fangzhi"].create_item(photo_item(id="known"), user=SYSTEM)
    add_users(app, ["archivist"])
    app.config["TOKEN"] = app.extensions["fangzhi.accounts"].create_token("fuzz", ["write"], by=SYSTEM)[0]
    return app


def no_server_error(response):
    assert response.status_code < 500, response.get_data(as_text=True)[:300]
    if response.status_code >= 400 and response.is_json:
        assert response.json["message"]


@FUZZ
@given(item_id=TEXT, version=TEXT, page=TEXT)
def test_fuzz_ids_and_query_strings(site, item_id, version, page):
    client = site.test_client()
    from urllib.parse import quote

    for url in (f"/items/{quote(item_id, safe='')}", f"/api/items/{quote(item_id, safe='')}?version={quote(version)}",
                f"/api/items?page={quote(page)}&per_page={quote(version)}&collection={quote(item_id)}",
                f"/collections/{quote(item_id, safe='')}", f"/items/known/files/{quote(item_id, safe='')}",
                f"/api/items/{quote(item_id, safe='')}/versions"):
        no_server_error(client.get(url))


JSONISH = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | TEXT,
                       lambda inner: st.lists(inner, max_size=4) | st.dictionaries(TEXT, inner, max_size=4),
                       max_leaves=20)
FIELDS = st.fixed_dictionaries({}, optional={k: JSONISH for k in (
    "id", "kind", "title", "description", "creators", "date", "places", "subjects", "rights", "visibility",
    "embargo_until", "files", "collections", "language")})


@FUZZ
@given(metadata=FIELDS | JSONISH)
def test_fuzz_upload_metadata(site, metadata):
    client = site.test_client()
    headers = {"Authorization": f"Bearer {site.config['TOKEN']}"}
    no_server_error(client.post("/api/items", json=metadata, headers=headers))
    no_server_error(client.post("/api/items", headers=headers, data={
        "metadata": json.dumps(metadata), "files": (io.BytesIO(b"\xff\xd8\xff\xe0" + b"x" * 20), "a.jpg")}))
    no_server_error(client.patch("/api/items/known", json=metadata, headers={**headers, "If-Match": '"1"'}))


# --- hostile files ---------------------------------------------------------------------------

def png_bomb(width=60000, height=60000) -> bytes:
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(b"\0" * 1000)) + chunk(b"IEND", b""))


def zip_bomb(epub=False) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as z:
        if epub:
            z.writestr("mimetype", "application/epub+zip", compress_type=zipfile.ZIP_STORED)
        info = zipfile.ZipInfo("zeros.txt")
        info.compress_type = zipfile.ZIP_DEFLATED
        with z.open(info, "w", force_zip64=True) as member:
            for _ in range(60):  # 60 MB of zeros → a few tens of KB
                member.write(b"\0" * 1_000_000)
    return out.getvalue()


def small_members_bomb(epub=True, members=20) -> bytes:
    """Members of just under 1 MiB each (below the per-member check), a bomb together."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as z:
        if epub:
            z.writestr("mimetype", "application/epub+zip", compress_type=zipfile.ZIP_STORED)
        for n in range(members):
            z.writestr(f"EPUB/c{n}.xhtml", "<p>" + "惠山泉水" * 87_000 + "</p>")
    return out.getvalue()


def zip_with_info(info_name: str) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        z.writestr(info_name, b"x")
    return out.getvalue()


HOSTILE = {
    "decompression bomb": ("bomb.png", png_bomb(), "decompression bomb"),
    "zip bomb": ("bomb.zip", zip_bomb(), "zip bomb"),
    "epub bomb": ("bomb.epub", zip_bomb(epub=True), "zip bomb"),
    "epub of small chapters": ("chapters.epub", small_members_bomb(), "zip bomb"),
    "zip of small members": ("members.zip", small_members_bomb(epub=False, members=300), "zip bomb"),
    "zip slip": ("slip.zip", zip_with_info("../../etc/cron.d/x"), ".."),
    "path traversal name": ("../../../tmp/evil.jpg", b"\xff\xd8\xff\xe0" + b"0" * 100, "name"),
    "svg with script": ("logo.svg", b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg">'
                                    b"<script>alert(1)</script></svg>", "scripts"),
    "html disguised as jpg": ("photo.jpg", b"<!DOCTYPE html><html><script>alert(1)</script>", "scripts"),
}


def snapshot(folder) -> set:
    return {os.path.join(d, f) for d, _, files in os.walk(folder) for f in files}


@pytest.mark.parametrize("case", HOSTILE)
@pytest.mark.parametrize("route", ["api", "admin form"])
def test_hostile_uploads_are_refused(site, case, route):
    name, data, reason = HOSTILE[case]
    archive = site.extensions["fangzhi"]
    before_items = archive.list_items(user=SYSTEM)[1]
    before_storage = snapshot(archive.storage.root)
    before_tmp = snapshot(tempfile.gettempdir())
    client = site.test_client()
    if route == "api":
        response = client.post("/api/items", headers={"Authorization": f"Bearer {site.config['TOKEN']}"}, data={
            "metadata": json.dumps({"kind": "photo", "title": "上传"}), "files": (io.BytesIO(data), name)})
        assert response.status_code == 400 and response.json["error"] == "UploadRefused"
        assert reason in response.json["message"]
    else:
        login(client, "archivist")
        response = client.post("/admin/items/new", data={
            "kind": "photo", "title_zh": "上传", "csrf_token": csrf_token(client, "/admin/items/new"),
            "files": (io.BytesIO(data), name)}, content_type="multipart/form-data")
        assert response.status_code == 400 and reason in response.get_data(as_text=True)
    assert archive.list_items(user=SYSTEM)[1] == before_items
    assert snapshot(archive.storage.root) == before_storage
    new_tmp = snapshot(tempfile.gettempdir()) - before_tmp
    assert not [p for p in new_tmp if "evil" in p or "cron" in p], new_tmp


def test_oversized_request_is_refused(site):
    client = site.test_client()
    response = client.post("/api/items", headers={"Authorization": f"Bearer {site.config['TOKEN']}"},
                           data={"metadata": "{}", "files": (io.BytesIO(b"\0" * (2 * 1024 * 1024)), "big.bin")})
    assert response.status_code == 413 and response.json["error"] == "Request Entity Too Large"


def test_good_upload_is_stored_with_detected_type(site):
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (40, 30), "red").save(out, "PNG")
    client = site.test_client()
    response = client.post("/api/items", headers={"Authorization": f"Bearer {site.config['TOKEN']}"}, data={
        "metadata": json.dumps({"kind": "photo", "title": {"zh": "红色"}}),
        "files": (io.BytesIO(out.getvalue()), "红色.jpg")})  # the name says JPEG; the bytes say PNG
    assert response.status_code == 201
    (f,) = response.json["files"]
    assert f["media_type"] == "image/png" and f["path"] == "originals/红色.jpg"


def test_uploads_use_the_configured_pixel_limit(site, monkeypatch):
    """FANGZHI_MAX_PIXELS bounds images uploaded through the web as it bounds ingest."""
    monkeypatch.setitem(site.config["FANGZHI"], "MAX_PIXELS", 1000)
    response = site.test_client().post("/api/items", headers={"Authorization": f"Bearer {site.config['TOKEN']}"},
                                       data={"metadata": json.dumps({"kind": "photo", "title": "大"}),
                                             "files": (io.BytesIO(png_bomb(100, 100)), "big.png")})
    assert response.status_code == 400 and "more than the limit of 1,000 pixels" in response.json["message"]
