"""The search service over a real archive and the embedded index: indexing after each commit,
access inside the query (totals, facets, snippets, suggestions), highlights, dates, sorting."""
import io
import json
from datetime import date, timedelta
from itertools import product

import pytest

from repository.access import ANONYMOUS, SYSTEM, User
from repository.services import NewFile
from search.query import QueryError
from search.service import Search
from search.tantivy_index import TantivyIndex

TODAY = date(2026, 11, 25)
USERS = {"anonymous": ANONYMOUS, **{r: User(r, frozenset({r})) for r in
                                      ("researcher", "member", "curator", "archivist", "admin")}}
# visibility case → roles that may see it (as tests/repository/test_access.py)
SEES = {
    "public": set(USERS), "alliance": {"member", "curator", "archivist", "admin"},
    "staff": {"archivist", "admin"}, "private": {"admin"},
    "embargoed": {"archivist", "admin"}, "embargo-lifted": set(USERS), "withdrawn": {"archivist", "admin"},
}


class Recording:
    """Wraps an index and records which items were (re-)indexed."""

    def __init__(self, index):
        self.index, self.replaced, self.deleted = index, [], []

    def replace(self, item_id, docs):
        self.replaced.append(item_id)
        self.index.replace(item_id, docs)

    def delete(self, item_id):
        self.deleted.append(item_id)
        self.index.delete(item_id)

    def __getattr__(self, name):
        return getattr(self.index, name)


@pytest.fixture
def search(archive):
    from oral_history.service import interview_search

    found = Search(Recording(TantivyIndex(None)), archive, contributors=(interview_search,), today=lambda: TODAY)
    archive.today = lambda: TODAY
    archive.listeners.append(found.item_changed)
    return found


def add(archive, item_id, title, *, pages=(), page_access=None, **fields):
    """An item with one scanned page per text in ``pages`` and its OCR derivative."""
    data = {"id": item_id, "kind": "manuscript", "title": {"zh": title}, **fields}
    originals = [NewFile(f"p{n}.jpg", io.BytesIO(f"{item_id} scan {n}".encode()), "image/jpeg", n,
                         access=page_access) for n, _ in enumerate(pages, 1)]
    record = archive.create_item(data, originals, user=SYSTEM)
    if not pages:
        return record
    ocr = [NewFile(f"p{n}.ocr.json", io.BytesIO(json.dumps({"text": text}, ensure_ascii=False).encode()),
                   "application/json", n, role="derivative", derived_from=f.id, purpose="ocr")
           for n, (text, f) in enumerate(zip(pages, record.value.originals), 1)]
    return archive.update_item(item_id, {}, expected_version=record.version, user=SYSTEM, add_files=ocr)


def ids(results):
    return [h.item_id for h in results.hits]


def test_items_are_found_by_metadata_and_by_ocr_text_with_the_page(archive, search):
    add(archive, "a1", "荣氏家谱", pages=["第一页无关。", "荣德生创办茂新面粉厂于无锡西门外。"])
    add(archive, "a2", "惠山泥人")
    assert ids(search.search("家谱", user=ANONYMOUS)) == ["a1"]
    found = search.search("面粉厂", user=ANONYMOUS)
    assert ids(found) == ["a1"]
    assert found.hits[0].passages[0]["page"] == 2
    assert "<mark>面粉厂</mark>" in found.hits[0].passages[0]["snippet"]


def test_traditional_query_finds_simplified_text_and_highlights_keep_the_original(archive, search):
    add(archive, "t1", "無錫縣誌", pages=["光緒年間無錫縣誌記載惠山古鎮。"])
    add(archive, "s1", "无锡县志")
    assert sorted(ids(search.search("无锡", user=ANONYMOUS))) == ["s1", "t1"]
    assert sorted(ids(search.search("無錫", user=ANONYMOUS))) == ["s1", "t1"]
    hit = next(h for h in search.search("无锡", user=ANONYMOUS).hits if h.item_id == "t1")
    assert "<mark>無錫</mark>" in hit.highlights["title"]
    assert "<mark>無錫</mark>" in hit.passages[0]["snippet"]


@pytest.mark.parametrize("role", USERS)
def test_access_is_inside_the_query_totals_facets_snippets_and_suggestions(archive, search, role):
    tomorrow, yesterday = (TODAY + timedelta(days=1)).isoformat(), (TODAY - timedelta(days=1)).isoformat()
    for case in SEES:
        fields = {"visibility": case if case in ("alliance", "staff", "private") else "public",
                  "subjects": [f"主题{case}"]}
        if case == "embargoed":
            fields.update(visibility="embargoed", embargo_until=tomorrow)
        if case == "embargo-lifted":
            fields.update(visibility="embargoed", embargo_until=yesterday)
        add(archive, f"x-{case}", f"档案测试{case}", pages=[f"机密内容{case}"], **fields)
    archive.withdraw_item("x-withdrawn", user=SYSTEM, reason="重复")
    user = USERS[role]
    expected = {f"x-{case}" for case, roles in SEES.items() if role in roles}
    found = search.search("档案测试", user=user, per_page=50)
    assert set(ids(found)) == expected and found.total == len(expected)
    assert {v for v, _ in found.facets["subject"]} == {f"主题{c}" for c in SEES if role in SEES[c]}
    assert sum(n for _, n in found.facets["kind"]) == len(expected)
    assert set(ids(search.search("机密内容", user=user, per_page=50))) == expected
    listed = search.search("", user=user, per_page=50)
    assert set(ids(listed)) == expected
    assert {s for s in search.suggest("档案测试", user=user, limit=50)} == {f"档案测试{c}" for c in SEES
                                                                          if role in SEES[c]}


