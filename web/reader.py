"""Reading an item: its scans for the phone viewer and the no-script fallback (IIIF Image API
``srcset``), the OCR text beside each page, and the e-book reader. Thin: the canvases and their
text come from iiif/ (the files the user may see)."""
from __future__ import annotations

from dataclasses import dataclass

from flask import Blueprint

from iiif import canvases

from .context import archive, current_user

bp = Blueprint("reader", __name__)
WIDTHS = (400, 800, 1200, 1600, 2400)  # srcset candidates (never wider than the image)
CARD_WIDTHS = (200, 400, 800)  # a card's or a search hit's image (at most ~20rem wide, on 2x screens)


@dataclass(frozen=True)
class Scan:
    """A page image through the IIIF Image API (3.0 §4.2 size ``w,``)."""
    n: int
    key: str
    label: dict
    service: str  # the image's base URI; + /info.json for OpenSeadragon
    width: int
    height: int

    def url(self, width: int | None = None) -> str:
        return f"{self.service}/full/{f'{width},' if width else 'max'}/0/default.jpg"

    @property
    def srcset(self) -> str:
        return self.srcset_of(WIDTHS, self.width)

    def srcset_of(self, candidates, largest: int) -> str:
        """``candidates`` narrower than the image, and ``largest`` (at most the image's width)."""
        if not self.width:  # size unknown: only the image as it is (no upscaling, §4.2)
            return f"{self.url()} 1000w"
        widths = [w for w in candidates if w < self.width] + [min(self.width, largest)]
        return ", ".join(f"{self.url(w)} {w}w" for w in dict.fromkeys(widths))

    # a card's image: the candidates up to 800 px, 400 px without srcset support; width/height
    # attributes (the aspect ratio, so the page does not move when it loads)
    @property
    def card_srcset(self) -> str:
        return self.srcset_of(CARD_WIDTHS, max(CARD_WIDTHS))

    @property
    def card_width(self) -> int:
        return min(self.width, 400)

    @property
    def card_height(self) -> int:
        return round(self.height * self.card_width / self.width) if self.width else 0


@bp.app_template_global()
def card_scan(item_id: str, pyramid, width: int = 0, height: int = 0) -> Scan:
    """A card's or a search hit's image through the IIIF Image API (``pyramid``: the File or its id,
    one the user may see, as ``card_image`` and ``Search`` hits give)."""
    from .iiif_presentation import links

    return Scan(1, "", {}, links().image_service(item_id, pyramid), width, height)


@bp.app_template_global()
def card_image(item, thumb) -> Scan | None:
    """The IIIF image of an item card: the pyramid made from the thumbnail's original, when the
    user may see it (else None: the card shows the thumbnail file alone)."""
    if thumb is None or not thumb.derived_from:
        return None
    pyramid = next((f for f in archive().visible_files(item, user=current_user())
                    if f.purpose == "pyramid" and f.derived_from == thumb.derived_from), None)
    return pyramid and card_scan(item.id, pyramid, pyramid.tech.get("width") or 0, pyramid.tech.get("height") or 0)


@bp.app_template_global()
def scans(item) -> list[Scan]:
    """The item's page images (pyramids) this user may see, in canvas order."""
    from .iiif_presentation import links

    files = canvases.visible(archive(), item, user=current_user())
    pages = [p for p in canvases.plan(archive(), item, files, user=current_user())
             if p.image is not None and p.image.purpose == "pyramid"]
    out = []
    for n, page in enumerate(pages, 1):
        width, height = page.image.tech.get("width") or 0, page.image.tech.get("height") or 0
        out.append(Scan(n, page.key, page.label, links().image_service(item.id, page.image), width, height))
    return out


# --- the text beside the page: OCR lines and PDF text layers, as the user may read them ---------

TEXT_PAGES = 20  # pages of text on the item page (more: the paged /items/<id>/text)


@dataclass(frozen=True)
class TextPage:
    n: int  # the page (canvas) number, as in the viewer and #p<n>
    label: dict
    lines: list  # (line number, text)


