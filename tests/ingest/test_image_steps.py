"""The image step: pyramids, thumbnails, EXIF, colour handling, multi-page files and damage.

Fixtures are generated here with Pillow and pyvips; nothing is downloaded."""
from __future__ import annotations

import struct
import zlib
from pathlib import Path

import pytest
from PIL import Image

from ingest.steps import StepError
from ingest.steps import image as image_step
from ingest.steps.image import photo, read_exif

pyvips = pytest.importorskip("pyvips")

RED, BLUE, PAPER = (220, 30, 30), (30, 30, 220), (200, 190, 170)


def tiff_tags(path: Path, page: int = 0) -> dict:
    """The TIFF tags of one directory (Pillow reads tags without decoding pixels)."""
    with Image.open(path) as im:
        im.seek(page)
        return dict(im.tag_v2)


def pixel(path: Path, x: int, y: int) -> list[float]:
    return pyvips.Image.new_from_file(str(path))(x, y)


def exif_jpeg(path: Path, *, size=(1200, 800), orientation=6) -> Path:
    """A photo as a camera stores it: sideways pixels plus EXIF orientation, date, camera and GPS.

    The stored top-left corner is red; orientation 6 means "rotate 90° clockwise to view",
    so upright the red corner is at the top right."""
    im = Image.new("RGB", size, PAPER)
    im.paste(RED, (0, 0, 200, 200))
    exif = Image.Exif()
    exif[0x0112] = orientation
    exif[0x010F], exif[0x0110] = "Leica", "IIIf"
    exif.get_ifd(0x8769)[0x9003] = "1936:05:04 10:20:00"  # DateTimeOriginal
    exif.get_ifd(0x8825).update({1: "N", 2: (31.0, 29.0, 24.0), 3: "E", 4: (120.0, 18.0, 36.0)})
    im.save(path, "JPEG", quality=90, exif=exif)
    return path


def bomb_png(path: Path, width=60000, height=60000) -> Path:
    """A tiny PNG whose header claims a huge image (PNG spec §11.2.2 IHDR)."""
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 100))
                     + chunk(b"IEND", b""))
    return path


# -- pyramids and thumbnails ----------------------------------------------------------------


def test_jpeg_with_exif_gives_an_upright_tiled_pyramid_a_thumbnail_and_suggestions(tmp_path):
    original = exif_jpeg(tmp_path / "scan.jpg")
    result = photo(original, "image/jpeg", tmp_path / "work")

    pyramid, thumb = result.derivatives
    assert (pyramid.name, pyramid.role, pyramid.media_type, pyramid.sequence) == \
        ("pyramid.tif", "pyramid", "image/tiff", None)
    assert (thumb.name, thumb.role, thumb.media_type) == ("thumbnail.jpg", "thumbnail", "image/jpeg")
    assert pyramid.path == tmp_path / "work" / "pyramid.tif" and thumb.path.exists()

    # Upright (orientation 6 applied): 800 wide, 1200 high, red corner now top right.
    assert (result.tech["width"], result.tech["height"]) == (800, 1200)
    assert result.tech["orientation"] == 6
    head = pyvips.Image.new_from_file(str(pyramid.path))
    assert (head.width, head.height, head.bands, head.format) == (800, 1200, 3, "uchar")
    r, g, b = pixel(pyramid.path, 760, 40)
    assert r > 180 and g < 80 and b < 80, (r, g, b)
    assert pixel(pyramid.path, 40, 40)[0] < 215  # paper, not red

    # Tiled 256 × 256, JPEG-compressed (TIFF 6.0 §15: TileWidth 322, TileLength 323; Compression
    # 259 = 7, JPEG), and pyramid levels each half the one before.
    tags = tiff_tags(pyramid.path)
    assert (tags[322], tags[323], tags[259]) == (256, 256, 7)
    levels = head.get("n-pages")
    assert levels >= 3 and pyramid.tech == {"width": 800, "height": 1200, "tile": 256, "levels": levels}
    level1 = pyvips.Image.new_from_file(str(pyramid.path), page=1)
    assert (level1.width, level1.height) == (400, 600)
    assert tiff_tags(pyramid.path, 1)[322] == 256

    # Thumbnail: 400 px long edge, upright, as JPEG.
    t = pyvips.Image.new_from_file(str(thumb.path))
    assert (t.width, t.height) == (267, 400) == (thumb.tech["width"], thumb.tech["height"])
    assert t.get("vips-loader") == "jpegload"

    assert result.tech["exif"] == {"make": "Leica", "model": "IIIf", "date_taken": "1936-05-04T10:20:00",
                                   "latitude": 31.49, "longitude": 120.31}
    assert result.metadata == {
        "date": {"edtf": "1936-05-04"},
        "places": [{"name": {"zh": "GPS 31.49,120.31"}, "coordinates": [31.49, 120.31]}],
    }
    # The derivatives carry pixels only: no EXIF (GPS) copied into them.
    assert not pyvips.Image.new_from_file(str(thumb.path)).get_typeof("exif-data")


