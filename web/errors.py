"""Errors become HTTP responses in one place: JSON under /api, a readable page elsewhere."""
from __future__ import annotations

from flask import Flask, render_template, request
from werkzeug.exceptions import HTTPException

from ingest.safety import UploadRefused
from repository.errors import Conflict, Gone, NotFound, PermissionDenied, RepositoryError, ValidationError
from search.index import SearchIndexError
from storage.base import StorageError

STATUS = [(ValidationError, 400), (NotFound, 404), (PermissionDenied, 403), (Conflict, 409), (Gone, 410),
          (RepositoryError, 400)]


def init_app(app: Flask) -> None:
    @app.errorhandler(RepositoryError)
    def repository_error(exc):
        status = next(code for cls, code in STATUS if isinstance(exc, cls))
        body = {"error": type(exc).__name__, "message": str(exc)}
        if isinstance(exc, ValidationError):
            body["problems"] = [{"field": f, "problem": p} for f, p in exc.problems]
        return _respond(status, body, tombstone=exc.item if isinstance(exc, Gone) else None)

    @app.errorhandler(StorageError)
    def storage_error(exc):
        app.logger.exception("storage error")
        return _respond(503, {"error": "StorageError", "message": "the archive's storage is not available: " + str(exc)})

    @app.errorhandler(SearchIndexError)
    def search_error(exc):
        app.logger.exception("search index error")
        return _respond(503, {"error": "SearchIndexError", "message": "search is not available: " + str(exc)})

    @app.errorhandler(UploadRefused)
    def upload_refused(exc):
        return _respond(400, {"error": "UploadRefused", "message": str(exc),
                              "problems": [{"field": f"files/{exc.name}", "problem": exc.reason}]})

    @app.errorhandler(HTTPException)
    def http_error(exc):
        headers = [(k, v) for k, v in exc.get_headers() if k.lower() != "content-type"]
        return _respond(exc.code, {"error": exc.name, "message": exc.description}, headers=headers)

    @app.errorhandler(Exception)
    def unexpected(exc):  # never a stack trace to users; the log has it
        app.logger.exception("unexpected error on %s", request.path)
        return _respond(500, {"error": "InternalServerError",
                              "message": "the archive could not complete the request; the error was logged"})


def _respond(status: int, body: dict, tombstone=None, headers=()):
    if request.path.startswith(("/api/", "/iiif/")) or request.accept_mimetypes.best == "application/json":
        return body, status, list(headers)
    return render_template("error.html", status=status, error=body, tombstone=tombstone), status, list(headers)
