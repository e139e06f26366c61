"""Fuzzing and hostile uploads over HTTP: no server errors, clear 4xx answers, nothing stored."""
import io
import json
import os
import struct
import tempfile
import zipfile
import zlib

import pytest
from werkzeug.routing import IntegerConverter
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from repository.access import SYSTEM
from repository.services import NewFile
from tests.helpers import photo_item
from tests.ingest.test_keep import docx_bytes, odt_bytes
from tests.web.auth_helpers import add_users, csrf_token, login

FUZZ = settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck), database=None)
TEXT = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=300) | st.sampled_from(
    ["../../etc/passwd", "%2e%2e%2f", "惠山", "\"unbalanced", "a" * 5000, "fz' OR 1=1 --", "<script>", "\x00"])


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    from web import create_app

    app = create_app({"DATA_DIR": str(tmp_path_factory.mktemp("fuzz") / "data"), "SECRET_KEY": "t",
                      "MAX_UPLOAD_MB": 1, "LOGIN_RATE_LIMIT": "1000 per minute"})
    app.extensions["fangzhi"].archive.create_item(photo_item(id="known"), user=SYSTEM)
    add_users(app, ["archivist"])
    app.config["TOKEN"] = app.extensions["fangzhi"].accounts.create_token("fuzz", ["write"], by=SYSTEM)[0]
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
    archive = site.extensions["fangzhi"].archive
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

    archive = site.extensions["fangzhi"].archive
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
    item = site.extensions["fangzhi"].archive.get_item("tech-oh", user=SYSTEM).value
    assert item.file(f.id).tech == {"duration": 19.5, "redacted": True, "spans": [[5, 20.0]]}
    assert client.get(f"/items/tech-oh/files/{f.id}").status_code == 200
    assert client.get(f"/items/tech-oh/files/{restricted_recording['access.webm'].id}").status_code == 403


@pytest.fixture(scope="module")
def tech_photo(site):
    """A photo with a real (tiny) pyramid, f2, so that every IIIF route reads it."""
    from tests.iiif.builders import derivative, make
    from tests.web.test_leaks import tiny_pyramid

    make(site.extensions["fangzhi"].archive, "tech-photo", "photo", [NewFile("scan.jpg", b"jpeg", "image/jpeg", 1)],
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
    assert [p["field"] for p in r.json["problems"]] == ["files[0].tech" + (f".{field}" if field else "")]
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
    "word document with macros": ("letter.docx", docx_bytes(["信"], extra=[("word/vbaProject.bin", b"vba")]), "macros"),
    "opendocument with macros": ("letter.odt", odt_bytes(["信"], extra=[("Basic/Standard/M.xml", b"<m/>")]), "macros"),
    "docx zip bomb": ("bomb.docx", docx_bytes([], document=b"<w:document/>" + b" " * (300 << 20)), "zip bomb"),
}


def snapshot(folder) -> set:
    return {os.path.join(d, f) for d, _, files in os.walk(folder) for f in files}


@pytest.mark.parametrize("case", HOSTILE)
@pytest.mark.parametrize("route", ["api", "admin form"])
def test_hostile_uploads_are_refused(site, case, route):
    name, data, reason = HOSTILE[case]
    archive = site.extensions["fangzhi"].archive
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


# --- request bodies ---------------------------------------------------------------------------

MIB = 1024 * 1024
ZEROS = bytes(MIB)


class Body(io.RawIOBase):
    """A request body of ``size`` zero bytes made as it is read, counting what the server reads."""

    def __init__(self, size: int):
        self.size, self.position, self.read_bytes = size, 0, 0

    def readable(self):
        return True

    def seekable(self):  # the test client measures the body
        return True

    def seek(self, offset, whence=0):
        self.position = offset + (self.size if whence == 2 else self.position if whence == 1 else 0)
        return self.position

    def tell(self):
        return self.position

    def readinto(self, buffer):
        n = max(0, min(len(buffer), self.size - self.position, MIB))
        memoryview(buffer)[:n] = ZEROS[:n]
        self.position += n
        self.read_bytes += n
        return n


