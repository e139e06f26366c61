"""The batch upload page and the item form in a real browser (Debian Chromium via Playwright):
12 files, a folder with a manifest, a bad date caught before any upload, rows added and the live
date check; screenshots at phone and laptop sizes (FANGZHI_SCREENSHOTS: where to keep them)."""
import os
from pathlib import Path

import pytest

from repository.access import SYSTEM
from tests.helpers import serving
from tests.ingest import fixtures
from tests.web.auth_helpers import PASSWORD, add_users

SIZES = [(390, 844), (1366, 768)]


@pytest.fixture
def app(tmp_path):
    from fangzhi.bootstrap import build
    from fangzhi.settings import load
    from web import create_app

    return create_app(fangzhi=build(load({"DATA_DIR": str(tmp_path / "data"), "SECRET_KEY": "test"}, environ={}),
                                    inline=True))


@pytest.fixture
def server(app):
    add_users(app, ["archivist"])
    with serving(app) as url:
        yield url


@pytest.fixture
def shots(tmp_path):
    folder = Path(os.environ.get("FANGZHI_SCREENSHOTS") or tmp_path / "shots")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def signed_in(browser, server, path, size=(1366, 768)):
    page = browser.new_page(viewport={"width": size[0], "height": size[1]})
    page.errors = []
    page.on("pageerror", lambda e: page.errors.append(str(e)))
    page.goto(f"{server}/login?next={path}")
    page.fill("input[name=username]", "archivist")
    page.fill("input[name=password]", PASSWORD)
    page.click("form.stack button[type=submit]")
    page.wait_for_url(f"**{path}")
    return page


def test_twelve_files_in_the_browser(server, browser, archive, tmp_path, shots):
    files = [fixtures.jpeg(tmp_path / f"照片{n}.jpg", seed=n, size=(320, 240)) for n in range(1, 13)]
    for width, height in SIZES:
        page = signed_in(browser, server, "/admin/ingest/batch", (width, height))
        page.screenshot(path=str(shots / f"batch-{width}x{height}.png"), full_page=True)
        assert page.evaluate("document.documentElement.scrollWidth") <= width  # no sideways scrolling
        page.close()
    page = signed_in(browser, server, "/admin/ingest/batch")
    page.set_input_files("#files", [str(f) for f in files])
    page.fill("textarea[name=subjects]", "老照片")
    page.click("#batch-form button[type=submit]")
    page.wait_for_url("**/admin/jobs/*", timeout=60_000)
    page.wait_for_selector("meta[http-equiv=refresh]", state="detached", timeout=180_000)
    assert page.locator("td", has_text="完成").count() == 12 and not page.errors
    items = archive.list_items(user=SYSTEM, limit=20)[0]
    assert len(items) == 12 and all(i.subjects == ["老照片"] for i in items)
    assert sorted(f.sha256 for i in items for f in i.originals) == sorted(fixtures.sha256(f) for f in files)


def test_a_folder_with_a_manifest_in_the_browser(server, browser, archive, tmp_path):
    donation = tmp_path / "王家捐赠"
    (donation / "letters" / "1936").mkdir(parents=True)
    fixtures.jpeg(donation / "letters" / "1936" / "p1.jpg", seed=1, size=(200, 150))
    fixtures.jpeg(donation / "letters" / "1936" / "p2.jpg", seed=2, size=(200, 150))
    fixtures.jpeg(donation / "street.jpg", seed=3, size=(200, 150))
    manifest = tmp_path / "清单.csv"
    manifest.write_text("题名,文件,日期,创作者\n王氏家书,letters/1936,1936-05,王仲文（作者）\n县前街,street.jpg,195X,\n",
                        encoding="utf-8")
    page = signed_in(browser, server, "/admin/ingest/batch")
    page.set_input_files("#folder", str(donation))
    page.set_input_files("#manifest", str(manifest))
    page.click("#batch-form button[type=submit]")
    page.wait_for_url("**/admin/jobs/*", timeout=60_000)
    page.wait_for_selector("meta[http-equiv=refresh]", state="detached", timeout=180_000)
    assert page.locator("td", has_text="完成").count() == 2 and not page.errors
    items = {i.title["zh"]: i for i in archive.list_items(user=SYSTEM)[0]}
    assert len(items["王氏家书"].originals) == 2 and items["王氏家书"].date == {"edtf": "1936-05"}
    assert items["县前街"].date == {"edtf": "195X"}


def test_a_bad_date_fails_before_anything_is_uploaded(server, browser, app, tmp_path):
    scan = fixtures.jpeg(tmp_path / "a.jpg", seed=1, size=(200, 150))
    uploads = app.extensions["fangzhi"].uploads.root
    for path, form in (("/admin/ingest/batch", "#batch-form"), ("/admin/ingest", "#upload-form")):
        page = signed_in(browser, server, path)
        if path == "/admin/ingest":
            page.fill("input[name=title_zh]", "家书")
        page.set_input_files("#files", [str(scan)])
        page.fill("input[name=date_edtf]", "19x6")
        page.locator("#edtf-check", has_text="不是 EDTF 日期").wait_for()
        page.click(f"{form} button[type=submit]")
        page.locator("#status", has_text="尚未上传任何文件").wait_for()
        assert "日期（EDTF）" in page.inner_text("#status") and not page.errors
        assert not uploads.exists() or not any(uploads.iterdir())


def test_the_edit_form_adds_rows_and_checks_the_date_live(server, browser, archive, shots):
    item = archive.create_item({"kind": "manuscript", "title": {"zh": "王氏家书", "en": "Wang family letters"},
                                "creators": [{"name": "王仲文", "role": "author", "aliases": [{"name": "伯虞", "type": "字"}]}],
                                "places": [{"name": "上海", "coordinates": [31.23, 121.47]}], "date": {"edtf": "1936"}},
                               user=SYSTEM).value
    url = f"/admin/items/{item.id}/edit"
    for width, height in SIZES:
        page = signed_in(browser, server, url, (width, height))
        page.screenshot(path=str(shots / f"edit-{width}x{height}.png"), full_page=True)
        assert page.evaluate("document.documentElement.scrollWidth") <= width
        page.close()
    page = signed_in(browser, server, url)
    assert "民国二十五年" in page.inner_text("#edtf-check")
    page.fill("input[name=date_edtf]", "1875")
    page.locator("#edtf-check", has_text="光绪元年").wait_for()
    page.locator("fieldset[data-rows=creators] > button.add-row").click()
    page.fill("input[name=creators-2-name-zh]", "王秀英")
    page.fill("input[name=creators-2-role]", "donor")
    page.fill("input[name=creators-1-name-zh]", "李德华")
    page.click("form.stack button[value=save]")
    page.wait_for_url(f"**/items/{item.id}")
    after = archive.get_item(item.id, user=SYSTEM).value
    assert [c.name["zh"] for c in after.creators] == ["王仲文", "李德华", "王秀英"] and after.date == {"edtf": "1875"}
    assert after.creators[0].aliases[0].name == "伯虞" and not page.errors
