"""The image step: a pyramidal TIFF per page for the IIIF image server, a thumbnail, and the
technical metadata (dimensions, EXIF) with suggestions for the item (date taken, GPS place).

Everything goes through libvips (pyvips), which streams images in small regions: a 24-megapixel
scan is never decoded whole into Python memory. Two libvips 8.14 behaviours shape the code:

* ``tiffsave(pyramid=True)`` crashes the process (SIGSEGV) when its source fails to decode part
  way (a truncated JPEG, a corrupt PNG or TIFF): the error path of the pyramid writer is broken
  in the installed 8.14.1. So every page is first decoded whole with ``fail_on="error"``, which
  raises a normal error, and only a page that decodes cleanly is fed to the pyramid writer: up
  to IN_MEMORY bytes into memory, the pyramid then built from that copy (one decode in all);
  larger pages through a cheap sink (``avg``), then decoded again, streaming.
* a sequential load can only be read top to bottom, so an EXIF orientation that needs rows out
  of order (180° and the 90° turns) opens the image with random access instead (libvips then
  decodes it once to memory, or to a temporary file above 100 MB).
"""
from __future__ import annotations

import datetime
import os
import re
from itertools import pairwise
from pathlib import Path

# isort: off
# Pillow's text rendering (ImageFont, used by web/demo.py and the tests) must load its bundled
# FreeType before libvips loads the system one: imported the other way round, in one process,
# Pillow measures and draws text with garbage sizes (bbox x = -1498284, or a
# DecompressionBombError). Measured with Pillow 13 wheels and Debian's libvips 8.14.
from PIL import ImageFont  # noqa: F401  (imported for its side effect, before pyvips)
import pyvips
# isort: on

from ..safety import HEAD, identify
from . import Derivative, StepError, StepResult

MAX_PIXELS = 250_000_000  # the same default as ingest.safety.Limits.max_pixels
TILE = 256
THUMBNAIL = 400  # long edge of thumbnail.jpg, in pixels
QUALITY = 85
IN_MEMORY = 200 << 20  # a page of at most this many decoded bytes (~70 MP RGB) is decoded once, to memory

# Loaders by sniffed media type. Naming the loader (rather than letting libvips guess) keeps
# hostile files away from the catch-all ImageMagick loader, which libvips would try last.
LOADERS = {
    "image/jpeg": "jpegload",
    "image/png": "pngload",
    "image/tiff": "tiffload",
    "image/webp": "webpload",
    "image/gif": "gifload",
    "image/heic": "heifload",
    "image/heif": "heifload",
    "image/avif": "heifload",
    "image/jp2": "jp2kload",
}
MULTI_PAGE = {"tiffload", "webpload", "gifload", "heifload"}  # loaders that take page=/n=
# EXIF orientations whose correction reads rows out of order (1 is upright, 2 a mirror).
NEEDS_RANDOM_ACCESS = {3, 4, 5, 6, 7, 8}
TURNED = {5, 6, 7, 8}  # width and height swap


def photo(original: Path, media_type: str, work: Path, *, max_pixels: int = MAX_PIXELS) -> StepResult:
    """Pyramid(s), thumbnail, tech and suggested metadata for a raster image.

    One page: ``pyramid.tif`` (role pyramid) and ``thumbnail.jpg``. Several pages (multi-page
    TIFF, animated GIF/WebP, HEIF sequences): ``p0001.tif``, ``p0002.tif``… with sequence 1, 2…
    and a thumbnail of page 1. Outputs already in ``work`` are kept (they are written under a
    temporary name and renamed when complete, so an existing file is a whole one).

    ``media_type`` is not trusted: the format is read from the file's first bytes.
    """
    original = Path(original)
    loader = loader_for(original)
    first, pages = _pages(original, loader, max_pixels)
    work.mkdir(parents=True, exist_ok=True)

    derivatives = []
    for number, page in enumerate(pages, 1):
        name = "pyramid.tif" if len(pages) == 1 else f"p{number:04d}.tif"
        target = work / name
        if not target.exists():
            _write_atomic(target, lambda tmp, page=page: save_pyramid(original, loader, page, tmp))
        derivatives.append(Derivative(name, target, "image/tiff", "pyramid",
                                      sequence=None if len(pages) == 1 else number,
                                      tech=_pyramid_tech(target)))

    thumb = work / "thumbnail.jpg"
    if not thumb.exists():
        _write_atomic(thumb, lambda tmp: _save_thumbnail(original, loader, first, pages[0], tmp))
    header = pyvips.Image.new_from_file(str(thumb))
    derivatives.append(Derivative("thumbnail.jpg", thumb, "image/jpeg", "thumbnail",
                                  tech={"width": header.width, "height": header.height}))

    exif, metadata = read_exif(original, first)
    width, height = upright_size(first)
    tech = {"width": width, "height": height, "format": loader.removesuffix("load"),
            "bands": first.bands, "bits": _bits(first), "colourspace": first.interpretation}
    if len(pages) > 1:
        tech["pages"] = len(pages)
    if _orientation(first) != 1:
        tech["orientation"] = _orientation(first)
    if exif:
        tech["exif"] = exif
    return StepResult(derivatives=derivatives, tech=tech, metadata=metadata)


