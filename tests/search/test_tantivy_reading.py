"""How the embedded index reads (search/tantivy_index.py): terms in no document are left out of a
query without changing any hit or score; facet counts of large hit sets come from the whole
filters' counts less the rest's, exactly, and from a searcher as new as the last commit of any
process."""
import random
import subprocess
import sys
from collections import Counter
from pathlib import Path

from search.index import Bool, Boost, Facet, MatchAll, Phrase, Range, Term, Terms
from search import tantivy_index
from search.tantivy_index import TantivyIndex
from tests.search.test_index_contract import doc

ROOT = Path(__file__).resolve().parents[2]
WORDS = ["甲", "乙", "丙", "丁", "戊"]  # 戊 is in no document
KINDS, PLACES = ["photo", "book", "audio"], ["无锡", "惠山", "荣巷", "梅园"]


def corpus(n: int, rng: random.Random) -> list[dict]:
    return [doc(f"d{i:04d}", text=" ".join(rng.choices(WORDS[:4], k=rng.randint(1, 6))),
                title=rng.choice(WORDS[:2]), kind=rng.choice(KINDS), place_name=rng.sample(PLACES, rng.randint(0, 2)),
                type="item" if i % 3 else "passage", year_start=rng.randint(1900, 2000)) for i in range(n)]


def tree(rng: random.Random, depth: int = 0):
    """A random query over words present and absent, keyword values present and absent."""
    pick = rng.random()
    if depth > 2 or pick < 0.35:
        return rng.choice([
            Term("text", rng.choice(WORDS)), Term("title", rng.choice(WORDS)),
            Boost(Term("text", rng.choice(WORDS)), 2.0), Phrase("text", (rng.choice(WORDS), rng.choice(WORDS))),
            Terms("kind", tuple(rng.sample([*KINDS, "video"], rng.randint(1, 3)))), Term("place_name", rng.choice([*PLACES, "太湖"])),
            Range("year_start", 1950, None), MatchAll()])
    parts = [tuple(tree(rng, depth + 1) for _ in range(rng.randint(0, 2))) for _ in range(4)]
    return Bool(must=parts[0], should=parts[1], must_not=parts[2], filter=parts[3])


def test_terms_in_no_document_are_left_out_without_changing_a_hit_or_a_score():
    rng = random.Random(5)
    index = TantivyIndex(None)
    index.rebuild(corpus(300, rng))
    searcher, _ = index._reader()
    pruned = 0
    for _ in range(400):
        node = tree(rng)
        plain, known = index._query(node), index._query(node, searcher)
        expected = [(round(s, 4), a.doc) for s, a in searcher.search(plain, limit=400).hits]
        assert [(round(s, 4), a.doc) for s, a in searcher.search(known, limit=400).hits] == expected, node
        pruned += repr(plain) != repr(known)
    assert pruned > 50  # the statistics did leave terms out


def brute_force(documents: list[dict], keep, field: str) -> list[tuple[str, int]]:
    counts = Counter(v for d in documents if keep(d) for v in ([d[field]] if isinstance(d[field], str) else d[field]))
    return sorted(counts.items(), key=lambda pair: (-pair[1], pair[0]))


def test_facets_of_most_documents_are_the_whole_filters_counts_less_the_rests(monkeypatch):
    rng = random.Random(8)
    documents = corpus(600, rng)
    index = TantivyIndex(None)
    index.rebuild(documents)
    facets = {"kind": Facet("kind", 10)}
    index.search(Bool(must=(Term("text", "甲"),), filter=(Term("type", "item"),)), facets=facets)
    assert index._reader()[1] == {}  # few hits: counted directly, the filters' counts not made
    monkeypatch.setattr(tantivy_index, "COMPLEMENT_FROM", 1)
    facets = {"kind": Facet("kind", 10), "place": Facet("place_name", 2)}
    for word, kinds in [("甲", ("photo", "book")), ("丁", ("photo", "book", "audio")), ("乙", ("audio",))]:
        def keep(d, word=word, kinds=kinds):
            return d["type"] == "item" and d["kind"] in kinds and word in d["text"].split()
        found = index.search(Bool(must=(Term("text", word),), filter=(Term("type", "item"), Terms("kind", kinds))),
                             facets=facets, limit=3)
        assert found.total == sum(map(keep, documents))
        assert found.facets == {"kind": brute_force(documents, keep, "kind"),
                                "place": brute_force(documents, keep, "place_name")[:2]}
    baselines = index._reader()[1]
    assert len(baselines) == 3  # each query's filters counted once, and used
    index.replace("d0001", [doc("d0001", text="甲", kind="video", type="item", place_name=["太湖"])])
    found = index.search(Bool(must=(Term("text", "甲"),), filter=(Term("type", "item"),)), facets=facets, limit=1)
    assert ("video", 1) in found.facets["kind"]  # the commit made a new searcher with its own counts
    assert index._reader()[1] is not baselines


def test_a_commit_by_another_process_is_counted_at_once(tmp_path, monkeypatch):
    monkeypatch.setattr(tantivy_index, "COMPLEMENT_FROM", 1)
    index = TantivyIndex(tmp_path / "index")
    index.rebuild(doc(f"d{n}", text="甲", kind="photo", type="item") for n in range(20))
    query = Bool(must=(Term("text", "甲"),), filter=(Term("type", "item"),))
    assert index.search(query, facets={"kind": Facet("kind")}).facets == {"kind": [("photo", 20)]}
    script = ("import sys; from pathlib import Path; from search.tantivy_index import TantivyIndex; "
              "from tests.search.test_index_contract import doc; index = TantivyIndex(Path(sys.argv[1])); "
              "index.replace('new', [doc('new', text='甲', kind='book', type='item')]); index.delete('d0'); index.close()")
    subprocess.run([sys.executable, "-c", script, str(tmp_path / "index")], cwd=ROOT, check=True, timeout=120)
    found = index.search(query, facets={"kind": Facet("kind")})
    assert found.total == 20 and found.facets == {"kind": [("photo", 19), ("book", 1)]}
