"""The item page's researcher tools: citations (GB/T 7714-2015, Chicago; BibTeX and RIS downloads),
the permalink, downloads the rights and access allow, the IIIF manifest with its drag-and-drop
link, share links. Thin: the formats are repository.citation's."""
from __future__ import annotations

from datetime import datetime, timezone
from urllib.parse import quote

from flask import Blueprint, Response, url_for

from repository import citation

from .context import archive, current_user

bp = Blueprint("researcher", __name__)
# Rights under which reuse needs the rights-holder's leave: downloads are for private study only.
IN_COPYRIGHT = ("http://rightsstatements.org/vocab/InC/", "http://rightsstatements.org/vocab/InC-RUU/",
                "http://rightsstatements.org/vocab/InC-OW-EU/")


def permalink(item_id: str) -> str:
    return url_for("public.item", item_id=item_id, _external=True)


def today():
    return datetime.now(timezone.utc).date()


@bp.app_template_global()
def citations(item) -> dict:
    """The item's citation texts for the page's box."""
    url = permalink(item.id)
    return {"gbt": citation.gbt7714(item, url, today()), "chicago": citation.chicago(item, url)}


@bp.app_template_global()
def downloads(item, files) -> dict:
    """What the page offers to download: the originals and text the user may see, and whether the
    rights statement limits their use to private study."""
    offered = [f for f in files if f.role == "original" or f.purpose in ("text", "access")]
    return {"files": offered, "study_only": bool(item.rights and item.rights.startswith(IN_COPYRIGHT))}


def _export(item_id: str, text: str, ext: str, media_type: str) -> Response:
    response = Response(text, content_type=f"{media_type}; charset=utf-8")
    response.headers["Content-Disposition"] = f"attachment; filename*=UTF-8''{quote(item_id)}.{ext}"
    return response


@bp.get("/items/<item_id>/cite.bib")
def bibtex(item_id):
    item = archive().get_item(item_id, user=current_user()).value
    return _export(item_id, citation.bibtex(item, permalink(item_id), today()), "bib", "application/x-bibtex")


@bp.get("/items/<item_id>/cite.ris")
def ris(item_id):
    item = archive().get_item(item_id, user=current_user()).value
    return _export(item_id, citation.ris(item, permalink(item_id), today()), "ris",
                   "application/x-research-info-systems")
