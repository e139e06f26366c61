"""Exhibitions: validation naming each field, sanitised Markdown, versions and rebuild, the access
policy per block for every role, the IIIF Collection, and the pages (cards, JSON-LD, editor)."""
import json
import re

import pytest

from exhibitions.model import MAX_TEXT, Exhibition, ExhibitionError
from exhibitions.text import render
from repository.access import ANONYMOUS, SYSTEM, User
from repository.errors import Conflict, NotFound, PermissionDenied
from tests.helpers import assert_ocfl_valid, build_on
from tests.iiif import builders
from search.tantivy_index import TantivyIndex

CURATOR = User("策展人李", frozenset({"curator"}))
ROLE_USERS = {r: User(r, frozenset({r})) for r in ("researcher", "member", "curator", "archivist", "admin")}
ROLE_USERS["anonymous"] = ANONYMOUS
# hand-written: who sees an item of each visibility (as tests/web/test_leaks.py CASES)
SEES = {"public": set(ROLE_USERS), "alliance": {"member", "curator", "archivist", "admin"},
        "staff": {"archivist", "admin"}, "private": {"admin"}}


def bilingual(**extra):
    return {"id": "canal", "title": {"zh": "运河记忆", "en": "Canal memories"},
            "summary": {"zh": "运河边的**生活**。", "en": "Life by the *canal*."},
            "sections": [{"heading": {"zh": "码头", "en": "Wharves"}, "text": {"zh": "正文"},
                          "blocks": [{"kind": "item", "item": "photo1"}]}], **extra}


@pytest.fixture
def fz(tmp_path):
    fz = build_on(tmp_path, index=TantivyIndex(None), inline=True)
    record = builders.photo(fz.archive, "photo1")  # 1936, 惠山
    fz.archive.update_item("photo1", {"places": [{"name": {"zh": "惠山"}, "coordinates": [31.58, 120.27]}]},
                           expected_version=fz.archive.get_item("photo1", user=SYSTEM).version, user=SYSTEM)
    builders.manuscript(fz.archive, "ms1", date={"edtf": "1912"})
    builders.audio(fz.archive, "audio1")
    return fz


# --- the model -------------------------------------------------------------------------------

@pytest.mark.parametrize("data, field", [
    ({"id": "Bad Id", "title": "x"}, "id"),
    ({"id": "a", "title": {}}, "title"),
    ({"id": "a", "title": {"fr": "x"}}, "title.fr"),
    ({"id": "a", "title": "x", "status": "live"}, "status"),
    ({"id": "a", "title": "x", "sections": [{"heading": ""}]}, "sections[0].heading"),
    ({"id": "a", "title": "x", "sections": [{"heading": "h", "blocks": [{"kind": "iframe"}]}]},
     "sections[0].blocks[0].kind"),
    ({"id": "a", "title": "x", "sections": [{"heading": "h", "blocks": [{"kind": "item", "item": "../x"}]}]},
     "sections[0].blocks[0].item"),
    ({"id": "a", "title": "x", "sections": [{"heading": "h", "blocks": [{"kind": "region", "item": "p",
                                                                          "region": "1,2,3"}]}]},
     "sections[0].blocks[0].region"),
    ({"id": "a", "title": "x", "sections": [{"heading": "h", "blocks": [{"kind": "region", "item": "p",
                                                                          "region": "1,2,x,4"}]}]},
     "sections[0].blocks[0].region[2]"),
    ({"id": "a", "title": "x", "sections": [{"heading": "h", "blocks": [{"kind": "clip", "item": "p",
                                                                          "start": 5, "end": 2}]}]},
     "sections[0].blocks[0].end"),
    ({"id": "a", "title": "x", "sections": [{"heading": "h", "blocks": [{"kind": "clip", "item": "p",
                                                                          "start": "nan", "end": 2}]}]},
     "sections[0].blocks[0].start"),
    ({"id": "a", "title": "x", "sections": [{"heading": "h", "blocks": [{"kind": "gallery", "items": []}]}]},
     "sections[0].blocks[0].items"),
    ({"id": "a", "title": "x", "sections": [{"heading": "h", "blocks": [{"kind": "quote", "item": "p"}]}]},
     "sections[0].blocks[0].text"),
    ({"id": "a", "title": "x", "summary": {"zh": "长" * (MAX_TEXT + 1)}}, "summary.zh"),
])
def test_each_bad_field_is_named(data, field):
    with pytest.raises(ExhibitionError) as caught:
        Exhibition.from_dict(data)
    assert field in [f for f, _ in caught.value.problems], caught.value.problems
    assert all(re.search(r"[\u4e00-\u9fff]", p) for _, p in caught.value.problems)  # in the source language