def test_second_run_returns_the_existing_outputs_without_rewriting(tmp_path):
    original = exif_jpeg(tmp_path / "scan.jpg")
    first = photo(original, "image/jpeg", tmp_path / "work")
    stamps = {d.name: d.path.stat().st_mtime_ns for d in first.derivatives}

    again = photo(original, "image/jpeg", tmp_path / "work")
    assert {d.name: d.path.stat().st_mtime_ns for d in again.derivatives} == stamps
    assert [(d.name, d.tech) for d in again.derivatives] == [(d.name, d.tech) for d in first.derivatives]
    assert again.tech == first.tech and again.metadata == first.metadata
    assert sorted(p.name for p in (tmp_path / "work").iterdir()) == ["pyramid.tif", "thumbnail.jpg"]


def test_a_missing_output_is_made_again_and_the_others_are_kept(tmp_path):
    original = exif_jpeg(tmp_path / "scan.jpg")
    first = photo(original, "image/jpeg", tmp_path / "work")
    pyramid_stamp = first.derivatives[0].path.stat().st_mtime_ns
    first.derivatives[1].path.unlink()
    again = photo(original, "image/jpeg", tmp_path / "work")
    assert again.derivatives[1].path.exists()
    assert again.derivatives[0].path.stat().st_mtime_ns == pyramid_stamp


def test_sixteen_bit_png_becomes_eight_bit(tmp_path):
    original = tmp_path / "deep.png"
    deep = (pyvips.Image.black(600, 400, bands=3) + [65535, 32768, 0]).cast("ushort").copy(interpretation="rgb16")
    deep.pngsave(str(original), bitdepth=16)
    assert pyvips.Image.new_from_file(str(original)).format == "ushort"

    result = photo(original, "image/png", tmp_path / "work")
    head = pyvips.Image.new_from_file(str(result.derivatives[0].path))
    assert (head.bands, head.format, head.interpretation) == (3, "uchar", "srgb")
    r, g, b = pixel(result.derivatives[0].path, 300, 200)
    assert r > 245 and 118 < g < 138 and b < 10, (r, g, b)
    assert result.tech["bits"] == 16 and result.tech["width"] == 600


def test_transparency_is_flattened_onto_white(tmp_path):
    original = tmp_path / "alpha.png"
    im = Image.new("RGBA", (500, 300), (0, 0, 0, 0))  # fully transparent black …
    im.paste((30, 30, 220, 255), (0, 0, 100, 100))  # … with an opaque blue corner
    im.save(original)

    result = photo(original, "image/png", tmp_path / "work")
    pyramid, thumb = result.derivatives
    assert pyvips.Image.new_from_file(str(pyramid.path)).bands == 3
    assert min(pixel(pyramid.path, 400, 200)) > 245  # white, not black
    assert pixel(pyramid.path, 20, 20)[2] > 180  # the opaque part kept
    assert min(pixel(thumb.path, 350, 200)) > 240


def test_cmyk_jpeg_becomes_srgb(tmp_path):
    original = tmp_path / "print.jpg"
    Image.new("CMYK", (640, 480), (0, 255, 255, 0)).save(original, "JPEG", quality=95)  # process red

    result = photo(original, "image/jpeg", tmp_path / "work")
    assert result.tech["colourspace"] == "cmyk" and result.tech["bands"] == 4
    for derivative in result.derivatives:
        head = pyvips.Image.new_from_file(str(derivative.path))
        assert (head.bands, head.interpretation) == (3, "srgb"), derivative.name
        r, g, b = pixel(derivative.path, 10, 10)
        assert r > 180 and g < 90 and b < 90, (derivative.name, r, g, b)


def test_grey_stays_grey(tmp_path):
    original = tmp_path / "grey.jpg"
    Image.new("L", (700, 500), 90).save(original, "JPEG")
    result = photo(original, "image/jpeg", tmp_path / "work")
    assert pyvips.Image.new_from_file(str(result.derivatives[0].path)).bands == 1
    assert abs(pixel(result.derivatives[0].path, 100, 100)[0] - 90) < 3


