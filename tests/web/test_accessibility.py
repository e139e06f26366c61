"""Accessibility on every page type in a real browser (Debian Chromium driven by Playwright), with
axe-core from npm: WCAG 2.1 A/AA in 简体, 繁體 and English, the large-type mode (长辈版: ≥ 24 px
text, line spacing, 48 px targets, 7:1 contrast), the keyboard alone (search → item → player → exhibition),
phone and TV layouts. Run as a group: ``pytest -m accessibility``."""
from __future__ import annotations

from pathlib import Path

import pytest

from tests.web.a11y_site import AXE, CHROMIUM, VIEWPORTS, axe, demo_site, pages, serious, settle, sign_in

pytestmark = pytest.mark.accessibility
SHOTS = Path(__file__).resolve().parents[2] / "build" / "screenshots"
# Mirador renders its workspace as a <main>; a11y.js gives it role=region (one main landmark per
# page), which axe reports as a minor "aria-allowed-role" on that one element.
MIRADOR_MAIN = ("aria-allowed-role", ".mirador-viewer")


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    with demo_site(tmp_path_factory.mktemp("a11y")) as (url, ids):
        yield url, pages(ids)


@pytest.fixture(scope="module")
def chromium():
    from playwright.sync_api import sync_playwright

    assert Path(CHROMIUM).exists(), "Debian's chromium is needed (scripts/install-system.sh installs it)"
    assert AXE.exists(), f"{AXE} is missing: npm ci installs axe-core"
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=[
            "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu", "--disable-background-networking"])
        yield browser
        browser.close()


def context(chromium, url, *, lang="zh", mode="standard", size="pc", admin=False):
    """A browser context with the reader's choices set the way a reader sets them (the header's links)."""
    width, height = VIEWPORTS[size]
    ctx = chromium.new_context(bypass_csp=True, viewport={"width": width, "height": height})  # (axe is injected)
    page = ctx.new_page()
    page.problems = []
    page.on("pageerror", lambda e: page.problems.append(str(e)))
    if admin:
        sign_in(page, url)
    page.goto(f"{url}/lang/{lang}?next=/")
    page.goto(f"{url}/display/{mode}?next=/")
    return ctx, page


def visit(page, url, name, path):
    page.goto(url + path)
    settle(page)
    return page


def unexpected(violations):
    return [v for v in violations if not (v["id"] == MIRADOR_MAIN[0] and all(MIRADOR_MAIN[1] in n for n in v["nodes"]))]


# 繁體 pages are the 简体 ones with other strings: a few page types show that the catalogue changes
# nothing axe checks (every page type runs in 简体 and in English, whose text and lengths differ).
TRADITIONAL_PAGES = ("home", "search-facets", "item-photo", "item-audio", "login")


@pytest.mark.parametrize("lang", ["zh", "zh_Hant", "en"])
def test_axe_finds_nothing_on_any_page_type(site, chromium, lang):
    url, paths = site
    ctx, page = context(chromium, url, lang=lang, admin=True)
    found = {}
    for name, path in paths.items():
        if lang == "zh_Hant" and name not in TRADITIONAL_PAGES:
            continue
        visit(page, url, name, path)
        violations = axe(page)
        assert not serious(violations), (name, serious(violations))
        if unexpected(violations):
            found[name] = unexpected(violations)
    assert not page.problems, page.problems
    ctx.close()
    assert not found, found


def test_large_type_mode_on_every_page_type(site, chromium):
    """长辈版: contrast ≥ 7:1 (axe's color-contrast-enhanced), text ≥ 24 px with line spacing ≥ 1.3,
    controls ≥ 48 × 48 px (links inside a sentence excepted), and no serious violation."""
    url, paths = site
    ctx, page = context(chromium, url, mode="large", admin=True)
    problems = {}
    for name, path in paths.items():
        visit(page, url, name, path)
        assert page.evaluate("document.documentElement.classList.contains('large')"), name
        contrast = axe(page, rules=["color-contrast-enhanced", "link-in-text-block"])
        small = page.evaluate(TEXT_TOO_SMALL)
        targets = page.evaluate(TARGETS_TOO_SMALL)
        if contrast or small or targets or serious(axe(page)):
            problems[name] = {"contrast": contrast, "small text": small[:5], "small targets": targets[:5]}
    ctx.close()
    assert not problems, problems


