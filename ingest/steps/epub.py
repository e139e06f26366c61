"""The EPUB step: an EPUB 2 or 3 book → text, table of contents and cover.

``epub(original, media_type, work)`` makes:

- ``chapters.json`` (role "text"): ``[{"n", "title", "href", "text"}]``, the spine documents in
  reading order as plain text (paragraphs separated by a blank line; documents without text,
  such as a cover page, are left out);
- ``text.txt`` (role "text"): all chapters' text;
- ``toc.json`` (role "toc"): the nested table of contents ``[{"title", "href", "children"}]``,
  hrefs relative to the package (OPF) folder like the chapters' hrefs;
- ``cover.jpg|png|gif|webp`` (role "cover"), when the book names a raster cover image;
- metadata suggestions (title, creators, language, date) from the OPF.

A book that is not a readable EPUB (damaged, no package file, DRM) raises ``StepError``;
outputs are written and recorded as ``common.Outputs`` says (idempotent).
"""
from __future__ import annotations

import io
import posixpath
import re
import warnings
import zipfile
from pathlib import Path
from urllib.parse import unquote

import ebooklib
import lxml.html
from ebooklib import epub as ebook
from lxml import etree
from PIL import Image

from ingest.safety import Limits, UploadRefused, check_zip
from . import Derivative, StepError, StepResult
from .common import LANG_RE, Outputs, date_suggestion, reason

RESULT_VERSION = 1  # bump when the outputs change, so old records are redone

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


def epub(original: Path, media_type: str, work: Path, *, limits: Limits = Limits()) -> StepResult:
    """Chapters' text, table of contents, cover and metadata suggestions of an EPUB book."""
    out = Outputs(work, "epub", RESULT_VERSION)
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
        raise StepError(f"the EPUB could not be read: {reason(exc)}") from None

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
            raise StepError(f"not a valid EPUB: META-INF/container.xml cannot be read ({reason(exc)})") from None
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
        metadata["date"] = date_suggestion(published[0] if published else dates[0][0])
    return metadata
