"""Errors become HTTP responses in one place: JSON under /api, a readable page elsewhere."""
from __future__ import annotations

from flask import Flask, render_template, request
from werkzeug.exceptions import HTTPException

from repository.errors import Conflict, Gone, NotFound, PermissionDenied, RepositoryError, ValidationError
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

    @app.errorhandler(HTTPException)
    def http_error(exc):
        return _respond(exc.code, {"error": exc.name, "message": exc.description})


def _respond(status: int, body: dict, tombstone=None):
    if request.path.startswith("/api/") or request.accept_mimetypes.best == "application/json":
        return body, status
    return render_template("error.html", status=status, error=body, tombstone=tombstone), status