# -- opening --------------------------------------------------------------------------------


def loader_for(original: Path) -> str:
    """The libvips loader for the file's real format (by its first bytes, not its name)."""
    try:
        with open(original, "rb") as f:
            head = f.read(HEAD)
    except OSError as exc:
        raise StepError(f"the image cannot be read: {exc.strerror or exc}") from exc
    if not head:
        raise StepError("the image is damaged: the file is empty (0 bytes)")
    kind = identify(head)
    loader = LOADERS.get(kind or "")
    if loader is None:
        raise StepError(f"the file is not an image format this step reads ({kind or 'unknown format'})")
    if not hasattr(pyvips.Image, loader):  # e.g. libvips built without libheif
        raise StepError(f"this server cannot read {kind} images (libvips has no {loader})")
    return loader


def open_page(original: Path, loader: str, page: int | None, *, access: str = "sequential") -> pyvips.Image:
    """One page of the image, lazily (only the header is read here).

    ``fail_on="error"`` makes a truncated or corrupt file an error, while the harmless warnings
    many cameras and scanners produce (extra bytes after a marker) still load.
    """
    options = {"access": access, "fail_on": "error"}
    if page is not None:
        options.update(page=page, n=1)
    try:
        return getattr(pyvips.Image, loader)(str(original), **options)
    except pyvips.Error as exc:
        raise StepError(f"the image is damaged: {vips_reason(exc)}") from exc


def _pages(original: Path, loader: str, max_pixels: int) -> tuple[pyvips.Image, list[int | None]]:
    """The first page's header, and the pages to make pyramids of (``[None]``: a single image),
    each page within the pixel limit.

    A pyramidal TIFF original (each page half the size of the one before) is one image: its
    pages are its own reduced copies, not pages of a document.
    """
    first = open_page(original, loader, None)
    count = first.get("n-pages") if loader in MULTI_PAGE and first.get_typeof("n-pages") else 1
    sizes = [(first.width, first.height)] if count == 1 else \
        [(im.width, im.height) for im in (open_page(original, loader, p) for p in range(count))]
    for width, height in sizes:
        if width * height > max_pixels:
            raise StepError(f"the image has {width} × {height} pixels, more than the limit of "
                            f"{max_pixels:,} pixels")
    if count == 1 or _is_reduced_chain(sizes):
        return first, [None]
    return first, list(range(count))


def _is_reduced_chain(sizes: list[tuple[int, int]]) -> bool:
    return all(abs(w - big_w / 2) <= 1 and abs(h - big_h / 2) <= 1
               for (big_w, big_h), (w, h) in pairwise(sizes))


# -- making the outputs ---------------------------------------------------------------------


def save_pyramid(original: Path, loader: str, page: int | None, target: Path) -> None:
    """A tiled (256 × 256), JPEG-compressed pyramidal TIFF of one page, upright 8-bit sRGB/grey.

    A page of up to IN_MEMORY bytes is decoded once, into memory (a damaged file fails there, not
    in the pyramid writer) and the pyramid is built from that copy; a larger one is decoded twice,
    streaming (once to check it, once to write), so that memory stays flat whatever its size."""
    image = open_page(original, loader, page)
    if image.width * image.height * image.bands * _bytes_per_sample(image) <= IN_MEMORY:
        try:
            image = image.copy_memory()
        except pyvips.Error as exc:
            raise StepError(f"the image is damaged: {vips_reason(exc)}") from exc
    else:
        _check_decodes(original, loader, page)
        if _orientation(image) in NEEDS_RANDOM_ACCESS:
            image = open_page(original, loader, page, access="random")
    image = display_ready(image.autorot())
    try:
        # strip: the derivative carries pixels only; the original keeps EXIF/GPS and profile.
        image.tiffsave(str(target), tile=True, tile_width=TILE, tile_height=TILE, pyramid=True,
                       compression="jpeg", Q=QUALITY, strip=True)
    except pyvips.Error as exc:
        raise StepError(f"the image is damaged: {vips_reason(exc)}") from exc