# Visible text outside the image viewer whose font is under 24 px or whose lines are closer than 1.3.
TEXT_TOO_SMALL = """() => {
  const out = [], walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let n = walker.nextNode(); n; n = walker.nextNode()) {
    const el = n.parentElement;
    if (!n.textContent.trim() || !el || el.closest('#viewer, script, style, noscript, datalist, option, .skip')) continue;
    const r = el.getBoundingClientRect(), s = getComputedStyle(el);
    if (!r.width || !r.height || s.visibility === 'hidden') continue;
    const size = parseFloat(s.fontSize), line = s.lineHeight === 'normal' ? 1.2 * size : parseFloat(s.lineHeight);
    if (size < 24 || line / size < 1.3) out.push(`${el.tagName}.${el.className}: ${size}px/${line}px "${n.textContent.trim().slice(0, 20)}"`);
  }
  return out;
}"""

# Controls smaller than 48 × 48 px; a link in a sentence (its block has other text) is exempt (WCAG 2.5.5).
TARGETS_TOO_SMALL = """() => {
  const out = [];
  for (const el of document.querySelectorAll('a[href], button, input:not([type=hidden]), select, summary, [role=tab], [role=slider]')) {
    if (el.closest('#viewer, .skip')) continue;
    const r = el.getBoundingClientRect();
    if (!r.width || !r.height) continue;
    if (el.tagName === 'INPUT' && (el.type === 'radio' || el.type === 'checkbox')) {
      const label = el.closest('label');
      if (label && label.getBoundingClientRect().height >= 48) continue;
    }
    if (el.tagName === 'A') {
      const block = el.parentElement.closest('p, dd, td, li, blockquote, span.meta, figcaption');
      const own = block ? [...block.childNodes].filter(c => c.nodeType === 3 && c.textContent.trim()).length : 0;
      const others = block ? block.innerText.replace(el.innerText, '').trim() : '';
      if (block && (own || others.length > 3) && getComputedStyle(el).display === 'inline') continue;
    }
    if (r.height < 48 || r.width < 48) out.push(`${el.tagName}.${el.className || (el.parentElement && el.parentElement.className) || ""} "${(el.innerText || el.value || el.getAttribute('aria-label') || '').trim().slice(0, 20)}" ${Math.round(r.width)}x${Math.round(r.height)}`);
  }
  return out;
}"""


@pytest.mark.parametrize("mode", ["standard", "large"])
def test_no_page_scrolls_sideways_on_a_phone(site, chromium, mode):
    url, paths = site
    ctx, page = context(chromium, url, mode=mode, size="phone", admin=True)
    wide = {}
    for name, path in paths.items():
        visit(page, url, name, path)
        width = page.evaluate("document.documentElement.scrollWidth")
        if width > 390:
            wide[name] = (width, page.evaluate(WIDEST))
    ctx.close()
    assert not wide, wide


WIDEST = """() => [...document.querySelectorAll('body *')].filter(e => e.getBoundingClientRect().right > 391
  && !e.closest('.table-scroll, .scroll, #viewer')).slice(0, 3).map(e => e.tagName + '.' + e.className)"""


