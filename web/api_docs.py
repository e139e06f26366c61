"""/api/docs: the REST API described by /api/openapi.json, readable in a browser (Swagger UI from
npm, served from this site; no remote validator, no inline script)."""
from __future__ import annotations

from flask import Blueprint, render_template

bp = Blueprint("api_docs", __name__)


@bp.get("/api/docs")
def page():
    return render_template("api_docs.html")