def send(client, method, url, size, *, chunked=False, **kwargs):
    """``size`` bytes to ``url`` (chunked: without Content-Length, as a chunked transfer)."""
    body = Body(size)
    overrides = {"HTTP_TRANSFER_ENCODING": "chunked", "wsgi.input_terminated": True} if chunked else {}
    response = client.open(url, method=method, input_stream=body, environ_overrides=overrides, **kwargs)
    return response, body


def write_routes(app):
    """Every route that takes a body, as a URL with made-up arguments."""
    special = {"index": 1, "token_id": 1, "action": "disable", "proposal_id": 1, "decision": "accept", "list_id": 1}
    for rule in app.url_map.iter_rules():
        for method in sorted(rule.methods & {"POST", "PUT", "PATCH"}):
            yield method, rule.build({arg: special.get(arg, 1 if isinstance(rule._converters.get(arg), IntegerConverter)
                                                      else "known") for arg in rule.arguments})[1]


@pytest.fixture(scope="module")
def default_site(tmp_path_factory):
    """The default limits: MAX_BODY_MB 2, MAX_UPLOAD_MB 4096."""
    from web import create_app

    app = create_app({"DATA_DIR": str(tmp_path_factory.mktemp("bodies") / "data"), "SECRET_KEY": "t",
                      "LOGIN_RATE_LIMIT": "1000 per minute"})
    app.extensions["fangzhi"].archive.create_item(photo_item(id="known"), user=SYSTEM)
    add_users(app, ["archivist", "researcher"])
    return app


@pytest.mark.parametrize("who", ["anonymous", "researcher", "bad token"])
def test_large_bodies_are_refused_unread_on_every_route(default_site, who):
    """Finding 16: a body over MAX_BODY_MB gets 413 before any of it is read (nothing spooled to
    disk), on every route, upload routes included, unless the sender is signed-in staff."""
    client = default_site.test_client()
    headers = {"Authorization": "Bearer fzt_not-a-token"} if who == "bad token" else {}
    if who == "researcher":
        login(client, "researcher")
    routes = list(write_routes(default_site))
    assert ("POST", "/admin/items/new") in routes and ("PUT", "/admin/uploads/known/1") in routes
    for method, url in routes:
        response, body = send(client, method, url, 3 * MIB, headers=headers,
                              content_type="multipart/form-data; boundary=x")
        assert body.read_bytes == 0 and 400 <= response.status_code < 500, (method, url, response.status_code)


def test_staff_upload_over_the_body_limit_is_accepted(default_site):
    from PIL import Image

    out = io.BytesIO()
    Image.frombytes("RGB", (1024, 1024), os.urandom(3 * MIB)).save(out, "PNG")  # ≈ 3 MiB, over MAX_BODY_MB
    client = default_site.test_client()
    login(client, "archivist")
    response = client.post("/admin/items/new", data={
        "kind": "photo", "title_zh": "大图", "csrf_token": csrf_token(client, "/admin/items/new"),
        "files": (io.BytesIO(out.getvalue()), "big.png")}, content_type="multipart/form-data")
    assert response.status_code == 302, response.get_data(as_text=True)[:300]


def start_chunked_upload(client):
    login(client, "archivist")
    token = csrf_token(client, "/admin/ingest")
    upload = client.post("/admin/uploads", headers={"X-CSRFToken": token}).json["id"]
    return upload, {"X-CSRFToken": token}


