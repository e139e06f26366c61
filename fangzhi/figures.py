"""The staff dashboard's figures (``/admin``, ``/metrics.json``, ``/metrics``), computed
cheaply: item and file counts by SQL over the catalog (``Catalog.figures``) for what the
asking user may see, ingest by day from the job store, fixity from its log, searches that found
nothing from ``search.queries``, open correction proposals from ``corrections``."""
from __future__ import annotations

from datetime import timedelta

from repository import access
from repository.access import User
from storage import fixity

DAYS = 30  # of ingest shown
INGEST_STATES = ("done", "failed", "duplicate", "pending")


def figures(fz, user: User, *, days: int = DAYS) -> dict:
    today = fz.archive.today()
    cat = fz.catalog.figures(user=user, today=today)
    titles = {c.id: c.label() for c in fz.archive.list_collections(user=user)}
    since = today - timedelta(days=days - 1)
    by_day = {(since + timedelta(days=n)).isoformat(): dict.fromkeys(INGEST_STATES, 0) for n in range(days)}
    for day, state, n in fz.jobs.throughput(since.isoformat()):
        if day in by_day:
            by_day[day][state if state in INGEST_STATES else "pending"] += n
    runs = fixity.runs(fz.storage, limit=1)
    last = runs[0] if runs else None
    manage = access.can_manage(user)
    return {
        "items": {"total": cat["items"], "kinds": [{"kind": k, "items": n} for k, n in cat["kinds"]],
                  "decades": [{"decade": d, "items": n} for d, n in cat["decades"]], "undated": cat["undated"],
                  "collections": [{"id": c, "title": titles[c], "items": n} for c, n in cat["collections"]
                                  if c in titles]},
        "storage": {role: {"files": n, "bytes": int(size)} for role, n, size in cat["roles"] if role},
        "formats": [{"puid": puid, "format": name, "files": n, "bytes": int(size)}
                    for puid, name, n, size in cat["formats"]],
        "ingest": {"days": [{"day": day, **counts} for day, counts in by_day.items()],
                   "entries": fz.jobs.state_counts()},
        "fixity": {**fixity.coverage(fz.storage, fz.catalog.object_ids(), cycle_days=fz.settings["FIXITY_CYCLE_DAYS"]),
                   "last_run": None if last is None else {
                       k: last.get(k) for k in ("started", "finished", "objects", "checked", "passed", "failed",
                                                "missing")},
                   # which objects failed names them: for those who manage the archive only
                   "problems": (last or {}).get("problems", [])[:100] if manage else None},
        "zero_results": {"queries": [{"query": q, "count": n, "last": at} for q, n, at in fz.queries.top(20)],
                         "distinct": fz.queries.total()[0], "searches": fz.queries.total()[1]},
        "corrections": {"proposed": fz.corrections.store.count()},
    }


def prometheus(found: dict) -> bytes:
    """The figures in the Prometheus text exposition format, by the prometheus_client library."""
    from prometheus_client import CollectorRegistry, generate_latest
    from prometheus_client.core import GaugeMetricFamily

    class Figures:
        def collect(self):
            g = GaugeMetricFamily("fangzhi_items", "Items the scraping token may see, by kind", labels=["kind"])
            for k in found["items"]["kinds"]:
                g.add_metric([k["kind"]], k["items"])
            yield g
            files = GaugeMetricFamily("fangzhi_files", "Stored files, by role", labels=["role"])
            size = GaugeMetricFamily("fangzhi_file_bytes", "Bytes of stored files, by role", labels=["role"])
            for role, v in sorted(found["storage"].items()):
                files.add_metric([role], v["files"])
                size.add_metric([role], v["bytes"])
            yield files
            yield size
            fmt = GaugeMetricFamily("fangzhi_originals_by_format", "Originals by PRONOM PUID", labels=["puid"])
            for f in found["formats"]:
                fmt.add_metric([f["puid"] or "unidentified"], f["files"])
            yield fmt
            ingest = GaugeMetricFamily("fangzhi_ingest_entries", "Ingest job entries, by state", labels=["state"])
            for state, n in sorted(found["ingest"]["entries"].items()):
                ingest.add_metric([state], n)
            yield ingest
            fx = found["fixity"]
            yield GaugeMetricFamily("fangzhi_fixity_objects", "Objects in storage", value=fx["objects"])
            yield GaugeMetricFamily("fangzhi_fixity_objects_in_cycle", "Objects checked within the fixity cycle",
                                    value=fx["in_cycle"])
            yield GaugeMetricFamily("fangzhi_fixity_objects_never_checked", "Objects never checked",
                                    value=fx["never"])
            run = GaugeMetricFamily("fangzhi_fixity_last_run_files", "Files in the last fixity run, by result",
                                    labels=["result"])
            for result in ("checked", "passed", "failed", "missing"):
                run.add_metric([result], (fx["last_run"] or {}).get(result) or 0)
            yield run
            yield GaugeMetricFamily("fangzhi_zero_result_queries", "Distinct searches kept that found nothing",
                                    value=found["zero_results"]["distinct"])
            yield GaugeMetricFamily("fangzhi_correction_proposals", "Correction proposals awaiting review",
                                    value=found["corrections"]["proposed"])

    registry = CollectorRegistry(auto_describe=False)
    registry.register(Figures())
    return generate_latest(registry)
