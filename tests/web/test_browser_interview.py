"""The interview page in a real browser (Debian Chromium driven by Playwright): a recording ingested
through the real pipeline (WebM/M4A access copies, waveform), its transcript synced to playback."""
import pytest

from oral_history.model import Interview
from oral_history.service import save_interview
from repository.access import SYSTEM
from tests.ingest import fixtures
from tests.helpers import serving
CUES = [(0.5, 4.0, "伲小辰光就住勒南长街。"), (6.5, 9.0, "隔壁是爿茶馆店。"), (11.0, 15.0, "清名桥下头船来船往。")]
INTERVIEW = {
    "interviewees": [{"name": {"zh": "张阿婆"}}],
    "transcripts": [{"language": "wuu", "label": {"zh": "无锡话"}, "cues": [
                        {"start": a, "end": b, "text": t, "speaker": "张阿婆"} for a, b, t in CUES]},
                    {"language": "zh", "label": {"zh": "普通话"}, "cues": [
                        {"start": 0.5, "end": 4.0, "text": "我小时候就住在南长街。"}]}],
    "segments": [{"start": 0, "title": "童年"}, {"start": 10, "title": "运河", "synopsis": "清名桥"}],
}


@pytest.fixture
def server(app, archive, tmp_path):
    from ingest.pipeline import plan_job, process
    from ingest.sources.common import PlannedItem

    ctx = app.extensions["fangzhi"].ingest_context()
    planned = [PlannedItem("oh", [fixtures.wav(tmp_path / "采访.wav", 20)],
                           {"id": "oh", "kind": "audio", "title": {"zh": "南长街口述"}, "visibility": "public"},
                           [None], [])]
    assert process(ctx, plan_job(ctx, "browser test", planned), 1) == "done"
    record = archive.get_item("oh", user=SYSTEM)
    save_interview(archive, "oh", Interview.from_dict(INTERVIEW), user=SYSTEM, expected_version=record.version)
    with serving(app) as url:
        yield url


def open_page(browser, url, **options):
    page = browser.new_page(**options)
    page.problems = []
    page.on("pageerror", lambda e: page.problems.append(str(e)))
    page.on("console", lambda m: page.problems.append(m.text) if "Content Security Policy" in m.text else None)
    page.goto(url)
    page.wait_for_function("document.querySelector('audio').readyState >= 1", timeout=15_000)
    return page


def current_time(page) -> float:
    return page.evaluate("document.querySelector('audio').currentTime")


def near(page, seconds: float, slack: float = 1.0):
    """Wait until the media's position is at ``seconds`` (or just after it, while it plays)."""
    page.wait_for_function(f"(t => t >= {seconds} - 0.05 && t <= {seconds} + {slack})"
                           f"(document.querySelector('audio').currentTime)", timeout=10_000)


def test_clicking_a_cue_seeks_and_highlights_it(server, browser):
    page = open_page(browser, f"{server}/items/oh", viewport={"width": 1280, "height": 900})
    page.locator("#transcript-1 .cue .text", has_text="隔壁是爿茶馆店").click()
    near(page, 6.5)
    page.wait_for_selector("#transcript-1 .cue.current[data-start='6.5']")
    assert page.locator("#transcript-1 .cue.current").get_attribute("aria-current") == "true"
    # the keyboard: a cue's time is a link (Enter seeks), a segment's too
    page.locator("#transcript-1 .cue a.time").nth(2).focus()
    page.keyboard.press("Enter")
    near(page, 11.0)
    page.locator(".segment summary .time").first.click()  # the time in the summary seeks (not a link in it)
    near(page, 0.0)
    # the waveform is drawn and seeks where clicked (the middle: 10 s)
    wave = page.locator("canvas.waveform")
    assert wave.is_visible()
    box = wave.bounding_box()
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    near(page, 10.0, slack=1.5)
    assert not page.problems, page.problems


def test_a_moment_link_starts_there(server, browser):
    page = open_page(browser, f"{server}/items/oh?t=12", viewport={"width": 1280, "height": 900})
    near(page, 12.0, slack=1.5)
    assert 11.0 <= current_time(page) <= 13.5
    assert not page.problems, page.problems


def test_search_tabs_and_copy_link_on_a_phone(server, browser):
    page = open_page(browser, f"{server}/items/oh", viewport={"width": 375, "height": 740}, is_mobile=True,
                     has_touch=True)
    assert page.evaluate("document.documentElement.scrollWidth") <= 375  # nothing wider than the phone
    page.fill("#find-in-interview", "清名橋")  # traditional characters find the simplified text
    assert page.locator("#transcript-1 .cue:visible").count() == 1
    assert page.locator(".segment:visible").count() == 1
    page.fill("#find-in-interview", "")
    assert page.locator("#transcript-1 .cue:visible").count() == 3
    # ARIA tabs: the second language, by click and by arrow key
    tab = page.get_by_role("tab", name="普通话")
    tab.click()
    assert tab.get_attribute("aria-selected") == "true"
    assert page.locator("#transcript-1").is_hidden() and page.locator("#transcript-2").is_visible()
    page.keyboard.press("ArrowLeft")
    assert page.locator("#transcript-1").is_visible()
    assert page.evaluate("document.activeElement.textContent") == "无锡话"
    # copy a link to this moment (the clipboard may be refused: the link is shown either way)
    page.evaluate("document.querySelector('audio').currentTime = 7.2")
    page.get_by_role("button", name="复制此刻的链接").click()
    page.wait_for_selector(".moment a")
    assert page.locator(".moment a").get_attribute("href").endswith("/items/oh?t=7")
    assert not page.problems, page.problems


def test_overlapping_cues_are_both_highlighted(server, archive, browser):
    data = {**INTERVIEW, "transcripts": [dict(INTERVIEW["transcripts"][0]), INTERVIEW["transcripts"][1]]}
    data["transcripts"][0]["cues"] = [*data["transcripts"][0]["cues"][:2],
                                      {"start": 7.0, "end": 8.5, "text": "茶馆店里人交关多。", "speaker": "采访者"},
                                      *data["transcripts"][0]["cues"][2:]]  # speaking at once, 7–8.5 s
    record = archive.get_item("oh", user=SYSTEM)
    save_interview(archive, "oh", Interview.from_dict(data), user=SYSTEM, expected_version=record.version)
    page = open_page(browser, f"{server}/items/oh?t=7", viewport={"width": 1280, "height": 900})
    playing = "Array.from(document.querySelectorAll('#transcript-1 .cue.current .text'), e => e.textContent.trim())"
    count = "n => document.querySelectorAll('#transcript-1 .cue.current').length === n"  # a function: no eval (CSP)
    page.evaluate("document.querySelector('audio').pause(); document.querySelector('audio').currentTime = 7.5")
    page.wait_for_function(count, arg=2, timeout=10_000)
    assert page.evaluate(f"() => {playing}") == ["隔壁是爿茶馆店。", "茶馆店里人交关多。"]
    assert page.locator("#transcript-1 .cue[aria-current=true]").count() == 2
    page.evaluate("document.querySelector('audio').currentTime = 8.7")  # the second has ended
    page.wait_for_function(count, arg=1, timeout=10_000)
    assert page.evaluate(f"() => {playing}") == ["隔壁是爿茶馆店。"]
    assert not page.problems, page.problems
