"""Exhibitions: /exhibitions (the published ones), /exhibitions/<id> (a reader's page, every block
through the access policy; curators preview the draft), its IIIF Collection, and the curators'
editor (/exhibitions/new, /exhibitions/<id>/edit, publish, unpublish). Thin: exhibitions.service
decides."""
from __future__ import annotations

import re

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from iiif import presentation
from iiif.identifiers import image_identifier
from repository.access import CURATORS, can_curate
from repository.errors import Conflict
from exhibitions.model import KINDS, N_, ExhibitionError
from exhibitions.service import Exhibitions
from exhibitions.text import render as markdown

from .admin import require
from .context import current_user, fangzhi
from .iiif_presentation import answer, links, publisher

bp = Blueprint("exhibitions", __name__, url_prefix="/exhibitions")
bp.add_app_template_filter(markdown, "markdown")
bp.add_app_template_global(image_identifier, "image_identifier")
KIND_LABELS = {"item": N_("条目卡片"), "region": N_("图像局部"), "gallery": N_("画廊"), "clip": N_("访谈片段"),
               "quote": N_("识别文字引文"), "timeline": N_("时间线"), "map": N_("地图")}
STALE = N_("有人在您编辑期间保存了新版本：请重新打开编辑页")


def exhibitions() -> Exhibitions:
    return fangzhi().exhibitions


@bp.app_template_global()
def kind_of_block(kind: str) -> str:
    return _(KIND_LABELS[kind])


@bp.app_template_global()
def latest_exhibitions(limit: int = 1):
    """The newest published exhibitions with their cover as the reader may see it (the home page)."""
    user = current_user()
    return [(e, exhibitions().cover_of(e.cover, user) if e.cover else None) for e, _at in
            exhibitions().published(limit=limit)]


@bp.get("")
def index():
    user = current_user()
    drafts = exhibitions().all(user=user) if can_curate(user) else []
    return render_template("exhibitions.html", shown=latest_exhibitions(100), drafts=drafts)


@bp.get("/<ident>")
def page(ident):
    user = current_user()
    exhibition, record = exhibitions().get(ident, user=user, version=request.args.get("version", type=int))
    shown = exhibitions().page(exhibition, record, user=user)
    published = exhibitions().published_record(ident)
    return render_template("exhibition.html", page=shown, preview=can_curate(user) and (
        published is None or published.version != record.version), tiles=fangzhi().settings["MAP_TILE_URL"],
        attribution=fangzhi().settings["MAP_ATTRIBUTION"])


@bp.get("/<ident>/iiif")
def iiif(ident):
    """The exhibition's items as a IIIF Presentation 3.0 Collection (§5.2), as the reader may see them."""
    user = current_user()
    exhibition, record = exhibitions().get(ident, user=user)
    shown = exhibitions().page(exhibition, record, user=user)
    url = url_for("exhibitions.iiif", ident=ident, _external=True)
    body = presentation.items_collection(url, exhibition.title, shown.items, links(), publisher(),
                                         summary=exhibition.summary,
                                         homepage=url_for("exhibitions.page", ident=ident, _external=True))
    return answer(body)


# --- the curators' editor ---------------------------------------------------------------------

@bp.route("/new", methods=["GET", "POST"])
@require(*CURATORS)  # signed in: no token makes exhibitions
def new():
    return _editor(None)


@bp.route("/<ident>/edit", methods=["GET", "POST"])
@require(*CURATORS)
def edit(ident):
    return _editor(ident)


