"""The staff area's collections (create, edit, nest, reorder, delete when empty) and purge (admins
only, the reason recorded, confirmed by typing the item's id). Views stay thin: the archive's
services check permission and refuse loops and non-empty deletions; messages are translated
(``staff_text``)."""
from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from repository import calendar
from repository.access import can_edit
from repository.errors import Conflict, NotFound, ValidationError
from repository.model import VISIBILITIES, Checker, edtf_years, read_date
from search.analysis import era_years

from . import item_form, staff_text
from .admin import require
from .context import archive, current_user

bp = Blueprint("staff", __name__, url_prefix="/admin")


def _tree(user) -> list[tuple[int, object, int]]:
    """(depth, collection, siblings) for every collection the user may see, siblings in order."""
    out = []

    def visit(parent, depth):
        children = archive().list_collections(user=user, parent=parent)
        for c in children:
            out.append((depth, c, len(children)))
            visit(c.id, depth + 1)
    visit(None, 0)
    return out


@bp.get("/collections")
@require("admin", "archivist", "curator")
def collections():
    user = current_user()
    tree = _tree(user)
    counts = {c.id: archive().list_items(user=user, collection=c.id, limit=1)[1] for _, c, _n in tree}
    return render_template("admin/collections.html", tree=tree, counts=counts, can_edit=can_edit(user))


def _collection_data(form, current: dict | None = None) -> dict:
    current = current or {}
    data = {key: (form.get(key, "").strip() or None) for key in ("parent", "visibility", "embargo_until",
                                                                 "holding_library") if key in form}
    for key in ("title", "description"):
        data[key] = item_form.langmap(form, f"{key}_", current.get(key) or {})
    if "position" in form:
        text = form["position"].strip()
        data["position"] = int(text) if text.isdigit() else (text or None)
    if data.get("visibility") is None and "visibility" in data:
        data["visibility"] = "public"
    return data


def _form(collection=None, version=None, values=None, problems=(), status=200):
    user = current_user()
    excluded = set(archive().collection_descendants(collection.id)) if collection else set()
    parents = [c for _, c, _n in _tree(user) if c.id not in excluded]
    return render_template("admin/collection_form.html", collection=collection, version=version,
                           values=values or {}, problems=problems, parents=parents,
                           visibilities=VISIBILITIES), status


def _problems(exc) -> list[str]:
    if isinstance(exc, ValidationError):
        return [staff_text.problem(f, t) for f, t in exc.problems]
    return [staff_text.sentence(str(exc))]


@bp.route("/collections/new", methods=["GET", "POST"])
@require("admin", "archivist")
def new_collection():
    if request.method == "GET":
        return _form(values={"visibility": "public", "parent": request.args.get("parent")})
    data = {"id": request.form.get("id", "").strip(), **_collection_data(request.form)}
    try:
        record = archive().create_collection({k: v for k, v in data.items() if k != "position"},
                                             user=current_user(), why=request.form.get("why", ""))
        if data.get("position") is not None:
            archive().move_collection(record.value.id, parent=record.value.parent, position=data["position"],
                                      user=current_user(), why=request.form.get("why", ""))
    except (ValidationError, Conflict) as exc:
        return _form(values=data, problems=_problems(exc), status=400)
    flash(_("已添加馆藏。"))
    return redirect(url_for("staff.collections"))


@bp.route("/collections/<collection_id>/edit", methods=["GET", "POST"])
@require("admin", "archivist")
def edit_collection(collection_id):
    record = archive().get_collection(collection_id, user=current_user())
    values = record.value.to_dict()
    if request.method == "GET":
        return _form(record.value, record.version, values)
    data = _collection_data(request.form, values)
    try:
        archive().update_collection(collection_id, data, expected_version=request.form.get("version", type=int) or 0,
                                    user=current_user(), why=request.form.get("why", ""))
    except (ValidationError, Conflict) as exc:
        return _form(record.value, record.version, {**values, **data}, _problems(exc), 400)
    flash(_("已保存。"))
    return redirect(url_for("staff.collections"))


