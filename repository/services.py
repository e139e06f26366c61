"""Repository services: the only way records are created, changed, read and destroyed.

Each service method checks permission, validates, writes a new object version (the source of
truth), and only then updates the derived catalog. Reads go through the access policy.

The services receive their backends (an ``ObjectStore`` such as ``storage.ocfl.OcflRoot`` and a
``Catalog`` such as ``storage.catalog.Catalog``) as arguments; this module imports no
backend code.
"""
from __future__ import annotations

import json
import logging
import os
import re
import secrets
import shutil
import tempfile
import unicodedata
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timezone
from pathlib import Path, PurePath
from typing import BinaryIO, Callable, Iterable, Iterator, Protocol

from . import access, premis
from .access import User
from .premis import fixity_log_key
from .errors import Conflict, Gone, NotFound, PermissionDenied, ValidationError
from .model import ACCESS_TECH, ID_RE, Collection, File, Item, tech_problems

METADATA = "metadata.json"
log = logging.getLogger(__name__)
PARSED_CACHE = 512  # parsed records kept per process, keyed by their content digest
OPENED_ITEMS, OPENED_ANSWERS = 64, 256  # items whose open_file answers are kept per process, answers per item
PURGES = "audit/purges/"  # outside the OCFL root: one record per purge, with the object's history
EVENTS = "events/"  # in an object: events/v<n>.json, the preservation events (repository.premis) of version n
COPY_CHUNK = 1 << 20
REBUILD_BATCH = 500  # records catalogued per transaction by a rebuild
ACTIONS = ("create", "update", "publish", "visibility", "withdraw", "purge", "reinstate", "unpublish", "merge")
RECORD_KINDS = ("item", "collection")  # the archive's own objects; a feature's documents have other prefixes
_ID_ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"  # Crockford base32, lower case


def item_object(item_id: str) -> str:
    return f"item:{item_id}"


def collection_object(collection_id: str) -> str:
    return f"collection:{collection_id}"


def new_item_id() -> str:
    return "fz" + "".join(secrets.choice(_ID_ALPHABET) for _ in range(10))


def version_message(action: str, why: str = "") -> str:
    """OCFL version messages read "<action>: <why>" so the audit trail can be rebuilt."""
    return f"{action}: {why}".rstrip(": ").strip() if why else action


def parse_message(message: str) -> tuple[str, str]:
    action, _, why = message.partition(":")
    return (action, why.strip()) if action in ACTIONS else ("update", message)


class ObjectStore(Protocol):  # implemented by storage.ocfl.OcflRoot
    Conflict: type[Exception]  # raised by new_version when the head moved on

    def exists(self, object_id: str) -> bool: ...
    def inventory(self, object_id: str) -> dict: ...
    def read_json(self, object_id: str, path: str, version: int | None = None, inventory: dict | None = None): ...
    def new_version(self, object_id: str, *, user: str, message: str, expected_head: int | None = None): ...
    def versions(self, object_id: str) -> list: ...
    def content_key(self, object_id: str, path: str, version: int | None = None,
                    inventory: dict | None = None) -> str: ...
    def list_objects(self) -> Iterable[str]: ...
    def purge(self, object_id: str) -> None: ...


class Catalog(Protocol):  # implemented by storage.catalog.Catalog
    def put_item(self, item: Item, version: int, created: str, updated: str) -> None: ...
    def put_collection(self, collection: Collection, version: int, created: str, updated: str) -> None: ...
    def delete(self, object_id: str) -> None: ...
    def add_event(self, event: dict) -> None: ...
    def list_items(self, *, user: User, today: date, collection: str | list[str] | None = None,
                   limit: int = 20, offset: int = 0) -> tuple[list[Item], int]: ...
    def list_collections(self, *, user: User, today: date, parent: str | None = ...) -> list[Collection]: ...
    def events(self, object_id: str | None = None, *, limit: int | None = None, offset: int = 0) -> list[dict]: ...
    def count_events(self, object_id: str | None = None) -> int: ...
    def find_original(self, sha256: str) -> tuple[str, str] | None: ...
    def item_states(self) -> list[dict]: ...
    def linked_items(self, authority_ids: list[str], *, user: User, today: date, limit: int = 50,
                     offset: int = 0) -> tuple[list, int]: ...
    def items_stamp(self) -> tuple: ...
    def clear(self) -> None: ...


@dataclass
class NewFile:
    """A file to add to an item: where it goes, its bytes, and what is known about it."""
    name: str  # original file name; stored as originals/<name> (or derivatives/<name>)
    stream: BinaryIO | bytes
    media_type: str = "application/octet-stream"
    sequence: int | None = None
    role: str = "original"
    id: str | None = None
    label: dict | None = None
    access: str | None = None
    derived_from: str | None = None  # derivatives: the original's file id (stored under derivatives/<id>/)
    purpose: str | None = None
    tech: dict | None = None


@dataclass
class Record:
    """A record read from the archive, with its version facts."""
    value: Item | Collection
    version: int
    created: str
    updated: str
    inventory: dict | None = field(default=None, repr=False, compare=False)  # the object's, as read

    @property
    def latest(self) -> bool:
        """Whether this is the item's latest version (as it was read)."""
        return self.inventory is None or self.version == int(self.inventory["head"][1:])


