"""The public site: home, collections, item pages and file delivery. Views stay thin."""
from __future__ import annotations

from urllib.parse import quote

from flask import (Blueprint, Response, abort, make_response, redirect, render_template, request, send_file,
                   stream_with_context, url_for)

from iiif import canvases
from oral_history import player
from oral_history.ohms import write_ohms
from oral_history.webvtt import export_webvtt
from repository.access import is_staff
from repository.errors import NotFound
from repository import calendar
from repository.model import best, edtf_years
from repository.vocab import (event_label, kind_label, language_label, outcome_label, rights_label, state_label,
                              visibility_label)
from search.analysis import fold

from .api import paging
from .auth import safe_next
from .context import archive, current_user, unfinished_ingest
from .csp import VIEWER_CSP
from .display import LOCALES

bp = Blueprint("public", __name__)


bp.add_app_template_global(rights_label, "rights")
bp.add_app_template_global(kind_label)
bp.add_app_template_global(visibility_label)
bp.add_app_template_global(state_label)
bp.add_app_template_global(language_label)
bp.add_app_template_global(event_label)
bp.add_app_template_global(outcome_label)
WEB_IMAGES = ("image/jpeg", "image/png", "image/webp", "image/gif")
# Files a browser may show in the page's place (nosniff: as what they are); any other is a download.
INLINE = ("image/", "audio/", "video/", "application/pdf", "text/plain", "text/vtt", "application/json")
bp.add_app_template_global(WEB_IMAGES, "web_images")
bp.add_app_template_global(player.stamp, "stamp")
bp.add_app_template_filter(fold, "fold")


@bp.app_template_global()
def reign_date(date: dict) -> str | None:
    """The reign year beside an item's Gregorian date when it has no display form of its own
    (1936 → 民国二十五年; repository/calendar.py), for a date within one year."""
    years = edtf_years(date["edtf"]) if date.get("edtf") and not date.get("display") else None
    return calendar.reign_name(years[0]) if years and years[0] == years[1] else None


@bp.app_template_global()
def thumbnail(item):
    """The item's thumbnail (else its first image that browsers show) this user may see, or None."""
    images = [f for f in archive().visible_files(item, user=current_user()) if f.media_type in WEB_IMAGES]
    return next((f for f in images if f.purpose == "thumbnail"), images[0] if images else None)


@bp.get("/")
def home():
    items, total = archive().list_items(user=current_user(), limit=12)
    return render_template("home.html", collections=archive().list_collections(user=current_user(), parent=None),
                           items=items, total=total)


@bp.get("/collections/<collection_id>")
def collection(collection_id):
    record = archive().get_collection(collection_id, user=current_user())
    page, per_page = paging()
    items, total = archive().list_items(user=current_user(), collection=collection_id,
                                        limit=per_page, offset=(page - 1) * per_page)
    parent = record.value.parent and next(  # its name for the breadcrumb, where this reader may see it
        (c for c in archive().list_collections(user=current_user()) if c.id == record.value.parent), None)
    return render_template("collection.html", collection=record.value, items=items, total=total,
                           page=page, per_page=per_page, parent=parent,
                           children=archive().list_collections(user=current_user(), parent=collection_id))


@bp.get("/items/<item_id>")
def item(item_id):
    record = archive().get_item(item_id, user=current_user(), version=request.args.get("version", type=int))
    files = archive().record_files(record, user=current_user())  # of a past version: what open_file serves
    visible = {c.id: c for c in archive().list_collections(user=current_user())}
    history = archive().history(item_id, user=current_user())
    # The IIIF viewer shows the latest version's page images (its manifest is of the latest version).
    viewer = record.version == len(history) and any(
        f.purpose == "pyramid" for f in canvases.visible(archive(), record.value, user=current_user()))
    # The player and the interview (as this user may read it) on the latest version's page.
    av = player.player(archive(), record.value, user=current_user()) if record.version == len(history) else None
    start_at = request.args.get("t", type=float)
    response = make_response(render_template(
        "item.html", record=record, item=record.value, files=files, viewer=viewer, av=av,
        start_at=start_at if start_at and start_at > 0 else None,
        collections=[visible[c] for c in record.value.collections if c in visible],
        restricted=len(record.value.files) - len(files), history=history,
        ingest=unfinished_ingest([item_id]).get(item_id) if is_staff(current_user()) else None))
    if viewer:
        response.headers["Content-Security-Policy"] = VIEWER_CSP
    return response


@bp.get("/items/<item_id>/files/<file_id>")
def file(item_id, file_id):
    found = archive().open_file(item_id, file_id, user=current_user(), version=request.args.get("version", type=int))
    stored, path = found.file, found.on_disk()
    if path is not None:  # send_file answers Range and conditional requests
        response = send_file(path, mimetype=stored.media_type, download_name=stored.path.rsplit("/", 1)[-1],
                             etag=stored.sha256, conditional=True)
    else:
        stream = found.open()
        response = Response(stream_with_context(iter(lambda: stream.read(1 << 20), b"")),
                            mimetype=stored.media_type, headers={"Content-Length": str(stored.size)})
        response.set_etag(stored.sha256)
        response.call_on_close(stream.close)
    if not stored.media_type.startswith(INLINE):  # kept as given (XML, office files, unknown): a download,
        # never a page of this site: XML can hold XHTML scripts, and a sandbox runs nothing even if opened
        response.headers["Content-Disposition"] = f"attachment; filename*=UTF-8''{quote(stored.path.rsplit('/', 1)[-1])}"
        response.headers["Content-Security-Policy"] = "sandbox; default-src 'none'"
    # Public files may be cached but are revalidated (ETag) so a later restriction takes effect at once.
    response.headers["Cache-Control"] = "public, no-cache" if found.public else "private, no-store"
    return response


@bp.get("/items/<item_id>/interview.vtt")
def interview_vtt(item_id):
    """The transcript in ?lang= (else the first) as WebVTT: the public view unless the user may
    read the full interview."""
    item = archive().get_item(item_id, user=current_user()).value
    interview, full = player.readable_interview(archive(), item, user=current_user())
    lang = request.args.get("lang")
    if not interview.transcripts or (lang and lang not in {t.language for t in interview.transcripts}):
        raise NotFound(f"item {item_id} has no transcript" + (f" in {lang}" if lang else ""))
    return Response(export_webvtt(interview, language=lang, public=not full), mimetype="text/vtt")


@bp.get("/items/<item_id>/interview.xml")
def interview_ohms(item_id):
    """The interview as OHMS XML: the public view unless the user may read the full interview."""
    item = archive().get_item(item_id, user=current_user()).value
    interview, full = player.readable_interview(archive(), item, user=current_user())
    av = player.player(archive(), item, user=current_user())
    media = av.sources[0] if av and av.sources else None
    data = write_ohms(interview, title=best(item.title), accession=(item.identifiers or [item.id])[0],
                      media_url=url_for("public.file", item_id=item.id, file_id=media.id, _external=True)
                      if media else "", media_format="video" if av and av.video else "audio", public=not full)
    return Response(data, mimetype="application/xml")


@bp.get("/lang/<code>")
def set_language(code):
    if code not in LOCALES:
        abort(404)
    response = redirect(safe_next(request.args.get("next")))
    response.set_cookie("lang", code, max_age=365 * 24 * 3600, samesite="Lax", httponly=True)
    return response