def test_upload_chunks_stream_to_disk_within_their_limits(default_site, tmp_path):
    """Finding 16: a chunk is written as it arrives (memory stays far below its size); one over
    CHUNK_LIMIT is refused before it is read, and a file may not outgrow MAX_UPLOAD_MB."""
    import tracemalloc

    from web import create_app
    from ingest.uploads import CHUNK_LIMIT

    client = default_site.test_client()
    upload, headers = start_chunked_upload(client)
    url = f"/admin/uploads/{upload}/1?name=scan.tif&offset="
    tracemalloc.start()
    try:
        response, _ = send(client, "PUT", url + "0", CHUNK_LIMIT, headers=headers)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert response.status_code == 200 and response.json["size"] == CHUNK_LIMIT
    assert peak < CHUNK_LIMIT / 4, f"a {CHUNK_LIMIT / MIB:.0f} MiB chunk took {peak / MIB:.1f} MiB of memory"
    response, body = send(client, "PUT", url + str(CHUNK_LIMIT), CHUNK_LIMIT + 1, headers=headers)
    assert response.status_code == 413 and body.read_bytes == 0
    # sent without a length (chunked transfer): read up to the limit, then refused; the file is as it was
    response, body = send(client, "PUT", url + str(CHUNK_LIMIT), 3 * CHUNK_LIMIT, headers=headers, chunked=True)
    assert response.status_code == 413 and body.read_bytes <= CHUNK_LIMIT + MIB
    assert send(client, "PUT", url + "0", 1, headers=headers)[0].json["size"] == CHUNK_LIMIT  # 409: the size now
    small = create_app({"DATA_DIR": str(tmp_path / "data"), "SECRET_KEY": "t", "MAX_UPLOAD_MB": 5})
    add_users(small, ["archivist"])
    client = small.test_client()
    upload, headers = start_chunked_upload(client)
    url = f"/admin/uploads/{upload}/1?name=scan.tif&offset="
    assert send(client, "PUT", url + "0", 3 * MIB, headers=headers)[0].json["size"] == 3 * MIB
    response, _ = send(client, "PUT", url + str(3 * MIB), 3 * MIB, headers=headers)
    assert response.status_code == 413 and "5 MiB" in response.json["message"]
    assert send(client, "PUT", url + str(3 * MIB), 2 * MIB, headers=headers)[0].json["size"] == 5 * MIB


@pytest.mark.parametrize("url", ["/", "/admin/", "/admin/items/new"])
def test_a_refused_token_on_a_page_answers_401_not_500(default_site, url):
    response = default_site.test_client().get(url, headers={"Authorization": "Bearer fzt_not-a-token"})
    assert response.status_code == 401 and "Bearer" in response.headers["WWW-Authenticate"]


# --- the Host header and proxies ----------------------------------------------------------------

ABSOLUTE = ["/api/items/scan1", "/api/items?per_page=1", "/api/search?q=IIIF",
            "/iiif/3/manifest/scan1", "/iiif/3/collection/top", "/iiif/3/scan1/info.json",
            "/iiif/discovery/changes", "/iiif/discovery/changes/page/0", "/items/oh1/interview.xml", "/items/scan1"]
IMAGE = "/iiif/3/scan1/full/64,/0/default.jpg"  # its Link header names the canonical URL


@pytest.fixture(scope="module")
def published(tmp_path_factory):
    """A data folder with an ingested scan and an interview, served by apps of different settings."""
    from oral_history.model import Interview
    from oral_history.service import save_interview
    from tests.iiif import builders
    from tests.web.test_iiif_image import ingest, quadrants
    from web import create_app

    folder = tmp_path_factory.mktemp("address")
    app = create_app({"DATA_DIR": str(folder / "data"), "SECRET_KEY": "t"})
    ingest(app, [{"id": "scan1", "files": {"f1": quadrants(folder / "scan.png", (200, 150))}}])
    archive = app.extensions["fangzhi"].archive
    record = builders.audio(archive, "oh1")
    save_interview(archive, "oh1", Interview.from_dict({"transcripts": [{"language": "zh", "cues": [
        {"start": 1, "end": 3, "text": "庙会开始了。"}]}]}), user=SYSTEM,
        expected_version=archive.get_item(record.id, user=SYSTEM).version)
    return folder / "data"


def served(data, **settings):
    from web import create_app

    return create_app({"DATA_DIR": str(data), "SECRET_KEY": "t", **settings}).test_client()


