"""IIIF Content Search 2.0 within an item (tests written from the spec's text: no validator
exists), and the 1.0 form Mirador reads."""
import pytest

from iiif.content_search import Segment, cue_segments, find, search_page
from tests.iiif import builders
from tests.web.auth_helpers import add_users, login

SEARCH2 = "http://iiif.io/api/search/2/context.json"


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    from web import create_app

    app = create_app({"DATA_DIR": str(tmp_path_factory.mktemp("search")), "SECRET_KEY": "t",
                      "IIIF_SEARCH_PAGE_SIZE": 2, "LOGIN_RATE_LIMIT": "1000 per minute"})
    archive = app.extensions["fangzhi"].archive
    builders.manuscript(archive)
    builders.manuscript(archive, "ms-restricted", restricted_page=2)
    builders.manuscript(archive, "ms-staff", visibility="staff")
    builders.epub(archive)
    builders.pdf(archive)
    builders.photo(archive)
    add_users(app, ["archivist"])
    return app


@pytest.fixture
def client(site):
    return site.test_client()


def search(client, item, query, status=200, **params):
    response = client.get(f"/iiif/3/search/{item}", query_string={"q": query, **params})
    assert response.status_code == status, response.get_data(as_text=True)[:300]
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    return response.json


def matches(page):
    """(exact, target) of every highlighting annotation, resolved to its matched annotation's target."""
    targets = {a["id"]: a["target"] for a in page["items"]}
    return [(h["target"]["selector"][0]["exact"], targets[h["target"]["source"]])
            for h in (page.get("annotations") or [{"items": []}])[0]["items"]]


def test_response_is_an_annotation_page_with_highlighting(client):
    page = search(client, "ms1", "惠山")
    assert list(page)[0] == "@context" and page["@context"] == SEARCH2  # §4.2
    assert page["type"] == "AnnotationPage" and page["id"] == "http://localhost/iiif/3/search/ms1?q=%E6%83%A0%E5%B1%B1"
    (line,) = page["items"]
    assert line["type"] == "Annotation" and line["motivation"] == "supplementing"
    assert line["body"] == {"type": "TextualBody", "value": "锡山在县城西惠山之东麓", "format": "text/plain"}
    assert line["target"] == "http://localhost/iiif/3/manifest/ms1/canvas/f1#xywh=700,80,40,550"  # the OCR line box
    (highlight,) = page["annotations"][0]["items"]
    assert highlight["motivation"] == "highlighting"  # §4.3.2
    assert highlight["target"]["type"] == "SpecificResource" and highlight["target"]["source"] == line["id"]
    assert highlight["target"]["selector"] == [{"type": "TextQuoteSelector", "prefix": "锡山在县城西", "exact": "惠山",
                                                "suffix": "之东麓"}]


def test_traditional_and_simplified_queries_both_hit(client):
    # The text has 運河 (traditional) on page 2 and 異常 on page 1; the queries use the other script.
    assert matches(search(client, "ms1", "运河")) == [("運河", "http://localhost/iiif/3/manifest/ms1/canvas/f2#xywh=700,80,40,500")]
    assert [m[0] for m in matches(search(client, "ms1", "异常"))] == ["異常"]
    assert [m[0] for m in matches(search(client, "ms1", "惠山"))] == [m[0] for m in matches(search(client, "ms1", "惠山"))]
    assert [m[0] for m in matches(search(client, "ms1", "學堂"))] == ["学堂"]


def test_words_single_characters_and_several_terms(client):
    assert [m[0] for m in matches(search(client, "ms1", "码头"))] == ["码头"]  # a two-character word
    assert [m[0] for m in matches(search(client, "ms1", "泉"))] == ["泉"]
    both = search(client, "ms1", "惠山 码头")
    assert [m[0] for m in matches(both)] == ["惠山", "码头"]  # space-separated terms: lines with either
    # Not found whole: its jieba words are looked for (米市 and 码头, on the same line).
    assert [m[0] for m in matches(search(client, "ms1", "米市码头"))] == ["米市", "码头"]
    assert search(client, "ms1", "太湖")["items"] == []


