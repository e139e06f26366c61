"""The cost curve (issue 17): one archive grown to each size N, every figure as a ratio to the
first size's (1k) in the same run.

    python bench/scale.py [--sizes 1000,10000,100000] [--batch 1000] [--fill store|ingest] [--queries 200] [--keep]

The archive runs on the embedded defaults (local storage, tantivy, SQLite) in a temp DATA_DIR
(``--keep``: kept afterwards). It grows incrementally: at each size the items missing below
N − batch are filled in (``--fill``, default ``store``: written in this process through the real
archive API, ``Archive.create_item`` — OCFL objects with the same metadata, image and text page,
catalog, index — but not the ingest pipeline, so without derivatives; ``ingest``: ingested in
jobs of 1k, each printing its rate), then the newest ``batch`` items are ingested on their own,
timed: that is the ingest rate *at* N. Those are ingested by `fangzhi ingest` from a CSV
manifest (the real pipeline: safety checks, PRONOM, originals, image derivatives, text
extraction, catalog, index; INGEST_WORKERS processes): metadata, a small JPEG and a page of
Chinese text as a .txt file (kind ``photo``: the pipeline OCRs only manuscripts and books, and
no setting switches OCR off, so the text page stands in for an OCR text). Then, at each N:

- ``index build``: `fangzhi index rebuild` (the search index from storage), seconds;
- ``rebuild``: `fangzhi rebuild` (catalog, then search index, from storage alone), seconds;
- ``storage/item``: bytes under DATA_DIR beyond the originals' bytes, per item (OCFL objects'
  derivatives and inventories, index, databases);
- ``search in-process``: two common words, facets kind/era/place, highlights, as a reader, on the
  services `fangzhi.bootstrap.build` makes: p50/p95 ms (goal p95 ≤ 20 ms and ≤ 2× the 1k p95);
- ``search HTTP``: the same queries as GET /api/search to gunicorn (the README's production
  server, 2 workers × 8 threads) on 127.0.0.1: p50/p95 ms;
- ``serving RSS``: the largest gunicorn process after those queries, MB (goal ≤ 1024 at 100k).

Ingest and rebuild are also given as CPU time per item (the command's process and its workers):
on a shared machine the wall clock measures the other load too. Goals: ingest rate at 100k ≥ 0.9×
the rate at 1k; rebuild time linear in N (time per item ≈ the 1k figure). The last lines are the
table of every figure and its ratio.
"""
from __future__ import annotations

import argparse
import csv
import http.client
import os
import random
import resource
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
from bench.search import LIBRARIES, PLACES, SURNAMES, Words, children, percentiles, rss_mb  # noqa: E402

COLLECTIONS = 20
JOB_SIZE = 1000  # items per `fangzhi ingest` job while growing the archive (each prints its rate)
FIGURES = ["ingest items/s", "ingest CPU ms/item", "index build s", "rebuild s", "rebuild ms/item",
           "rebuild CPU ms/item", "storage KB/item",
           "search p50 ms", "search p95 ms", "HTTP p50 ms", "HTTP p95 ms", "serving RSS MB"]


def make_batch(folder: Path, start: int, count: int, words: Words, rng: random.Random) -> int:
    """Items start … start+count−1 as a CSV manifest with a JPEG and a text page each; their bytes."""
    from PIL import Image

    (folder / "img").mkdir(parents=True)
    (folder / "txt").mkdir()
    size = 0
    with open(folder / "manifest.csv", "w", newline="", encoding="utf-8") as out:
        sheet = csv.writer(out)
        sheet.writerow(["id", "title", "kind", "creator", "date", "place", "subjects", "description",
                        "visibility", "holding_library", "collection", "files"])
        for n in range(start, start + count):
            image = Image.new("RGB", (320, 240), (rng.randrange(256), rng.randrange(256), rng.randrange(256)))
            image.putpixel((0, 0), (n >> 16 & 255, n >> 8 & 255, n & 255))  # every image differs: no duplicates
            image.paste((n % 251, 90, 160), (8 + n % 200, 8 + n % 150, 60 + n % 200, 60 + n % 150))
            image.save(folder / "img" / f"{n}.jpg", quality=85)
            (folder / "txt" / f"{n}.txt").write_text(words.text(rng.randint(250, 350)), encoding="utf-8")
            size += (folder / "img" / f"{n}.jpg").stat().st_size + (folder / "txt" / f"{n}.txt").stat().st_size
            person = rng.choice(SURNAMES) + "".join(rng.choices("德宗敬生文章若汀叔时宾四乐农伯仲秀英明华", k=2))
            sheet.writerow([f"s{n:07d}", words.text(rng.randint(3, 6))[:-1], "photo", person,
                            str(rng.randint(1368, 2000)), rng.choice(PLACES), "；".join(rng.sample(words.local, 2)),
                            words.text(rng.randint(20, 50)), "public", rng.choice(LIBRARIES),
                            f"c{rng.randint(1, COLLECTIONS)}", f"img/{n}.jpg; txt/{n}.txt"])
    return size