def test_a_valid_exhibition_round_trips():
    data = bilingual()
    assert Exhibition.from_dict(Exhibition.from_dict(data).to_dict()) == Exhibition.from_dict(data)


# --- Markdown ----------------------------------------------------------------------------------

@pytest.mark.parametrize("attack", [
    "<script>alert(1)</script>", "[x](javascript:alert(1))", "[x](JaVaScRiPt:alert(1))", "[x](java\nscript:alert(1))",
    "<img src=x onerror=alert(1)>", "<a href=# onclick=alert(1)>x</a>", "![x](data:image/svg+xml;base64,PHN2Zz4=)",
    "[x](data:text/html;base64,PHNjcmlwdD4=)", "<iframe src=//evil></iframe>", "<svg onload=alert(1)>",
    "[x](vbscript:msgbox)", "<style>body{display:none}</style>", "<!-- <script>x</script> -->",
    "[x](&#106;avascript:alert(1))", "<div style=\"background:url(javascript:x)\">y</div>",
])
def test_markdown_never_passes_active_content(attack):
    """Whatever is written, the HTML has only allowed elements, no attribute but a link's, and links
    only to http(s) and mail: dangerous words may remain as text, never as markup."""
    from lxml import html as lxml_html

    out = render(f"前文 {attack} 后文")
    for element in lxml_html.fragment_fromstring(out, create_parent="div").iter():
        assert element.tag in {"div", "p", "a", "em", "strong", "code", "br"}, (attack, out)
        assert set(element.attrib) <= {"href", "rel", "title"}, (attack, out)
        if "href" in element.attrib:
            assert re.match(r"(https?:|mailto:)", element.attrib["href"]), (attack, out)


def test_markdown_keeps_what_curators_write():
    html = render("# 标题\n\n**粗体**、*斜体*、[馆网](https://example.org)\n\n> 引文\n\n- 一\n- 二")
    assert "<h3>标题</h3>" in html and "<strong>粗体</strong>" in html and "<blockquote>" in html
    assert '<a href="https://example.org" rel="noopener noreferrer nofollow">馆网</a>' in html


def test_huge_or_deeply_nested_markdown_is_bounded():
    import time

    started = time.perf_counter()
    html = render(">" * 100_000 + " x\n" + "*" * 200_000 + "[" * 50_000)
    assert time.perf_counter() - started < 5
    assert len(html) < 20 * MAX_TEXT


# --- versions, publishing, rebuild ---------------------------------------------------------------

