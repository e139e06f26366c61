"""The issue's "done when": a curator builds and publishes a bilingual exhibition in the browser — an
image region drawn with the mouse on the image, an interview clip — and a reader sees it on a phone,
a PC and a TV (Debian Chromium driven by Playwright; screenshots in FANGZHI_SCREENSHOTS or a temp folder)."""
import os
import re
from pathlib import Path

import pytest

from oral_history.model import Interview
from oral_history.service import save_interview
from repository.access import SYSTEM
from tests.helpers import serving
from tests.ingest import fixtures
from tests.web.auth_helpers import PASSWORD, add_users

SIZES = {"phone": (390, 844), "pc": (1366, 768), "tv": (1920, 1080)}
INTERVIEW = {"transcripts": [{"language": "wuu", "label": {"zh": "无锡话"}, "cues": [
    {"start": 0.5, "end": 4.0, "text": "伲小辰光就住勒南长街。", "speaker": "张阿婆"},
    {"start": 6.5, "end": 9.0, "text": "隔壁是爿茶馆店。", "speaker": "张阿婆"},
    {"start": 12.0, "end": 15.0, "text": "清名桥下头船来船往。", "speaker": "张阿婆"}]}]}


@pytest.fixture
def server(app, archive, tmp_path):
    from ingest.pipeline import plan_job, process
    from ingest.sources.common import PlannedItem

    ctx = app.extensions["fangzhi"].ingest_context()
    planned = [PlannedItem("ph", [fixtures.jpeg(tmp_path / "码头.jpg", size=(1600, 1200))],
                           {"id": "ph", "kind": "photo", "title": {"zh": "清名桥码头", "en": "Qingming Bridge wharf"}, "visibility": "public"},
                           [None], []),
               PlannedItem("oh", [fixtures.wav(tmp_path / "采访.wav", 20)],
                           {"id": "oh", "kind": "audio", "title": {"zh": "南长街口述", "en": "Nanchang Street oral history"}, "visibility": "public"},
                           [None], [])]
    job = plan_job(ctx, "exhibition test", planned)
    assert [process(ctx, job, n) for n in (1, 2)] == ["done", "done"]
    record = archive.get_item("oh", user=SYSTEM)
    save_interview(archive, "oh", Interview.from_dict(INTERVIEW), user=SYSTEM, expected_version=record.version)
    add_users(app, roles=("curator",))
    with serving(app) as url:
        yield url


def shots() -> Path:
    folder = Path(os.environ.get("FANGZHI_SCREENSHOTS") or "/tmp/fangzhi-exhibition-shots")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


AXE = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"


def serious_violations(browser, url, viewport, storage_state=None) -> list:
    """axe-core's serious and critical WCAG 2.1 A/AA violations on a page (its script injected in a
    context that bypasses the CSP: only axe's own code runs inline)."""
    assert AXE.exists(), "axe-core is installed by npm ci (package.json)"
    context = browser.new_context(bypass_csp=True, viewport=viewport, storage_state=storage_state)
    page = context.new_page()
    page.goto(url)
    page.add_script_tag(path=str(AXE))
    found = page.evaluate("""async () => (await axe.run(document, {runOnly: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]}))
        .violations.filter(v => ["serious", "critical"].includes(v.impact))
        .map(v => v.id + ": " + v.nodes.map(n => n.target.join(" ")).join(", "))""")
    context.close()
    return found


def watch(page):
    page.problems = []
    page.on("pageerror", lambda e: page.problems.append(str(e)))
    page.on("console", lambda m: page.problems.append(m.text) if "Content Security Policy" in m.text else None)
    return page