def test_phone_shows_results_before_the_facets_in_a_drawer(site, chromium):
    url, _ = site
    ctx, page = context(chromium, url, size="phone")
    page.goto(f"{url}/search?q=&kind=photo")
    results, facets = page.locator(".results").bounding_box(), page.locator(".facets").bounding_box()
    assert results["y"] < facets["y"]
    assert page.locator("details.drawer").evaluate("d => d.open") is False
    assert not page.locator(".facets a").first.is_visible()
    page.locator("details.drawer > summary").click()
    assert page.locator(".facets a").first.is_visible()
    ctx.close()
    ctx, page = context(chromium, url, size="pc")  # beside the results, open, on a wider screen
    page.goto(f"{url}/search?q=&kind=photo")
    assert page.locator(".facets a").first.is_visible()
    assert not page.locator("details.drawer > summary").is_visible()
    ctx.close()


def test_tv_headings_are_larger_than_the_text_and_arrows_move_focus(site, chromium):
    url, paths = site
    ctx, page = context(chromium, url, size="tv")
    for name in ("home", "search-facets", "item-audio", "collection"):
        visit(page, url, name, paths[name])
        sizes = page.evaluate("""() => {
          const body = parseFloat(getComputedStyle(document.body).fontSize);
          const heads = [...document.querySelectorAll('main h1, main h2, main h3')].filter(h => h.offsetParent)
            .map(h => [h.textContent.trim().slice(0, 20), parseFloat(getComputedStyle(h).fontSize)]);
          return {body, heads};
        }""")
        assert sizes["body"] >= 20, (name, sizes)  # readable from a sofa
        assert all(size > sizes["body"] for _, size in sizes["heads"]), (name, sizes)
    # the arrow keys alone: from the page, down into the content, right along a row of cards
    page.goto(f"{url}/")
    page.keyboard.press("ArrowDown")
    first = page.evaluate("document.activeElement.outerHTML")
    assert first.startswith("<a"), first
    seen = {first}
    for _ in range(8):
        page.keyboard.press("ArrowDown")
        seen.add(page.evaluate("document.activeElement.outerHTML"))
    assert len(seen) > 4, seen
    card = page.locator(".card a").first
    card.focus()
    top = card.bounding_box()
    page.keyboard.press("ArrowRight")
    moved = page.evaluate("(() => { const r = document.activeElement.getBoundingClientRect(); return [r.x, r.y]; })()")
    assert moved[0] > top["x"] and abs(moved[1] - top["y"]) < top["height"], moved
    page.keyboard.press("Enter")
    page.wait_for_url("**/items/**")
    ctx.close()


def test_keyboard_only_search_item_player(site, chromium):
    """Search, open a result and play, pause and seek the interview with the keyboard alone,
    seeing where the focus is at every step."""
    url, _ = site
    ctx, page = context(chromium, url)
    page.goto(f"{url}/")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.className") == "skip"
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "main"
    page.goto(f"{url}/search")
    page.locator("#q").focus()
    page.keyboard.type("南长街")
    page.keyboard.press("Enter")
    page.wait_for_url("**/search?**")
    for _ in range(80):  # Tab until the first result's title
        page.keyboard.press("Tab")
        assert_focus_visible(page)
        if page.evaluate("document.activeElement.matches('.hit a.title')"):
            break
    else:
        pytest.fail("Tab never reached a search result")
    page.keyboard.press("Enter")
    page.wait_for_url("**/items/**")
    page.wait_for_selector("canvas.waveform[role=slider]")
    for _ in range(40):  # Tab to the waveform (the seek slider)
        page.keyboard.press("Tab")
        assert_focus_visible(page)
        if page.evaluate("document.activeElement.matches('canvas.waveform')"):
            break
    else:
        pytest.fail("Tab never reached the waveform")
    media = "document.querySelector('#av audio, #av video')"
    page.keyboard.press("Space")
    page.wait_for_function(f"!{media}.paused")
    page.keyboard.press("Space")
    page.wait_for_function(f"{media}.paused")
    page.keyboard.press("End")
    page.wait_for_function(f"{media}.currentTime > 15")
    page.keyboard.press("Home")
    page.wait_for_function(f"{media}.currentTime < 1")
    page.keyboard.press("ArrowRight")
    page.wait_for_function(f"{media}.currentTime >= 4")
    # the slider is read as a time, not a number of seconds
    page.wait_for_function("document.querySelector('canvas.waveform').getAttribute('aria-valuetext') === '0:05 / 0:20'")
    # a segment of the index opens by keyboard and its link plays from its start
    summary = page.locator(".segment summary").nth(1)
    summary.focus()
    page.keyboard.press("Enter")
    link = page.locator(".segment").nth(1).locator("a.play-from")
    link.focus()
    assert_focus_visible(page)
    page.keyboard.press("Enter")
    page.wait_for_function(f"Math.abs({media}.currentTime - 5) < 1.5")
    assert not page.problems, page.problems
    ctx.close()


