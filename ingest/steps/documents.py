"""Document steps: EPUB and PDF originals → text, table of contents, cover and page images.

``epub(original, media_type, work)`` makes, from an EPUB 2 or 3 book:

- ``chapters.json`` (role "text"): ``[{"n", "title", "href", "text"}]``, the spine documents in
  reading order as plain text (paragraphs separated by a blank line; documents without text,
  such as a cover page, are left out);
- ``text.txt`` (role "text"): all chapters' text;
- ``toc.json`` (role "toc"): the nested table of contents ``[{"title", "href", "children"}]``,
  hrefs relative to the package (OPF) folder like the chapters' hrefs;
- ``cover.jpg|png|gif|webp`` (role "cover"), when the book names a raster cover image;
- metadata suggestions (title, creators, language, date) from the OPF.

``pdf(original, media_type, work)`` makes, from a PDF:

- ``p0001.tif``, ``p0002.tif`` … (role "pyramid", ``sequence`` = page): the page rendered so
  its long edge is ``PAGE_LONG_EDGE`` pixels, saved as a tiled, pyramidal, JPEG-compressed TIFF.
  A page without a text layer (fewer than ``MIN_PAGE_CHARS`` letters/digits extract from it)
  has ``needs_ocr=True``: the pipeline runs OCR on that image;
- ``pages.json`` (role "text"): ``[{"page", "text"}]`` and ``text.txt`` (pages separated by a
  form feed), only when at least one page has a text layer;
- ``thumbnail.jpg`` (role "thumbnail") of page 1;
- page count and document info in ``tech``; title, author and (for born-digital PDFs only,
  since a scan's creation date is not the work's date) creation date as suggestions.

Failures a person can act on (damaged file, DRM, password, no pages) raise ``StepError``.
``media_type`` is not checked: the pipeline chose the step by it.

Idempotence: every output is written under a temporary name (``.<name>.part``) and renamed
when complete; the result is recorded last in ``<step>.result.json``. A later call finding the
record and its files returns them without redoing anything; an interrupted PDF run keeps the
page images already finished.
"""
from __future__ import annotations

import dataclasses
import io
import json
import os
import posixpath
import re
import time
import warnings
import zipfile
from datetime import date
from pathlib import Path
from urllib.parse import unquote

import ebooklib
import lxml.html
import pypdf
import pyvips
from ebooklib import epub as ebook
from lxml import etree
from PIL import Image

from ingest.safety import Limits, UploadRefused, check_zip
from media.tools import stop_at

from . import Derivative, StepError, StepResult

PAGE_LONG_EDGE = 2000  # pixels of a page image's long edge
TILE = 256
JPEG_Q = 85
THUMBNAIL_SIZE = 400  # pixels of the thumbnail's long edge
MIN_PAGE_CHARS = 10  # fewer letters/digits than this on a page: no text layer, needs OCR
MAX_PAGE_CHARS = 100_000  # a page's text layer is kept up to this many characters (a dense page has ~20 000)
RESULT_VERSION = 1  # bump when the outputs change, so old records are redone