def answers(client, headers):
    """Each route's body (and the image's Link header) as text."""
    for url in ABSOLUTE:
        response = client.get(url, headers=headers)
        yield url, response.status_code, response.get_data(as_text=True)
    response = client.get(IMAGE, headers=headers)
    yield IMAGE, response.status_code, response.headers.get("Link", "") if response.status_code == 200 else \
        response.get_data(as_text=True)


HOSTILE_HEADERS = {"Host": "evil.example", "X-Forwarded-Host": "evil.example", "X-Forwarded-Proto": "gopher"}


def test_a_host_header_never_reaches_absolute_urls_without_settings(published):
    """Finding 17: with neither BASE_URL nor TRUSTED_HOSTS only the machine's own names are
    answered (development works on localhost); another Host gets 400 and is not echoed."""
    client = served(published)
    for url, status, text in answers(client, {}):
        assert status == 200 and "http://localhost/" in text, (url, status)
    for host in ("127.0.0.1:5000", "[::1]:8000"):
        assert client.get("/iiif/3/scan1/info.json", headers={"Host": host}).json["id"].startswith(f"http://{host}/")
    for url, status, text in answers(client, HOSTILE_HEADERS):
        assert status == 400 and "evil.example" not in text and "FANGZHI_TRUSTED_HOSTS" in text, (url, status)


def test_base_url_builds_every_absolute_url(published):
    client = served(published, BASE_URL="https://archive.example.org")
    for url, status, text in answers(client, HOSTILE_HEADERS):
        assert status == 200 and "evil.example" not in text and "gopher" not in text, (url, status)
        assert "https://archive.example.org/" in text and "localhost" not in text, (url, text[:300])
    assert client.get("/iiif/3/scan1/info.json").json["id"] == "https://archive.example.org/iiif/3/scan1"
    assert served(published, BASE_URL="https://archive.example.org",
                  TRUSTED_HOSTS="archive.example.org").get("/healthz", headers=HOSTILE_HEADERS).status_code == 400
    for bad in ("archive.example.org", "ftp://archive.example.org", "https://archive.example.org/fangzhi"):
        with pytest.raises(SystemExit, match="FANGZHI_BASE_URL"):
            served(published, BASE_URL=bad)


def test_trusted_hosts_are_answered_and_others_refused(published):
    client = served(published, TRUSTED_HOSTS="archive.example.org, .example.net")
    for host in ("archive.example.org", "ARCHIVE.example.org:8443", "example.net", "www.example.net"):
        response = client.get("/iiif/3/scan1/info.json", headers={"Host": host})
        assert response.status_code == 200 and response.json["id"] == f"http://{host.lower()}/iiif/3/scan1"
    for host in ("evil.example", "localhost", "archive.example.org.evil.example", "notexample.net", "a b", ""):
        response = client.get("/iiif/3/scan1/info.json", headers={"Host": host})
        assert response.status_code == 400 and response.headers.get("Cache-Control") != "public, max-age=3600", host


def test_forwarded_proto_is_honoured_only_from_trusted_proxies(published):
    """Finding 9: behind TLS at the documented nginx (PROXY_HOPS=1) ids are https; without
    trusted proxies X-Forwarded-* is anyone's header and ignored; X-Forwarded-Host never counts."""
    forwarded = {"X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.9", "X-Forwarded-Host": "evil.example"}
    behind = served(published, PROXY_HOPS=1)
    assert behind.get("/iiif/3/scan1/info.json", headers=forwarded).json["id"] == "https://localhost/iiif/3/scan1"
    links = behind.get("/api/items/scan1", headers=forwarded).json["links"]
    assert links["self"] == "https://localhost/api/items/scan1"
    direct = served(published)
    assert direct.get("/iiif/3/scan1/info.json", headers=forwarded).json["id"] == "http://localhost/iiif/3/scan1"


# --- redirects ---------------------------------------------------------------------------------

