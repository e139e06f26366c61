"""Reading on every device, in Debian's Chromium (Playwright): the phone viewer (OpenSeadragon at
390×844, page buttons and zoom), the plain IIIF <img srcset> without JavaScript, Mirador on a PC;
screenshots in the test's folder (FANGZHI_SCREENSHOTS=<dir> keeps them)."""
import io
import os
from pathlib import Path

import pytest
from PIL import Image, ImageStat

from repository.access import SYSTEM
from repository.services import NewFile
from tests.helpers import photo_item, serving

PHONE, PC, TV = {"width": 390, "height": 844}, {"width": 1366, "height": 768}, {"width": 1920, "height": 1080}


def pyramid(width=1600, height=2000, shade=60) -> bytes:
    """A pyramidal TIFF with stripes to see (a blank page would hide a blank canvas)."""
    from iiif.imaging import pyvips

    stripes = ((pyvips.Image.xyz(width, height)[0] / 40).cast("uchar") % 2 * 150 + shade).cast("uchar")
    return stripes.tiffsave_buffer(tile=True, pyramid=True, compression="jpeg")


def scanned(archive, item_id="book", pages=2, **fields):
    files = [NewFile(f"p{n}.tif", b"original %d" % n, "image/tiff", n) for n in range(1, pages + 1)]
    files += [NewFile(f"p{n}.pyramid.tif", pyramid(shade=40 * n), "image/tiff", role="derivative", derived_from=f"f{n}",
                      purpose="pyramid", tech={"width": 1600, "height": 2000}) for n in range(1, pages + 1)]
    archive.create_item(photo_item(id=item_id, kind="book", title={"zh": "无锡县志"}, **fields), files, user=SYSTEM)


