"""Two people speaking at once, end to end: a WebVTT transcript whose cues overlap in time (two
voices, cue settings, a STYLE block) ingested beside its recording through the real pipeline →
the item page in a real browser (both cues highlighted while they overlap; in-page search and
``?t=`` land on the right cue) → the WebVTT and OHMS exports → each export ingested again with
the same recording → the same cues (times, words, speakers, settings, blocks)."""
import pytest

from ingest.pipeline import plan_job, process
from ingest.sources.common import PlannedItem
from oral_history.service import read_interview
from repository.access import SYSTEM
from tests.helpers import serving
from tests.ingest import fixtures
from tests.web.test_browser_interview import near, open_page

VTT = """WEBVTT
Kind: captions

STYLE
::cue(v[voice="采访者"]) { color: yellow }

00:00:00.500 --> 00:00:06.000 align:start line:85%
<v 张阿婆>伲小辰光就住勒南长街。

00:00:04.000 --> 00:00:08.000 align:end line:10%
<v 采访者>是清名桥旁边吗？

00:00:09.000 --> 00:00:14.000
<v 张阿婆>对额，隔壁是爿茶馆店。
"""
PLAYING = "Array.from(document.querySelectorAll('#transcript-1 .cue.current .text'), e => e.textContent.trim())"
COUNT = "n => document.querySelectorAll('#transcript-1 .cue.current').length === n"  # a function: no eval (CSP)


def ingest(app, tmp_path, item_id: str, transcript: str, data: bytes, seconds: float = 20):
    """The item ``item_id``: a recording of ``seconds`` (other bytes, another item: not a
    duplicate) and ``transcript`` beside it, through the real pipeline; its interview."""
    folder = tmp_path / item_id
    folder.mkdir()
    (folder / transcript).write_bytes(data)
    planned = [PlannedItem(item_id, [fixtures.wav(folder / "采访.wav", seconds)],
                           {"id": item_id, "kind": "audio", "title": {"zh": "南长街口述"}, "visibility": "public",
                            "language": ["wuu"]}, [None], [], transcripts=[folder / transcript])]
    ctx = app.extensions["fangzhi"].ingest_context()
    job = plan_job(ctx, "overlapping speakers", planned)
    assert process(ctx, job, 1) == "done"
    assert [n for n in ctx.jobs.entry(job, 1).notes if n["code"] != "ingest.type_differs"] == []  # nothing skipped
    archive = app.extensions["fangzhi"].archive
    return read_interview(archive, archive.get_item(item_id, user=SYSTEM).value)


def cues(interview):
    (t,) = interview.transcripts
    return [(c.start, c.end, c.text, c.speaker, c.settings) for c in t.cues], t.blocks


@pytest.fixture
def server(app, tmp_path):
    interview = ingest(app, tmp_path, "oh", "采访.wuu.vtt", VTT.encode())
    assert cues(interview) == ([
        (0.5, 6.0, "伲小辰光就住勒南长街。", "张阿婆", "align:start line:85%"),
        (4.0, 8.0, "是清名桥旁边吗？", "采访者", "align:end line:10%"),
        (9.0, 14.0, "对额，隔壁是爿茶馆店。", "张阿婆", "")], ['STYLE\n::cue(v[voice="采访者"]) { color: yellow }'])
    with serving(app) as url:
        yield url


def test_overlapping_speakers_from_ingest_to_player_to_exports_and_back(app, server, tmp_path, browser):
    page = open_page(browser, f"{server}/items/oh?t=5", viewport={"width": 1280, "height": 900})
    near(page, 5.0, slack=1.5)  # ?t= lands inside both cues: both are highlighted, each with its speaker
    page.evaluate("document.querySelector('audio').pause(); document.querySelector('audio').currentTime = 5")
    page.wait_for_function(COUNT, arg=2, timeout=10_000)
    assert page.evaluate(f"() => {PLAYING}") == ["伲小辰光就住勒南长街。", "是清名桥旁边吗？"]
    assert page.locator("#transcript-1 .cue[aria-current=true]").count() == 2
    speakers = page.locator("#transcript-1 .cue.current").all_inner_texts()
    assert "张阿婆" in speakers[0] and "采访者" in speakers[1]
    page.evaluate("document.querySelector('audio').currentTime = 7")  # only the second is still speaking
    page.wait_for_function(COUNT, arg=1, timeout=10_000)
    assert page.evaluate(f"() => {PLAYING}") == ["是清名桥旁边吗？"]

    # the in-page search finds the overlapping cue; choosing it seeks to its own start
    page.fill("#find-in-interview", "清名桥")
    assert page.locator("#transcript-1 .cue:visible").count() == 1
    page.locator("#transcript-1 .cue:visible .text").click()
    near(page, 4.0)
    page.wait_for_selector("#transcript-1 .cue.current[data-start='4.0']")
    page.fill("#find-in-interview", "")
    assert not page.problems, page.problems

    # a later moment link lands on the cue after the overlap, and only there
    page = open_page(browser, f"{server}/items/oh?t=10", viewport={"width": 390, "height": 844}, is_mobile=True)
    near(page, 10.0, slack=1.5)
    page.evaluate("document.querySelector('audio').pause()")
    page.wait_for_function(COUNT, arg=1, timeout=10_000)
    assert page.evaluate(f"() => {PLAYING}") == ["对额，隔壁是爿茶馆店。"]
    assert not page.problems, page.problems

    # the exports, and each ingested again with the same recording: the same cues
    client = app.test_client()
    vtt = client.get("/items/oh/interview.vtt")
    ohms = client.get("/items/oh/interview.xml")
    assert vtt.status_code == 200 and ohms.status_code == 200
    stored = cues(read_interview(app.extensions["fangzhi"].archive,
                                 app.extensions["fangzhi"].archive.get_item("oh", user=SYSTEM).value))
    assert cues(ingest(app, tmp_path, "oh-vtt", "采访.wuu.vtt", vtt.data, 20.5)) == stored
    assert cues(ingest(app, tmp_path, "oh-ohms", "采访.xml", ohms.data, 21)) == stored
