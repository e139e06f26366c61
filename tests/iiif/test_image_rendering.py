"""Rendering from pyramids made by the ingest image step: pixel checks on the generated images,
pyramid levels, stored tiles sent as they are, the on-disk cache's bound."""
import io
import os

import pytest
from PIL import Image

from iiif.image import ImageRequest, Limits
from iiif.imaging import DiskCache, Pyramid, local_pyramid, read_levels
from ingest.steps.image import photo
from repository.access import SYSTEM
from repository.services import NewFile
from search.tantivy_index import TantivyIndex
from tests.helpers import build_on, photo_item

LIMITS = Limits(10000, 10000, 50_000_000)
RED, GREEN, BLUE, YELLOW = (220, 30, 30), (30, 200, 30), (30, 30, 220), (230, 220, 40)
W, H = 1600, 1000


@pytest.fixture(scope="module")
def pyramid(tmp_path_factory):
    """A 1600 × 1000 scan of four quadrants (red, green / blue, yellow) with a white square at
    the top left, made into a pyramid by the real ingest step."""
    folder = tmp_path_factory.mktemp("render")
    img = Image.new("RGB", (W, H))
    for colour, box in zip((RED, GREEN, BLUE, YELLOW), [(0, 0, 800, 500), (800, 0, 1600, 500),
                                                        (0, 500, 800, 1000), (800, 500, 1600, 1000)]):
        img.paste(colour, box)
    img.paste((255, 255, 255), (0, 0, 100, 100))
    img.save(folder / "scan.png")
    result = photo(folder / "scan.png", "image/png", folder / "work")
    path = next(d.path for d in result.derivatives if d.role == "pyramid")
    return Pyramid(path)


def render(pyramid, region="full", size="max", rotation="0", qf="default.png"):
    req = ImageRequest.parse(region, size, rotation, qf, width=pyramid.width, height=pyramid.height, limits=LIMITS)
    return Image.open(io.BytesIO(pyramid.render(req)))


def near(pixel, colour, tolerance=14):
    return all(abs(a - b) <= tolerance for a, b in zip(pixel, colour))


def test_levels_are_read_from_the_tiff(pyramid):
    sizes = [(lv.width, lv.height) for lv in pyramid.levels]
    assert sizes == [(1600, 1000), (800, 500), (400, 250), (200, 125)]
    assert [(p.width, p.height) for p in pyramid.pages] == sizes
    assert pyramid.scale_factors() == [1, 2, 4, 8]
    level = pyramid.levels[0]
    assert (level.tile_width, level.tile_height, len(level.offsets)) == (256, 256, 7 * 4)
    assert level.raw_jpeg and level.jpeg_tables[:2] == b"\xff\xd8"
    assert read_levels(pyramid.path) == pyramid.levels


def test_full_image(pyramid):
    img = render(pyramid)
    assert img.size == (W, H) and img.mode == "RGB"
    for (x, y), colour in {(50, 50): (255, 255, 255), (400, 300): RED, (1200, 300): GREEN,
                           (400, 800): BLUE, (1200, 800): YELLOW}.items():
        assert near(img.getpixel((x, y)), colour), (x, y)


def test_region_then_size(pyramid):
    img = render(pyramid, "700,400,200,200", "100,")
    assert img.size == (100, 100)
    assert near(img.getpixel((20, 20)), RED) and near(img.getpixel((80, 20)), GREEN)
    assert near(img.getpixel((20, 80)), BLUE) and near(img.getpixel((80, 80)), YELLOW)
    img = render(pyramid, "pct:50,50,50,50", "!100,100")
    assert img.size == (100, 63) and near(img.getpixel((50, 30)), YELLOW)
    assert render(pyramid, "square", "max").size == (1000, 1000)
    assert render(pyramid, "1500,900,500,500").size == (100, 100)  # cropped at the edges


def test_the_smallest_sufficient_level_is_used(pyramid):
    assert pyramid.level_for(W, H, 200, 125).page == 3
    assert pyramid.level_for(W, H, 201, 126).page == 2
    assert pyramid.level_for(512, 512, 256, 256).page == 1
    assert pyramid.level_for(300, 300, 300, 300).page == 0
    img = render(pyramid, "full", "150,")
    assert img.size == (150, 94) and near(img.getpixel((100, 20)), GREEN)