def test_keyboard_only_item_to_exhibition_clip_and_zoom(site, chromium):
    """From an item page to the exhibitions by the header's link, into the demo exhibition, its
    interview clip played and paused, its image region opened in deep zoom, zoomed, panned and
    closed: the keyboard alone, a visible focus ring at every step."""
    url, paths = site
    ctx, page = context(chromium, url)
    page.goto(f"{url}{paths['item-audio']}")

    def tab_to(selector, limit=80):
        for _ in range(limit):
            page.keyboard.press("Tab")
            assert_focus_visible(page)
            if page.evaluate(f"document.activeElement.matches({selector!r})"):
                return
        pytest.fail(f"Tab never reached {selector}")

    tab_to(f"header a[href='/exhibitions']")
    page.keyboard.press("Enter")
    page.wait_for_url("**/exhibitions")
    tab_to("main a[href='/exhibitions/canal-lives']")
    page.keyboard.press("Enter")
    page.wait_for_url("**/exhibitions/canal-lives")
    page.wait_for_selector(".zoom-button")  # exhibition.js (OpenSeadragon) ran
    tab_to(".zoom-button")
    assert page.locator(".zoom-button").get_attribute("aria-expanded") == "false"
    page.keyboard.press("Enter")
    page.wait_for_selector(".deep-zoom .openseadragon-canvas canvas")
    # focus moves in once the image has opened (its info.json fetched: slower on a loaded machine)
    page.wait_for_function("document.activeElement.matches('.deep-zoom .openseadragon-canvas')", timeout=15000)
    assert_focus_visible(page)
    assert page.locator(".zoom-button").get_attribute("aria-expanded") == "true"
    view = page.locator(".deep-zoom")
    page.wait_for_function("document.querySelector('.deep-zoom .openseadragon-canvas canvas').width > 0")
    page.wait_for_timeout(2500)  # fitted to the region (animated) and its tiles drawn
    before = view.screenshot()
    for key in ("=", "=", "ArrowLeft", "ArrowUp"):  # OpenSeadragon's keys: zoom in, pan
        page.keyboard.press(key)
    page.wait_for_timeout(2500)  # OpenSeadragon's animation (1.2 s)
    assert view.screenshot() != before, "the keys did not move the deep-zoom view"
    page.keyboard.press("Tab")  # on to the button (after the view), which closes it
    assert page.evaluate("document.activeElement.matches('.zoom-button')")
    assert_focus_visible(page)
    page.keyboard.press("Enter")
    assert page.locator(".deep-zoom").count() == 0 and page.locator(".zoom").is_visible()
    assert page.locator(".zoom-button").get_attribute("aria-expanded") == "false"
    tab_to(".block-clip audio, .block-clip video")
    clip = "document.querySelector('.block-clip audio, .block-clip video')"
    start, end = page.evaluate(f"[{clip}.dataset.start, {clip}.dataset.end].map(Number)")
    page.keyboard.press("Space")  # the browser's own controls: play
    page.wait_for_function(f"!{clip}.paused")
    page.wait_for_function(f"{clip}.currentTime >= {start}")
    page.keyboard.press("Space")
    page.wait_for_function(f"{clip}.paused")
    # the clip stops at its end: seek near it and play on by keyboard
    page.evaluate(f"{clip}.currentTime = {end} - 1")
    page.keyboard.press("Space")
    page.wait_for_function(f"{clip}.paused && {clip}.currentTime >= {end} - 0.3", timeout=10_000)
    tab_to(f".block-clip figcaption a[href*='t=']")  # on to the whole interview, at the clip's start
    assert not page.problems, page.problems
    ctx.close()