def _save_thumbnail(original: Path, loader: str, header: pyvips.Image, page: int | None, target: Path) -> None:
    """thumbnail.jpg: the page within 400 × 400 (never enlarged)."""
    try:
        display_ready(shrunk(original, loader, header, page, THUMBNAIL)).jpegsave(str(target), Q=QUALITY, strip=True)
    except pyvips.Error as exc:
        raise StepError(f"the image is damaged: {vips_reason(exc)}") from exc


def shrunk(original: Path, loader: str, header: pyvips.Image, page: int | None, longest: int) -> pyvips.Image:
    """The page upright and, if larger, shrunk to fit ``longest`` × ``longest`` pixels.

    Shrinking uses libvips' thumbnail, which decodes only what it needs (JPEG shrink-on-load, the
    right level of a pyramidal TIFF), applies the EXIF orientation and imports CMYK to sRGB; an
    embedded RGB profile (Adobe RGB scans) is honoured by asking for sRGB output. Its
    ``size="down"`` is avoided on purpose: in libvips 8.14 it picks a far too small pyramid level
    (a 6000 px pyramidal TIFF gave 187 px for 2500 asked), so "never enlarge" is decided here.
    """
    width, height = upright_size(header)
    if max(width, height) <= longest:
        return open_page(original, loader, page, access="random").autorot()
    options = {"export_profile": "srgb"} if _rgb_profile(header) else {}
    source = pyvips.Source.new_from_file(str(original))  # a source: no option parsing of the name
    return pyvips.Image.thumbnail_source(source, longest, height=longest,
                                         option_string="" if page is None else f"page={page}", **options)


def _check_decodes(original: Path, loader: str, page: int | None) -> None:
    """Decode the page once, streaming, so that damage raises here and not inside tiffsave
    (whose pyramid writer in libvips 8.14 crashes the process on a read error)."""
    try:
        open_page(original, loader, page).avg()
    except pyvips.Error as exc:
        raise StepError(f"the image is damaged: {vips_reason(exc)}") from exc


def display_ready(image: pyvips.Image) -> pyvips.Image:
    """The image as 8-bit sRGB (or 8-bit grey for grey sources) without alpha.

    CMYK goes through its embedded ICC profile (or libvips' built-in CMYK profile), RGB with an
    embedded profile (Adobe RGB, eciRGB scans) through that profile, since the derivatives are
    saved without one and viewers assume sRGB; 16-bit and other colour spaces are converted by
    ``colourspace``; transparency is flattened onto white, as a viewer would show it on a page.
    """
    try:
        if image.interpretation == "cmyk":
            image = image.icc_transform("srgb", input_profile="cmyk", embedded=True, depth=8)
        elif _rgb_profile(image):
            image = image.icc_transform("srgb", embedded=True, depth=8)
    except pyvips.Error:
        pass  # an unusable embedded profile: convert without it below
    grey = image.bands - (1 if image.hasalpha() else 0) < 3
    target = "b-w" if grey else "srgb"
    if image.interpretation != target or image.format != "uchar":
        if image.interpretation == "multiband" and image.format == "uchar":
            # No colour space named (some TIFFs): take the pixels as they are.
            image = image.copy(interpretation=target)
        else:
            image = image.colourspace(target)
    if image.hasalpha():
        image = image.flatten(background=[255] * (image.bands - 1))
    elif image.bands not in (1, 3):  # stray extra bands, e.g. grey + unassociated data
        image = image.extract_band(0, n=1 if grey else 3)
    if image.format != "uchar":
        image = image.cast("uchar")
    return image


def _write_atomic(target: Path, write) -> None:
    """Run ``write(temporary_path)`` then rename onto ``target``: a file under the final name is
    always complete, which is what makes the step resumable."""
    tmp = target.with_name(f".{target.name}.{os.getpid()}.partial{target.suffix}")
    try:
        write(tmp)
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)


def _rgb_profile(image: pyvips.Image) -> bool:
    """Whether an RGB image carries an ICC profile of its own."""
    return image.interpretation in ("srgb", "rgb16") and bool(image.get_typeof("icc-profile-data"))


def _pyramid_tech(path: Path) -> dict:
    header = pyvips.Image.new_from_file(str(path))
    levels = header.get("n-pages") if header.get_typeof("n-pages") else 1
    return {"width": header.width, "height": header.height, "tile": TILE, "levels": levels}


# -- header facts ---------------------------------------------------------------------------


def _orientation(image: pyvips.Image) -> int:
    value = image.get("orientation") if image.get_typeof("orientation") else 1
    return value if 1 <= value <= 8 else 1


def upright_size(image: pyvips.Image) -> tuple[int, int]:
    """Width and height as shown, after the EXIF orientation (what the pyramid has)."""
    if _orientation(image) in TURNED:
        return image.height, image.width
    return image.width, image.height


