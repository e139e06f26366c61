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
import threading
import time
from contextlib import contextmanager
from pathlib import Path

from flask import Blueprint, Response, current_app, redirect, request, url_for

from iiif import image as iiif
from iiif import imaging
from iiif.identifiers import open_image
from iiif.errors import IIIFError
from iiif.imaging import DiskCache, Overloaded, Pyramid, local_pyramid, open_pyramid
from repository.errors import RepositoryError

from . import errors
from .auth import limiter
from .context import archive, current_user

bp = Blueprint("iiif_image", __name__, url_prefix="/iiif/3")
limiter.exempt(bp)  # only logins are rate-limited; a viewer asks for hundreds of tiles
LD_JSON = f'application/ld+json;profile="{iiif.CONTEXT}"'  # §5.1
MAX_AGE = 3600  # public images may be cached an hour (a later restriction reaches caches by then)


def _limits() -> iiif.Limits:
    s = current_app.config["FANGZHI"]
    return iiif.Limits(s["IIIF_MAX_WIDTH"], s["IIIF_MAX_HEIGHT"], s["IIIF_MAX_AREA"], s["IIIF_MAX_UPSCALE"])


RENDER_QUEUE_SECONDS = 1.0  # how long a render waits for a free slot before the 503


@contextmanager
def render_slot():
    """One of the IIIF_RENDERS slots of this process for an image rendered with libvips (stored
    tiles, copies of decoded tiles and cached images need none), and its deadline; Overloaded
    when none frees up soon."""
    s = current_app.config["FANGZHI"]
    slots = current_app.extensions.get("fangzhi.iiif_renders")
    if slots is None:
        slots = current_app.extensions.setdefault("fangzhi.iiif_renders",
                                                  threading.BoundedSemaphore(s["IIIF_RENDERS"]))
    if not slots.acquire(timeout=RENDER_QUEUE_SECONDS):
        raise Overloaded("the image server is busy making other images")
    try:
        yield time.monotonic() + s["IIIF_RENDER_SECONDS"]
    finally:
        slots.release()


def _caches() -> tuple[DiskCache, DiskCache]:
    """(generated images, local copies of pyramids kept in S3), made once per app."""
    caches = current_app.extensions.get("fangzhi.iiif_caches")
    if caches is None:
        settings = current_app.config["FANGZHI"]
        folder = Path(settings["DATA_DIR"]) / "cache" / "iiif"
        size = settings["IIIF_CACHE_MB"] * 1024 * 1024
        caches = current_app.extensions["fangzhi.iiif_caches"] = (
            DiskCache(folder / "images", size), DiskCache(folder / "sources", size))
        imaging.decoded.max_bytes = settings["IIIF_MEMORY_MB"] * 1024 * 1024
        # Requests run side by side, each one small: one libvips thread each serves them best
        # (libvips' own default, a thread per core for every request, oversubscribes the cores).
        imaging.pyvips.concurrency_set(1)
        imaging.pyvips.cache_set_max(0)  # no request repeats an operation: libvips' cache only holds memory
    return caches


def _open(identifier: str):
    """The stored pyramid of an identifier the user may see, and the pyramid opened."""
    stored, sources = open_image(archive(), identifier, user=current_user()), _caches()[1]
    return stored, open_pyramid(stored.file.sha256, lambda: local_pyramid(stored, sources))


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
    limits = _limits()
    image_id = url_for(".base", identifier=identifier, _external=True)
    # §5.1: JSON-LD unless the client asks for plain JSON
    ctype = request.accept_mimetypes.best_match([LD_JSON.split(";")[0], "application/json"],
                                                default="application/ld+json")
    ctype = LD_JSON if ctype != "application/json" else "application/json"
    etag = DiskCache.key(stored.file.sha256, image_id, repr(limits), ctype)
    headers = {"Cache-Control": _cache_control(stored.public), "Vary": "Accept"}
    if request.if_none_match.contains(etag):
        return Response(status=304, headers={**headers, "ETag": f'"{etag}"'})
    body = {
        "@context": iiif.CONTEXT, "id": image_id, "type": "ImageService3", "protocol": iiif.PROTOCOL,
        "profile": iiif.PROFILE, "width": pyramid.width, "height": pyramid.height,
        "maxWidth": limits.max_width, "maxHeight": limits.max_height, "maxArea": limits.max_area,
        "sizes": _sizes(pyramid, limits),
        "tiles": [{"width": lv.tile_width, "height": lv.tile_height, "scaleFactors": pyramid.scale_factors()}
                  for lv in pyramid.levels[:1] if lv.tile_width],
        "extraFormats": iiif.EXTRA_FORMATS, "extraQualities": iiif.EXTRA_QUALITIES,
        "extraFeatures": [f for f in iiif.EXTRA_FEATURES if f != "sizeUpscaling" or limits.max_upscale > 1],
    }
    response = Response(json.dumps(body, ensure_ascii=False), content_type=ctype, headers=headers)
    response.set_etag(etag)
    return response


def _sizes(pyramid: Pyramid, limits: iiif.Limits) -> list[dict]:
    """§5.3: the pyramid's levels (cheapest to make) within the limits, smallest first."""
    return [{"width": lv.width, "height": lv.height} for lv in reversed(pyramid.levels)
            if lv.width <= limits.max_width and lv.height <= limits.max_height
            and lv.width * lv.height <= limits.max_area]


@bp.get("/<identifier>/<region>/<size>/<rotation>/<quality_format>")
def image(identifier, region, size, rotation, quality_format):
    """§4: region, size, rotation, quality and format of one image."""
    stored, pyramid = _open(identifier)
    req = iiif.ImageRequest.parse(region, size, rotation, quality_format,
                                  width=pyramid.width, height=pyramid.height, limits=_limits())
    key = DiskCache.key(stored.file.sha256, req.canonical)
    canonical = url_for(".base", identifier=identifier, _external=True) + "/" + req.canonical
    headers = {"Link": f'<{canonical}>;rel="canonical",<{iiif.PROFILE_URI}>;rel="profile"',  # §4.8, §6
               "Cache-Control": _cache_control(stored.public), "ETag": f'"{key}"'}
    if request.if_none_match.contains(key):
        return Response(status=304, headers=headers)
    data = pyramid.stored_tile(req)
    if data is None:
        images, cheap = _caches()[0], pyramid.cheap(req)
        data = None if cheap else images.get(key)
        if data is None and cheap:  # a copy of a few decoded tiles: made again quicker than read from disk
            data = pyramid.render(req)
        elif data is None:
            with render_slot() as deadline:
                data = pyramid.render(req, deadline)
            images.put(key, data)
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
        retry = math.ceil(current_app.config["FANGZHI"]["IIIF_RENDER_SECONDS"])
        headers = {"Retry-After": str(retry), "Cache-Control": "no-store"}
    elif status == 500:
        current_app.logger.exception("IIIF image failed")
    return _error(status, str(exc), headers)
