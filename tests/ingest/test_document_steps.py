"""The EPUB and PDF steps, on fixtures generated here: ebooklib books, reportlab/Pillow/pypdf PDFs."""
import io
import json
import zipfile

import pytest

import pypdf
from ebooklib import epub as ebook
from PIL import Image, ImageDraw
from reportlab.lib.pagesizes import A4
from reportlab.lib.utils import ImageReader
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfgen import canvas

from ingest.steps import StepError
from ingest.steps.epub import epub, html_to_text
from ingest.steps.pdf import MIN_PAGE_CHARS, PAGE_LONG_EDGE, pdf

# NotoSansCJK is a CFF (PostScript-outline) font, which reportlab cannot embed: the Chinese text
# uses reportlab's built-in CID font, whose ToUnicode mapping lets pypdf extract it back.
pdfmetrics.registerFont(UnicodeCIDFont("STSong-Light"))

CH1 = ("<h1>第一章 舆地</h1><p>江宁县，古称秣陵。</p><p>东至句容，\n西至长江。</p>"
       "<p>第一行<br/>第二行</p><script>alert('x')</script>")
CH2 = ('<h1>第二章 风俗</h1><h2 id="s1">第一节 岁时</h2><p>正月初一，拜年。</p>'
       '<h2 id="s2">第二节 婚丧</h2><p>婚礼用<ruby>聘<rt>pìn</rt></ruby>礼。</p>')
CH3 = "<h1>第三章 物产</h1><ul><li>云锦</li><li>雨花石</li></ul>"


def png_bytes(size=(300, 400), color=(180, 30, 30)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, color).save(buf, "PNG")
    return buf.getvalue()


def build_epub(path, *, nav=True, cover=True):
    """A Chinese book: three chapters, a nested TOC (chapter 2 has two sections), a PNG cover."""
    book = ebook.EpubBook()
    book.set_identifier("fangzhi-test-0001")
    book.set_title("江宁县志")
    book.set_language("zh")
    book.add_author("张三")
    book.add_metadata("DC", "date", "1936-05-01")
    chapters = []
    for n, (title, body) in enumerate([("第一章 舆地", CH1), ("第二章 风俗", CH2), ("第三章 物产", CH3)], 1):
        chapter = ebook.EpubHtml(title=title, file_name=f"text/ch{n}.xhtml", lang="zh")
        chapter.content = body
        book.add_item(chapter)
        chapters.append(chapter)
    book.toc = [
        ebook.Link("text/ch1.xhtml", "第一章 舆地", "ch1"),
        (ebook.Section("第二章 风俗", href="text/ch2.xhtml"),
         [ebook.Link("text/ch2.xhtml#s1", "第一节 岁时", "s1"),
          ebook.Link("text/ch2.xhtml#s2", "第二节 婚丧", "s2")]),
        ebook.Link("text/ch3.xhtml", "第三章 物产", "ch3"),
    ]
    if cover:
        book.set_cover("images/cover.png", png_bytes(), create_page=False)
    book.add_item(ebook.EpubNcx())
    if nav:
        book.add_item(ebook.EpubNav())
    book.spine = (["nav"] if nav else []) + chapters
    ebook.write_epub(str(path), book)
    return path


def rezip(source, target, *, drop=(), add=None):
    """A copy of the zip ``source`` without the members ``drop`` and with ``add`` {name: bytes}."""
    with zipfile.ZipFile(source) as src, zipfile.ZipFile(target, "w") as dst:
        for info in src.infolist():
            if info.filename not in drop:
                dst.writestr(info, src.read(info))
        for name, data in (add or {}).items():
            dst.writestr(name, data)
    return target


def build_born_digital_pdf(path, pages=3):
    """Chinese text (CID font) and English (Helvetica) on each page, with title and author."""
    c = canvas.Canvas(str(path), pagesize=A4)
    c.setTitle("江宁县志（排印本）")
    c.setAuthor("李四")
    for n in range(1, pages + 1):
        c.setFont("STSong-Light", 16)
        c.drawString(72, 760, f"第{n}页：江宁县志卷之{n}，风俗物产。")
        c.setFont("Helvetica", 12)
        c.drawString(72, 730, f"Page {n} of the Jiangning gazetteer")
        c.rect(72, 600, 200, 80, fill=1)
        c.showPage()
    c.save()
    return path


