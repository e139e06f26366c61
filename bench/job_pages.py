"""Request time of the staff ingest pages, against /healthz measured in the same run.

    python bench/job_pages.py [--jobs 20] [--entries 50] [--rounds 200]

Makes a data folder with ``--jobs`` ingest jobs of ``--entries`` entries each (planned, not run),
signs in as an administrator and times GET /admin/jobs, GET /admin/jobs/<id> and GET /admin/ingest
through the WSGI app (no network), each ``--rounds`` times. Prints the median of each in ms and as a
multiple of the median of /healthz (the cost of any request), so runs on noisy machines compare.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
PASSWORD = "bench password 1"


def median_ms(client, url: str, rounds: int) -> float:
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        response = client.get(url)
        times.append(time.perf_counter() - start)
        assert response.status_code == 200, (url, response.status_code)
    return statistics.median(times) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=20)
    parser.add_argument("--entries", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=200)
    args = parser.parse_args()

    from ingest.jobs import Entry
    from repository.access import SYSTEM
    from web import create_app

    with tempfile.TemporaryDirectory() as tmp:
        app = create_app({"DATA_DIR": tmp, "SECRET_KEY": "bench", "LOGIN_RATE_LIMIT": "1000 per minute"})
        services = app.extensions["fangzhi"].archive
        accounts = getattr(services, "accounts", None) or app.extensions["fangzhi"].accounts
        accounts.add_user("admin", PASSWORD, ["admin"], by=SYSTEM)
        jobs = app.extensions["fangzhi"].jobs  # the app's own job store
        job_ids = [jobs.create(f"bench job {j}", [Entry("", n, f"条目 {n}", f"bench-{j}-{n}", [], [], {})
                                                  for n in range(args.entries)], user="bench") for j in range(args.jobs)]
        client = app.test_client()
        page = client.get("/login").get_data(as_text=True)
        token = page.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
        client.post("/login", data={"username": "admin", "password": PASSWORD, "csrf_token": token})
        base = median_ms(client, "/healthz", args.rounds)
        print(f"/healthz: {base:.2f} ms (baseline)")
        for url in ("/admin/jobs", f"/admin/jobs/{job_ids[0]}", "/admin/ingest"):
            ms = median_ms(client, url, args.rounds)
            print(f"{url.replace(job_ids[0], '<id>')}: {ms:.2f} ms = {ms / base:.1f}x /healthz")


if __name__ == "__main__":
    main()