def _bytes_per_sample(image: pyvips.Image) -> int:
    return max(1, _bits(image) // 8)


def _bits(image: pyvips.Image) -> int:
    return {"uchar": 8, "char": 8, "ushort": 16, "short": 16, "uint": 32, "int": 32,
            "float": 32, "double": 64}.get(image.format, 8)


def vips_reason(exc: pyvips.Error) -> str:
    """The first line libvips gave, without the loader's prefix ("VipsJpeg: …")."""
    text = next((line.strip() for line in (exc.detail or exc.message or "").splitlines() if line.strip()),
                "libvips could not read it")
    return re.sub(r"^\w+: ", "", text, count=1)


# -- EXIF -----------------------------------------------------------------------------------

_EXIF_IFD, _GPS_IFD = 0x8769, 0x8825
_MAKE, _MODEL, _DATE_ORIGINAL = 0x010F, 0x0110, 0x9003
_DATE_RE = re.compile(r"^\s*(\d{4}):(\d{2}):(\d{2})(?:[ T](\d{2}):(\d{2}):(\d{2}))?")


def read_exif(original: Path, image: pyvips.Image) -> tuple[dict, dict]:
    """EXIF facts for ``tech["exif"]`` and the item fields they suggest.

    The EXIF block comes from libvips (JPEG, PNG, WebP, HEIF/AVIF) or, for TIFF, whose EXIF is a
    sub-directory libvips does not expose, from Pillow (which reads tags only, not pixels).
    EXIF is a bonus: an unreadable block gives no facts rather than a failed step.
    """
    from PIL import Image

    try:
        exif = Image.Exif()
        if image.get_typeof("exif-data"):
            exif.load(image.get("exif-data"))
        else:
            with Image.open(original) as pil:
                exif = pil.getexif()
        sub, gps = exif.get_ifd(_EXIF_IFD), exif.get_ifd(_GPS_IFD)
    except Exception:  # noqa: BLE001 - any malformed block means "no EXIF"
        return {}, {}

    facts, metadata = {}, {}
    for key, tag in (("make", _MAKE), ("model", _MODEL)):
        text = _text(exif.get(tag))
        if text:
            facts[key] = text
    taken = _date_taken(_text(sub.get(_DATE_ORIGINAL)))
    if taken:
        facts["date_taken"], metadata["date"] = taken[0], {"edtf": taken[1]}
    position = _gps(gps)
    if position:
        lat, lon = position
        facts["latitude"], facts["longitude"] = lat, lon
        metadata["places"] = [{"name": {"zh": f"GPS {lat:.2f},{lon:.2f}"}, "coordinates": [lat, lon]}]
    return facts, metadata


def _text(value) -> str:
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    return str(value).replace("\x00", "").strip() if value is not None else ""


def _date_taken(value: str) -> tuple[str, str] | None:
    """("1936-05-04T10:20:00", "1936-05-04") from EXIF "1936:05:04 10:20:00".

    Zero month or day (as some scanners write for an unknown part) shortens the EDTF date to the
    known part; a zero year or an impossible date gives nothing.
    """
    match = _DATE_RE.match(value or "")
    if not match:
        return None
    year, month, day = (int(g) for g in match.groups()[:3])
    if year == 0:
        return None
    if month == 0:
        return f"{year:04d}", f"{year:04d}"
    if day == 0:
        return f"{year:04d}-{month:02d}", f"{year:04d}-{month:02d}"
    try:
        date = datetime.date(year, month, day)
    except ValueError:
        return None
    if match.group(4) is None:
        return date.isoformat(), date.isoformat()
    hour, minute, second = (int(g) for g in match.groups()[3:])
    if hour > 23 or minute > 59 or second > 59:
        return date.isoformat(), date.isoformat()
    return f"{date.isoformat()}T{hour:02d}:{minute:02d}:{second:02d}", date.isoformat()


def _gps(gps: dict) -> tuple[float, float] | None:
    """Decimal degrees from the GPS IFD (EXIF 2.3 §4.6.6: GPSLatitudeRef 1, GPSLatitude 2,
    GPSLongitudeRef 3, GPSLongitude 4; degrees, minutes, seconds as rationals)."""
    try:
        lat = _degrees(gps[2]) * (-1 if _text(gps.get(1)).upper() == "S" else 1)
        lon = _degrees(gps[4]) * (-1 if _text(gps.get(3)).upper() == "W" else 1)
    except (KeyError, TypeError, ValueError, ZeroDivisionError):
        return None
    if not (-90 <= lat <= 90 and -180 <= lon <= 180) or (lat == 0 and lon == 0):
        return None  # 0,0 is what cameras without a fix write
    return round(lat, 6), round(lon, 6)


def _degrees(value) -> float:
    d, m, s = (float(v) for v in value)
    return d + m / 60 + s / 3600
