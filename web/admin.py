"""The staff area under /admin: users, API tokens, the audit log, adding and editing items."""
from __future__ import annotations

from functools import wraps

from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _

from repository.access import ROLES, STAFF, can_manage
from repository.accounts import SCOPES
from repository.errors import ValidationError
from repository.model import AGENT_TYPES, FILE_ACCESS, KINDS, VIEWING_DIRECTIONS, VISIBILITIES
from repository.vocab import RIGHTS

from . import item_form
from .auth import accounts
from .context import archive, authorities, current_user, fangzhi, members
from .uploads import new_files, upload_route

bp = Blueprint("admin", __name__, url_prefix="/admin")


def require(*roles, allowed=None):
    """Only signed-in users with one of ``roles`` (or, with ``allowed``, those it lets in: it
    aborts otherwise); API tokens never open the staff area; anonymous users are sent to the
    login page."""
    def decorate(view):
        @wraps(view)
        def wrapped(*args, **kwargs):
            user = current_user()
            if g.get("fz_token"):
                abort(403, _("API 令牌不能打开管理页面：请登录。"))
            if user.is_anonymous:
                return redirect(url_for("auth.login", next=request.full_path))
            if allowed is not None:
                allowed(user)
            elif not user.has_role(*roles):
                abort(403)
            return view(*args, **kwargs)
        return wrapped
    return decorate


@bp.get("/")
@require("admin", "archivist", "curator")
def index():
    """The staff area opens on the dashboard (fangzhi.figures, for what this user may see)."""
    from fangzhi.figures import figures

    from .dashboard_views import charts

    found = figures(fangzhi(), current_user())
    return render_template("admin/index.html", can_manage=can_manage(current_user()), figures=found,
                           charts=charts(found, str(get_locale())))


@bp.route("/users", methods=["GET", "POST"])
@require("admin")
def users():
    problems = []
    if request.method == "POST":
        try:
            accounts().add_user(request.form.get("username", "").strip(), request.form.get("password", ""),
                                request.form.getlist("roles"), display_name=request.form.get("display_name", ""),
                                by=current_user())
            flash(_("已添加用户。"))
            return redirect(url_for("admin.users"))
        except ValidationError as exc:
            problems = exc.problems
    return render_template("admin/users.html", users=accounts().users(by=current_user()), roles=ROLES,
                           problems=problems), 400 if problems else 200


@bp.post("/users/<username>/roles")
@require("admin")
def set_roles(username):
    accounts().set_roles(username, request.form.getlist("roles"), by=current_user())
    return redirect(url_for("admin.users"))


@bp.post("/users/<username>/<any(disable, enable):action>")
@require("admin")
def disable(username, action):
    accounts().set_disabled(username, action == "disable", by=current_user())
    return redirect(url_for("admin.users"))


@bp.route("/tokens", methods=["GET", "POST"])
@require("admin")
def tokens():
    secret, problems = None, []
    if request.method == "POST":
        try:
            secret, _token = accounts().create_token(request.form.get("name", ""), request.form.getlist("scopes"),
                                                      by=current_user())
        except ValidationError as exc:
            problems = exc.problems
    return render_template("admin/tokens.html", tokens=accounts().tokens(by=current_user()), scopes=SCOPES,
                           secret=secret, problems=problems), 400 if problems else 200


@bp.post("/tokens/<int:token_id>/revoke")
@require("admin")
def revoke(token_id):
    accounts().revoke_token(token_id, by=current_user())
    return redirect(url_for("admin.tokens"))


@bp.route("/alliance", methods=["GET", "POST"])
@require("admin")
def alliance():
    """The alliance's members, how their harvests went, a harvest button, adding a member."""
    from alliance.members import Member
    from repository.errors import Conflict

    problems = []
    if request.method == "POST":
        form = request.form
        try:
            members().add(Member(form.get("name", "").strip(), form.get("oai_url", "").strip(),
                                 api_url=form.get("api_url", "").strip() or None, token=form.get("token", "").strip(),
                                 label_zh=form.get("label_zh", "").strip(), label_en=form.get("label_en", "").strip()))
            flash(_("已添加成员馆。"))
            return redirect(url_for("admin.alliance"))
        except ValidationError as exc:
            problems = exc.problems
        except Conflict:
            problems = [("name", _("已有同名的成员馆。"))]
    return render_template("admin/alliance.html", members=members().list(), problems=problems,
                           running=fangzhi().harvester.running), 400 if problems else 200


@bp.post("/alliance/harvest")
@require("admin")
def alliance_harvest():
    names = [n for n in request.form.getlist("member") if n]
    for name in names:
        members().get(name)  # NotFound: 404
    if fangzhi().harvester.start(names) is None:
        flash(_("已有采集正在进行，请稍后再试。"))
    else:
        flash(_("已开始采集，稍后刷新本页查看结果。"))
    return redirect(url_for("admin.alliance"))


@bp.post("/alliance/<name>/remove")
@require("admin")
def alliance_remove(name):
    from alliance.harvest import remove_member

    h = fangzhi().harvester
    remove_member(h.members, h.store, h.union, name)
    flash(_("已移除成员馆及其采集的记录。"))
    return redirect(url_for("admin.alliance"))


