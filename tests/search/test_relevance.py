"""Relevance on the relevance set (tests/search/relevance/): recall@10 and MRR on each backend,
and the same hits in the same order on both."""
import json
import uuid
from pathlib import Path

import pytest

from repository.access import ANONYMOUS
from repository.model import Item
from search.documents import Passage, item_documents
from search.elasticsearch_index import ElasticsearchIndex
from search.names import NameGroup
from search.service import Search
from search.tantivy_index import TantivyIndex

HERE = Path(__file__).parent / "relevance"
RECALL_AT_10, MRR = 0.95, 0.95


class RelevanceNames:
    """The relevance set's authority file (names.json) as a NameSource (search/names.py)."""

    def __init__(self):
        self.groups = [NameGroup(g["id"], g["kind"], g["preferred"], tuple(g["names"]))
                       for g in json.loads((HERE / "names.json").read_text(encoding="utf-8"))]

    def name_groups(self):
        return self.groups

    def stamp(self):
        return "1"


def corpus_documents() -> list[dict]:
    docs = []
    for line in (HERE / "corpus.jsonl").read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        data = json.loads(line)
        passages = [Passage(p["text"], page=p.get("page"), chapter=p.get("chapter"), time=p.get("time"))
                    for p in data.pop("passages", [])]
        docs += item_documents(Item.from_dict(data), passages)
    return docs


QUERIES = json.loads((HERE / "queries.json").read_text(encoding="utf-8"))
_TOP: dict[str, dict] = {}  # backend → query → top ten ids


@pytest.fixture(scope="module", params=["tantivy", "elasticsearch"])
def answers(request):
    """Every query's top ten item ids on one backend."""
    if request.param == "tantivy":
        index = TantivyIndex(None)
    else:
        index = ElasticsearchIndex(request.getfixturevalue("elasticsearch_url"), name=f"rel-{uuid.uuid4().hex[:8]}")
    search = Search(index, None, names=RelevanceNames())
    search.refresh_names()  # the names join the dictionary before the documents are made
    index.rebuild(corpus_documents())
    _TOP[request.param] = {q["q"]: [h.item_id for h in search.search(q["q"], user=ANONYMOUS, per_page=10).hits]
                           for q in QUERIES}
    yield request.param, _TOP[request.param]
    index.close()


def test_the_set_is_big_enough():
    assert len(QUERIES) >= 40
    assert sum(1 for d in corpus_documents() if d["type"] == "item") >= 100


def test_recall_and_mrr(answers):
    backend, top = answers
    recalls, ranks, misses = [], [], []
    for q in QUERIES:
        relevant = set(q["relevant"])
        found = top[q["q"]]
        recall = len(relevant & set(found)) / len(relevant)
        first = next((i for i, item_id in enumerate(found, 1) if item_id in relevant), None)
        recalls.append(recall)
        ranks.append(1 / first if first else 0.0)
        if recall < 1 or first != 1:
            misses.append(f"{q['q']!r}: recall {recall:.2f}, first relevant at {first}, got {found[:5]}, "
                          f"wanted {sorted(relevant)}")
    recall, mrr = sum(recalls) / len(recalls), sum(ranks) / len(ranks)
    print(f"\n{backend}: recall@10 {recall:.3f}, MRR {mrr:.3f} over {len(QUERIES)} queries")
    assert recall >= RECALL_AT_10 and mrr >= MRR, "\n".join([f"recall@10 {recall:.3f} MRR {mrr:.3f}", *misses])


def test_both_backends_give_the_same_hits_in_the_same_order(answers):
    backend, top = answers
    if backend == "elasticsearch":  # runs after the tantivy parameter (module-scoped fixture order)
        assert top == _TOP["tantivy"]