def test_distorting_and_upscaling(pyramid):
    img = render(pyramid, "0,0,100,100", "^300,150")
    assert img.size == (300, 150) and near(img.getpixel((150, 75)), (255, 255, 255))


def test_quarter_turns_and_mirroring(pyramid):
    img = render(pyramid, size="160,", rotation="90")
    assert img.size == (100, 160)
    assert near(img.getpixel((95, 3)), (255, 255, 255))  # the white corner went top right
    assert near(img.getpixel((25, 40)), BLUE) and near(img.getpixel((75, 120)), GREEN)
    img = render(pyramid, size="160,", rotation="180")
    assert near(img.getpixel((155, 95)), (255, 255, 255)) and near(img.getpixel((40, 25)), YELLOW)
    img = render(pyramid, size="160,", rotation="!0")
    assert near(img.getpixel((157, 3)), (255, 255, 255)) and near(img.getpixel((40, 25)), GREEN)
    img = render(pyramid, size="160,", rotation="!90")  # mirrored first, then turned clockwise
    assert img.size == (100, 160) and near(img.getpixel((95, 157)), (255, 255, 255))


def test_arbitrary_rotation(pyramid):
    img = render(pyramid, "0,0,400,400", "100,", "45")
    assert img.size in ((141, 141), (142, 142)) and img.mode == "RGBA"
    assert img.getpixel((2, 2))[3] == 0  # transparent corners in PNG
    assert near(img.getpixel((70, 70))[:3], RED)
    jpg = render(pyramid, "0,0,400,400", "100,", "45", "default.jpg")
    assert jpg.mode == "RGB" and near(jpg.getpixel((2, 2)), (255, 255, 255))  # white corners in JPEG


def test_rotated_images_stay_within_the_limits(pyramid):
    """maxWidth/maxHeight/maxArea bind what libvips makes after rotating (the bounding box)."""
    from iiif.image import rotated

    limits = Limits(1200, 900, 600_000)
    for rotation in ("45", "33", "10", "!200.5", "90", "359"):
        req = ImageRequest.parse("full", "max", rotation, "default.jpg", width=W, height=H, limits=limits)
        w, h = Image.open(io.BytesIO(pyramid.render(req))).size
        assert w <= 1200 and h <= 900 and w * h <= 600_000, (rotation, w, h)
        bound = rotated(*req.size, req.rotation)
        assert bound[0] - 1 <= w <= bound[0] and bound[1] - 1 <= h <= bound[1], (rotation, (w, h), bound)


def test_a_render_past_its_deadline_is_abandoned(pyramid):
    import time

    from iiif.imaging import Overloaded

    for qf in ("default.png", "default.jpg"):  # encoded in memory (Pillow), streamed (libvips)
        req = ImageRequest.parse("full", "^max", "45", qf, width=W, height=H, limits=LIMITS)
        start = time.monotonic()
        with pytest.raises(Overloaded, match="time budget"):  # qf
            pyramid.render(req, deadline=start + 0.02)
        assert time.monotonic() - start < 1.0
    assert render(pyramid, size="100,").size == (100, 63)  # no deadline: made


def test_qualities(pyramid):
    gray = render(pyramid, size="160,", qf="gray.jpg")
    assert gray.mode == "L" and abs(gray.getpixel((120, 75)) - gray.getpixel((40, 75))) > 20
    bitonal = render(pyramid, size="160,", qf="bitonal.png")
    assert bitonal.mode in ("1", "L") and set(bitonal.convert("L").getdata()) <= {0, 255}
    assert bitonal.convert("L").getpixel((5, 5)) == 255 and bitonal.convert("L").getpixel((40, 75)) == 0
    assert render(pyramid, size="160,", qf="color.webp").mode == "RGB"
    rotated = render(pyramid, "0,0,400,400", "100,", "30", "gray.png")
    assert rotated.mode == "LA" and rotated.getpixel((1, 1))[1] == 0


def request(pyramid, region, size, qf="default.jpg", rotation="0"):
    return ImageRequest.parse(region, size, rotation, qf, width=pyramid.width, height=pyramid.height, limits=LIMITS)