@pytest.mark.parametrize("suffix, save", [
    ("webp", lambda im, p: im.save(p, "WEBP", quality=90)),
    ("gif", lambda im, p: im.convert("P").save(p, "GIF")),
    ("tif", lambda im, p: im.save(p, "TIFF", compression="tiff_lzw")),
    ("avif", lambda im, p: pyvips.Image.new_from_file(str(p.with_suffix(".png"))).heifsave(str(p), compression="av1")),
    ("heic", lambda im, p: pyvips.Image.new_from_file(str(p.with_suffix(".png"))).heifsave(str(p), compression="hevc")),
    ("jp2", lambda im, p: pyvips.Image.new_from_file(str(p.with_suffix(".png"))).jp2ksave(str(p))),
])
def test_other_formats(tmp_path, suffix, save):
    im = Image.new("RGB", (900, 600), PAPER)
    im.paste(BLUE, (0, 0, 300, 300))
    im.save(tmp_path / "source.png")
    original = tmp_path / f"source.{suffix}"
    save(im, original)

    result = photo(original, f"image/{suffix}", tmp_path / "work")
    assert (result.tech["width"], result.tech["height"]) == (900, 600)
    assert [d.name for d in result.derivatives] == ["pyramid.tif", "thumbnail.jpg"]
    assert result.derivatives[1].tech == {"width": 400, "height": 267}
    assert pixel(result.derivatives[0].path, 100, 100)[2] > 170


def test_multi_page_tiff_gives_one_pyramid_per_page_and_one_thumbnail(tmp_path):
    original = tmp_path / "book.tif"
    pages = [Image.new("RGB", (800 + 100 * n, 1000), colour) for n, colour in enumerate([RED, BLUE, PAPER])]
    pages[0].save(original, "TIFF", save_all=True, append_images=pages[1:], compression="tiff_deflate")

    result = photo(original, "image/tiff", tmp_path / "work")
    *pyramids, thumb = result.derivatives
    assert [(d.name, d.role, d.sequence) for d in pyramids] == \
        [("p0001.tif", "pyramid", 1), ("p0002.tif", "pyramid", 2), ("p0003.tif", "pyramid", 3)]
    assert [d.tech["width"] for d in pyramids] == [800, 900, 1000]
    assert pixel(pyramids[1].path, 50, 50)[2] > 180  # page 2 is the blue one
    assert (thumb.name, thumb.role, thumb.sequence) == ("thumbnail.jpg", "thumbnail", None)
    assert pixel(thumb.path, 10, 10)[0] > 180  # page 1, red
    assert result.tech["pages"] == 3 and result.tech["width"] == 800
    for d in pyramids:
        assert tiff_tags(d.path)[322] == 256


def test_a_pyramidal_tiff_original_is_one_image(tmp_path):
    original = tmp_path / "already-pyramid.tif"
    (pyvips.Image.black(2048, 1536, bands=3) + 128).cast("uchar").tiffsave(str(original), tile=True, pyramid=True)
    assert pyvips.Image.new_from_file(str(original)).get("n-pages") > 1

    result = photo(original, "image/tiff", tmp_path / "work")
    assert [d.name for d in result.derivatives] == ["pyramid.tif", "thumbnail.jpg"]
    assert result.derivatives[0].tech["width"] == 2048 and "pages" not in result.tech
    # 400 px, not a smaller pyramid level (libvips 8.14's thumbnail size="down" picks one).
    assert result.derivatives[1].tech == {"width": 400, "height": 300}


def test_a_small_image_is_not_enlarged(tmp_path):
    original = tmp_path / "stamp.png"
    Image.new("RGB", (200, 120), BLUE).save(original)
    result = photo(original, "image/png", tmp_path / "work")
    assert [d.tech["width"] for d in result.derivatives] == [200, 200]
    assert result.derivatives[0].tech["levels"] == 1


# -- refusals -------------------------------------------------------------------------------


@pytest.fixture(params=["in memory", "streaming"])
def decoding(request, monkeypatch):
    """Both ways a page is decoded for its pyramid: once into memory, or (above IN_MEMORY bytes)
    streaming, checked first."""
    if request.param == "streaming":
        monkeypatch.setattr(image_step, "IN_MEMORY", 0)
    return request.param


def test_a_page_is_decoded_once_for_its_pyramid(tmp_path, monkeypatch):
    def second_decode(*args):
        raise AssertionError("the page was decoded a second time to check it")

    monkeypatch.setattr(image_step, "_check_decodes", second_decode)
    original = exif_jpeg(tmp_path / "photo.jpg", orientation=6)
    pyramid = photo(original, "image/jpeg", tmp_path / "work").derivatives[0].path
    assert pyvips.Image.new_from_file(str(pyramid)).width == 800  # upright, as in the streaming path


