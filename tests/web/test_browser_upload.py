"""The staff upload page in a real browser (Debian Chromium driven by Playwright): chunked upload
with progress, then the job page until the item is ingested."""
import pytest

from tests.ingest import fixtures
from tests.web.auth_helpers import PASSWORD, add_users
from tests.helpers import serving


@pytest.fixture
def server(app):
    add_users(app, ["archivist"])
    with serving(app) as url:
        yield url


def test_upload_in_the_browser(server, browser, archive, tmp_path):
    from repository.access import SYSTEM

    scans = [fixtures.jpeg(tmp_path / f"第{n}页.jpg", seed=n, size=(1200, 900)) for n in (1, 2)]
    page = browser.new_page()
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(f"{server}/login?next=/admin/ingest")
    page.fill("input[name=username]", "archivist")
    page.fill("input[name=password]", PASSWORD)
    page.click("form.stack button[type=submit]")
    page.wait_for_url("**/admin/ingest")
    page.fill("input[name=title_zh]", "浏览器上传的家书")
    page.select_option("select[name=kind]", "manuscript")
    page.select_option("select[name=visibility]", "public")
    page.set_input_files("#files", [str(p) for p in scans])
    page.click("#upload-form button[type=submit]")
    page.wait_for_url("**/admin/jobs/*", timeout=60_000)
    page.wait_for_selector("td:text-is('完成')", timeout=180_000)  # the page refreshes until the job ends
    assert not errors, errors
    (item,) = archive.list_items(user=SYSTEM)[0]
    assert item.title == {"zh": "浏览器上传的家书"} and len(item.originals) == 2
    assert [f.sha256 for f in item.originals] == [fixtures.sha256(p) for p in scans]