@dataclass(frozen=True)
class StoredFile:
    """A file ``Archive.open_file`` let a user open (the access decision is made): its bytes
    through ``open``, ``read``, ``read_range`` and ``local_path``. Where they are stored stays
    inside the archive."""
    file: File
    public: bool  # anonymous readers may see it too (so shared caches may keep it)
    _storage: object = field(repr=False)
    _key: str = field(repr=False)

    def open(self) -> BinaryIO:
        """A readable stream of the bytes (use it as a context manager)."""
        return self._storage.open(self._key)

    def read(self) -> bytes:
        with self.open() as f:
            return f.read()

    def read_range(self, start: int, length: int) -> bytes:
        """Up to ``length`` bytes from byte ``start``."""
        return self._storage.read_range(self._key, start, length)

    def on_disk(self) -> Path | None:
        """The stored file itself where the storage keeps it on a local disk, else None (S3)."""
        path = self._storage.local_path(self._key)
        return None if path is None else Path(path)

    @contextmanager
    def local_path(self, *, dir: str | os.PathLike | None = None) -> Iterator[Path]:
        """A real file path of the bytes, for tools that read files (ffmpeg, libvips, a speech
        recogniser), never to be written to: the stored file itself on local disk, else a
        temporary copy in ``dir`` (default: the system's temporary folder), removed after use."""
        path = self.on_disk()
        if path is not None:
            yield path
            return
        if dir is not None:
            Path(dir).mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(suffix=PurePath(self.file.path).suffix, dir=dir)
        try:
            with os.fdopen(fd, "wb") as out, self.open() as source:
                shutil.copyfileobj(source, out, COPY_CHUNK)
            yield Path(name)
        finally:
            Path(name).unlink(missing_ok=True)


