"""Search: the /search page, GET /api/search and GET /api/suggest. Thin: parse, call, render."""
from __future__ import annotations

from flask import Blueprint, render_template, request, url_for
from flask_babel import lazy_gettext as _l

from repository.errors import ValidationError
from search.service import FACETS, SORTS
from search.query import QueryError, date_range

from .api import paging
from .context import archive, current_user, fangzhi, search
from .suggestions import suggestions

bp = Blueprint("search", __name__)
MAX_QUERY = 500


def _run():
    """The request's search: q, facet filters (repeatable), date, sort, page, per_page."""
    page, per_page = paging()
    if len(request.args.get("q", "")) > MAX_QUERY:
        raise ValidationError([("q", f"is longer than {MAX_QUERY} characters")])
    years = None
    if request.args.get("date"):
        years = date_range(request.args["date"])
        if years is None:
            raise ValidationError([("date", "is not a year, a range (1930..1939), an EDTF date or a reign title")])
    filters = {name: request.args.getlist(name) for name in FACETS if request.args.getlist(name)}
    facets = request.args["facets"].split(",") if "facets" in request.args else None
    try:
        if alliance_scope():  # this archive and every member library, live (alliance.federated)
            return fangzhi().federation.search(request.args.get("q", ""), user=current_user(), filters=filters,
                                               years=years, sort=request.args.get("sort"), page=page,
                                               per_page=per_page)
        results = search().search(request.args.get("q", ""), user=current_user(), filters=filters, years=years,
                                  sort=request.args.get("sort"), page=page, per_page=per_page, facets=facets)
        if results.total == 0 and page == 1 and request.args.get("q", "").strip():  # for the dashboard: text only
            fangzhi().queries.record(request.args["q"])
        return results
    except QueryError as exc:
        raise ValidationError([("q", str(exc))]) from None


@bp.app_template_global()
def alliance_scope() -> bool:
    """Whether the request searches the whole alliance (scope=alliance) rather than this archive."""
    scope = request.args.get("scope", "")
    if scope not in ("", "local", "alliance"):
        raise ValidationError([("scope", "is local (this archive) or alliance (every member library too)")])
    return scope == "alliance"


@bp.get("/search")
def page():
    results = _run() if request.args else None
    collections = {c.id: c.title for c in archive().list_collections(user=current_user())}
    hints = suggestions(request.args.get("q", "")) if results is None or not results.total else None
    return render_template("search.html", results=results, sorts=SORTS, facet_names=FACET_LABELS,
                           collections=collections, suggestions=hints)


# facet → its heading (Chinese source; translated by the catalogue)
FACET_LABELS = {"kind": _l("类型"), "collection": _l("专题馆藏"), "decade": _l("年代"), "era": _l("朝代与年号"),
                "place": _l("地点"), "person": _l("人物"), "interviewee": _l("受访人"), "subject": _l("主题"), "language": _l("语言"),
                "library": _l("收藏馆"), "rights": _l("权利"), "format": _l("文件格式（馆员）")}


@bp.app_template_global()
def search_url(**changes) -> str:
    """This search's URL with ``changes`` (a facet value given as name=value toggles it; page resets)."""
    args = request.args.to_dict(flat=False)
    args.pop("page", None)
    for name, value in changes.items():
        if name in FACETS:
            values = args.get(name, [])
            args[name] = [v for v in values if v != value] if value in values else [*values, value]
        else:
            args[name] = [value]
    return url_for("search.page", **args)


@bp.get("/api/search")
def api():
    results = _run()
    args = request.args.to_dict(flat=False)
    if alliance_scope():
        return alliance_json(results, args)
    more = results.page < results.pages
    return {
        "query": results.query, "total": results.total, "page": results.page, "per_page": results.per_page,
        "sort": results.sort, "filters": results.filters,
        "next": url_for("search.api", **{**args, "page": results.page + 1}, _external=True) if more else None,
        "hits": [_remote_hit(h) if h.remote else _hit_json(h) for h in results.hits],
        "facets": {name: [{"value": v, "count": c} for v, c in values] for name, values in results.facets.items()},
    }


def _remote_hit(h) -> dict:
    """A work of the union catalogue: held by the alliance members in ``holdings``."""
    first = h.holdings[0]
    return {"id": h.item_id, "score": round(h.score, 4), "title": h.title, "kind": h.kind, "date": h.date,
            "thumbnail": first.get("thumbnail"), "highlights": {k: str(v) for k, v in h.highlights.items()},
            "passages": [], "remote": True, "holdings": h.holdings,
            "links": {k: v for k, v in (("html", first.get("link")), ("iiif_manifest", first.get("manifest"))) if v}}


def _hit_json(h) -> dict:
    return {
        "id": h.item_id, "score": round(h.score, 4), "title": h.title, "kind": h.kind, "date": h.date,
        "thumbnail": url_for("public.file", item_id=h.item_id, file_id=h.thumbnail, _external=True)
        if h.thumbnail else None,
        "highlights": {k: str(v) for k, v in h.highlights.items()},
        "passages": [{**p, "snippet": str(p["snippet"]), "url": passage_url(h.item_id, p, external=True)} for p in h.passages],
        "links": {"html": url_for("public.item", item_id=h.item_id, _external=True),
                  "self": url_for("api.item", item_id=h.item_id, _external=True)},
    }


def alliance_json(results, args) -> dict:
    """scope=alliance: the fused hits (each with the library holding it and the sources that found
    it), merged facets, and how each member answered."""
    more = results.page < results.pages

    def entry(e) -> dict:
        if e.remote is not None:
            r = e.remote
            hit = {"id": r.id, "member": r.member, "title": r.title, "kind": r.kind, "date": r.date,
                   "thumbnail": r.thumbnail, "highlights": {k: str(v) for k, v in r.highlights.items()},
                   "passages": [{"snippet": str(p["snippet"]), "url": p["url"]} for p in r.passages],
                   "links": {"html": r.url}}
        elif e.local.remote:  # a record harvested from members (the union catalogue)
            hit = {**_remote_hit(e.local), "member": e.local.holdings[0].get("member")}
        else:
            hit = {**_hit_json(e.local), "member": None}
        return {**hit, "score": round(e.score, 6), "sources": [s or "local" for s in e.sources]}

    return {
        "scope": "alliance", "query": results.query, "total": results.total, "page": results.page,
        "per_page": results.per_page, "sort": results.sort, "filters": results.filters,
        "next": url_for("search.api", **{**args, "page": results.page + 1}, _external=True) if more else None,
        "hits": [entry(e) for e in results.hits],
        "facets": {name: [{"value": v, "count": c} for v, c in values] for name, values in results.facets.items()},
        "local": {"seconds": results.local_seconds},
        "members": [{"name": a.member, "label": {"zh": a.label_zh, "en": a.label_en}, "status": a.status,
                     "seconds": a.seconds, "total": a.total, "reason": a.reason or None, "skipped": a.skipped}
                    for a in results.answers],
    }


@bp.get("/api/suggest")
def suggest():
    return {"q": request.args.get("q", ""),
            "suggestions": search().suggest(request.args.get("q", "")[:50], user=current_user())}


@bp.app_template_global()
def passage_url(item_id: str, p: dict, *, external: bool = False) -> str:
    """The item page at the passage's page (#p3) or moment (?t=seconds)."""
    if p.get("time") is not None:
        return url_for("public.item", item_id=item_id, t=int(p["time"]), _external=external)
    return url_for("public.item", item_id=item_id, _external=external) + (f"#p{p['page']}" if p.get("page") else "")
