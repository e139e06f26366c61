"""Errors become HTTP responses in one place: JSON under /api, a readable page elsewhere.

Each package raises errors of one base (``RepositoryError``, ``StorageError``, ``IngestError``,
``SearchError``, ``IIIFError``, ``OralHistoryError``); ``STATUS`` gives the HTTP status of each
kind, most specific first. Any other error is unexpected: 500, logged, with no details shown.
"""
from __future__ import annotations

from flask import Flask, current_app, render_template, request
from werkzeug.exceptions import HTTPException

from iiif.errors import IIIFError
from iiif.image import ImageRequestError
from iiif.imaging import Overloaded
from ingest.safety import UploadRefused
from repository.errors import Conflict, Gone, NotFound, PermissionDenied, RepositoryError, ValidationError
from search.index import SearchIndexError
from search.query import QueryError
from storage.base import StorageError
from storage.ocfl import VersionConflict

STATUS = [(ValidationError, 400), (NotFound, 404), (PermissionDenied, 403), (Conflict, 409), (Gone, 410),
          (RepositoryError, 400),
          (VersionConflict, 409),  # the object changed since it was read: a stale edit, whoever reports it
          (StorageError, 503), (SearchIndexError, 503), (QueryError, 400), (UploadRefused, 400),
          (ImageRequestError, None),  # its own (§7.1): 400, or 501 for a feature not implemented
          (Overloaded, 503), (IIIFError, 500)]
UNAVAILABLE = {StorageError: "the archive's storage is not available: ", SearchIndexError: "search is not available: "}


def status(exc: Exception) -> int:
    """The HTTP status of an error of a kind in ``STATUS``."""
    code = next(code for cls, code in STATUS if isinstance(exc, cls))
    return exc.status if code is None else code


def init_app(app: Flask) -> None:
    for cls, _code in STATUS:
        app.register_error_handler(cls, known_error)

    @app.errorhandler(HTTPException)
    def http_error(exc):
        headers = [(k, v) for k, v in exc.get_headers() if k.lower() != "content-type"]
        return _respond(exc.code, {"error": exc.name, "message": exc.description}, headers=headers)

    @app.errorhandler(Exception)
    def unexpected(exc):  # never a stack trace to users; the log has it
        app.logger.exception("unexpected error on %s", request.path)
        return _respond(500, {"error": "InternalServerError",
                              "message": "the archive could not complete the request; the error was logged"})


def known_error(exc: Exception):
    """An error of a kind in ``STATUS``: its status, its name and message, the fields it names."""
    code, name, message = status(exc), type(exc).__name__, str(exc)
    if code >= 500:
        current_app.logger.exception("%s on %s", name, request.path)
    for cls, saying in UNAVAILABLE.items():
        if code == 503 and isinstance(exc, cls):  # which part is down, not the backend's own error class
            name, message = cls.__name__, saying + message
    body = {"error": name, "message": message}
    if isinstance(exc, ValidationError):
        body["problems"] = [{"field": f, "problem": p} for f, p in exc.problems]
    if isinstance(exc, UploadRefused):
        body["problems"] = [{"field": f"files/{exc.name}", "problem": exc.reason}]
    return _respond(code, body, tombstone=exc.item if isinstance(exc, Gone) else None)


def _respond(status: int, body: dict, tombstone=None, headers=()):
    if request.path.startswith(("/api/", "/iiif/")) or request.accept_mimetypes.best == "application/json":
        return body, status, list(headers)
    return render_template("error.html", status=status, error=body, tombstone=tombstone), status, list(headers)