HOSTILE_TARGETS = [
    "//evil.example", "///evil.example", "/\t/evil.example", "/\n/evil.example", "/\r/x", "/\n/x", "\t//evil.example",
    " //evil.example", "/\\evil.example", "\\\\evil.example", "/\\/evil.example", "http://evil.example",
    "https:evil.example", "HTTPS://evil.example/", "javascript:alert(1)", "data:text/html,<script>", "/\x00/x",
    "/\x0b/x", "/\x7f/x", "/\u2028/x", "//evil.example/%2e%2e", "evil.example", "",
]


def browser_target(location: str):
    """Where a browser goes for this Location (WHATWG URL parsing: C0 controls and spaces around the
    URL are dropped, tabs and newlines anywhere are removed, a backslash is a slash)."""
    from urllib.parse import urlsplit

    cleaned = location.strip("".join(map(chr, range(0x21))))
    cleaned = cleaned.replace("\t", "").replace("\n", "").replace("\r", "").replace("\\", "/")
    return urlsplit(cleaned)


def redirects(site):
    """Every redirect that takes a target from the request: the language switch and signing in."""
    def language(target):
        return site.test_client().get("/lang/en", query_string={"next": target})

    def sign_in(target):
        client = site.test_client()
        return client.post("/login", data={"username": "archivist", "password": "correct horse battery",
                                           "next": target, "csrf_token": csrf_token(client)})
    return {"language": language, "sign in": sign_in}


@pytest.mark.parametrize("target", HOSTILE_TARGETS)
def test_redirect_targets_stay_on_this_site(site, target):
    for name, follow in redirects(site).items():
        response = follow(target)
        assert response.status_code == 302, (name, target, response.status_code)
        location = response.headers["Location"]
        where = browser_target(location)
        assert not where.scheme and not where.netloc and location.startswith("/"), (name, target, location)
        assert location == "/", (name, target, location)  # the fallback: the home page


@pytest.mark.parametrize("target", ["/items/known", "/search?q=%E6%83%A0%E5%B1%B1&page=2", "/admin/?x=1#top"])
def test_redirect_to_a_page_of_this_site(site, target):
    for name, follow in redirects(site).items():
        assert follow(target).headers["Location"] == target, name


def test_uploads_use_the_configured_pixel_limit(site, monkeypatch):
    """FANGZHI_MAX_PIXELS bounds images uploaded through the web as it bounds ingest."""
    import dataclasses

    services = site.extensions["fangzhi"]  # the limits built from FANGZHI_MAX_PIXELS, as ingest has them
    monkeypatch.setattr(services, "limits", dataclasses.replace(services.limits, max_pixels=1000))
    response = site.test_client().post("/api/items", headers={"Authorization": f"Bearer {site.config['TOKEN']}"},
                                       data={"metadata": json.dumps({"kind": "photo", "title": "大"}),
                                             "files": (io.BytesIO(png_bomb(100, 100)), "big.png")})
    assert response.status_code == 400 and "more than the limit of 1,000 pixels" in response.json["message"]


def test_kept_files_are_downloads_that_run_nothing(site):
    """XML may hold XHTML scripts and a name may say JavaScript: files with no viewer are sent as
    attachments under a sandbox, and a name never makes a file a script or a stylesheet."""
    client = site.test_client()
    headers = {"Authorization": f"Bearer {site.config['TOKEN']}"}
    xml = (b'<?xml version="1.0"?><letter xmlns:h="http://www.w3.org/1999/xhtml">'
           b'<h:script>alert(document.cookie)</h:script>\xe6\x83\xa0\xe5\xb1\xb1</letter>')
    created = client.post("/api/items", headers=headers, data={
        "metadata": json.dumps({"kind": "document", "title": "信", "visibility": "public"}),
        "files": [(io.BytesIO(xml), "letter.xml"), (io.BytesIO(b"alert(1)"), "run.js"),
                  (io.BytesIO(b"body{}"), "look.css")]})
    assert created.status_code == 201, created.get_data(as_text=True)
    files = {f["path"].rsplit("/", 1)[-1]: f for f in created.json["files"]}
    assert files["letter.xml"]["media_type"] == "application/xml"
    assert files["run.js"]["media_type"] == files["look.css"]["media_type"] == "text/plain"
    item = created.json["id"]
    served = client.get(f"/items/{item}/files/{files['letter.xml']['id']}")
    assert served.status_code == 200 and served.data == xml
    assert served.headers["Content-Disposition"].startswith("attachment;")
    assert served.headers["Content-Security-Policy"].startswith("sandbox")
    script = client.get(f"/items/{item}/files/{files['run.js']['id']}")
    assert script.mimetype == "text/plain" and script.headers["X-Content-Type-Options"] == "nosniff"
    archive = site.extensions["fangzhi"].archive  # identified as ingest identifies, with its events
    stored = {f.path.rsplit("/", 1)[-1]: f for f in archive.load_item(item).originals}
    assert stored["letter.xml"].tech["pronom"]["puid"] == "fmt/101"  # Extensible Markup Language
    identified = [e for e in archive.preservation_events(item, user=SYSTEM) if e["type"] == "format identification"]
    assert sorted(f for e in identified for f in e["files"]) == sorted(f.id for f in stored.values())


