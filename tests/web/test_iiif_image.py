"""The IIIF Image API over HTTP: routes, statuses, headers (CORS, Link, ETag, Cache-Control),
identifiers, access for every role, and the caches. Images are ingested through the real pipeline."""
import csv
import io
import shutil
from pathlib import Path

import pytest
from PIL import Image

from iiif.identifiers import image_identifier, resolve
from repository.access import ANONYMOUS, SYSTEM
from repository.errors import NotFound, PermissionDenied
from tests.web.auth_helpers import add_users, login

COLOURS = {"tl": (220, 30, 30), "tr": (30, 200, 30), "bl": (30, 30, 220), "br": (230, 220, 40)}
W, H = 1100, 700


def quadrants(path: Path, size=(W, H), mark: int = 0) -> Path:
    """A test scan: four coloured quadrants (red, green / blue, yellow); ``mark`` changes one
    corner pixel, so that scans are not duplicates of each other."""
    w, h = size
    img = Image.new("RGB", size)
    for (name, colour), box in zip(COLOURS.items(), [(0, 0, w // 2, h // 2), (w // 2, 0, w, h // 2),
                                                     (0, h // 2, w // 2, h), (w // 2, h // 2, w, h)]):
        img.paste(colour, box)
    img.putpixel((w - 1, h - 1), (mark, mark, mark))
    img.save(path)
    return path


def ingest(app, items: list[dict]) -> None:
    """Ingest items through the real pipeline from a CSV manifest (which sets item and file ids).
    Each item: {"id", "files": {file id: path}, optional "visibility" (default public)}."""
    from ingest.pipeline import plan_job
    from ingest.runner import InlineRunner
    from ingest.sources.manifest import plan_manifest

    data = Path(app.config["FANGZHI"]["DATA_DIR"])
    source = data / "iiif-source"
    source.mkdir(exist_ok=True)
    rows = []
    for item in items:
        names = []
        for file_id, path in item["files"].items():
            name = f"{item['id']}-{file_id}{Path(path).suffix}"
            shutil.copy(path, source / name)
            names.append(name)
        rows.append({"id": item["id"], "title": f"IIIF {item['id']}", "kind": item.get("kind", "photo"),
                     "visibility": item.get("visibility", "public"), "files": "\n".join(names),
                     "file_ids": "; ".join(item["files"])})
    manifest = io.StringIO()
    writer = csv.DictWriter(manifest, fieldnames=list(rows[0]))
    writer.writeheader()
    writer.writerows(rows)
    (source / "manifest.csv").write_text(manifest.getvalue(), encoding="utf-8")
    ctx = app.extensions["fangzhi"].ingest_context()
    planned = plan_manifest(source, source / "manifest.csv")
    assert not [p.problems for p in planned if p.problems]
    job = plan_job(ctx, "iiif test", planned)
    InlineRunner(ctx).run([(job, n) for n in range(1, len(planned) + 1)])
    failed = [(e.item_id, e.step, e.reason) for e in ctx.jobs.entries(job) if e.state != "done"]
    assert not failed, failed


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    from web import create_app

    folder = tmp_path_factory.mktemp("iiif")
    app = create_app({"DATA_DIR": str(folder / "data"), "SECRET_KEY": "t", "LOGIN_RATE_LIMIT": "1000 per minute",
                      "IIIF_MAX_AREA": 4_000_000})
    scans = [quadrants(folder / f"scan{n}.png", mark=n) for n in range(4)]
    pages = [quadrants(folder / f"page{n}.png", (300, 500), mark=n) for n in range(2)]
    ingest(app, [{"id": "iiif-photo", "files": {"scan": scans[0]}},
                 {"id": "iiif-book", "kind": "book", "files": {"p1": scans[1], "p2": pages[0]}},
                 {"id": "iiif-staff", "visibility": "staff", "files": {"scan": scans[2]}},
                 {"id": "iiif-restricted", "files": {"open": scans[3], "closed": pages[1]}}])
    archive = app.extensions["fangzhi"].archive
    version = archive.get_item("iiif-restricted", user=SYSTEM).version
    archive.update_item("iiif-restricted", {"files": [{"id": "closed", "access": "staff"}]},
                        expected_version=version, user=SYSTEM)
    add_users(app)
    return app


@pytest.fixture
def client(site):
    return site.test_client()


def pyramid_id(app, item_id, original_id):
    item = app.extensions["fangzhi"].archive.get_item(item_id, user=SYSTEM).value
    return item.derivatives(original_id, "pyramid")[0].id


def decode(response):
    return Image.open(io.BytesIO(response.data))


def near(pixel, colour, tolerance=12):
    return all(abs(a - b) <= tolerance for a, b in zip(pixel, colour))


# -- identifiers ----------------------------------------------------------------------------

def test_identifiers_resolve_through_the_access_policy(site):
    archive = site.extensions["fangzhi"].archive
    item, pyramid = resolve(archive, "iiif-book", user=ANONYMOUS)  # bare item id: the first page
    assert item.id == "iiif-book" and pyramid.purpose == "pyramid" and pyramid.derived_from == "p1"
    assert resolve(archive, "iiif-book~p2", user=ANONYMOUS)[1].derived_from == "p2"  # an original's id
    assert resolve(archive, image_identifier("iiif-book", pyramid), user=ANONYMOUS)[1] == pyramid
    assert image_identifier("iiif-book", pyramid) == f"iiif-book~{pyramid.id}"
    thumbnail = item.derivatives("p1", "thumbnail")[0].id
    for missing in ("iiif-book~nope", f"iiif-book~{thumbnail}", "nope", "iiif-staff", "a/b", "~p1"):
        with pytest.raises(NotFound):
            resolve(archive, missing, user=ANONYMOUS)
    with pytest.raises(PermissionDenied):
        resolve(archive, "iiif-restricted~closed", user=ANONYMOUS)


# -- routes, formats and errors -------------------------------------------------------------

def test_base_uri_redirects_to_info(client):
    r = client.get("/iiif/3/iiif-photo")
    assert r.status_code == 303 and r.headers["Location"].endswith("/iiif/3/iiif-photo/info.json")
    assert r.headers["Access-Control-Allow-Origin"] == "*"


def test_info_json(client):
    r = client.get("/iiif/3/iiif-photo/info.json")
    assert r.status_code == 200
    assert r.headers["Content-Type"] == 'application/ld+json;profile="http://iiif.io/api/image/3/context.json"'
    assert r.headers["Access-Control-Allow-Origin"] == "*"
    info = r.json
    assert list(info)[0] == "@context" and info["@context"] == "http://iiif.io/api/image/3/context.json"
    assert info["id"] == "http://localhost/iiif/3/iiif-photo"
    assert (info["type"], info["protocol"], info["profile"]) == ("ImageService3", "http://iiif.io/api/image", "level2")
    assert (info["width"], info["height"]) == (W, H)
    assert (info["maxWidth"], info["maxHeight"], info["maxArea"]) == (10000, 10000, 4_000_000)
    assert info["tiles"] == [{"width": 256, "height": 256, "scaleFactors": [1, 2, 4, 8]}]
    assert info["sizes"][-1] == {"width": W, "height": H} and info["sizes"][0]["width"] < 256
    assert set(info["extraQualities"]) == {"color", "gray", "bitonal"} and info["extraFormats"] == ["webp"]
    assert {"sizeUpscaling", "mirroring", "rotationArbitrary", "canonicalLinkHeader"} <= set(info["extraFeatures"])
    plain = client.get("/iiif/3/iiif-photo/info.json", headers={"Accept": "application/json"})
    assert plain.headers["Content-Type"] == "application/json" and plain.json == info
    ld = client.get("/iiif/3/iiif-photo/info.json", headers={"Accept": "application/ld+json"})
    assert ld.headers["Content-Type"].startswith("application/ld+json;profile=")


def test_info_json_of_a_page_by_identifier(client, site):
    info = client.get("/iiif/3/iiif-book~p2/info.json").json
    assert (info["width"], info["height"]) == (300, 500) and info["id"].endswith("/iiif/3/iiif-book~p2")
    pid = pyramid_id(site, "iiif-book", "p2")
    assert client.get(f"/iiif/3/iiif-book~{pid}/info.json").json["width"] == 300


@pytest.mark.parametrize("fmt, mime, pil", [("jpg", "image/jpeg", "JPEG"), ("png", "image/png", "PNG"),
                                            ("webp", "image/webp", "WEBP")])
def test_formats(client, fmt, mime, pil):
    r = client.get(f"/iiif/3/iiif-photo/full/max/0/default.{fmt}")
    assert r.status_code == 200 and r.mimetype == mime
    img = decode(r)
    assert img.format == pil and img.size == (W, H)
    assert near(img.convert("RGB").getpixel((10, 10)), COLOURS["tl"])


def test_image_headers(client):
    r = client.get("/iiif/3/iiif-photo/0,0,2000,2000/1100,/0/default.jpg")
    assert r.status_code == 200 and r.headers["Access-Control-Allow-Origin"] == "*"
    assert r.headers["Link"] == ('<http://localhost/iiif/3/iiif-photo/full/max/0/default.jpg>;rel="canonical",'
                                 '<http://iiif.io/api/image/3/level2.json>;rel="profile"')
    assert r.headers["Cache-Control"] == "public, max-age=3600" and r.headers["ETag"]
    same = client.get("/iiif/3/iiif-photo/full/max/0/default.jpg")
    assert same.headers["ETag"] == r.headers["ETag"]  # one canonical image, one ETag


def test_etag_and_304(client):
    for url in ("/iiif/3/iiif-photo/full/200,/0/default.jpg", "/iiif/3/iiif-photo/info.json"):
        first = client.get(url)
        again = client.get(url, headers={"If-None-Match": first.headers["ETag"]})
        assert again.status_code == 304 and not again.data, url
        assert again.headers["Access-Control-Allow-Origin"] == "*" and again.headers["Cache-Control"]
        assert client.get(url, headers={"If-None-Match": '"other"'}).status_code == 200


def test_cors_preflight(client):
    for url in ("/iiif/3/iiif-photo/info.json", "/iiif/3/iiif-photo/full/max/0/default.jpg"):
        r = client.options(url, headers={"Origin": "https://viewer.example", "Access-Control-Request-Method": "GET",
                                         "Access-Control-Request-Headers": "Authorization"})
        assert r.status_code == 200 and r.headers["Access-Control-Allow-Origin"] == "*"
        assert "GET" in r.headers["Access-Control-Allow-Methods"]
        assert "Authorization" in r.headers["Access-Control-Allow-Headers"]


@pytest.mark.parametrize("path, status", [
    ("full/max/0/default.tif", 501), ("full/max/0/default.gif", 501), ("full/max/0/default.pdf", 501),
    ("full/max/0/default.jp2", 501), ("full/max/0/default.bmp", 400), ("full/max/0/default", 400),
    ("full/max/0/grey.jpg", 400), ("nope/max/0/default.jpg", 400), ("0,0,0,10/max/0/default.jpg", 400),
    ("5000,0,10,10/max/0/default.jpg", 400), ("full/full/0/default.jpg", 400), ("full/1200,/0/default.jpg", 400),
    ("full/pct:101/0/default.jpg", 400), ("full/max/361/default.jpg", 400), ("full/max/-90/default.jpg", 400),
    ("full/^3000,/0/default.jpg", 400),  # beyond maxArea
    ("full/max/0/default.jpg/extra", 404),
])
def test_errors(client, path, status):
    r = client.get(f"/iiif/3/iiif-photo/{path}")
    assert r.status_code == status, r.data
    if status != 404:
        assert r.headers["Access-Control-Allow-Origin"] == "*" and r.json["message"]


@pytest.mark.parametrize("identifier", ["nope", "iiif-photo~nope", "a%2Fb", "[frob]", "iiif-staff"])
def test_unknown_or_hidden_images_are_404(client, identifier):
    for path in ("info.json", "full/max/0/default.jpg"):
        assert client.get(f"/iiif/3/{identifier}/{path}").status_code == 404


def test_escaped_identifier(client):
    assert client.get("/iiif/3/iiif%2Dphoto/full/max/0/default.jpg").status_code == 200


def test_upscaling_with_caret(client):
    img = decode(client.get("/iiif/3/iiif-photo/0,0,100,100/^200,/0/default.png"))
    assert img.size == (200, 200) and near(img.getpixel((100, 100)), COLOURS["tl"])


# -- access ---------------------------------------------------------------------------------

ROLES = ("anonymous", "researcher", "member", "curator", "archivist", "admin")
STAFF = {"archivist", "admin"}


@pytest.mark.parametrize("role", ROLES)
def test_restricted_image_for_each_role(site, role):
    client = site.test_client()
    if role != "anonymous":
        assert login(client, role).status_code == 302
    allowed = role in STAFF
    denied = 401 if role == "anonymous" else 403
    for path in ("", "/info.json", "/full/max/0/default.jpg", "/0,0,256,256/256,256/0/default.jpg"):
        r = client.get(f"/iiif/3/iiif-restricted~closed{path}")
        assert r.status_code == ((303 if not path else 200) if allowed else denied), (role, path)
        if not allowed:
            assert r.headers["Access-Control-Allow-Origin"] == "*" and b"JFIF" not in r.data
            assert ("WWW-Authenticate" in r.headers) == (role == "anonymous")
    r = client.get("/iiif/3/iiif-restricted~open/full/max/0/default.jpg")  # the item's open page
    assert r.status_code == 200
    assert r.headers["Cache-Control"] == ("public, max-age=3600" if role == "anonymous" else "private, no-store")
    hidden = client.get("/iiif/3/iiif-staff/info.json")
    assert hidden.status_code == (200 if allowed else 404)


def test_restricted_images_are_never_cached_publicly(site):
    client = site.test_client()
    login(client, "admin")
    r = client.get("/iiif/3/iiif-restricted~closed/full/100,/0/default.jpg")
    assert r.status_code == 200 and r.headers["Cache-Control"].startswith("private")


# -- caches ---------------------------------------------------------------------------------

def test_generated_images_are_cached_on_disk(client, site):
    from iiif.imaging import DiskCache

    first = client.get("/iiif/3/iiif-photo/10,10,300,300/100,/90/gray.jpg")  # scaled: worth keeping
    cache = site.extensions["fangzhi"].images.images
    assert isinstance(cache, DiskCache) and cache.folder.is_relative_to(site.config["FANGZHI"]["DATA_DIR"])
    key = first.headers["ETag"].strip('"')
    assert cache.path(key).read_bytes() == first.data
    cache.path(key).write_bytes(b"from the cache")
    assert client.get("/iiif/3/iiif-photo/10,10,300,300/100,100/90/gray.jpg").data == b"from the cache"
    cache.path(key).unlink()
    tile = client.get("/iiif/3/iiif-photo/10,10,300,300/150,/0/default.jpg")  # a copy of decoded tiles
    assert tile.status_code == 200 and not cache.path(tile.headers["ETag"].strip('"')).exists()


def test_stored_tiles_are_sent_as_they_are(client, site):
    """A viewer's tile request that is one stored tile gets the stored JPEG bytes (plus tables)."""
    from iiif.imaging import open_pyramid

    r = client.get("/iiif/3/iiif-photo/512,0,512,512/256,256/0/default.jpg")
    assert r.status_code == 200
    archive = site.extensions["fangzhi"].archive
    stored = archive.open_file("iiif-photo", pyramid_id(site, "iiif-photo", "scan"), user=SYSTEM)
    pyramid = open_pyramid(stored.file.sha256, stored.on_disk)
    level = pyramid.levels[1]
    tile = level.counts[1]  # tile (1, 0) of level 1 (550 × 350): full size 512…1023
    assert len(r.data) == tile + len(level.jpeg_tables) - 4
    img = decode(r)
    assert img.size == (256, 256) and near(img.getpixel((200, 10)), COLOURS["tr"])


# -- resource exhaustion --------------------------------------------------------------------

# Requests that made a few pixels into the largest image allowed, then rotated it past the limits
# (0,0,1,1/^max/45 took ~15 s for 10000 × 10000 pixels); each region is new to the cache.
NASTY = ["0,0,1,1/^max/45/default.png", "0,0,1,1/^max/0/default.png", "0,0,1,1/^max/45/default.jpg",
         "0,0,2,2/^max/33/bitonal.png", "pct:0,0,0.1,0.1/^max/45/default.webp", "square/^max/10/gray.webp",
         "full/^max/45/default.png", "full/max/45/default.png", "full/^max/0/default.png",
         "0,0,1,1/^7000,7000/0/default.png", "0,0,1,1/^!7000,7000/45/default.png", "full/^7000,/0/default.png",
         "3,5,7,2/^max/359/default.png", "full/^2200,/17/default.jpg", "full/^2201,/0/default.png"]


@pytest.fixture(scope="module")
def default_site(tmp_path_factory):
    """An app with the default IIIF settings and one ordinary scan."""
    from web import create_app

    folder = tmp_path_factory.mktemp("iiif-defaults")
    app = create_app({"DATA_DIR": str(folder / "data"), "SECRET_KEY": "t"})
    ingest(app, [{"id": "iiif-scan", "files": {"scan": quadrants(folder / "scan.png")}}])
    return app


def test_hostile_image_requests_are_answered_quickly_within_the_limits(default_site):
    import time

    client, settings = default_site.test_client(), default_site.config["FANGZHI"]
    worst = 0.0
    for path in NASTY:
        start = time.monotonic()
        r = client.get(f"/iiif/3/iiif-scan/{path}")
        took = time.monotonic() - start
        worst = max(worst, took)
        assert took < 2, (path, took)
        assert r.status_code in (200, 400), (path, r.status_code)
        if r.status_code == 200:
            w, h = decode(r).size
            assert w <= settings["IIIF_MAX_WIDTH"] and h <= settings["IIIF_MAX_HEIGHT"], path
            assert w * h <= settings["IIIF_MAX_AREA"], (path, w, h)
            # at most IIIF_MAX_UPSCALE times the image, turned (a turned w × h fits in (w + h)²)
            assert max(w, h) <= settings["IIIF_MAX_UPSCALE"] * (W + H), (path, w, h)
        else:
            assert "limits" in r.json["message"] or "upscales at most 2 times" in r.json["message"], path
    print(f"worst hostile IIIF request: {worst:.2f} s")


def test_a_rendering_past_its_time_budget_answers_503(default_site, monkeypatch):
    import time

    monkeypatch.setattr(default_site.extensions["fangzhi"].images, "render_seconds", 0.001)
    client = default_site.test_client()
    start = time.monotonic()
    r = client.get("/iiif/3/iiif-scan/full/^max/31/default.png")
    assert time.monotonic() - start < 2
    assert r.status_code == 503 and r.headers["Retry-After"].isdigit() and "time budget" in r.json["message"]
    assert r.headers["Access-Control-Allow-Origin"] == "*" and r.headers["Cache-Control"] == "no-store"
    monkeypatch.setattr(default_site.extensions["fangzhi"].images, "render_seconds", 20)
    assert client.get("/iiif/3/iiif-scan/full/^max/31/default.png").status_code == 200  # nothing kept of it


def test_concurrent_renderings_are_bounded(default_site):
    """With every rendering slot of the process taken, a rendering waits a second, then gets 503;
    stored tiles and cached images need no slot."""
    import time

    server = default_site.extensions["fangzhi"].images
    client = default_site.test_client()
    cached = client.get("/iiif/3/iiif-scan/full/500,/0/default.jpg")
    assert cached.status_code == 200
    slots = [server.render_slot() for _ in range(default_site.config["FANGZHI"]["IIIF_RENDERS"])]
    for slot in slots:
        slot.__enter__()
    try:
        start = time.monotonic()
        r = client.get("/iiif/3/iiif-scan/full/501,/0/default.jpg")
        assert 0.9 < time.monotonic() - start < 3
        assert r.status_code == 503 and r.headers["Retry-After"].isdigit() and "busy" in r.json["message"]
        assert client.get("/iiif/3/iiif-scan/0,0,256,256/256,256/0/default.jpg").status_code == 200  # a tile
        assert client.get("/iiif/3/iiif-scan/full/500,/0/default.jpg").data == cached.data  # from the cache
    finally:
        for slot in slots:
            slot.__exit__(None, None, None)
    assert client.get("/iiif/3/iiif-scan/full/501,/0/default.jpg").status_code == 200


# -- answers kept between requests: every change of access is seen at once ----------------------

def _version(archive, item_id):
    return archive.get_item(item_id, user=SYSTEM).version


# Each change of an item's or file's access, as any process may make it (the item's scan is "scan").
ACCESS_CHANGES = {
    "private": lambda a, i: a.update_item(i, {"visibility": "private"}, expected_version=_version(a, i), user=SYSTEM),
    "file-staff": lambda a, i: a.update_item(i, {"files": [{"id": "scan", "access": "staff"}]},
                                             expected_version=_version(a, i), user=SYSTEM),
    "withdrawn": lambda a, i: a.withdraw_item(i, user=SYSTEM, reason="test"),
    "embargoed": lambda a, i: a.update_item(i, {"visibility": "embargoed", "embargo_until": "2999-01-01"},
                                            expected_version=_version(a, i), user=SYSTEM),
    "purged": lambda a, i: a.purge_item(i, user=SYSTEM, reason="test"),
}
REFUSED = {"private": 404, "file-staff": 401, "withdrawn": 410, "embargoed": 404, "purged": 404}


def replace_pyramid(archive, item_id: str) -> None:
    """A new version of the item whose scan has a new pyramid (a grey one, as ingest saves pyramids):
    the old pyramid file is removed, the new one added under a new file id."""
    import tempfile

    import pyvips

    from ingest.steps.image import save_pyramid
    from repository.services import NewFile

    item = archive.get_item(item_id, user=SYSTEM).value
    old = item.derivatives("scan", "pyramid")[0]
    with tempfile.TemporaryDirectory() as folder:
        grey = Path(folder) / "grey.png"
        Image.new("RGB", (W, H), (128, 128, 128)).save(grey)
        save_pyramid(grey, "pngload", None, Path(folder) / "pyramid.tif")
        data = (Path(folder) / "pyramid.tif").read_bytes()
    assert pyvips.Image.new_from_buffer(data, "").width == W
    archive.update_item(item_id, {}, expected_version=_version(archive, item_id), user=SYSTEM,
                        remove_files=[old.id], add_files=[NewFile(
                            "pyramid-2.tif", data, "image/tiff", role=old.role, derived_from="scan",
                            purpose="pyramid", tech=old.tech)])
CHANGE_SCRIPT = """
import sys
from fangzhi.bootstrap import build
from fangzhi.settings import load
from tests.web.test_iiif_image import ACCESS_CHANGES
from tests.web.test_iiif_image import replace_pyramid
change = replace_pyramid if sys.argv[2] == "replaced" else ACCESS_CHANGES[sys.argv[2]]
change(build(load({"DATA_DIR": sys.argv[1]}, environ={})).archive, sys.argv[3])
"""


@pytest.fixture(scope="module")
def changing_site(tmp_path_factory):
    """An app whose items are changed by the tests (each test ingests its own)."""
    from web import create_app

    folder = tmp_path_factory.mktemp("iiif-changes")
    app = create_app({"DATA_DIR": str(folder / "data"), "SECRET_KEY": "t"})
    app.scans = (quadrants(folder / f"scan{n}.png", mark=n) for n in range(256))  # each item its own scan
    return app


def _fresh_item(app, name: str) -> tuple[str, str]:
    import hashlib

    item_id = "chg-" + hashlib.sha256(name.encode()).hexdigest()[:10]
    ingest(app, [{"id": item_id, "files": {"scan": next(app.scans)}}])
    return f"/iiif/3/{item_id}~{pyramid_id(app, item_id, 'scan')}", item_id


@pytest.mark.parametrize("where", ["this app", "another app", "another process"])
@pytest.mark.parametrize("change", ACCESS_CHANGES)
def test_a_change_of_access_between_two_tiles_is_seen(changing_site, change, where):
    """A viewer's tiles are answered from what was worked out for the first one; a change of the
    item's or the file's access, made here, by another app on the same data folder or by another
    process (another gunicorn worker, the CLI), refuses the very next tile."""
    import subprocess
    import sys

    from web import create_app

    base, item_id = _fresh_item(changing_site, f"{change} {where}")
    client = changing_site.test_client()
    for _ in range(2):
        assert client.get(f"{base}/0,0,256,256/256,256/0/default.jpg").status_code == 200
        assert client.get(f"{base}/info.json").status_code == 200
    data_dir = changing_site.config["FANGZHI"]["DATA_DIR"]
    if where == "this app":
        ACCESS_CHANGES[change](changing_site.extensions["fangzhi"].archive, item_id)
    elif where == "another app":
        ACCESS_CHANGES[change](create_app({"DATA_DIR": data_dir, "SECRET_KEY": "t"}).extensions["fangzhi"].archive,
                               item_id)
    else:
        root = Path(__file__).resolve().parents[2]
        subprocess.run([sys.executable, "-c", CHANGE_SCRIPT, data_dir, change, item_id], cwd=root, check=True,
                       env={**__import__("os").environ, "PYTHONPATH": str(root)}, timeout=120)
    for path in ("/0,0,256,256/256,256/0/default.jpg", "/info.json", "/full/100,/0/default.jpg"):
        r = client.get(base + path)
        assert r.status_code == REFUSED[change], (change, where, path, r.status_code)
        assert b"JFIF" not in r.data


@pytest.mark.parametrize("where", ["this app", "another process"])
def test_a_replaced_pyramid_is_seen_between_two_tiles(changing_site, where):
    """A viewer's tiles of an image whose pyramid is replaced by a new version: the very next tile
    comes from the new pyramid, under the scan's identifier, and the old pyramid's identifier is gone."""
    import subprocess
    import sys

    base, item_id = _fresh_item(changing_site, f"replaced {where}")
    by_scan = f"/iiif/3/{item_id}~scan/0,0,256,256/256,256/0/default.jpg"
    client = changing_site.test_client()
    for _ in range(2):
        assert client.get(f"{base}/0,0,256,256/256,256/0/default.jpg").status_code == 200
        assert decode(client.get(by_scan)).getpixel((10, 10)) == pytest.approx(COLOURS["tl"], abs=8)
    if where == "this app":
        replace_pyramid(changing_site.extensions["fangzhi"].archive, item_id)
    else:
        root = Path(__file__).resolve().parents[2]
        subprocess.run([sys.executable, "-c", CHANGE_SCRIPT, changing_site.config["FANGZHI"]["DATA_DIR"], "replaced",
                        item_id], cwd=root, check=True, env={**__import__("os").environ, "PYTHONPATH": str(root)},
                       timeout=120)
    assert client.get(f"{base}/0,0,256,256/256,256/0/default.jpg").status_code == 404
    assert decode(client.get(by_scan)).getpixel((10, 10)) == pytest.approx((128, 128, 128), abs=8)


def test_an_embargo_lifts_between_two_tiles(changing_site, monkeypatch):
    """What was worked out for a tile holds for one day: an embargo that ends today opens the next one."""
    from datetime import date, timedelta

    base, item_id = _fresh_item(changing_site, "embargo lifts")
    archive = changing_site.extensions["fangzhi"].archive
    tomorrow = date.today() + timedelta(days=1)
    archive.update_item(item_id, {"visibility": "embargoed", "embargo_until": tomorrow.isoformat()},
                        expected_version=_version(archive, item_id), user=SYSTEM)
    client = changing_site.test_client()
    tile = f"{base}/0,0,256,256/256,256/0/default.jpg"
    assert client.get(tile).status_code == 404
    assert client.get(tile).status_code == 404
    monkeypatch.setattr(archive, "today", lambda: tomorrow)
    assert client.get(tile).status_code == 200


def test_a_role_sees_what_its_roles_allow_between_two_tiles(changing_site):
    """Answers are kept per set of roles: a staff file closes to readers, not to an archivist."""
    base, item_id = _fresh_item(changing_site, "roles")
    add_users(changing_site, roles=("archivist", "member"))
    clients = {role: changing_site.test_client() for role in ("anonymous", "member", "archivist")}
    for role, client in clients.items():
        if role != "anonymous":
            assert login(client, role).status_code == 302
    tile = f"{base}/0,0,256,256/256,256/0/default.jpg"
    assert all(client.get(tile).status_code == 200 for client in clients.values())
    ACCESS_CHANGES["file-staff"](changing_site.extensions["fangzhi"].archive, item_id)
    assert {role: client.get(tile).status_code for role, client in clients.items()} == \
        {"anonymous": 401, "member": 403, "archivist": 200}


def test_a_repeated_tile_reads_no_record_and_no_database(changing_site, monkeypatch):
    """The fast path: a repeated anonymous tile checks the item's head (a stat of its inventory and
    the inventory's sidecar, files kept open since they were read) and reads the tile, and nothing
    else: no stored file opened, no record, no catalog, no session or account."""
    from sqlalchemy import event

    base, item_id = _fresh_item(changing_site, "fast path")
    client = changing_site.test_client()
    tile = f"{base}/0,0,256,256/256,256/0/default.jpg"
    assert client.get(tile).status_code == 200
    fangzhi = changing_site.extensions["fangzhi"]
    calls = {"storage": [], "database": [], "records": []}

    def counting(name, function):
        def counted(*args, **kwargs):
            calls[name].append(args[-1] if name == "storage" else args)
            return function(*args, **kwargs)
        return counted

    monkeypatch.setattr(fangzhi.storage, "open", counting("storage", fangzhi.storage.open))
    statement = lambda *args: calls["database"].append(args[2])  # noqa: E731 - the SQL sent
    event.listen(fangzhi.database.engine, "before_cursor_execute", statement)
    monkeypatch.setattr(fangzhi.archive, "get_item", counting("records", fangzhi.archive.get_item))
    for n in range(1, 4):
        assert client.get(tile).status_code == 200
        assert calls["storage"] == []
    event.remove(fangzhi.database.engine, "before_cursor_execute", statement)
    assert calls["database"] == [] and calls["records"] == []


# Requests the fast path answers (stored tiles, copies of decoded tiles, the disk cache) and others.
FAST = ["0,0,256,256/256,256/0/default.jpg", "512,0,512,512/256,256/0/default.jpg", "0,0,300,300/300,/0/default.jpg",
        "10,10,300,300/100,100/90/gray.jpg", "full/max/0/default.png", "0,0,1,1/^max/45/default.png",
        "0,0,256,256/256,256/0/nope.jpg", "99999,0,10,10/max/0/default.jpg"]


@pytest.mark.parametrize("path", FAST)
def test_the_fast_path_answers_as_the_view_does(site, path):
    """An anonymous image request gets the very answer the ``image`` view makes (headers and
    bytes), whether the fast path or the view answers it; errors and renderings are the view's."""
    from flask import Flask
    from werkzeug.test import Client

    view = Client(lambda environ, start_response: Flask.wsgi_app(site, environ, start_response))
    url = f"/iiif/3/iiif-photo/{path}"
    for _ in range(2):  # the second time from the disk cache, where the view put it
        fast, slow = site.test_client().get(url), view.get(url)
        assert (fast.status_code, fast.data) == (slow.status_code, slow.data), path
        assert sorted(fast.headers.items()) == sorted(slow.headers.items()), path


def test_the_fast_path_leaves_signed_in_and_conditional_requests_to_the_view(site, monkeypatch):
    """Requests that may come from someone signed in (a session or remember cookie, a token), and
    conditional requests, are the view's; a cookie that signs no one in is not."""
    views, view = [], site.view_functions["iiif_image.image"]
    monkeypatch.setitem(site.view_functions, "iiif_image.image", lambda **kw: views.append(kw) or view(**kw))
    url = "/iiif/3/iiif-photo/0,0,256,256/256,256/0/default.jpg"
    client = site.test_client()
    assert client.get(url).status_code == 200
    client.set_cookie("lang", "en")
    assert client.get(url).status_code == 200 and views == []
    for cookie in ("session", "remember_token"):  # (a session that signs no one in: the view says so)
        other = site.test_client()
        other.set_cookie(cookie, "x")
        assert other.get(url).status_code == 200
    assert site.test_client().get(url, headers={"If-None-Match": '"x"'}).status_code == 200
    assert site.test_client().get(url, headers={"Authorization": "Bearer nope"}).status_code == 401
    assert len(views) == 4
