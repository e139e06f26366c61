"""Researchers' saved lists (repository.lists): /lists (mine), /lists/<id>, the item page's
"save" form, and /shared/<secret>, a shared list as the one looking may see it. Signed-in
sessions only: an API token never reads or writes a reader's lists."""
from __future__ import annotations

from flask import Blueprint, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _

from repository.errors import PermissionDenied
from repository.lists import SavedLists

from .context import current_user, fangzhi

bp = Blueprint("lists", __name__)


def lists() -> SavedLists:
    return fangzhi().lists


def reader():
    """The signed-in reader (a session, never a token); others are sent to the login page."""
    user = current_user()
    if g.get("fz_token"):
        raise PermissionDenied("saved lists are read in a signed-in browser session, not with an API token")
    return user


@bp.app_template_global()
def my_lists():
    user = current_user()
    return [] if user.is_anonymous or g.get("fz_token") else lists().mine(user)


@bp.get("/lists")
def mine():
    user = reader()
    if user.is_anonymous:
        return redirect(url_for("auth.login", next=request.full_path))
    return render_template("lists/mine.html", saved=lists().mine(user))


@bp.post("/lists")
def create():
    saved = lists().create(request.form.get("name", ""), user=reader(), note=request.form.get("note", ""))
    if request.form.get("item"):
        lists().add(saved.id, request.form["item"], user=reader(), note=request.form.get("item_note", ""))
        flash(_("已保存到列表“%(name)s”。", name=saved.name))
        return redirect(url_for("public.item", item_id=request.form["item"]))
    return redirect(url_for("lists.view", list_id=saved.id))


@bp.get("/lists/<int:list_id>")
def view(list_id):
    user = reader()
    if user.is_anonymous:
        return redirect(url_for("auth.login", next=request.full_path))
    saved = lists().get(list_id, user=user)
    return render_template("lists/list.html", saved=saved, entries=lists().entries(saved, viewer=user), owner=True)


@bp.post("/lists/<int:list_id>")
def change(list_id):
    user = reader()
    action = request.form.get("action")
    if action == "rename":
        lists().rename(list_id, request.form.get("name", ""), user=user, note=request.form.get("note", ""))
    elif action in ("share", "unshare"):
        lists().share(list_id, action == "share", user=user)
    elif action == "delete":
        lists().delete(list_id, user=user)
        return redirect(url_for("lists.mine"))
    return redirect(url_for("lists.view", list_id=list_id))


@bp.post("/lists/<int:list_id>/items")
def add(list_id):
    item_id = request.form.get("item", "")
    lists().add(list_id, item_id, user=reader(), note=request.form.get("note", ""))
    flash(_("已保存到列表“%(name)s”。", name=lists().get(list_id, user=reader()).name))
    return redirect(request.form.get("back") == "list" and url_for("lists.view", list_id=list_id)
                    or url_for("public.item", item_id=item_id))


@bp.post("/lists/save")
def save():
    """The item page's form: the list chosen in it."""
    return add(request.form.get("list", type=int) or 0)


@bp.post("/lists/<int:list_id>/items/<item_id>/delete")
def remove(list_id, item_id):
    lists().remove(list_id, item_id, user=reader())
    return redirect(url_for("lists.view", list_id=list_id))


@bp.get("/shared/<secret>")
def shared(secret):
    """A shared list: each item through the access policy for whoever opens the link."""
    saved = lists().shared(secret)
    response = render_template("lists/list.html", saved=saved, entries=lists().entries(saved, viewer=current_user()),
                               owner=False)
    # (the secret never leaves in a Referer: cross-origin requests carry only the origin, csp.security_headers)
    return response, 200, {"Cache-Control": "private, no-store", "X-Robots-Tag": "noindex"}
