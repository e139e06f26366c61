"""Staff ingest in the browser: chunked uploads (resumable, with progress) and job progress pages."""
from __future__ import annotations

import secrets
import threading
from pathlib import Path

from flask import Blueprint, abort, current_app, redirect, render_template, request, url_for
from werkzeug.exceptions import RequestEntityTooLarge

from ingest.safety import safe_filename
from repository.errors import ValidationError
from repository.services import item_object

from . import item_form
from .admin import form_context, require
from .context import archive, current_user, fangzhi
from .context import jobs as job_store
from .uploads import MIB, upload_limit, upload_route

bp = Blueprint("ingest", __name__, url_prefix="/admin")
CHUNK_LIMIT = 16 * 1024 * 1024  # the browser sends 8 MiB chunks


def _uploads() -> Path:
    return Path(current_app.config["FANGZHI"]["DATA_DIR"]) / "uploads"


def _context():
    return fangzhi().ingest_context(current_user())


def _upload_dir(upload_id: str) -> Path:
    if not (len(upload_id) == 32 and all(c in "0123456789abcdef" for c in upload_id)):
        abort(404)
    folder = _uploads() / upload_id
    if not folder.is_dir():
        abort(404)
    return folder


@bp.get("/ingest")
@require("admin", "archivist")
def upload_page():
    return render_template("admin/ingest.html", **form_context())


@bp.post("/uploads")
@require("admin", "archivist")
def start_upload():
    """A new upload: the browser then sends each file in chunks, then finishes it."""
    upload_id = secrets.token_hex(16)
    (_uploads() / upload_id).mkdir(parents=True)
    return {"id": upload_id}, 201


@bp.put("/uploads/<upload_id>/<int:index>")
@require("admin", "archivist")
@upload_route(max_bytes=CHUNK_LIMIT)
def upload_chunk(upload_id, index):
    """Append one chunk at ``offset`` to file number ``index``; answers the size received so far,
    so an interrupted upload continues from there. The chunk is streamed to the file a MiB at a
    time (at most CHUNK_LIMIT, the file at most MAX_UPLOAD_MB); a chunk refused leaves the file as
    it was."""
    folder = _upload_dir(upload_id)
    name = safe_filename(request.args.get("name", ""))
    offset = request.args.get("offset", type=int)
    target = folder / f"{index:04d}" / name  # keeps the file's own name, and the order of files
    target.parent.mkdir(exist_ok=True)
    size = target.stat().st_size if target.exists() else 0
    if offset != size:
        return {"error": "Conflict", "message": f"expected offset {size}", "size": size}, 409
    limit, received = min(CHUNK_LIMIT, upload_limit() - size), 0
    with open(target, "ab") as f:
        try:
            while piece := request.stream.read(MIB):
                received += len(piece)
                if received > limit:
                    raise RequestEntityTooLarge()
                f.write(piece)
        except RequestEntityTooLarge:
            f.truncate(size)
            return {"error": "TooLarge", "message": f"chunks may be at most {CHUNK_LIMIT} bytes and a file at most "
                    f"{upload_limit() // MIB} MiB"}, 413
    return {"size": size + received}


@bp.post("/uploads/<upload_id>/finish")
@require("admin", "archivist")
def finish_upload(upload_id):
    """The uploaded files become one item of a new ingest job, processed in the background."""
    from ingest.pipeline import plan_job
    from ingest.sources import PlannedItem, transcripts_beside

    folder = _upload_dir(upload_id)
    files = sorted(folder.glob("*/*"))
    if not files:
        raise ValidationError([("files", "upload at least one file")])
    transcripts = [t for found in transcripts_beside(files).values() for t in found]  # 采访_张.vtt with 采访_张.wav
    files = [f for f in files if f not in transcripts]
    metadata = {k: v for k, v in item_form.changes(request.form).items() if v not in (None, {}, [])}
    label = request.form.get("title_zh") or files[0].stem
    planned = PlannedItem(label=label, files=files, metadata=metadata, file_ids=[None] * len(files), problems=[],
                          transcripts=transcripts)
    ctx = _context()
    job_id = plan_job(ctx, f"web upload {upload_id}", [planned])
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
    return render_template("admin/job.html", job=found, entries=entries, stored=stored,
                           running=any(e.state == "pending" for e in entries))


@bp.post("/jobs/<job_id>/retry")
@require("admin", "archivist")
def retry(job_id):
    """Retry the job's failed entries (or the one named by ``entry``): an item stored by a failed
    entry is completed from its stored originals."""
    store = job_store()
    if store.job(job_id) is None:
        abort(404)
    wanted = request.form.get("entry", type=int)
    claimed = [e.n for e in store.entries(job_id, ("failed",)) if wanted in (None, e.n) and store.claim(job_id, e.n)]
    if claimed:
        start_job(job_id, claimed)
    return redirect(url_for("ingest.job", job_id=job_id), 303)