def test_versions_keep_who_when_why_and_rebuild_lists_them_again(fz, tmp_path):
    ex = fz.exhibitions
    ex.save(bilingual(), user=CURATOR, expected_version=0, why="初稿")
    with pytest.raises(Conflict):
        ex.save(bilingual(), user=CURATOR, expected_version=0)
    ex.publish("canal", user=CURATOR, expected_version=1, why="开幕")
    ex.save(bilingual(subtitle={"zh": "修改中"}), user=CURATOR, expected_version=2, why="改副标题")
    history = ex.history("canal", user=CURATOR)
    assert [(v.number, v.user, v.message) for v in history] == [
        (1, "策展人李", "create: 初稿"), (2, "策展人李", "publish: 开幕"), (3, "策展人李", "update: 改副标题")]
    # readers see the published version 2, not the draft 3; curators preview the draft
    shown, record = ex.get("canal", user=ANONYMOUS)
    assert record.version == 2 and shown.subtitle == {}
    assert ex.get("canal", user=CURATOR)[1].version == 3
    before = ex.all(user=CURATOR)
    fz.exhibitions.listing.clear()
    assert ex.published() == []
    fz.archive.rebuild()
    assert ex.all(user=CURATOR) == before and [e.id for e, _ in ex.published()] == ["canal"]
    events = [e for e in fz.catalog.events("exhibition:canal")]
    assert {e["version"] for e in events} == {1, 2, 3}
    ex.unpublish("canal", user=CURATOR, expected_version=3, why="闭展")
    with pytest.raises(NotFound):
        ex.get("canal", user=ROLE_USERS["member"])
    assert ex.published() == []
    assert_ocfl_valid(tmp_path / "storage" / "ocfl")


@pytest.mark.parametrize("role", ["anonymous", "researcher", "member"])
def test_readers_cannot_write_or_see_drafts(fz, role):
    fz.exhibitions.save(bilingual(), user=CURATOR, expected_version=0)
    with pytest.raises(PermissionDenied):
        fz.exhibitions.save(bilingual(id="mine"), user=ROLE_USERS[role], expected_version=0)
    with pytest.raises(PermissionDenied):
        fz.exhibitions.publish("canal", user=ROLE_USERS[role], expected_version=1)
    with pytest.raises(NotFound):
        fz.exhibitions.get("canal", user=ROLE_USERS[role])


def test_curators_edit_no_item(fz):
    with pytest.raises(PermissionDenied):
        fz.archive.update_item("photo1", {"subjects": ["改"]}, expected_version=2, user=CURATOR)


def test_references_are_checked_against_what_the_curator_sees(fz):
    builders.photo(fz.archive, "secret", visibility="staff")
    data = bilingual(cover="audio1", sections=[{"heading": "h", "blocks": [
        {"kind": "item", "item": "secret"}, {"kind": "item", "item": "nothing"},
        {"kind": "region", "item": "audio1", "region": "0,0,10,10"},
        {"kind": "clip", "item": "photo1", "start": 0, "end": 5},
        {"kind": "quote", "item": "ms1", "page": 2, "text": "不在此页的话"}]}])
    with pytest.raises(ExhibitionError) as caught:
        fz.exhibitions.save(data, user=CURATOR, expected_version=0)
    fields = [f for f, _ in caught.value.problems]
    assert fields == ["sections[0].blocks[0].item", "sections[0].blocks[1].item", "sections[0].blocks[2].item",
                      "sections[0].blocks[3].item", "sections[0].blocks[4].text", "cover"]
    assert "secret" in caught.value.problems[0][1]  # the same words for a staff item as for none: no oracle
    assert caught.value.problems[0][1].replace("secret", "X") == caught.value.problems[1][1].replace("nothing", "X")


def every_block(**extra):
    return bilingual(cover="photo1", sections=[{"heading": {"zh": "全部", "en": "All"}, "blocks": [
        {"kind": "item", "item": "photo1"},
        {"kind": "region", "item": "photo1", "region": "10,20,300,200", "caption": {"zh": "局部"}},
        {"kind": "gallery", "items": ["photo1", "ms1"]},
        {"kind": "clip", "item": "audio1", "start": 2, "end": 9},
        {"kind": "quote", "item": "ms1", "page": 1, "text": builders.PAGES[0][0][:4]},
        {"kind": "timeline"}, {"kind": "map"}]}], **extra)


