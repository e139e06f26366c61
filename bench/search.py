"""Search benchmark: segmentation speed, indexing throughput, query latency, index size, memory.

    python bench/search.py [--docs 200000] [--queries 500] [--elasticsearch-docs 20000] [--data DIR]

1. Segmentation: the project's analysis (rjieba + the local dictionary + OpenCC folding) over
   ~8 MB of generated text, in MB/s, as a ratio to plain jieba (``jieba.lcut_for_search``) on the
   same text in the same run (goal ≥ 10 MB/s per core).
2. Documents: N synthetic local-heritage items of realistic Chinese text (words drawn by
   frequency from jieba's dictionary plus the local dictionary; names, places, dates, 1–3
   OCR-like passages each) made into index documents by search/documents.py: docs/s.
3. Embedded index (tantivy) under a temp DATA_DIR: rebuild throughput (docs/s) and size on disk.
4. Embedded queries through the search service: two common words, three facets (kind, era,
   place) and highlights (metadata and passage snippets): p50/p95 ms (goal p95 ≤ 20 ms), as a
   ratio to a bare one-word query without facets or snippets in the same run; then one-word
   queries (same facets and highlights) for common words (in most items) and rare ones (in a few):
   p95 of each and their ratio (goal: common within 3× of rare).
5. HTTP: gunicorn (2 workers × 8 threads) serving that DATA_DIR; GET /api/search with the same
   queries: p50/p95 ms (goal p95 ≤ 50 ms) and the ratio to /healthz; then the RSS of the largest
   serving process (goal ≤ 1 GB with 200k documents indexed).
6. Elasticsearch (optional, --elasticsearch-docs > 0): the first documents into noida-db (or the
   cluster at FANGZHI_ELASTICSEARCH_URL): docs/s and the same query p50/p95.
"""
from __future__ import annotations

import argparse
import http.client
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import quote

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.load import free_port, start_gunicorn, wait_healthy  # noqa: E402
from repository.access import ANONYMOUS  # noqa: E402
from repository.model import Item  # noqa: E402
from search import analysis  # noqa: E402
from search.documents import Passage, item_documents  # noqa: E402
from search.service import Search  # noqa: E402

SURNAMES = "荣钱华秦顾薛杨王张李周吴徐孙朱胡高陆蒋沈许"
PLACES = ["无锡", "惠山", "锡山", "南长街", "清名桥", "荣巷", "梅园", "鼋头渚", "太湖", "蠡湖", "东林书院", "崇安寺",
          "北塘", "南门", "西门", "江阴", "宜兴", "梁溪", "黄埠墩", "运河"]
KINDS = ["photo", "manuscript", "book", "audio", "video", "ebook"]
LIBRARIES = [f"{name}图书馆" for name in ("梁溪区", "锡山区", "惠山区", "滨湖区", "新吴区", "江阴市", "宜兴市", "无锡市")]
PUNCT = "，。、；：！？"


class Words:
    """Words drawn by frequency from jieba's dictionary and the local one."""

    def __init__(self, rng: random.Random):
        import jieba

        path = Path(jieba.__file__).parent / "dict.txt"
        words, weights = [], []
        for line in path.read_text(encoding="utf-8").splitlines():
            word, freq, *_ = line.split()
            if int(freq) >= 50:
                words.append(word)
                weights.append(int(freq))
        local = [line.split()[0] for line in analysis.DICTIONARY_PATH.read_text(encoding="utf-8").splitlines()
                 if line.strip() and not line.startswith("#")]
        self.words, self.cum = words + local, None
        weights += [5000] * len(local)
        total, acc = 0, []
        for w in weights:
            total += w
            acc.append(total)
        self.cum, self.total, self.rng, self.local = acc, total, rng, local
        self.common = [w for w, f in zip(words, weights) if len(w) == 2 and f > 20000][:2000]

    def text(self, n_words: int) -> str:
        picked = self.rng.choices(self.words, cum_weights=self.cum, k=n_words)
        out = []
        for i, w in enumerate(picked, 1):
            out.append(w)
            if i % self.rng.randint(6, 14) == 0:
                out.append(self.rng.choice(PUNCT))
        return "".join(out) + "。"


def items(n: int, seed: int = 7):
    """(Item, passages) pairs; deterministic."""
    rng = random.Random(seed)
    words = Words(rng)
    people = [rng.choice(SURNAMES) + "".join(rng.choices("德宗敬生文章若汀叔时宾四乐农伯仲秀英明华", k=2))
              for _ in range(2000)]
    subjects = rng.sample(words.local, min(200, len(words.local)))
    for i in range(n):
        year = rng.randint(1368, 2000)
        item = Item.from_dict({
            "id": f"b{i:06d}", "kind": rng.choice(KINDS), "title": {"zh": words.text(rng.randint(3, 6))[:-1]},
            "description": {"zh": words.text(rng.randint(20, 50))},
            "creators": [{"name": {"zh": rng.choice(people)}}],
            "places": [rng.choice(PLACES)], "subjects": rng.sample(subjects, 2),
            "date": {"edtf": str(year)}, "language": ["zh"], "holding_library": rng.choice(LIBRARIES),
            "collections": [f"c{rng.randint(1, 20)}"],
        })
        passages = [Passage(words.text(rng.randint(80, 160)), f"f{p}", page=p) for p in range(1, rng.randint(2, 4))]
        yield item, passages
    Words.last = words