def test_stored_tiles_are_the_rendered_pixels(pyramid):
    """A request that is one whole stored tile is answered with that tile's JPEG stream, which
    decodes to exactly what rendering the same region decodes from."""
    for region, size in (("256,0,256,256", "256,256"), ("512,0,512,512", "256,"), ("1024,0,512,512", "256,256")):
        req = request(pyramid, region, size)
        raw = pyramid.stored_tile(req)
        assert raw is not None and raw[:2] == b"\xff\xd8" and raw[-2:] == b"\xff\xd9", region
        level = pyramid.level_for(*req.region[2:], *req.size)
        x, y, w, h = pyramid.level_box(level, req.region)
        decoded = Image.open(io.BytesIO(raw)).convert("RGB")
        stored = pyramid.pages[level.page].crop(x, y, w, h)
        assert decoded.tobytes() == stored.write_to_memory(), region


def test_decoded_tiles_are_the_pixels_libvips_decodes(pyramid):
    """A worker's decoded tiles (the stored JPEG decoded by simplejpeg) are libvips' pixels of the
    same tile, edge tiles (stored padded) cut at the level's edge."""
    for level in pyramid.levels:
        if not level.raw_jpeg:
            continue
        cols, rows = -(-level.width // level.tile_width), -(-level.height // level.tile_height)
        for col, row in {(0, 0), (cols - 1, rows - 1), (cols // 2, 0)}:
            tile = pyramid._decode(level, col, row)
            x, y = col * level.tile_width, row * level.tile_height
            w, h = min(level.tile_width, level.width - x), min(level.tile_height, level.height - y)
            assert tile.shape == (h, w, pyramid.bands) and tile.flags.c_contiguous
            assert tile.tobytes() == pyramid.pages[level.page].crop(x, y, w, h).write_to_memory(), (level.page, col, row)


@pytest.mark.parametrize("region, size, qf, rotation", [
    ("1536,0,256,256", "64,", "default.jpg", "0"),  # edge tile (stored padded): rendered
    ("100,0,256,256", "256,", "default.jpg", "0"),  # not aligned
    ("256,0,256,256", "256,", "default.png", "0"),  # another format
    ("256,0,256,256", "256,", "gray.jpg", "0"),
    ("256,0,256,256", "256,", "default.jpg", "!0"),
    ("256,0,256,256", "128,", "default.jpg", "0"),  # a smaller size than a stored tile
])
def test_other_requests_are_rendered(pyramid, region, size, qf, rotation):
    assert pyramid.stored_tile(request(pyramid, region, size, qf, rotation)) is None


def test_disk_cache_stays_within_its_size(tmp_path):
    cache = DiskCache(tmp_path / "cache", 100_000)
    for n in range(200):
        key = DiskCache.key("file", str(n))
        cache.put(key, os.urandom(2000))
        assert cache.size() <= 100_000
    assert cache.get(key) is not None  # the newest stay
    assert cache.get(DiskCache.key("file", "0")) is None  # the oldest went
    cache.put(DiskCache.key("big"), os.urandom(20_000))  # larger than a tenth: not kept
    assert cache.get(DiskCache.key("big")) is None
    off = DiskCache(tmp_path / "off", 0)
    off.put("ab" * 32, b"x")
    assert off.get("ab" * 32) is None


def test_pyramids_in_s3_are_copied_once(s3_storage, pyramid, tmp_path):
    """libvips reads files: a pyramid kept in S3 is copied into the sources cache, once, from the
    stored file the archive gives."""
    archive = build_on(tmp_path, storage=s3_storage, index=TantivyIndex(None)).archive
    item = archive.create_item(photo_item(), [NewFile("scan.tif", pyramid.path.read_bytes(), "image/tiff")],
                               user=SYSTEM).value
    stored = archive.open_file(item.id, item.files[0].id, user=SYSTEM)
    sources = DiskCache(tmp_path / "sources", 10**9)
    path = local_pyramid(stored, sources)
    assert path.is_relative_to(tmp_path / "sources") and path.read_bytes() == pyramid.path.read_bytes()
    for key in list(s3_storage.list("ocfl/")):
        s3_storage.delete(key)
    assert local_pyramid(stored, sources) == path  # no second download
    assert Pyramid(path).levels == pyramid.levels