class Archive:
    """Items and collections: create, update, get, history, withdraw, purge, list, rebuild."""

    def __init__(self, objects: ObjectStore, catalog: Catalog, storage, *,
                 today: Callable[[], date] = date.today):
        self.objects, self.catalog, self.storage, self.today = objects, catalog, storage, today
        # Called as listener(item_id, item or None when purged) after each committed change of an
        # item, to keep derived indexes current (the search index). A failing listener is logged:
        # the commit stands and `fangzhi index rebuild` repairs the index.
        self.listeners: list[Callable[[str, Item | None], None]] = []
        self._parsed: dict[tuple, Item | Collection] = {}  # by metadata.json digest: never stale
        self._opened: dict[str, tuple[dict, dict]] = {}  # item id → (its inventory, answers): see open_file
        self._purges: dict[str, dict] = {}  # purge records by key: written once, never changed
        # Called after ``rebuild`` has catalogued every record, with the object ids of the feature
        # documents in storage: a feature's derived table (exhibitions, authorities) rebuilt from storage.
        self.rebuilders: list[Callable[[list[str]], object]] = []

    # --- items: writing ----------------------------------------------------------------

    def create_item(self, data: dict, files: Iterable[NewFile] = (), *, user: User, why: str = "",
                    events: Iterable[dict] = ()) -> Record:
        _require_manager(user, "add items")
        data = dict(data)
        for key, how in (("files", "upload them as files"), ("withdrawn", "withdraw the item after creating it")):
            if data.get(key):
                raise ValidationError([(key, f"cannot be given in new metadata: {how}")])
        data.setdefault("id", self._unused_id())
        data["files"] = []
        Item.from_dict(data)  # reject bad metadata before anything is stored
        if self.objects.exists(item_object(data["id"])):
            raise Conflict(f"an item with id {data['id']} already exists")
        self._check_collections(data.get("collections") or [], user)
        return self._write_item(data, files, (), user=user, message=version_message("create", why), expected=0,
                                events=events)

    def update_item(self, item_id: str, changes: dict, *, expected_version: int, user: User,
                    why: str = "", add_files: Iterable[NewFile] = (), remove_files: Iterable[str] = (),
                    events: Iterable[dict] = ()) -> Record:
        """Apply ``changes`` (fields to replace) as a new version made from ``expected_version``;
        ``events`` (repository.premis) are recorded with it (a file named by ``file_name``: a new file's name)."""
        _require_manager(user, "edit items")
        current = self._changeable(self._load_item(item_id), user, f"item {item_id}")
        if current.version != expected_version:
            raise Conflict(f"item {item_id} is at version {current.version}; your edit was made from "
                           f"version {expected_version}. Reload it and apply your change again.")
        for key in ("id", "withdrawn"):
            if key in changes and changes[key] != getattr(current.value, key):
                raise ValidationError([(key, "cannot be changed by an update")])
        data = {**current.value.to_dict(), **{k: v for k, v in changes.items() if k != "files"}}
        data["files"] = _update_file_fields(data["files"], changes.get("files") or [])
        add_files, remove_files, events = list(add_files), list(remove_files), list(events)
        if Item.from_dict(data) == current.value and not add_files and not remove_files and not events:
            return current  # nothing changed: no new version (a form saved as it was)
        self._check_collections([c for c in data.get("collections") or [] if c not in current.value.collections], user)
        action = "update"
        if data.get("visibility", "public") != current.value.visibility:  # visible in the audit trail
            action = "publish" if data["visibility"] == "public" else "visibility"
        return self._write_item(data, add_files, remove_files, user=user,
                                message=version_message(action, why), expected=expected_version, events=events)

    def withdraw_item(self, item_id: str, *, user: User, reason: str, expected_version: int | None = None) -> Record:
        """A tombstone version: the item disappears from public view; every version stays stored."""
        _require_manager(user, "withdraw items")
        if not reason.strip():
            raise ValidationError([("reason", "say why the item is withdrawn")])
        current = self._changeable(self._load_item(item_id), user, f"item {item_id}")
        data = current.value.to_dict()
        data["withdrawn"] = {"at": _now(), "by": user.name, "reason": reason.strip()}
        return self._write_item(data, (), (), user=user, message=version_message("withdraw", reason),
                                expected=expected_version if expected_version is not None else current.version)

    def reinstate_item(self, item_id: str, *, user: User, why: str = "") -> Record:
        _require_manager(user, "reinstate items")
        current = self._changeable(self._load_item(item_id), user, f"item {item_id}")
        data = {**current.value.to_dict(), "withdrawn": None}
        return self._write_item(data, (), (), user=user, message=version_message("reinstate", why),
                                expected=current.version)

    def _changeable(self, record: Record, user: User, what: str) -> Record:
        """``record``, to be changed by ``user``. A writer that does not read staff material changes
        only what it may see (the answer shows it); managers also change what only admins see."""
        if not access.can_manage(user) and not access.can_view_record(user, record.value, today=self.today()):
            raise NotFound(f"no {what}")
        return record

    def purge_item(self, item_id: str, *, user: User, reason: str) -> None:
        """Destroy an item and all its versions (admin only). The purge itself is recorded."""
        if not user.has_role("admin"):
            raise PermissionDenied("only an administrator may purge an item")
        if not reason.strip():
            raise ValidationError([("reason", "say why the item is purged")])
        oid = item_object(item_id)
        if not self.objects.exists(oid):
            raise NotFound(f"no item {item_id}")
        history = self._events(oid)
        event = {"at": _now(), "user": user.name, "action": "purge", "object_id": oid,
                 "version": history[-1]["version"], "message": reason.strip()}
        # Whether anonymous readers could see it until now: Change Discovery then publishes a Delete.
        head = self._load_item(item_id).value
        public = access.can_view_item(access.ANONYMOUS, head, today=self.today())
        # Who may have seen it (``seen``), its kind and collections: OAI-PMH's deleted records.
        facts = {"public": public, "seen": sorted(self.seen_levels(item_id)), "kind": head.kind,
                 "collections": head.collections}
        # Record first (with the object's history): a purge that fails halfway is still accounted for.
        self.storage.put(f"{PURGES}{event['at'].replace(':', '')}-{secrets.token_hex(4)}.json",
                         json.dumps({**event, **facts, "history": history}, ensure_ascii=False).encode())
        self.objects.purge(oid)
        self.catalog.delete(oid)
        self.catalog.add_event(event)
        self._notify(item_id, None)

    def _write_item(self, data: dict, new_files: Iterable[NewFile], remove: Iterable[str], *,
                    user: User, message: str, expected: int, events: Iterable[dict] = ()) -> Record:
        files = [f for f in data.get("files", []) if f["id"] not in set(remove)]
        removed_paths = [f["path"] for f in data.get("files", []) if f["id"] in set(remove)]
        if len(removed_paths) != len(set(remove)):
            missing = set(remove) - {f["id"] for f in data.get("files", [])}
            raise NotFound(f"item {data['id']} has no file {', '.join(sorted(missing))}")
        oid = item_object(data["id"])
        used = self._used_file_ids(oid) if expected else set()
        with self._new_version(oid, user=user, message=message, expected=expected) as v:
            for path in removed_paths:
                v.remove(path)
            events, by_name = list(events), {}
            for new in new_files:
                files.append(self._store_file(v, new, files, used))
                by_name[new.name] = files[-1]["id"]
                if new.role != "derivative":  # PREMIS: the digests the storage computed as it wrote the bytes
                    events.append(premis.event("message digest calculation", "SHA-256 by Fangzhi, SHA-512 by "
                                               "the OCFL inventory, as the file was stored", user=user.name,
                                               outcome_detail=f"sha256:{files[-1]['sha256']}", files=[files[-1]["id"]]))
                if new.role == "original" and (new.tech or {}).get("pronom"):  # identified before it was stored
                    events.append(premis.identification(new.tech["pronom"], new.media_type, user=user.name,
                                                        files=[files[-1]["id"]]))
            data["files"] = files
            item = Item.from_dict(data)
            v.put(METADATA, _json_bytes(item.to_dict()))
            if events:
                events = [{**{k: val for k, val in e.items() if k != "file_name"},
                           "files": [*e.get("files", []), *([by_name[e["file_name"]]] if e.get("file_name") in by_name else [])]}
                          for e in events]
                v.put(f"{EVENTS}v{expected + 1}.json", _json_bytes(events))
        record = self._index(oid, item)
        self._notify(item.id, item)
        return record

    @contextmanager
    def _new_version(self, oid: str, *, user: User, message: str, expected: int):
        """The object store's version writer, for every write: a head that moved on since the
        caller read it is the repository's Conflict (a stale edit), whatever the backend."""
        try:
            with self.objects.new_version(oid, user=user.name, message=message, expected_head=expected) as v:
                yield v
        except self.objects.Conflict as exc:
            raise Conflict(str(exc)) from exc

    def _notify(self, item_id: str, item: Item | None) -> None:
        for listener in self.listeners:
            try:
                listener(item_id, item)
            except Exception:  # noqa: BLE001 - the commit must stand; the index is rebuildable
                log.exception("updating derived state for item %s failed", item_id)

    def _store_file(self, version, new: NewFile, existing: list[dict], used: set[str]) -> dict:
        name = _safe_name(new.name)
        path = {"original": f"originals/{name}", "supplement": f"supplements/{name}"}.get(
            new.role, f"derivatives/{new.derived_from}/{name}")
        if any(f["path"] == path for f in existing):
            raise ValidationError([(f"files/{name}", "a file with this name is already in the item")])
        taken = used | {f["id"] for f in existing}
        if new.id in taken:
            raise ValidationError([(f"files/{name}", f"file id {new.id} is already used in this item or one of "
                                                     "its past versions: file ids are never reused")])
        file_id = new.id or _file_id(taken)
        stored = version.put(path, new.stream)
        return File(
            id=file_id, path=path, media_type=new.media_type, size=stored.size, sha256=stored.sha256,
            role=new.role, sequence=new.sequence, label=new.label or {}, access=new.access,
            derived_from=new.derived_from, purpose=new.purpose, tech=new.tech or {},
        ).__dict__

    def _index(self, oid: str, value) -> Record:
        versions = self.objects.versions(oid)
        record = Record(value, versions[-1].number, versions[0].created, versions[-1].created)
        put = self.catalog.put_item if isinstance(value, Item) else self.catalog.put_collection
        put(value, record.version, record.created, record.updated)
        self.catalog.add_event(self._events(oid, versions[-1:])[0])
        return record

    def _events(self, oid: str, versions=None) -> list[dict]:
        """Audit events (who, when, what, why) of an object's versions, read from the object."""
        events = []
        for v in versions or self.objects.versions(oid):
            action, why = parse_message(v.message)
            events.append({"at": v.created, "user": v.user, "action": action, "object_id": oid,
                           "version": v.number, "message": why})
        return events

    # --- items: reading ----------------------------------------------------------------

    def get_item(self, item_id: str, *, user: User, version: int | None = None) -> Record:
        """The item (latest, or a past ``version``). A past version is shown only to those who may
        see the item as it is now: making an item private or withdrawing it closes its history."""
        if version is not None:
            head = self.get_item(item_id, user=user)
            if version == head.version:
                return head
        record = self._load_item(item_id, version)
        item = record.value
        if not access.can_view_item(user, item, today=self.today()):
            if item.withdrawn and access.can_view_item(user, replace(item, withdrawn=None), today=self.today()):
                raise Gone(item)
            raise NotFound(f"no item {item_id}")
        return record

    def history(self, item_id: str, *, user: User) -> list:
        """The item's versions; who made them and why only for staff (``access.is_staff``)."""
        self.get_item(item_id, user=user)
        versions = self.objects.versions(item_object(item_id))
        if access.is_staff(user):
            return versions
        return [replace(v, user="", message="", address="") for v in versions]

    def open_file(self, item_id: str, file_id: str, *, user: User, version: int | None = None) -> StoredFile:
        """Where a file the user may see is stored; raises NotFound or PermissionDenied.

        The answer for the latest version depends only on the item's head, the user's roles and
        the date: it is kept with the head's inventory (the very dict the object store gives while
        the stored inventory is unchanged), so a repeated request (a viewer's tiles) reads only the
        object store's check of the head, and sees any commit, made in any process."""
        inventory = answers = None
        if version is None and ID_RE.match(item_id) and self.objects.exists(oid := item_object(item_id)):
            inventory, key = self.objects.inventory(oid), (file_id, user.roles, self.today())
            kept = self._opened.get(item_id)
            if kept is not None and kept[0] is inventory:
                answers = kept[1]
                if (stored := answers.get(key)) is not None:
                    return stored
            else:
                answers = {}
        record = self.get_item(item_id, user=user, version=version)
        file = record.value.file(file_id)
        if file is None:
            raise NotFound(f"item {item_id} has no file {file_id}")
        head = self._head_unless_latest(record)
        if not self._may_open(user, record.value, file, head):
            raise PermissionDenied(f"file {file_id} of item {item_id} is restricted")
        stored = StoredFile(file, self._may_open(access.ANONYMOUS, record.value, file, head), self.storage,
                            self.objects.content_key(item_object(item_id), file.path, record.version, record.inventory))
        if answers is not None and record.inventory is inventory:  # made from the head read above
            _keep(answers, key, stored, OPENED_ANSWERS)
            _keep(self._opened, item_id, (inventory, answers), OPENED_ITEMS)
        return stored

    def _head_unless_latest(self, record: Record) -> Item | None:
        """The item as it is now, when ``record`` is a past version of it (else None)."""
        if record.latest:
            return None
        return self._load_item(record.value.id).value

    def _may_open(self, user: User, item: Item, file: File, head: Item | None) -> bool:
        """The policy for this version's file and, for a past version (``head``: the item now),
        for what that file is now: the head's file with the same content and purpose, not the one
        that happens to have the same id. A file restricted later stays restricted in the past; a
        past file that is no longer in the item (a superseded redacted copy, a replaced
        derivative, a removed file) is for managers only."""
        today = self.today()
        if not access.can_view_file(user, item, file, today=today):
            return False
        if head is None:
            return True
        now = [f for f in head.files if (f.sha256, f.role, f.purpose) == (file.sha256, file.role, file.purpose)]
        if not now:
            return access.can_manage(user)
        return any(access.can_view_file(user, head, f, today=today) for f in now)

    def visible_files(self, item: Item, *, user: User) -> list[File]:
        """The item's files this user may see, originals first in page order."""
        ordered = item.originals + [f for f in item.files if f.role != "original"]
        return [f for f in ordered if access.can_view_file(user, item, f, today=self.today())]

    def record_files(self, record: Record, *, user: User) -> list[File]:
        """The files of a version read with ``get_item`` (the latest or a past one) that
        ``open_file`` gives this user, in the order of ``visible_files``."""
        head = self._head_unless_latest(record)
        return [f for f in self.visible_files(record.value, user=user) if self._may_open(user, record.value, f, head)]

    def seen_levels(self, item_id: str) -> frozenset[str]:
        """The levels at which some version of the item could be seen (access.effective_level at
        the start and end of each version; a withdrawn version at none): whom it was shown to."""
        oid = item_object(item_id)
        inv = self.objects.inventory(oid)
        head = int(inv["head"][1:])
        days = [date.fromisoformat(inv["versions"][f"v{n}"]["created"][:10]) for n in range(1, head + 1)]
        levels = set()
        for n in range(1, head + 1):
            item = self._parse(oid, Item, inv, n)
            if not item.withdrawn:
                end = days[n] if n < head else self.today()
                levels |= {access.effective_level(item.visibility, item.embargo_until, day) for day in (days[n - 1], end)}
        return frozenset(levels)

    def find_original(self, sha256: str) -> tuple[str, str] | None:
        """(item id, file id) of an original with these bytes already in the archive, if any."""
        return self.catalog.find_original(sha256)

    def list_items(self, *, user: User, collection: str | None = None, nested: bool = True, limit: int = 20,
                   offset: int = 0):
        """Items ``user`` may see, newest change first; of ``collection``: in it or (``nested``) in any
        collection nested in it."""
        if collection is not None:
            collection = self.collection_descendants(collection) if nested else [collection]
        return self.catalog.list_items(user=user, today=self.today(), collection=collection,
                                       limit=limit, offset=offset)

    def linked_items(self, authority_ids: list[str], *, user: User, limit: int = 50, offset: int = 0):
        """([(item, how it points)], total): the items ``user`` may see that point at any of the
        authority records ``authority_ids`` (``access.level_sql``: the policy inside the query)."""
        return self.catalog.linked_items(list(authority_ids), user=user, today=self.today(), limit=limit,
                                         offset=offset)

    def _load_item(self, item_id: str, version: int | None = None) -> Record:
        return self._load(item_object(item_id), Item, f"item {item_id}", version)

    def _load(self, oid: str, cls, what: str, version: int | None) -> Record:
        if not ID_RE.match(oid.split(":", 1)[1]) or not self.objects.exists(oid):
            raise NotFound(f"no {what}")
        inv = self.objects.inventory(oid)
        head = int(inv["head"][1:])
        if version is not None and not 1 <= version <= head:
            raise NotFound(f"{what} has no version {version} (latest is {head})")
        number = version or head
        value = self._parse(oid, cls, inv, number)
        return Record(value, number, inv["versions"]["v1"]["created"], inv["versions"][f"v{number}"]["created"], inv)

    def _parse(self, oid: str, cls, inv: dict, number: int):
        state = inv["versions"][f"v{number}"]["state"]
        key = (cls, next(digest for digest, paths in state.items() if METADATA in paths))
        value = self._parsed.get(key)
        if value is None:  # records are immutable by convention, so one parse serves every reader
            value = cls.from_dict(self.objects.read_json(oid, METADATA, number, inv))
            _keep(self._parsed, key, value, PARSED_CACHE)
        return value

    def _used_file_ids(self, oid: str) -> set[str]:
        """Every file id any version of the item has used. An id is never given to another file:
        a past version's file must never be taken for a later file with the same id."""
        if not self.objects.exists(oid):
            return set()
        inv = self.objects.inventory(oid)
        return {f.id for n in range(1, int(inv["head"][1:]) + 1) for f in self._parse(oid, Item, inv, n).files}

    def _unused_id(self) -> str:
        while self.objects.exists(item_object(candidate := new_item_id())):
            pass
        return candidate

    # --- collections ---------------------------------------------------------------------

    def create_collection(self, data: dict, *, user: User, why: str = "") -> Record:
        _require_manager(user, "add collections")
        col = Collection.from_dict(data)
        oid = collection_object(col.id)
        if self.objects.exists(oid):
            raise Conflict(f"a collection with id {col.id} already exists")
        if col.parent:
            self._check_collections([col.parent], user)
        return self._write_collection(col, user=user, message=version_message("create", why), expected=0)

    def update_collection(self, collection_id: str, changes: dict, *, expected_version: int,
                          user: User, why: str = "") -> Record:
        _require_manager(user, "edit collections")
        current = self._changeable(self._load(collection_object(collection_id), Collection,
                                              f"collection {collection_id}", None), user, f"collection {collection_id}")
        if current.version != expected_version:
            raise Conflict(f"collection {collection_id} is at version {current.version}; your edit was "
                           f"made from version {expected_version}")
        if changes.get("id", collection_id) != collection_id:
            raise ValidationError([("id", "cannot be changed by an update")])
        col = Collection.from_dict({**current.value.to_dict(), **changes})
        if col.parent:
            self._check_collections([col.parent] if col.parent != current.value.parent else [], user)
            if collection_id in self._ancestors(col.parent):
                raise ValidationError([("parent", f"{col.parent} is inside {collection_id}: that makes a loop")])
        return self._write_collection(col, user=user, message=version_message("update", why),
                                      expected=expected_version)

    def _write_collection(self, col: Collection, *, user: User, message: str, expected: int) -> Record:
        oid = collection_object(col.id)
        with self._new_version(oid, user=user, message=message, expected=expected) as v:
            v.put(METADATA, _json_bytes(col.to_dict()))
        return self._index(oid, col)

    def get_collection(self, collection_id: str, *, user: User) -> Record:
        record = self._load(collection_object(collection_id), Collection, f"collection {collection_id}", None)
        if not access.can_view_collection(user, record.value, today=self.today()):
            raise NotFound(f"no collection {collection_id}")
        return record

    def list_collections(self, *, user: User, parent: str | None = ...) -> list[Collection]:
        """The collections ``user`` may see (of ``parent``: None for the top level), siblings in
        their order (``position``, then id)."""
        found = self.catalog.list_collections(user=user, today=self.today(), parent=parent)
        return sorted(found, key=lambda c: (c.position is None, c.position or 0, c.id))

    def collection_descendants(self, collection_id: str) -> list[str]:
        """The collection and every collection nested in it, at any depth (from the catalog, all
        visibilities: items are filtered by their own access)."""
        children: dict[str, list[str]] = {}
        for col in self.catalog.list_collections(user=access.SYSTEM, today=self.today()):
            children.setdefault(col.parent, []).append(col.id)
        found, todo = [], [collection_id]
        while todo:
            cid = todo.pop()
            if cid not in found:
                found.append(cid)
                todo += children.get(cid, [])
        return found

    def move_collection(self, collection_id: str, *, parent: str | None, position: int | None, user: User,
                        why: str = "") -> Record:
        """Put a collection under ``parent`` (None: the top level) at ``position`` among its new
        siblings (None: last); siblings after it move down one (a new version each, only those whose
        place changes). A parent inside the collection is refused (a loop)."""
        current = self.get_collection(collection_id, user=user)
        siblings = [c for c in self.list_collections(user=access.SYSTEM, parent=parent) if c.id != collection_id]
        at = len(siblings) if position is None else max(0, min(position, len(siblings)))
        order = [*siblings[:at], current.value, *siblings[at:]]
        record = self.update_collection(collection_id, {"parent": parent, "position": at},
                                        expected_version=current.version, user=user, why=why or "move")
        for n, col in enumerate(order):
            if col.id != collection_id and col.position != n:
                head = self._load(collection_object(col.id), Collection, f"collection {col.id}", None)
                self.update_collection(col.id, {"position": n}, expected_version=head.version, user=user,
                                       why=f"reorder: {collection_id} moved")
        return record

    def delete_collection(self, collection_id: str, *, user: User, why: str = "") -> None:
        """Delete an empty collection (no item in it, whatever the item's visibility, and no
        sub-collection); its history is kept in a deletion record outside the OCFL root."""
        _require_manager(user, "delete collections")
        oid = collection_object(collection_id)
        self.get_collection(collection_id, user=user)  # NotFound for one the user may not see
        items = [r["id"] for r in self.catalog.item_states() if collection_id in r["collections"]]
        subs = [c.id for c in self.catalog.list_collections(user=access.SYSTEM, today=self.today(),
                                                             parent=collection_id)]
        if items or subs:
            raise Conflict(f"collection {collection_id} is not empty: {len(items)} items and {len(subs)} "
                           "sub-collections; move or remove them first")
        history = self._events(oid)
        event = {"at": _now(), "user": user.name, "action": "delete", "object_id": oid,
                 "version": history[-1]["version"], "message": why.strip() or "delete an empty collection"}
        self.storage.put(f"{PURGES}{event['at'].replace(':', '')}-{secrets.token_hex(4)}.json",
                         json.dumps({**event, "public": False, "history": history}, ensure_ascii=False).encode())
        self.objects.purge(oid)
        self.catalog.delete(oid)
        self.catalog.add_event(event)

    def _check_collections(self, ids: Iterable[str], user: User) -> None:
        """Collections something is put in must exist and, for a writer that does not manage the
        archive, be among those it may see."""
        def usable(c: str) -> bool:
            if not self.objects.exists(oid := collection_object(c)):
                return False
            return access.can_manage(user) or access.can_view_collection(
                user, self._load(oid, Collection, f"collection {c}", None).value, today=self.today())
        missing = [c for c in ids if not usable(c)]
        if missing:
            raise ValidationError([("collections", f"no collection {', '.join(missing)}")])

    def file_reader(self, item_id: str) -> Callable[[File], bytes]:
        """Reads the bytes of the item's files at its head version, with no access check: for
        derived indexes, which store every text and filter by access at query time."""
        oid = item_object(item_id)
        inventory = self.objects.inventory(oid)

        def read(file: File) -> bytes:
            return StoredFile(file, False, self.storage,
                              self.objects.content_key(oid, file.path, None, inventory)).read()
        return read

    def item_ids(self) -> list[str]:
        """Every item in storage (withdrawn ones too), read from storage, not the catalog."""
        return sorted(oid.split(":", 1)[1] for oid in self.objects.list_objects() if oid.startswith("item:"))

    def load_item(self, item_id: str) -> Item:
        """The item at its head version, with no access check (for derived indexes)."""
        return self._load_item(item_id).value

    def collection_ancestors(self, collection_id: str) -> list[str]:
        """The collection and the collections containing it, innermost first."""
        return self._ancestors(collection_id)

    def _ancestors(self, collection_id: str) -> list[str]:
        seen = []
        while collection_id and collection_id not in seen:
            seen.append(collection_id)
            collection_id = self.objects.read_json(collection_object(collection_id), METADATA).get("parent")
        return seen

    # --- preservation events -----------------------------------------------------------------

    def preservation_events(self, item_id: str, *, user: User) -> list[dict]:
        """The item's preservation events (repository.premis), oldest first, for staff only: those
        stored with its versions, its fixity checks (the fixity log) and, for a purged item, its
        deletion (the purge record)."""
        if not access.is_staff(user):
            raise PermissionDenied("preservation events are for staff")
        oid = item_object(item_id)
        events, hidden = [], set()
        if self.objects.exists(oid):
            item = self.get_item(item_id, user=user).value
            hidden = {f.id for f in item.files} - {f.id for f in self.visible_files(item, user=user)}
            inv = self.objects.inventory(oid)
            state = inv["versions"][inv["head"]]["state"]
            for path in sorted((p for paths in state.values() for p in paths if p.startswith(EVENTS)),
                               key=lambda p: int(re.sub(r"\D", "", p) or 0)):
                events += self.objects.read_json(oid, path, None, inv)
        events += self.fixity_events(oid)
        for purge in self.purge_records():
            if purge["object_id"] == oid:
                events.append(premis.event("deletion", f"purged: {purge['message']}", user=purge["user"], at=purge["at"]))
        if not events and not self.objects.exists(oid):
            raise NotFound(f"no item {item_id}")
        # an event of files restricted from this user only (a private file's, for an archivist) is left out
        return sorted((e for e in events if not e.get("files") or set(e["files"]) - hidden), key=lambda e: e["at"])

    def fixity_events(self, object_id: str) -> list[dict]:
        """The object's fixity checks, from the fixity log (storage.fixity writes it)."""
        key = fixity_log_key(object_id)
        if not self.storage.exists(key):
            return []
        with self.storage.open(key) as f:
            return json.loads(f.read())

    # --- a feature's records (``authority:<id>``): JSON objects versioned like items ----------

    # --- derived state ---------------------------------------------------------------------

    def refresh(self, item_id: str) -> None:
        """Bring the catalog (record and every version's audit event) and the listeners (the search
        index) up to the item's stored head: a process killed between a commit and these updates
        leaves them behind, and a resumed ingest finds nothing left to write."""
        self._notify(item_id, self._catalogue(item_object(item_id)))

    def rebuild(self, progress: Callable[[int, int], None] = lambda done, total: None) -> int:
        """Recreate the catalog (records and audit events) from storage alone, then the features'
        derived lists (``rebuilders``); return the count. ``progress(done, total)`` is called
        after each object."""
        self.catalog.clear()
        object_ids = list(self.objects.list_objects())
        documents = []
        for start in range(0, len(object_ids), REBUILD_BATCH):
            with self.catalog.batch():
                for count, oid in enumerate(object_ids[start:start + REBUILD_BATCH], start + 1):
                    if oid.split(":", 1)[0] in RECORD_KINDS:
                        self._catalogue(oid)
                    else:  # a feature's document: its audit events here, its list by its rebuilder
                        for event in self._events(oid):
                            self.catalog.add_event(event)
                        documents.append(oid)
                    progress(count, len(object_ids))
        with self.catalog.batch():
            for purge in self.purge_records():
                for event in [*purge.get("history", []), {k: v for k, v in purge.items() if k != "history"}]:
                    self.catalog.add_event(event)
        for rebuilder in self.rebuilders:
            rebuilder(documents)
        return len(object_ids)

    def _catalogue(self, oid: str):
        """An item's or collection's head record and all its versions' audit events into the catalog,
        from storage."""
        inv = self.objects.inventory(oid)
        cls, put = (Item, self.catalog.put_item) if oid.startswith("item:") else (Collection, self.catalog.put_collection)
        value = cls.from_dict(self.objects.read_json(oid, METADATA, None, inv))
        versions = self.objects.versions(oid)
        put(value, versions[-1].number, versions[0].created, versions[-1].created)
        for event in self._events(oid, versions):
            self.catalog.add_event(event)
        return value

    # --- a feature's documents (exhibitions): JSON objects versioned like records ---------------

    def put_document(self, oid: str, value: dict, *, user: User, action: str, why: str = "",
                     expected: int) -> Record:
        """Store ``value`` as a new version of the feature document ``oid`` (``exhibition:<id>``),
        who/when/why in the version as for records; the feature has checked who may write."""
        if oid.split(":", 1)[0] in RECORD_KINDS or not ID_RE.match(oid.partition(":")[2]):
            raise ValidationError([("id", f"{oid} is not a feature document's id")])
        with self._new_version(oid, user=user, message=version_message(action, why), expected=expected) as v:
            v.put(METADATA, _json_bytes(value))
        versions = self.objects.versions(oid)
        self.catalog.add_event(self._events(oid, versions[-1:])[0])
        return Record(value, versions[-1].number, versions[0].created, versions[-1].created)

    def get_document(self, oid: str, version: int | None = None) -> Record:
        """A feature document's value (a dict) at ``version`` (None: the head); the feature decides
        who may read it. NotFound when there is no such document or version."""
        if oid.split(":", 1)[0] in RECORD_KINDS or not ID_RE.match(oid.partition(":")[2]) \
                or not self.objects.exists(oid):
            raise NotFound(f"no {oid}")
        inv = self.objects.inventory(oid)
        head = int(inv["head"][1:])
        number = version or head
        if not 1 <= number <= head:
            raise NotFound(f"{oid} has no version {number} (latest is {head})")
        state = inv["versions"][f"v{number}"]["state"]
        key = (dict, next(digest for digest, paths in state.items() if METADATA in paths))
        value = self._parsed.get(key)
        if value is None:
            value = self.objects.read_json(oid, METADATA, number, inv)
            _keep(self._parsed, key, value, PARSED_CACHE)
        return Record(value, number, inv["versions"]["v1"]["created"], inv["versions"][f"v{number}"]["created"], inv)

    def document_history(self, oid: str, *, user: User) -> list:
        """A feature document's versions (number, created, user, message), oldest first; who made
        them and why only for staff (as ``history``)."""
        if not self.objects.exists(oid):
            raise NotFound(f"no {oid}")
        versions = self.objects.versions(oid)
        return versions if access.is_staff(user) else [replace(v, user="", message="", address="") for v in versions]

    def has_document(self, oid: str) -> bool:
        """Whether the feature document ``oid`` was ever stored (an id is never given out again)."""
        return self.objects.exists(oid)

    def purge_records(self) -> list[dict]:
        """Every purge record, oldest first: the purge's audit event, whether anonymous readers could
        see the item until then (``public``) and the purged object's version history (``history``).
        Each is read from storage once (a record is never changed); callers must not change them."""
        records = []
        for key in sorted(self.storage.list(PURGES)):
            if key not in self._purges:
                with self.storage.open(key) as f:
                    self._purges[key] = json.loads(f.read())
            records.append(self._purges[key])
        return records


