"""The alliance portal: /alliance (the member libraries, one search box for all) and
/alliance/<member> (a member's collections). Thin: the registry and alliance.federated do the work."""
from __future__ import annotations

from flask import Blueprint, render_template

from .context import archive, current_user, fangzhi, members

bp = Blueprint("alliance", __name__, url_prefix="/alliance")


@bp.get("")
def portal():
    listed = members().list()
    answers = fangzhi().federation.collections(listed, user=current_user())
    local = archive().list_collections(user=current_user())
    return render_template("alliance.html", members=listed, answers=answers, local_collections=len(local))


@bp.get("/<name>")
def member(name):
    found = members().get(name)  # NotFound → 404
    answer = fangzhi().federation.collections([found], user=current_user()).get(found.name)
    return render_template("alliance_member.html", member=found, answer=answer)
