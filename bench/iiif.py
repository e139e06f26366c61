"""IIIF image serving: Fangzhi against IIPImage serving the same pyramidal TIFF, in one run.

    python bench/iiif.py [--requests 2000] [--concurrency 8] [--memory-requests 10000] [--cache-mb 64]
                         [--memory-mb 64]

Makes an 8000 × 6000 scan (paper tone, noise, lines of drawn text), ingests it through the real
pipeline (a 256 px JPEG-tiled pyramid, Q85) into a temporary data folder, then serves it with
Fangzhi (`fangzhi serve`: gunicorn with its default WEB_WORKERS × WEB_THREADS, 2 × 8) and with
IIPImage (Debian's iipsrv.fcgi behind lighttpd on 127.0.0.1, FastCGI max-procs 2, JPEG_QUALITY
85), all reading the same TIFF file. Each Fangzhi worker keeps --memory-mb of decoded tiles (FANGZHI_IIIF_MEMORY_MB); IIPImage runs twice, with its
default tile cache (MAX_IMAGE_CACHE_SIZE 10 MB per process) and with --memory-mb like Fangzhi. Install them with `bash scripts/install-system.sh --bench`.

Two request sets, each URL asked once (nothing is served from a cache of answers), the same for
both servers, from C client threads with keep-alive connections:

* random: 512 × 512 regions at random places, scaled to 256 (…/x,y,512,512/256,/0/default.jpg);
* aligned: every tile OpenSeadragon/Mirador asks for at scale factors 1, 2 and 4 (256 px tiles).

Prints tiles/s, p50 and p95 per server and the ratios Fangzhi/IIPImage of tiles/s (goal ≥ 1.0)
and of p95 (goal ≤ 1.0) against either IIPImage; the ratio to a Pillow baseline that decodes the
full-size scan for every tile (2 processes); then the memory check: 10,000 more requests (random tiles, viewer tiles, and scaled views, which go to the disk
cache) while the RSS of each gunicorn worker (≤ 300 MB) and the size of the image cache
(≤ --cache-mb) are sampled. Exit status 1 on any failed request or failed check.
The client shares the machine with the servers (it costs both the same).
"""
from __future__ import annotations

import argparse
import http.client
import io
import os
import random
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.load import stop  # noqa: E402 - one way to stop a server for every benchmark

HOST = "127.0.0.1"
WIDTH, HEIGHT = 8000, 6000
IIPSRV = Path("/usr/lib/iipimage-server/iipsrv.fcgi")
IIP_DEFAULT_CACHE_MB = 10  # iipsrv's MAX_IMAGE_CACHE_SIZE default
RSS_LIMIT_MB = 300
TEXT = "锡山在县城西惠山之东麓山虽不高而林木葱郁泉出石罅甘冽异常世称天下第二泉者是也运河绕城而过商船往来"


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


# -- the scan and its pyramid ---------------------------------------------------------------

def make_scan(path: Path, seed: int = 8) -> Path:
    """A scanned page: paper tone with grain, ruled columns and lines of drawn text."""
    import numpy as np
    from PIL import Image, ImageDraw

    from web.demo import font

    rng = np.random.default_rng(seed)
    tone = np.array([232, 221, 196], dtype=np.int16)
    pixels = tone - rng.integers(0, 36, size=(HEIGHT, WIDTH, 1), dtype=np.int16)
    pixels = (pixels + rng.integers(-6, 7, size=(HEIGHT, WIDTH, 3), dtype=np.int16)).clip(0, 255)
    img = Image.fromarray(pixels.astype(np.uint8), "RGB")
    del pixels
    draw, face, r = ImageDraw.Draw(img), font(64), random.Random(seed)
    for y in range(200, HEIGHT - 200, 110):
        start = r.randrange(len(TEXT))
        draw.text((240 + r.randrange(120), y), (TEXT * 4)[start:start + 110], font=face, fill=(40, 30, 25))
    for x in range(200, WIDTH, 900):
        draw.line([(x, 120), (x, HEIGHT - 120)], fill=(150, 50, 40), width=6)
    img.save(path, quality=90)
    return path


