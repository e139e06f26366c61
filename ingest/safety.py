"""Hostile-upload defences, run by every upload path before an original is stored.

``inspect_upload(name, stream)`` returns the file's media type (from its first bytes, never
from its name) or raises ``UploadRefused`` with a reason an archivist can act on. It refuses:

- **unsafe file names**: empty, ".", "..", containing "/" or "\\", NUL or control characters
  or bidirectional overrides (they disguise a name), or longer than 255 UTF-8 bytes (the limit
  of common file systems). Accepted names are returned NFC-normalised, so "é" typed two ways
  is one name.
- **oversize files**: more than ``Limits.max_bytes``, by the declared size and by the stream.
- **active content**: SVG, HTML and XHTML, by content or by name. A browser runs their scripts
  in the archive's origin when they are viewed, so they could act as any signed-in archivist.
- **decompression bombs**: a raster image whose header claims more than ``Limits.max_pixels``
  pixels (a few KB of PNG can claim 60000 × 60000 pixels: 10 GB once decoded), checked on
  every page of a TIFF; Pillow's own DecompressionBombError/Warning count as refusals too.
- **zip bombs and zip slip** (ZIP and EPUB): more than ``max_zip_members`` members, contents
  expanding beyond ``max_unzipped_bytes``, a member over 1 MiB compressed more than
  ``max_zip_ratio`` times, the whole archive expanding more than ``max_zip_ratio`` times its
  size (many small members), member names that are absolute or climb out with ".." (they would
  be written outside the folder on extraction), and symbolic-link members. An archive that is
  read whole into memory to be used (an EPUB book, an Excel manifest: ``check_zip(parsed=True)``)
  may expand to ``max_parsed_bytes`` only. Nested archives are fine: they are stored, not opened.
- **damaged images and archives**: a JPEG/PNG/… whose header Pillow cannot read, a ZIP whose
  directory cannot be read.

- **macros** in office documents (OOXML ``vbaProject.bin``, macro-enabled OOXML types, ODF
  ``Basic/`` and ``Scripts/``, OLE ``Macros``/``_VBA_PROJECT`` streams): they run code on the
  computer of whoever opens the downloaded document.

Every other file is accepted, whatever its format (an archive keeps what it is given): text (UTF-8,
UTF-16, GB18030, Big5; by content, never by name) is "text/plain" (or the text type its name says,
e.g. "text/csv"), XML "application/xml", office documents (OOXML, ODF, OLE) their own types,
and unknown bytes "application/octet-stream".
Only the head of the file, the image header (TIFF: each page header) and the zip central
directory are read, so a 5 GB upload is checked in constant memory. Not checked here: damage
inside compressed pixel data (found when derivatives are made) and PDF internals. Files are
still served with ``X-Content-Type-Options: nosniff`` by the web layer (polyglots, XML).
"""
from __future__ import annotations

import mimetypes
import re
import stat
import struct
import unicodedata
import zipfile
from dataclasses import dataclass
from typing import BinaryIO

from PIL import Image, UnidentifiedImageError

from media import MediaLimits
from oral_history.formats import decode_text
from oral_history.timecodes import OralHistoryError

from .errors import IngestError

HEAD = 8192  # bytes read to identify a format
MIB = 1024 * 1024

ACTIVE_TYPES = {"image/svg+xml", "text/html", "application/xhtml+xml"}
ACTIVE_SUFFIXES = (".svg", ".svgz", ".htm", ".html", ".shtml", ".xht", ".xhtml", ".mht", ".mhtml")
ACTIVE_REASON = "SVG and HTML files are not accepted: they can carry scripts"
MACRO_REASON = ("office documents with macros are not accepted: a macro runs code on the computer that opens "
                "the document; save it without macros (e.g. as .docx, .xlsx or .odt) first")
OOXML = {  # ECMA-376 Part 2 (OPC): the main part names the document type
    "word/document.xml": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "xl/workbook.xml": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "ppt/presentation.xml": "application/vnd.openxmlformats-officedocument.presentationml.presentation",
}
OLE = {"worddocument": "application/msword", "workbook": "application/vnd.ms-excel",
       "book": "application/vnd.ms-excel", "powerpoint document": "application/vnd.ms-powerpoint"}
NAMED_TEXT = {"text/csv", "text/tab-separated-values", "text/markdown"}  # text types a name may choose
OLE_MACROS = {"macros", "_vba_project_cur", "vba", "_vba_project"}