LANG_RE = re.compile(r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$")
ISO_DATE_RE = re.compile(r"^(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?")

# EPUB font obfuscation is not DRM: the text is readable.
FONT_OBFUSCATION = {"http://www.idpf.org/2008/embedding", "http://ns.adobe.com/pdf/enc#RC"}
CONTAINER_NS = "urn:oasis:names:tc:opendocument:xmlns:container"
ENC_NS = "http://www.w3.org/2001/04/xmlenc#"
OPF_NS = "http://www.idpf.org/2007/opf"
SAFE_XML = etree.XMLParser(resolve_entities=False, no_network=True)

COVER_FORMATS = {"JPEG": ("jpg", "image/jpeg"), "PNG": ("png", "image/png"),
                 "GIF": ("gif", "image/gif"), "WEBP": ("webp", "image/webp")}
ROLES = {"aut": "author", "edt": "editor", "trl": "translator", "ill": "illustrator",
         "com": "compiler", "ctb": "contributor"}

_BLOCK_TAGS = {"address", "article", "aside", "blockquote", "body", "dd", "div", "dl", "dt",
               "figcaption", "figure", "footer", "h1", "h2", "h3", "h4", "h5", "h6", "header",
               "hr", "li", "main", "nav", "ol", "p", "pre", "section", "table", "td", "th", "tr",
               "ul"}
_SKIP_TAGS = {"head", "script", "style", "title", "rt", "rp"}  # rt/rp: ruby annotations
_PARA, _LINE = "\x00", "\x01"  # markers for a paragraph break and a <br>
_CJK = "\u2e80-\u9fff\uf900-\ufaff\uff00-\uffef"
_CJK_BREAK = re.compile(rf"(?<=[{_CJK}])[ \t\r\f\v]*\n\s*(?=[{_CJK}])")


# ---------------------------------------------------------------------------------------------
# outputs


class _Outputs:
    """A step's files in its work folder: atomic writes and the record of a finished result."""

    def __init__(self, work: Path, step: str):
        self.work = Path(work)
        self.work.mkdir(parents=True, exist_ok=True)
        self.record = self.work / f"{step}.result.json"

    def finished(self) -> StepResult | None:
        """The recorded result when it and all its files exist, else None."""
        try:
            data = json.loads(self.record.read_text("utf-8"))
            if data.get("version") != RESULT_VERSION:
                return None
            derivatives = [Derivative(path=self.work / d["name"], **d) for d in data["derivatives"]]
        except (OSError, ValueError, KeyError, TypeError):
            return None
        if not all(d.path.is_file() for d in derivatives):
            return None
        return StepResult(derivatives, data.get("tech", {}), data.get("metadata", {}))

    def temp(self, name: str) -> Path:
        """Where to write ``name`` before it is complete."""
        return self.work / f".{name}.part"

    def commit(self, name: str) -> Path:
        """Rename the finished temporary file to ``name``; returns the final path."""
        final = self.work / name
        os.replace(self.temp(name), final)
        return final

    def write_bytes(self, name: str, data: bytes) -> Path:
        self.temp(name).write_bytes(data)
        return self.commit(name)

    def write_text(self, name: str, text: str) -> Path:
        return self.write_bytes(name, text.encode("utf-8"))

    def write_json(self, name: str, value) -> Path:
        return self.write_text(name, json.dumps(value, ensure_ascii=False))

    def save(self, result: StepResult) -> StepResult:
        """Record the finished result (last, so a record always means complete outputs)."""
        derivatives = []
        for d in result.derivatives:
            entry = dataclasses.asdict(d)
            del entry["path"]
            derivatives.append(entry)
        self.write_json(self.record.name, {"version": RESULT_VERSION, "derivatives": derivatives,
                                           "tech": result.tech, "metadata": result.metadata})
        return result


# ---------------------------------------------------------------------------------------------
# EPUB


def epub(original: Path, media_type: str, work: Path, *, limits: Limits = Limits()) -> StepResult:
    """Chapters' text, table of contents, cover and metadata suggestions of an EPUB book."""
    out = _Outputs(work, "epub")
    if (done := out.finished()) is not None:
        return done
    _check_epub_container(Path(original))
    with open(original, "rb") as f:  # ebooklib reads the whole book into memory: bound it first
        try:
            check_zip(Path(original).name, f, label="EPUB", parsed=True, limits=limits)
        except UploadRefused as exc:
            raise StepError(exc.reason) from None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            book = ebook.read_epub(str(original), {"ignore_ncx": True})
    except Exception as exc:  # ebooklib raises KeyError, lxml errors, EpubException …
        raise StepError(f"the EPUB could not be read: {_reason(exc)}") from None

    toc = _epub_toc(book)
    toc_titles: dict[str, str] = {}
    _index_toc(toc, toc_titles)

    chapters = []
    for idref, _linear in book.spine:
        item = book.get_item_with_id(idref)
        if not _is_text_document(item):
            continue
        text, heading = html_to_text(item.get_content())
        if not text:
            continue
        href = item.get_name()
        chapters.append({"n": len(chapters) + 1, "title": toc_titles.get(href) or heading,
                         "href": href, "text": text})

    derivatives = [
        Derivative("chapters.json", out.write_json("chapters.json", chapters), "application/json", "text"),
        Derivative("text.txt", out.write_text("text.txt", "\n\n".join(c["text"] for c in chapters) + "\n"),
                   "text/plain", "text"),
        Derivative("toc.json", out.write_json("toc.json", toc), "application/json", "toc"),
    ]
    cover = _epub_cover(book)
    if cover:
        data, fmt, (width, height) = cover
        ext, cover_type = COVER_FORMATS[fmt]
        name = f"cover.{ext}"
        derivatives.append(Derivative(name, out.write_bytes(name, data), cover_type, "cover",
                                      tech={"width": width, "height": height}))

    identifiers = _dc(book, "identifier")
    tech = {"format": "EPUB", "epub_version": book.version, "chapters": len(chapters),
            "identifier": identifiers[0] if identifiers else None}
    return out.save(StepResult(derivatives, tech, _epub_metadata(book)))


def _check_epub_container(original: Path) -> None:
    """Refuse, with a plain reason, what is not a readable EPUB: not a zip, no OPF, DRM."""
    try:
        zf = zipfile.ZipFile(original)
    except (zipfile.BadZipFile, OSError):
        raise StepError("not a readable EPUB: the file is not a ZIP archive (damaged or truncated?)") from None
    with zf:
        names = set(zf.namelist())
        if "META-INF/container.xml" not in names:
            raise StepError("not a valid EPUB: META-INF/container.xml is missing")
        try:
            container = etree.fromstring(zf.read("META-INF/container.xml"), SAFE_XML)
        except Exception as exc:
            raise StepError(f"not a valid EPUB: META-INF/container.xml cannot be read ({_reason(exc)})") from None
        rootfile = container.find(f".//{{{CONTAINER_NS}}}rootfile")
        opf = rootfile.get("full-path") if rootfile is not None else None
        if not opf:
            raise StepError("not a valid EPUB: container.xml names no package (OPF) file")
        if opf not in names:
            raise StepError(f"not a valid EPUB: the package file {opf} is missing")
        if "META-INF/encryption.xml" in names:
            try:
                encryption = etree.fromstring(zf.read("META-INF/encryption.xml"), SAFE_XML)
            except Exception:
                raise StepError("the EPUB is DRM-protected or damaged: META-INF/encryption.xml "
                                "cannot be read") from None
            for method in encryption.iter(f"{{{ENC_NS}}}EncryptionMethod"):
                if method.get("Algorithm") not in FONT_OBFUSCATION:
                    raise StepError("the EPUB is DRM-protected (its content is encrypted); "
                                    "a DRM-free copy is needed")


def _is_text_document(item) -> bool:
    """A spine item that is an (X)HTML content document, not the nav or a generated cover page."""
    if item is None or isinstance(item, (ebook.EpubNav, ebook.EpubCoverHtml)):
        return False
    return isinstance(item, ebook.EpubHtml) or item.media_type in ("application/xhtml+xml", "text/html")


def _epub_toc(book) -> list[dict]:
    """The book's table of contents as nested dicts, hrefs relative to the OPF folder."""
    base = ""
    if not any(isinstance(i, ebook.EpubNav) for i in book.get_items()):
        ncx = next((i for i in book.get_items() if isinstance(i, ebook.EpubNcx)), None)
        base = posixpath.dirname(ncx.get_name()) if ncx is not None else ""  # NCX hrefs: relative to it

    def convert(nodes) -> list[dict]:
        entries = []
        for node in nodes if isinstance(nodes, (list, tuple)) and not _is_section(nodes) else [nodes]:
            children = []
            if _is_section(node):
                node, children = node
            title = " ".join((getattr(node, "title", "") or "").split())
            href = getattr(node, "href", "") or ""
            if href and base:
                href = posixpath.normpath(posixpath.join(base, href))
            kids = convert(children)
            if title or href or kids:
                entries.append({"title": title, "href": unquote(href) or None, "children": kids})
        return entries

    return convert(book.toc or [])


def _is_section(node) -> bool:
    """ebooklib writes a TOC entry with children as the pair ``(Section, [children])``."""
    return isinstance(node, tuple) and len(node) == 2 and isinstance(node[1], (list, tuple))


def _index_toc(entries: list[dict], titles: dict[str, str]) -> None:
    """Map each document href (without fragment) to the first TOC title pointing into it."""
    for entry in entries:
        if entry["href"] and entry["title"]:
            titles.setdefault(entry["href"].split("#")[0], entry["title"])
        _index_toc(entry["children"], titles)


def html_to_text(content: bytes | str) -> tuple[str, str | None]:
    """Plain text of an (X)HTML document and its first heading (or <title>).

    Block elements (p, div, h1…, li …) become paragraphs separated by a blank line, <br> a line
    break; other whitespace collapses to one space, and a source line break between two Chinese
    characters disappears. Scripts, styles and ruby annotations are dropped.
    """
    if isinstance(content, bytes):
        encoding = "utf-16" if content[:2] in (b"\xff\xfe", b"\xfe\xff") else "utf-8"
        content = content.decode(encoding, "replace")
    content = re.sub(r"^\ufeff?\s*<\?xml[^>]*\?>", "", content)
    try:
        doc = lxml.html.document_fromstring(content)
    except (etree.ParserError, ValueError):
        return "", None
    parts: list[str] = []
    _walk(doc, parts)
    paragraphs = []
    for block in "".join(parts).split(_PARA):
        lines = (" ".join(_CJK_BREAK.sub("", line).split()) for line in block.split(_LINE))
        paragraph = "\n".join(line for line in lines if line)
        if paragraph:
            paragraphs.append(paragraph)

    heading = None
    for el in doc.iter("h1", "h2", "h3", "h4", "h5", "h6", "title"):
        heading = " ".join(_CJK_BREAK.sub("", el.text_content()).split()) or None
        if heading:
            break
    return "\n\n".join(paragraphs), heading


def _walk(el, parts: list[str]) -> None:
    """Collect the text of ``el`` and its tail into ``parts`` with paragraph/line markers."""
    if isinstance(el.tag, str):
        tag = el.tag.rsplit("}", 1)[-1].lower()
        if tag not in _SKIP_TAGS:
            block = tag in _BLOCK_TAGS
            if block:
                parts.append(_PARA)
            if tag == "br":
                parts.append(_LINE)
            parts.append(el.text or "")
            for child in el:
                _walk(child, parts)
            if block:
                parts.append(_PARA)
    parts.append(el.tail or "")


def _epub_cover(book) -> tuple[bytes, str, tuple[int, int]] | None:
    """The cover image's bytes, Pillow format and size, when it is a raster image we can serve.

    SVG covers are left out (they can carry scripts), as are images Pillow cannot read or that
    claim more pixels than Pillow's decompression-bomb limit.
    """
    candidates = list(book.get_items_of_type(ebooklib.ITEM_COVER))
    for _value, attrs in book.get_metadata("OPF", "cover"):  # EPUB 2: <meta name="cover" content="id">
        item = book.get_item_with_id(attrs.get("content"))
        if item is not None:
            candidates.append(item)
    for item in candidates:
        data = item.get_content()
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("error", Image.DecompressionBombWarning)
                with Image.open(io.BytesIO(data)) as im:
                    if im.format in COVER_FORMATS:
                        return data, im.format, im.size
        except Exception:
            continue
    return None


def _dc(book, name: str) -> list[str]:
    """Non-empty values of a Dublin Core element in the OPF."""
    return [v.strip() for v, _ in book.get_metadata("DC", name) if isinstance(v, str) and v.strip()]


def _epub_metadata(book) -> dict:
    """Suggested item fields from the OPF: title, creators, language, date."""
    languages = [lang for lang in _dc(book, "language") if LANG_RE.match(lang)]
    key = languages[0].split("-")[0].lower() if languages else "zh"
    metadata: dict = {}
    titles = _dc(book, "title")
    if titles:
        metadata["title"] = {key: titles[0]}
    creators = []
    for value, attrs in book.get_metadata("DC", "creator"):
        if isinstance(value, str) and value.strip():
            role = ROLES.get(attrs.get(f"{{{OPF_NS}}}role", "aut"), "author")
            creators.append({"name": {key: value.strip()}, "role": role})
    if creators:
        metadata["creators"] = creators
    if languages:
        metadata["language"] = languages
    dates = [(v.strip(), attrs) for v, attrs in book.get_metadata("DC", "date") if isinstance(v, str) and v.strip()]
    if dates:
        published = [v for v, attrs in dates if attrs.get(f"{{{OPF_NS}}}event") == "publication"]
        metadata["date"] = _date_suggestion(published[0] if published else dates[0][0])
    return metadata


def _date_suggestion(value: str) -> dict:
    """``{"display": value}``, plus ``edtf`` when the value starts with a real ISO date."""
    suggestion = {"display": value}
    m = ISO_DATE_RE.match(value)
    if m:
        year, month, day = m.groups()
        try:
            date(int(year), int(month or 1), int(day or 1))
        except ValueError:
            return suggestion
        suggestion["edtf"] = "-".join(p for p in (year, month, day) if p)
    return suggestion


# ---------------------------------------------------------------------------------------------
# PDF


def pdf(original: Path, media_type: str, work: Path, *, limits: Limits = Limits()) -> StepResult:
    """Page texts, tiled pyramidal page images (flagged for OCR when textless) and a thumbnail;
    rendering a page (poppler, through libvips) may take ``limits.tool_timeout`` seconds."""
    out = _Outputs(work, "pdf")
    if (done := out.finished()) is not None:
        return done
    with open(original, "rb") as fh:  # a file object: pypdf then reads lazily, not the whole file
        reader = _open_pdf(fh)
        try:
            count = len(reader.pages)
        except Exception as exc:
            raise StepError(f"the PDF is damaged: its page tree cannot be read ({_reason(exc)})") from None
        if count == 0:
            raise StepError("the PDF has no pages")

        derivatives, pages = [], []
        for number in range(1, count + 1):
            text = _page_text(reader, number)
            pages.append({"page": number, "text": text})
            name = f"p{number:04d}.tif"
            long_edge = _long_edge(reader, number)
            reader.resolved_objects.clear()  # pypdf caches every object read: keep one page's worth
            width, height, levels = _render_page(out, Path(original), number, name, long_edge, limits.tool_timeout)
            derivatives.append(Derivative(
                name, out.work / name, "image/tiff", "pyramid", sequence=number,
                tech={"width": width, "height": height, "levels": levels, "tile": TILE},
                needs_ocr=_alnum_count(text) < MIN_PAGE_CHARS))
        info = _pdf_info(reader)

    needing_ocr = sum(d.needs_ocr for d in derivatives)
    if needing_ocr < count:  # some page has a text layer
        derivatives.append(Derivative("pages.json", out.write_json("pages.json", pages),
                                      "application/json", "text"))
        text = "\f".join(p["text"] for p in pages) + "\n"
        derivatives.append(Derivative("text.txt", out.write_text("text.txt", text), "text/plain", "text"))
    thumb = out.temp("thumbnail.jpg")
    try:
        pyvips.Image.thumbnail(str(derivatives[0].path), THUMBNAIL_SIZE).jpegsave(str(thumb), Q=JPEG_Q, strip=True)
    except pyvips.Error as exc:
        raise StepError(f"the thumbnail could not be made ({_reason(exc)})") from None
    thumb_image = pyvips.Image.new_from_file(str(out.commit("thumbnail.jpg")))
    derivatives.append(Derivative("thumbnail.jpg", out.work / "thumbnail.jpg", "image/jpeg", "thumbnail",
                                  tech={"width": thumb_image.width, "height": thumb_image.height}))

    tech = {"format": "PDF", "pages": count, "pages_needing_ocr": needing_ocr,
            **{k: v for k, v in info.items() if k != "lang" and v}}
    return out.save(StepResult(derivatives, tech, _pdf_metadata(info, born_digital=needing_ocr == 0)))


def _open_pdf(fh) -> pypdf.PdfReader:
    """A pypdf reader on the file, decrypted when an empty password opens it, else StepError."""
    try:
        reader = pypdf.PdfReader(fh)
    except Exception as exc:
        raise StepError(f"the PDF is damaged or truncated and cannot be read ({_reason(exc)})") from None
    if reader.is_encrypted:
        try:
            opened = reader.decrypt("")
        except Exception as exc:  # e.g. an AES variant without the crypto library
            raise StepError(f"the PDF is encrypted and cannot be decrypted ({_reason(exc)})") from None
        if opened == pypdf.PasswordType.NOT_DECRYPTED:
            raise StepError("the PDF is password-protected: upload a copy without a password")
    return reader


def _page_text(reader: pypdf.PdfReader, number: int) -> str:
    """The text layer of page ``number`` (1-based); "" when it has none or cannot be read."""
    try:
        text = reader.pages[number - 1].extract_text() or ""
    except Exception:  # a damaged content stream: treat as no text layer, OCR will read the image
        return ""
    text = "\n".join(line.rstrip() for line in text.replace("\x00", "").strip().splitlines())
    return text[:MAX_PAGE_CHARS]  # more is not a page's text but a content stream made to be large


def _alnum_count(text: str) -> int:
    """Letters, digits and CJK characters in ``text`` (private-use glyph codes do not count)."""
    return sum(1 for ch in text if ch.isalnum() and not "\ue000" <= ch <= "\uf8ff")


def _long_edge(reader: pypdf.PdfReader, number: int) -> float | None:
    """The long edge of page ``number``'s crop box in points (rotation does not change it)."""
    try:
        box = reader.pages[number - 1].cropbox
        edge = float(max(abs(box.width), abs(box.height)))
    except Exception:
        return None
    return edge if edge >= 1 else None


def _render_page(out: _Outputs, original: Path, number: int, name: str,
                 long_edge: float | None, timeout: float = Limits.tool_timeout) -> tuple[int, int, int]:
    """Render one page to a tiled pyramidal TIFF (kept if already finished); width, height, levels.

    The scale makes the page's long edge PAGE_LONG_EDGE pixels (poppler renders 1 point as
    1 pixel at scale 1); without a usable page box from pypdf, libvips' header says the size.
    The page is rendered into memory first, stopped after ``timeout`` seconds (a page can be made
    to take hours), then saved.
    """
    final = out.work / name
    try:
        if not final.is_file():
            if long_edge is None:
                header = pyvips.Image.pdfload(str(original), page=number - 1)
                long_edge = max(header.width, header.height)
            scale = PAGE_LONG_EDGE / long_edge
            image = pyvips.Image.pdfload(str(original), page=number - 1, scale=scale)
            if image.hasalpha():
                image = image.flatten(background=[255, 255, 255])
            deadline = time.monotonic() + timeout
            try:
                with stop_at(image, deadline):
                    image = image.copy_memory()  # a page is at most 2000 × 2000 pixels: a few MB
            except pyvips.Error:
                if time.monotonic() > deadline:
                    raise StepError(f"page {number} of the PDF was stopped after {timeout:g} s of rendering: the page "
                                    f"is damaged or too demanding (the limit is the setting TOOL_TIMEOUT)") from None
                raise
            image.tiffsave(str(out.temp(name)), tile=True, tile_width=TILE, tile_height=TILE,
                           pyramid=True, compression="jpeg", Q=JPEG_Q, strip=True)
            out.commit(name)
        image = pyvips.Image.new_from_file(str(final))
        levels = image.get("n-pages") if image.get_typeof("n-pages") else 1
        return image.width, image.height, levels
    except pyvips.Error as exc:
        raise StepError(f"page {number} of the PDF could not be rendered ({_reason(exc)})") from None
    finally:
        _empty_vips_cache()


def _empty_vips_cache() -> None:
    """Drop libvips' operation cache, which keeps every loaded page (and poppler's copy of the
    document) alive: without this a 50-page scan holds ~2 GB, with it one page's worth."""
    size = pyvips.cache_get_max()
    pyvips.cache_set_max(0)
    pyvips.cache_set_max(size)


def _pdf_info(reader: pypdf.PdfReader) -> dict:
    """Title, author, creation date, producer, PDF version and language of the document."""
    meta = reader.metadata or {}
    info = {"pdf_version": reader.pdf_header.removeprefix("%PDF-") or None}
    for key, field in (("title", "/Title"), ("author", "/Author"), ("producer", "/Producer")):
        value = meta.get(field)
        value = value.get_object() if hasattr(value, "get_object") else value
        info[key] = " ".join(value.split()) if isinstance(value, str) else ""  # bytes: undecodable
    try:
        created = meta.creation_date if isinstance(meta, pypdf.DocumentInformation) else None
    except Exception:  # an unparseable date string
        created = None
    info["created"] = created.isoformat() if created else None
    try:
        lang = str(reader.trailer["/Root"].get("/Lang") or "")
    except Exception:
        lang = ""
    info["lang"] = lang if LANG_RE.match(lang) else None
    return info


def _pdf_metadata(info: dict, born_digital: bool) -> dict:
    """Suggested item fields from the document info."""
    key = info["lang"].split("-")[0].lower() if info.get("lang") else "zh"
    metadata: dict = {}
    if info.get("title"):
        metadata["title"] = {key: info["title"]}
    if info.get("author"):
        metadata["creators"] = [{"name": {key: info["author"]}, "role": "author"}]
    if info.get("lang"):
        metadata["language"] = [info["lang"]]
    if born_digital and info.get("created"):
        metadata["date"] = _date_suggestion(info["created"][:10])
    return metadata


def _reason(exc: BaseException) -> str:
    """One line saying why: libvips' detail ("Document is encrypted"), else the message's first line."""
    text = getattr(exc, "detail", "") if isinstance(exc, pyvips.Error) else ""
    text = text.strip() or str(exc).strip() or type(exc).__name__
    return text.splitlines()[0].strip().removeprefix("glib: ")