def ingest_scan(data: Path, scan: Path) -> tuple[str, Path]:
    """Ingest the scan through the pipeline; return its IIIF identifier and its pyramid's path."""
    from fangzhi.bootstrap import build
    from fangzhi.settings import load
    from iiif.identifiers import image_identifier
    from ingest.pipeline import plan_job
    from ingest.sources.common import PlannedItem
    from repository.access import SYSTEM

    fangzhi = build(load({"DATA_DIR": str(data)}, environ={}), inline=True)
    ctx = fangzhi.ingest_context()
    planned = PlannedItem("bench-scan", [scan], {"id": "bench-scan", "kind": "photo", "title": {"zh": "基准扫描"},
                                                 "visibility": "public"}, ["scan"], [])
    fangzhi.runner.run([(plan_job(ctx, "bench", [planned]), 1)])
    archive = fangzhi.archive
    item = archive.get_item("bench-scan", user=SYSTEM).value
    pyramid = item.derivatives("scan", "pyramid")[0]
    stored = archive.open_file("bench-scan", pyramid.id, user=SYSTEM)
    return image_identifier("bench-scan", pyramid), stored.on_disk()


# -- the servers ----------------------------------------------------------------------------

def serving() -> tuple[int, int]:
    """The worker processes and threads `fangzhi serve` runs by default (WEB_WORKERS, WEB_THREADS)."""
    from fangzhi.settings import load

    settings = load({}, environ={})
    return settings["WEB_WORKERS"], settings["WEB_THREADS"]


def start_fangzhi(data: Path, port: int, cache_mb: int, memory_mb: int, log) -> subprocess.Popen:
    """`fangzhi serve` as deployed (gunicorn, its default workers and threads) on the data folder."""
    env = {**os.environ, "FANGZHI_DATA_DIR": str(data), "FANGZHI_SECRET_KEY": "bench" * 8,
           "FANGZHI_IIIF_CACHE_MB": str(cache_mb), "FANGZHI_IIIF_MEMORY_MB": str(memory_mb)}
    command = [sys.executable, "-c", "from web.cli import main; main()", "serve", "--host", HOST, "--port", str(port)]
    return subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)


def start_iipimage(folder: Path, images: Path, port: int, memory_mb: int, log) -> subprocess.Popen:
    lighttpd = shutil.which("lighttpd") or "/usr/sbin/lighttpd"
    if not IIPSRV.exists() or not Path(lighttpd).exists():
        raise SystemExit("IIPImage or lighttpd is missing: run `bash scripts/install-system.sh --bench`")
    folder.mkdir()
    config = folder / "lighttpd.conf"
    config.write_text(f"""
server.modules = ("mod_fastcgi")
server.bind = "{HOST}"
server.port = {port}
server.document-root = "{folder}"
server.errorlog = "{folder}/lighttpd-error.log"
fastcgi.server = ("/fcgi-bin/iipsrv.fcgi" => ((
    "socket" => "{folder}/iipsrv.socket",
    "bin-path" => "{IIPSRV}",
    "max-procs" => 2,
    "check-local" => "disable",
    "bin-environment" => (
        "FILESYSTEM_PREFIX" => "{images}/",
        "JPEG_QUALITY" => "85",
        "MAX_IMAGE_CACHE_SIZE" => "{memory_mb}",
        "VERBOSITY" => "0",
        "LOGFILE" => "{folder}/iipsrv.log"
    )
)))
""")
    return subprocess.Popen([lighttpd, "-D", "-f", str(config)], stdout=log, stderr=subprocess.STDOUT)


def wait_for(server: subprocess.Popen, port: int, path: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"{server.args[0]} exited with status {server.returncode}")
        try:
            if fetch(http.client.HTTPConnection(HOST, port, timeout=10), path)[0] == 200:
                return
        except (OSError, http.client.HTTPException):
            pass
        time.sleep(0.3)
    raise RuntimeError(f"no answer from 127.0.0.1:{port}{path} within {timeout:.0f} s")


# -- requests -------------------------------------------------------------------------------

def fetch(conn: http.client.HTTPConnection, path: str) -> tuple[int, str, bytes]:
    conn.request("GET", path)
    response = conn.getresponse()
    return response.status, response.getheader("Content-Type", ""), response.read()


