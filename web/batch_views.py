"""Web batch ingest: a folder or many files (and a CSV/Excel manifest) dropped in the browser
become the same plan, checks and job as ``fangzhi ingest`` (``ingest.uploads.finish_batch``).

The page first asks ``preflight`` whether the metadata, the manifest and the file list are
right — nothing is uploaded until they are, and each problem names its row or field in the
interface language — then sends each file in chunks (the resumable protocol of ``ingest_views``)
with its path relative to the donation, then finishes the batch.
"""
from __future__ import annotations

import tempfile
from pathlib import Path

from flask import Blueprint, abort, current_app, redirect, render_template, request, url_for
from flask_babel import gettext as _

from ingest.errors import IngestError
from ingest.safety import safe_filename
from ingest.sources.common import MAX_MANIFEST_BYTES, invalid
from ingest.sources.manifest import check_manifest
from ingest.uploads import CHUNK_LIMIT, MAX_BATCH_FILES, MODES, ChunkTooLarge, OffsetConflict, UnknownUpload, safe_path
from repository.errors import ValidationError

from . import item_form, staff_text
from .admin import form_context, require
from .context import archive, current_user, fangzhi
from .ingest_views import _body, start_job
from .uploads import upload_route

bp = Blueprint("batch", __name__, url_prefix="/admin")


@bp.get("/ingest/batch")
@require("admin", "archivist")
def page():
    return render_template("admin/batch.html", modes=MODES, **form_context())


def _metadata(form) -> dict:
    return {k: v for k, v in item_form.changes(form).items() if v not in (None, {}, [])}


@bp.post("/uploads/preflight")
@require("admin", "archivist")
def preflight():
    """Check a batch before any file is sent: the list of files (``paths``: JSON [{path, size}]),
    the metadata of the form and the manifest (a file field). 200 {"ok": true, "files": n}, or
    422 with every problem in the interface language; nothing is stored."""
    problems = check_batch(request.form, request.files.get("manifest"))
    if problems:
        return {"ok": False, "problems": problems}, 422
    return {"ok": True, "files": len(_paths(request.form))}


def _paths(form) -> list[dict]:
    try:
        paths = current_app.json.loads(form.get("paths") or "[]")
    except ValueError:
        return []
    return [p for p in paths if isinstance(p, dict)] if isinstance(paths, list) else []


def check_batch(form, manifest) -> list[dict]:
    """Every problem of a batch as {"where", "message"} (translated)."""
    problems: list[dict] = []

    def fail(where: str, message: str):
        if len(problems) < 200:  # a huge bad manifest: the first 200 problems say enough
            problems.append({"where": where, "message": message})

    mode = form.get("mode", "items")
    if mode not in MODES:
        fail(staff_text.field_label("mode"), staff_text.sentence(f"must be one of {', '.join(MODES)} (got '{mode}')"))
    paths = _paths(form)
    if not paths:
        fail(staff_text.field_label("files"), staff_text.sentence("upload at least one file"))
    if len(paths) > MAX_BATCH_FILES:
        fail(staff_text.field_label("files"), staff_text.sentence(f"too many files: {len(paths)}, at most {MAX_BATCH_FILES}"))
        paths = paths[:MAX_BATCH_FILES]
    limit, seen = fangzhi().uploads.max_file_bytes, set()
    for p in paths:
        path, size = str(p.get("path") or ""), p.get("size")
        try:
            clean = safe_path(path).as_posix()
        except IngestError as exc:
            fail(path or "—", staff_text.sentence(getattr(exc, "reason", str(exc))))
            continue
        if clean in seen:
            fail(clean, staff_text.sentence(f"{clean} is sent twice"))
        seen.add(clean)
        if not isinstance(size, int) or size == 0:
            fail(clean, staff_text.sentence("the file is empty"))
        elif size > limit:
            fail(clean, staff_text.sentence(f"the file is larger than {limit // (1 << 20)} MiB"))
    for where, message in metadata_problems(form, mode):
        fail(where, message)
    if manifest and manifest.filename:
        for text in _manifest_problems(manifest, seen):
            fail(_("清单 %(name)s", name=manifest.filename), staff_text.planned_problem(text))
    return problems


