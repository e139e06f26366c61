"""The job report in a real browser (Debian Chromium driven by Playwright): what an entry's steps
skipped, and why an entry failed, are readable on a phone too, in the interface language."""
import pytest

from ingest.jobs import Entry
from repository.notices import Notice, part
from tests.helpers import serving
from tests.web.auth_helpers import PASSWORD, add_users


@pytest.fixture
def job(app):
    add_users(app, ["archivist"])
    jobs = app.extensions["fangzhi"].jobs
    job_id = jobs.create("box", [Entry("", 1, "采访_张阿婆_南长街口述", "it-1", [], [], {}),
                                 Entry("", 2, "采访_李", "it-2", [], [], {})], user="archivist")
    jobs.mark(job_id, 1, "done", notes=[
        Notice("采访_张阿婆_南长街口述.wuu.vtt", 9, "vtt.bad_timing", {"raw": "00:00:00.500 --> 00:00:60.000",
               "detail": part("timing.sixty", which=part("term.end"), text="00:00:60.000")}),
        Notice("采访_张阿婆_南长街口述.xml", 45, "ohms.point_same", {"start": "00:00:12.000", "previous_line": 37})])
    jobs.mark(job_id, 2, "failed", step="transcript", file="/box/采访_李.vtt",
              reason="采访_李.vtt line 1: missing WEBVTT header")
    return job_id


@pytest.mark.parametrize("width, height", [(390, 844), (1366, 768), (1920, 1080)])
def test_notes_and_reasons_are_shown_at_every_width(app, job, browser, width, height):
    with serving(app) as url:
        page = browser.new_page(viewport={"width": width, "height": height})
        page.goto(f"{url}/login")
        page.fill("input[name=username]", "archivist")
        page.fill("input[name=password]", PASSWORD)
        page.click("main button[type=submit]")
        page.goto(f"{url}/admin/jobs/{job}")
        notes = page.locator("ul.notes li")
        assert notes.count() == 2 and notes.first.is_visible()
        assert notes.nth(1).inner_text() == "采访_张阿婆_南长街口述.xml 第 45 行：已跳过索引点：它开始于 00:00:12.000，与第 37 行的索引点相同"
        assert page.get_by_text("missing WEBVTT header").is_visible()  # a failure's reason, on a phone too
        assert page.evaluate("document.documentElement.scrollWidth") <= width
        page.goto(f"{url}/admin/jobs/{job}?lang=en")
        assert page.locator("ul.notes li").nth(1).inner_text() == (
            "采访_张阿婆_南长街口述.xml line 45: index point skipped: it starts at 00:00:12.000, as the point at line 37 does")