def random_regions(n: int, seed: int) -> list[str]:
    r = random.Random(seed)
    return [f"{r.randrange(WIDTH - 512)},{r.randrange(HEIGHT - 512)},512,512/256," for _ in range(n)]


def viewer_tiles(seed: int) -> list[str]:
    """Every tile OpenSeadragon asks for at scale factors 1, 2, 4 (tiles of 256 px), shuffled."""
    tiles = []
    for sf in (1, 2, 4):
        step = 256 * sf
        for y in range(0, HEIGHT, step):
            for x in range(0, WIDTH, step):
                w, h = min(step, WIDTH - x), min(step, HEIGHT - y)
                tiles.append(f"{x},{y},{w},{h}/{-(-w // sf)},")
    random.Random(seed).shuffle(tiles)
    return tiles


def run(port: int, paths: list[str], concurrency: int) -> dict:
    """GET every path once from ``concurrency`` keep-alive clients: latencies, time, errors."""
    latencies, errors, lock, next_index = [], [], threading.Lock(), iter(range(len(paths)))

    def client():
        conn = http.client.HTTPConnection(HOST, port, timeout=60)
        while True:
            with lock:
                i = next(next_index, None)
            if i is None:
                break
            start = time.perf_counter()
            try:
                status, ctype, body = fetch(conn, paths[i])
            except (OSError, http.client.HTTPException) as exc:
                errors.append(f"{paths[i]}: {exc}")
                conn = http.client.HTTPConnection(HOST, port, timeout=60)
                continue
            latencies.append(time.perf_counter() - start)
            if status != 200 or not ctype.startswith("image/jpeg") or body[:2] != b"\xff\xd8":
                errors.append(f"{paths[i]}: HTTP {status} {ctype}")
        conn.close()

    started = time.perf_counter()
    threads = [threading.Thread(target=client) for _ in range(concurrency)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return summary([{"latencies": latencies, "seconds": time.perf_counter() - started, "errors": errors}])


def summary(parts: list[dict]) -> dict:
    """Rounds put together: tiles/s over their total time, p50/p95 over all their requests."""
    latencies = sorted(x for part in parts for x in part["latencies"])
    seconds = sum(part["seconds"] for part in parts)
    pick = (lambda p: latencies[min(len(latencies) - 1, int(p * len(latencies)))] * 1000) if latencies else (lambda p: 0)
    return {"latencies": latencies, "seconds": seconds, "errors": [e for part in parts for e in part["errors"]],
            "n": len(latencies), "rate": len(latencies) / seconds, "p50": pick(0.50), "p95": pick(0.95)}


def compare(servers: dict, regions: list[str], concurrency: int, rounds: int = 4) -> dict:
    """Each server in turn on the same requests, in rounds, so that whatever else the machine
    is doing weighs on both alike."""
    parts = {name: [] for name in servers}
    for n in range(rounds):
        chunk = regions[n::rounds]
        for name, (port, url) in servers.items():
            parts[name].append(run(port, [url(r) for r in chunk], concurrency))
    return {name: summary(p) for name, p in parts.items()}


# -- the Pillow baseline --------------------------------------------------------------------

def pillow_tile(scan: str, region: str) -> int:
    """What a naive server does: decode the whole scan, crop, scale, encode."""
    from PIL import Image

    x, y, w, h = (int(v) for v in region.split("/")[0].split(","))
    with Image.open(scan) as img:
        tile = img.crop((x, y, x + w, y + h)).resize((256, 256), Image.Resampling.LANCZOS)
    out = io.BytesIO()
    tile.save(out, "JPEG", quality=85)
    return len(out.getvalue())


def pillow_rate(scan: Path, regions: list[str]) -> float:
    with ProcessPoolExecutor(2) as pool:
        list(pool.map(pillow_tile, [str(scan)] * 2, regions[:2]))  # start the workers
        started = time.perf_counter()
        list(pool.map(pillow_tile, [str(scan)] * len(regions), regions))
        return len(regions) / (time.perf_counter() - started)


# -- memory ---------------------------------------------------------------------------------

def workers_of(server: subprocess.Popen) -> list[int]:
    children = Path(f"/proc/{server.pid}/task/{server.pid}/children").read_text().split()
    return [int(pid) for pid in children]


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def folder_bytes(folder: Path) -> int:
    total = 0
    for root, _, files in os.walk(folder):
        for name in files:
            try:
                total += os.stat(os.path.join(root, name)).st_size
            except FileNotFoundError:
                pass
    return total


def memory_check(server, port: int, paths: list[str], concurrency: int, cache: Path) -> dict:
    workers = workers_of(server)
    start = {pid: rss_mb(pid) for pid in workers}
    peak, cache_peak, done = dict(start), 0, threading.Event()

    def sample():
        nonlocal cache_peak
        while not done.wait(0.5):
            for pid in workers:
                peak[pid] = max(peak[pid], rss_mb(pid))
            cache_peak = max(cache_peak, folder_bytes(cache))

    sampler = threading.Thread(target=sample)
    sampler.start()
    result = run(port, paths, concurrency)
    done.set()
    sampler.join()
    end = {pid: rss_mb(pid) for pid in workers}
    return {**result, "start": start, "peak": peak, "end": end, "cache_peak": max(cache_peak, folder_bytes(cache))}


# -- the run --------------------------------------------------------------------------------

def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=2000, help="random regions per server")
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--memory-requests", type=int, default=10000)
    parser.add_argument("--cache-mb", type=int, default=64, help="Fangzhi's image cache (FANGZHI_IIIF_CACHE_MB)")
    parser.add_argument("--memory-mb", type=int, default=64, help="decoded tiles kept by each server process")
    parser.add_argument("--pillow-requests", type=int, default=12)
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="fangzhi-bench-iiif-"))
    processes = []
    try:
        print(f"making an {WIDTH} × {HEIGHT} scan and ingesting it …", flush=True)
        scan = make_scan(tmp / "scan.jpg")
        identifier, pyramid = ingest_scan(tmp / "data", scan)
        images = tmp / "iip-images"
        images.mkdir()
        os.symlink(pyramid, images / "scan.tif")  # IIPImage reads the very same file
        from iiif.imaging import read_levels

        levels = read_levels(pyramid)
        print(f"pyramid: {len(levels)} levels, {levels[0].tile_width} px JPEG tiles (Q85), "
              f"{pyramid.stat().st_size / 1e6:.1f} MB", flush=True)

        fz_port, iip_port, iip_big_port = free_port(), free_port(), free_port()
        log = open(tmp / "servers.log", "w")
        fangzhi = start_fangzhi(tmp / "data", fz_port, args.cache_mb, args.memory_mb, log)
        processes.append(fangzhi)
        for folder, port, mb in (("iip", iip_port, IIP_DEFAULT_CACHE_MB), ("iip-big", iip_big_port, args.memory_mb)):
            processes.append(start_iipimage(tmp / folder, images, port, mb, log))
        fz = lambda region: f"/iiif/3/{identifier}/{region}/0/default.jpg"  # noqa: E731
        ip = lambda region: f"/fcgi-bin/iipsrv.fcgi?IIIF=scan.tif/{region}/0/default.jpg"  # noqa: E731
        servers = {"Fangzhi (fangzhi serve, {} workers × {} threads)".format(*serving()): (fz_port, fz),
                   f"IIPImage ({IIP_DEFAULT_CACHE_MB} MB tile cache, its default)": (iip_port, ip),
                   f"IIPImage ({args.memory_mb} MB tile cache, as Fangzhi)": (iip_big_port, ip)}
        wait_for(fangzhi, fz_port, f"/iiif/3/{identifier}/info.json")
        for process, port in zip(processes[1:], (iip_port, iip_big_port)):
            wait_for(process, port, "/fcgi-bin/iipsrv.fcgi?IIIF=scan.tif/info.json")
        warm = [f"{x},{y},2048,2048/256," for x in (0, 2048, 4096) for y in (0, 2048)]
        for port, url in servers.values():  # every worker opens the image
            run(port, [url(r) for r in warm * 4], args.concurrency)

        failures = 0
        rates, ratios = {}, {}
        sets = {"random 512×512 → 256": random_regions(args.requests, 1),
                "aligned viewer tiles (scale factors 1, 2, 4)": viewer_tiles(2)}
        print(f"\n{'':52} {'requests':>8} {'tiles/s':>9} {'p50 ms':>8} {'p95 ms':>8}")
        for name, regions in sets.items():
            print(name)
            results = compare(servers, regions, args.concurrency)
            for server, result in results.items():
                failures += len(result["errors"])
                print(f"  {server:50} {result['n']:8d} {result['rate']:9.0f} {result['p50']:8.1f} "
                      f"{result['p95']:8.1f}" + (f"  errors: {len(result['errors'])}, e.g. {result['errors'][0]}"
                                                  if result["errors"] else ""), flush=True)
            fz_result, iip, iip_big = results.values()
            rates[name] = fz_result["rate"]
            ratios[name] = [fz_result["rate"] / iip["rate"], fz_result["rate"] / iip_big["rate"],
                            fz_result["p95"] / iip["p95"], fz_result["p95"] / iip_big["p95"]]
            print(f"  ratio Fangzhi / IIPImage, tiles/s: {ratios[name][0]:.2f}× with its default cache, "
                  f"{ratios[name][1]:.2f}× with as much memory as Fangzhi (goal ≥ 1.0)\n"
                  f"  ratio Fangzhi / IIPImage, p95:     {ratios[name][2]:.2f}× with its default cache, "
                  f"{ratios[name][3]:.2f}× with as much memory as Fangzhi (goal ≤ 1.0)")

        pillow = pillow_rate(scan, random_regions(args.pillow_requests, 3))
        print(f"\nPillow full decode per tile (2 processes): {pillow:.1f} tiles/s; Fangzhi random is "
              f"{rates['random 512×512 → 256'] / pillow:.0f}× that")

        print(f"\nmemory: {args.memory_requests} more requests to Fangzhi (random tiles, scaled views, viewer tiles) …",
              flush=True)
        r = random.Random(5)
        mixed = [f"{r.randrange(WIDTH - 512)},{r.randrange(HEIGHT - 512)},512,512/256," for _ in range(3000)]
        mixed += [f"{r.randrange(WIDTH - 900)},{r.randrange(HEIGHT - 900)},900,900/300," for _ in range(3000)]
        mixed += viewer_tiles(4)
        r.shuffle(mixed)
        mixed = (mixed * (args.memory_requests // len(mixed) + 1))[:args.memory_requests]
        cache = tmp / "data" / "cache" / "iiif" / "images"
        mem = memory_check(fangzhi, fz_port, [fz(r) for r in mixed], args.concurrency, cache)
        failures += len(mem["errors"])
        for pid in mem["start"]:
            ok = mem["peak"][pid] <= RSS_LIMIT_MB
            failures += not ok
            print(f"  worker {pid}: RSS {mem['start'][pid]:.0f} MB at the start, peak {mem['peak'][pid]:.0f} MB, "
                  f"{mem['end'][pid]:.0f} MB at the end (limit {RSS_LIMIT_MB} MB): {'OK' if ok else 'TOO MUCH'}")
        ok = mem["cache_peak"] <= args.cache_mb * 1024 * 1024
        failures += not ok
        print(f"  image cache: at most {mem['cache_peak'] / 2**20:.1f} MiB of {args.cache_mb} MiB: "
              f"{'OK' if ok else 'OVER'} ({mem['rate']:.0f} tiles/s, errors: {len(mem['errors'])})")
        print("\nsummary, Fangzhi / IIPImage (default cache; as much memory), tiles/s goal ≥ 1.0, p95 goal ≤ 1.0:")
        for name, (rate, rate_big, p95, p95_big) in ratios.items():
            print(f"  {name:46} tiles/s {rate:.2f}× ; {rate_big:.2f}×   p95 {p95:.2f}× ; {p95_big:.2f}×")
        print(f"  worker RSS over {args.memory_requests} tiles: peak {max(mem['peak'].values()):.0f} MB "
              f"(start {max(mem['start'].values()):.0f} MB, end {max(mem['end'].values()):.0f} MB; limit {RSS_LIMIT_MB} MB)")
        print(f"\nfailures: {failures}")
        return 1 if failures else 0
    finally:
        for process in reversed(processes):
            stop(process)
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