def fangzhi(env: dict, *args) -> tuple[float, float]:
    """Run `fangzhi ARGS` (a new process, as an operator would): its wall-clock seconds and the CPU
    seconds of it and its worker processes (what a busy shared machine does not distort)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    out = subprocess.run([sys.executable, "-m", "web.cli", *map(str, args)], cwd=ROOT, env=env,
                         capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if out.returncode != 0:
        sys.exit(f"fangzhi {' '.join(map(str, args))} failed:\n{out.stdout[-4000:]}\n{out.stderr[-4000:]}")
    return elapsed, after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime


def make_collections(data: Path, count: int) -> None:
    from fangzhi.bootstrap import build
    from fangzhi.settings import load
    from repository.access import SYSTEM

    fz = build(load({"DATA_DIR": str(data)}, environ={}))
    for n in range(1, count + 1):
        fz.archive.create_collection({"id": f"c{n}", "title": {"zh": f"馆藏{n}"}, "visibility": "public"}, user=SYSTEM)
    fz.search.index.close()


def ingest(env: dict, tmp: Path, start: int, count: int, words: Words,
           rng: random.Random) -> tuple[tuple[float, float], int]:
    """Ingest items start … start+count−1 in one job: ((seconds, CPU seconds), bytes of originals)."""
    folder = tmp / f"batch-{start}"
    size = make_batch(folder, start, count, words, rng)
    took = fangzhi(env, "ingest", folder, "--manifest", folder / "manifest.csv")
    shutil.rmtree(folder)
    return took, size


def store(data: Path, tmp: Path, start: int, count: int, words: Words, rng: random.Random) -> tuple[float, int]:
    """Items start … start+count−1 written by ``Archive.create_item`` in this process (the fast
    fill: no ingest pipeline, no derivatives): (seconds, bytes of originals)."""
    from fangzhi.bootstrap import build
    from fangzhi.settings import load
    from ingest.sources.manifest import plan_manifest
    from repository.access import SYSTEM
    from repository.services import NewFile

    folder = tmp / f"fill-{start}"
    size = make_batch(folder, start, count, words, rng)
    started = time.perf_counter()
    fz = build(load({"DATA_DIR": str(data)}, environ={}))
    for planned in plan_manifest(folder, folder / "manifest.csv"):
        files = [NewFile(path.name, path.read_bytes(), "image/jpeg" if path.suffix == ".jpg" else "text/plain",
                         sequence=n) for n, path in enumerate(planned.files, 1)]
        fz.archive.create_item(planned.metadata, files, user=SYSTEM)
    fz.search.index.close()
    shutil.rmtree(folder)
    return time.perf_counter() - started, size


def tree_bytes(folder: Path) -> int:
    return sum(f.stat().st_size for f in folder.rglob("*") if f.is_file())


def search_in_process(data: Path, qs: list[str], size: int) -> tuple[float, float]:
    from fangzhi.bootstrap import build
    from fangzhi.settings import load
    from repository.access import ANONYMOUS

    fz = build(load({"DATA_DIR": str(data)}, environ={}))
    try:
        public = fz.search.search("", user=ANONYMOUS, per_page=1, facets=[]).total
        if public != size:
            sys.exit(f"the index holds {public} public items, not {size}: the ingest or the rebuild lost some")
        for q in qs[:20]:
            fz.search.search(q, user=ANONYMOUS, facets=["kind", "era", "place"], per_page=10)  # warm up
        timings = []
        for q in qs:
            started = time.perf_counter()
            fz.search.search(q, user=ANONYMOUS, facets=["kind", "era", "place"], per_page=10)
            timings.append(time.perf_counter() - started)
    finally:
        fz.search.index.close()
    return percentiles(timings)


def search_http(env: dict, data: Path, qs: list[str]) -> tuple[float, float, float]:
    """p50, p95 of GET /api/search on gunicorn, then the largest serving process's RSS (MB)."""
    port = free_port()
    with open(data / "gunicorn.log", "ab") as log:
        server = start_gunicorn(env, port, 2, log)
        try:
            wait_healthy(server, port, timeout=180)
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
            timings = []
            warm = qs[:20]
            for n, q in enumerate(warm + qs):
                started = time.perf_counter()
                conn.request("GET", f"/api/search?q={quote(q)}&facets=kind,era,place&per_page=10")
                response = conn.getresponse()
                response.read()
                if response.status != 200:
                    sys.exit(f"GET /api/search?q={q}: HTTP {response.status} (see {data / 'gunicorn.log'})")
                if n >= len(warm):
                    timings.append(time.perf_counter() - started)
            conn.close()
            rss = max(rss_mb(pid) for pid in [server.pid, *children(server.pid)])
        finally:
            server.terminate()
            server.wait(timeout=30)
    return (*percentiles(timings), rss)