def test_an_uploaded_office_document_is_identified_by_its_parts(site):
    client = site.test_client()
    created = client.post("/api/items", headers={"Authorization": f"Bearer {site.config['TOKEN']}"}, data={
        "metadata": json.dumps({"kind": "document", "title": "信"}),
        "files": [(io.BytesIO(docx_bytes(["荣巷"])), "letter.docx"),
                  (io.BytesIO(b"%PDF-1.4\n" + b"\0" * 400_000 + b"\n%%EOF\n"), "big.dat")]})
    assert created.status_code == 201, created.get_data(as_text=True)
    archive = site.extensions["fangzhi"].archive
    stored = {f.path.rsplit("/", 1)[-1]: f for f in archive.load_item(created.json["id"]).originals}
    assert stored["letter.docx"].tech["pronom"]["puid"] == "fmt/412"  # the container's parts were read
    assert stored["big.dat"].tech["pronom"]["format"] == "Acrobat PDF 1.4 - Portable Document Format"  # head and tail


@pytest.mark.parametrize("files", [True, 1, "f1", {"id": "f1"}])
def test_a_patch_with_files_not_a_list_is_refused(site, files):
    """Found by test_fuzz_upload_metadata (a 500 on "files": true at the item's current version)."""
    client = site.test_client()
    headers = {"Authorization": f"Bearer {site.config['TOKEN']}"}
    version = client.get("/api/items/known", headers=headers).json["version"]
    r = client.patch("/api/items/known", json={"files": files}, headers={**headers, "If-Match": f'"{version}"'})
    assert r.status_code == 400 and "files" in r.get_data(as_text=True)


@pytest.mark.parametrize("escape", ["\\ud800", "\\udfff", "a\\udc00b"])
def test_json_with_a_lone_surrogate_is_refused_as_invalid_json(site, escape):
    """A "\\ud800" escape parses to no character: no file or database can store it (it was a 500
    on create and on PATCH). A pair of escapes (an emoji) is text and stays welcome."""
    client = site.test_client()
    headers = {"Authorization": f"Bearer {site.config['TOKEN']}", "Content-Type": "application/json"}
    body = '{"title": {"zh": "桥%s"}, "kind": "photo"}' % escape
    for response in (client.post("/api/items", data=body, headers=headers),
                     client.patch("/api/items/known", data=body, headers={**headers, "If-Match": '"1"'}),
                     client.post("/api/items", headers={"Authorization": headers["Authorization"]},
                                 data={"metadata": body, "files": (io.BytesIO(b"\xff\xd8\xff\xe0" + b"x" * 20), "a.jpg")})):
        no_server_error(response)
        assert response.status_code == 400, response.get_data(as_text=True)
    created = client.post("/api/items", data='{"title": {"zh": "桥\\ud83c\\udf09"}, "kind": "photo"}', headers=headers)
    assert created.status_code == 201 and created.json["title"]["zh"] == "桥🌉"