def test_both_decodings_give_the_same_pyramid(tmp_path, decoding):
    original = exif_jpeg(tmp_path / "photo.jpg", orientation=6)
    pyramid = photo(original, "image/jpeg", tmp_path / decoding).derivatives[0].path
    assert pyvips.Image.new_from_file(str(pyramid)).width == 800
    assert pixel(pyramid, 790, 10)[1] < 100 < pixel(pyramid, 10, 10)[1]  # red corner top right, paper top left


def test_truncated_jpeg_is_damaged(tmp_path, decoding):
    good = exif_jpeg(tmp_path / "good.jpg", orientation=1)
    original = tmp_path / "truncated.jpg"
    original.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    with pytest.raises(StepError, match=r"^the image is damaged: .*(end|truncat)"):
        photo(original, "image/jpeg", tmp_path / "work")
    assert not any((tmp_path / "work").iterdir())  # nothing half-written left behind


def test_corrupt_png_is_damaged_not_a_crash(tmp_path, decoding):
    # libvips 8.14's pyramid writer crashes on a read error; the step must fail cleanly instead.
    original = tmp_path / "corrupt.png"
    noise = pyvips.Image.gaussnoise(800, 800, mean=128, sigma=60).cast("uchar")
    noise.bandjoin([noise, noise]).pngsave(str(original))
    data = bytearray(original.read_bytes())
    data[len(data) // 3: len(data) // 2] = bytes(len(data) // 2 - len(data) // 3)
    original.write_bytes(bytes(data))
    with pytest.raises(StepError, match=r"^the image is damaged"):
        photo(original, "image/png", tmp_path / "work")


def test_zero_byte_file(tmp_path):
    original = tmp_path / "empty.jpg"
    original.write_bytes(b"")
    with pytest.raises(StepError, match=r"^the image is damaged: the file is empty"):
        photo(original, "image/jpeg", tmp_path / "work")


def test_decompression_bomb_is_refused_before_decoding(tmp_path):
    original = bomb_png(tmp_path / "bomb.png")
    with pytest.raises(StepError) as caught:
        photo(original, "image/png", tmp_path / "work")
    assert str(caught.value) == ("the image has 60000 × 60000 pixels, more than the limit of "
                                 "250,000,000 pixels")


def test_pixel_limit_is_a_keyword(tmp_path):
    original = exif_jpeg(tmp_path / "scan.jpg")
    with pytest.raises(StepError, match=r"1200 × 800 pixels, more than the limit of 500,000"):
        photo(original, "image/jpeg", tmp_path / "work", max_pixels=500_000)


def test_not_an_image(tmp_path):
    original = tmp_path / "notes.jpg"
    original.write_text("这不是图片")
    with pytest.raises(StepError, match="not an image format"):
        photo(original, "image/jpeg", tmp_path / "work")


# -- EXIF details ---------------------------------------------------------------------------


def test_exif_partial_dates_and_southern_western_gps(tmp_path):
    im = Image.new("RGB", (64, 64))
    exif = Image.Exif()
    exif.get_ifd(0x8769)[0x9003] = "1948:00:00 00:00:00"  # year known only
    exif.get_ifd(0x8825).update({1: "S", 2: (33.0, 52.0, 0.0), 3: "W", 4: (70.0, 30.0, 0.0)})
    im.save(tmp_path / "a.jpg", exif=exif)
    facts, metadata = read_exif(tmp_path / "a.jpg", pyvips.Image.new_from_file(str(tmp_path / "a.jpg")))
    assert metadata["date"] == {"edtf": "1948"}
    assert (facts["latitude"], facts["longitude"]) == (-33.866667, -70.5)


def test_no_or_unusable_exif_gives_no_suggestions(tmp_path):
    im = Image.new("RGB", (64, 64))
    exif = Image.Exif()
    exif.get_ifd(0x8769)[0x9003] = "0000:00:00 00:00:00"
    exif.get_ifd(0x8825).update({1: "N", 2: (0.0, 0.0, 0.0), 3: "E", 4: (0.0, 0.0, 0.0)})
    im.save(tmp_path / "a.jpg", exif=exif)
    im.save(tmp_path / "b.png")
    for name in ("a.jpg", "b.png"):
        facts, metadata = read_exif(tmp_path / name, pyvips.Image.new_from_file(str(tmp_path / name)))
        assert metadata == {} and "date_taken" not in facts and "latitude" not in facts
