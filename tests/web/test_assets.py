"""Static assets: compressed (brotli/gzip), versioned URLs with long-lived caching, and the budget of
≤ 200 KB JS+CSS (as transferred) on pages without the viewer (issue 15)."""
import re

import brotli
import pytest

from repository.access import SYSTEM
from repository.services import NewFile
from tests.helpers import photo_item

ASSET = re.compile(r'<(?:script[^>]*\bsrc|link[^>]*rel="stylesheet"[^>]*\bhref)="([^"]+)"')


@pytest.fixture
def text_item(archive):
    archive.create_item(photo_item(id="doc", kind="document", title={"zh": "章程"}), user=SYSTEM,
                   files=[NewFile("章程.txt", b"\xe7\xab\xa0\xe7\xa8\x8b" * 100, "text/plain")])
    return "doc"


def test_the_viewer_script_goes_compressed_and_cached(client):
    from flask import url_for
    with client.application.test_request_context():
        url = url_for("iiif_presentation.mirador", name="mirador.min.js")
    assert re.search(r"\?v=[0-9a-f]{12}$", url), url
    plain = client.get(url)
    assert plain.status_code == 200 and "Content-Encoding" not in plain.headers
    for coding, decode in (("br", brotli.decompress), ("gzip", __import__("gzip").decompress)):
        r = client.get(url, headers={"Accept-Encoding": coding})
        assert r.headers["Content-Encoding"] == coding
        assert len(r.data) < len(plain.data) / 3, (coding, len(r.data))
        assert decode(r.data) == plain.data
        assert r.headers["Cache-Control"] == "public, max-age=31536000, immutable"
        assert "Accept-Encoding" in r.headers["Vary"]


def test_a_stale_or_missing_version_is_revalidated(client):
    assert client.get("/static/fangzhi.css").headers["Cache-Control"] == "public, no-cache"
    assert client.get("/static/fangzhi.css?v=000000000000").headers["Cache-Control"] == "public, no-cache"


def test_a_changed_file_gets_a_new_url(app, client, tmp_path):
    from web import assets
    path = tmp_path / "a.css"
    path.write_text("a{}")
    first = assets.version(path)
    path.write_text("b{color:red}")
    assert assets.version(path) != first


def test_signed_in_readers_cache_assets_too(client, app):
    from tests.web.auth_helpers import add_users, login
    add_users(app)
    login(client, "researcher")
    page = client.get("/").get_data(as_text=True)
    css = next(u for u in ASSET.findall(page) if "fangzhi.css" in u)
    assert client.get(css).headers["Cache-Control"] == "public, max-age=31536000, immutable"


def test_a_range_is_never_compressed(client):
    r = client.get("/static/viewer.js", headers={"Range": "bytes=0-9", "Accept-Encoding": "gzip, br"})
    assert r.status_code == 206 and "Content-Encoding" not in r.headers and len(r.data) == 10


def test_pages_are_not_compressed(client):
    """HTML with CSRF tokens beside reflected input is never compressed (BREACH)."""
    r = client.get("/search?q=惠山", headers={"Accept-Encoding": "gzip, br"})
    assert "Content-Encoding" not in r.headers


@pytest.mark.parametrize("url", ["/", "/search?q=章程", "/items/doc"])
def test_pages_without_the_viewer_stay_within_200_kb(client, text_item, url):
    page = client.get(url)
    assert page.status_code == 200
    assets = ASSET.findall(page.get_data(as_text=True))
    assert assets, "the page loads no CSS at all?"
    total = 0
    for asset in assets:
        r = client.get(asset.replace("&amp;", "&"), headers={"Accept-Encoding": "br, gzip"})
        assert r.status_code == 200, asset
        total += len(r.data)
    assert "mirador" not in " ".join(assets)
    assert total <= 200 * 1024, (url, total, assets)
