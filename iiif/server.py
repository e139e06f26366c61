"""The IIIF Image API's work behind its routes (web/iiif_image.py): the pyramid an identifier
opens for a user, its image information, and each image from a stored tile, a copy of decoded
tiles, the disk cache or a rendering — the renderings bounded per process and timed.

One ``ImageServer`` per process, built by the composition root (fangzhi.bootstrap) from settings.
"""
from __future__ import annotations

import threading
import time
from contextlib import contextmanager
from pathlib import Path

from . import image as iiif
from . import imaging
from .identifiers import open_image
from .imaging import DiskCache, Overloaded, Pyramid, local_pyramid, open_pyramid

RENDER_QUEUE_SECONDS = 1.0  # how long a rendering waits for a free slot before Overloaded (503)


class ImageServer:
    def __init__(self, limits: iiif.Limits, cache: Path, *, cache_bytes: int, memory_bytes: int,
                 renders: int, render_seconds: float):
        self.limits, self.render_seconds = limits, render_seconds
        self.images = DiskCache(cache / "images", cache_bytes)  # generated images
        self.sources = DiskCache(cache / "sources", cache_bytes)  # local copies of pyramids kept in S3
        self._slots = threading.BoundedSemaphore(renders)
        imaging.decoded.max_bytes = memory_bytes
        # Requests run side by side, each one small: one libvips thread each serves them best
        # (libvips' own default, a thread per core for every request, oversubscribes the cores).
        imaging.pyvips.concurrency_set(1)
        imaging.pyvips.cache_set_max(0)  # no request repeats an operation: libvips' cache only holds memory

    @classmethod
    def from_settings(cls, settings: dict, cache: Path) -> ImageServer:
        return cls(iiif.Limits(settings["IIIF_MAX_WIDTH"], settings["IIIF_MAX_HEIGHT"], settings["IIIF_MAX_AREA"],
                               settings["IIIF_MAX_UPSCALE"]),
                   cache, cache_bytes=settings["IIIF_CACHE_MB"] * 1024 * 1024,
                   memory_bytes=settings["IIIF_MEMORY_MB"] * 1024 * 1024,
                   renders=settings["IIIF_RENDERS"], render_seconds=settings["IIIF_RENDER_SECONDS"])

    def open(self, archive, identifier: str, *, user):
        """The stored pyramid of an identifier ``user`` may see, and the pyramid opened."""
        stored = open_image(archive, identifier, user=user)
        return stored, open_pyramid(stored.file.sha256, lambda: local_pyramid(stored, self.sources))

    def parse(self, pyramid: Pyramid, region: str, size: str, rotation: str, quality_format: str) -> iiif.ImageRequest:
        return iiif.ImageRequest.parse(region, size, rotation, quality_format,
                                       width=pyramid.width, height=pyramid.height, limits=self.limits)

    def info(self, pyramid: Pyramid, image_id: str) -> dict:
        """§5: the image information of ``pyramid``, served at ``image_id``."""
        limits = self.limits
        return {
            "@context": iiif.CONTEXT, "id": image_id, "type": "ImageService3", "protocol": iiif.PROTOCOL,
            "profile": iiif.PROFILE, "width": pyramid.width, "height": pyramid.height,
            "maxWidth": limits.max_width, "maxHeight": limits.max_height, "maxArea": limits.max_area,
            "sizes": self._sizes(pyramid),
            "tiles": [{"width": lv.tile_width, "height": lv.tile_height, "scaleFactors": pyramid.scale_factors()}
                      for lv in pyramid.levels[:1] if lv.tile_width],
            "extraFormats": iiif.EXTRA_FORMATS, "extraQualities": iiif.EXTRA_QUALITIES,
            "extraFeatures": [f for f in iiif.EXTRA_FEATURES if f != "sizeUpscaling" or limits.max_upscale > 1],
        }

    def _sizes(self, pyramid: Pyramid) -> list[dict]:
        """§5.3: the pyramid's levels (cheapest to make) within the limits, smallest first."""
        limits = self.limits
        return [{"width": lv.width, "height": lv.height} for lv in reversed(pyramid.levels)
                if lv.width <= limits.max_width and lv.height <= limits.max_height
                and lv.width * lv.height <= limits.max_area]

    def image(self, pyramid: Pyramid, req: iiif.ImageRequest, key: str) -> bytes:
        """The image of ``req``: ``quick`` if it is, else rendered in one of the process's slots
        (and kept in the disk cache under ``key``)."""
        data = self.quick(pyramid, req, key)
        if data is None:
            with self.render_slot() as deadline:
                data = pyramid.render(req, deadline)
            self.images.put(key, data)
        return data

    def quick(self, pyramid: Pyramid, req: iiif.ImageRequest, key: str) -> bytes | None:
        """The image of ``req`` if it needs no rendering slot: a stored tile as it is, a copy of a
        few decoded tiles made again, or what the disk cache has under ``key``; else None."""
        data = pyramid.stored_tile(req)
        if data is not None:
            return data
        if pyramid.cheap(req):  # made again quicker than read from disk
            return pyramid.render(req)
        return self.images.get(key)

    @contextmanager
    def render_slot(self):
        """A rendering slot of this process and the rendering's deadline; Overloaded when none
        frees up soon."""
        if not self._slots.acquire(timeout=RENDER_QUEUE_SECONDS):
            raise Overloaded("the image server is busy making other images")
        try:
            yield time.monotonic() + self.render_seconds
        finally:
            self._slots.release()
