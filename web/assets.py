"""The site's static assets (web/static, the npm libraries of web.vendor, Mirador): versioned URLs
(``?v=`` the first 12 hex digits of the file's SHA-256, added by ``url_for``), long-lived caching of
a URL whose version is the file's own (RFC 9111 §5.2.2: max-age; RFC 8246 immutable), and
compression (brotli or gzip by Flask-Compress, each file compressed once and kept while it is
unchanged). Only assets are compressed: pages carrying CSRF tokens beside reflected input are not
(BREACH)."""
from __future__ import annotations

import hashlib
import threading
from pathlib import Path

from flask import Flask, current_app, request
from flask_compress import Compress

from . import iiif_presentation, vendor

YEAR = 365 * 24 * 3600
ASSET_TYPES = ("text/css", "text/javascript", "application/javascript", "image/svg+xml", "application/json")
_versions: dict[tuple[str, float, int], str] = {}  # (path, mtime, size) → version
_lock = threading.Lock()


class _AssetCache:
    """Compressed assets by (algorithm, path, version): bounded by the listed files."""

    def __init__(self):
        self.values: dict[str, bytes] = {}

    def get(self, key: str) -> bytes | None:
        return self.values.get(key)

    def set(self, key: str, value: bytes) -> None:
        self.values[key] = value


def asset_path(endpoint: str | None, values: dict) -> Path | None:
    """The file an asset URL names, or None when it names none that is served."""
    if endpoint == "static":
        path = (Path(current_app.static_folder) / values.get("filename", "")).resolve()
        return path if path.is_file() and Path(current_app.static_folder).resolve() in path.parents else None
    if endpoint == "vendor.asset":
        folder, files = vendor.VENDOR.get(values.get("package"), (None, ()))
        return vendor.node_modules() / folder / values["name"] if values.get("name") in files else None
    if endpoint == "iiif_presentation.mirador" and values.get("name") in iiif_presentation.MIRADOR_FILES:
        return iiif_presentation.mirador_folder() / values["name"]
    return None


def version(path: Path) -> str | None:
    """The file's version: its content's SHA-256, 12 hex digits (computed once per change)."""
    try:
        stat = path.stat()
    except OSError:
        return None
    key = (str(path), stat.st_mtime, stat.st_size)
    if key not in _versions:
        digest = hashlib.sha256(path.read_bytes()).hexdigest()[:12]
        with _lock:
            _versions[key] = digest
    return _versions[key]


def init_app(app: Flask) -> None:
    """Register before the app's own after_request (which marks signed-in answers no-store):
    Flask runs after_request functions last-registered first, so this one has the last word."""
    app.config.update(COMPRESS_REGISTER=False, COMPRESS_MIMETYPES=list(ASSET_TYPES),
                      COMPRESS_ALGORITHM=["br", "gzip"], COMPRESS_BR_LEVEL=9, COMPRESS_LEVEL=9,
                      COMPRESS_CACHE_BACKEND=_AssetCache,
                      COMPRESS_CACHE_KEY=lambda req: f"{req.path}@{_current(req)}")
    compress = Compress(app)

    @app.url_defaults
    def versioned(endpoint, values):
        if "v" not in values and (path := asset_path(endpoint, values)) is not None:
            values["v"] = version(path)

    @app.after_request
    def cache_and_compress(response):
        if request.endpoint not in ("static", "vendor.asset", "iiif_presentation.mirador"):
            return response
        current = _current(request)
        if current and request.args.get("v") == current:  # this URL's bytes never change
            response.headers["Cache-Control"] = f"public, max-age={YEAR}, immutable"
        else:  # an old or missing version: revalidate each time
            response.headers["Cache-Control"] = "public, no-cache"
        if response.status_code == 200 and current and request.headers.get("Accept-Encoding"):  # never a 206 part
            response.direct_passthrough = False  # whole, so that it is compressed once and kept (cache)
            response.set_data(response.get_data())
            response = compress.after_request(response)
        return response


def _current(req) -> str | None:
    path = asset_path(req.endpoint, dict(req.view_args or {}))
    return version(path) if path is not None else None
