"""The IIIF Image API 3.0 (level 2) under /iiif/3/: image requests, image information, the base
URI redirect. Views stay thin: the identifier is resolved through the access policy
(iiif.identifiers), parameters are parsed by iiif.image, pixels are made by iiif.imaging.

Every response carries CORS headers (§7.3), and errors are answered here, once, as the Image API
asks, with the status web/errors.py gives each kind: 400/501 for requests (§7.1), 404 for an
unknown or hidden image, 401 (anonymous) or 403 (signed in) for a restricted one.
"""
from __future__ import annotations

import json
import math
import re
from functools import lru_cache
from urllib.parse import quote

from flask import Blueprint, Response, current_app, redirect, request, url_for
from flask_login.config import COOKIE_NAME as REMEMBER
from werkzeug.http import parse_cookie
from werkzeug.wsgi import get_current_url

from iiif import image as iiif
from iiif.errors import IIIFError
from iiif.imaging import DiskCache, Overloaded
from iiif.server import ImageServer
from repository.access import ANONYMOUS
from repository.errors import RepositoryError

from . import address, errors
from .auth import limiter
from .csp import CSP, VARY, security_headers
from .context import archive, current_user

bp = Blueprint("iiif_image", __name__, url_prefix="/iiif/3")
limiter.exempt(bp)  # only logins are rate-limited; a viewer asks for hundreds of tiles
LD_JSON = f'application/ld+json;profile="{iiif.CONTEXT}"'  # §5.1
MAX_AGE = 3600  # public images may be cached an hour (a later restriction reaches caches by then)


def _server() -> ImageServer:
    return current_app.extensions["fangzhi"].images


def _open(identifier: str):
    """The stored pyramid of an identifier the user may see, and the pyramid opened."""
    return _server().open(archive(), identifier, user=current_user())


CACHE_CONTROL = {True: f"public, max-age={MAX_AGE}", False: "private, no-store"}  # by StoredFile.public


@bp.get("/<identifier>")
def base(identifier):
    """§2.2: the base URI redirects to the image information."""
    _open(identifier)
    return redirect(url_for(".info", identifier=identifier), 303)


@bp.get("/<identifier>/info.json")
def info(identifier):
    """§5: the image information document."""
    stored, pyramid = _open(identifier)
    image_id = url_for(".base", identifier=identifier, _external=True)
    # §5.1: JSON-LD unless the client asks for plain JSON
    ctype = request.accept_mimetypes.best_match([LD_JSON.split(";")[0], "application/json"],
                                                default="application/ld+json")
    ctype = LD_JSON if ctype != "application/json" else "application/json"
    etag = DiskCache.key(stored.file.sha256, image_id, repr(_server().limits), ctype)
    headers = {"Cache-Control": CACHE_CONTROL[stored.public], "Vary": "Accept"}
    if request.if_none_match.contains(etag):
        return Response(status=304, headers={**headers, "ETag": f'"{etag}"'})
    body = _server().info(pyramid, image_id)
    response = Response(json.dumps(body, ensure_ascii=False), content_type=ctype, headers=headers)
    response.set_etag(etag)
    return response


@bp.get("/<identifier>/<region>/<size>/<rotation>/<quality_format>")
def image(identifier, region, size, rotation, quality_format):
    """§4: region, size, rotation, quality and format of one image."""
    server = _server()
    pyramid, req, key, headers = _prepare(server, archive(), request.environ, current_user(), identifier, region,
                                          size, rotation, quality_format)
    if request.if_none_match.contains(key):
        return Response(status=304, headers=headers)
    data = server.image(pyramid, req, key)
    return Response(data, mimetype=iiif.FORMATS[req.format], headers=headers)


def _prepare(server: ImageServer, archive, environ: dict, user, identifier: str, *segments: str):
    """What an image request needs (after the access checks): the pyramid, the parsed request,
    its cache key (and ETag), and its headers."""
    stored, pyramid = server.open(archive, identifier, user=user)
    req = server.parse(pyramid, *segments)
    key = DiskCache.key(stored.file.sha256, req.canonical)
    canonical = f"{_root(environ)}iiif/3/{_quote(identifier)}/{req.canonical}"
    return pyramid, req, key, [("Link", f'<{canonical}>;rel="canonical",<{iiif.PROFILE_URI}>;rel="profile"'),  # §4.8, §6
                               ("Cache-Control", CACHE_CONTROL[stored.public]), ("ETag", f'"{key}"')]