@pytest.mark.parametrize("access,role", list(product(["alliance", "staff", "private"], USERS)))
def test_text_of_a_restricted_page_is_found_only_by_those_who_may_read_it(archive, search, access, role):
    add(archive, "r1", "公开的家谱", pages=["捐赠者的私人批注暗语"], page_access=access)
    may = role in {"alliance": SEES["alliance"], "staff": SEES["staff"], "private": SEES["private"]}[access]
    found = search.search("暗语", user=USERS[role])
    assert ids(found) == (["r1"] if may else [])
    listed = search.search("家谱", user=USERS[role])
    assert ids(listed) == ["r1"]  # the item itself is public
    assert not any("暗语" in str(p["snippet"]) for h in listed.hits for p in h.passages) or may
    assert (listed.hits[0].thumbnail is None) or may


@pytest.mark.parametrize("access,role", list(product(["alliance", "staff", "private"], USERS)))
def test_facets_read_from_a_restricted_recording_follow_it(archive, search, access, role):
    """An interview's interviewee, interviewer, place and language are facet values at its
    recording's level: counted and filtered on by those who may hear it only; the item, public,
    is found once by everyone."""
    from oral_history.model import Interview
    from oral_history.service import save_interview

    record = archive.create_item({"id": "oh", "kind": "audio", "title": {"zh": "公开的访谈"}},
                                 [NewFile("a.wav", b"wav", "audio/wav", 1, access=access)], user=SYSTEM)
    save_interview(archive, "oh", Interview.from_dict({
        "interviewees": [{"name": {"zh": "受访人甲"}}], "interviewers": [{"name": {"zh": "采访人乙"}}],
        "place": {"name": {"zh": "荡口"}}, "languages": ["wuu"]}), user=SYSTEM, expected_version=record.version)
    may = role in SEES[access]
    values = {"interviewee": "受访人甲", "person": "采访人乙", "place": "荡口", "language": "wuu"}
    for text in ("访谈", ""):
        found = search.search(text, user=USERS[role])
        assert ids(found) == ["oh"] and found.total == 1 and sum(n for _, n in found.facets["kind"]) == 1
        for facet, value in values.items():
            assert (value in dict(found.facets[facet])) == may, facet
            assert ids(search.search(text, user=USERS[role], filters={facet: [value]})) == (["oh"] if may else [])


@pytest.mark.parametrize("role", USERS)
def test_contributors_add_passages_and_facets_each_at_its_level(archive, role):
    """Features add to an item's documents through contributors (oral history: an interview):
    passages and facet values, each contribution at its own level. With values at two levels the
    item is still found once by everyone, who count only the values they may read."""
    from search.documents import Contribution, Passage

    contributors = (
        lambda archive, item: Contribution([Passage("运河边的码头", access="alliance")], {"place_name": ["南长街"]},
                                           "alliance"),
        lambda archive, item: Contribution(facets={"person": ["张阿婆"]}, level="staff"),
        lambda archive, item: Contribution(facets={"subject_name": ["运河"]}))
    search = Search(TantivyIndex(None), archive, contributors=contributors, today=lambda: TODAY)
    archive.listeners.append(search.item_changed)
    add(archive, "c1", "公开的记录")
    user = USERS[role]
    found = search.search("", user=user)
    assert ids(found) == ["c1"] and found.total == 1 and sum(n for _, n in found.facets["kind"]) == 1
    assert dict(found.facets["subject"]) == {"运河": 1}  # as visible as the item: for everyone
    assert ("南长街" in dict(found.facets["place"])) == (role in SEES["alliance"])
    assert ("张阿婆" in dict(found.facets["person"])) == (role in SEES["staff"])
    assert ids(search.search("码头", user=user)) == (["c1"] if role in SEES["alliance"] else [])


def test_one_change_reindexes_only_that_item_and_purge_removes_it(archive, search):
    archive.create_collection({"id": "c1", "title": "馆藏"}, user=SYSTEM)
    for n in range(3):
        add(archive, f"m{n}", f"运河照片{n}", collections=["c1"])
    search.index.replaced.clear()
    record = archive.get_item("m1", user=SYSTEM)
    archive.update_item("m1", {"title": {"zh": "清名桥"}}, expected_version=record.version, user=SYSTEM)
    assert search.index.replaced == ["m1"]
    assert ids(search.search("清名桥", user=ANONYMOUS)) == ["m1"]
    assert "m1" not in ids(search.search("运河", user=ANONYMOUS))
    archive.purge_item("m2", user=SYSTEM, reason="测试")
    assert search.index.deleted == ["m2"]
    assert ids(search.search("运河", user=ANONYMOUS)) == ["m0"]


