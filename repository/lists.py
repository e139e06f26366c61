"""Researchers' saved lists: bookmarks of items with notes, kept by a signed-in reader, private
unless shared by an unguessable link. What any list shows goes through the access policy for the
one looking, at the time they look: an item they may no longer see is left out (the entry stays,
and comes back if the item is opened again)."""
from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from typing import Protocol

from .access import User
from .errors import Gone, NotFound, PermissionDenied, ValidationError

MAX_LISTS = 100  # lists a reader keeps
MAX_ENTRIES = 1000  # items in one list
MAX_NAME, MAX_NOTE = 200, 2000


@dataclass
class SavedList:
    id: int
    owner: str
    name: str
    note: str = ""
    share: str | None = None  # the link's secret, when shared
    created: str = ""
    entries: list = field(default_factory=list)  # (item id, note, added) as stored


@dataclass(frozen=True)
class Entry:
    item: object  # the Item, as the viewer may see it
    note: str
    added: str


class ListStore(Protocol):
    def lists(self, owner: str) -> list[SavedList]: ...
    def get(self, list_id: int) -> SavedList | None: ...
    def by_share(self, secret: str) -> SavedList | None: ...
    def create(self, owner: str, name: str, note: str) -> SavedList: ...
    def update(self, list_id: int, *, name: str, note: str, share: str | None) -> None: ...
    def delete(self, list_id: int) -> None: ...
    def put_entry(self, list_id: int, item_id: str, note: str) -> None: ...
    def delete_entry(self, list_id: int, item_id: str) -> None: ...


class SavedLists:
    """The service: every method takes the user acting; only the owner reads or changes a list
    by its id (another user gets NotFound, as for a list that does not exist)."""

    def __init__(self, store: ListStore, archive):
        self.store, self.archive = store, archive

    def _signed_in(self, user: User) -> None:
        if user.is_anonymous:
            raise PermissionDenied("saved lists are for signed-in readers")

    def mine(self, user: User) -> list[SavedList]:
        self._signed_in(user)
        return self.store.lists(user.name)

    def get(self, list_id: int, *, user: User) -> SavedList:
        self._signed_in(user)
        found = self.store.get(list_id) if 0 < list_id < 1 << 63 else None  # (ids: 64 bits, storage.database.ID)
        if found is None or found.owner != user.name:
            raise NotFound(f"list {list_id} not found")
        return found

    def create(self, name: str, *, user: User, note: str = "") -> SavedList:
        self._signed_in(user)
        name, note = _checked(name, note)
        if len(self.store.lists(user.name)) >= MAX_LISTS:
            raise ValidationError([("name", f"a reader keeps at most {MAX_LISTS} lists")])
        return self.store.create(user.name, name, note)

    def rename(self, list_id: int, name: str, *, user: User, note: str = "") -> None:
        found = self.get(list_id, user=user)
        name, note = _checked(name, note)
        self.store.update(list_id, name=name, note=note, share=found.share)

    def share(self, list_id: int, on: bool, *, user: User) -> str | None:
        """Share the list by a new unguessable link (256 bits), or stop sharing it (the old link dies)."""
        found = self.get(list_id, user=user)
        secret = secrets.token_urlsafe(32) if on else None
        self.store.update(list_id, name=found.name, note=found.note, share=secret)
        return secret

    def delete(self, list_id: int, *, user: User) -> None:
        self.get(list_id, user=user)
        self.store.delete(list_id)

    def add(self, list_id: int, item_id: str, *, user: User, note: str = "") -> None:
        """Bookmark an item the user may see (again: its note replaced)."""
        found = self.get(list_id, user=user)
        self.archive.get_item(item_id, user=user)  # NotFound/Gone for what they may not see
        if len(note) > MAX_NOTE:
            raise ValidationError([("note", f"is longer than {MAX_NOTE} characters")])
        if item_id not in {e[0] for e in found.entries} and len(found.entries) >= MAX_ENTRIES:
            raise ValidationError([("item", f"a list holds at most {MAX_ENTRIES} items")])
        self.store.put_entry(list_id, item_id, note.strip())

    def remove(self, list_id: int, item_id: str, *, user: User) -> None:
        self.get(list_id, user=user)
        self.store.delete_entry(list_id, item_id)

    def entries(self, saved: SavedList, *, viewer: User) -> list[Entry]:
        """The list's items that ``viewer`` may see now (the access policy, item by item)."""
        shown = []
        for item_id, note, added in saved.entries:
            try:
                shown.append(Entry(self.archive.get_item(item_id, user=viewer).value, note, added))
            except (NotFound, Gone, PermissionDenied):
                continue
        return shown

    def shared(self, secret: str) -> SavedList:
        found = self.store.by_share(secret) if secret else None
        if found is None:
            raise NotFound("no list is shared by this link")
        return found


def _checked(name: str, note: str) -> tuple[str, str]:
    name, note = (name or "").strip(), (note or "").strip()
    problems = []
    if not name:
        problems.append(("name", "is empty"))
    elif len(name) > MAX_NAME:
        problems.append(("name", f"is longer than {MAX_NAME} characters"))
    if len(note) > MAX_NOTE:
        problems.append(("note", f"is longer than {MAX_NOTE} characters"))
    if problems:
        raise ValidationError(problems)
    return name, note
