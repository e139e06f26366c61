"""The PDF step: a PDF → page images, text and a thumbnail.

``pdf(original, media_type, work)`` makes:

- ``p0001.tif``, ``p0002.tif`` … (role "pyramid", ``sequence`` = page): the page rendered so
  its long edge is ``PAGE_LONG_EDGE`` pixels, saved as a tiled, pyramidal, JPEG-compressed TIFF.
  A page without a text layer (fewer than ``MIN_PAGE_CHARS`` letters/digits extract from it)
  has ``needs_ocr=True``: the pipeline runs OCR on that image;
- ``pages.json`` (role "text"): ``[{"page", "text"}]`` and ``text.txt`` (pages separated by a
  form feed), only when at least one page has a text layer;
- ``thumbnail.jpg`` (role "thumbnail") of page 1;
- page count and document info in ``tech``; title, author and (for born-digital PDFs only,
  since a scan's creation date is not the work's date) creation date as suggestions.

Failures a person can act on (damaged file, password, no pages) raise ``StepError``.
Outputs are written and recorded as ``common.Outputs`` says (idempotent); an interrupted run
keeps the page images already finished.
"""
from __future__ import annotations

import time
from pathlib import Path

import pypdf
import pyvips

from ingest.safety import Limits
from media.tools import stop_at

from . import Derivative, StepError, StepResult
from .common import LANG_RE, Outputs, date_suggestion, reason

PAGE_LONG_EDGE = 2000  # pixels of a page image's long edge
TILE = 256
JPEG_Q = 85
THUMBNAIL_SIZE = 400  # pixels of the thumbnail's long edge
MIN_PAGE_CHARS = 10  # fewer letters/digits than this on a page: no text layer, needs OCR
MAX_PAGE_CHARS = 100_000  # a page's text layer is kept up to this many characters (a dense page has ~20 000)
RESULT_VERSION = 1  # bump when the outputs change, so old records are redone


def pdf(original: Path, media_type: str, work: Path, *, limits: Limits = Limits()) -> StepResult:
    """Page texts, tiled pyramidal page images (flagged for OCR when textless) and a thumbnail;
    rendering a page (poppler, through libvips) may take ``limits.tool_timeout`` seconds."""
    out = Outputs(work, "pdf", RESULT_VERSION)
    if (done := out.finished()) is not None:
        return done
    with open(original, "rb") as fh:  # a file object: pypdf then reads lazily, not the whole file
        reader = _open_pdf(fh)
        try:
            count = len(reader.pages)
        except Exception as exc:
            raise StepError(f"the PDF is damaged: its page tree cannot be read ({reason(exc)})") from None
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
        raise StepError(f"the thumbnail could not be made ({reason(exc)})") from None
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
        raise StepError(f"the PDF is damaged or truncated and cannot be read ({reason(exc)})") from None
    if reader.is_encrypted:
        try:
            opened = reader.decrypt("")
        except Exception as exc:  # e.g. an AES variant without the crypto library
            raise StepError(f"the PDF is encrypted and cannot be decrypted ({reason(exc)})") from None
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


def _render_page(out: Outputs, original: Path, number: int, name: str,
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
        raise StepError(f"page {number} of the PDF could not be rendered ({reason(exc)})") from None
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
        metadata["date"] = date_suggestion(info["created"][:10])
    return metadata
