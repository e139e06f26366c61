"""The staff item list (/admin/items) and bulk work in the browser: a selection (ticked items, or
every item a search finds) → an operation → its preview (each item's before/after, paged) → apply
with CSRF → the job's progress page, with undo; the selection as CSV/Excel and an edited sheet back
as an update (preview first). Thin: the work is repository.bulk and ingest.sources.update_sheet."""
from __future__ import annotations

import secrets
from io import BytesIO
import threading
from pathlib import Path

from flask import Blueprint, abort, flash, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from ingest.errors import IngestError
from ingest.sources.update_sheet import export_rows, plan_update, write_csv, write_xlsx
from repository.access import STAFF, can_edit
from repository.bulk import BulkError, Operation
from repository.errors import Gone, NotFound, ValidationError
from repository.model import KINDS, VISIBILITIES
from search.query import QueryError, date_range

from .admin import bp as admin_bp, require
from .api import paging
from .context import archive, current_user, fangzhi, search, unfinished_ingest

bp = Blueprint("bulk", __name__, url_prefix="/admin/bulk")
LIST_FACETS = ("visibility", "kind", "collection")  # the list's filters, counted like the public search's
PREVIEW_PAGE = 50
SHEETS = {"csv": "text/csv; charset=utf-8", "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}
# repository.bulk.BulkError codes → the interface's words
MESSAGES = {
    "op": _l("未知的操作。"), "field": _l("此字段不能批量修改。"), "no_value": _l("请填写要添加或删除的值。"),
    "not_list": _l("只能向列表字段（主题、馆藏、地点、语言、其他编号）添加或删除值。"),
    "no_find": _l("请填写要查找的文字。"), "visibility": _l("请选择可见性。"),
    "pattern_long": _l("正则表达式过长（最多 %(limit)s 个字符）。"),
    "pattern_nested": _l("正则表达式含有嵌套的重复（如 (a+)+），可能永远运行不完：请改写。"),
    "pattern": _l("正则表达式或替换文字无效。"), "pattern_slow": _l("正则表达式运行过久（超过 %(seconds)s 秒）：请简化。"),
    "plan_slow": _l("正则表达式在这些藏品上运行过久：请简化或少选一些藏品。"),
    "no_op": _l("请选择要做的修改。"), "nothing": _l("此操作不会修改任何藏品。"),
    "undone": _l("任务 %(job)s 已由任务 %(by)s 撤销。"), "query": _l("检索式无法理解。"),
    "date": _l("年代不是年份、年份范围、EDTF 日期或年号。"), "no_selection": _l("请先勾选藏品，或选择“全部符合条件的藏品”。"),
}
PROBLEMS = {"missing": _l("无此藏品（或您无权查看）"), "withdrawn": _l("藏品已撤回"),
            "stale": _l("此行来自第 %(version)s 版，藏品现为第 %(current)s 版（已过时：请重新导出）"),
            "invalid": _l("修改后的著录不合格："), "unreadable": _l("此行无法读取：")}
FIELD_LABELS = {"title.zh": _l("题名（中文）"), "title.en": _l("题名（英文）"), "description.zh": _l("描述（中文）"),
                "description.en": _l("描述（英文）"), "date.edtf": _l("日期（EDTF）"), "date.display": _l("日期显示"),
                "kind": _l("类型"), "extent": _l("数量"), "rights": _l("权利"), "holding_library": _l("收藏单位"),
                "subjects": _l("主题"), "collections": _l("馆藏"), "language": _l("语言"), "identifiers": _l("其他编号"),
                "places": _l("地点")}
# a top-level field of an Item (what a job's entries hold) → its name
TOP_FIELDS = {"title": _l("题名"), "description": _l("描述"), "date": _l("日期"), "kind": _l("类型"),
              "creators": _l("创作者"), "contributors": _l("贡献者"), "places": _l("地点"), "subjects": _l("主题"),
              "language": _l("语言"), "rights": _l("权利"), "visibility": _l("可见性"),
              "embargo_until": _l("解禁日期"), "collections": _l("馆藏"), "identifiers": _l("其他编号"),
              "holding_library": _l("收藏单位"), "extent": _l("数量")}
STATE_LABELS = {"pending": _l("等待中"), "done": _l("已完成"), "conflict": _l("冲突"), "failed": _l("失败")}
OP_LABELS = {"set": _l("设为"), "add": _l("添加"), "remove": _l("删除"), "replace": _l("查找替换"),
             "visibility": _l("更改可见性"), "publish": _l("发布（公开）"), "unpublish": _l("撤下（仅馆员）")}


@bp.app_template_global()
def field_name(key: str) -> str:
    return str(TOP_FIELDS.get(key, key))


@bp.app_template_global()
def bulk_state(state: str) -> str:
    return str(STATE_LABELS.get(state, state))


def bulk_message(exc: BulkError) -> str:
    return str(MESSAGES.get(exc.code, exc.code)) % exc.values if exc.values else str(MESSAGES.get(exc.code, exc.code))


def problem_text(p) -> str:
    text = str(PROBLEMS.get(p.code, "")) % {"version": p.version, "current": p.current}
    where = (_("第 %(row)s 行", row=p.row) + " · " if p.row else "") + (p.item_id or "")
    return f"{where}: {text}{p.detail if p.code in ('invalid', 'unreadable') else ''}"


# --- the item list ------------------------------------------------------------------------------

def _filters() -> dict:
    return {name: request.args.getlist(name) for name in LIST_FACETS if request.args.getlist(name)}


def _years():
    if not request.args.get("date"):
        return None
    years = date_range(request.args["date"])
    if years is None:
        raise ValidationError([("date", "is not a year, a range (1930..1939), an EDTF date or a reign title")])
    return years


@admin_bp.get("/items")
@require(*STAFF)
def items():
    """Every item this user may see (unfinished and withdrawn ones too), as the public search finds
    them for this user (query and facets), with visibility, kind, collections, the last change and
    ingest problems; ``?incomplete=1``: only those whose ingest did not finish."""
    user, (page, per_page) = current_user(), paging()
    incomplete = bool(request.args.get("incomplete"))
    facets, total = {}, 0
    if incomplete:
        unfinished = unfinished_ingest(None)
        ids = list(reversed(list(unfinished)))
        total, ids = len(ids), ids[(page - 1) * per_page:page * per_page]
    else:
        try:
            found = search().search(request.args.get("q", "")[:500], user=user, filters=_filters(), years=_years(),
                                    sort=request.args.get("sort") or "date", page=page, per_page=per_page,
                                    facets=list(LIST_FACETS))
        except QueryError as exc:
            raise ValidationError([("q", str(exc))]) from None
        ids, total, facets = [h.item_id for h in found.hits if not h.remote], found.total, found.facets
        unfinished = unfinished_ingest(ids)
    rows = []
    for item_id in ids:
        try:
            record = archive().get_item(item_id, user=user)
        except (NotFound, Gone):
            continue
        last = archive().history(item_id, user=user)[-1]
        rows.append({"item": record.value, "version": record.version, "at": last.created, "by": last.user})
    collections = {c.id: c.title for c in archive().list_collections(user=user)}
    return render_template("admin/items.html", rows=rows, total=total, page=page, per_page=per_page,
                           unfinished=unfinished, incomplete=incomplete, facets=facets, collections=collections,
                           can_edit=can_edit(user), kinds=KINDS, visibilities=VISIBILITIES, fields=FIELD_LABELS,
                           ops=OP_LABELS, filters=_filters(), args=_list_args())


def _list_args() -> dict:
    """The list's search (for the links that keep it: paging, facets, export, select all)."""
    keep = ("q", "date", "sort", "per_page", *LIST_FACETS)
    return {k: request.args.getlist(k) for k in keep if request.args.getlist(k)}


@bp.app_template_global()
def items_url(**changes) -> str:
    """The item list's URL with a facet value toggled (``name=value``), paging reset."""
    args = _list_args()
    for name, value in changes.items():
        values = args.get(name, [])
        args[name] = [v for v in values if v != value] if value in values else [*values, value]
    return url_for("admin.items", **args)


# --- selection and operations -------------------------------------------------------------------

def _selection(form) -> list[str]:
    """The ticked items (``id``), or with ``all`` every item the list's search finds."""
    user = current_user()
    if form.get("all"):
        filters = {name: form.getlist(name) for name in LIST_FACETS if form.getlist(name)}
        if form.get("date"):
            filters["date"] = [form["date"]]
        return fangzhi().bulk.select(user=user, query=form.get("q", "")[:500], filters=filters)
    ids = form.getlist("id")
    if not ids:
        raise BulkError("no_selection", "no item selected")
    return fangzhi().bulk.select(user=user, ids=ids)


def _operation(form) -> list[Operation]:
    op = form.get("op", "")
    if op in ("visibility", "publish", "unpublish"):
        return [Operation(op, value=form.get("visibility", ""), embargo_until=form.get("embargo_until", ""))]
    return [Operation(op, form.get("field", ""), form.get("value", ""), find=form.get("find", ""),
                      replace=form.get("replace", ""), regex=bool(form.get("regex")))]


def _carried(form) -> list[tuple[str, str]]:
    """What the preview carries to its confirm button and its pages."""
    names = ("all", "q", "date", "op", "field", "value", "find", "replace", "regex", "visibility", "embargo_until",
             "id", *LIST_FACETS)
    return [(k, v) for k in names for v in form.getlist(k)]


@bp.get("/preview")
@require("admin", "archivist")
def preview():
    """Each selected item's fields before and after (paged) and the count; nothing is written."""
    form = request.args
    try:
        plan = fangzhi().bulk.plan(_selection(form), _operation(form), user=current_user())
    except BulkError as exc:
        flash(bulk_message(exc))
        return redirect(url_for("admin.items", **_list_args()))
    page = max(1, form.get("page", 1, type=int))
    shown = plan.changes[(page - 1) * PREVIEW_PAGE:page * PREVIEW_PAGE]
    return render_template("admin/bulk_preview.html", plan=plan, changes=shown, page=page, per_page=PREVIEW_PAGE,
                           carried=_carried(form), fields=FIELD_LABELS, ops=OP_LABELS, problem=problem_text,
                           apply_url=url_for("bulk.apply"), sheet=None)


@bp.post("/apply")
@require("admin", "archivist")
def apply():
    """Plan again (what is applied is what the items are now) and run it as a job."""
    try:
        plan = fangzhi().bulk.plan(_selection(request.form), _operation(request.form), user=current_user())
        job_id = fangzhi().bulk.start(plan, user=current_user(), why=request.form.get("why", ""))
    except BulkError as exc:
        flash(bulk_message(exc))
        return redirect(url_for("admin.items"))
    start(job_id)
    return redirect(url_for("bulk.job", job_id=job_id), 303)


def start(job_id: str) -> threading.Thread:
    """Run the job's pending entries in the background (as the user who asked)."""
    user, bulk = current_user(), fangzhi().bulk
    thread = threading.Thread(target=bulk.run, args=(job_id,), kwargs={"user": user}, daemon=True,
                              name=f"bulk-{job_id}")
    thread.start()
    return thread


# --- jobs ---------------------------------------------------------------------------------------

@bp.get("/")
@require("admin", "archivist")
def jobs():
    return render_template("admin/bulk_jobs.html", jobs=fangzhi().bulk.store.jobs())


@bp.get("/jobs/<job_id>")
@require("admin", "archivist")
def job(job_id):
    """A job's progress: its entries (the items this user may see), states, and undo."""
    store, user = fangzhi().bulk.store, current_user()
    found = store.job(job_id)
    if found is None:
        abort(404)
    page, per_page = paging()
    entries, hidden = [], 0
    for e in store.entries(job_id, limit=per_page, offset=(page - 1) * per_page):
        try:
            archive().get_item(e.item_id, user=user)
            entries.append(e)
        except (NotFound, Gone):
            hidden += 1  # another user's job over items this user may not see: counted, not shown
    total = sum(found.counts.values())
    return render_template("admin/bulk_job.html", job=found, entries=entries, hidden=hidden, total=total, page=page,
                           per_page=per_page, running=bool(found.counts.get("pending")), fields=FIELD_LABELS,
                           undone_by=store.undone_by(job_id))


@bp.post("/jobs/<job_id>/undo")
@require("admin", "archivist")
def undo(job_id):
    try:
        new_job = fangzhi().bulk.undo(job_id, user=current_user(), why=request.form.get("why", ""))
    except BulkError as exc:
        flash(bulk_message(exc))
        return redirect(url_for("bulk.job", job_id=job_id), 303)
    start(new_job)
    return redirect(url_for("bulk.job", job_id=new_job), 303)


@bp.post("/jobs/<job_id>/resume")
@require("admin", "archivist")
def resume(job_id):
    """Continue a job interrupted (by a restart) before all its entries ran."""
    if fangzhi().bulk.store.job(job_id) is None:
        abort(404)
    start(job_id)
    return redirect(url_for("bulk.job", job_id=job_id), 303)


# --- spreadsheets -------------------------------------------------------------------------------

@bp.get("/export.csv", defaults={"fmt": "csv"})
@bp.get("/export.xlsx", defaults={"fmt": "xlsx"})
@require("admin", "archivist")
def export(fmt):
    """The selection (ticked ids, or all the list's search finds) in the manifest template's
    columns with id and version, formulas neutralised."""
    user = current_user()
    try:
        ids = _selection(request.args)
    except BulkError as exc:
        flash(bulk_message(exc))
        return redirect(url_for("admin.items"))
    records = []
    for item_id in ids:
        try:
            records.append(archive().get_item(item_id, user=user))
        except (NotFound, Gone):
            continue
    rows = export_rows(records)
    body = write_xlsx(rows) if fmt == "xlsx" else write_csv(rows)
    return send_file(BytesIO(body), mimetype=SHEETS[fmt], as_attachment=True, download_name=f"fangzhi-items.{fmt}")


def _sheets() -> Path:
    return fangzhi().work_dir / "bulk-sheets"


def _sheet(token: str) -> Path:
    found = [p for p in _sheets().glob(f"{token}.*")] if token.isalnum() else []
    if not found:
        abort(404)
    return found[0]


@bp.route("/update", methods=["GET", "POST"])
@require("admin", "archivist")
def update():
    """Upload an edited export: its preview (only the changed cells; stale rows refused)."""
    if request.method == "GET":
        return render_template("admin/bulk_update.html")
    upload = request.files.get("sheet")
    suffix = Path(upload.filename or "").suffix.lower() if upload else ""
    if not upload or suffix not in (".csv", ".xlsx"):
        flash(_("请选择导出后编辑过的 CSV 或 Excel（.xlsx）文件。"))
        return redirect(url_for("bulk.update"))
    token = secrets.token_hex(12)
    _sheets().mkdir(parents=True, exist_ok=True)
    path = _sheets() / f"{token}{suffix}"
    upload.save(path)
    return _sheet_preview(path, token)


@bp.get("/update/<token>")
@require("admin", "archivist")
def update_preview(token):
    return _sheet_preview(_sheet(token), token)


def _sheet_preview(path: Path, token: str):
    try:
        plan = plan_update(path, archive(), fangzhi().bulk, current_user())
    except IngestError as exc:
        path.unlink(missing_ok=True)
        flash(_("无法读取此表格：%(reason)s", reason=str(exc).split(": ", 1)[-1]))
        return redirect(url_for("bulk.update"))
    page = max(1, request.args.get("page", 1, type=int))
    shown = plan.changes[(page - 1) * PREVIEW_PAGE:page * PREVIEW_PAGE]
    return render_template("admin/bulk_preview.html", plan=plan, changes=shown, page=page, per_page=PREVIEW_PAGE,
                           carried=[], fields=FIELD_LABELS, ops=OP_LABELS, problem=problem_text, sheet=token,
                           apply_url=url_for("bulk.update_apply", token=token))


@bp.post("/update/<token>/apply")
@require("admin", "archivist")
def update_apply(token):
    path = _sheet(token)
    try:
        plan = plan_update(path, archive(), fangzhi().bulk, current_user())
        job_id = fangzhi().bulk.start(plan, user=current_user(), kind="update",
                                      why=request.form.get("why", "") or _("表格更新"))
    except (BulkError, IngestError) as exc:
        flash(bulk_message(exc) if isinstance(exc, BulkError) else str(exc))
        return redirect(url_for("bulk.update"))
    path.unlink(missing_ok=True)
    start(job_id)
    return redirect(url_for("bulk.job", job_id=job_id), 303)