@bp.app_template_filter("harvest_error")
def harvest_error(stored: str | None) -> str:
    """A stored harvest error in the reader's language."""
    from alliance.records import error_text

    return error_text(stored, _)


@bp.get("/audit")
@require("admin", "archivist")
def audit():
    """Changes to records (all, or one object's), or with ?log=auth sign-ins and token use: newest first, paged."""
    from .api import paging

    object_id = request.args.get("object") or None
    log = "auth" if request.args.get("log") == "auth" and not object_id else "records"
    page, per_page = paging()
    offset = (page - 1) * per_page
    if log == "auth":
        store = accounts().store
        events, total = store.events(limit=per_page, offset=offset), store.count_events()
    else:
        catalog = archive().catalog
        events = catalog.events(object_id, limit=per_page, offset=offset)[::-1]
        total = catalog.count_events(object_id)
    return render_template("admin/audit.html", log=log, events=events, total=total, page=page, per_page=per_page,
                           object_id=object_id)


# /admin/items, the staff item list with its bulk actions: web/bulk_views.py


@bp.get("/items/<item_id>/preservation")
@require(*STAFF)
def preservation(item_id):
    """An item's technical metadata (PRONOM identification, digests) and preservation events."""
    record = archive().get_item(item_id, user=current_user())
    files = archive().visible_files(record.value, user=current_user())
    events = archive().preservation_events(item_id, user=current_user())
    names = {f.id: f.path.rsplit("/", 1)[-1] for f in record.value.files}
    return render_template("admin/preservation.html", item=record.value, files=files, events=events, names=names,
                           originals=[f for f in files if f.role == "original"])


@bp.get("/items/<item_id>/premis.xml")
@require(*STAFF)
def premis(item_id):
    """The item's preservation events as PREMIS 3 XML (as in a BagIt export)."""
    from repository.premis import premis_file, premis_xml

    record = archive().get_item(item_id, user=current_user())
    files = [premis_file(f) for f in archive().visible_files(record.value, user=current_user()) if f.role == "original"]
    body = premis_xml(item_id, files, archive().preservation_events(item_id, user=current_user()))
    return body, 200, {"Content-Type": "application/xml; charset=utf-8",
                       "Content-Disposition": f"attachment; filename={item_id}-premis.xml"}


def form_context(**extra) -> dict:
    return {"kinds": KINDS, "visibilities": VISIBILITIES, "rights_options": RIGHTS, "agent_types": AGENT_TYPES,
            "file_access": FILE_ACCESS, "viewing_directions": VIEWING_DIRECTIONS,
            "langs": item_form.langs, "lines": item_form.lines, "agent_rows": item_form.agent_rows,
            "place_rows": item_form.place_rows, "file_rows": item_form.file_rows, "authority_brief": authorities().brief,
            "collections": archive().list_collections(user=current_user()), **extra}


@bp.route("/items/new", methods=["GET", "POST"])
@require("admin", "archivist")
@upload_route()
def new_item():
    values, problems = {"kind": "photo", "visibility": "staff"}, []
    if request.method == "POST":
        data = item_form.changes(request.form)
        try:
            item_form.check_about(data, {}, authorities().brief)
            record = archive().create_item(data, new_files(request.files.getlist("files")),
                                           user=current_user(), why=request.form.get("why", ""))
            flash(_("已入藏。"))
            return redirect(url_for("public.item", item_id=record.value.id))
        except ValidationError as exc:
            problems, values = exc.problems, item_form.merged(values, data)
    return render_template("admin/item_form.html", item=None, values=values, problems=problems,
                           **form_context()), 400 if problems else 200


@bp.route("/items/<item_id>/edit", methods=["GET", "POST"])
@require("admin", "archivist")
@upload_route()
def edit_item(item_id):
    record = archive().get_item(item_id, user=current_user())
    values, problems = record.value.to_dict(), []
    if request.method == "POST":
        version = request.form.get("version", type=int) or 0
        why = request.form.get("why", "")
        data = item_form.changes(request.form, values)
        try:
            if request.form.get("action") not in ("withdraw", "reinstate"):
                item_form.check_about(data, values, authorities().brief)
            if request.form.get("action") == "withdraw":
                archive().withdraw_item(item_id, user=current_user(), reason=why, expected_version=version)
            elif request.form.get("action") == "reinstate":
                archive().reinstate_item(item_id, user=current_user(), why=why)
            else:
                archive().update_item(item_id, data, expected_version=version,
                                      user=current_user(), why=why,
                                      add_files=new_files(request.files.getlist("files"),
                                                          first_sequence=len(record.value.originals) + 1))
            flash(_("已保存。"))
            return redirect(url_for("public.item", item_id=item_id))
        except ValidationError as exc:
            problems, values = exc.problems, item_form.merged(values, data)  # shown again as sent
    return render_template("admin/item_form.html", item=record.value, version=record.version, values=values,
                           problems=problems, **form_context()), 400 if problems else 200