def _editor(ident: str | None):
    user, problems = current_user(), []
    if request.method == "POST":
        data, version, action = read_form(request.form)
        if action == "save":
            try:
                saved = exhibitions().save(data, user=user, expected_version=version, why=request.form.get("why", ""))
            except ExhibitionError as exc:
                problems = exc.raw
            except Conflict:
                problems = [("version", STALE, {})]
            else:
                flash(_("已保存草稿（第 %(n)s 版）。", n=saved.version))
                return redirect(url_for("exhibitions.edit", ident=data["id"]))
        elif action == "add-section":
            data["sections"].append({"heading": {}, "text": {}, "blocks": []})
        elif action.startswith("add-block-"):
            n = int(action.rsplit("-", 1)[1]) if action.rsplit("-", 1)[1].isdigit() else -1
            kind = request.form.get(f"s{n}-newkind")
            if 0 <= n < len(data["sections"]) and kind in KINDS:
                data["sections"][n]["blocks"].append({"kind": kind})
    elif ident:
        exhibition, record = exhibitions().get(ident, user=user)
        data, version = exhibition.to_dict(), record.version
    else:
        data, version = {"id": "", "title": {}, "sections": []}, 0
    warnings, history, published = [], [], None
    if ident:
        exhibition, record = exhibitions().get(ident, user=user)
        warnings = exhibitions().warnings(exhibition, user=user)
        history = exhibitions().history(ident, user=user)
        published = exhibitions().published_record(ident)
    errors = {field_id(f): _(m) % v for f, m, v in problems}
    return render_template("exhibition_edit.html", data=data, version=version, ident=ident, kinds=KINDS,
                           problems=[(field_id(f), _(m) % v) for f, m, v in problems], errors=errors,
                           warnings=[(field_id(f), _(m) % v) for f, m, v in warnings], history=history,
                           published=published), 400 if problems else 200


@bp.post("/<ident>/publish")
@require(*CURATORS)
def publish(ident):
    return _set_status(ident, "publish")


@bp.post("/<ident>/unpublish")
@require(*CURATORS)
def unpublish(ident):
    return _set_status(ident, "unpublish")


def _set_status(ident, action):
    version = request.form.get("version", type=int) or 0
    try:
        getattr(exhibitions(), action)(ident, user=current_user(), expected_version=version,
                                       why=request.form.get("why", ""))
    except Conflict:
        flash(_(STALE))
        return redirect(url_for("exhibitions.edit", ident=ident))
    flash(_("已发布。") if action == "publish" else _("已撤下：读者不再看到此展览。"))
    return redirect(url_for("exhibitions.page", ident=ident) if action == "publish"
                    else url_for("exhibitions.edit", ident=ident))


FIELD = re.compile(r"^s(\d+)-(?:b(\d+)-)?([a-z]+)(?:-(zh|en))?$")


def read_form(form) -> tuple[dict, int, str]:
    """The editor's form as an exhibition dict (sections and blocks in their numbered order; those
    marked for removal left out), the version it was made from, and the button pressed."""
    data = {"id": form.get("id", "").strip(), "cover": form.get("cover", "").strip() or None,
            **{k: {lang: form.get(f"{k}-{lang}", "") for lang in ("zh", "en")} for k in ("title", "subtitle", "summary")}}
    sections: dict[int, dict] = {}
    for key, value in form.items():
        match = FIELD.match(key)
        if not match:
            continue
        n, m, name, lang = int(match[1]), match[2], match[3], match[4]
        section = sections.setdefault(n, {"heading": {}, "text": {}, "blocks": {}})
        target = section if m is None else section["blocks"].setdefault(int(m), {"caption": {}})
        if lang:
            target.setdefault(name, {})[lang] = value
        else:
            target[name] = value
    out = []
    for n in sorted(sections)[:100]:
        s = sections[n]
        if s.pop("remove", None):
            continue
        blocks = [b for _m, b in sorted(s["blocks"].items())[:100] if not b.pop("remove", None)]
        s.pop("newkind", None)
        out.append({"heading": s.get("heading", {}), "text": s.get("text", {}), "blocks": blocks})
    data["sections"] = out
    return data, form.get("version", type=int) or 0, form.get("action", "save")


def field_id(path: str) -> str:
    """The form field of a problem's path: sections[0].blocks[1].region[2] → s0-b1-region."""
    out = re.sub(r"sections\[(\d+)\]\.?", r"s\1-", path)
    out = re.sub(r"blocks\[(\d+)\]\.?", r"b\1-", out)
    out = re.sub(r"\[\d+\]", "", out).replace(".", "-")
    return out.rstrip("-") or "exhibition"
