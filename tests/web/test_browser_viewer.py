"""The item page's IIIF viewer (Mirador 4) in a real browser (Debian Chromium driven by Playwright):
image tiles load from the Image API and are drawn, and the manifest's Content Search finds OCR text."""
import io
from pathlib import Path

import pytest
from PIL import Image, ImageStat

from tests.ingest import fixtures
from tests.helpers import serving
MIRADOR = Path(__file__).resolve().parents[2] / "node_modules" / "mirador" / "dist" / "mirador.min.js"


@pytest.fixture
def items(app, tmp_path):
    """A photo and a manuscript page, ingested through the real pipeline (pyramids, OCR)."""
    from ingest.pipeline import plan_job, process
    from ingest.sources.common import PlannedItem
    from web.demo import manuscript_page

    page = tmp_path / "page.png"
    page.write_bytes(manuscript_page("运河绕城而过商船往来米市布码头皆在于此", 1))
    ctx = app.extensions["fangzhi"].ingest_context()
    planned = [
        PlannedItem("photo", [fixtures.jpeg(tmp_path / "惠山.jpg", size=(1600, 1200))],
                    {"id": "photo", "kind": "photo", "title": {"zh": "惠山"}, "visibility": "public"}, [None], []),
        PlannedItem("page", [page], {"id": "page", "kind": "manuscript", "title": {"zh": "乡土志"},
                                     "visibility": "public"}, [None], []),
    ]
    job = plan_job(ctx, "browser test", planned)
    assert [process(ctx, job, n) for n in (1, 2)] == ["done", "done"]


@pytest.fixture
def server(app, items):
    with serving(app) as url:
        yield url


@pytest.fixture
def page(browser):
    assert MIRADOR.exists(), f"{MIRADOR} is missing: install the viewer with `make viewer` (npm ci)"
    page = browser.new_page(viewport={"width": 1280, "height": 1000})
    page.problems = []
    page.on("pageerror", lambda e: page.problems.append(str(e)))
    page.on("console", lambda m: page.problems.append(m.text) if "Content Security Policy" in m.text else None)
    return page


def test_image_tiles_load_and_are_drawn(server, page):
    tiles = []
    page.on("response", lambda r: tiles.append((r.url, r.status)) if r.url.endswith("/default.jpg") else None)
    page.goto(f"{server}/items/photo")
    page.wait_for_selector("#viewer .openseadragon-canvas canvas", timeout=30_000)
    page.wait_for_timeout(1500)  # let OpenSeadragon draw the tiles it asked for
    requested = [(url, status) for url, status in tiles if "/iiif/3/photo~" in url]
    assert requested and all(status == 200 for _, status in requested), tiles
    assert any("/full/" not in url for url, _ in requested), "only a thumbnail was asked for, no tiles"
    drawn = Image.open(io.BytesIO(page.locator("#viewer .openseadragon-canvas").screenshot())).convert("L")
    assert ImageStat.Stat(drawn).stddev[0] > 10, "the viewer's canvas is blank"
    assert not page.problems, page.problems


def test_content_search_in_the_viewer(server, page):
    searched = []
    page.on("response", lambda r: searched.append(r.status) if "/iiif/search/1/page" in r.url else None)
    page.goto(f"{server}/lang/en?next=/items/page")
    page.wait_for_selector("#viewer .openseadragon-canvas canvas", timeout=30_000)
    page.get_by_role("button", name="Toggle sidebar").first.click()
    page.get_by_role("tab", name="Search").click()
    box = page.locator("#viewer input").first
    box.fill("運河")  # traditional characters find the simplified text
    box.press("Enter")
    page.wait_for_selector("#viewer :text('绕城而过')", timeout=15_000)
    assert searched and set(searched) == {200}
    assert not page.problems, page.problems