def assert_focus_visible(page):
    """The focused element has a focus ring (outline or ring shadow) not clipped by a box around it."""
    check = page.evaluate("""() => {
      const el = document.activeElement, s = getComputedStyle(el);
      if (el === document.body) return 'nothing focused';
      if (el.matches('audio[controls], video[controls]')) return '';  // the browser rings its own control inside
      const ring = (s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) >= 2) || s.boxShadow !== 'none'
        || (el.parentElement && getComputedStyle(el.closest('.card') || el).boxShadow !== 'none');
      if (!ring) return 'no ring on ' + el.outerHTML.slice(0, 80);
      const grow = parseFloat(s.outlineOffset) + parseFloat(s.outlineWidth), r = el.getBoundingClientRect();
      for (let a = el.parentElement; a && grow > 0; a = a.parentElement) {
        const o = getComputedStyle(a);
        if (o.overflow === 'visible' && o.overflowX === 'visible') continue;
        const b = a.getBoundingClientRect();
        if (r.left - grow < b.left || r.right + grow > b.right || r.top - grow < b.top || r.bottom + grow > b.bottom)
          if (a.scrollWidth <= a.clientWidth + 1 && a.scrollHeight <= a.clientHeight + 1)
            return 'ring clipped by ' + a.tagName + '.' + a.className + ' on ' + el.outerHTML.slice(0, 80);
      }
      return '';
    }""")
    assert not check, check


def test_focus_ring_of_cards_is_not_clipped(site, chromium):
    url, _ = site
    for mode in ("standard", "large"):
        ctx, page = context(chromium, url, mode=mode)
        page.goto(f"{url}/")
        page.locator(".card a").first.focus()
        page.keyboard.press("Tab")  # :focus-visible comes with the keyboard
        page.keyboard.press("Shift+Tab")
        assert page.evaluate("document.activeElement.matches('.card a')")
        assert_focus_visible(page)
        ctx.close()


def test_reduced_motion_is_respected(site, chromium):
    url, paths = site
    width, height = VIEWPORTS["pc"]
    ctx = chromium.new_context(reduced_motion="reduce", viewport={"width": width, "height": height})
    page = ctx.new_page()
    page.goto(url + paths["item-audio"])
    durations = page.evaluate("""() => [...document.querySelectorAll('*')].map(e => getComputedStyle(e))
      .map(s => Math.max(...s.transitionDuration.split(',').map(parseFloat), ...s.animationDuration.split(',').map(parseFloat)))""")
    assert max(durations) <= 0.001
    visit(page, url, "item-photo", paths["item-photo"])  # the viewer zooms and pans without gliding
    assert page.evaluate("window.fangzhiViewer.store.getState().config.osdConfig.animationTime") == 0
    ctx.close()


def test_screenshots(site, chromium):
    """Screenshots of the main page types at phone, PC and TV size, standard and large type, for
    people to look at (build/screenshots/)."""
    url, paths = site
    SHOTS.mkdir(parents=True, exist_ok=True)
    for mode in ("standard", "large"):
        for size in VIEWPORTS:
            ctx, page = context(chromium, url, mode=mode, size=size)
            for name in ("home", "search-facets", "no-results", "item-photo", "item-audio"):
                visit(page, url, name, paths[name])
                path = SHOTS / f"{name}-{size}-{mode}.png"
                page.screenshot(path=str(path))
                assert path.stat().st_size > 5000
            ctx.close()
