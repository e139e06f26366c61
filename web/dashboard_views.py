"""The staff dashboard's figures (fangzhi.figures) for monitoring: ``/metrics.json`` and
``/metrics`` (Prometheus text format). Both need a staff session or an API token with the
``read-staff`` scope (``Authorization: Bearer …``, as a Prometheus scrape job's ``authorization``
sends it); anyone else gets 401 (anonymous) or 403, with no figure. Counts follow the access policy
for the one asking. The page itself is ``/admin`` (web/admin.py, template admin/dashboard.html)."""
from __future__ import annotations

from flask import Blueprint, Response, abort
from flask_babel import lazy_gettext as _l

from fangzhi.figures import figures, prometheus
from repository.access import is_staff
from repository.vocab import kind_label

from .context import current_user, fangzhi

bp = Blueprint("dashboard", __name__)


def _staff():
    user = current_user()
    if user.is_anonymous:
        abort(Response("authentication required: a staff session or an API token with the read-staff scope\n", 401,
                       {"WWW-Authenticate": 'Bearer realm="fangzhi"', "Content-Type": "text/plain; charset=utf-8"}))
    if not is_staff(user):
        abort(403)
    return user


@bp.get("/metrics.json")
def figures_json():
    return figures(fangzhi(), _staff())


@bp.get("/metrics")
def metrics():
    from prometheus_client import CONTENT_TYPE_LATEST

    return Response(prometheus(figures(fangzhi(), _staff())), mimetype=None,
                    headers={"Content-Type": CONTENT_TYPE_LATEST, "Cache-Control": "no-store"})


ROLE_LABELS = {"original": _l("原件"), "derivative": _l("衍生文件"), "supplement": _l("附件")}
STATE_LABELS = {"done": _l("完成"), "failed": _l("失败"), "duplicate": _l("重复"), "pending": _l("未完成")}
TOP = 15  # bars in the collection and format charts (the tables list all)


def charts(found: dict, lang: str) -> dict:
    """Each chart of the dashboard page as (title, kind, categories, series): what its script draws
    and, the same numbers, what its table shows."""
    items, fixity = found["items"], found["fixity"]
    decade = (lambda d: f"{d}s") if lang == "en" else (lambda d: f"{d}年代")
    in_cycle = fixity["in_cycle"]
    return {
        "kinds": {"title": str(_l("藏品类型")), "type": "bar", "categories": [kind_label(k["kind"], lang) for k in items["kinds"]],
                  "series": [{"name": str(_l("藏品")), "data": [k["items"] for k in items["kinds"]]}]},
        "decades": {"title": str(_l("年代")), "type": "bar", "categories": [decade(d["decade"]) for d in items["decades"]],
                    "series": [{"name": str(_l("藏品")), "data": [d["items"] for d in items["decades"]]}]},
        "collections": {"title": str(_l("专题馆藏")), "type": "hbar",
                        "categories": [c["title"] for c in items["collections"][:TOP]],
                        "series": [{"name": str(_l("藏品")), "data": [c["items"] for c in items["collections"][:TOP]]}]},
        "ingest": {"title": str(_l("每日入藏（近 30 天）")), "type": "stack",
                   "categories": [d["day"][5:] for d in found["ingest"]["days"]],
                   "series": [{"name": str(STATE_LABELS[s]), "data": [d[s] for d in found["ingest"]["days"]]}
                              for s in ("done", "failed", "duplicate")]},
        "storage": {"title": str(_l("存储用量")), "type": "pie",
                    "categories": [str(ROLE_LABELS.get(r, r)) for r in found["storage"]],
                    "series": [{"name": str(_l("字节")), "data": [v["bytes"] for v in found["storage"].values()]}]},
        "formats": {"title": str(_l("原件格式（PRONOM）")), "type": "hbar",
                    "categories": [f["puid"] or str(_l("未识别")) for f in found["formats"][:TOP]],
                    "series": [{"name": str(_l("原件")), "data": [f["files"] for f in found["formats"][:TOP]]}]},
        "fixity": {"title": str(_l("固定性检查周期")), "type": "pie",
                   "categories": [str(_l("本周期内已检查")), str(_l("超过周期未检查")), str(_l("从未检查"))],
                   "series": [{"name": str(_l("对象")), "data": [
                       in_cycle, fixity["objects"] - in_cycle - fixity["never"], fixity["never"]]}]},
    }
