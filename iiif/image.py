"""IIIF Image API 3.0 request parameters as value objects (https://iiif.io/api/image/3.0/).

Each URL segment — region, size, rotation, quality, format — is parsed here into an object that
knows its canonical form (§4.8), so the imaging code never parses IIIF syntax. ``ImageRequest``
puts them together for one image: the region in pixels, the output size, and the canonical path.
Errors carry the HTTP status the spec asks for (§7.1): 400 for a malformed or impossible request,
501 for a valid request of something this server does not implement.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass

from .errors import IIIFError

CONTEXT = "http://iiif.io/api/image/3/context.json"
PROTOCOL = "http://iiif.io/api/image"
PROFILE = "level2"
PROFILE_URI = "http://iiif.io/api/image/3/level2.json"
QUALITIES = ("default", "color", "gray", "bitonal")  # §4.4
FORMATS = {"jpg": "image/jpeg", "png": "image/png", "webp": "image/webp"}  # §4.5: what we serve
OTHER_FORMATS = ("tif", "gif", "jp2", "pdf")  # §4.5: valid IIIF formats this server does not make
# §5.7: beyond what the level 2 profile requires
EXTRA_QUALITIES = ["color", "gray", "bitonal"]
EXTRA_FORMATS = ["webp"]
EXTRA_FEATURES = ["canonicalLinkHeader", "mirroring", "profileLinkHeader", "rotationArbitrary", "sizeUpscaling"]

# §4.7: floating point values are decimal digits and "." only (no sign, no exponent).
_NUMBER = r"(?:\d+(?:\.\d*)?|\.\d+)"
_PIXELS_RE = re.compile(r"^(\d+),(\d+),(\d+),(\d+)$")
_PCT_REGION_RE = re.compile(rf"^pct:({_NUMBER}),({_NUMBER}),({_NUMBER}),({_NUMBER})$")
_SIZE_RE = re.compile(rf"^(\^)?(?:(max)|pct:({_NUMBER})|(!)?(\d+)?,(\d+)?)$")
_ROTATION_RE = re.compile(rf"^(!)?({_NUMBER})$")


class ImageRequestError(IIIFError):
    """A request the image server refuses; ``status`` is the HTTP status (§7.1)."""
    status = 400


class NotImplementedFeature(ImageRequestError):
    """A valid IIIF request for something this server does not implement (501)."""
    status = 501


@dataclass(frozen=True)
class Limits:
    """Server-imposed size limits, as published in info.json (§5.2), applied to the image as
    returned (after rotation); ``max_upscale``: how many times wider and higher than its region
    an image may be made (§4.2 lets a server refuse upscaling it does not want to do)."""
    max_width: int
    max_height: int
    max_area: int
    max_upscale: float = math.inf


def _round(value: float) -> int:
    """Half up (Python's round() takes halves to even: 62.5 → 62)."""
    return math.floor(value + 0.5)


def _number(text: str) -> str:
    """A float written as §4.7 recommends: an integer where possible, else no trailing zeros."""
    return f"{float(text):.10f}".rstrip("0").rstrip(".")


# -- §4.1 Region ----------------------------------------------------------------------------

@dataclass(frozen=True)
class Region:
    kind: str  # full | square | pixels | percent
    values: tuple[float, ...] = ()

    @classmethod
    def parse(cls, text: str) -> Region:
        if text in ("full", "square"):
            return cls(text)
        if m := _PIXELS_RE.match(text):
            return cls("pixels", tuple(int(v) for v in m.groups()))
        if m := _PCT_REGION_RE.match(text):
            return cls("percent", tuple(float(v) for v in m.groups()))
        raise ImageRequestError(f"region {text!r} is not full, square, x,y,w,h or pct:x,y,w,h")

    def box(self, width: int, height: int) -> tuple[int, int, int, int]:
        """(x, y, w, h) in pixels of a width × height image, cropped at the image's edges."""
        if self.kind == "full":
            return 0, 0, width, height
        if self.kind == "square":  # centred on the longer dimension
            side = min(width, height)
            return (width - side) // 2, (height - side) // 2, side, side
        if self.kind == "pixels":
            x, y, w, h = self.values
        else:
            px, py, pw, ph = self.values
            x, y = _round(px * width / 100), _round(py * height / 100)
            w, h = _round(pw * width / 100), _round(ph * height / 100)
        if w == 0 or h == 0:
            raise ImageRequestError("the region has zero width or height")
        if x >= width or y >= height:
            raise ImageRequestError(f"the region starts outside the {width} × {height} image")
        return x, y, min(w, width - x), min(h, height - y)


# -- §4.2 Size ------------------------------------------------------------------------------

@dataclass(frozen=True)
class Size:
    kind: str  # max | pct | w | h | wh | confined
    upscale: bool = False  # the ^ prefix
    width: int | None = None
    height: int | None = None
    percent: float | None = None

    @classmethod
    def parse(cls, text: str) -> Size:
        m = _SIZE_RE.match(text)
        if not m:
            raise ImageRequestError(f"size {text!r} is not max, w,, ,h, w,h, !w,h or pct:n (each may start with ^)")
        up, is_max, pct, confined, w, h = m.groups()
        upscale = bool(up)
        if is_max:
            return cls("max", upscale)
        if pct is not None:
            if float(pct) == 0:
                raise ImageRequestError("size pct:0 makes an empty image")
            return cls("pct", upscale, percent=float(pct))
        width, height = (int(w) if w else None), (int(h) if h else None)
        if width == 0 or height == 0:
            raise ImageRequestError(f"size {text!r} asks for zero pixels")
        if confined:
            if width is None or height is None:
                raise ImageRequestError(f"size {text!r}: !w,h needs both a width and a height")
            return cls("confined", upscale, width, height)
        if width is None and height is None:
            raise ImageRequestError("size ',' names neither a width nor a height")
        kind = "wh" if width and height else "w" if width else "h"
        return cls(kind, upscale, width, height)

    def resolve(self, rw: int, rh: int, limits: Limits, rotation: Rotation | None = None) -> tuple[int, int]:
        """The output width and height (before rotation) for a region of rw × rh pixels; the
        limits bind the image as returned, after ``rotation``."""
        if self.kind == "max":
            w, h = _fit(rw, rh, limits, 1.0 if not self.upscale else limits.max_upscale, rotation)
        elif self.kind == "pct":
            w, h = max(1, _round(rw * self.percent / 100)), max(1, _round(rh * self.percent / 100))
        elif self.kind == "w":
            w, h = self.width, max(1, _round(rh * self.width / rw))
        elif self.kind == "h":
            w, h = max(1, _round(rw * self.height / rh)), self.height
        elif self.kind == "wh":
            w, h = self.width, self.height
        else:  # confined: as large as possible within w × h. A box larger than the region on
            # both sides needs upscaling to fill it, so without ^ it is refused (as the official
            # validator's size_noup test expects of "!2000,3000" for a 1000 × 1000 image).
            scale = min(self.width / rw, self.height / rh)
            w, h = min(self.width, max(1, _round(rw * scale))), min(self.height, max(1, _round(rh * scale)))
        if not self.upscale and (w > rw or h > rh):
            raise ImageRequestError(f"size {w} × {h} is larger than the {rw} × {rh} region: "
                                    "upscaling needs the ^ prefix (§4.2)")
        if w > limits.max_upscale * rw or h > limits.max_upscale * rh:
            raise ImageRequestError(f"size {w} × {h} is more than {limits.max_upscale:g} times the {rw} × {rh} "
                                    f"region: this server upscales at most {limits.max_upscale:g} times")
        out_w, out_h = rotated(w, h, rotation)
        if not _within(out_w, out_h, limits):
            turned = f" ({out_w} × {out_h} once rotated)" if (out_w, out_h) != (w, h) else ""
            raise ImageRequestError(f"size {w} × {h}{turned} is beyond this server's limits (maxWidth "
                                    f"{limits.max_width}, maxHeight {limits.max_height}, maxArea {limits.max_area})")
        return w, h

    def canonical(self, w: int, h: int, rw: int, rh: int, limits: Limits, rotation: Rotation | None = None) -> str:
        """§4.8: max, ^max, w,h or ^w,h."""
        if (w, h) == _fit(rw, rh, limits, 1.0, rotation):
            return "max"
        if self.upscale and (w, h) == _fit(rw, rh, limits, limits.max_upscale, rotation):
            return "^max"
        return f"{'^' if w > rw or h > rh else ''}{w},{h}"


def _within(w: int, h: int, limits: Limits) -> bool:
    return w <= limits.max_width and h <= limits.max_height and w * h <= limits.max_area


def rotated(w: int, h: int, rotation: Rotation | None) -> tuple[int, int]:
    """The size of a w × h image turned by ``rotation`` (§4.3: the bounding box of the turned
    image, rounded up, so it is never less than what libvips makes)."""
    bw, bh = _turned(w, h, rotation)
    return math.ceil(bw - 1e-9), math.ceil(bh - 1e-9)


def _turned(w: float, h: float, rotation: Rotation | None) -> tuple[float, float]:
    turns = rotation.quarter_turns if rotation else 0
    if turns is not None:
        return (h, w) if turns % 2 else (w, h)
    a = math.radians(rotation.degrees)
    c, s = abs(math.cos(a)), abs(math.sin(a))
    return w * c + h * s, w * s + h * c


def _fit(rw: int, rh: int, limits: Limits, most: float, rotation: Rotation | None = None) -> tuple[int, int]:
    """The largest size of a rw × rh region that is within the limits once rotated, scaled by at
    most ``most``."""
    bw, bh = _turned(rw, rh, rotation)
    scale = min(most, limits.max_width / bw, limits.max_height / bh, math.sqrt(limits.max_area / (bw * bh)))
    if scale == 1.0:
        return rw, rh
    while True:  # the rotated box is rounded up: shrink by a pixel until it fits
        w = max(1, min(math.floor(rw * scale + 1e-9), limits.max_width))
        h = max(1, min(math.floor(rh * scale + 1e-9), limits.max_height))
        if _within(*rotated(w, h, rotation), limits) or (w, h) == (1, 1):
            return w, h
        scale *= 1 - 1 / max(w, h)


# -- §4.3 Rotation --------------------------------------------------------------------------

@dataclass(frozen=True)
class Rotation:
    degrees: float
    mirror: bool = False  # §4.3: mirrored on the vertical axis before rotating

    @classmethod
    def parse(cls, text: str) -> Rotation:
        m = _ROTATION_RE.match(text)
        if not m or float(m.group(2)) > 360:
            raise ImageRequestError(f"rotation {text!r} is not a number of degrees from 0 to 360, "
                                    "optionally after ! (mirroring)")
        return cls(float(m.group(2)), bool(m.group(1)))

    @property
    def canonical(self) -> str:
        return ("!" if self.mirror else "") + _number(str(self.degrees))

    @property
    def quarter_turns(self) -> int | None:
        """The rotation in quarter turns (0–3), or None for an arbitrary angle."""
        turns = self.degrees / 90
        return int(turns) % 4 if turns == int(turns) else None


# -- §4.4 Quality and §4.5 Format -----------------------------------------------------------

def parse_quality(text: str) -> str:
    if text not in QUALITIES:
        raise ImageRequestError(f"quality {text!r} is not one of {', '.join(QUALITIES)}")
    return text


def parse_format(text: str) -> str:
    if text in FORMATS:
        return text
    if text in OTHER_FORMATS:
        raise NotImplementedFeature(f"format {text} is not served here; ask for {', '.join(FORMATS)}")
    raise ImageRequestError(f"format {text!r} is not an image format of the IIIF Image API")


# -- a whole request ------------------------------------------------------------------------

@dataclass(frozen=True)
class ImageRequest:
    """One image request resolved against an image's full size: what the imaging code needs."""
    region: tuple[int, int, int, int]  # x, y, w, h in full-size pixels
    size: tuple[int, int]  # output width and height before rotation
    rotation: Rotation
    quality: str
    format: str
    canonical: str  # region/size/rotation/quality.format in canonical form (§4.8)

    @classmethod
    def parse(cls, region: str, size: str, rotation: str, quality_format: str, *,
              width: int, height: int, limits: Limits) -> ImageRequest:
        """Parse the four URL segments after the identifier for a width × height image."""
        quality, dot, fmt = quality_format.rpartition(".")
        if not dot:
            raise ImageRequestError(f"{quality_format!r} is not quality.format (e.g. default.jpg)")
        reg, sz, rot = Region.parse(region), Size.parse(size), Rotation.parse(rotation)
        q, f = parse_quality(quality), parse_format(fmt)
        box = reg.box(width, height)
        out = sz.resolve(box[2], box[3], limits, rot)
        region_text = "full" if box == (0, 0, width, height) else ",".join(map(str, box))
        canonical = f"{region_text}/{sz.canonical(*out, box[2], box[3], limits, rot)}/{rot.canonical}/{q}.{f}"
        return cls(box, out, rot, q, f, canonical)