def page_texts(item, *, start: int = 1, count: int = TEXT_PAGES) -> tuple[list[TextPage], int]:
    """The text of the item's page images (``start``…, ``count`` of them) and how many have text,
    from the files the user may see (iiif.content_search.segments: the access policy applied)."""
    from iiif import content_search

    from .iiif_presentation import links

    user = current_user()
    files = canvases.visible(archive(), item, user=user)
    pages = [p for p in canvases.plan(archive(), item, files, user=user) if p.image is not None]
    if not pages or not canvases.has_text(files):
        return [], 0
    numbers = {links().canvas(item.id, p.key): (n, p) for n, p in enumerate(pages, 1)}
    lines: dict[int, list] = {}
    for segment in content_search.segments(archive(), item, links(), user=user):
        if segment.canvas in numbers:
            lines.setdefault(numbers[segment.canvas][0], []).append(segment.text)
    with_text = sorted(lines)
    shown = with_text[start - 1:start - 1 + count]
    return [TextPage(n, numbers_label(pages[n - 1], n), list(enumerate(lines[n], 1))) for n in shown], len(with_text)


def numbers_label(page, n: int) -> dict:
    return page.label or {"zh": f"第 {n} 页", "en": f"Page {n}"}


@bp.app_template_global()
def item_text(item) -> dict:
    pages, total = page_texts(item)
    return {"pages": pages, "total": total}


