"""The search page, GET /api/search and /api/suggest over the app (embedded index)."""
import io
import json

import pytest

from repository.access import SYSTEM
from repository.services import NewFile


@pytest.fixture
def filled(archive):
    archive.create_collection({"id": "gen", "title": {"zh": "家谱", "en": "Genealogies"}}, user=SYSTEM)
    record = archive.create_item({"id": "g1", "kind": "book", "title": {"zh": "荣氏宗譜"}, "collections": ["gen"],
                                  "date": {"edtf": "1936", "display": "民国二十五年"}, "language": ["zh"],
                                  "places": ["荣巷"], "creators": [{"name": {"zh": "荣德生"}}]},
                                 [NewFile("p1.jpg", io.BytesIO(b"scan"), "image/jpeg", 1)], user=SYSTEM)
    ocr = NewFile("p1.ocr.json", io.BytesIO(json.dumps({"text": "荣氏迁锡始祖，居荣巷。"}).encode()),
                  "application/json", 1, role="derivative", derived_from="f1", purpose="ocr")
    archive.update_item("g1", {}, expected_version=record.version, user=SYSTEM, add_files=[ocr])
    archive.create_item({"id": "g2", "kind": "photo", "title": {"zh": "惠山古镇"}, "date": {"edtf": "1980"}},
                        user=SYSTEM)
    return archive


def test_search_page_shows_highlights_pages_facets_and_counts(client, filled):
    html = client.get("/search?q=荣巷").get_data(as_text=True)
    assert "共 1 条结果" in html
    assert "<mark>荣巷</mark>" in html and "第 1 页" in html and 'href="/items/g1#p1"' in html
    assert "专题馆藏" in html and ">家谱</a>" in html  # the collection facet shows its title
    english = client.get("/search?q=荣巷&lang=en").get_data(as_text=True)
    assert "1 result" in english and "Collection" in english
    assert ">Genealogies</a>" in english  # titles in the reader's language (the macro sees it)


def test_search_page_without_a_query_is_a_form(client, filled):
    html = client.get("/search").get_data(as_text=True)
    assert 'role="search"' in html and "条结果" not in html


def test_api_search_json(client, filled):
    data = client.get("/api/search?q=宗谱").json  # simplified query, traditional title
    assert data["total"] == 1 and data["hits"][0]["id"] == "g1"
    assert data["hits"][0]["highlights"]["title"] == "荣氏<mark>宗譜</mark>"
    assert {"value": "book", "count": 1} in data["facets"]["kind"]
    everything = client.get("/api/search?per_page=1").json
    assert everything["total"] == 2 and everything["next"] and len(everything["hits"]) == 1
    assert client.get(everything["next"]).json["page"] == 2
    filtered = client.get("/api/search?kind=photo").json
    assert [h["id"] for h in filtered["hits"]] == ["g2"]
    assert [h["id"] for h in client.get("/api/search?date=民国").json["hits"]] == ["g1"]
    assert [h["id"] for h in client.get("/api/search?q=date:1980").json["hits"]] == ["g2"]


def test_api_search_errors_name_the_parameter(client, filled):
    r = client.get("/api/search?date=明年")
    assert r.status_code == 400 and r.json["problems"][0]["field"] == "date"
    r = client.get("/api/search?q=" + "字" * 501)
    assert r.status_code == 400 and r.json["problems"][0]["field"] == "q"
    assert client.get("/search?q=date:明年").status_code == 400


def test_suggest(client, filled):
    # most frequent first, then by value; folded to simplified (宗譜 → 宗谱)
    assert client.get("/api/suggest?q=荣").json["suggestions"] == ["荣巷", "荣德生", "荣氏宗谱"]
    assert client.get("/api/suggest?q=").json["suggestions"] == []