def test_paging(client):
    """§4.2.2: pages of IIIF_SEARCH_PAGE_SIZE (2 here) matching annotations, each with partOf, next/prev."""
    first = search(client, "ms1", "山 河 市 学")  # line 1 of page 1, both lines of page 2, page 3: four lines
    assert first["id"].endswith("page=1")
    collection = first["partOf"]
    assert collection["type"] == "AnnotationCollection" and collection["total"] == 4
    assert collection["first"]["id"].endswith("page=1") and collection["last"]["id"].endswith("page=2")
    assert first["next"] == {"id": collection["last"]["id"], "type": "AnnotationPage"} and "prev" not in first
    assert first["startIndex"] == 0 and len(first["items"]) == 2
    second = search(client, "ms1", "山 河 市 学", page=2)
    assert second["prev"]["id"] == collection["first"]["id"] and "next" not in second and second["startIndex"] == 2
    seen = [a["id"] for a in first["items"] + second["items"]]
    assert len(set(seen)) == 4
    assert {h["target"]["source"] for h in second["annotations"][0]["items"]} <= {a["id"] for a in second["items"]}
    search(client, "ms1", "山", 400, page="x")


def test_unsupported_parameters_are_ignored_and_reported(client):
    page = search(client, "ms1", "惠山", motivation="painting", user="https://example.org/u/1")
    assert page["ignored"] == ["motivation", "user"]  # §4.2.4
    assert len(page["items"]) == 1
    assert "ignored" not in search(client, "ms1", "惠山")


def test_ebook_text_and_pdf_pages(client):
    epub = search(client, "epub1", "运河")
    (line,) = epub["items"]
    assert line["target"] == "http://localhost/iiif/3/manifest/epub1/canvas/f1-c2"  # a chapter: the whole canvas
    assert line["body"]["value"] == "運河繞城而過。"
    pdf = search(client, "pdf1", "泉 码头")
    assert [a["target"] for a in pdf["items"]] == [
        "http://localhost/iiif/3/manifest/pdf1/canvas/f1-p1",  # text layer of page 1
        "http://localhost/iiif/3/manifest/pdf1/canvas/f1-p2#xywh=700,80,40,250"]  # OCR of page 2


def test_restricted_pages_are_never_searched(site):
    anonymous = site.test_client()
    assert search(anonymous, "ms-restricted", "运河")["items"] == []  # the text is on page 2, staff only
    assert search(anonymous, "ms-restricted", "惠山")["items"]
    search(anonymous, "ms-staff", "惠山", 404)
    assert anonymous.get("/iiif/3/autocomplete/ms-staff?q=惠").status_code == 404
    assert [t["value"] for t in anonymous.get("/iiif/3/autocomplete/ms-restricted?q=运").json["items"]] == []
    staff = site.test_client()
    login(staff, "archivist")
    assert search(staff, "ms-restricted", "运河")["items"]
    assert search(staff, "ms-staff", "惠山")["items"]


def test_autocomplete(client):
    """§5: a TermPage of terms beginning with q, usable as q of the search."""
    page = client.get("/iiif/3/autocomplete/ms1?q=運").json
    assert page["@context"] == SEARCH2 and page["type"] == "TermPage"
    assert page["id"] == "http://localhost/iiif/3/autocomplete/ms1?q=%E9%81%8B"
    assert page["items"] == [{"value": "运河", "total": 1}]
    assert search(client, "ms1", page["items"][0]["value"])["items"]
    assert client.get("/iiif/3/autocomplete/ms1?q=运&min=2").json["items"] == []
    assert client.get("/iiif/3/autocomplete/ms1?q=运&date=2020-01-01T00:00:00Z/2021-01-01T00:00:00Z").json["ignored"] == ["date"]
    assert client.get("/iiif/3/autocomplete/ms1?q=").json["items"] == []


def test_manifests_advertise_search_only_with_text(client):
    assert client.get("/iiif/3/manifest/photo1").json.get("service") is None
    assert search(client, "photo1", "惠山")["items"] == []


