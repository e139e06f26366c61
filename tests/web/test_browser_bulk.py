"""The staff item list and a bulk preview in a real browser (Debian Chromium driven by Playwright),
on a phone and on a laptop: badges readable, nothing wider than the screen, the selection and the
operation reach the preview, whose before/after is shown."""
import os

import pytest

from repository.access import SYSTEM
from tests.helpers import photo_item, serving
from tests.web.auth_helpers import PASSWORD, add_users

SHOTS = os.environ.get("FANGZHI_SCREENSHOTS")  # a folder: the pages are saved there to be looked at


@pytest.fixture
def items(app):
    add_users(app, ["archivist"])
    archive = app.extensions["fangzhi"].archive
    archive.create_collection({"id": "old-town", "title": {"zh": "老城街景"}}, user=SYSTEM)
    for i, visibility in enumerate(("public", "staff", "embargoed", "alliance")):
        archive.create_item(photo_item(id=f"p{i}", title={"zh": f"县前街照片第{i}张：从鼓楼向南拍摄的长街"},
                                       subjects=["街景", "城市变迁"], collections=["old-town"], visibility=visibility,
                                       embargo_until="2031-01-01" if visibility == "embargoed" else None),
                            user=SYSTEM, why="donation")


@pytest.mark.parametrize("width, height", [(390, 844), (1366, 768)])
def test_item_list_and_preview(app, items, browser, width, height):
    with serving(app) as url:
        page = browser.new_page(viewport={"width": width, "height": height})
        page.goto(f"{url}/login")
        page.fill("input[name=username]", "archivist")
        page.fill("input[name=password]", PASSWORD)
        page.click("main button[type=submit]")
        page.goto(f"{url}/admin/items?q=县前街")
        assert page.locator("table.items tbody tr").count() == 4
        badge = page.locator("span.badge.vis-embargoed")
        assert badge.is_visible() and "2031-01-01" in badge.inner_text()  # text, not colour alone
        assert page.evaluate("document.documentElement.scrollWidth") <= width
        if SHOTS:
            page.screenshot(path=f"{SHOTS}/items-{width}.png", full_page=True)
        page.check("#sel-p0")
        page.check("#sel-p1")
        page.select_option("#op", "replace")
        page.select_option("#field", "title.zh")
        page.fill("#find", "照片")
        page.fill("#replace", "旧照")
        page.get_by_role("button", name="预览修改").click()
        page.wait_for_url("**/admin/bulk/preview**")
        assert "将修改 2 件" in page.locator("p.summary").inner_text()
        assert page.locator("table.diff del").first.inner_text().endswith("县前街照片第0张：从鼓楼向南拍摄的长街")
        assert "县前街旧照第0张" in page.locator("table.diff ins").first.inner_text()
        assert page.evaluate("document.documentElement.scrollWidth") <= width
        if SHOTS:
            page.screenshot(path=f"{SHOTS}/preview-{width}.png", full_page=True)
        page.fill("#why", "统一题名")
        page.get_by_role("button", name="确认修改 2 件藏品").click()
        page.wait_for_url("**/admin/bulk/jobs/**")
        for _ in range(100):  # the page refreshes itself while the job runs
            if "已完成 2" in page.locator("p[role=status]").inner_text():
                break
            page.wait_for_timeout(200)
            page.reload()
        assert "已完成 2" in page.locator("p[role=status]").inner_text()
        assert page.evaluate("document.documentElement.scrollWidth") <= width
        if SHOTS:
            page.screenshot(path=f"{SHOTS}/job-{width}.png", full_page=True)
