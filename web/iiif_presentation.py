"""IIIF Presentation 3.0, Content Search 2.0 (and 1.0 for Mirador), Change Discovery 1.0, and the
viewer's assets. Thin views: parse, call iiif/, answer JSON with CORS."""
from __future__ import annotations

import json
from pathlib import Path

from urllib.parse import urlsplit

from flask import Blueprint, abort, current_app, make_response, render_template, request, send_from_directory, url_for

from iiif import canvases, content_search, discovery, presentation
from repository.errors import ValidationError

from .context import archive, current_user, fangzhi, members
from .csp import VIEWER_CSP
from .vendor import node_modules

bp = Blueprint("iiif_presentation", __name__)
PRESENTATION = 'application/ld+json;profile="http://iiif.io/api/presentation/3/context.json"'
MIRADOR_FILES = ("mirador.min.js", "mirador.min.js.map")


def settings() -> dict:
    return current_app.config["FANGZHI"]


def links() -> canvases.Links:
    return canvases.Links(
        base=request.url_root.rstrip("/"),
        file=lambda item_id, file_id: url_for("public.file", item_id=item_id, file_id=file_id, _external=True),
        record=lambda item_id: url_for("api.item", item_id=item_id, _external=True),
        page=lambda item_id: url_for("public.item", item_id=item_id, _external=True),
        collection_page=lambda cid: url_for("public.collection", collection_id=cid, _external=True),
        transcript=lambda item_id, lang: url_for("public.interview_vtt", item_id=item_id, lang=lang, _external=True))


def publisher() -> presentation.Publisher:
    s = settings()
    name = {"zh": s["IIIF_PROVIDER"], **({"en": s["IIIF_PROVIDER_EN"]} if s["IIIF_PROVIDER_EN"] else {})}
    return presentation.Publisher(name, s["IIIF_PROVIDER_URL"] or request.url_root)


def answer(body: dict, content_type: str = "application/json"):
    """IIIF JSON: JSON-LD with its profile when asked for (Presentation 3.0 §6), CORS for every client."""
    ld = content_type != "application/json" and "application/ld+json" in request.headers.get("Accept", "")
    # Keys in order: "@context" first (JSON-LD; Presentation 3.0 §4.6, Discovery 1.0 §3.4.1).
    response = current_app.response_class(json.dumps(body, ensure_ascii=False),
                                          content_type=content_type if ld else "application/json")
    return response


@bp.after_request
def cors(response):
    """Every IIIF answer, errors too, may be read by any site's viewer. Never with credentials:
    from another site a browser sends no cookies, so it gets what anonymous readers see."""
    response.headers["Access-Control-Allow-Origin"] = "*"
    return response


@bp.get("/iiif/3/manifest/<item_id>")
def manifest(item_id):
    item = archive().get_item(item_id, user=current_user()).value
    return answer(presentation.manifest(archive(), item, links(), publisher(), user=current_user()), PRESENTATION)


@bp.get("/iiif/3/collection/top")
def top_collection():
    return answer(presentation.top_collection(archive(), links(), publisher(), user=current_user()), PRESENTATION)


@bp.get("/iiif/3/collection/alliance")
def alliance_collection():
    """The alliance members' public manifests, read from their Change Discovery streams at each
    harvest (alliance.discovery): one Collection a viewer opens (Mirador's catalogue)."""
    members = [(m.label_zh if not m.label_en else {"zh": m.label_zh, "en": m.label_en}, m.api_url, manifests)
               for m, manifests in fangzhi().harvester.discovery.collection_members()]
    label = {"zh": f"{publisher().name['zh']}联盟馆藏", "en": "Alliance collections"}
    return answer(presentation.alliance_collection(url_for("iiif_presentation.alliance_collection", _external=True),
                                                   label, members, publisher()), PRESENTATION)


@bp.get("/iiif/3/collection/<collection_id>")
def collection(collection_id):
    col = archive().get_collection(collection_id, user=current_user()).value
    return answer(presentation.collection(archive(), col, links(), publisher(), user=current_user()), PRESENTATION)


def _query() -> tuple[str, int, list[str]]:
    try:
        page = int(request.args.get("page", 1))
    except ValueError:
        raise ValidationError([("page", "must be a whole number")]) from None
    if page < 1:
        raise ValidationError([("page", "must be 1 or more")])
    return request.args.get("q", "").strip(), page, content_search.ignored(request.args)


def _hits(item_id: str, query: str):
    item = archive().get_item(item_id, user=current_user()).value
    return content_search.find(query, content_search.segments(archive(), item, links(), user=current_user()))