def scan_image(size=(1240, 1754)) -> Image.Image:
    """A page photo: white paper, some dark blocks standing for print."""
    image = Image.new("RGB", size, "white")
    draw = ImageDraw.Draw(image)
    for y in range(150, size[1] - 150, 90):
        draw.rectangle((120, y, size[0] - 120, y + 40), fill=(40, 40, 40))
    return image


def build_scanned_pdf(path):
    """Image-only pages (portrait, then landscape), as a scanner's PDF."""
    first, second = scan_image(), scan_image((1754, 1240))
    first.save(path, "PDF", resolution=150, save_all=True, append_images=[second])
    return path


def build_mixed_pdf(path):
    """Page 1 with a text layer; page 2 a scanned image carrying only a page number as text."""
    c = canvas.Canvas(str(path), pagesize=A4)
    c.setFont("STSong-Light", 16)
    c.drawString(72, 760, "序：本书据民国二十五年刻本排印，凡例如下。")
    c.showPage()
    c.drawImage(ImageReader(scan_image()), 0, 0, *A4)
    c.setFont("Helvetica", 10)
    c.drawString(290, 20, "2")
    c.showPage()
    c.save()
    return path


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    d = tmp_path_factory.mktemp("documents")
    built = {
        "book": build_epub(d / "book.epub"),
        "ncx_book": build_epub(d / "ncx.epub", nav=False),
        "no_cover": build_epub(d / "nocover.epub", cover=False),
        "born": build_born_digital_pdf(d / "born.pdf"),
        "scan": build_scanned_pdf(d / "scan.pdf"),
        "mixed": build_mixed_pdf(d / "mixed.pdf"),
    }
    writer = pypdf.PdfWriter(clone_from=str(built["born"]))
    writer.encrypt("secret")
    writer.write(d / "locked.pdf")
    writer = pypdf.PdfWriter(clone_from=str(built["born"]))
    writer.encrypt("", owner_password="owner")  # opens without a password; only edits restricted
    writer.write(d / "restricted.pdf")
    pypdf.PdfWriter().write(d / "empty.pdf")
    data = built["born"].read_bytes()
    (d / "truncated.pdf").write_bytes(data[: len(data) // 2])
    (d / "notpdf.pdf").write_bytes(b"%PDF-1.7\nthis is not really a pdf\n")
    epub_bytes = built["book"].read_bytes()
    (d / "truncated_epub.epub").write_bytes(epub_bytes[: len(epub_bytes) // 2])
    rezip(built["book"], d / "no_opf.epub", drop={"EPUB/content.opf"})
    rezip(built["book"], d / "no_container.epub", drop={"META-INF/container.xml"})
    built.update({name: d / f"{name}.{ext}" for name, ext in [
        ("locked", "pdf"), ("restricted", "pdf"), ("empty", "pdf"), ("truncated", "pdf"), ("notpdf", "pdf"),
        ("truncated_epub", "epub"), ("no_opf", "epub"), ("no_container", "epub")]})
    return built


def by_name(result):
    return {d.name: d for d in result.derivatives}


def read_json(derivative):
    return json.loads(derivative.path.read_text("utf-8"))


def mtimes(folder):
    return {p.name: p.stat().st_mtime_ns for p in folder.iterdir()}


# ---------------------------------------------------------------------------------------------
# EPUB


def test_epub_chapters_text_toc_cover_and_metadata(files, tmp_path):
    result = epub(files["book"], "application/epub+zip", tmp_path)
    out = by_name(result)
    assert set(out) == {"chapters.json", "text.txt", "toc.json", "cover.png"}
    assert {d.role for d in result.derivatives} == {"text", "toc", "cover"}
    assert out["chapters.json"].media_type == "application/json"
    assert out["text.txt"].media_type == "text/plain"

    chapters = read_json(out["chapters.json"])
    assert [(c["n"], c["title"], c["href"]) for c in chapters] == [
        (1, "第一章 舆地", "text/ch1.xhtml"),
        (2, "第二章 风俗", "text/ch2.xhtml"),
        (3, "第三章 物产", "text/ch3.xhtml"),
    ]
    # paragraphs kept, a source line break between Chinese characters dropped, <br> a line, no script
    assert chapters[0]["text"] == "第一章 舆地\n\n江宁县，古称秣陵。\n\n东至句容，西至长江。\n\n第一行\n第二行"
    assert "pìn" not in chapters[1]["text"] and "婚礼用聘礼。" in chapters[1]["text"]
    assert chapters[2]["text"] == "第三章 物产\n\n云锦\n\n雨花石"
    text = out["text.txt"].path.read_text("utf-8")
    assert text.index("秣陵") < text.index("岁时") < text.index("雨花石")

    assert read_json(out["toc.json"]) == [
        {"title": "第一章 舆地", "href": "text/ch1.xhtml", "children": []},
        {"title": "第二章 风俗", "href": "text/ch2.xhtml", "children": [
            {"title": "第一节 岁时", "href": "text/ch2.xhtml#s1", "children": []},
            {"title": "第二节 婚丧", "href": "text/ch2.xhtml#s2", "children": []}]},
        {"title": "第三章 物产", "href": "text/ch3.xhtml", "children": []},
    ]

    cover = out["cover.png"]
    assert cover.media_type == "image/png" and cover.tech == {"width": 300, "height": 400}
    with Image.open(cover.path) as im:
        assert im.size == (300, 400)

    assert result.metadata == {
        "title": {"zh": "江宁县志"},
        "creators": [{"name": {"zh": "张三"}, "role": "author"}],
        "language": ["zh"],
        "date": {"display": "1936-05-01", "edtf": "1936-05-01"},
    }
    assert result.tech["chapters"] == 3 and result.tech["identifier"] == "fangzhi-test-0001"


def test_epub_with_only_an_ncx_and_without_cover(files, tmp_path):
    result = epub(files["ncx_book"], "application/epub+zip", tmp_path / "ncx")
    toc = read_json(by_name(result)["toc.json"])
    assert [e["title"] for e in toc] == ["第一章 舆地", "第二章 风俗", "第三章 物产"]
    assert [c["href"] for c in toc[1]["children"]] == ["text/ch2.xhtml#s1", "text/ch2.xhtml#s2"]
    assert len(read_json(by_name(result)["chapters.json"])) == 3

    result = epub(files["no_cover"], "application/epub+zip", tmp_path / "plain")
    assert "cover" not in {d.role for d in result.derivatives}


def test_epub_svg_cover_is_left_out(files, tmp_path):
    svg = b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'
    path = rezip(files["book"], tmp_path / "svg.epub", drop={"EPUB/images/cover.png"},
                 add={"EPUB/images/cover.png": svg})  # an SVG claiming to be the PNG cover
    result = epub(path, "application/epub+zip", tmp_path / "work")
    assert "cover" not in {d.role for d in result.derivatives}


@pytest.mark.parametrize("name, reason", [
    ("truncated_epub", "not a ZIP archive"),
    ("no_opf", "package file EPUB/content.opf is missing"),
    ("no_container", "META-INF/container.xml is missing"),
    ("born", "not a ZIP archive"),
])
def test_broken_epub_is_refused(files, tmp_path, name, reason):
    with pytest.raises(StepError, match=reason):
        epub(files[name], "application/epub+zip", tmp_path)
    assert not (tmp_path / "epub.result.json").exists()


def test_epub_that_expands_too_far_is_refused_before_it_is_read(tmp_path):
    """ebooklib reads the whole book into memory: the step itself bounds what it opens (a book
    stored before the upload check, a derivatives rebuild)."""
    from ingest.safety import Limits
    from web import demo

    bomb = demo.epub(tmp_path / "bomb.epub", "炸弹", [(f"第{n}章", "惠山泉水" * 87_000) for n in range(20)])
    with pytest.raises(StepError, match="zip bomb: the EPUB archive expands from .* to 19.9 MB"):
        epub(bomb, "application/epub+zip", tmp_path / "bomb")
    book = build_epub(tmp_path / "book.epub")
    with pytest.raises(StepError, match="for files read into memory"):
        epub(book, "application/epub+zip", tmp_path / "small", limits=Limits(max_parsed_bytes=1000))
    assert epub(book, "application/epub+zip", tmp_path / "book").tech["chapters"] == 3


def test_pdf_page_text_is_bounded(tmp_path):
    """A content stream made to be large (pypdf inflates streams up to 75 MB) gives at most
    MAX_PAGE_CHARS characters of page text."""
    from ingest.steps.pdf import MAX_PAGE_CHARS

    path = tmp_path / "long.pdf"
    c = canvas.Canvas(str(path), pagesize=A4)
    c.setFont("Helvetica", 1)
    for row in range(1200):
        c.drawString(1, 1 + row * 0.6, "x" * 100)  # 120 000 characters on one page
    c.showPage()
    c.save()
    result = pdf(path, "application/pdf", tmp_path / "work")
    pages = json.loads(next(d.path for d in result.derivatives if d.name == "pages.json").read_text("utf-8"))
    assert len(pages[0]["text"]) == MAX_PAGE_CHARS


def test_pdf_page_rendering_is_stopped_at_its_time_limit(files, tmp_path):
    """poppler can be made to take hours over one page: the page is rendered into memory under
    a timer (TOOL_TIMEOUT), and a page past it fails the step by its number."""
    from ingest.safety import Limits

    with pytest.raises(StepError, match=r"page 1 of the PDF was stopped after 0 s of rendering"):
        pdf(files["born"], "application/pdf", tmp_path / "stopped", limits=Limits(tool_timeout=0))
    assert not list((tmp_path / "stopped").glob("p0001.tif"))
    assert pdf(files["born"], "application/pdf", tmp_path / "made").tech["pages"] >= 1


def encryption_xml(algorithm: str, uri: str) -> bytes:
    return (f'<encryption xmlns="urn:oasis:names:tc:opendocument:xmlns:container" '
            f'xmlns:enc="http://www.w3.org/2001/04/xmlenc#"><enc:EncryptedData>'
            f'<enc:EncryptionMethod Algorithm="{algorithm}"/><enc:CipherData>'
            f'<enc:CipherReference URI="{uri}"/></enc:CipherData></enc:EncryptedData></encryption>').encode()


def test_drm_epub_is_refused_but_font_obfuscation_is_not(files, tmp_path):
    drm = rezip(files["book"], tmp_path / "drm.epub", add={
        "META-INF/encryption.xml": encryption_xml("http://www.w3.org/2001/04/xmlenc#aes128-cbc",
                                                  "EPUB/text/ch1.xhtml")})
    with pytest.raises(StepError, match="DRM"):
        epub(drm, "application/epub+zip", tmp_path / "drm")

    fonts = rezip(files["book"], tmp_path / "fonts.epub", add={
        "META-INF/encryption.xml": encryption_xml("http://www.idpf.org/2008/embedding",
                                                  "EPUB/fonts/a.otf")})
    assert len(epub(fonts, "application/epub+zip", tmp_path / "fonts").derivatives) == 4


def test_epub_is_idempotent(files, tmp_path):
    first = epub(files["book"], "application/epub+zip", tmp_path)
    before = mtimes(tmp_path)
    second = epub(files["book"], "application/epub+zip", tmp_path)
    assert mtimes(tmp_path) == before
    assert second == first
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".part")]


def test_html_to_text_edge_cases():
    assert html_to_text(b"") == ("", None)
    text, heading = html_to_text("<?xml version='1.0' encoding='utf-8'?>\n<html><head><title>卷一</title>"
                                 "<style>p{}</style></head><body><div>甲<span>乙</span>\n丙</div>"
                                 "<p>A&#160;&#160;B</p></body></html>".encode())
    assert (text, heading) == ("甲乙丙\n\nA B", "卷一")


# ---------------------------------------------------------------------------------------------
# PDF


def test_born_digital_pdf(files, tmp_path):
    result = pdf(files["born"], "application/pdf", tmp_path)
    out = by_name(result)
    assert set(out) == {"p0001.tif", "p0002.tif", "p0003.tif", "pages.json", "text.txt", "thumbnail.jpg"}

    pages = read_json(out["pages.json"])
    assert [p["page"] for p in pages] == [1, 2, 3]
    assert "第2页：江宁县志卷之2，风俗物产。" in pages[1]["text"]
    assert "Page 2 of the Jiangning gazetteer" in pages[1]["text"]
    text = out["text.txt"].path.read_text("utf-8")
    assert text.count("\f") == 2 and "卷之3" in text

    pyramids = [d for d in result.derivatives if d.role == "pyramid"]
    assert [d.sequence for d in pyramids] == [1, 2, 3]
    assert not any(d.needs_ocr for d in result.derivatives)
    for d in pyramids:
        assert d.media_type == "image/tiff"
        assert max(d.tech["width"], d.tech["height"]) == PAGE_LONG_EDGE
        assert (d.tech["width"], d.tech["height"]) == (1414, 2000)  # A4 portrait
        assert_tiled_pyramid(d)

    thumb = out["thumbnail.jpg"]
    assert thumb.role == "thumbnail" and thumb.media_type == "image/jpeg"
    with Image.open(thumb.path) as im:
        assert im.format == "JPEG" and max(im.size) == 400
        assert im.convert("L").getextrema()[0] < 50  # the black box is drawn: not a blank render

    assert result.tech["pages"] == 3 and result.tech["pages_needing_ocr"] == 0
    assert result.tech["title"] == "江宁县志（排印本）" and result.tech["author"] == "李四"
    assert result.metadata["title"] == {"zh": "江宁县志（排印本）"}
    assert result.metadata["creators"] == [{"name": {"zh": "李四"}, "role": "author"}]
    assert result.metadata["date"]["edtf"] == result.tech["created"][:10]


def assert_tiled_pyramid(derivative):
    """256×256 JPEG tiles and one level per halving down to a tile (2000 → 1000 → 500 → 250)."""
    with Image.open(derivative.path) as im:
        assert im.size == (derivative.tech["width"], derivative.tech["height"])
        assert im.tag_v2[322] == 256 and im.tag_v2[323] == 256  # TileWidth, TileLength
        assert im.tag_v2[259] == 7  # Compression: JPEG
        assert im.n_frames == derivative.tech["levels"] == 4
        im.seek(3)
        assert max(im.size) == 250


def test_scanned_pdf_pages_need_ocr(files, tmp_path):
    result = pdf(files["scan"], "application/pdf", tmp_path)
    out = by_name(result)
    assert set(out) == {"p0001.tif", "p0002.tif", "thumbnail.jpg"}  # no text layer: no text files
    pages = [out["p0001.tif"], out["p0002.tif"]]
    assert [d.needs_ocr for d in pages] == [True, True]
    assert [d.sequence for d in pages] == [1, 2]
    assert (pages[1].tech["width"], pages[1].tech["height"]) == (2000, 1414)  # landscape page
    for d in pages:
        assert_tiled_pyramid(d)
    assert result.tech["pages_needing_ocr"] == 2
    assert "date" not in result.metadata  # a scan's creation date is not the work's date


def test_mixed_pdf_flags_only_textless_pages(files, tmp_path):
    result = pdf(files["mixed"], "application/pdf", tmp_path)
    out = by_name(result)
    assert [out["p0001.tif"].needs_ocr, out["p0002.tif"].needs_ocr] == [False, True]
    pages = read_json(out["pages.json"])
    assert "民国二十五年" in pages[0]["text"]
    assert pages[1]["text"] == "2" and len(pages[1]["text"]) < MIN_PAGE_CHARS
    assert result.tech["pages_needing_ocr"] == 1 and "date" not in result.metadata


def test_pdf_restricted_without_user_password_is_read(files, tmp_path):
    result = pdf(files["restricted"], "application/pdf", tmp_path)
    assert "卷之1" in read_json(by_name(result)["pages.json"])[0]["text"]


@pytest.mark.parametrize("name, reason", [
    ("locked", "password-protected"),
    ("truncated", "damaged or truncated"),
    ("notpdf", "damaged or truncated"),
    ("empty", "has no pages"),
])
def test_unreadable_pdf_is_refused(files, tmp_path, name, reason):
    with pytest.raises(StepError, match=reason):
        pdf(files[name], "application/pdf", tmp_path)
    assert not [p for p in tmp_path.iterdir() if p.suffix == ".tif"]


def test_pdf_is_idempotent_and_resumes(files, tmp_path):
    first = pdf(files["born"], "application/pdf", tmp_path)
    before = mtimes(tmp_path)
    second = pdf(files["born"], "application/pdf", tmp_path)
    assert mtimes(tmp_path) == before
    assert second == first
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".part")]

    # interrupted run: no result record and page 3 missing; finished pages are kept, not redone
    (tmp_path / "pdf.result.json").unlink()
    (tmp_path / "p0003.tif").unlink()
    third = pdf(files["born"], "application/pdf", tmp_path)
    after = mtimes(tmp_path)
    assert after["p0001.tif"] == before["p0001.tif"] and after["p0002.tif"] == before["p0002.tif"]
    assert (tmp_path / "p0003.tif").is_file()
    assert third == first
