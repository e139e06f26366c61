"""Reviewed corrections (corrections.service): proposing corrected OCR lines beside their image
region and corrected transcript cues beside the player, and the archivists' review queue."""
from __future__ import annotations

from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from corrections.service import MAX_CHARS, CorrectionRefused, Corrections
from iiif.identifiers import image_identifier
from oral_history.player import player
from repository.errors import Conflict

from .admin import require
from .context import archive, current_user, fangzhi

bp = Blueprint("corrections", __name__)
MAX_LINES = 2000  # proposals one form may send

MESSAGES = {
    "not_allowed": _l("只有馆员（以及管理员开放志愿校对后，已登录的读者）可以提出校对。"),
    "volunteers_off": _l("志愿校对未开放：请联系管理员。"),
    "not_reviewer": _l("只有档案员或管理员可以审核校对。"),
    "too_long": _l("“%(field)s”超过 %(limit)s 个字符。"),
    "control": _l("“%(field)s”含有控制字符或文字方向控制符，请删去。"),
    "empty": _l("校对后的文字不能为空。"),
    "unchanged": _l("校对后的文字与原文相同。"),
    "too_many": _l("您待审核的校对已有 %(limit)s 条，请等审核后再提出。"),
    "stale": _l("这条校对所依据的文本已经改变（已有其他校对被接受，或文字已重新识别）：请重新打开页面，对照当前文本再提出。"),
    "no_place": _l("没有这一行或这一条字幕。"),
    "not_ocr": _l("这个文件不是 OCR 文本。"),
    "no_proposal": _l("没有这条校对。"),
    "decided": _l("这条校对已经审核过了。"),
    "own": _l("不能审核自己提出的校对：请另一位档案员或管理员审核。"),
}
FIELDS = {"after": _l("校对后的文字"), "note": _l("说明"), "reason": _l("理由")}


def service() -> Corrections:
    return fangzhi().corrections


def message(exc: CorrectionRefused) -> str:
    values = {**exc.values, "field": FIELDS.get(exc.values.get("field"), exc.values.get("field", ""))}
    return str(MESSAGES[exc.code]) % values if "%(" in str(MESSAGES[exc.code]) else str(MESSAGES[exc.code])


@bp.app_errorhandler(CorrectionRefused)
def refused(exc: CorrectionRefused):
    body = {"error": exc.code, "message": message(exc)}
    if request.accept_mimetypes.best == "application/json":
        return body, exc.status
    return render_template("error.html", status=exc.status, error=body), exc.status


def _may_propose(user) -> None:
    if not service().may_propose(user):
        raise CorrectionRefused("volunteers_off" if user.has_role("member", "researcher") else "not_allowed", 403)


signed_in = require(allowed=_may_propose)  # a signed-in account (never an API token) that may propose corrections


@bp.app_template_global()
def correctors(item_id: str) -> list[tuple[str, int]]:
    """Who corrected the item's text (accepted proposals), for the item page's credit line."""
    return service().credits(item_id)


@bp.app_template_global()
def may_correct() -> bool:
    return service().may_propose(current_user()) and not g.get("fz_token")


def _propose(item_id: str, target: str, file_id: str, prefix: str, version: int) -> list[str]:
    """A proposal for each changed field ``<prefix><place>`` of the form; the problems, by place."""
    problems, made = {}, 0
    fields = [(k[len(prefix):], v) for k, v in request.form.items() if k.startswith(prefix)][:MAX_LINES]
    originals = {k[len("was-"):]: v for k, v in request.form.items() if k.startswith("was-")}
    for place, text in fields:
        if text.strip() == (originals.get(place) or "").strip():
            continue  # not changed in the form
        try:
            service().propose(item_id, target, file_id, place, text, user=current_user(), version=version,
                              seen=originals.get(place), note=request.form.get("note", ""))
            made += 1
        except CorrectionRefused as exc:
            if exc.code in ("not_allowed", "volunteers_off", "too_many", "stale"):
                raise
            if exc.code != "unchanged":  # a field sent as it was is no proposal
                problems[place] = message(exc)
    if made:
        flash(_("已提交 %(n)s 条校对，等待档案员审核。", n=made))
    elif not problems:
        flash(_("没有改动。"))
    return problems