def test_rebuild_from_storage_gives_the_same_answers(archive, search):
    add(archive, "b1", "荣氏宗谱", pages=["荣德生号乐农"], date={"edtf": "1936"})
    add(archive, "b2", "钱氏家乘", date={"edtf": "1880"})
    before = [ids(search.search(q, user=ANONYMOUS)) for q in ("宗谱", "乐农", "date:光绪", "")]
    search.index.rebuild([])
    assert search.search("", user=ANONYMOUS).total == 0
    assert search.rebuild() == 2
    assert [ids(search.search(q, user=ANONYMOUS)) for q in ("宗谱", "乐农", "date:光绪", "")] == before


def test_changes_made_during_a_rebuild_are_indexed_after_it(archive, search):
    add(archive, "w1", "旧题名")
    archive.listeners.clear()  # as if the change went to the index being replaced
    documents = search.documents

    def change_midway(item):
        record = archive.get_item("w1", user=SYSTEM)
        if record.value.title["zh"] == "旧题名":
            archive.update_item("w1", {"title": {"zh": "新题名"}}, expected_version=record.version, user=SYSTEM)
        return documents(item)
    search.documents = change_midway
    search.rebuild()
    assert ids(search.search("新题名", user=ANONYMOUS)) == ["w1"]


def test_dates_reign_eras_facets_and_sorting(archive, search):
    add(archive, "d1", "光绪年间契约", date={"edtf": "1877", "display": "光绪三年"}, places=["荣巷"])
    add(archive, "d2", "民国茶馆照片", date={"edtf": "1936"}, places=["南长街"])
    add(archive, "d3", "民国米市账簿", date={"edtf": "1946"}, places=["南长街"])
    add(archive, "d4", "无日期的信")
    assert ids(search.search("date:光绪", user=ANONYMOUS)) == ["d1"]
    assert ids(search.search("date:1930..1939", user=ANONYMOUS)) == ["d2"]
    assert sorted(ids(search.search("date:民国", user=ANONYMOUS))) == ["d2", "d3"]
    assert ids(search.search("", user=ANONYMOUS, years=(1940, 1949))) == ["d3"]
    everything = search.search("", user=ANONYMOUS)
    assert ids(everything) == ["d1", "d2", "d3", "d4"]  # default for an empty query: by date, undated last
    assert ids(search.search("", user=ANONYMOUS, sort="-date")) == ["d3", "d2", "d1", "d4"]
    assert dict(everything.facets["decade"]) == {"1870": 1, "1930": 1, "1940": 1}
    assert dict(everything.facets["era"])["民国"] == 2 and dict(everything.facets["era"])["光绪"] == 1
    assert dict(everything.facets["place"]) == {"南长街": 2, "荣巷": 1}
    only = search.search("", user=ANONYMOUS, filters={"place": ["南长街"]})
    assert ids(only) == ["d2", "d3"] and dict(only.facets["place"]) == {"南长街": 2}
    # title by pinyin: guangxu… < minguo cha… < minguo mi… < wu…
    assert ids(search.search("", user=ANONYMOUS, sort="title")) == ["d1", "d2", "d3", "d4"]


def test_aliases_pinyin_fields_phrases_or_and_exclusion(archive, search):
    add(archive, "p1", "乐农自订行年纪事", creators=[{"name": {"zh": "荣德生"}, "aliases": [{"name": "乐农", "type": "号"}]}])
    add(archive, "p2", "惠山寺图", places=[{"name": {"zh": "惠山"}}])
    add(archive, "p3", "鼋头渚风景", places=[{"name": {"zh": "鼋头渚"}}])
    assert ids(search.search("creator:乐农", user=ANONYMOUS)) == ["p1"]
    assert ids(search.search("rongdesheng", user=ANONYMOUS)) == ["p1"]
    assert ids(search.search("rds", user=ANONYMOUS)) == ["p1"]
    assert ids(search.search("place:huishan", user=ANONYMOUS)) == ["p2"]
    assert sorted(ids(search.search("惠山 OR 鼋头渚", user=ANONYMOUS))) == ["p2", "p3"]
    assert ids(search.search('"鼋头渚风景"', user=ANONYMOUS)) == ["p3"]
    assert ids(search.search("惠山 OR 鼋头渚 -风景", user=ANONYMOUS)) == ["p2"]
    assert sorted(ids(search.search("-风景", user=ANONYMOUS))) == ["p1", "p2"]


def test_bad_queries_say_what_to_change(search):
    with pytest.raises(QueryError, match="date:明年 is not a date"):
        search.search("date:明年", user=ANONYMOUS)
    with pytest.raises(QueryError, match="cannot be excluded"):
        search.search("家谱 -date:光绪", user=ANONYMOUS)
    with pytest.raises(QueryError, match="no words"):
        search.search("“，。”", user=ANONYMOUS)
