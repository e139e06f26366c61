"""The authority pages and the staff form's authority picker in a real browser (Debian Chromium
driven by Playwright) on a phone and a laptop: no script error, no sideways scrolling, the map
without tiles, the family tree, and a record picked by its pinyin initials."""
import pytest

from repository.access import SYSTEM
from tests.helpers import serving
from tests.web.auth_helpers import PASSWORD, add_users
from web.demo import demo_authorities


@pytest.fixture
def ids(app):
    add_users(app, ["archivist"])
    ids = demo_authorities(app.extensions["fangzhi"].authorities)
    app.extensions["fangzhi"].archive.create_item({"kind": "book", "title": {"zh": "梁溪荣氏家谱"}, "subjects": ["家谱"],
                                                   "about": [ids["rong"]]}, user=SYSTEM)
    return ids


@pytest.mark.parametrize("width, height", [(390, 844), (1366, 768)])
def test_person_and_family_pages(app, ids, browser, width, height, tmp_path):
    with serving(app) as url:
        page = browser.new_page(viewport={"width": width, "height": height})
        errors = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(f"{url}/people/{ids['qin']}")
        page.wait_for_selector("#authority-map .leaflet-marker-icon")  # Leaflet drew the marker, with no tiles
        assert page.get_by_text("梁溪老人").is_visible()
        assert page.evaluate("document.documentElement.scrollWidth") <= width
        page.screenshot(path=str(tmp_path / f"person-{width}.png"), full_page=True)
        page.goto(f"{url}/families/{ids['rong']}")
        tree = page.locator(".family-tree")
        assert tree.get_by_role("link", name="荣毅仁").is_visible()
        assert page.get_by_role("heading", name="家谱").is_visible()
        assert page.evaluate("document.documentElement.scrollWidth") <= width
        page.screenshot(path=str(tmp_path / f"family-{width}.png"), full_page=True)
        assert errors == []


def test_the_item_form_picks_an_authority_by_pinyin(app, ids, browser):
    with serving(app) as url:
        page = browser.new_page(viewport={"width": 1366, "height": 768})
        page.goto(f"{url}/login")
        page.fill("input[name=username]", "archivist")
        page.fill("input[name=password]", PASSWORD)
        page.click("main button[type=submit]")
        page.goto(f"{url}/admin/items/new")
        box = page.locator("input[data-target='creators-0-id']")
        box.fill("qyj")
        page.wait_for_selector("[role=option]")
        box.press("ArrowDown")
        box.press("Enter")
        assert page.locator("input[name='creators-0-id']").input_value() == ids["qin"]
        assert box.input_value() == "秦毓钧"
        place = page.locator("input[data-target='places-0-id']")
        place.fill("梁溪")  # an alias
        page.wait_for_selector("[role=option]:has-text('无锡市')")
        page.locator("[role=option]:has-text('无锡市')").click()
        assert page.locator("input[name='places-0-id']").input_value() == ids["wuxi"]


def test_the_item_form_adds_what_an_item_is_about_in_rows_added_by_script(app, ids, browser, tmp_path):
    """Item.about picked by name in the blank row and in a row added with "添加一行" (whose picker
    must fill its own row's field), then saved."""
    with serving(app) as url:
        page = browser.new_page(viewport={"width": 390, "height": 844})
        errors = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(f"{url}/login")
        page.fill("input[name=username]", "archivist")
        page.fill("input[name=password]", PASSWORD)
        page.click("main button[type=submit]")
        page.goto(f"{url}/admin/items/new")
        page.fill("input[name=title_zh]", "荣氏史料")
        for i, (typed, name, key) in enumerate((("qyj", "秦毓钧", "qin"), ("梁溪", "无锡市", "wuxi"))):
            if i:
                page.locator("fieldset[data-rows=about] > button.add-row").click()
            box = page.locator(f"input[data-target='about-{i}-id']")
            box.fill(typed)
            page.wait_for_selector(f"[role=option]:has-text('{name}')")
            page.locator(f"[role=option]:has-text('{name}')").click()
            assert page.locator(f"input[name='about-{i}-id']").input_value() == ids[key]
        assert page.locator("input[name='about-0-id']").input_value() == ids["qin"]
        page.locator("button[value=save]").click()
        page.wait_for_url("**/items/*")
        items = app.extensions["fangzhi"].archive.list_items(user=SYSTEM)[0]
        [item] = [i for i in items if i.title.get("zh") == "荣氏史料"]
        assert item.about == [ids["qin"], ids["wuxi"]]
        page.goto(f"{url}/admin/items/{item.id}/edit")  # shown by their preferred names, linking to their pages
        about = page.locator("fieldset[data-rows=about]")
        assert about.get_by_role("link", name="秦毓钧").is_visible()
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        about.screenshot(path=str(tmp_path / "about-390.png"))
        assert errors == []
