"""IIIF Image API identifiers of page images, and their resolution through the access policy.

An identifier is one URL path segment (Image API 3.0 §3 "Identifier"):

* ``{item_id}~{file_id}`` — a page image: ``file_id`` names a pyramid derivative, or an original
  (which means its first pyramid page);
* ``{item_id}`` — the item's first page image.

Item and file ids match ``repository.model.ID_RE`` (letters, digits, ``.``, ``_``, ``-``), so
``~`` never occurs inside them and needs no escaping in a URL.
"""
from __future__ import annotations

from repository.errors import NotFound
from repository.model import File, Item
from repository.services import StoredFile

SEPARATOR = "~"
PYRAMID = "pyramid"


def image_identifier(item_id: str, file: File | str) -> str:
    """The identifier of a page image; ``file`` is its pyramid derivative (or an original), or its id."""
    return f"{item_id}{SEPARATOR}{file if isinstance(file, str) else file.id}"


def open_image(archive, identifier: str, *, user) -> StoredFile:
    """The stored pyramid of an identifier, after the access checks.

    Every read goes through ``Archive.get_item`` / ``Archive.open_file``: a non-visible item
    raises NotFound (or Gone), a restricted image PermissionDenied (the policy restricts a
    pyramid as much as the original it was made from). An identifier naming the pyramid itself
    (what ``image_identifier`` gives, so what manifests and viewers use) costs one lookup.
    """
    item_id, _, file_id = identifier.partition(SEPARATOR)
    if file_id:
        stored = archive.open_file(item_id, file_id, user=user)
        if stored.file.purpose == PYRAMID:
            return stored
    item = archive.get_item(item_id, user=user).value
    pyramid = _pyramid(item, file_id or None)
    if pyramid is None:
        what = f"file {file_id}" if file_id else "page image"
        raise NotFound(f"item {item_id} has no {what} with an image pyramid")
    return archive.open_file(item_id, pyramid.id, user=user)


def resolve(archive, identifier: str, *, user) -> tuple[Item, File]:
    """The item and the pyramid File of an identifier, after the access checks (see open_image)."""
    stored = open_image(archive, identifier, user=user)
    return archive.get_item(identifier.partition(SEPARATOR)[0], user=user).value, stored.file


def _pyramid(item: Item, file_id: str | None) -> File | None:
    if file_id is None:  # the first page image: the first original (page order) with a pyramid
        return next((p for o in item.originals for p in item.derivatives(o.id, PYRAMID)), None)
    file = item.file(file_id)
    if file is None or file.role != "original":
        return None
    return next(iter(item.derivatives(file.id, PYRAMID)), None)
