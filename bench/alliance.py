"""The alliance: live fan-out search to member libraries (and harvesting), each against a baseline
measured in the same run.

    python bench/alliance.py [--part fanout] [--members 3] [--items 200] [--rounds 100]

fanout: a portal and ``--members`` member Fangzhi instances on loopback (own data folders, ports
and processes, werkzeug's threaded server), each holding ``--items`` records; times ``--rounds`` searches
GET /api/search?scope=alliance (every member asked live, in parallel, merged by reciprocal-rank
fusion) and the same searches local-only (GET /api/search) over HTTP to the portal, and prints
p50/p95 of each in ms and the alliance search as a multiple of the local one.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
import urllib.parse
import urllib.request
import json
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

WORDS = ["运河", "惠山", "码头", "家谱", "茶馆", "古镇", "丝绸", "桥梁", "庙会", "书院"]
PLACES = ["无锡", "南长街", "荣巷", "清名桥", "梁溪"]


def percentiles(times: list[float]) -> tuple[float, float]:
    ordered = sorted(times)
    return statistics.median(ordered) * 1000, ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))] * 1000


def timed_get(url: str) -> tuple[float, dict]:
    start = time.perf_counter()
    with urllib.request.urlopen(url, timeout=30) as response:
        data = json.loads(response.read())
    return time.perf_counter() - start, data


def _fill(instance, items: int, offset: int) -> None:
    from repository.access import SYSTEM

    for n in range(items):
        word, place = WORDS[(n + offset) % len(WORDS)], PLACES[n % len(PLACES)]
        instance.archive.create_item({
            "id": f"{instance.name}-{n}", "kind": "photo", "holding_library": instance.library,
            "title": {"zh": f"{place}{word}第{n}号"}, "date": {"edtf": str(1900 + n % 100)},
            "description": {"zh": f"{instance.library}藏{place}{word}照片。"}}, user=SYSTEM)


def _member_process(root: str, name: str, library: str, items: int, offset: int, queue, stop) -> None:
    """A member in its own process (as on its own machine): filled, served, its address and a
    read-alliance token sent back; runs until ``stop`` is set."""
    import logging

    from tests.alliance import instances

    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    instance = instances.start(Path(root), name, library)
    _fill(instance, items, offset)
    queue.put((name, library, instance.url, instance.token("read-alliance")))
    stop.wait()
    instances.stop(instance)


def fanout(args) -> dict:
    """Live fan-out to ``args.members`` loopback members (each its own process), against local-only
    search in the same run."""
    import logging
    import multiprocessing

    from alliance.members import Member
    from tests.alliance import instances

    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    spawn = multiprocessing.get_context("spawn")
    with tempfile.TemporaryDirectory() as tmp:
        queue, stop = spawn.Queue(), spawn.Event()
        members = [spawn.Process(target=_member_process, args=(tmp, f"member{n}", f"成员馆{n}", args.items, n, queue, stop),
                                 daemon=True) for n in range(1, args.members + 1)]
        for process in members:
            process.start()
        portal = instances.start(Path(tmp), "portal", "总馆")
        try:
            _fill(portal, args.items, 0)
            for _ in members:
                name, library, url, token = queue.get(timeout=600)
                portal.fangzhi.members.add(Member(name, f"{url}/oai", token=token, label_zh=library))
            local, alliance, member_seconds = [], [], []
            for r in range(args.rounds):
                q = urllib.parse.quote(WORDS[r % len(WORDS)])
                took, _ = timed_get(f"{portal.url}/api/search?q={q}")
                local.append(took)
                took, data = timed_get(f"{portal.url}/api/search?scope=alliance&q={q}")
                assert all(m["status"] == "ok" for m in data["members"]), data["members"]
                alliance.append(took)
                member_seconds.append(max(m["seconds"] for m in data["members"]))
        finally:
            stop.set()
            instances.stop(portal)
            for process in members:
                process.join(10)
    (lp50, lp95), (ap50, ap95) = percentiles(local), percentiles(alliance)
    slowest = statistics.median(member_seconds) * 1000
    print(f"local-only search:  p50 {lp50:.1f} ms, p95 {lp95:.1f} ms (baseline; {args.items} records in each "
          f"instance, {args.rounds} searches)")
    print(f"alliance fan-out to {args.members} members: p50 {ap50:.1f} ms = {ap50 / lp50:.2f}x, "
          f"p95 {ap95:.1f} ms = {ap95 / lp95:.2f}x local (slowest member's answer, median: {slowest:.1f} ms)")
    return {"local_p50": lp50, "local_p95": lp95, "alliance_p50": ap50, "alliance_p95": ap95}


PARTS = {"fanout": fanout}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--part", choices=[*PARTS, "all"], default="all")
    parser.add_argument("--members", type=int, default=3)
    parser.add_argument("--items", type=int, default=200, help="records in each instance (fanout)")
    parser.add_argument("--rounds", type=int, default=100)
    args = parser.parse_args()
    for name, part in PARTS.items():
        if args.part in (name, "all"):
            print(f"== {name}")
            part(args)


if __name__ == "__main__":
    main()
