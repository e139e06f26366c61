"""How pages are shown to each reader (web/display.py): 简体/繁體/English, the large-type mode
remembered by a cookie read on the server, records in the reader's language and script marked with
``lang``, dates and codes in words, English without full-width punctuation, and what a search that
finds nothing offers instead."""
import io
import re

import pytest
from lxml import html as lxml_html

from repository.access import SYSTEM
from repository.services import NewFile
from web.display import edtf_words

FULL_WIDTH = re.compile("[\u3000-\u303f\uff01-\uff0f\uff1a-\uff20\uff3b-\uff40\uff5b-\uff65]")


@pytest.fixture
def records(archive):
    archive.create_collection({"id": "gen", "title": {"zh": "家谱", "en": "Genealogies"}}, user=SYSTEM)
    archive.create_collection({"id": "rong", "parent": "gen", "title": {"zh": "荣氏家谱"}}, user=SYSTEM)
    archive.create_item({"id": "g1", "kind": "book", "title": {"zh": "荣氏宗谱", "en": "Rong family genealogy"},
                         "collections": ["rong"], "date": {"edtf": "1948~", "display": "约民国三十七年"},
                         "language": ["zh", "wuu"], "subjects": ["家谱"], "places": ["荣巷"],
                         "creators": [{"name": {"zh": "荣德生"}, "role": "author",
                                       "aliases": [{"name": "乐农", "type": "号"}]}]},
                        [NewFile("p1.jpg", io.BytesIO(b"scan"), "image/jpeg", 1)], user=SYSTEM)
    archive.create_item({"id": "g2", "kind": "photo", "title": {"zh": "惠山古镇"}, "date": {"edtf": "195X"},
                         "collections": ["gen"]}, user=SYSTEM)
    archive.create_item({"id": "g3", "kind": "manuscript", "title": {"zh-Hant": "錫山鄉土誌"}}, user=SYSTEM)
    return archive


def page(client, url):
    response = client.get(url)
    assert response.status_code == 200, url
    return lxml_html.fromstring(response.get_data(as_text=True))


def test_large_type_mode_is_remembered_and_painted_by_the_server(client, records):
    assert "class" not in page(client, "/").attrib
    switch = client.get("/display/large?next=/items/g1")
    assert switch.status_code == 302 and switch.headers["Location"].endswith("/items/g1")
    assert "display=large" in switch.headers["Set-Cookie"] and "HttpOnly" in switch.headers["Set-Cookie"]
    for url in ("/", "/items/g1", "/search?q=荣", "/login", "/collections/gen"):  # the first paint is large
        doc = page(client, url)
        assert doc.get("class") == "large", url
        assert doc.xpath("//header//a[contains(@href, '/display/standard')]"), url  # and can be switched back
    client.get("/display/standard?next=/")
    assert page(client, "/").get("class") is None
    assert client.get("/display/huge").status_code == 404
    assert client.get("/display/large?next=https://evil.example/").headers["Location"] in ("/", "http://localhost/")


def test_every_page_offers_three_interface_languages(client, records):
    for code, tag, home in (("zh", "zh-Hans", "首页"), ("zh_Hant", "zh-Hant", "首頁"), ("en", "en", "Home")):
        doc = page(client, f"/items/g1?lang={code}")
        assert doc.get("lang") == tag
        links = doc.xpath("//nav[@class='switches']//a[@hreflang]")
        assert [a.get("lang") for a in links] == ["zh-Hans", "zh-Hant", "en"]
        assert [a.get("aria-current") for a in links].count("true") == 1
        assert doc.xpath("//nav[@class='switches']//a[@aria-current]")[0].get("lang") == tag
        assert home in doc.xpath("string(//header/nav[1])")
    client.get("/lang/zh_Hant?next=/")
    assert page(client, "/").get("lang") == "zh-Hant"  # remembered


def test_records_are_shown_in_the_readers_script_never_stored_so(client, records):
    doc = page(client, "/items/g1?lang=zh_Hant")
    assert doc.xpath("string(//h1)") == "榮氏宗譜"  # OpenCC at display time
    assert "榮德生" in doc.xpath("string(//dl)") and "榮巷" in doc.xpath("string(//dl)")
    assert records.get_item("g1", user=SYSTEM).value.title["zh"] == "荣氏宗谱"  # storage keeps the record's text
    doc = page(client, "/items/g3?lang=zh")  # a traditional-only record for a simplified reader
    assert doc.xpath("string(//h1)") == "锡山乡土志"
    doc = page(client, "/items/g3?lang=zh_Hant")
    assert doc.xpath("string(//h1)") == "錫山鄉土誌"  # its own script, untouched


