"""Load test: concurrent anonymous readers against Fangzhi served by gunicorn, in one run.

    python bench/load.py [--users 50] [--seconds 60] [--workers 2]

Runs `fangzhi demo` in a temp data dir, starts `gunicorn --workers W --threads 8 'web:create_app()'`
on a free 127.0.0.1 port and waits for /healthz; reads the URLs from the API; then runs N user
threads until the time is up. Each keeps one keep-alive connection and loops: a random route group
(home, collection, item page, api list, api item, file = the image bytes a viewer loads, healthz =
the baseline), a random URL in it, GET, record latency and status. Prints per group count, errors
(status outside 2xx/3xx, or an exception), p50/p95 ms and p50 as a ratio to the healthz p50 of the
same run; then requests/s and `errors: N` (exit status 1 if N > 0). Only 127.0.0.1 is contacted;
gunicorn is stopped at the end, also on errors and Ctrl-C. The client threads share the machine
with gunicorn, so on a small machine they compete with it for the CPU.
"""
from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"
GROUPS = ("home", "collection", "item page", "api list", "api item", "file", "healthz")


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def get(conn: http.client.HTTPConnection, path: str) -> tuple[int, bytes]:
    conn.request("GET", path)
    response = conn.getresponse()
    return response.status, response.read()


def get_json(port: int, path: str):
    conn = http.client.HTTPConnection(HOST, port, timeout=30)
    try:
        status, body = get(conn, path)
    finally:
        conn.close()
    if status != 200:
        raise RuntimeError(f"GET {path}: HTTP {status}")
    return json.loads(body)


def local_path(url: str) -> str:
    """The path and query of an absolute URL from the API: requests never leave 127.0.0.1."""
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def start_gunicorn(env: dict, port: int, workers: int, log) -> subprocess.Popen:
    beside = Path(sys.executable).parent / "gunicorn"
    command = [str(beside)] if beside.exists() else [sys.executable, "-m", "gunicorn"]
    command += ["--workers", str(workers), "--threads", "8", "--bind", f"{HOST}:{port}", "web:create_app()"]
    return subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)


def wait_healthy(server: subprocess.Popen, port: int, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"gunicorn exited with status {server.returncode}")
        try:
            get_json(port, "/healthz")
            return
        except (OSError, RuntimeError, http.client.HTTPException):
            time.sleep(0.2)
    raise RuntimeError(f"no answer from /healthz within {timeout:.0f} s")


def stop(server: subprocess.Popen) -> None:
    if server.poll() is None:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def discover(port: int) -> dict[str, list[str]]:
    """URLs per route group, from what the API lists for an anonymous reader."""
    items, path = [], "/api/items?per_page=100"
    while path:
        page = get_json(port, path)
        items += [i["id"] for i in page["items"]]
        path = page["next"] and local_path(page["next"])
    first = get_json(port, "/api/items")  # pages of the default size, as a reader pages through
    pages = max(1, -(-first["total"] // first["per_page"]))
    records = [get_json(port, f"/api/items/{i}") for i in items]
    collections = [c["id"] for c in get_json(port, "/api/collections")["collections"]]
    urls = {"home": ["/"], "healthz": ["/healthz"],
            "collection": [f"/collections/{c}" for c in collections],
            "item page": [f"/items/{i}" for i in items],
            "api list": [f"/api/items?page={n}" for n in range(1, pages + 1)],
            "api item": [f"/api/items/{i}" for i in items],
            "file": [local_path(f["url"]) for r in records for f in r["files"] if f["media_type"].startswith("image/")]}
    empty = [g for g in GROUPS if not urls[g]]
    if empty:
        raise RuntimeError(f"the demo gave no URLs for: {', '.join(empty)}")
    return urls


def user(port: int, urls: dict[str, list[str]], deadline: float, stopping: threading.Event, out: list) -> None:
    """One reader on one keep-alive connection; appends (group, seconds, status or exception name)."""
    rnd, conn = random.Random(), http.client.HTTPConnection(HOST, port, timeout=30)
    while time.monotonic() < deadline and not stopping.is_set():
        group = rnd.choice(GROUPS)
        start = time.perf_counter()
        try:
            status, _ = get(conn, rnd.choice(urls[group]))
        except Exception as exc:  # noqa: BLE001 - every failure is counted, and named in the report
            status = type(exc).__name__
            conn.close()  # reconnects on the next request
        out.append((group, time.perf_counter() - start, status))
    conn.close()


def percentile(sorted_values: list[float], p: float) -> float:
    return sorted_values[min(len(sorted_values) - 1, int(p / 100 * len(sorted_values)))]


def failed(status) -> bool:
    return not isinstance(status, int) or not 200 <= status < 400


def report(results: list, elapsed: float) -> int:
    times = {g: sorted(r[1] * 1000 for r in results if r[0] == g) for g in GROUPS}
    base = percentile(times["healthz"], 50) if times["healthz"] else float("nan")
    errors = Counter((g, status) for g, _, status in results if failed(status))
    print(f"{'route':<11}{'count':>8}{'errors':>8}{'p50 ms':>9}{'p95 ms':>9}  p50/healthz")
    for group, ms in times.items():
        if ms:
            p50, p95, bad = percentile(ms, 50), percentile(ms, 95), sum(n for (g, _), n in errors.items() if g == group)
            print(f"{group:<11}{len(ms):>8}{bad:>8}{p50:>9.1f}{p95:>9.1f}  {p50 / base:6.2f}x")
    print(f"total: {len(results)} requests in {elapsed:.1f} s = {len(results) / elapsed:.1f} requests/s")
    for (group, status), n in errors.most_common(10):
        print(f"  {group}: {status} x{n}")
    print(f"errors: {errors.total()}")
    return errors.total()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--users", type=int, default=50, help="concurrent readers (threads)")
    parser.add_argument("--seconds", type=float, default=60, help="how long the readers run")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn worker processes (8 threads each)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="fangzhi-load-") as tmp:
        # A fixed secret key: otherwise each worker would race to create DATA_DIR/secret_key.
        env = {**os.environ, "FANGZHI_DATA_DIR": tmp, "FANGZHI_SECRET_KEY": os.urandom(16).hex()}
        subprocess.run([sys.executable, "-m", "web.cli", "demo"], cwd=ROOT, env=env, check=True)
        port, log = free_port(), Path(tmp) / "gunicorn.log"
        with open(log, "wb") as out:
            server = start_gunicorn(env, port, args.workers, out)
        stopping, outs, errors = threading.Event(), [[] for _ in range(args.users)], 0
        try:
            wait_healthy(server, port)
            urls = discover(port)
            print(f"gunicorn {args.workers} workers x 8 threads on {HOST}:{port}; {args.users} users for "
                  f"{args.seconds:g} s; {len(urls['item page'])} items, {len(urls['file'])} image files", flush=True)
            start = time.monotonic()
            threads = [threading.Thread(target=user, args=(port, urls, start + args.seconds, stopping, out),
                                        daemon=True) for out in outs]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            errors = report([r for out in outs for r in out], time.monotonic() - start)
        except Exception:
            errors = 1
            raise
        finally:
            stopping.set()
            stop(server)
            if errors:
                print(f"--- gunicorn log (end) ---\n{log.read_text(errors='replace')[-3000:]}", file=sys.stderr)
    return 1 if errors else 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        sys.exit(130)
