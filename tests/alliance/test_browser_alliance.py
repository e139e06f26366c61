"""The alliance portal and a partial alliance search in a real browser (Debian Chromium via
Playwright) at phone, PC and TV sizes: nothing wider than the screen, the notice in view, no CSP
or script error. Screenshots go to the test's folder (FANGZHI_SCREENSHOTS=dir keeps them)."""
import os
from pathlib import Path

import pytest

from tests.alliance import instances
from tests.alliance.test_federated import add
from repository.access import SYSTEM
from tests.web.conftest import browser  # noqa: F401  (the fixture)

SIZES = {"phone": (390, 844), "pc": (1366, 768), "tv": (1920, 1080)}


@pytest.fixture(scope="module")
def portal(tmp_path_factory):
    root = tmp_path_factory.mktemp("browser-alliance")
    east, west, gone = (instances.start(root, n, lib) for n, lib in
                        (("east", "东区图书馆"), ("west", "西区图书馆"), ("gone", "南区图书馆")))
    add(east, "e1", "运河老照片", description={"zh": "运河上的船只与码头，民国年间摄。"})
    for n in range(1, 4):
        add(west, f"w{n}", f"运河码头第{n}号", kind="book" if n == 2 else "photo")
    west.archive.create_collection({"id": "canal", "title": {"zh": "运河档案", "en": "Canal records"},
                                    "description": {"zh": "大运河沿岸的照片、契约与地图。"}}, user=SYSTEM)
    west.archive.create_collection({"id": "docks", "title": "码头", "parent": "canal"}, user=SYSTEM)
    for m in (west, gone):
        east.fangzhi.members.add(m.member())
    east.fangzhi.members.update_status("west", last_success="2026-12-01T10:00:00Z", records=3)
    instances.stop(gone)
    yield east, west
    for i in (east, west):
        instances.stop(i)


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("path", ["/alliance", "/alliance/west", "/search?scope=alliance&q=运河",
                                  "/search?scope=alliance&q=运河&lang=en"])
def test_pages_fit_every_screen(portal, browser, size, path, tmp_path):  # noqa: F811
    east, _ = portal
    width, height = SIZES[size]
    page = browser.new_page(viewport={"width": width, "height": height})
    problems = []
    page.on("pageerror", lambda e: problems.append(str(e)))
    page.on("console", lambda m: problems.append(m.text) if "Content Security Policy" in m.text else None)
    page.on("response", lambda r: problems.append(f"{r.status} {r.url}")
            if r.status >= 400 and not r.url.endswith("/favicon.ico") else None)
    page.goto(east.url + path)
    wide = page.evaluate("document.documentElement.scrollWidth")
    assert wide <= width, f"{path} is {wide}px wide on a {width}px screen"
    if "search" in path:
        notice = page.locator(".notice.partial")
        assert notice.is_visible() and ("南区图书馆" in notice.inner_text() or "Gone Library" in notice.inner_text())
        assert page.locator(".hit").count() == 4
    folder = Path(os.environ.get("FANGZHI_SCREENSHOTS") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    name = path.strip("/").replace("/", "_").replace("?", "_").replace("&", "_").replace("=", "-")
    page.screenshot(path=str(folder / f"{name}-{size}.png"), full_page=True)
    assert not problems, problems
    page.close()