def test_english_mode_shows_records_in_english_and_marks_the_rest(client, records):
    doc = page(client, "/items/g1?lang=en")
    assert doc.xpath("string(//h1)") == "Rong family genealogy"
    assert doc.xpath("//h1/span") == []  # English: no lang mark needed
    dl = doc.xpath("//dl[@class='metadata']")[0]
    assert "circa 1948" in dl.text_content()  # EDTF in words, not 1948~
    assert "1948~" not in dl.text_content()
    assert "Chinese, Wu Chinese (Wuxi)" in dl.text_content()  # codes as names
    assert "(author)" in dl.text_content()
    marked = {s.text_content(): s.get("lang") for s in dl.xpath(".//*[@lang]")}
    assert marked["荣德生"] == "zh" and marked["家谱"] == "zh" and marked["约民国三十七年"] == "zh"
    crumbs = doc.xpath("//nav[@class='crumbs']")[0].text_content()
    assert "荣氏家谱" in crumbs
    doc = page(client, "/collections/rong?lang=en")  # the breadcrumb names the parent
    assert "Genealogies" in doc.xpath("string(//nav[@class='crumbs'])")
    assert doc.xpath("//h1/span[@lang='zh']")[0].text == "荣氏家谱"  # no English title: marked Chinese
    hits = page(client, "/search?q=&lang=en")
    titles = [a.text_content().strip() for a in hits.xpath("//li[@class='hit']//a[@class='title']")]
    assert "Rong family genealogy" in titles
    assert "1950s" in hits.xpath("string(//ol[@class='hits'])")


@pytest.mark.parametrize("url", ["/", "/items/g1", "/items/g2", "/collections/gen", "/collections/rong",
                                 "/search?q=", "/search?q=荣", "/search?q=没有这个词", "/search", "/login"])
def test_english_pages_have_no_full_width_punctuation_outside_chinese_text(client, records, url):
    doc = page(client, url + ("&" if "?" in url else "?") + "lang=en")
    for el in doc.xpath("//*[@lang and not(starts-with(@lang, 'en'))] | //script | //style"):
        el.drop_tree()
    body = doc.xpath("//body")[0]
    text = " ".join(body.itertext()) + " ".join(body.xpath("//@alt | //@aria-label | //@title | //@placeholder"))
    found = [m.group() + text[max(0, m.start() - 15):m.end() + 15] for m in FULL_WIDTH.finditer(text)]
    assert not found, found


def test_edtf_in_words():
    assert [edtf_words(d, "en") for d in ("1936", "1948~", "195X", "19XX", "1962-08", "2024-06-12", "1920/1929",
                                          "1936?", "1930/..", "../1930")] == [
        "1936", "circa 1948", "1950s", "20th century", "August 1962", "12 June 2024", "1920 to 1929",
        "1936 (uncertain)", "1930 or later", "1930 or earlier"]
    assert [edtf_words(d) for d in ("1948~", "195X", "1962-08", "1920/1929")] == [
        "约1948年", "1950年代", "1962年8月", "1920年至1929年"]
    assert edtf_words("not a date") == "not a date"


def test_a_search_that_finds_nothing_offers_other_ways_in(client, records):
    doc = page(client, "/search?q=榮氏宗譜 清明")  # traditional spelling + a word nothing has
    text = doc.xpath("string(//section[@class='suggestions'])")
    links = {a.text_content(): a.get("href") for a in doc.xpath("//section[@class='suggestions']//a")}
    assert "没有找到结果" in text
    assert "榮氏宗譜" in links, links  # broader: the word that finds nothing dropped
    assert "照片" in links and "家谱" in links  # the most used facet values
    doc = page(client, "/search?q=荣德生 乐农 清明")
    queries = [a.text_content() for a in doc.xpath("//ul[@class='try']/li/a")]
    assert "rongdesheng lenong qingming" not in queries  # only suggestions that find something are offered
    doc = page(client, "/search?q=榮巷")  # found: no suggestions
    assert not doc.xpath("//section[@class='suggestions']")
    empty = page(client, "/search")  # nothing asked: ways to browse
    assert empty.xpath("//section[@class='suggestions']//a[contains(@href, 'kind=book')]")


def test_no_results_suggests_the_other_script_and_pinyin(client, archive):
    archive.create_item({"id": "t1", "kind": "photo", "title": {"zh": "清名桥"}, "places": ["南长街"]}, user=SYSTEM)
    search = client.application.extensions["fangzhi"].search
    # the query in the other script, when the folded query finds nothing but its conversion would
    from web.suggestions import candidates

    assert ("script", "清名橋") in candidates("清名桥")
    assert ("pinyin", "nanchangjie") in candidates("南长街")
    assert ("broader", "南长街") in candidates("南长街 码头") and ("broader", "码头") in candidates("南长街 码头")
    assert search.search("nanchangjie", user=SYSTEM).total == 1  # pinyin finds places
    doc = page(client, "/search?q=南长街 码头")
    queries = {a.text_content() for a in doc.xpath("//ul[@class='try']/li/a")}
    assert "南长街" in queries and "码头" not in queries  # a broader query that finds something


def test_home_links_to_all_items(client, records):
    doc = page(client, "/")
    link = doc.xpath("//p[@class='all-items']/a")[0]
    assert "3" in link.text_content()
    found = page(client, link.get("href"))
    assert len(found.xpath("//li[@class='hit']")) == 3


@pytest.mark.parametrize("q", ['"未闭合的引号', "creator:", "((((荣", "荣 " * 240, "-荣 -惠山", "榮" * 500, "\u200b\u3000"])
def test_suggestions_survive_hostile_queries_cheaply(client, records, q):
    """Suggestions try at most web.suggestions.MAX_QUERIES searches, whatever the query."""
    import time

    started = time.monotonic()
    response = client.get("/search", query_string={"q": q})
    assert response.status_code in (200, 400)
    assert time.monotonic() - started < 5
    if response.status_code == 400:  # the query parser's own refusal, named in the interface language
        assert "检索" in response.get_data(as_text=True)
