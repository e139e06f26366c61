"""The dashboard and the OCR correction page in Chromium: charts drawn under the site's CSP, no
console error, no serious axe-core violation, at a phone's and a laptop's size (screenshots kept
in the test's folder)."""
from pathlib import Path

import pytest

from repository.access import SYSTEM
from repository.services import NewFile
from tests.corrections.test_corrections import add_book
from tests.web.auth_helpers import PASSWORD, add_users
from web import create_app

AXE = Path(__file__).resolve().parents[2] / "node_modules/axe-core/axe.min.js"
SIZES = {"laptop": (1366, 768), "phone": (390, 844)}


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    from ingest.jobs import Entry
    from tests.helpers import photo_item, serving

    app = create_app({"DATA_DIR": str(tmp_path_factory.mktemp("board") / "data"), "SECRET_KEY": "t",
                      "LOGIN_RATE_LIMIT": "1000 per minute"})
    add_users(app)
    fz = app.extensions["fangzhi"]
    archive = fz.archive
    archive.create_collection({"id": "huishan", "title": "惠山古镇"}, user=SYSTEM)
    pronom = [{"puid": "fmt/43", "format": "JPEG File Interchange Format"}, {"puid": "fmt/353", "format": "TIFF"},
              {"puid": "x-fmt/111", "format": "Plain Text File"}]
    for n in range(24):
        archive.create_item(photo_item(id=f"b{n:02d}", kind=("photo", "book", "document", "manuscript")[n % 4],
                                       title={"zh": f"藏品{n}"}, date={"edtf": str(1910 + 7 * n)},
                                       collections=["huishan"] if n % 2 else []),
                            [NewFile("a.bin", f"data {n}".encode() * (n + 1), "image/jpeg", 1,
                                     tech={"pronom": pronom[n % 3]})], user=SYSTEM)
    add_book(archive)
    job = fz.jobs.create("donation", [Entry("", n, f"e{n}", f"j{n}", [], [], {}) for n in range(1, 6)], user="archivist")
    for n in range(1, 6):
        fz.jobs.mark(job, n, "failed" if n == 5 else "done", step="check", file="x", reason="the file is empty")
    fz.queries.record("梅园")
    with serving(app) as url:
        yield url


def signed_in(browser, url, size, **options):
    context = browser.new_context(viewport={"width": size[0], "height": size[1]}, **options)
    page = context.new_page()
    page.goto(f"{url}/login")
    page.fill("input[name=username]", "archivist")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    return context, page


@pytest.mark.parametrize("size", SIZES)
def test_the_dashboard_draws_its_charts_under_the_csp(browser, site, size, tmp_path):
    context, page = signed_in(browser, site, SIZES[size])
    errors = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(f"{site}/admin/")
    page.wait_for_selector(".chart[data-chart=kinds] svg")
    for key in ("kinds", "decades", "collections", "ingest", "storage", "formats"):
        assert page.locator(f".chart[data-chart={key}] svg").count() == 1, key
    assert errors == []
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= SIZES[size][0], f"the page scrolls sideways at {size}: {width}px"
    page.screenshot(path=str(tmp_path / f"dashboard-{size}.png"), full_page=True)
    context.close()

    context, page = signed_in(browser, site, SIZES[size], bypass_csp=True)  # axe is injected as a script
    page.goto(f"{site}/admin/")
    page.add_script_tag(path=str(AXE))
    found = page.evaluate("axe.run(document, {resultTypes: ['violations']}).then(r => r.violations"
                          ".filter(v => ['serious', 'critical'].includes(v.impact)).map(v => v.id + ': ' + v.help))")
    assert found == []
    context.close()


@pytest.mark.parametrize("size", SIZES)
def test_the_ocr_correction_page(browser, site, size, tmp_path):
    context, page = signed_in(browser, site, SIZES[size])
    page.goto(f"{site}/items/corr-book")
    page.click("text=校对 OCR 文本")
    page.wait_for_selector("li.ocr-line")
    assert page.locator("li.ocr-line").count() == 3
    assert page.locator("mark.uncertain").count() >= 2  # the legend and the uncertain character
    assert page.locator("li.ocr-line img").first.evaluate("img => img.complete && img.naturalWidth > 0")
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= SIZES[size][0], f"the page scrolls sideways at {size}: {width}px"
    page.screenshot(path=str(tmp_path / f"ocr-{size}.png"), full_page=True)
    page.fill("input[name=line-1]", "南长街舊有古桥")
    page.click("text=提交校对")
    assert "已提交 1 条校对" in page.text_content("main")
    page.goto(f"{site}/admin/corrections")
    assert "南长街舊有古桥" in page.text_content("table.proposals")
    page.screenshot(path=str(tmp_path / f"queue-{size}.png"), full_page=True)
    context.close()