@bp.get("/iiif/3/search/<item_id>")
def search(item_id):
    """Content Search 2.0 §4: ?q= (and page=); motivation, date and user are ignored."""
    query, page, ignored = _query()
    hits = _hits(item_id, query)
    return answer(content_search.search_page(hits, service=links().search(item_id), query=query, page=page,
                                             size=settings()["IIIF_SEARCH_PAGE_SIZE"], ignore=ignored))


def _terms(item_id: str) -> list[tuple[str, int]]:
    try:
        least = max(1, int(request.args.get("min", 1)))
    except ValueError:
        raise ValidationError([("min", "must be a whole number")]) from None
    item = archive().get_item(item_id, user=current_user()).value
    segments = content_search.segments(archive(), item, links(), user=current_user())
    return content_search.complete(request.args.get("q", ""), segments, least=least)


@bp.get("/iiif/3/autocomplete/<item_id>")
def autocomplete(item_id):
    """Content Search 2.0 §5: terms beginning with ?q=, most frequent first (min= supported)."""
    return answer(content_search.term_page(_terms(item_id), service=links().autocomplete(item_id),
                                           query=request.args.get("q", ""), ignore=content_search.ignored(request.args)))


@bp.get("/iiif/search/1/<item_id>")
def search1(item_id):
    """The same search in the Content Search 1.0 form, which Mirador 4 reads."""
    query, page, ignored = _query()
    hits = _hits(item_id, query)
    return answer(content_search.search_list1(hits, service=links().search1(item_id), query=query, page=page,
                                              size=settings()["IIIF_SEARCH_PAGE_SIZE"], ignore=ignored))


@bp.get("/iiif/search/1/autocomplete/<item_id>")
def autocomplete1(item_id):
    return answer(content_search.term_list1(_terms(item_id), service=links().autocomplete1(item_id),
                                            search=links().search1(item_id), query=request.args.get("q", ""),
                                            ignore=content_search.ignored(request.args)))


def _activities() -> list[dict]:
    return discovery.activities(archive(), links().manifest)


def _page_url(number: int) -> str:
    return url_for("iiif_presentation.changes_page", number=number, _external=True)


@bp.get("/iiif/discovery/changes")
def changes():
    """Change Discovery 1.0 §2.3: public items only, whoever asks."""
    return answer(discovery.collection(len(_activities()), page_size=settings()["IIIF_DISCOVERY_PAGE_SIZE"],
                                       url=url_for("iiif_presentation.changes", _external=True), page_url=_page_url))


@bp.get("/iiif/discovery/changes/page/<int:number>")
def changes_page(number):
    body = discovery.page(_activities(), number, page_size=settings()["IIIF_DISCOVERY_PAGE_SIZE"],
                          url=url_for("iiif_presentation.changes", _external=True), page_url=_page_url)
    if body is None:
        abort(404, f"the list of changes has no page {number}")
    return answer(body)


def mirador_folder() -> Path:
    """Mirador's prebuilt bundle, installed by `npm ci` from package-lock.json (setting VIEWER_ASSETS)."""
    return node_modules() / "mirador" / "dist"


@bp.get("/viewer/mirador/<name>")
def mirador(name):
    if name not in MIRADOR_FILES:
        abort(404)
    return send_from_directory(mirador_folder(), name, max_age=86400)


def _origin(url: str | None) -> str | None:
    parts = urlsplit(url or "")
    return f"{parts.scheme}://{parts.netloc}".lower() if parts.scheme in ("http", "https") and parts.netloc else None


@bp.get("/viewer")
def viewer():
    """Mirador on a IIIF manifest or collection (``manifest``; default the alliance Collection),
    which must be this site's or a registered member's: the page neither opens nor lets the
    viewer fetch anything from other sites (its CSP connect-src lists exactly those origins)."""
    here = _origin(request.host_url)
    allowed = {here, *filter(None, (_origin(m.api_url or m.oai_url) for m in members().list()))}
    target = request.args.get("manifest") or url_for("iiif_presentation.alliance_collection", _external=True)
    if _origin(target) not in allowed:
        raise ValidationError([("manifest", "must be a IIIF resource of this site or of an alliance member")])
    response = make_response(render_template("viewer.html", manifest=target))
    others = " ".join(sorted(o for o in allowed if o != here))
    response.headers["Content-Security-Policy"] = VIEWER_CSP.replace("default-src 'self'",
                                                                     f"default-src 'self'; connect-src 'self' {others}".rstrip())
    return response
