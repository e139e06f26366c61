"""The JSON API: thin views over the repository services (described in /api/openapi.json later)."""
from __future__ import annotations

from flask import Blueprint, current_app, request, url_for
from werkzeug.exceptions import BadRequest

from repository.access import is_staff
from repository.errors import ValidationError

from .context import archive, current_user, page_size
from .uploads import new_files, upload_route

bp = Blueprint("api", __name__, url_prefix="/api")
MAX_PER_PAGE = 100
MAX_PAGE = 1_000_000


def paging() -> tuple[int, int]:
    try:
        page = max(1, int(request.args.get("page", 1)))
        per_page = min(MAX_PER_PAGE, max(1, int(request.args.get("per_page", page_size()))))
    except ValueError:
        raise ValidationError([("page", "page and per_page must be whole numbers")]) from None
    if page > MAX_PAGE:
        raise ValidationError([("page", f"must be at most {MAX_PAGE}")])
    return page, per_page


def links(item_id: str) -> dict:
    return {"self": url_for("api.item", item_id=item_id, _external=True),
            "html": url_for("public.item", item_id=item_id, _external=True),
            "iiif_manifest": url_for("iiif_presentation.manifest", item_id=item_id, _external=True)}


def item_summary(item) -> dict:
    return {"id": item.id, "kind": item.kind, "title": item.title, "date": item.date,
            "collections": item.collections, "links": links(item.id)}


def item_json(record) -> dict:
    item = record.value
    files = archive().record_files(record, user=current_user())
    past = None if record.latest else record.version
    return {**item.to_dict(), "version": record.version, "created": record.created, "updated": record.updated,
            "links": links(item.id),
            "files": [{**f.__dict__, "url": url_for("public.file", item_id=item.id, file_id=f.id, version=past,
                                                    _external=True)} for f in files],
            "restricted_files": len(item.files) - len(files)}


def list_json(items, total, page, per_page, endpoint, **args) -> dict:
    more = page * per_page < total
    return {"total": total, "page": page, "per_page": per_page, "items": [item_summary(i) for i in items],
            "next": url_for(endpoint, page=page + 1, per_page=per_page, _external=True, **args) if more else None}


@bp.get("/items")
def items():
    page, per_page = paging()
    collection = request.args.get("collection") or None
    found, total = archive().list_items(user=current_user(), collection=collection,
                                        limit=per_page, offset=(page - 1) * per_page)
    args = {"collection": collection} if collection else {}
    return list_json(found, total, page, per_page, "api.items", **args)


@bp.get("/items/<item_id>")
def item(item_id):
    version = request.args.get("version", type=int)
    record = archive().get_item(item_id, user=current_user(), version=version)
    return item_json(record), {"ETag": f'"{record.version}"'}


@bp.get("/items/<item_id>/versions")
def versions(item_id):
    """Version numbers and dates; who and why only for staff (the service leaves them empty otherwise)."""
    staff = is_staff(current_user())
    return {"item": item_id, "versions": [
        {"version": v.number, "created": v.created, **({"user": v.user, "message": v.message} if staff else {})}
        for v in archive().history(item_id, user=current_user())]}


@bp.get("/collections")
def collections():
    return {"collections": [collection_json(c) for c in archive().list_collections(user=current_user())]}


@bp.get("/collections/<collection_id>")
def collection(collection_id):
    record = archive().get_collection(collection_id, user=current_user())
    page, per_page = paging()
    found, total = archive().list_items(user=current_user(), collection=collection_id,
                                        limit=per_page, offset=(page - 1) * per_page)
    return {**collection_json(record.value), "version": record.version,
            "subcollections": [collection_json(c) for c in
                               archive().list_collections(user=current_user(), parent=collection_id)],
            "items": list_json(found, total, page, per_page, "api.collection", collection_id=collection_id)}


def collection_json(col) -> dict:
    return {**col.to_dict(), "links": {"self": url_for("api.collection", collection_id=col.id, _external=True),
                                       "html": url_for("public.collection", collection_id=col.id, _external=True)}}


# --- writing (Bearer token with the write scope, or a staff session sending X-CSRFToken) ----------