@bp.route("/items/<item_id>/corrections/ocr/<file_id>", methods=["GET", "POST"])
@signed_in
def ocr(item_id, file_id):
    """One page's OCR lines, each beside its image region, low-confidence characters marked."""
    problems, seen_at = {}, request.values.get("version", type=int) or 0
    # a page read (or a link made) before the OCR was replaced: the page's OCR file now
    file_id = service().current_ocr(item_id, file_id, seen_at, current_user())
    if request.method == "POST":
        problems = _propose(item_id, "ocr", file_id, "line-", seen_at)
        if not problems:
            return redirect(url_for("corrections.ocr", item_id=item_id, file_id=file_id))
    item, file, page, version = service().ocr_page(item_id, file_id, user=current_user())
    visible = archive().visible_files(item, user=current_user())
    pyramid = next((f for f in visible if f.purpose == "pyramid" and f.derived_from == file.derived_from
                    and f.sequence == file.sequence), None)
    image = image_identifier(item_id, pyramid) if pyramid else None
    pending = {p.place for p in service().store.list(item_id=item_id) if p.file_id == file.id}
    pages = service().ocr_pages(item, user=current_user())
    return render_template("corrections/ocr.html", item=item, file=file, page=page, version=version, image=image,
                           problems=problems, pending=pending, pages=pages, max_chars=MAX_CHARS,
                           sent=request.form if problems else {}), 400 if problems else 200


@bp.route("/items/<item_id>/corrections/transcript", methods=["GET", "POST"])
@signed_in
def transcript(item_id):
    """The transcript cues the user may read, beside the player, each with a field to correct it."""
    item, rows, version, file = service().transcript(item_id, user=current_user())
    problems = {}
    if request.method == "POST":
        if file is None:
            abort(404)
        problems = _propose(item_id, "transcript", file.id, "cue-", request.form.get("version", type=int) or 0)
        if not problems:
            return redirect(url_for("corrections.transcript", item_id=item_id))
    av = player(archive(), item, user=current_user())
    return render_template("corrections/transcript.html", item=item, rows=rows,
                           restricted=service().restricted_places(item),
                           version=version, av=av, problems=problems, max_chars=MAX_CHARS,
                           sent=request.form if problems else {}), 400 if problems else 200


@bp.get("/admin/corrections")
def queue():
    """The review queue: proposals awaiting a second person, oldest first (archivists, admins)."""
    user = current_user()
    if g.get("fz_token"):
        abort(403, _("API 令牌不能打开管理页面：请登录。"))
    if user.is_anonymous:
        return redirect(url_for("auth.login", next=request.full_path))
    state = request.args.get("state", "proposed")
    if state not in ("proposed", "accepted", "rejected"):
        abort(400)
    return render_template("corrections/queue.html", proposals=service().queue(user=user, state=state), state=state)


@bp.post("/admin/corrections/<int:proposal_id>/<any(accept, reject):decision>")
def decide(proposal_id, decision):
    user = current_user()
    if g.get("fz_token") or user.is_anonymous:
        abort(403)
    try:
        if decision == "accept":
            service().accept(proposal_id, user=user)
            flash(_("已接受校对，文本已更新。"))
        else:
            service().reject(proposal_id, user=user, reason=request.form.get("reason", ""))
            flash(_("已退回校对。"))
    except CorrectionRefused as exc:
        if exc.status == 403:
            raise
        flash(message(exc))
    except Conflict:  # another reviewer's decision was written a moment before
        flash(message(CorrectionRefused("stale", 409)))
    return redirect(url_for("corrections.queue"))