def ratio(value: float, first: float) -> str:
    return f"{value / first:.2f}×" if first else "–"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,10000,100000", help="archive sizes, ascending (default: %(default)s)")
    parser.add_argument("--batch", type=int, default=1000, help="newest items timed at each size (default: %(default)s)")
    parser.add_argument("--fill", choices=("store", "ingest"), default="store",
                        help="how the items below N − batch are added (default: %(default)s)")
    parser.add_argument("--queries", type=int, default=200, help="queries timed per size and way (default: %(default)s)")
    parser.add_argument("--workers", type=int, default=2, help="INGEST_WORKERS (default: %(default)s)")
    parser.add_argument("--keep", action="store_true", help="keep the archive's DATA_DIR (its path is printed)")
    args = parser.parse_args(argv)
    sizes = sorted({int(s) for s in args.sizes.split(",")})
    if sizes[0] < 1 or args.batch < 1:
        parser.error("--sizes and --batch must be positive")
    batch = min(args.batch, sizes[0])
    tmp = Path(tempfile.mkdtemp(prefix="fangzhi-bench-scale-"))
    data = tmp / "data"
    data.mkdir()
    env = {**os.environ, "FANGZHI_DATA_DIR": str(data), "FANGZHI_SECRET_KEY": "bench",
           "FANGZHI_INGEST_WORKERS": str(args.workers)}
    rng = random.Random(17)
    words = Words(random.Random(7))
    qs = [f"{rng.choice(words.common)} {rng.choice(words.common)}" for _ in range(args.queries)]
    print(f"sizes {sizes}, newest {batch} timed at each, {args.workers} ingest workers, {os.cpu_count()} cores, "
          f"load average {os.getloadavg()[0]:.2f}; DATA_DIR {data}\n", flush=True)
    have, originals, rows = 0, 0, []
    try:
        make_collections(data, COLLECTIONS)
        for size in sizes:
            grow = size - batch - have
            while grow > 0:
                count = min(JOB_SIZE, grow)
                if args.fill == "store":
                    took, added = store(data, tmp, have, count, words, rng)
                    how = f"stored {count} in {took:.0f} s = {count / took:.1f} items/s"
                else:
                    (took, cpu), added = ingest(env, tmp, have, count, words, rng)
                    how = f"ingested {count} in {took:.0f} s = {count / took:.1f} items/s, CPU {cpu / count * 1000:.0f} ms/item"
                have, originals, grow = have + count, originals + added, grow - count
                print(f"  grown to {have} items: {how} (load average {os.getloadavg()[0]:.2f})", flush=True)
            count = size - have
            took, added = ingest(env, tmp, have, count, words, rng)
            have, originals = size, originals + added
            figures = {"ingest items/s": count / took[0], "ingest CPU ms/item": took[1] / count * 1000}
            figures["index build s"] = fangzhi(env, "index", "rebuild")[0]
            figures["rebuild s"], cpu = fangzhi(env, "rebuild")
            figures["rebuild ms/item"] = figures["rebuild s"] / size * 1000
            figures["rebuild CPU ms/item"] = cpu / size * 1000
            figures["storage KB/item"] = (tree_bytes(data) - originals) / size / 1024
            figures["search p50 ms"], figures["search p95 ms"] = search_in_process(data, qs, size)
            figures["HTTP p50 ms"], figures["HTTP p95 ms"], figures["serving RSS MB"] = search_http(env, data, qs)
            rows.append((size, figures))
            first = rows[0][1]
            print(f"N={size} (load average {os.getloadavg()[0]:.2f}): " + "; ".join(
                f"{name} {value:.1f} ({ratio(value, first[name])} N={rows[0][0]})" for name, value in figures.items()),
                flush=True)
    finally:
        if args.keep:
            print(f"kept the archive: DATA_DIR {data}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    first = rows[0][1]
    print("figure".ljust(18) + "".join(f"{'N=' + str(size):>22}" for size, _ in rows))
    for name in FIGURES:
        print(name.ljust(18) + "".join(f"{f[name]:>14.1f} {ratio(f[name], first[name]):>7}" for _, f in rows))
    last = rows[-1][1]
    print(f"goals at N={rows[-1][0]}: ingest rate {ratio(last['ingest items/s'], first['ingest items/s'])} (≥ 0.90×); "
          f"search p95 {last['search p95 ms']:.1f} ms (≤ 20 ms), {ratio(last['search p95 ms'], first['search p95 ms'])} "
          f"(≤ 2×); ingest CPU per item {ratio(last['ingest CPU ms/item'], first['ingest CPU ms/item'])}; rebuild per item "
          f"{ratio(last['rebuild ms/item'], first['rebuild ms/item'])}, CPU {ratio(last['rebuild CPU ms/item'], first['rebuild CPU ms/item'])} (linear: ≈ 1×); "
          f"serving RSS {last['serving RSS MB']:.0f} MB (≤ 1024 MB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