# media type -> (Pillow format, name for messages); Pillow has no HEIC/HEIF decoder built in.
RASTER = {
    "image/jpeg": ("JPEG", "JPEG"),
    "image/png": ("PNG", "PNG"),
    "image/gif": ("GIF", "GIF"),
    "image/tiff": ("TIFF", "TIFF"),
    "image/webp": ("WEBP", "WebP"),
    "image/avif": ("AVIF", "AVIF"),
    "image/jp2": ("JPEG2000", "JPEG 2000"),
}
MAX_TIFF_PAGES = 10_000


class UploadRefused(IngestError):
    """An upload was refused; ``reason`` says why in plain words."""

    def __init__(self, name: str, reason: str):
        self.name = name
        self.reason = reason
        super().__init__(f"{name}: {reason}")


@dataclass(frozen=True)
class Limits(MediaLimits):
    """What uploads may be; and, checked by the media steps (``MediaLimits``), recordings."""
    max_bytes: int = 4 * 1024**3
    max_pixels: int = 250_000_000
    max_unzipped_bytes: int = 2 * 1024**3
    max_zip_ratio: int = 200
    max_zip_members: int = 20_000
    max_parsed_bytes: int = 256 * 1024**2  # an archive read whole into memory (EPUB, Excel)


# Unicode bidirectional embeddings/overrides/isolates (UAX #9): they make "gpj.exe" read "exe.jpg".
_BIDI = set("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def safe_filename(name: str) -> str:
    """Return ``name`` NFC-normalised, or raise UploadRefused if it is not a plain file name."""
    def refuse(reason):
        raise UploadRefused(name, reason)

    if not isinstance(name, str) or name in ("", ".", ".."):
        refuse("the file has no usable name")
    nfc = unicodedata.normalize("NFC", name)
    if "/" in nfc or "\\" in nfc:
        refuse("the file name contains a folder separator (/ or \\)")
    if any(unicodedata.category(ch) == "Cc" or ch in _BIDI for ch in nfc):
        refuse("the file name contains control characters")
    if len(nfc.encode("utf-8")) > 255:
        refuse("the file name is longer than 255 bytes")
    return nfc


# -- identification -------------------------------------------------------------------------

# ISO/IEC 14496-12 (ISO base media) "ftyp" brands; the first known brand wins, else MP4 video.
_FTYP_BRANDS = {
    **dict.fromkeys([b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx"], "image/heic"),
    **dict.fromkeys([b"mif1", b"msf1"], "image/heif"),
    **dict.fromkeys([b"avif", b"avis"], "image/avif"),
    **dict.fromkeys([b"M4A ", b"M4B ", b"M4P ", b"F4A ", b"F4B "], "audio/mp4"),
    b"qt  ": "video/quicktime",
}
# WHATWG MIME Sniffing §7.1: tags that make a browser treat unknown text as HTML.
_HTML_TAGS = {"html", "head", "body", "script", "iframe", "h1", "div", "font", "table", "a",
              "style", "title", "b", "br", "p"}
_XHTML_NS = "http://www.w3.org/1999/xhtml"


def identify(head: bytes) -> str | None:
    """The media type named by a file's first bytes (up to ``HEAD``), or None if unknown."""
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):  # PNG spec §5.2 signature
        return "image/png"
    if head.startswith((b"GIF87a", b"GIF89a")):
        return "image/gif"
    # TIFF 6.0 §2 header (II*\0 / MM\0*); BigTIFF uses 43 instead of 42
    if head.startswith((b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+")):
        return "image/tiff"
    if head[:4] in (b"RIFF", b"RF64", b"BW64"):  # RIFF chunk: 4-byte form type at offset 8
        return {b"WEBP": "image/webp", b"WAVE": "audio/wav", b"AVI ": "video/x-msvideo"}.get(head[8:12])
    if head[4:8] == b"ftyp":
        size = max(16, min(int.from_bytes(head[:4], "big"), len(head)))
        brands = [head[8:12]] + [head[i:i + 4] for i in range(16, size - 3, 4)]
        return next((_FTYP_BRANDS[b] for b in brands if b in _FTYP_BRANDS), "video/mp4")
    if head.startswith(b"\x00\x00\x00\x0cjP  \r\n\x87\n"):  # JPEG 2000 Part 1 signature box
        return "image/jp2"
    if head.startswith(b"\xff\x4f\xff\x51"):  # JPEG 2000 codestream: SOC then SIZ marker
        return "image/j2c"
    if head.startswith(b"%PDF-"):
        return "application/pdf"
    if head.startswith((b"PK\x03\x04", b"PK\x05\x06")):
        # EPUB OCF 3 §4.3: the first member is "mimetype", stored uncompressed with no extra
        # field, so its name sits at offset 30 of the local header and its content at 38.
        if head[30:38] == b"mimetype" and head[38:58] == b"application/epub+zip":
            return "application/epub+zip"
        return "application/zip"
    if head.startswith(b"fLaC"):
        return "audio/flac"
    if head.startswith(b"OggS"):  # RFC 3533 page; the first packet names the codec
        return "video/ogg" if b"\x80theora" in head[:64] else "audio/ogg"
    if head.startswith(b"\x1a\x45\xdf\xa3"):  # EBML header (RFC 8794), Matroska/WebM
        return "video/webm" if _ebml_doctype(head) == b"webm" else "video/x-matroska"
    if head.startswith(b"ID3"):  # ID3v2 tag, normally before MPEG audio
        return "audio/mpeg"
    if len(head) >= 3 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0 and not _utf16_text(head):  # MPEG frame sync
        if head[1] & 0x06 == 0:  # layer bits 00: ADTS (ISO/IEC 13818-7)
            return "audio/aac"
        if head[1] & 0x18 != 0x08 and head[2] >> 4 != 0xF and head[2] & 0x0C != 0x0C:
            return "audio/mpeg"
    return _markup(head)


def _utf16_text(head: bytes) -> bool:
    """Whether a head starting FF FE (a UTF-16 byte order mark, or an MPEG Layer I frame) is text."""
    if not head.startswith(b"\xff\xfe"):
        return False
    text = head[2:len(head) - len(head) % 2].decode("utf-16-le", "replace")
    return not re.search(r"[\x00-\x08\x0b\x0e-\x1f\ufffd]", text[:-1])


def _ebml_doctype(head: bytes) -> bytes | None:
    """The EBML DocType (element 0x4282) from the header, e.g. b"webm" or b"matroska"."""
    i = head.find(b"\x42\x82", 4, 64)
    if i < 0 or i + 2 >= len(head):
        return None
    first = head[i + 2]
    width = 9 - first.bit_length()  # a vint's length is its leading zero bits + 1
    if not 1 <= width <= 8:
        return None
    size = int.from_bytes(head[i + 2:i + 2 + width], "big") & ((1 << (7 * width)) - 1)
    return head[i + 2 + width:i + 2 + width + size]


def _markup(head: bytes) -> str | None:
    """SVG, HTML or XHTML: the root element after any BOM, XML declaration, comments, doctype."""
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        text = head.decode("utf-16", "ignore")
    else:
        text = head.decode("utf-8", "ignore")
    text = text.lstrip("\ufeff \t\r\n\f")
    while text.startswith("<"):
        if text.startswith("<?"):
            end = _after(text, "?>")
        elif text.startswith("<!--"):
            end = _after(text, "-->")
        elif text[:9].lower() == "<!doctype":
            if re.match(r"<!doctype\s+html[\s>]", text, re.I):
                return "application/xhtml+xml" if _XHTML_NS in text else "text/html"
            bracket, close = text.find("["), text.find(">")
            end = _after(text, "]>") if 0 <= bracket < close else _after(text, ">")
        else:
            break
        if end is None:
            return None
        text = text[end:].lstrip(" \t\r\n\f")
    root = re.match(r"<(?:[\w.-]+:)?([A-Za-z_][\w.-]*)[\s/>]", text)
    tag = root.group(1).lower() if root else None
    if tag == "svg":
        return "image/svg+xml"
    if tag == "html" and _XHTML_NS in text:
        return "application/xhtml+xml"
    if tag in _HTML_TAGS:
        return "text/html"
    return None


def _after(text: str, marker: str) -> int | None:
    i = text.find(marker)
    return None if i < 0 else i + len(marker)


# -- inspection ----------------------------------------------------------------------------

def inspect_upload(name: str, stream: BinaryIO, *, declared_size: int | None = None,
                   limits: Limits = Limits()) -> str:
    """Check an upload before it is stored; return its media type or raise UploadRefused.

    ``stream`` must be a seekable binary file object; it is left at position 0.
    """
    safe_filename(name)
    if not stream.seekable():
        raise ValueError("inspect_upload needs a seekable stream")

    def refuse(reason):
        raise UploadRefused(name, reason)

    try:
        size = stream.seek(0, 2)
        for claimed in (declared_size, size):
            if claimed is not None and claimed > limits.max_bytes:
                refuse(f"the file is too large: {_bytes(claimed)} is more than the limit of "
                       f"{_bytes(limits.max_bytes)}")
        stream.seek(0)
        head = stream.read(HEAD)
        media_type = identify(head)
        stream.seek(0)
        if media_type in ACTIVE_TYPES or name.lower().rstrip(". ").endswith(ACTIVE_SUFFIXES):
            refuse(ACTIVE_REASON)
        if media_type in RASTER:
            _check_image(stream, media_type, limits, refuse)
        elif media_type in ("application/zip", "application/epub+zip"):
            _check_zip(stream, size, media_type, limits, refuse, parsed=media_type == "application/epub+zip")
            if media_type == "application/zip":
                media_type = _zip_document(stream, head, refuse) or media_type
        elif head.startswith(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"):  # OLE2 compound file (MS-CFB §2.2)
            media_type = _ole_document(stream, refuse)
        elif media_type is None:
            media_type = text_type(head, name, complete=size <= len(head))
        return media_type or "application/octet-stream"
    finally:
        stream.seek(0)


def text_type(head: bytes, name: str, *, complete: bool = True) -> str | None:
    """"application/xml" or a text type for bytes that read as text (``head``: the file's first
    bytes; ``complete``: all of them), else None. The name chooses only among text types (CSV)."""
    if not head:
        return None
    for cut in range(1 if complete else 4):  # a character cut off at the end of the head
        try:
            text, _ = decode_text(name, head[:len(head) - cut] if cut else head)
            break
        except OralHistoryError:
            continue
    else:
        return None
    if re.match(r"\s*<(\?xml[\s?]|[A-Za-z_][\w.:-]*[\s/>])", text.lstrip("\ufeff")):
        return "application/xml"
    named = mimetypes.guess_type(name)[0]
    return named if named in NAMED_TEXT else "text/plain"  # never text/javascript, text/css: a name is not content


def _zip_document(stream, head: bytes, refuse) -> str | None:
    """An OOXML or ODF document's media type (macros refused), or None for another ZIP."""
    with zipfile.ZipFile(stream) as archive:
        names = {n.casefold(): n for n in archive.namelist()}
    stream.seek(0)
    if head[30:38] == b"mimetype":  # ODF 1.2 Part 3 §3.3: "mimetype" first, stored
        size = struct.unpack_from("<L", head, 18)[0]
        declared = head[38:38 + min(size, 100)].decode("ascii", "replace")
        if declared.startswith("application/vnd.oasis.opendocument."):
            # ODF macros: Basic/ (StarBasic) and Scripts/ (other languages), ODF 1.2 Part 3 §2.2
            if any(n.startswith(("basic/", "scripts/")) and not n.endswith("/") for n in names):
                refuse(MACRO_REASON)
            return declared.strip()
    if "[content_types].xml" in names:
        if any(n.rsplit("/", 1)[-1] == "vbaproject.bin" for n in names):
            refuse(MACRO_REASON)
        return next((t for part, t in OOXML.items() if part in names), None)
    return None


def _ole_document(stream, refuse) -> str | None:
    """A Word/Excel/PowerPoint 97-2003 file's media type (macros refused), from its streams."""
    import olefile

    try:
        with olefile.OleFileIO(stream) as ole:
            entries = {part.casefold() for path in ole.listdir(streams=True, storages=True) for part in path}
    except Exception as exc:  # noqa: BLE001 - any parse failure: a damaged compound file
        refuse(f"not a readable Office 97-2003 file: {exc}")
    finally:
        stream.seek(0)
    if entries & OLE_MACROS:
        refuse(MACRO_REASON)
    return next((t for part, t in OLE.items() if part in entries), "application/x-ole-storage")


def check_zip(name: str, stream: BinaryIO, *, label: str = "ZIP", parsed: bool = False,
              limits: Limits = Limits()) -> None:
    """The zip checks of ``inspect_upload`` on a seekable stream (e.g. an Excel manifest, with
    ``parsed``: it is read into memory); raises UploadRefused."""
    def refuse(reason):
        raise UploadRefused(name, reason)

    try:
        _check_zip(stream, stream.seek(0, 2), label, limits, refuse, parsed=parsed)
    finally:
        stream.seek(0)


def _check_image(stream, media_type, limits, refuse):
    fmt, label = RASTER[media_type]
    try:
        with Image.open(stream, formats=[fmt]) as im:
            sizes = [im.size]
            if fmt == "TIFF":  # each page has its own size; seeking reads only page headers
                while len(sizes) <= MAX_TIFF_PAGES:
                    try:
                        im.seek(len(sizes))
                    except EOFError:
                        break
                    sizes.append(im.size)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        refuse(f"decompression bomb: the image is too large to open safely ({exc})")
    except Exception as exc:  # any parse failure means the header is unreadable
        detail = "its header is damaged or incomplete" if isinstance(exc, UnidentifiedImageError) else exc
        refuse(f"not a readable {label} image: {detail}")
    if len(sizes) > MAX_TIFF_PAGES:
        refuse(f"the TIFF has more than {MAX_TIFF_PAGES:,} pages")
    for width, height in sizes:
        if width * height > limits.max_pixels:
            refuse(f"decompression bomb: {width} × {height} pixels is more than the limit of "
                   f"{limits.max_pixels:,} pixels")


def _check_zip(stream, size, media_type, limits, refuse, parsed=False):
    label = {"application/epub+zip": "EPUB", "application/zip": "ZIP"}.get(media_type, media_type)
    try:
        count, directory_bytes = _zip_directory(stream, size)
        # zipfile reads the whole central directory into memory: bound it before opening.
        if count > limits.max_zip_members:
            refuse(f"the {label} archive lists too many files (more than "
                   f"{limits.max_zip_members:,})")
        if directory_bytes > limits.max_zip_members * 1024:
            refuse(f"the {label} archive's list of files is too large ({_bytes(directory_bytes)})")
        stream.seek(0)
        with zipfile.ZipFile(stream) as archive:
            members = archive.infolist()
    except UploadRefused:
        raise
    except Exception as exc:
        refuse(f"not a readable {label} archive: {exc}")
    if len(members) > limits.max_zip_members:
        refuse(f"the {label} archive holds {len(members):,} files, more than the limit of "
               f"{limits.max_zip_members:,}")
    total = 0
    for info in members:
        member = info.filename
        parts = re.split(r"[/\\]", member)
        if member.startswith(("/", "\\")) or re.match(r"[A-Za-z]:", member) or ".." in parts:
            refuse(f"zip slip: the archive member {member!r} would be written outside the "
                   f"folder it is unpacked into")
        if stat.S_ISLNK(info.external_attr >> 16):
            refuse(f"the archive member {member!r} is a symbolic link")
        if info.file_size > MIB and info.file_size > limits.max_zip_ratio * max(info.compress_size, 1):
            refuse(f"zip bomb: the archive member {member!r} expands from "
                   f"{_bytes(info.compress_size)} to {_bytes(info.file_size)}, more than "
                   f"{limits.max_zip_ratio} times")
        total += info.file_size
    if total > limits.max_unzipped_bytes:
        refuse(f"zip bomb: the archive expands to {_bytes(total)}, more than the limit of "
               f"{_bytes(limits.max_unzipped_bytes)}")
    if total > MIB and total > limits.max_zip_ratio * max(size, 1):  # members each small, together a bomb
        refuse(f"zip bomb: the {label} archive expands from {_bytes(size)} to {_bytes(total)}, more than "
               f"{limits.max_zip_ratio} times")
    if parsed and total > limits.max_parsed_bytes:
        refuse(f"the {label} archive expands to {_bytes(total)}, more than the limit of "
               f"{_bytes(limits.max_parsed_bytes)} for files read into memory")


def _zip_directory(stream, size) -> tuple[int, int]:
    """(members, central directory bytes) from the end records (ZIP APPNOTE 4.3.14–4.3.16)."""
    tail_len = min(size, 22 + 65535 + 20)  # EOCD + longest comment + ZIP64 locator
    stream.seek(size - tail_len)
    tail = stream.read(tail_len)
    i = tail.rfind(b"PK\x05\x06")
    if i < 0 or i + 22 > len(tail):
        raise zipfile.BadZipFile("no end of central directory record")
    count, directory_bytes = struct.unpack_from("<HL", tail, i + 10)
    if i >= 20 and tail[i - 20:i - 16] == b"PK\x06\x07":  # ZIP64 locator → ZIP64 EOCD record
        stream.seek(struct.unpack_from("<Q", tail, i - 12)[0])
        record = stream.read(56)
        if record[:4] == b"PK\x06\x06" and len(record) == 56:
            count, directory_bytes = struct.unpack_from("<QQ", record, 32)
    return count, directory_bytes


def _bytes(n: int) -> str:
    for unit in ("bytes", "KB", "MB", "GB"):
        if n < 1024:
            return f"{n:,} bytes" if unit == "bytes" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} TB"