@pytest.mark.parametrize("visibility", SEES)
@pytest.mark.parametrize("role", ROLE_USERS)
def test_each_block_follows_the_access_policy_for_each_role(fz, role, visibility):
    """Every block of an item that becomes restricted disappears for the readers who may not see it,
    the timeline and map with it; the curator is warned on the edit page."""
    ex = fz.exhibitions
    ex.save(every_block(), user=CURATOR, expected_version=0)
    ex.publish("canal", user=CURATOR, expected_version=1)
    for item in ("photo1", "ms1", "audio1"):
        record = fz.archive.get_item(item, user=SYSTEM)
        fz.archive.update_item(item, {"visibility": visibility}, expected_version=record.version, user=SYSTEM)
    user = ROLE_USERS[role]
    exhibition, record = ex.get("canal", user=user)
    page = ex.page(exhibition, record, user=user)
    kinds = [s.block.kind for s in page.sections[0]]
    sees = role in SEES[visibility]
    assert kinds == (["item", "region", "gallery", "clip", "quote", "timeline", "map"] if sees else [])
    assert (page.cover is not None) == sees and bool(page.items) == sees
    if sees:
        timeline = next(s for s in page.sections[0] if s.block.kind == "timeline")
        assert [i.id for i in timeline.items] == ["ms1", "photo1"]  # 1912, 1936
    warnings = ex.warnings(exhibition, user=CURATOR)
    hidden_for_public = visibility != "public"
    assert bool(warnings) == hidden_for_public
    assert all(f.startswith("sections[0].blocks[") for f, _, _ in warnings)


def test_a_restricted_page_hides_its_quote_and_a_closed_passage_its_words(fz):
    builders.manuscript(fz.archive, "ms2", restricted_page=2)
    ex = fz.exhibitions
    ex.save(bilingual(sections=[{"heading": "h", "blocks": [
        {"kind": "quote", "item": "ms2", "page": 2, "text": builders.PAGES[1][0][:3]}]}]),
        user=User("a", frozenset({"archivist"})), expected_version=0)
    exhibition, record = ex.get("canal", user=SYSTEM)
    assert [s.block.kind for s in ex.page(exhibition, record, user=SYSTEM).sections[0]] == ["quote"]
    assert ex.page(exhibition, record, user=ANONYMOUS).sections[0] == []


# --- IIIF ------------------------------------------------------------------------------------

@pytest.fixture
def site(fz):
    from tests.web.auth_helpers import add_users
    from web import create_app

    app = create_app(fangzhi=fz)
    app.config["WTF_CSRF_ENABLED"] = False
    add_users(app)
    fz.exhibitions.save(every_block(), user=CURATOR, expected_version=0)
    fz.exhibitions.publish("canal", user=CURATOR, expected_version=1)
    return app


def test_the_iiif_collection_is_schema_valid_and_lists_what_the_reader_sees(site, fz):
    from tests.iiif.test_presentation import assert_valid

    client = site.test_client()
    body = client.get("/exhibitions/canal/iiif").json
    assert_valid(body)
    assert body["type"] == "Collection" and body["label"] == {"zh": ["运河记忆"], "en": ["Canal memories"]}
    assert [i["id"] for i in body["items"]] == [f"http://localhost/iiif/3/manifest/{i}" for i in ("photo1", "ms1", "audio1")]
    record = fz.archive.get_item("ms1", user=SYSTEM)
    fz.archive.update_item("ms1", {"visibility": "staff"}, expected_version=record.version, user=SYSTEM)
    body = client.get("/exhibitions/canal/iiif").json
    assert_valid(body)
    assert "ms1" not in json.dumps(body)


def test_the_page_has_cards_json_ld_print_styles_and_language_marks(site):
    client = site.test_client()
    html = client.get("/exhibitions/canal?lang=en").get_data(as_text=True)
    assert '<h1 id="ex-title">Canal memories</h1>' in html and '<h2 id="s0-h">All</h2>' in html
    assert '<meta property="og:title" content="Canal memories">' in html
    assert '<meta name="twitter:card" content="summary_large_image">' in html
    ld = json.loads(re.search(r'<script type="application/ld\+json">(.*?)</script>', html, re.S)[1])
    assert ld["@type"] == "ExhibitionEvent" and ld["name"] == "Canal memories"
    assert "/iiif/3/photo1~" in html and "/10,20,300,200/" in html  # the region as a IIIF crop
    assert 'lang="zh-Hans">局部' in html  # Chinese-only text marked on the English page
    css = client.get("/static/exhibition.css").get_data(as_text=True)
    assert "@media print" in css
    assert "<script>" not in html  # no inline code (the CSP)
    listing = client.get("/exhibitions").get_data(as_text=True)
    assert "/exhibitions/canal" in listing and "/exhibitions/canal" in client.get("/").get_data(as_text=True)


