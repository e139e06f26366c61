"""Rendering IIIF image requests from the pyramidal TIFFs that ingest makes (pyvips).

A pyramid (``ingest/steps/image.py``) is a tiled (256 × 256), JPEG-compressed TIFF whose pages are
the image at full size, half size, a quarter… A request is answered from the smallest level that
still has the pixels it needs, and only the tiles under the region are decoded; the full-size
image is never decoded whole. A request that is exactly one stored tile (what OpenSeadragon and
Mirador ask for) is answered with the stored JPEG bytes themselves, made a complete JPEG by
putting the TIFF's shared JPEG tables in front (TIFF 6.0 technote 2, "JPEGTables").

Each worker process keeps its open pyramids (``open_pyramid``) and the tiles it decoded
(``decoded``; stored JPEG tiles are decoded by simplejpeg, a few times quicker than a libvips
crop), so a region of a few tiles is a copy of decoded pixels; small images are encoded in memory
(JPEG by simplejpeg, others by Pillow: quicker than libvips' savers at tile size), large ones
stream through libvips.
Renderings that are more than such a copy go to a bounded on-disk cache (``DiskCache``) that the
workers share.
"""
from __future__ import annotations

import hashlib
import io
import os
import shutil
import struct
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import simplejpeg

# isort: off
from PIL import Image, ImageFont  # noqa: F401  (ImageFont before pyvips: see ingest/steps/image.py)
import pyvips
# isort: on

from media.tools import stop_at

from .errors import IIIFError
from .image import ImageRequest, Rotation

QUALITY = 85  # JPEG/WebP quality: the same as the stored pyramid tiles (ingest.steps.image.QUALITY)
OPEN_PYRAMIDS = 16  # pyramids each worker keeps open
IN_MEMORY = 4_000_000  # images up to this many pixels are encoded in memory (Pillow); larger ones stream


class ImagingError(IIIFError):
    """A pyramid could not be read or an image could not be made; the message names the file."""


class Overloaded(IIIFError):
    """An image was not made because it took longer than its time budget or too many others
    were being made (the web layer answers 503 with Retry-After)."""


# -- reading the TIFF structure (TIFF 6.0 §2; BigTIFF) ---------------------------------------

_TAGS = {256: "width", 257: "height", 259: "compression", 262: "photometric", 322: "tile_width",
         323: "tile_height", 324: "offsets", 325: "counts", 347: "jpeg_tables"}
_TYPES = {1: "B", 2: "B", 3: "H", 4: "I", 7: "B", 16: "Q"}  # BYTE, ASCII, SHORT, LONG, UNDEFINED, LONG8
JPEG, YCBCR, MINISBLACK = 7, 6, 1


@dataclass(frozen=True)
class Level:
    """One page of the pyramid: its size and where its tiles are."""
    page: int
    width: int
    height: int
    tile_width: int = 0  # 0: not tiled
    tile_height: int = 0
    offsets: tuple[int, ...] = ()
    counts: tuple[int, ...] = ()
    jpeg_tables: bytes | None = None
    raw_jpeg: bool = False  # its tiles are JPEG streams a browser can show as they are


def read_levels(path: Path) -> list[Level]:
    """The pages of a TIFF (the main IFD chain), largest first."""
    with open(path, "rb") as f:
        head = f.read(16)
        order = {b"II": "<", b"MM": ">"}.get(head[:2])
        if order is None:
            raise ImagingError(f"{path.name} is not a TIFF file")
        big = struct.unpack(order + "H", head[2:4])[0] == 43
        word, entry = ("Q", 20) if big else ("I", 12)
        offset = struct.unpack(order + word, head[8:16] if big else head[4:8])[0]
        levels, seen = [], set()
        while offset and offset not in seen:
            seen.add(offset)
            f.seek(offset)
            count = struct.unpack(order + ("Q" if big else "H"), f.read(8 if big else 2))[0]
            raw = f.read(count * entry + struct.calcsize(word))
            tags = {}
            for i in range(count):
                e = raw[i * entry:(i + 1) * entry]
                tag, kind = struct.unpack(order + "HH", e[:4])
                if tag not in _TAGS or kind not in _TYPES:
                    continue
                n = struct.unpack(order + word, e[4:12] if big else e[4:8])[0]
                size = struct.calcsize(_TYPES[kind]) * n
                inline = e[12:20] if big else e[8:12]
                if size <= len(inline):
                    data = inline[:size]
                else:
                    f.seek(struct.unpack(order + word, inline)[0])
                    data = f.read(size)
                tags[_TAGS[tag]] = data if kind == 7 else struct.unpack(order + _TYPES[kind] * n, data)
            offset = struct.unpack(order + word, raw[count * entry:])[0]
            one = {k: v[0] for k, v in tags.items() if isinstance(v, tuple) and k not in ("offsets", "counts")}
            tiled = "tile_width" in tags
            levels.append(Level(
                len(levels), one["width"], one["height"], one.get("tile_width", 0), one.get("tile_height", 0),
                tags.get("offsets", ()) if tiled else (), tags.get("counts", ()) if tiled else (),
                tags.get("jpeg_tables"),
                tiled and one.get("compression") == JPEG and one.get("photometric") in (YCBCR, MINISBLACK)))
    return levels