def _keep(cache: dict, key, value, limit: int) -> None:
    """Put ``value`` in a per-process cache, the least recently put dropped beyond ``limit``."""
    cache.pop(key, None)
    cache[key] = value
    while len(cache) > limit:
        try:  # another thread may evict at the same time
            cache.pop(next(iter(cache)), None)
        except (RuntimeError, StopIteration):
            break


def _require_manager(user: User, what: str) -> None:
    if not access.can_edit(user):
        raise PermissionDenied(f"only archivists, administrators and write tokens may {what}")


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")


def _json_bytes(value) -> bytes:
    return json.dumps(value, ensure_ascii=False, indent=2, sort_keys=True).encode("utf-8")


EDITABLE_FILE_FIELDS = ("label", "sequence", "access", "tech")


def _update_file_fields(files: list[dict], changes: list[dict]) -> list[dict]:
    """Apply changes to files' label, sequence, access or tech; the stored bytes never change here."""
    if not isinstance(changes, list):  # e.g. "files": true in a PATCH (found by tests/web/test_hostile.py's fuzzing)
        raise ValidationError([("files", "must be a list of file changes, each with the id of a file of this item")])
    by_id = {f["id"]: dict(f) for f in files}
    for i, change in enumerate(changes):
        current = by_id.get(change.get("id")) if isinstance(change, dict) else None
        if current is None:
            raise ValidationError([(f"files[{i}].id", "names no file of this item (add files as uploads)")])
        for key, value in change.items():
            if key == "tech":
                current[key] = _edited_tech(value, current.get("tech") or {}, f"files[{i}].tech")
            elif key in EDITABLE_FILE_FIELDS:
                current[key] = value
            elif value != current.get(key):
                raise ValidationError([(f"files[{i}].{key}", "cannot be changed: only label, sequence, access and tech can")])
    return [by_id[f["id"]] for f in files]