def test_a_curator_builds_and_publishes_a_bilingual_exhibition_and_readers_see_it(server, browser, app):
    page = watch(browser.new_page(viewport={"width": 1366, "height": 900}))
    page.goto(f"{server}/login?next=/exhibitions/new")
    page.fill("main input[name=username]", "curator")
    page.fill("main input[name=password]", PASSWORD)
    page.locator("main form button[type=submit]").click()
    page.wait_for_url("**/exhibitions/new")
    page.fill("#id", "canal")
    page.fill("#title-zh", "运河人家")
    page.fill("#title-en", "Canal lives")
    page.fill("#summary-zh", "清名桥一带的**码头**与人家。")
    page.fill("#summary-en", "The *wharves* and homes around Qingming Bridge.")
    page.fill("#cover", "ph")
    page.get_by_role("button", name="添加章节").click()
    page.fill("#s0-heading-zh", "码头")
    page.fill("#s0-heading-en", "The wharf")
    page.fill("#s0-text-zh", "船从这里靠岸。<script>alert(1)</script>")
    page.select_option("#s0-newkind", "region")
    page.get_by_role("button", name="添加区块").click()
    page.fill("#s0-b0-item", "ph")
    page.keyboard.press("Tab")  # the item chosen: its image opens in the picker
    page.wait_for_selector(".region-picker[data-ready=true]", timeout=20_000)
    view = page.locator(".picker-view").bounding_box()
    x0, y0 = view["x"] + view["width"] * 0.3, view["y"] + view["height"] * 0.3
    page.mouse.move(x0, y0)
    page.mouse.down()
    page.mouse.move(x0 + view["width"] * 0.2, y0 + view["height"] * 0.25, steps=8)
    page.mouse.up()
    region = page.input_value("#s0-b0-region")
    assert re.fullmatch(r"\d+,\d+,\d+,\d+", region), region
    x, y, w, h = map(int, region.split(","))
    assert 0 < x < 1600 and 0 < y < 1200 and 50 < w < 1600 and 50 < h < 1200  # full-image pixels
    page.screenshot(path=str(shots() / "editor-region.png"))
    page.fill("#s0-b0-caption-zh", "桥下的船")
    page.fill("#s0-b0-caption-en", "Boats under the bridge")
    page.select_option("#s0-newkind", "clip")
    page.get_by_role("button", name="添加区块").click()
    assert page.input_value("#s0-b0-region") == region  # kept across the form's round trip
    page.fill("#s0-b1-item", "oh")
    page.fill("#s0-b1-start", "0")
    page.fill("#s0-b1-end", "10")
    page.fill("#why", "开展")
    page.get_by_role("button", name="保存草稿").click()
    page.wait_for_url("**/exhibitions/canal/edit")
    assert page.locator(".problems").count() == 0
    page.fill("#publish-why", "开幕")
    page.get_by_role("button", name="发布", exact=True).click()
    page.wait_for_url("**/exhibitions/canal")
    assert not page.problems, page.problems
    signed_in = page.context.storage_state()
    for url in (f"{server}/exhibitions/canal/edit", f"{server}/exhibitions"):  # the curator's pages
        assert serious_violations(browser, url, {"width": 1366, "height": 768}, signed_in) == [], url

    for name, (width, height) in SIZES.items():
        reader = watch(browser.new_page(viewport={"width": width, "height": height}))
        reader.goto(f"{server}/exhibitions/canal")
        assert reader.locator("h1").inner_text() == "运河人家"
        crop = reader.locator(".block-region img")
        crop.scroll_into_view_if_needed()
        reader.wait_for_function("() => document.querySelector('.block-region img').naturalWidth > 0", timeout=15_000)
        assert f"/{region}/" in crop.get_attribute("src")
        assert reader.locator(".block-region a").first.get_attribute("href") == "/items/ph"
        assert "隔壁是爿茶馆店" in reader.locator(".block-clip").inner_text()
        assert "清名桥下头" not in reader.locator(".block-clip").inner_text()  # outside the clip's range
        assert "<script>" in reader.locator(".ex-section .prose").inner_text()  # shown as text, never run
        reader.wait_for_function("() => document.querySelector('.block-clip audio').readyState >= 1", timeout=15_000)
        assert reader.evaluate("() => document.documentElement.scrollWidth <= window.innerWidth")  # no sideways scroll
        reader.screenshot(path=str(shots() / f"reader-{name}.png"), full_page=True)
        reader.get_by_role("button", name=re.compile("放大查看")).click()  # the deep zoom of the region
        reader.wait_for_selector(".deep-zoom .openseadragon-canvas", timeout=15_000)
        assert not reader.problems, (name, reader.problems)
        reader.close()
    for name, (width, height) in SIZES.items():  # WCAG 2.1 AA: no serious or critical violation
        for url in (f"{server}/exhibitions/canal", f"{server}/exhibitions/canal?lang=en", f"{server}/exhibitions"):
            assert serious_violations(browser, url, {"width": width, "height": height}) == [], (name, url)
    english = watch(browser.new_page(viewport={"width": 1366, "height": 768}))
    english.goto(f"{server}/exhibitions/canal?lang=en")
    assert english.locator("h1").inner_text() == "Canal lives"
    assert english.locator("h2", has_text="The wharf").count() == 1
    assert english.locator("html").get_attribute("lang") == "en"
    assert english.locator("[lang=zh-Hans]", has_text="船从这里靠岸").count() == 1  # Chinese-only text marked
    english.screenshot(path=str(shots() / "reader-english.png"), full_page=True)
    home = browser.new_page(viewport={"width": 1366, "height": 768})
    home.goto(server)
    assert home.locator(".ex-feature a", has_text="运河人家").count() == 1