# -- open pyramids --------------------------------------------------------------------------

class Pyramid:
    """An open pyramidal TIFF: its levels, the pyvips image of each level, raw tile reads."""

    def __init__(self, path: Path):
        self.path = Path(path)
        try:
            self.levels = read_levels(self.path)
            # every page opened now: a pyvips image holds its file open, so a cached copy that is
            # evicted from disk later still reads
            self.pages = [pyvips.Image.tiffload(str(self.path), page=lv.page, access="random")
                          for lv in self.levels]
        except (OSError, KeyError, struct.error, pyvips.Error) as exc:
            raise ImagingError(f"the image pyramid {self.path.name} cannot be read: {exc}") from exc
        self.file = open(self.path, "rb", buffering=0)  # closed with the last reference to it
        self.width, self.height = self.levels[0].width, self.levels[0].height
        self.bands = self.pages[0].bands
        self.uchar = all(page.format == "uchar" for page in self.pages)  # 8 bits: tiles can be copied
        self.interpretation = self.pages[0].interpretation

    def scale_factors(self) -> list[int]:
        """The levels as IIIF scale factors (§5.4): 1, 2, 4…"""
        return sorted({round(self.width / lv.width) for lv in self.levels})

    def level_for(self, w: int, h: int, out_w: int, out_h: int) -> Level:
        """The smallest level in which a w × h full-size region still has out_w × out_h pixels."""
        for level in reversed(self.levels):
            if w * level.width / self.width + 0.5 >= out_w and h * level.height / self.height + 0.5 >= out_h:
                return level
        return self.levels[0]

    def level_box(self, level: Level, region) -> tuple[int, int, int, int]:
        """A full-size region (x, y, w, h) in the level's pixels."""
        x, y, w, h = region
        sx, sy = level.width / self.width, level.height / self.height
        lx, ly = min(round(x * sx), level.width - 1), min(round(y * sy), level.height - 1)
        return lx, ly, max(1, min(round((x + w) * sx), level.width) - lx), \
            max(1, min(round((y + h) * sy), level.height) - ly)

    def stored_tile(self, req: ImageRequest) -> bytes | None:
        """The stored JPEG tile that is exactly the requested image, if there is one."""
        if req.format != "jpg" or req.quality not in ("default", "color") or req.rotation.mirror \
                or req.rotation.degrees not in (0, 360):
            return None
        level = self.level_for(req.region[2], req.region[3], *req.size)
        if not level.raw_jpeg:
            return None
        lx, ly, lw, lh = self.level_box(level, req.region)
        tw, th = level.tile_width, level.tile_height
        if (lw, lh) != req.size or (lw, lh) != (tw, th) or lx % tw or ly % th \
                or lx + tw > level.width or ly + th > level.height:
            return None  # not one whole tile (edge tiles are stored padded)
        return self._jpeg(level, lx // tw, ly // th)

    def _jpeg(self, level: Level, col: int, row: int) -> bytes | None:
        """A stored tile of a ``raw_jpeg`` level as a complete JPEG (None if it is not one)."""
        index = row * -(-level.width // level.tile_width) + col
        data = os.pread(self.file.fileno(), level.counts[index], level.offsets[index])
        if data[:2] != b"\xff\xd8":
            return None
        if level.jpeg_tables:  # tables: SOI … EOI; tile: SOI … EOI → SOI tables frame EOI
            data = level.jpeg_tables[:-2] + data[2:]
        return data

    def _tiles(self, level: Level, lx: int, ly: int, lw: int, lh: int) -> tuple[range, range] | None:
        """The stored tiles (columns, rows) under a level region, if they are few enough to copy
        the region together from decoded tiles."""
        tw, th = level.tile_width, level.tile_height
        if not tw or decoded.max_bytes <= 0 or not self.uchar:
            return None
        cols, rows = range(lx // tw, (lx + lw - 1) // tw + 1), range(ly // th, (ly + lh - 1) // th + 1)
        return (cols, rows) if len(cols) * len(rows) <= 16 else None

    def region(self, level: Level, lx: int, ly: int, lw: int, lh: int) -> np.ndarray | pyvips.Image:
        """A region of a level: the pixels copied together from the worker's decoded tiles
        (``decoded``; only tiles not there yet are decoded), or, larger, a lazy libvips crop."""
        tiles = self._tiles(level, lx, ly, lw, lh)
        if tiles is None:
            return self.pages[level.page].crop(lx, ly, lw, lh)
        tw, th = level.tile_width, level.tile_height
        out = np.empty((lh, lw, self.bands), np.uint8)
        for r in tiles[1]:
            for c in tiles[0]:
                tile = decoded.get((self.path, level.page, c, r), lambda c=c, r=r: self._decode(level, c, r))
                x0, y0 = max(lx, c * tw), max(ly, r * th)
                x1, y1 = min(lx + lw, c * tw + tile.shape[1]), min(ly + lh, r * th + tile.shape[0])
                out[y0 - ly:y1 - ly, x0 - lx:x1 - lx] = tile[y0 - r * th:y1 - r * th, x0 - c * tw:x1 - c * tw]
        return out

    def _decode(self, level: Level, col: int, row: int) -> np.ndarray:
        """One stored tile, decoded (the last column and row are cut at the level's edge)."""
        x, y = col * level.tile_width, row * level.tile_height
        w, h = min(level.tile_width, level.width - x), min(level.tile_height, level.height - y)
        data = self._jpeg(level, col, row) if level.raw_jpeg and self.bands in (1, 3) else None
        if data is not None:  # the stored JPEG decoded as a browser would, without a libvips pipeline
            try:
                tile = simplejpeg.decode_jpeg(data, colorspace="RGB" if self.bands == 3 else "GRAY")
            except ValueError:  # not one simplejpeg reads (libvips says what is wrong with it)
                tile = None
            if tile is not None and tile.shape == (level.tile_height, level.tile_width, self.bands):
                return tile if (w, h) == tile.shape[1::-1] else np.ascontiguousarray(tile[:h, :w])
        pixels = self.pages[level.page].crop(x, y, w, h).write_to_memory()
        return np.frombuffer(pixels, np.uint8).reshape(h, w, self.bands)

    def cheap(self, req: ImageRequest) -> bool:
        """Whether the image is a few decoded tiles copied together, at most turned by quarter
        turns: quicker to make again than to keep in the disk cache."""
        level = self.level_for(req.region[2], req.region[3], *req.size)
        box = self.level_box(level, req.region)
        return box[2:] == req.size and req.rotation.quarter_turns is not None \
            and self._tiles(level, *box) is not None

    def render(self, req: ImageRequest, deadline: float | None = None) -> bytes:
        """Region, then size, then mirroring and rotation, then quality, then format (§4.6).
        libvips stops computing when ``deadline`` (time.monotonic()) passes: Overloaded."""
        level = self.level_for(req.region[2], req.region[3], *req.size)
        lx, ly, lw, lh = self.level_box(level, req.region)
        out_w, out_h = req.size
        try:
            image = self.region(level, lx, ly, lw, lh)
            if isinstance(image, np.ndarray):
                if (lw, lh) == req.size and req.rotation in (Rotation(0), Rotation(360)) \
                        and req.quality in ("default", "color"):
                    return _save(image, req)  # a plain copy of decoded tiles
                image = pyvips.Image.new_from_memory(image.data, lw, lh, self.bands, "uchar").copy(
                    interpretation=self.interpretation)
            if (lw, lh) != (out_w, out_h):
                image = image.resize(out_w / lw, vscale=out_h / lh)
                if (image.width, image.height) != (out_w, out_h):  # rounding in resize
                    image = image.embed(0, 0, out_w, out_h, extend="copy")
            if req.rotation.mirror:
                image = image.fliphor()
            turns = req.rotation.quarter_turns
            if turns is None:  # §4.3: transparent corners where the format allows, else white
                if req.format != "jpg":
                    image = image.bandjoin(255)
                image = image.rotate(req.rotation.degrees, background=[0 if req.format != "jpg" else 255] * image.bands)
            elif turns:
                image = image.rot(f"d{turns * 90}")
            image = _quality(image, req.quality)
            with stop_at(image, deadline):
                if image.width * image.height > IN_MEMORY:
                    return _encode(image, req)
                pixels = np.frombuffer(image.write_to_memory(), np.uint8)
            _check(deadline, req)
            return _save(pixels.reshape(image.height, image.width, image.bands), req)
        except pyvips.Error as exc:
            _check(deadline, req)
            raise ImagingError(f"the image {self.path.name} could not be rendered ({req.canonical}): "
                               f"{exc.message}") from exc


def _check(deadline: float | None, req: ImageRequest) -> None:
    if deadline is not None and time.monotonic() > deadline:
        raise Overloaded(f"the image {req.canonical} took longer than this server's time budget")


def _quality(image: pyvips.Image, quality: str) -> pyvips.Image:
    """§4.4: color/default as stored; gray; bitonal (black or white, threshold at mid grey)."""
    if quality in ("default", "color"):
        return image
    alpha = None
    if image.bands in (2, 4):
        image, alpha = image.extract_band(0, n=image.bands - 1), image[image.bands - 1]
    if image.bands >= 3:
        image = image.colourspace("b-w")
    if quality == "bitonal":
        image = (image > 127).copy(interpretation="b-w")  # relational operators give 0 or 255
    return image if alpha is None else image.bandjoin(alpha)


def _save(pixels: np.ndarray, req: ImageRequest) -> bytes:
    """Encode pixels in memory: JPEG with simplejpeg, the others with Pillow (for small images
    quicker than libvips' savers, whose pipeline set-up dominates there)."""
    if req.format == "jpg" and pixels.shape[2] in (1, 3):  # libjpeg-turbo as Pillow's, with less around it
        # the fast integer DCT, as IIPImage encodes (JDCT_FASTEST): a few % quicker, the same quality setting
        return simplejpeg.encode_jpeg(np.ascontiguousarray(pixels), quality=QUALITY, fastdct=True,
                                      colorspace="RGB" if pixels.shape[2] == 3 else "GRAY", colorsubsampling="420")
    image = Image.fromarray(pixels[:, :, 0] if pixels.shape[2] == 1 else pixels)
    out = io.BytesIO()
    if req.format == "jpg":
        image.save(out, "JPEG", quality=QUALITY)
    elif req.format == "png":
        if req.quality == "bitonal" and image.mode == "L":
            image = image.convert("1", dither=Image.Dither.NONE)  # 1 bit per pixel
        image.save(out, "PNG", compress_level=6)
    else:
        image.save(out, "WEBP", quality=QUALITY)
    return out.getvalue()


def _encode(image: pyvips.Image, req: ImageRequest) -> bytes:
    """Encode a large image with libvips, which streams it."""
    if req.format == "jpg":
        return image.jpegsave_buffer(Q=QUALITY, strip=True)
    if req.format == "png":
        bits = {"bitdepth": 1} if req.quality == "bitonal" and image.bands == 1 else {}
        return image.pngsave_buffer(strip=True, compression=6, **bits)
    return image.webpsave_buffer(Q=QUALITY, strip=True)


class TileMemory:
    """Decoded tiles (arrays of pixels) by key, the least recently used dropped first beyond
    ``max_bytes``; one per worker process, shared by its threads."""

    def __init__(self, max_bytes: int):
        self.max_bytes, self.size = max_bytes, 0
        self._tiles: OrderedDict[tuple, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: tuple, decode) -> np.ndarray:
        with self._lock:
            tile = self._tiles.get(key)
            if tile is not None:
                self._tiles.move_to_end(key)
                return tile
        tile = decode()
        with self._lock:
            if key not in self._tiles:
                self._tiles[key] = tile
                self.size += tile.nbytes
                while self.size > self.max_bytes and self._tiles:
                    self.size -= self._tiles.popitem(last=False)[1].nbytes
        return tile


decoded = TileMemory(64 * 1024 * 1024)  # the blueprint sets the size from FANGZHI_IIIF_MEMORY_MB
_open: OrderedDict[str, Pyramid] = OrderedDict()
_open_lock = threading.Lock()


def open_pyramid(key: str, locate: Callable[[], Path]) -> Pyramid:
    """The open pyramid whose content ``key`` names (its digest), kept per worker process (stored
    content never changes); ``locate()`` gives its file path when it is not open yet."""
    with _open_lock:
        pyramid = _open.get(key)
        if pyramid is not None:
            _open.move_to_end(key)
            return pyramid
    pyramid = Pyramid(locate())
    with _open_lock:
        _open[key] = pyramid
        while len(_open) > OPEN_PYRAMIDS:  # (a request still using it keeps it open)
            _open.popitem(last=False)
    return pyramid


# -- the on-disk cache ----------------------------------------------------------------------

class DiskCache:
    """Files under ``folder`` by key, evicting the oldest when they pass ``max_bytes``.

    Several worker processes share the folder. Each one counts what it writes and, after every
    5 % of the limit, measures the folder and (above 80 %) deletes the oldest files down to 60 %:
    with up to four writers the folder stays within the limit.
    """

    def __init__(self, folder: Path, max_bytes: int):
        self.folder, self.max_bytes = Path(folder), max_bytes
        self._written = max_bytes  # measure on the first write
        self._lock = threading.Lock()

    @staticmethod
    def key(*parts: str) -> str:
        return hashlib.sha256("\n".join(parts).encode()).hexdigest()

    def path(self, key: str, suffix: str = "") -> Path:
        return self.folder / key[:2] / f"{key}{suffix}"

    def get(self, key: str) -> bytes | None:
        if self.max_bytes <= 0:
            return None
        try:
            return self.path(key).read_bytes()
        except OSError:
            return None

    def put(self, key: str, data: bytes) -> None:
        if self.max_bytes <= 0 or len(data) > self.max_bytes // 10:
            return
        self.put_stream(key, data)

    def put_stream(self, key: str, data, suffix: str = "") -> Path:
        """Store bytes or a readable stream under ``key`` (atomically); return its path."""
        target = self.path(key, suffix)
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(f".{target.name}.{os.getpid()}.{threading.get_ident()}.tmp")
        with open(tmp, "wb") as f:
            if isinstance(data, (bytes, bytearray)):
                f.write(data)
            else:
                shutil.copyfileobj(data, f, 1 << 20)
            size = f.tell()
        os.replace(tmp, target)
        with self._lock:
            self._written += size
            due = self._written >= self.max_bytes / 20
            if due:
                self._written = 0
        if due:
            self.trim()
        return target

    def size(self) -> int:
        return sum(size for _, size, _ in self._entries())

    def trim(self) -> None:
        entries = sorted(self._entries(), key=lambda e: e[2])  # oldest first
        total = sum(size for _, size, _ in entries)
        if total <= self.max_bytes * 0.8:
            return
        for path, size, _ in entries:
            if total <= self.max_bytes * 0.6:
                break
            try:
                os.unlink(path)
                total -= size
            except FileNotFoundError:
                pass

    def _entries(self):
        try:
            folders = list(os.scandir(self.folder))
        except FileNotFoundError:
            return
        for folder in folders:
            if not folder.is_dir():
                continue
            try:
                files = list(os.scandir(folder.path))
            except FileNotFoundError:
                continue
            for entry in files:
                try:
                    st = entry.stat()
                except FileNotFoundError:
                    continue
                yield entry.path, st.st_size, st.st_mtime


def local_pyramid(stored, sources: DiskCache) -> Path:
    """A file path of a stored pyramid (a ``StoredFile``): the stored file itself (local disk) or
    a copy kept in ``sources`` (S3), since libvips reads files."""
    path = stored.on_disk()
    if path is not None:
        return path
    sha256 = stored.file.sha256
    copy = sources.path(sha256, ".tif")
    if not copy.exists():
        with stored.open() as stream:
            copy = sources.put_stream(sha256, stream, ".tif")
    return copy
