"""The site every accessibility and layout test walks: the demo collection (photos, manuscripts, an
interview, a video, an e-book, the demo exhibition) ingested through the real pipeline, plus a book and a document,
served on loopback; and the page types those tests visit (``PAGES``)."""
from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path

from tests.helpers import serving
from tests.web.auth_helpers import PASSWORD

AXE = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"
CHROMIUM = "/usr/bin/chromium"
VIEWPORTS = {"phone": (390, 844), "pc": (1366, 768), "tv": (1920, 1080)}


@contextmanager
def demo_site(folder: Path):
    """The demo site served on a free port: yields (url, ids) where ids maps each page type's
    item kind to an item id."""
    from ingest.pipeline import plan_job, process
    from ingest.sources.common import PlannedItem
    from repository.access import SYSTEM
    from tests.ingest import fixtures
    from web import create_app
    from web.demo import create_demo, manuscript_page

    from fangzhi.bootstrap import build
    from fangzhi.settings import load

    fz = build(load({"DATA_DIR": str(folder / "data"), "SECRET_KEY": "test"}, environ={}), inline=True)
    create_demo(fz.ingest_context(), fz.runner, exhibitions=fz.exhibitions)  # with its published exhibition
    src = folder / "src"
    src.mkdir()
    pages = []
    for n, text in enumerate(("民国二十年无锡县志卷一", "卷二物产米麦蚕桑"), 1):
        pages.append(src / f"book-{n}.png")
        pages[-1].write_bytes(manuscript_page(text, n))
    ctx = fz.ingest_context()
    job = plan_job(ctx, "a11y", [
        PlannedItem("book", pages, {"id": "a11y-book", "kind": "book", "visibility": "public",
                                    "title": {"zh": "无锡县志", "en": "Gazetteer of Wuxi County"},
                                    "date": {"edtf": "1931"}, "language": ["zh"], "collections": ["demo"]},
                    [None, None], []),
        PlannedItem("document", [fixtures.pdf(src / "notice.pdf", ["Wuxi notice 1950"])],
                    {"id": "a11y-document", "kind": "document", "visibility": "public",
                     "title": {"zh": "布告"}, "date": {"edtf": "1950-03"}, "collections": ["demo"]}, [None], []),
    ])
    assert [process(ctx, job, n) for n in (1, 2)] == ["done", "done"]
    fz.accounts.add_user("admin", PASSWORD, ["admin"], by=SYSTEM)
    items, _ = fz.archive.list_items(user=SYSTEM, limit=100)
    ids = {}
    for item in items:
        ids.setdefault(item.kind, item.id)
    app = create_app(fangzhi=fz)
    with serving(app) as url:
        yield url, ids


def pages(ids: dict) -> dict[str, str]:
    """Every page type the tests visit: name → path (the admin pages need a signed-in admin)."""
    return {
        "home": "/", "search": "/search?q=无锡", "search-facets": "/search?q=&kind=photo",
        "no-results": "/search?q=不存在的词语", "collection": "/collections/demo",
        **{f"item-{kind}": f"/items/{ids[kind]}" for kind in
           ("photo", "manuscript", "book", "ebook", "audio", "video", "document")},
        "login": "/login", "alliance": "/alliance",
        "admin-items": "/admin/items", "admin-jobs": "/admin/jobs", "admin-users": "/admin/users",
        "admin-audit": "/admin/audit",
    }


def sign_in(page, url: str) -> None:
    page.goto(f"{url}/login")
    page.fill("input[name=username]", "admin")
    page.fill("input[name=password]", PASSWORD)
    page.click("main button[type=submit]")
    page.wait_for_load_state()


def settle(page) -> None:
    """Wait until the page (and its viewer or player) has drawn."""
    page.wait_for_load_state("networkidle")
    if page.locator("#viewer").count():
        page.wait_for_selector("#viewer .openseadragon-canvas", state="attached", timeout=30_000)
        page.wait_for_timeout(500)


def axe(page, *, rules: list[str] | None = None, tags=("wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice")):
    """axe-core's violations on the page (all of them; callers filter by impact)."""
    page.add_script_tag(path=str(AXE))
    options = {"runOnly": {"type": "rule", "values": rules}} if rules else {"runOnly": {"type": "tag", "values": list(tags)}}
    return page.evaluate("options => axe.run(document, options).then(r => r.violations.map(v => ({"
                         "id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.map(n => n.target.join(' ') + ' '"
                         " + (n.failureSummary || '').slice(0, 200))})))", options)


def serious(violations) -> list:
    return [v for v in violations if v["impact"] in ("serious", "critical")]