def _writer():
    from flask import g

    from .auth import csrf

    user = current_user()
    if not g.get("fz_token") and not user.is_anonymous:
        try:
            csrf.protect()  # a browser session must prove the request came from our own page
        except AttributeError:  # Flask-WTF trips over a multipart part without a name
            raise BadRequest("the CSRF token is missing") from None
    return user


@bp.post("/items")
@upload_route()
def create_item():
    """Create an item: JSON metadata, or multipart with a `metadata` JSON part and `files` parts."""
    user = _writer()
    if request.mimetype == "multipart/form-data":
        try:
            data = current_app.json.loads(request.form.get("metadata") or "{}")
        except ValueError as exc:
            raise ValidationError([("metadata", f"is not valid JSON: {exc}")]) from None
        files = new_files(request.files.getlist("files"))
    else:
        data, files = request.get_json(silent=True), []
    if not isinstance(data, dict):
        raise ValidationError([("metadata", "send a JSON object with the item's fields")])
    record = archive().create_item(data, files, user=user, why=request.headers.get("X-Fangzhi-Why", ""))
    return item_json(record), 201, {"Location": url_for("api.item", item_id=record.value.id)}


@bp.patch("/items/<item_id>")
def update_item(item_id):
    """Change fields of an item. The version edited is sent as If-Match (the ETag of GET)."""
    user = _writer()
    expected = request.headers.get("If-Match", "").strip('W/"')
    if not expected.isdigit():
        raise ValidationError([("If-Match", "send the version you edited, e.g. If-Match: \"3\"")])
    changes = request.get_json(silent=True)
    if not isinstance(changes, dict):
        raise ValidationError([("body", "send a JSON object with the fields to change")])
    record = archive().update_item(item_id, changes, expected_version=int(expected), user=user,
                                   why=request.headers.get("X-Fangzhi-Why", ""))
    return item_json(record)


@bp.post("/items/<item_id>/withdraw")
def withdraw_item(item_id):
    user = _writer()
    body = request.get_json(silent=True) or {}
    record = archive().withdraw_item(item_id, user=user, reason=str(body.get("reason", "")))
    return item_json(record)


def _expected_version() -> int:
    expected = request.headers.get("If-Match", "").strip('W/"')
    if not expected.isdigit():
        raise ValidationError([("If-Match", "send the version you edited, e.g. If-Match: \"3\"")])
    return int(expected)


def _body() -> dict:
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise ValidationError([("body", "send a JSON object")])
    return body


@bp.post("/collections")
def create_collection():
    """Create a collection (``parent`` nests it; ``position`` orders it among its siblings)."""
    user = _writer()
    data = _body()
    record = archive().create_collection(data, user=user, why=request.headers.get("X-Fangzhi-Why", ""))
    return {**collection_json(record.value), "version": record.version}, 201, {
        "Location": url_for("api.collection", collection_id=record.value.id)}


@bp.patch("/collections/<collection_id>")
def update_collection(collection_id):
    """Change fields of a collection (a new ``parent`` inside it is refused: a loop); If-Match: its version."""
    user = _writer()
    record = archive().update_collection(collection_id, _body(), expected_version=_expected_version(), user=user,
                                         why=request.headers.get("X-Fangzhi-Why", ""))
    return {**collection_json(record.value), "version": record.version}


@bp.post("/collections/<collection_id>/move")
def move_collection(collection_id):
    """Nest a collection under ``parent`` (null: the top level) at ``position`` among its siblings."""
    user = _writer()
    body = _body()
    position = body.get("position")
    if position is not None and (not isinstance(position, int) or isinstance(position, bool) or position < 0):
        raise ValidationError([("position", "must be a whole number of at least 0")])
    record = archive().move_collection(collection_id, parent=body.get("parent") or None, position=position,
                                       user=user, why=request.headers.get("X-Fangzhi-Why", ""))
    return {**collection_json(record.value), "version": record.version}


@bp.delete("/collections/<collection_id>")
def delete_collection(collection_id):
    """Delete an empty collection (409 when it holds items or sub-collections)."""
    user = _writer()
    archive().delete_collection(collection_id, user=user, why=request.headers.get("X-Fangzhi-Why", ""))
    return "", 204


@bp.get("/openapi.json")
def openapi():
    from .openapi import document

    return document()
