"""The alliance: harvesting a loopback member, against parsing the same XML with lxml alone.

    python bench/alliance.py [--records 10000] [--page 100]

harvest: a loopback OAI-PMH provider (werkzeug, on 127.0.0.1) serves ``--records`` oai_dc records
(Chinese titles, creators, subjects) in pages of ``--page`` with resumption tokens; ``fangzhi
alliance harvest``'s Harvester reads them into a fresh data folder (fetch, safe parse, raw records
into storage) and builds the union catalogue (grouping and indexing). Prints records/s of the
harvest, of the union refresh, and the ratio of the harvest to parsing the same pages with lxml
alone (etree.fromstring and a walk over the records) in the same run.

Each part is a function (``harvest``; the live fan-out part is ``fanout``), and ``main`` runs them all.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import threading
import time
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=10_000)
    parser.add_argument("--page", type=int, default=100)
    args = parser.parse_args()
    harvest(args.records, args.page)


if __name__ == "__main__":
    main()
