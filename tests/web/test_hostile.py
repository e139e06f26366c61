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
from repository.services import NewFile
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


def patch_files(client, site, item_id, files):
    archive = site.extensions["fangzhi"]
    version = archive.get_item(item_id, user=SYSTEM).version
    return client.patch(f"/api/items/{item_id}", json={"files": files},
                        headers={"Authorization": f"Bearer {site.config['TOKEN']}", "If-Match": f'"{version}"'})


@pytest.fixture(scope="module")
def restricted_recording(site):
    """A public recording with a restricted passage: its full copies staff-only, its redacted copy public."""
    from oral_history.model import Interview
    from oral_history.service import save_interview
    from tests.iiif import builders
    from tests.iiif.builders import derivative

    archive = site.extensions["fangzhi"]
    item = builders.audio(archive, "tech-oh")
    save_interview(archive, "tech-oh", Interview.from_dict({"segments": [
        {"start": 0, "title": "童年"}, {"start": 5, "title": "秘密", "restricted": True}]}), user=SYSTEM,
        expected_version=archive.get_item("tech-oh", user=SYSTEM).version,
        add_files=[derivative("f1", "access.redacted.webm", b"quiet", "audio/webm", "access", duration=20.0,
                              redacted=True, spans=[[5, 20.0]])])
    item = archive.get_item("tech-oh", user=SYSTEM).value
    return {f.path.rsplit("/", 1)[-1]: f for f in item.files}


@pytest.mark.parametrize("name, change", [
    ("access.webm", {"redacted": True}),  # would make the full copy public
    ("access.webm", {"redacted": True, "spans": [[5, 20.0]]}),
    ("access.redacted.webm", {"spans": [[19, 20.0]]}),  # the copy would not be remade for the new spans
    ("access.redacted.webm", {"redacted": False}),
    ("interview.json", {"redactions": 0}),  # would open the recording
])
def test_access_deciding_tech_is_not_editable(site, restricted_recording, name, change):
    client, f = site.test_client(), restricted_recording[name]
    r = patch_files(client, site, "tech-oh", [{"id": f.id, "tech": {**f.tech, **change}}])
    assert r.status_code == 400 and [p["field"] for p in r.json["problems"]] == [f"files[0].tech.{k}" for k in change]
    assert "only the step that makes redacted copies" in r.json["problems"][0]["problem"]
    full = restricted_recording["access.webm"]
    assert client.get(f"/items/tech-oh/files/{full.id}").status_code == 403


def test_tech_edits_keep_the_access_facts(site, restricted_recording):
    client, f = site.test_client(), restricted_recording["access.redacted.webm"]
    assert patch_files(client, site, "tech-oh", [{"id": f.id, "tech": {"duration": 19.5}}]).status_code == 200
    item = site.extensions["fangzhi"].get_item("tech-oh", user=SYSTEM).value
    assert item.file(f.id).tech == {"duration": 19.5, "redacted": True, "spans": [[5, 20.0]]}
    assert client.get(f"/items/tech-oh/files/{f.id}").status_code == 200
    assert client.get(f"/items/tech-oh/files/{restricted_recording['access.webm'].id}").status_code == 403


@pytest.fixture(scope="module")
def tech_photo(site):
    """A photo with a real (tiny) pyramid, f2, so that every IIIF route reads it."""
    from tests.iiif.builders import derivative, make
    from tests.web.test_leaks import tiny_pyramid

    make(site.extensions["fangzhi"], "tech-photo", "photo", [NewFile("scan.jpg", b"jpeg", "image/jpeg", 1)],
         [derivative("f1", "pyramid.tif", tiny_pyramid(), "image/tiff", "pyramid", width=64, height=48)])
    return "tech-photo"


def test_opening_the_interview_data_does_not_publish_restricted_passages(site, restricted_recording):
    """The interview data's access is decided by the policy (it holds the restricted passages),
    not by its editable access field."""
    client, f = site.test_client(), restricted_recording["interview.json"]
    assert patch_files(client, site, "tech-oh", [{"id": f.id, "access": None}]).status_code == 200
    assert client.get(f"/items/tech-oh/files/{f.id}").status_code == 403
    assert "秘密" not in client.get("/items/tech-oh").get_data(as_text=True)


@pytest.mark.parametrize("tech, field", [
    ({"width": "wide", "height": 720}, "width"), ({"width": 960, "height": 0}, "height"),
    ({"width": 960.5, "height": 720}, "width"), ({"width": True}, "width"),
    ({"duration": "long"}, "duration"), ({"duration": -1}, "duration"), ([1], "")])
def test_bad_tech_values_are_refused_by_name(site, tech_photo, tech, field):
    client = site.test_client()
    r = patch_files(client, site, "tech-photo", [{"id": "f2", "tech": tech}])
    assert r.status_code == 400, r.get_data(as_text=True)
    assert [p["field"] for p in r.json["problems"]] == [f"files[0].tech" + (f".{field}" if field else "")]
    assert client.get("/iiif/3/manifest/tech-photo").status_code == 200


@FUZZ
@given(tech=st.dictionaries(st.sampled_from(["width", "height", "duration", "levels", "tile", "redacted", "codec"]),
                            JSONISH, max_size=4))
def test_fuzz_tech_edits(site, restricted_recording, tech_photo, tech):
    """Whatever technical metadata an edit sends, nothing answers 500 and no restricted copy opens."""
    client = site.test_client()
    for item_id, file_id in (("tech-photo", "f2"), ("tech-oh", restricted_recording["access.webm"].id)):
        no_server_error(patch_files(client, site, item_id, [{"id": file_id, "tech": tech}]))
        for url in (f"/iiif/3/manifest/{item_id}", f"/items/{item_id}", f"/api/items/{item_id}",
                    f"/iiif/3/{item_id}/info.json"):
            no_server_error(client.get(url))
    assert client.get(f"/items/tech-oh/files/{restricted_recording['access.webm'].id}").status_code == 403


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


def zip_with_info(info_name: str) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        z.writestr(info_name, b"x")
    return out.getvalue()


HOSTILE = {
    "decompression bomb": ("bomb.png", png_bomb(), "decompression bomb"),
    "zip bomb": ("bomb.zip", zip_bomb(), "zip bomb"),
    "epub bomb": ("bomb.epub", zip_bomb(epub=True), "zip bomb"),
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
