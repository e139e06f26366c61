"""The staff review queue of mentions (search/mentions.py): names of authority records found in
items' texts, each confirmed (a new version of the item) or rejected (not proposed again)."""
from __future__ import annotations

from flask import Blueprint, redirect, render_template, request, url_for

from .admin import require
from .context import current_user, fangzhi

bp = Blueprint("mentions", __name__, url_prefix="/admin/mentions")
STATES = ("proposed", "confirmed", "rejected")
PAGE = 50


@bp.get("")
@require("admin", "archivist")
def queue():
    state = request.args.get("state") if request.args.get("state") in STATES else "proposed"
    after = request.args.get("after", "0")
    after = int(after) if after.isdigit() and len(after) < 12 else 0
    shown = fangzhi().mentions.queue(current_user(), state=state, after=after, limit=PAGE)
    return render_template("mentions.html", proposals=shown, state=state, states=STATES,
                           more=shown[-1].id if len(shown) == PAGE else None)


@bp.post("/<int:mention_id>/confirm")
@require("admin", "archivist")
def confirm(mention_id):
    fangzhi().mentions.confirm(mention_id, current_user(), why=request.form.get("why", "")[:500].strip())
    return redirect(url_for("mentions.queue"))


@bp.post("/<int:mention_id>/reject")
@require("admin", "archivist")
def reject(mention_id):
    fangzhi().mentions.reject(mention_id, current_user())
    return redirect(url_for("mentions.queue"))