def _root(environ: dict) -> str:
    """The application's root URL (``get_current_url(environ, root_only=True)``), worked out
    once for each of the few scheme, host and script name combinations a server sees."""
    return _root_of(environ.get("wsgi.url_scheme"), environ.get("HTTP_HOST"), environ.get("SERVER_NAME"),
                    environ.get("SERVER_PORT"), environ.get("SCRIPT_NAME", ""))


@lru_cache(maxsize=64)
def _root_of(scheme, host, server_name, server_port, script_name) -> str:
    names = ("wsgi.url_scheme", "HTTP_HOST", "SERVER_NAME", "SERVER_PORT", "SCRIPT_NAME")
    values = (scheme, host, server_name, server_port, script_name)
    return get_current_url({k: v for k, v in zip(names, values) if v is not None}, root_only=True)


@lru_cache(maxsize=1024)
def _quote(identifier: str) -> str:
    return quote(identifier, safe=SAFE)


SAFE = "!$&'()*+,:;=@~"  # what a URL path segment keeps unescaped (RFC 3986 §3.3), as url_for does
IMAGE_PATH = re.compile(r"/iiif/3/([^/]+)/([^/]+)/([^/]+)/([^/]+)/([^/]+)")  # the route of ``image``
CORS = [("Access-Control-Allow-Origin", "*"), ("Access-Control-Expose-Headers", "Link, ETag")]


def fast_path(app, wsgi_app):
    """WSGI: an anonymous request for an image that needs no rendering slot (a stored tile, a
    copy of decoded tiles, an image in the disk cache: what viewers ask for) answered by the
    ``image`` view's own steps without Flask's request machinery (contexts, session, hooks).
    Anything else — a cookie or token that may sign someone in, a conditional request, a
    rendering, any error — goes to ``wsgi_app``, which makes the same answer as before."""
    server, archive_ = app.extensions["fangzhi"].images, app.extensions["fangzhi"].archive
    signed_in = (app.config["SESSION_COOKIE_NAME"], app.config.get("REMEMBER_COOKIE_NAME", REMEMBER))
    always = CORS + [("Content-Security-Policy", CSP), *security_headers(app.config["FANGZHI"]),
                     ("Vary", ", ".join(VARY))]

    def serve(environ, start_response):
        match = IMAGE_PATH.fullmatch(environ.get("PATH_INFO", ""))
        if match is None or environ.get("REQUEST_METHOD") != "GET" or environ.get(address.UNTRUSTED) \
                or "HTTP_AUTHORIZATION" in environ or "HTTP_IF_NONE_MATCH" in environ \
                or ("HTTP_COOKIE" in environ and not parse_cookie(environ).keys().isdisjoint(signed_in)):
            return wsgi_app(environ, start_response)
        try:
            pyramid, req, key, headers = _prepare(server, archive_, environ, ANONYMOUS, *match.groups())
            data = server.quick(pyramid, req, key)
        except Exception:  # noqa: BLE001 - the view answers it (an error as the Image API asks)
            data = None
        if data is None:
            return wsgi_app(environ, start_response)
        start_response("200 OK", [("Content-Type", iiif.FORMATS[req.format]), ("Content-Length", str(len(data))),
                                  *headers, *always])
        return [data]

    return serve


@bp.after_request
def cors(response):
    """§7.3: any site may use the images and the information (CORS, including preflight)."""
    response.headers.update(CORS)
    if request.method == "OPTIONS":
        response.headers["Access-Control-Allow-Methods"] = "GET, HEAD, OPTIONS"
        response.headers["Access-Control-Allow-Headers"] = "Authorization, Accept, If-None-Match"
        response.headers["Access-Control-Max-Age"] = "86400"
    return response


def _error(status: int, message: str, headers=None):
    body = json.dumps({"error": status, "message": message}, ensure_ascii=False)
    return Response(body, status=status, content_type="application/json", headers=headers or {})


@bp.errorhandler(RepositoryError)
@bp.errorhandler(IIIFError)
def error(exc):
    status, headers = errors.status(exc), {}
    if status == 403 and current_user().is_anonymous:  # may be seen after signing in
        status, headers = 401, {"WWW-Authenticate": 'Bearer realm="fangzhi"'}
    elif isinstance(exc, Overloaded):  # RFC 9110 §15.6.4, §10.2.3: not made now, may be asked again later
        headers = {"Retry-After": str(math.ceil(_server().render_seconds)), "Cache-Control": "no-store"}
    elif status == 500:
        current_app.logger.exception("IIIF image failed")
    return _error(status, str(exc), headers)