def test_the_editor_is_for_curators_and_saves_the_form(site, fz):
    from tests.web.auth_helpers import login

    assert site.test_client().get("/exhibitions/new").status_code == 302  # to the login page
    reader = site.test_client()
    login(reader, "researcher")
    assert reader.get("/exhibitions/new").status_code == 403
    assert reader.post("/exhibitions/canal/publish", data={"version": 2}).status_code == 403
    curator = site.test_client()
    login(curator, "curator")
    form = {"id": "wharf", "title-zh": "码头", "title-en": "Wharf", "action": "add-section", "version": "0"}
    page = curator.post("/exhibitions/new", data=form).get_data(as_text=True)
    assert 'name="s0-heading-zh"' in page
    form.update({"s0-heading-zh": "第一章", "s0-newkind": "region", "action": "add-block-0"})
    page = curator.post("/exhibitions/new", data=form).get_data(as_text=True)
    assert 'name="s0-b0-region"' in page and 'class="region-picker"' in page
    form.update({"s0-b0-kind": "region", "s0-b0-item": "photo1", "s0-b0-region": "1,2,30,40", "action": "save"})
    bad = curator.post("/exhibitions/new", data={**form, "s0-b0-region": "1,2"})
    assert bad.status_code == 400 and 's0-b0-region-error' in bad.get_data(as_text=True)
    english = curator.post("/exhibitions/new?lang=en", data={**form, "s0-b0-region": "1,2"}).get_data(as_text=True)
    assert "Draw a box on the image" in english
    assert curator.post("/exhibitions/new", data=form).status_code == 302
    saved, record = fz.exhibitions.get("wharf", user=CURATOR)
    assert saved.sections[0].blocks[0].region == [1, 2, 30, 40] and saved.title == {"zh": "码头", "en": "Wharf"}
    assert site.test_client().get("/exhibitions/wharf").status_code == 404  # a draft
    assert curator.get("/exhibitions/wharf").status_code == 200  # the preview
    assert curator.post("/exhibitions/wharf/publish", data={"version": record.version}).status_code == 302
    assert site.test_client().get("/exhibitions/wharf").status_code == 200
    assert curator.post("/exhibitions/wharf/unpublish", data={"version": record.version + 1}).status_code == 302
    assert site.test_client().get("/exhibitions/wharf").status_code == 404


def test_a_hostile_editor_form_is_refused_quickly_naming_the_field(site):
    """Thousands of numbered sections and blocks, a huge text, script in every field: a 400 naming
    the field, nothing stored, nothing of it run on the page."""
    import time

    from tests.web.auth_helpers import login

    curator = site.test_client()
    login(curator, "curator")
    form = {"id": "flood", "title-zh": "<script>alert(1)</script>", "action": "save", "version": "0",
            **{f"s{n}-heading-zh": "章" for n in range(5000)},
            **{f"s0-b{m}-kind": "item" for m in range(3000)}}
    started = time.perf_counter()
    r = curator.post("/exhibitions/new", data=form)
    assert time.perf_counter() - started < 10
    assert r.status_code == 400 and 'href="#sections"' in r.get_data(as_text=True)
    assert "<script>alert(1)</script>" not in r.get_data(as_text=True)
    huge = curator.post("/exhibitions/new", data={"id": "huge", "title-zh": "大", "action": "save", "version": "0",
                                                   "s0-heading-zh": "章", "s0-text-zh": "字" * (MAX_TEXT + 1)})
    assert huge.status_code == 400 and 's0-text-zh-error' in huge.get_data(as_text=True)
    assert site.test_client().get("/exhibitions/flood").status_code == 404