def percentiles(samples: list[float]) -> tuple[float, float]:
    samples = sorted(samples)
    return samples[len(samples) // 2] * 1000, samples[int(len(samples) * 0.95)] * 1000


def segmentation(words: Words) -> None:
    import jieba

    text = "".join(words.text(200) for _ in range(4000))  # ~ 2.5 MB of UTF-8
    size = len(text.encode()) / 1e6
    analysis.tokens("预热")
    start = time.perf_counter()
    for _ in range(3):
        analysis.tokens(text)
    ours = 3 * size / (time.perf_counter() - start)
    jieba.initialize()
    start = time.perf_counter()
    jieba.lcut_for_search(text)
    plain = size / (time.perf_counter() - start)
    print(f"segmentation: ours {ours:.1f} MB/s (rjieba + dictionary + OpenCC folding), plain jieba "
          f"{plain:.2f} MB/s → {ours / plain:.1f}× (goal ≥ 10 MB/s per core)", flush=True)


def queries(words: Words, n: int, rng: random.Random) -> list[str]:
    return [f"{rng.choice(words.common)} {rng.choice(words.common)}" for _ in range(n)]


def time_queries(search: Search, qs: list[str]) -> tuple[list[float], list[float]]:
    """Per query: the full search (3 facets, highlights), and a bare one-word engine query."""
    from search.index import Term

    full, bare = [], []
    for q in qs:
        start = time.perf_counter()
        search.search(q, user=ANONYMOUS, facets=["kind", "era", "place"], per_page=10)
        full.append(time.perf_counter() - start)
        start = time.perf_counter()
        search.index.search(Term("text", q.split()[0]), limit=10)
        bare.append(time.perf_counter() - start)
    return full, bare


def common_and_rare(words: Words, search: Search, rng: random.Random, n: int) -> None:
    """One-word queries (3 facets, highlights) for words in most items and for words in a few."""
    from search.index import Term

    by_weight = sorted(zip(words.cum, words.words), key=lambda pair: pair[0])
    weight = {w: c - (by_weight[i - 1][0] if i else 0) for i, (c, w) in enumerate(by_weight)}
    items = search.index.search(Term("type", "item"), limit=0).total
    ranked = sorted(words.words[:len(words.cum) - len(words.local)], key=weight.get, reverse=True)
    common = [w for w in ranked[:40] if len(analysis.tokens(w, mode="query")) == 1][:10]
    rare = rng.sample([w for w in ranked if weight[w] <= 60 and len(analysis.tokens(w, mode="query")) == 1], 50)
    result = {}
    for name, group in (("common", common), ("rare", rare)):
        share = sum(search.search(w, user=ANONYMOUS, per_page=1, facets=[]).total for w in group) / len(group) / items
        timings, cpu = [], []
        for i in range(n):
            w = group[i % len(group)]
            start, start_cpu = time.perf_counter(), time.process_time()
            search.search(w, user=ANONYMOUS, facets=["kind", "era", "place"], per_page=10)
            timings.append(time.perf_counter() - start)
            cpu.append(time.process_time() - start_cpu)
        result[name] = percentiles(timings), share, sum(cpu) / len(cpu) * 1000
    (c50, c95), c_share, c_cpu = result["common"]
    (r50, r95), r_share, r_cpu = result["rare"]
    # CPU time per query too: on a busy machine the wall-clock p95 also measures the scheduler.
    print(f"common words (in {c_share:.0%} of items, e.g. {'、'.join(common[:3])}): p50 {c50:.1f} ms, p95 {c95:.1f} ms; "
          f"rare words (in {r_share:.2%}): p50 {r50:.1f} ms, p95 {r95:.1f} ms → common/rare p95 {c95 / r95:.1f}× "
          f"(goal ≤ 3×); CPU per query {c_cpu:.1f} ms / {r_cpu:.1f} ms = {c_cpu / r_cpu:.1f}×", flush=True)


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def children(pid: int) -> list[int]:
    out = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout.split()
    return [int(p) for p in out]


def http_queries(port: int, qs: list[str]) -> tuple[list[float], list[float]]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    timings, base = [], []
    for q in qs:
        for path, into in ((f"/api/search?q={quote(q)}&facets=kind,era,place&per_page=10", timings),
                           ("/healthz", base)):
            start = time.perf_counter()
            conn.request("GET", path)
            response = conn.getresponse()
            response.read()
            if response.status != 200:
                raise RuntimeError(f"GET {path}: HTTP {response.status}")
            into.append(time.perf_counter() - start)
    conn.close()
    return timings, base


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--docs", type=int, default=200_000)
    parser.add_argument("--queries", type=int, default=500)
    parser.add_argument("--elasticsearch-docs", type=int, default=0)
    parser.add_argument("--data", type=Path, help="keep the index in DIR/index; when it is there (made by a run "
                        "with the same --docs), time the queries on it without generating and indexing again")
    args = parser.parse_args()
    from search.tantivy_index import TantivyIndex

    rng = random.Random(11)
    data = args.data or Path(tempfile.mkdtemp(prefix="fangzhi-bench-search-"))
    reuse = bool(args.data and (data / "index").exists())
    docs: list[dict] = []
    try:
        if reuse:
            words = Words(random.Random(7))  # the words items() draws from
            segmentation(words)
            index = TantivyIndex(data / "index")
            print(f"index: reused {data / 'index'} ({index.count()} documents)", flush=True)
        else:
            start = time.perf_counter()
            docs = [d for item, passages in items(args.docs) for d in item_documents(item, passages)]
            made = time.perf_counter() - start
            words = Words.last
            segmentation(words)
            print(f"documents: {args.docs} items → {len(docs)} index documents in {made:.0f} s "
                  f"({args.docs / made:.0f} items/s, analysis included)", flush=True)

            index = TantivyIndex(data / "index")
            start = time.perf_counter()
            index.rebuild(iter(docs))
            took = time.perf_counter() - start
            size = sum(f.stat().st_size for f in (data / "index").rglob("*") if f.is_file()) / 1e6
            print(f"tantivy: indexed {len(docs)} documents in {took:.0f} s = {len(docs) / took:.0f} docs/s "
                  f"({args.docs / took:.0f} items/s); index on disk {size:.0f} MB", flush=True)

        search = Search(index, None)
        qs = queries(words, args.queries, rng)
        for q in qs[:20]:
            search.search(q, user=ANONYMOUS)  # warm up
        full, bare = time_queries(search, qs)
        p50, p95 = percentiles(full)
        b50, b95 = percentiles(bare)
        print(f"embedded query (2 words, 3 facets, highlights): p50 {p50:.1f} ms, p95 {p95:.1f} ms "
              f"(goal p95 ≤ 20 ms); bare one-word engine query p50 {b50:.2f} ms → {p50 / b50:.1f}×", flush=True)
        common_and_rare(words, search, rng, min(args.queries, 200))
        index.close()

        env = {**os.environ, "FANGZHI_DATA_DIR": str(data), "FANGZHI_SECRET_KEY": "bench"}
        port = free_port()
        with open(data / "gunicorn.log", "wb") as log:
            server = start_gunicorn(env, port, 2, log)
            try:
                wait_healthy(server, port, timeout=120)
                http_queries(port, qs[:20])
                timings, base = http_queries(port, qs)
                p50, p95 = percentiles(timings)
                h50, _ = percentiles(base)
                rss = max(rss_mb(pid) for pid in [server.pid, *children(server.pid)])
                print(f"HTTP /api/search: p50 {p50:.1f} ms, p95 {p95:.1f} ms (goal p95 ≤ 50 ms); "
                      f"/healthz p50 {h50:.1f} ms → {p50 / h50:.1f}×; largest serving process RSS {rss:.0f} MB "
                      f"with {args.docs} items indexed (goal ≤ 1024 MB)", flush=True)
            finally:
                server.terminate()
                server.wait(timeout=30)

        if args.elasticsearch_docs and docs:
            elasticsearch(docs, args.elasticsearch_docs, qs, data)
    finally:
        if not args.data:
            shutil.rmtree(data, ignore_errors=True)
    return 0


def elasticsearch(docs: list[dict], n: int, qs: list[str], data: Path) -> None:
    from search.elasticsearch_index import ElasticsearchIndex
    from tests.servers import start_elasticsearch

    url = os.environ.get("FANGZHI_ELASTICSEARCH_URL")
    (data / "noida").mkdir(exist_ok=True)
    server = start_elasticsearch(data / "noida")  # that cluster when set, else a noida-db for the run
    try:
        index = ElasticsearchIndex(server.url, name="bench-search")
        subset = [d for d in docs if int(d["item_id"][1:]) < n]
        start = time.perf_counter()
        index.rebuild(iter(subset))
        took = time.perf_counter() - start
        search = Search(index, None)
        full, _ = time_queries(search, qs[:200])
        p50, p95 = percentiles(full)
        print(f"elasticsearch ({'cluster' if url else 'noida-db'}): {len(subset)} documents in {took:.0f} s = "
              f"{len(subset) / took:.0f} docs/s; query p50 {p50:.1f} ms, p95 {p95:.1f} ms")
    finally:
        server.stop()


if __name__ == "__main__":
    sys.exit(main())
