"""Search: the /search page, GET /api/search and GET /api/suggest. Thin: parse, call, render."""
from __future__ import annotations

from flask import Blueprint, render_template, request, url_for
from flask_babel import lazy_gettext as _l

from repository.errors import ValidationError
from search.service import FACETS, SORTS
from search.query import QueryError, date_range

from .api import paging
from .context import archive, current_user, search

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
        return search().search(request.args.get("q", ""), user=current_user(), filters=filters, years=years,
                               sort=request.args.get("sort"), page=page, per_page=per_page, facets=facets)
    except QueryError as exc:
        raise ValidationError([("q", str(exc))]) from None


@bp.get("/search")
def page():
    results = _run() if request.args else None
    collections = {c.id: c.title for c in archive().list_collections(user=current_user())}
    return render_template("search.html", results=results, sorts=SORTS, facet_names=FACET_LABELS,
                           collections=collections)


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
    more = results.page < results.pages
    return {
        "query": results.query, "total": results.total, "page": results.page, "per_page": results.per_page,
        "sort": results.sort, "filters": results.filters,
        "next": url_for("search.api", **{**args, "page": results.page + 1}, _external=True) if more else None,
        "hits": [{
            "id": h.item_id, "score": round(h.score, 4), "title": h.title, "kind": h.kind, "date": h.date,
            "thumbnail": url_for("public.file", item_id=h.item_id, file_id=h.thumbnail, _external=True)
            if h.thumbnail else None,
            "highlights": {k: str(v) for k, v in h.highlights.items()},
            "passages": [{**p, "snippet": str(p["snippet"]), "url": passage_url(h.item_id, p, external=True)} for p in h.passages],
            "links": {"html": url_for("public.item", item_id=h.item_id, _external=True),
                      "self": url_for("api.item", item_id=h.item_id, _external=True)},
        } for h in results.hits],
        "facets": {name: [{"value": v, "count": c} for v, c in values] for name, values in results.facets.items()},
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