def metadata_problems(form, mode: str) -> list[tuple[str, str]]:
    """The form's metadata checked as the model checks it (field label, problem), translated."""
    metadata = _metadata(form)
    checked = {**metadata, "kind": metadata.get("kind") or "photo"}
    if mode != "one":
        checked["title"] = {"zh": "—"}  # each item's title comes from its file or its manifest row
    found = [(staff_text.field_label(f), staff_text.sentence(t)) for f, t in invalid(checked)]
    known = {c.id for c in archive().list_collections(user=current_user())}
    found += [(staff_text.field_label("collections"), staff_text.sentence(f"no collection {cid}"))
              for cid in metadata.get("collections") or [] if cid not in known]
    return found


def _manifest_problems(upload, paths: set[str]) -> list[str]:
    """The manifest's problems (``check_manifest``), read from a temporary copy; its server path is
    never shown."""
    from ingest.sources.common import SourceError

    try:
        name = safe_filename(upload.filename)
    except IngestError as exc:
        return [str(exc)]
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / name
        with open(path, "wb") as f:
            size = 0
            while piece := upload.stream.read(1 << 20):
                size += len(piece)
                if size > MAX_MANIFEST_BYTES:
                    return [f"the file is {size:,} bytes, more than the limit of {MAX_MANIFEST_BYTES:,} bytes "
                            "for a manifest"]
                f.write(piece)
        try:
            return check_manifest(path, paths)
        except SourceError as exc:
            text = str(exc).replace(f"{path}, ", "").replace(f"{path}: ", "").replace(str(path), name)
            return [text]


@bp.put("/uploads/<upload_id>/files")
@require("admin", "archivist")
@upload_route(max_bytes=CHUNK_LIMIT)
def chunk(upload_id):
    """One chunk of a batch's file at ``path`` (relative to the donation) or of its ``manifest``."""
    manifest = request.args.get("manifest") == "1"
    try:
        size = fangzhi().uploads.append(upload_id, 0, request.args.get("path", ""), request.args.get("offset", type=int),
                                        _body(), path=None if manifest else request.args.get("path", ""),
                                        manifest=manifest)
    except UnknownUpload:
        abort(404)
    except OffsetConflict as exc:
        return {"error": "Conflict", "message": _("服务器已收到 %(size)s 字节，从那里继续。", size=exc.size),
                "size": exc.size}, 409
    except ChunkTooLarge:
        return {"error": "TooLarge", "message": _("文件块或文件太大。")}, 413
    except IngestError as exc:  # a path or name refused (UploadRefused)
        return {"error": "Refused", "message": staff_text.sentence(getattr(exc, "reason", str(exc)))}, 400
    return {"size": size}


@bp.post("/uploads/<upload_id>/batch")
@require("admin", "archivist")
def finish(upload_id):
    """Plan the batch (checked again: the preflight is advice, this is the rule) and start its job."""
    mode = request.form.get("mode", "items")
    problems = [f"{where}：{message}" for where, message in metadata_problems(request.form, mode)]
    if problems:
        return render_template("admin/batch.html", modes=MODES, problems=problems, **form_context()), 400
    try:
        job_id = fangzhi().uploads.finish_batch(fangzhi().ingest_context(current_user()), upload_id,
                                                mode=mode,
                                                metadata=_metadata(request.form))
    except UnknownUpload:
        abort(404)
    except ValidationError as exc:
        problems = [staff_text.problem(f, t) for f, t in exc.problems]
        return render_template("admin/batch.html", modes=MODES, problems=problems, **form_context()), 400
    except IngestError as exc:
        return render_template("admin/batch.html", modes=MODES, problems=[staff_text.planned_problem(
            str(exc).split(": ", 1)[-1])], **form_context()), 400
    start_job(job_id)
    return redirect(url_for("ingest.job", job_id=job_id), 303)


bp.add_app_template_global(staff_text.donation_name, "donation_name")
