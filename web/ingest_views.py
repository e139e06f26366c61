"""Staff ingest in the browser: chunked uploads (resumable, with progress) and job progress pages."""
from __future__ import annotations

import threading

from flask import Blueprint, abort, redirect, render_template, request, url_for
from werkzeug.exceptions import RequestEntityTooLarge

from ingest.uploads import CHUNK_LIMIT, ChunkTooLarge, OffsetConflict, Uploads, UnknownUpload
from repository.services import item_object

from . import item_form, notices, staff_text
from .admin import form_context, require
from .context import archive, current_user, fangzhi
from .context import jobs as job_store
from .uploads import MIB, upload_route

bp = Blueprint("ingest", __name__, url_prefix="/admin")


def _uploads() -> Uploads:
    return fangzhi().uploads


def _context():
    return fangzhi().ingest_context(current_user())


def _body():
    """The request body a MiB at a time; more than the route takes (the server's limit) is too large."""
    try:
        while piece := request.stream.read(MIB):
            yield piece
    except RequestEntityTooLarge:
        raise ChunkTooLarge() from None


@bp.get("/ingest")
@require("admin", "archivist")
def upload_page():
    return render_template("admin/ingest.html", **form_context())


@bp.post("/uploads")
@require("admin", "archivist")
def start_upload():
    """A new upload: the browser then sends each file in chunks, then finishes it."""
    return {"id": _uploads().start()}, 201


@bp.put("/uploads/<upload_id>/<int:index>")
@require("admin", "archivist")
@upload_route(max_bytes=CHUNK_LIMIT)
def upload_chunk(upload_id, index):
    """Append one chunk at ``offset`` to file number ``index`` (ingest.uploads); answers the size
    received so far, so an interrupted upload continues from there."""
    try:
        size = _uploads().append(upload_id, index, request.args.get("name", ""), request.args.get("offset", type=int),
                                 _body())
    except UnknownUpload:
        abort(404)
    except OffsetConflict as exc:
        return {"error": "Conflict", "message": str(exc), "size": exc.size}, 409
    except ChunkTooLarge as exc:
        return {"error": "TooLarge", "message": str(exc)}, 413
    return {"size": size}


@bp.post("/uploads/<upload_id>/finish")
@require("admin", "archivist")
def finish_upload(upload_id):
    """The uploaded files become one item of a new ingest job, processed in the background."""
    metadata = {k: v for k, v in item_form.changes(request.form).items() if v not in (None, {}, [])}
    try:
        job_id = _uploads().finish(_context(), upload_id, metadata, label=request.form.get("title_zh"))
    except UnknownUpload:
        abort(404)
    start_job(job_id)
    return redirect(url_for("ingest.job", job_id=job_id), 303)


def start_job(job_id: str, entries: list[int] | None = None) -> threading.Thread:
    """Run a job's pending entries (or only ``entries``) with the worker pool, in the background."""
    if entries is None:
        entries = [e.n for e in job_store().entries(job_id, ("pending",))]
    tasks = [(job_id, n) for n in entries]
    thread = threading.Thread(target=fangzhi().runner.run, args=(tasks,), daemon=True, name=f"ingest-{job_id}")
    thread.start()
    return thread


@bp.get("/jobs")
@require("admin", "archivist")
def jobs():
    return render_template("admin/jobs.html", jobs=job_store().jobs())


@bp.get("/jobs/<job_id>")
@require("admin", "archivist")
def job(job_id):
    found = job_store().job(job_id)
    if found is None:
        abort(404)
    entries = job_store().entries(job_id)
    stored = {e.item_id for e in entries if archive().objects.exists(item_object(e.item_id))}
    return render_template("admin/job.html", job=found, entries=entries, stored=stored, notice=notices.render,
                           running=any(e.state == "pending" for e in entries), text=staff_text,
                           working=staff_text.working(entries),
                           root=found.options.get("root") or found.source,
                           retryable=any(e.retryable for e in entries))


@bp.post("/jobs/<job_id>/retry")
@require("admin", "archivist")
def retry(job_id):
    """Retry the job's failed entries (or the one named by ``entry``): an item stored by a failed
    entry is completed from its stored originals."""
    store = job_store()
    if store.job(job_id) is None:
        abort(404)
    claimed = store.claim_failed(job_id, request.form.get("entry", type=int))
    if claimed:
        start_job(job_id, claimed)
    return redirect(url_for("ingest.job", job_id=job_id), 303)