@bp.get("/items/<item_id>/text")
def text(item_id):
    """All the item's page text, ``TEXT_PAGES`` pages at a time (?page=)."""
    from flask import abort, render_template, request

    item = archive().get_item(item_id, user=current_user()).value
    page = max(1, request.args.get("page", 1, type=int))
    pages, total = page_texts(item, start=(page - 1) * TEXT_PAGES + 1)
    if not total:
        abort(404, description=f"item {item_id} has no text to read")
    return render_template("reader/text_page.html", item=item, text_pages=pages, total=total, page=page,
                           last=-(-total // TEXT_PAGES), original=request.args.get("script") == "original")


# --- the e-book reader: chapters, table of contents, search within -------------------------------

EBOOK_SEARCH_HITS = 200  # matches a search within a book lists at most
MAX_CHAPTER_BYTES = 5 << 20  # an EPUB document larger than this is shown as its plain text
# What a chapter keeps of its EPUB (X)HTML (nh3: no scripts, styles, links, images or any remote resource)
EPUB_TAGS = {"p", "br", "hr", "h1", "h2", "h3", "h4", "h5", "h6", "em", "strong", "b", "i", "u", "s", "small",
             "sub", "sup", "span", "div", "section", "article", "blockquote", "q", "cite", "abbr", "ruby", "rt",
             "rp", "ul", "ol", "li", "dl", "dt", "dd", "table", "thead", "tbody", "tfoot", "tr", "th", "td",
             "caption", "figure", "figcaption", "pre", "code"}
EPUB_ATTRIBUTES = {"*": {"lang", "dir", "title"}, "td": {"colspan", "rowspan"}, "th": {"colspan", "rowspan", "scope"},
                   "ol": {"start"}}


@dataclass(frozen=True)
class Book:
    original: object  # the EPUB's original File
    chapters: list  # [{"n", "title", "href", "text"}]
    toc: list  # nested [{"title", "n", "children"}]


def book(item) -> Book | None:
    """The item's first EPUB with its chapters and table of contents, from the files the user may see."""
    user = current_user()
    files = canvases.visible(archive(), item, user=user)
    chapters = next((f for f in files if f.purpose == "text" and canvases.name(f) == "chapters.json"), None)
    if chapters is None:
        return None
    original = next((f for f in item.files if f.id == chapters.derived_from), None)
    text = canvases.read_json(archive(), item.id, chapters, user=user)
    toc_file = next((f for f in files if f.purpose == "toc" and f.derived_from == chapters.derived_from), None)
    by_href = {c["href"]: c["n"] for c in text}

    def entries(nodes):
        return [{"title": e.get("title") or "", "n": by_href.get((e.get("href") or "").split("#")[0]),
                 "children": entries(e.get("children") or [])} for e in nodes]
    toc = entries(canvases.read_json(archive(), item.id, toc_file, user=user)) if toc_file else []
    if not any(e["n"] for e in toc):  # no usable table of contents: the chapters in reading order
        toc = [{"title": c.get("title") or "", "n": c["n"], "children": []} for c in text]
    return Book(original, text, toc)


bp.add_app_template_global(book, "ebook")


def chapter_html(item, found: Book, chapter: dict) -> str | None:
    """The chapter's own (X)HTML from the EPUB, sanitised (nh3), when the user may open the EPUB;
    else None (the reader shows the chapter's plain text)."""
    import posixpath
    import zipfile

    import lxml.html
    import nh3
    from lxml import etree

    from repository.errors import PermissionDenied
    try:
        stored = archive().open_file(item.id, found.original.id, user=current_user())
    except PermissionDenied:
        return None
    try:
        with stored.local_path() as path, zipfile.ZipFile(path) as book_zip:
            container = etree.fromstring(book_zip.read("META-INF/container.xml"),
                                         etree.XMLParser(resolve_entities=False, no_network=True))
            rootfile = container.find(".//{urn:oasis:names:tc:opendocument:xmlns:container}rootfile")
            name = posixpath.normpath(posixpath.join(posixpath.dirname(rootfile.get("full-path")), chapter["href"]))
            info = book_zip.getinfo(name)
            if info.file_size > MAX_CHAPTER_BYTES:
                return None
            data = book_zip.read(info)
    except (KeyError, OSError, zipfile.BadZipFile, etree.XMLSyntaxError, AttributeError, TypeError):
        return None
    try:
        body = lxml.html.document_fromstring(data).body
    except (etree.ParserError, ValueError):
        return None
    inner = "".join(lxml.html.tostring(child, encoding="unicode") for child in body) if body is not None else ""
    return nh3.clean((body.text or "") + inner if body is not None else "", tags=EPUB_TAGS,
                     attributes=EPUB_ATTRIBUTES, url_schemes=set(), strip_comments=True)


def search_within(item, query: str) -> list[dict]:
    """Matches of ``query`` in the book's chapters: IIIF Content Search's segments and matching
    (iiif.content_search: the files the user may see, the project's folding), by chapter."""
    from iiif import content_search

    from .iiif_presentation import links

    segments = [s for s in content_search.segments(archive(), item, links(), user=current_user())
                if "-c" in s.canvas.rsplit("/", 1)[-1]]
    hits = content_search.find(query, segments, most=EBOOK_SEARCH_HITS)
    return [{"chapter": int(h.segment.canvas.rsplit("-c", 1)[1]), "prefix": h.prefix, "exact": h.exact,
             "suffix": h.suffix} for h in hits]


@bp.get("/items/<item_id>/read")
def read(item_id):
    """The e-book reader: chapter ?c= (from 1), the table of contents, search within (?q=)."""
    from flask import abort, make_response, render_template, request

    item = archive().get_item(item_id, user=current_user()).value
    found = book(item)
    if found is None or not found.chapters:
        abort(404, description=f"item {item_id} has no e-book text to read")
    query = request.args.get("q", "").strip()[:200]
    hits = search_within(item, query) if query else None
    n = request.args.get("c", 1, type=int)
    n = n if 1 <= n <= len(found.chapters) else 1
    chapter = found.chapters[n - 1]
    html = None if request.args.get("plain") else chapter_html(item, found, chapter)
    if html and chapter.get("title"):  # the chapter's own first heading is the page's h1
        import re

        html = re.sub(rf"^\s*<h[1-3][^>]*>\s*{re.escape(chapter['title'])}\s*</h[1-3]>", "", html, count=1)
    return make_response(render_template(
        "reader/ebook.html", item=item, book=found, chapter=chapter, n=n, html=html, query=query, hits=hits,
        original=request.args.get("script") == "original"))
