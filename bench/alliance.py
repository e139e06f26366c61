"""The alliance: harvesting a loopback member, against parsing the same XML with lxml alone; and
live fan-out search to loopback members, against a local-only search in the same run.

    python bench/alliance.py [--part harvest|fanout|all] [--records 10000] [--page 100]
                             [--members 3] [--items 200] [--rounds 100]

harvest: a loopback OAI-PMH provider (werkzeug, on 127.0.0.1) serves ``--records`` oai_dc records
(Chinese titles, creators, subjects) in pages of ``--page`` with resumption tokens; ``fangzhi
alliance harvest``'s Harvester reads them into a fresh data folder (fetch, safe parse, raw records
into storage) and builds the union catalogue (grouping and indexing). Prints records/s of the
harvest, of the union refresh, and the ratio of the harvest to parsing the same pages with lxml
alone (etree.fromstring and a walk over the records) in the same run.

fanout: a portal and ``--members`` member Fangzhi instances on loopback (own data folders, ports
and processes, werkzeug's threaded server), each holding ``--items`` records; times ``--rounds``
searches GET /api/search?scope=alliance (every member asked live, in parallel, merged by
reciprocal-rank fusion) and the same searches local-only (GET /api/search) over HTTP to the
portal, and prints p50/p95 of each in ms and the alliance search as a multiple of the local one.

Each part is a function (``harvest``, ``fanout``), and ``main`` runs those asked for.
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request
from pathlib import Path
from urllib.parse import parse_qsl

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

HEAD = ('<?xml version="1.0" encoding="UTF-8"?>\n<OAI-PMH xmlns="http://www.openarchives.org/OAI/2.0/">'
        '<responseDate>2026-01-01T00:00:00Z</responseDate><request>http://127.0.0.1/oai</request>')
IDENTIFY = (HEAD + '<Identify><repositoryName>bench</repositoryName><baseURL>http://127.0.0.1/oai</baseURL>'
            '<protocolVersion>2.0</protocolVersion><adminEmail>a@example.org</adminEmail><earliestDatestamp>'
            '2000-01-01T00:00:00Z</earliestDatestamp><deletedRecord>persistent</deletedRecord><granularity>'
            'YYYY-MM-DDThh:mm:ssZ</granularity></Identify></OAI-PMH>').encode()
PLACES = ["无锡", "惠山", "梁溪", "荡口", "清名桥", "南长街"]
WORDS = ["运河", "惠山", "码头", "家谱", "茶馆", "古镇", "丝绸", "桥梁", "庙会", "书院"]


def record(n: int) -> str:
    place = PLACES[n % len(PLACES)]
    return (f'<record><header><identifier>oai:bench:{n}</identifier><datestamp>2026-01-01T00:00:00Z</datestamp>'
            f'</header><metadata><oai_dc:dc xmlns:oai_dc="http://www.openarchives.org/OAI/2.0/oai_dc/" '
            f'xmlns:dc="http://purl.org/dc/elements/1.1/"><dc:title>{place}老照片 第{n}号</dc:title>'
            f'<dc:creator>摄影者{n % 97}</dc:creator><dc:subject>{place}</dc:subject><dc:subject>街景</dc:subject>'
            f'<dc:description>{place}一带的旧影，民国年间摄，记录了街巷、桥梁与店铺。</dc:description>'
            f'<dc:date>{1900 + n % 100}</dc:date><dc:type>photo</dc:type><dc:identifier>BENCH-{n:06d}</dc:identifier>'
            f'<dc:identifier>http://127.0.0.1/items/b{n}</dc:identifier>'
            f'<dc:relation>http://127.0.0.1/iiif/3/manifest/b{n}</dc:relation><dc:language>zh</dc:language>'
            f'</oai_dc:dc></metadata></record>')


def pages(records: int, size: int) -> list[bytes]:
    out = []
    for start in range(0, records, size):
        token = f"<resumptionToken>p{start + size}</resumptionToken>" if start + size < records else ""
        body = "".join(record(n) for n in range(start, min(records, start + size)))
        out.append((HEAD + f"<ListRecords>{body}{token}</ListRecords></OAI-PMH>").encode())
    return out


def provider(answers: list[bytes], size: int):
    def app(environ, start_response):
        params = dict(parse_qsl(environ.get("QUERY_STRING", "")))
        if params.get("verb") == "Identify":
            body = IDENTIFY
        elif params.get("verb") == "ListMetadataFormats":
            body = (HEAD + "<ListMetadataFormats><metadataFormat><metadataPrefix>oai_dc</metadataPrefix><schema>"
                    "http://www.openarchives.org/OAI/2.0/oai_dc.xsd</schema><metadataNamespace>"
                    "http://www.openarchives.org/OAI/2.0/oai_dc/</metadataNamespace></metadataFormat>"
                    "</ListMetadataFormats></OAI-PMH>").encode()
        else:
            body = answers[int(params.get("resumptionToken", "p0")[1:]) // size]
        start_response("200 OK", [("Content-Type", "text/xml; charset=utf-8"), ("Content-Length", str(len(body)))])
        return [body]
    return app


def lxml_alone(answers: list[bytes]) -> float:
    """Seconds to parse every page with lxml and walk its records (the floor a harvester can reach)."""
    from lxml import etree

    start = time.perf_counter()
    count = 0
    for body in answers:
        root = etree.fromstring(body)
        count += sum(1 for _ in root.iter("{http://www.openarchives.org/OAI/2.0/}record"))
    assert count == sum(b.count(b"<record>") for b in answers)
    return time.perf_counter() - start


def harvest(records: int = 10_000, size: int = 100) -> dict:
    """Harvest ``records`` from a loopback provider into a fresh data folder; prints and returns figures."""
    from werkzeug.serving import make_server

    from alliance.members import Member
    from fangzhi.bootstrap import build
    from fangzhi.settings import load
    from repository.access import ANONYMOUS

    answers = pages(records, size)
    server = make_server("127.0.0.1", 0, provider(answers, size), threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            fz = build(load({"DATA_DIR": tmp}, environ={}))
            fz.members.add(Member("bench", f"http://127.0.0.1:{server.server_port}/cgi/oai2", label_zh="测试馆"))
            member = fz.members.get("bench")
            start = time.perf_counter()
            outcome = fz.harvester.harvest_member(member)
            harvested = time.perf_counter() - start
            assert outcome.ok and outcome.records == records, outcome
            start = time.perf_counter()
            documents = fz.harvester.union.refresh()
            indexed = time.perf_counter() - start
            found = fz.search.search("惠山", user=ANONYMOUS).total
    finally:
        server.shutdown()
    parsed = lxml_alone(answers)
    megabytes = sum(map(len, answers)) / 1e6
    figures = {"records": records, "megabytes": round(megabytes, 1), "harvest_s": harvested,
               "harvest_per_s": records / harvested, "lxml_s": parsed, "lxml_per_s": records / parsed,
               "ratio": harvested / parsed, "union_s": indexed, "union_per_s": documents / indexed, "found": found}
    print(f"harvest: {records} records ({megabytes:.1f} MB in {len(answers)} pages) in {harvested:.2f} s = "
          f"{figures['harvest_per_s']:.0f} records/s")
    print(f"lxml alone, same XML: {parsed:.3f} s = {figures['lxml_per_s']:.0f} records/s; "
          f"harvest / lxml = {figures['ratio']:.1f}×")
    print(f"union catalogue: {documents} documents grouped and indexed in {indexed:.2f} s = "
          f"{figures['union_per_s']:.0f} /s ({found} found for 惠山)")
    return figures


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--part", choices=["harvest", "fanout", "all"], default="all")
    parser.add_argument("--records", type=int, default=10_000, help="records harvested (harvest)")
    parser.add_argument("--page", type=int, default=100, help="records per OAI-PMH page (harvest)")
    parser.add_argument("--members", type=int, default=3, help="member instances (fanout)")
    parser.add_argument("--items", type=int, default=200, help="records in each instance (fanout)")
    parser.add_argument("--rounds", type=int, default=100, help="searches timed (fanout)")
    args = parser.parse_args()
    if args.part in ("harvest", "all"):
        print("== harvest")
        harvest(args.records, args.page)
    if args.part in ("fanout", "all"):
        print("== fanout")
        fanout(args)


if __name__ == "__main__":
    main()
