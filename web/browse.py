"""Browsing: /browse and /browse/<facet> (collection, kind, place, person, decade, reign era), each
value with its count from the search's facets under the access filter, linking into search."""
from __future__ import annotations

from flask import Blueprint, abort, render_template, url_for
from flask_babel import lazy_gettext as _l

from .context import archive, current_user, search

bp = Blueprint("browse", __name__)
BROWSE = {"collection": _l("按专题馆藏"), "kind": _l("按类型"), "place": _l("按地点"), "person": _l("按人物"),
          "decade": _l("按年代"), "era": _l("按朝代与年号")}
MOST = 1000  # values a browse page lists at most


def _counts(facets: list[str], size: int) -> tuple[dict[str, list[tuple[str, int]]], int]:
    results = search().search("", user=current_user(), facets=facets, facet_size=size, per_page=1)
    return {name: list(results.facets.get(name) or []) for name in facets}, results.total


@bp.get("/browse")
def index():
    counts, total = _counts(list(BROWSE), 8)
    return render_template("browse/index.html", browse=BROWSE, counts=counts, total=total,
                           collections=_collection_titles())


@bp.get("/browse/<facet>")
def facet(facet):
    if facet not in BROWSE:
        abort(404, description=f"cannot browse by {facet}: one of {', '.join(BROWSE)}")
    counts, total = _counts([facet], MOST)
    values = counts[facet]
    if facet == "decade":  # in time order
        values.sort(key=lambda vc: int(vc[0]) if vc[0].lstrip("-").isdigit() else 0)
    return render_template("browse/facet.html", browse=BROWSE, facet=facet, values=values, total=total,
                           collections=_collection_titles(), most=MOST)


def _collection_titles() -> dict:
    return {c.id: c.title for c in archive().list_collections(user=current_user())}


@bp.app_template_global()
def browse_url(facet: str, value: str) -> str:
    return url_for("search.page", **{facet: value})