def _edited_tech(tech, old: dict, where: str) -> dict:
    """A file's ``tech`` as edited: its typed facts checked, and the facts that decide access
    (ACCESS_TECH) kept as they are (left out: kept; a different value: refused)."""
    problems = tech_problems(tech, where)
    if not problems:
        problems = [(f"{where}.{key}", "cannot be changed: it decides who may hear or see the file, and only the "
                                       "step that makes redacted copies sets it")
                    for key in ACCESS_TECH if key in tech and tech[key] != old.get(key)]
    if problems:
        raise ValidationError(problems)
    return {**tech, **{key: old[key] for key in ACCESS_TECH if key in old}}


def _safe_name(name: str) -> str:
    """The file name alone (no folders), NFC-normalised; refuses names that are not names."""
    base = unicodedata.normalize("NFC", name.replace("\\", "/").rsplit("/", 1)[-1]).strip()
    if base in ("", ".", "..") or any(ord(c) < 32 for c in base):
        raise ValidationError([("files", f"{name!r} is not a usable file name")])
    return base


def _file_id(used: set[str]) -> str:
    """A URL-safe id for a file, never used before in the item: f1, f2, … after the highest."""
    return f"f{1 + max((int(i[1:]) for i in used if re.fullmatch(r'f[0-9]{1,9}', i)), default=0)}"
