"""Uploads: which routes take large request bodies, and uploaded files → checked NewFile records.

Every request body is limited to MAX_BODY_MB; a route marked with ``upload_route`` takes up to
MAX_UPLOAD_MB, but only from a signed-in user with one of its roles, decided from the session or
token alone before any of the body is read (``body_limit`` runs before CSRF protection reads a
form). Anyone else's large body is refused with 413 without being read or spooled to disk.
"""
from __future__ import annotations

from flask import current_app, request

from ingest.pronom import identify_stream
from ingest.safety import inspect_upload, safe_filename
from repository.access import MANAGERS
from repository.services import NewFile

MIB = 1024 * 1024


def upload_route(roles=MANAGERS, *, max_bytes: int | None = None):
    """Mark a view that receives uploads from users with one of ``roles`` (at most ``max_bytes``
    a request, and never more than MAX_UPLOAD_MB)."""
    def mark(view):
        view.fz_upload = (frozenset(roles), max_bytes)
        return view
    return mark


def upload_limit() -> int:
    return current_app.config["FANGZHI"]["MAX_UPLOAD_MB"] * MIB


def body_limit() -> None:
    """Raise this request's body limit on an upload route for a user allowed to upload there."""
    from .context import current_user

    view = current_app.view_functions.get(request.endpoint)
    upload = getattr(view, "fz_upload", None)
    if upload and current_user().has_role(*upload[0]):
        request.max_content_length = min(upload_limit(), upload[1] or upload_limit())


def new_files(uploads, *, first_sequence: int = 1) -> list[NewFile]:
    """Check every upload (name, size, content) and return them in order; refuse all if one fails."""
    limits = current_app.extensions["fangzhi"].limits  # as ingest's
    files = []
    for n, upload in enumerate(u for u in uploads if u and u.filename):
        media_type = inspect_upload(upload.filename, upload.stream, limits=limits)
        tech = {"pronom": identify_stream(upload.stream, upload.filename, media_type)}  # PRONOM, as ingest does
        files.append(NewFile(safe_filename(upload.filename), upload.stream, media_type, first_sequence + n, tech=tech))
    return files
