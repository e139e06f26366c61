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

from flask import Blueprint, Response, current_app, redirect, request, url_for

from iiif import image as iiif
from iiif.errors import IIIFError
from iiif.imaging import DiskCache, Overloaded
from iiif.server import ImageServer
from repository.errors import RepositoryError

from . import errors
from .auth import limiter
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


def _cache_control(public: bool) -> str:
    return f"public, max-age={MAX_AGE}" if public else "private, no-store"


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
    headers = {"Cache-Control": _cache_control(stored.public), "Vary": "Accept"}
    if request.if_none_match.contains(etag):
        return Response(status=304, headers={**headers, "ETag": f'"{etag}"'})
    body = _server().info(pyramid, image_id)
    response = Response(json.dumps(body, ensure_ascii=False), content_type=ctype, headers=headers)
    response.set_etag(etag)
    return response


@bp.get("/<identifier>/<region>/<size>/<rotation>/<quality_format>")
def image(identifier, region, size, rotation, quality_format):
    """§4: region, size, rotation, quality and format of one image."""
    stored, pyramid = _open(identifier)
    req = _server().parse(pyramid, region, size, rotation, quality_format)
    key = DiskCache.key(stored.file.sha256, req.canonical)
    canonical = url_for(".base", identifier=identifier, _external=True) + "/" + req.canonical
    headers = {"Link": f'<{canonical}>;rel="canonical",<{iiif.PROFILE_URI}>;rel="profile"',  # §4.8, §6
               "Cache-Control": _cache_control(stored.public), "ETag": f'"{key}"'}
    if request.if_none_match.contains(key):
        return Response(status=304, headers=headers)
    data = _server().image(pyramid, req, key)
    return Response(data, mimetype=iiif.FORMATS[req.format], headers=headers)


@bp.after_request
def cors(response):
    """§7.3: any site may use the images and the information (CORS, including preflight)."""
    response.headers["Access-Control-Allow-Origin"] = "*"
    response.headers["Access-Control-Expose-Headers"] = "Link, ETag"
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
