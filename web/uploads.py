"""Uploaded files → NewFile records, each checked by ingest.safety before anything is stored."""
from __future__ import annotations

from flask import current_app

from ingest.safety import inspect_upload, safe_filename
from repository.services import NewFile


def new_files(uploads, *, first_sequence: int = 1) -> list[NewFile]:
    """Check every upload (name, size, content) and return them in order; refuse all if one fails."""
    from .bootstrap import build_limits

    limits = build_limits(current_app.config["FANGZHI"])  # as ingest's
    files = []
    for n, upload in enumerate(u for u in uploads if u and u.filename):
        media_type = inspect_upload(upload.filename, upload.stream, limits=limits)
        files.append(NewFile(safe_filename(upload.filename), upload.stream, media_type, first_sequence + n))
    return files