@bp.post("/collections/<collection_id>/move")
@require("admin", "archivist")
def move_collection(collection_id):
    """Up/down among its siblings (``position``), or into another ``parent``."""
    current = archive().get_collection(collection_id, user=current_user()).value
    parent = request.form.get("parent", current.parent or "").strip() or None
    position = request.form.get("position", type=int)
    try:
        archive().move_collection(collection_id, parent=parent, position=position, user=current_user(),
                                  why=request.form.get("why", ""))
    except (ValidationError, Conflict) as exc:
        for text in _problems(exc):
            flash(text, "error")
    return redirect(url_for("staff.collections"))


@bp.post("/collections/<collection_id>/delete")
@require("admin", "archivist")
def delete_collection(collection_id):
    try:
        archive().delete_collection(collection_id, user=current_user(), why=request.form.get("why", ""))
        flash(_("已删除馆藏 %(id)s。", id=collection_id))
    except Conflict as exc:
        flash(staff_text.sentence(str(exc)), "error")
    return redirect(url_for("staff.collections"))


@bp.route("/items/<item_id>/purge", methods=["GET", "POST"])
@require("admin")
def purge(item_id):
    """Destroy an item and all its versions: the reason is required and recorded, and the item's id
    must be typed to confirm (Archive.purge_item)."""
    try:
        item = archive().get_item(item_id, user=current_user()).value
    except NotFound:
        abort(404)
    except Exception:  # a withdrawn item (Gone) may be purged too
        item = archive().load_item(item_id)
    problems = []
    if request.method == "POST":
        reason = request.form.get("reason", "").strip()
        if not reason:
            problems.append(_("请填写清除的原因（记入审计日志）。"))
        if request.form.get("confirm", "").strip() != item_id:
            problems.append(_("请输入藏品编号 %(id)s 以确认清除。", id=item_id))
        if not problems:
            archive().purge_item(item_id, user=current_user(), reason=reason)
            flash(_("已清除藏品 %(id)s 及其全部版本。", id=item_id))
            return redirect(url_for("admin.items"))
    return render_template("admin/purge.html", item=item, problems=problems), 400 if problems else 200


def reign_text(edtf: str | None) -> str:
    """An EDTF date's years as reign-era years: "1936" → 民国二十五年; a range → its ends; "" when
    no reign title covers it (or the date is not valid)."""
    c = Checker()
    value = read_date(c, {"edtf": edtf}) if edtf else {}
    years = edtf_years(value["edtf"]) if value.get("edtf") and not c.problems else None
    if not years:
        return ""
    first, last = ([str(r) for r in calendar.reign_years(y)] for y in years)
    if years[0] == years[1]:
        return "／".join(first)
    return f"{first[0]}—{last[-1]}" if first and last else ""


def check_date(edtf: str, display: str = "") -> dict:
    """What the form shows beside a date as it is typed: whether the EDTF date is valid (the
    problem in the interface language), its reign-era years, and whether a display text naming a
    reign year (光绪三年) agrees with it."""
    c = Checker()
    read_date(c, {"edtf": edtf or None, "display": display or None})
    if c.problems:
        return {"ok": False, "message": "；".join(staff_text.problem(f, t) for f, t in c.problems), "reign": ""}
    years = edtf_years(edtf) if edtf else None
    named = era_years(display) if display else None
    answer = {"ok": True, "reign": reign_text(edtf), "message": ""}
    if edtf and years is None:
        answer["message"] = _("有效的 EDTF 日期（起止不详）")
    elif years:
        span = str(years[0]) if years[0] == years[1] else f"{years[0]}–{years[1]}"
        answer["message"] = _("有效的 EDTF 日期：%(years)s", years=span)
    if named and years and (named[1] < years[0] or named[0] > years[1]):
        answer["message"] += "；" + _("显示日期“%(display)s”是 %(named)s 年，与 EDTF 日期不符",
                                      display=display, named=named[0] if named[0] == named[1] else
                                      f"{named[0]}–{named[1]}")
        answer["mismatch"] = True
    elif named and not edtf:
        answer["message"] = _("显示日期“%(display)s”是 %(named)s 年：可填 EDTF 日期 %(named)s",
                              display=display, named=named[0]) if named[0] == named[1] else ""
    return answer


@bp.get("/edtf")
@require("admin", "archivist")
def edtf():
    """The live check of a form's date (``check_date``), as JSON."""
    return check_date(request.args.get("edtf", "")[:200].strip(), request.args.get("display", "")[:200].strip())


bp.add_app_template_global(reign_text, "reign_text")
bp.add_app_template_global(staff_text.problem, "problem_text")
