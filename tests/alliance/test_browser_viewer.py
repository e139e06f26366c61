"""The alliance IIIF Collection (/iiif/3/collection/alliance) opened in the project's Mirador at
/viewer, in a real browser (Debian Chromium via Playwright): the members' manifests, read from a
loopback Fangzhi member's Change Discovery stream, are listed; the viewer opens nothing of other sites."""
import os
import time
from pathlib import Path

import pytest

from alliance.members import Member
from repository.access import SYSTEM
from tests.helpers import photo_item, serving
from tests.web.conftest import browser  # noqa: F401  (the fixture)

MIRADOR = Path(__file__).resolve().parents[2] / "node_modules" / "mirador" / "dist" / "mirador.min.js"
TITLES = ("惠山泥人", "清名桥夜景", "荣巷老宅")


@pytest.fixture
def sites(tmp_path):
    from web import create_app

    member = create_app({"DATA_DIR": str(tmp_path / "member"), "SECRET_KEY": "t"})
    ours = create_app({"DATA_DIR": str(tmp_path / "us"), "SECRET_KEY": "t"})
    for n, title in enumerate(TITLES):
        member.extensions["fangzhi"].archive.create_item(photo_item(id=f"p{n}", title={"zh": title}), user=SYSTEM)
    member.extensions["fangzhi"].archive.create_item(photo_item(id="inner", title={"zh": "馆员专藏"}, visibility="staff"),
                                                     user=SYSTEM)
    us = ours.extensions["fangzhi"]
    with serving(member) as m:
        us.members.add(Member("west", f"{m}/oai", api_url=m, label_zh="西区图书馆", label_en="West Library"))
        time.sleep(1.1)  # the activities are before the harvest's second
        assert all(o.ok for o in us.harvester.harvest())  # OAI-PMH records (the labels) and Change Discovery
        assert us.members.get("west").discovery_cursor
        with serving(ours) as o:
            yield o, m


@pytest.mark.parametrize("size", [(1366, 768), (1920, 1080)])  # at 390 px Mirador hides the dialog (see report)
def test_mirador_lists_the_members_manifests(sites, browser, size, tmp_path):  # noqa: F811
    assert MIRADOR.exists(), f"{MIRADOR} is missing: install the viewer with `make viewer` (npm ci)"
    ours, member = sites
    page = browser.new_page(viewport={"width": size[0], "height": size[1]})
    problems, fetched = [], []
    page.on("pageerror", lambda e: problems.append(str(e)))
    page.on("console", lambda m: problems.append(m.text) if "Content Security Policy" in m.text else None)
    page.on("response", lambda r: fetched.append((r.url, r.status)))
    page.goto(f"{ours}/alliance")
    page.click("a[href='/viewer']")
    page.locator("#viewer").get_by_text("区图书馆联盟馆藏").first.wait_for(state="attached", timeout=30_000)  # the Collection is read
    page.wait_for_timeout(1000)  # Mirador's window finishes opening
    page.get_by_text("显示集合").click(timeout=30_000, force=True)  # Mirador: "show collection"
    # Mirador's collection dialog lists every manifest of the Collection, by title; never the staff item
    page.get_by_text("3 清单").wait_for(timeout=30_000)
    for title in TITLES:
        page.get_by_text(title, exact=True).first.wait_for(timeout=30_000)
    assert page.get_by_text("馆员专藏").count() == 0
    assert (f"{ours}/iiif/3/collection/alliance", 200) in fetched
    page.screenshot(path=str(Path(os.environ.get("FANGZHI_SCREENSHOTS", tmp_path)) / f"alliance-viewer-{size[0]}.png"))
    # a reader picks one: Mirador fetches it from the member (allowed by the page's connect-src)
    page.get_by_text(TITLES[1], exact=True).first.click()
    page.wait_for_function("() => Object.values(window.fangzhiViewer.store.getState().manifests)"
                           ".some(m => m.json && m.json.type === 'Manifest')", timeout=30_000)
    assert any(url.startswith(f"{member}/iiif/3/manifest/p") and status == 200 for url, status in fetched), fetched
    assert not problems, problems


def test_the_viewer_opens_only_this_site_or_members(sites):
    import urllib.error
    import urllib.request

    ours, member = sites
    with urllib.request.urlopen(f"{ours}/viewer?manifest={member}/iiif/3/manifest/p1") as r:
        csp = r.headers["Content-Security-Policy"]
    assert f"connect-src 'self' {member}" in csp
    for hostile in ("http://evil.example.org/manifest", "javascript:alert(1)", "//evil.example.org/x",
                    f"{member}.evil.example.org/m", "file:///etc/passwd"):
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(f"{ours}/viewer?manifest={urllib.request.quote(hostile)}")
        assert refused.value.code == 400 and b"manifest" in refused.value.read()
