"""Hostile-upload defences. Every hostile file is generated here; nothing is downloaded."""
import io
import os
import random
import stat
import struct
import warnings
import wave
import zipfile
import zlib

import pytest
from PIL import Image

from ingest.safety import Limits, UploadRefused, identify, inspect_upload, safe_filename


# -- builders -------------------------------------------------------------------------------

def image_bytes(fmt, size=(64, 48), mode="RGB", **options):
    out = io.BytesIO()
    Image.new(mode, size, "teal" if mode == "RGB" else 1).save(out, fmt, **options)
    return out.getvalue()


def png_claiming(width, height):
    """A small valid PNG whose IHDR claims width × height (CRC fixed, PNG spec §5.3)."""
    png = bytearray(image_bytes("PNG", (1, 1), mode="1"))
    assert png[12:16] == b"IHDR"
    png[16:24] = struct.pack(">II", width, height)
    png[29:33] = struct.pack(">I", zlib.crc32(png[12:29]))
    return bytes(png)


def zip_bytes(members, first_stored=None):
    """members: (name, bytes | (chunk, count)); chunked members are streamed, deflated."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        if first_stored:
            zf.writestr(zipfile.ZipInfo(first_stored[0]), first_stored[1], zipfile.ZIP_STORED)
        for name, data in members:
            if isinstance(data, tuple):
                chunk, count = data
                with zf.open(name, "w") as member:
                    for _ in range(count):
                        member.write(chunk)
            else:
                zf.writestr(name, data)
    return out.getvalue()


def epub_bytes(*members):
    return zip_bytes(members, first_stored=("mimetype", b"application/epub+zip"))


ZEROS_20MB = (bytes(1024 * 1024), 20)


def refused(name, data, **kwargs):
    with pytest.raises(UploadRefused) as info:
        inspect_upload(name, io.BytesIO(data), **kwargs)
    assert info.value.name == name
    assert str(info.value) == f"{name}: {info.value.reason}"
    return info.value.reason


def accepted(name, data, **kwargs):
    stream = io.BytesIO(data)
    stream.seek(3)
    media_type = inspect_upload(name, stream, **kwargs)
    assert stream.tell() == 0
    return media_type


# -- file names -----------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["", ".", "..", "../x.jpg", "a/b.jpg", "..\\x.jpg", "/etc/passwd",
                                  "x\0.jpg", "x\n.jpg", "x\x7f.jpg", "photo\u202egpj.exe",
                                  "名" * 86])
def test_unsafe_file_names_are_refused(name):
    with pytest.raises(UploadRefused) as info:
        safe_filename(name)
    assert info.value.name == name and info.value.reason
    with pytest.raises(UploadRefused):
        inspect_upload(name, io.BytesIO(b"data"))


def test_file_names_are_nfc_normalised_and_chinese_is_fine():
    assert safe_filename("采访_张.wav") == "采访_张.wav"
    assert safe_filename("Cafe\u0301.jpg") == "Caf\u00e9.jpg"
    assert safe_filename("名" * 85) == "名" * 85  # 255 UTF-8 bytes exactly
    assert safe_filename("..hidden.txt") == "..hidden.txt"
    assert "folder separator" in refused("a/b.jpg", b"x")
    assert "control characters" in refused("x\0.jpg", b"x")
    assert "255 bytes" in refused("名" * 86, b"x")


# -- size -----------------------------------------------------------------------------------

class ZeroStream(io.RawIOBase):
    """A seekable stream of ``size`` zero bytes that holds none of them; counts bytes read."""

    def __init__(self, size):
        self.size, self.pos, self.bytes_read = size, 0, 0

    def seekable(self):
        return True

    def readable(self):
        return True

    def seek(self, offset, whence=0):
        self.pos = {0: 0, 1: self.pos, 2: self.size}[whence] + offset
        return self.pos

    def tell(self):
        return self.pos

    def read(self, n=-1):
        n = self.size - self.pos if n is None or n < 0 else min(n, self.size - self.pos)
        self.pos += n
        self.bytes_read += n
        return bytes(n)


def test_oversize_files_are_refused_by_declared_and_real_size():
    reason = refused("big.tif", b"II*\x00", declared_size=5 * 1024**3)
    assert "too large" in reason and "5.0 GB" in reason and "4.0 GB" in reason
    assert "too large" in refused("big.bin", b"x" * 11, limits=Limits(max_bytes=10))
    with pytest.raises(UploadRefused, match="too large"):
        inspect_upload("huge.bin", ZeroStream(5 * 10**9))


def test_a_5_gb_upload_is_checked_in_constant_memory():
    stream = ZeroStream(5 * 10**9)
    assert inspect_upload("huge.bin", stream, limits=Limits(max_bytes=10 * 1024**3)) == \
        "application/octet-stream"
    assert stream.bytes_read <= 64 * 1024 and stream.tell() == 0


def test_non_seekable_streams_are_a_programming_error():
    class Pipe(io.RawIOBase):
        def readable(self):
            return True
    with pytest.raises(ValueError):
        inspect_upload("x.bin", Pipe())


# -- active content -------------------------------------------------------------------------

@pytest.mark.parametrize("data", [
    b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(document.cookie)</script></svg>',
    b'<?xml version="1.0" encoding="UTF-8"?>\n<!-- drawn by hand -->\n'
    b'<!DOCTYPE svg PUBLIC "-//W3C//DTD SVG 1.1//EN" "http://www.w3.org/Graphics/SVG/1.1/DTD/svg11.dtd">\n'
    b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>',
    b'\xef\xbb\xbf  <!DOCTYPE svg [ <!ENTITY x "<y>"> ]><svg/>',
    b'<svg:svg xmlns:svg="http://www.w3.org/2000/svg"/>',
    "<?xml version='1.0' encoding='UTF-16'?><svg/>".encode("utf-16"),
])
def test_svg_is_refused(data):
    assert identify(data) == "image/svg+xml"
    reason = refused("logo.png", data)
    assert reason == "SVG and HTML files are not accepted: they can carry scripts"


@pytest.mark.parametrize("data, media_type", [
    (b"<!DOCTYPE html><html><body>hi</body></html>", "text/html"),
    (b"\n\n<HTML>\n<script>alert(1)</script>", "text/html"),
    (b"<script>alert(1)</script>", "text/html"),
    (b"<!-- saved page --><body onload=alert(1)>", "text/html"),
    (b'<?xml version="1.0"?><html xmlns="http://www.w3.org/1999/xhtml"><script/></html>',
     "application/xhtml+xml"),
    (b'<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Strict//EN" "x">'
     b'<html xmlns="http://www.w3.org/1999/xhtml">', "application/xhtml+xml"),
])
def test_html_and_xhtml_are_refused(data, media_type):
    assert identify(data) == media_type
    assert "can carry scripts" in refused("page.txt", data)


def test_active_content_is_refused_by_name_too():
    assert "can carry scripts" in refused("drawing.svg", b"an svg with a huge prolog")
    assert "can carry scripts" in refused("page.HTML.", b"plain words")


def test_ordinary_xml_and_text_are_not_active_content():
    assert identify(b'<?xml version="1.0"?><TEI xmlns="http://www.tei-c.org/ns/1.0"/>') is None
    assert identify(b"<<<< not markup") is None
    assert accepted("notes.txt", "方志 notes <svg> mentioned later".encode()) == "text/plain"


# -- decompression bombs --------------------------------------------------------------------

def test_png_decompression_bomb_is_refused_from_its_header():
    bomb = png_claiming(60000, 60000)
    assert len(bomb) < 100 and identify(bomb) == "image/png"
    assert refused("bomb.png", bomb).startswith("decompression bomb")


def test_pixel_limit_names_the_dimensions():
    reason = refused("scan.png", png_claiming(5000, 5000), limits=Limits(max_pixels=10_000_000))
    assert reason == ("decompression bomb: 5000 × 5000 pixels is more than the limit of "
                      "10,000,000 pixels")
    assert accepted("scan.png", png_claiming(5000, 5000)) == "image/png"


def test_pillow_bomb_warning_as_error_is_a_refusal(monkeypatch):
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 89_478_485)  # Pillow's own default (services set MAX_PIXELS)
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        assert refused("big.png", png_claiming(10000, 10000)).startswith("decompression bomb")


def test_every_tiff_page_is_checked():
    out = io.BytesIO()
    small = Image.new("L", (8, 8))
    small.save(out, "TIFF", save_all=True, append_images=[Image.new("L", (400, 400))])
    assert accepted("pages.tif", out.getvalue()) == "image/tiff"
    reason = refused("pages.tif", out.getvalue(), limits=Limits(max_pixels=1000))
    assert "400 × 400 pixels" in reason


# -- zip bombs and zip slip -----------------------------------------------------------------

def test_zip_bomb_is_refused_by_ratio():
    bomb = zip_bytes([("readme.txt", b"hello"), ("zeros.bin", ZEROS_20MB)])
    assert len(bomb) < 100_000 and identify(bomb) == "application/zip"
    reason = refused("bomb.zip", bomb)
    assert reason.startswith("zip bomb") and "zeros.bin" in reason and "200 times" in reason


def test_zip_whose_directory_claims_a_huge_member_is_refused():
    data = bytearray(zip_bytes([("claims.bin", b"small")]))
    entry = data.rfind(b"PK\x01\x02")  # central directory header: uncompressed size at +24
    data[entry + 24:entry + 28] = struct.pack("<I", 0xFFFFFFF0)
    assert "zip bomb" in refused("claims.zip", bytes(data))


def test_zip_total_size_limit():
    data = zip_bytes([(f"part{i}.txt", bytes(range(256)) * 8) for i in range(3)])
    reason = refused("parts.zip", data, limits=Limits(max_unzipped_bytes=5000))
    assert reason.startswith("zip bomb: the archive expands to 6.0 KB")


def test_epub_bomb_is_refused():
    bomb = epub_bytes(("OEBPS/zeros.xhtml", ZEROS_20MB))
    assert identify(bomb) == "application/epub+zip"
    assert "zip bomb" in refused("bomb.epub", bomb)


MIB_OF_TEXT = "<p>" + "惠山泉水" * 87_000 + "</p>"  # just under 1 MiB: below the per-member check


def test_many_small_members_that_together_are_a_bomb_are_refused():
    """Members of at most 1 MiB each passed the per-member ratio check: a ~50 KB EPUB of 20 one-MiB
    chapters, a ZIP of hundreds of one-MiB members. The archive as a whole may expand 200 times."""
    book = epub_bytes(*[(f"EPUB/c{n}.xhtml", MIB_OF_TEXT) for n in range(20)])
    assert len(book) < 100_000 and identify(book) == "application/epub+zip"
    reason = refused("book.epub", book)
    assert reason.startswith("zip bomb: the EPUB archive expands from") and "200 times" in reason
    many = zip_bytes([(f"m{n}.bin", bytes(1024 * 1024)) for n in range(300)])
    assert "zip bomb: the ZIP archive expands" in refused("many.zip", many)
    ordinary = zip_bytes([(f"page{n}.txt", "".join(random.Random(n).choices("惠山泉水 运河\n", k=400_000)))
                          for n in range(4)])  # ~4.5 MiB of text, a few times smaller
    assert accepted("ordinary.zip", ordinary) == "application/zip"


def test_files_read_into_memory_have_a_lower_limit():
    """An EPUB is read whole into memory (ebooklib), so it may expand to max_parsed_bytes only;
    a ZIP is only stored."""
    noise = os.urandom(3 * 1024 * 1024)  # incompressible: no ratio to refuse
    book, archive = epub_bytes(("EPUB/noise.bin", noise)), zip_bytes([("noise.bin", noise)])
    limits = Limits(max_parsed_bytes=2 * 1024 * 1024)
    reason = refused("book.epub", book, limits=limits)
    assert "more than the limit of 2.0 MB for files read into memory" in reason
    assert accepted("noise.zip", archive, limits=limits) == "application/zip"
    assert accepted("book.epub", book) == "application/epub+zip"  # within the default 256 MiB


def test_check_zip_checks_a_workbook_as_read_into_memory():
    from ingest.safety import check_zip

    workbook = zip_bytes([("xl/worksheets/sheet1.xml", ZEROS_20MB)])
    with pytest.raises(UploadRefused, match="zip bomb: the archive member 'xl/worksheets/sheet1.xml'"):
        check_zip("manifest.xlsx", io.BytesIO(workbook), label="Excel workbook", parsed=True)
    with pytest.raises(UploadRefused, match="Excel workbook archive expands to .* for files read into memory"):
        check_zip("manifest.xlsx", io.BytesIO(zip_bytes([("a.xml", os.urandom(3000))])), label="Excel workbook",
                  parsed=True, limits=Limits(max_parsed_bytes=1000))


@pytest.mark.parametrize("member", ["../../etc/passwd", "/etc/passwd", "a/../../b", "..\\..\\x.dll", "C:/x"])
def test_zip_slip_is_refused(member):
    reason = refused("slip.zip", zip_bytes([("ok.txt", b"x"), (member, b"root::0:0")]))
    assert reason.startswith("zip slip") and repr(member) in reason


def test_symlink_members_are_refused():
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as zf:
        link = zipfile.ZipInfo("etc")
        link.external_attr = (stat.S_IFLNK | 0o777) << 16
        zf.writestr(link, "/etc")
    assert "symbolic link" in refused("link.zip", out.getvalue())


def test_too_many_zip_members():
    data = zip_bytes([(f"{i}.txt", b"") for i in range(11)])
    assert "too many files" in refused("many.zip", data, limits=Limits(max_zip_members=10))
    assert accepted("many.zip", data, limits=Limits(max_zip_members=11)) == "application/zip"


def test_oversize_zip_directory_is_refused_before_it_is_read():
    data = bytearray(zip_bytes([("a.txt", b"a")]))
    end = data.rfind(b"PK\x05\x06")  # end of central directory: directory size at +12
    data[end + 12:end + 16] = struct.pack("<I", 3 * 1024**3)
    assert "list of files is too large" in refused("toc.zip", bytes(data))


# -- damaged files --------------------------------------------------------------------------

def test_truncated_jpeg_is_refused():
    reason = refused("cut.jpg", image_bytes("JPEG")[:300])
    assert reason.startswith("not a readable JPEG image: ")


def test_damaged_png_and_zip_are_refused():
    assert refused("cut.png", image_bytes("PNG")[:20]).startswith("not a readable PNG image")
    assert refused("bad.zip", b"PK\x03\x04" + bytes(100)).startswith("not a readable ZIP archive")
    epub = epub_bytes(("a.xhtml", b"<p/>"))
    assert refused("cut.epub", epub[:80]).startswith("not a readable EPUB archive")


# -- good files -----------------------------------------------------------------------------

@pytest.mark.parametrize("fmt, media_type, options", [
    ("JPEG", "image/jpeg", {}),
    ("PNG", "image/png", {}),
    ("GIF", "image/gif", {}),
    ("TIFF", "image/tiff", {"compression": "tiff_lzw"}),
    ("TIFF", "image/tiff", {"big_tiff": True}),
    ("WEBP", "image/webp", {}),
    ("JPEG2000", "image/jp2", {}),
])
def test_ordinary_images_are_accepted(fmt, media_type, options):
    assert accepted("照片.img", image_bytes(fmt, **options)) == media_type


def test_wav_epub_zip_and_unknown_are_accepted():
    out = io.BytesIO()
    with wave.open(out, "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(8000)
        wav.writeframes(bytes(1600))
    assert accepted("采访_张.wav", out.getvalue()) == "audio/wav"
    epub = epub_bytes(("META-INF/container.xml", b"<container/>"), ("OEBPS/a.xhtml", b"<p/>"))
    assert accepted("书.epub", epub) == "application/epub+zip"
    nested = zip_bytes([("inner.zip", zip_bytes([("a.txt", b"a")])), ("dir/b.txt", b"b")])
    assert accepted("bag.zip", nested) == "application/zip"
    assert accepted("mystery.dat", bytes(range(256))) == "application/octet-stream"
    assert accepted("empty.dat", b"") == "application/octet-stream"
    assert accepted("paper.pdf", b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n") == "application/pdf"


# -- identify -------------------------------------------------------------------------------

def ftyp(major, *compatible):
    brands = major + b"\x00\x00\x00\x00" + b"".join(compatible)
    return struct.pack(">I", 8 + len(brands)) + b"ftyp" + brands + b"\x00\x00\x00\x08free"


EBML_MKV = bytes.fromhex("1a45dfa3a34286810142f7810142f2810442f381084282886d6174726f736b61428781044285810218538067")
EBML_WEBM = bytes.fromhex("1a45dfa39f4286810142f7810142f2810442f381084282847765626d428781044285810218538067")


@pytest.mark.parametrize("head, media_type", [
    (b"\xff\xd8\xff\xe0\x00\x10JFIF", "image/jpeg"),
    (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "image/png"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a\x01\x00", "image/gif"),
    (b"II*\x00\x08\x00\x00\x00", "image/tiff"),
    (b"MM\x00*\x00\x00\x00\x08", "image/tiff"),
    (b"II+\x00\x08\x00\x00\x00", "image/tiff"),
    (b"MM\x00+\x00\x08\x00\x00", "image/tiff"),
    (b"RIFF\x24\x00\x00\x00WEBPVP8 ", "image/webp"),
    (b"RIFF\x24\x00\x00\x00WAVEfmt ", "audio/wav"),
    (b"RF64\xff\xff\xff\xffWAVEds64", "audio/wav"),
    (b"RIFF\x24\x00\x00\x00AVI LIST", "video/x-msvideo"),
    (b"RIFF\x24\x00\x00\x00XXXX", None),
    (ftyp(b"heic", b"mif1", b"heic"), "image/heic"),
    (ftyp(b"mif1", b"mif1", b"miaf"), "image/heif"),
    (ftyp(b"avif", b"avif", b"mif1", b"miaf"), "image/avif"),
    (ftyp(b"M4A ", b"M4A ", b"mp42", b"isom"), "audio/mp4"),
    (ftyp(b"mp42", b"isom", b"M4A "), "audio/mp4"),
    (ftyp(b"qt  ", b"qt  "), "video/quicktime"),
    (ftyp(b"isom", b"isom", b"iso2", b"avc1", b"mp41"), "video/mp4"),
    (b"\x00\x00\x00\x0cjP  \r\n\x87\n\x00\x00\x00\x14ftypjp2 ", "image/jp2"),
    (b"\xff\x4f\xff\x51\x00\x2f", "image/j2c"),
    (b"%PDF-1.4\n", "application/pdf"),
    (b"PK\x03\x04\x14\x00\x00\x00\x08\x00", "application/zip"),
    (b"PK\x05\x06" + bytes(18), "application/zip"),
    (b"PK\x03\x04" + bytes(26) + b"mimetypeapplication/epub+zip", "application/epub+zip"),
    (b"fLaC\x00\x00\x00\x22", "audio/flac"),
    (b"ID3\x04\x00\x00\x00\x00\x00\x00", "audio/mpeg"),
    (b"\xff\xfb\x90\x64\x00", "audio/mpeg"),
    (b"\xff\xf3\x48\xc4\x00", "audio/mpeg"),
    (b"\xff\xf1\x50\x80\x02\x1f\xfc", "audio/aac"),
    (b"\xff\xfb\xf0\x00", None),  # bitrate index 15 is invalid: not an MPEG frame
    (b"OggS\x00\x02" + bytes(20) + b"\x01\x13OpusHead\x01\x02", "audio/ogg"),
    (b"OggS\x00\x02" + bytes(20) + b"\x01\x1e\x01vorbis\x00", "audio/ogg"),
    (b"OggS\x00\x02" + bytes(20) + b"\x01\x2a\x80theora\x03", "video/ogg"),
    (EBML_MKV, "video/x-matroska"),
    (EBML_WEBM, "video/webm"),
    (b"<svg/>", "image/svg+xml"),
    (b"<!doctype html>", "text/html"),
    (b"hello", None),
    (b"", None),
    (bytes(4096), None),
])
def test_identify(head, media_type):
    assert identify(head) == media_type


def test_identify_real_files_made_here():
    assert identify(image_bytes("AVIF")) == "image/avif"
    assert identify(image_bytes("TIFF", big_tiff=True)) == "image/tiff"