@pytest.fixture
def shots(tmp_path):
    folder = Path(os.environ.get("FANGZHI_SCREENSHOTS") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture
def server(app, archive):
    scanned(archive)
    with serving(app) as url:
        yield url


def problems(page):
    found = []
    page.on("pageerror", lambda e: found.append(str(e)))
    page.on("console", lambda m: found.append(m.text) if "Content Security Policy" in m.text else None)
    return found


def drawn(locator) -> float:
    return ImageStat.Stat(Image.open(io.BytesIO(locator.screenshot())).convert("L")).stddev[0]


def test_phone_viewer_shows_the_scan_and_zooms(server, browser, shots):
    page = browser.new_page(viewport=PHONE, is_mobile=True, has_touch=True)
    errors = problems(page)
    scripts = []
    page.on("request", lambda r: scripts.append(r.url) if r.resource_type == "script" else None)
    page.goto(f"{server}/items/book")
    page.wait_for_selector("#viewer .openseadragon-canvas canvas", timeout=30_000)
    page.wait_for_timeout(1500)
    box = page.locator("#viewer").bounding_box()
    assert box["width"] > 300 and box["height"] > 300, box
    assert drawn(page.locator("#viewer .openseadragon-canvas")) > 10, "the phone viewer's canvas is blank"
    assert not any("mirador" in s for s in scripts), "a phone must not download Mirador"
    assert page.locator("#osd-page").inner_text().startswith("1 / 2")
    zoom = page.evaluate("fangzhiViewer.viewport.getZoom()")
    page.click("#osd-in")
    page.wait_for_timeout(800)
    assert page.evaluate("fangzhiViewer.viewport.getZoom()") > zoom * 1.2
    page.screenshot(path=str(shots / "phone-viewer.png"))
    page.click("#osd-next")
    page.wait_for_timeout(1000)
    assert page.locator("#osd-page").inner_text().startswith("2 / 2") and page.url.endswith("#p2")
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"the phone page scrolls sideways ({width} px)"
    assert not errors, errors


def test_without_javascript_the_scans_are_plain_images(app, server, browser, shots):
    context = browser.new_context(viewport=PHONE, java_script_enabled=False)
    page = context.new_page()
    page.goto(f"{server}/items/book")
    images = page.locator(".scans img")
    assert images.count() == 2
    first = images.first
    first.scroll_into_view_if_needed()
    page.wait_for_function("document.querySelector('.scans img').complete && document.querySelector('.scans img').naturalWidth > 0")
    assert "/full/400,/0/default.jpg 400w" in first.get_attribute("srcset")
    assert first.get_attribute("loading") == "lazy"
    size = first.bounding_box()
    assert size["width"] > 300 and size["height"] > 300
    assert page.evaluate("document.querySelector('.scans img').currentSrc").startswith(f"{server}/iiif/3/book~")
    page.screenshot(path=str(shots / "phone-noscript.png"))
    context.close()


@pytest.mark.parametrize("viewport", [PC, TV], ids=["pc", "tv"])
def test_pc_and_tv_get_mirador(server, browser, shots, viewport):
    page = browser.new_page(viewport=viewport)
    errors = problems(page)
    page.goto(f"{server}/items/book")
    page.wait_for_selector("#viewer .mirador-viewer", timeout=30_000)
    page.wait_for_selector("#viewer .openseadragon-canvas canvas", timeout=30_000)
    page.wait_for_timeout(1500)
    assert page.evaluate("!!window.Mirador") and page.locator("#viewer-controls").is_hidden()
    assert page.locator("#viewer").bounding_box()["width"] > viewport["width"] * 0.6
    page.screenshot(path=str(shots / f"item-{viewport['width']}.png"), full_page=True)
    assert not errors, errors


@pytest.fixture
def site(app, archive, tmp_path):
    """A scanned book with OCR text, an e-book, a signed-in reader's shared list."""
    from tests.iiif.builders import ocr
    from tests.web.auth_helpers import add_users
    from tests.web.test_ebook_reader import ingest

    scanned(archive, "scan", pages=1, places=[{"name": {"zh": "惠山"}}], creators=[{"name": {"zh": "秦毓鎏"}}])
    record = archive.get_item("scan", user=SYSTEM)
    archive.update_item("scan", {}, expected_version=record.version, user=SYSTEM, add_files=[
        NewFile("p1.ocr.json", ocr(["無錫縣志卷一山川", "惠山在縣西七里"]), "application/json", role="derivative",
                derived_from="f1", purpose="ocr")])
    ingest(app, tmp_path, "ebook")
    add_users(app)
    with serving(app) as url:
        yield url


PAGES = ["/items/scan", "/items/ebook", "/items/ebook/read?c=2", "/items/ebook/read?q=运河", "/browse",
         "/browse/place", "/api/docs", "/items/scan/text"]


@pytest.mark.parametrize("viewport", [PHONE, PC, TV], ids=["phone", "pc", "tv"])
def test_reader_pages_at_every_size(site, browser, shots, viewport):
    page = browser.new_page(viewport=viewport)
    errors = problems(page)
    for path in PAGES:
        page.goto(site + path)
        if path == "/api/docs":
            page.wait_for_selector(".opblock", timeout=30_000)
        page.wait_for_timeout(400)
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= viewport["width"], f"{path} scrolls sideways at {viewport['width']} px ({width} px)"
        name = path.strip("/").replace("/", "-").replace("?", "-").replace("=", "")
        page.screenshot(path=str(shots / f"{name}-{viewport['width']}.png"))
    assert not errors, errors


def test_copy_the_citation_and_save_to_a_list(site, browser, shots):
    from tests.web.auth_helpers import PASSWORD

    context = browser.new_context(viewport=PHONE)
    page = context.new_page()
    errors = problems(page)
    page.goto(f"{site}/login")
    page.fill("input[name=username]", "researcher")
    page.fill("input[name=password]", PASSWORD)
    page.click("form button[type=submit]")
    page.goto(f"{site}/items/ebook")
    page.fill("#save-note", "第二章有运河")
    page.click(".save-form button[type=submit]")
    assert "已保存到列表" in page.inner_text("main")
    page.click("text=我的列表 >> nth=-1")
    page.click("main a[href^='/lists/']")
    assert "第二章有运河" in page.inner_text("main")
    page.screenshot(path=str(shots / "list-390.png"), full_page=True)
    page.goto(f"{site}/items/ebook")
    page.click("button[data-copy=cite-gbt]")
    page.wait_for_timeout(300)
    assert page.locator("button[data-copy=cite-gbt]").inner_text() == "✓"
    assert not errors, errors
    context.close()