def test_content_search_1_for_mirador(client):
    """The same hits in the 1.0 form (AnnotationList, resources with each match's box, hits)."""
    page = client.get("/iiif/search/1/ms1?q=运河").json
    assert page["@type"] == "sc:AnnotationList" and page["within"]["total"] == 1
    (resource,) = page["resources"]
    assert resource["on"] == "http://localhost/iiif/3/manifest/ms1/canvas/f2#xywh=700,80,40,100"  # the two characters
    assert resource["resource"] == {"@type": "cnt:ContentAsText", "chars": "運河"}
    assert page["hits"] == [{"@type": "search:Hit", "annotations": [resource["@id"]], "match": "運河",
                             "before": "", "after": "繞城而过商船往来"}]
    terms = client.get("/iiif/search/1/autocomplete/ms1?q=运").json
    assert terms["terms"] == [{"match": "运河", "url": "http://localhost/iiif/search/1/ms1?q=%E8%BF%90%E6%B2%B3", "count": 1}]


def test_time_coded_cues():
    """Transcripts of recordings: (canvas, text, start, end) cues give #t= targets."""
    canvas = "https://example.org/iiif/3/manifest/oh1/canvas/f1"
    cues = cue_segments([(canvas, "我小时候住在南长街", 0.0, 4.5), (canvas, "運河边上有米市", 4.5, 9.25)])
    page = search_page(find("运河", cues), service="https://example.org/iiif/3/search/oh1", query="运河",
                       page=1, size=10, ignore=[])
    (item,) = page["items"]
    assert item["target"] == f"{canvas}#t=4.5,9.25"
    assert page["annotations"][0]["items"][0]["target"]["selector"][0] == {
        "type": "TextQuoteSelector", "prefix": "", "exact": "運河", "suffix": "边上有米市"}


def test_overlapping_matches_are_merged():
    segment = Segment("https://example.org/a/1", "https://example.org/c/1", "天下第二泉")
    assert [(h.start, h.end) for h in find("第二 二泉", [segment])] == [(2, 5)]


def test_answers_are_bounded_for_huge_texts(site):
    """A book of long one-paragraph chapters (a 50 KB EPUB made 20 MiB of chapters; its search
    took ~20 s and answered hundreds of MB): long paragraphs are searched in pieces, a search
    keeps its first MAX_MATCHES matches, a page highlights PAGE_MATCHES at most."""
    import json
    import time

    from iiif.content_search import MAX_MATCHES, PAGE_MATCHES, SEGMENT_CHARS
    from repository.services import NewFile

    text = "惠山泉水" * 50_000  # 200 000 characters in one paragraph
    chapters = [{"n": n, "title": f"第{n}章", "href": f"c{n}.xhtml", "text": text} for n in range(1, 6)]
    builders.make(site.extensions["fangzhi"].archive, "epub-huge", "ebook",
                  [NewFile("book.epub", b"epub", "application/epub+zip", 1)],
                  [builders.derivative("f1", "chapters.json", json.dumps(chapters, ensure_ascii=False).encode(),
                                       "application/json", "text")], language=["zh"])
    client = site.test_client()
    for url in ("/iiif/3/search/epub-huge?q=泉", "/iiif/3/search/epub-huge?q=惠山 水&page=3",
                "/iiif/search/1/epub-huge?q=泉"):
        start = time.monotonic()
        r = client.get(url)
        assert r.status_code == 200 and time.monotonic() - start < 2, url
        assert len(r.data) < 1_000_000, (url, len(r.data))
    page = client.get("/iiif/3/search/epub-huge?q=泉").json
    assert page["items"] and all(len(i["body"]["value"]) <= SEGMENT_CHARS for i in page["items"])
    assert len(page["annotations"][0]["items"]) <= PAGE_MATCHES
    assert page["partOf"]["total"] <= MAX_MATCHES
    assert client.get("/iiif/search/1/epub-huge?q=泉").json["within"]["total"] == MAX_MATCHES


def test_matches_are_capped_per_search_and_per_page():
    from iiif.content_search import MAX_MATCHES, PAGE_MATCHES

    segments = [Segment(f"https://example.org/a/{n}", "https://example.org/c/1", "泉水" * 500) for n in range(20)]
    hits = find("泉", segments)  # 500 matches a segment
    assert len(hits) == MAX_MATCHES and hits[-1].segment == segments[MAX_MATCHES // 500 - 1]
    page = search_page(hits, service="https://example.org/s", query="泉", page=1, size=20, ignore=[])
    assert len(page["items"]) == MAX_MATCHES // 500 and len(page["annotations"][0]["items"]) == PAGE_MATCHES
