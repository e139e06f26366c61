"""Versioned objects in the OCFL 1.1 layout, on top of any Storage backend.

An OCFL storage root lives under a key prefix ("ocfl/" by default). Objects are placed by the
community extension 0003-hash-and-id-n-tuple-storage-layout. Each object holds
``0=ocfl_object_1.1``, ``inventory.json`` + ``inventory.json.sha512`` and version directories
``v1/``, ``v2/``… with their own inventory copies and new ``content/`` files. SHA-512 is the
content-addressing digest (OCFL 1.1 §3.5.1); SHA-256 is recorded in the ``fixity`` block.

Writes never disturb the current head: new content and the version inventory are written
first, the root inventory last. A failed write removes what it wrote; a crash between those
steps is repaired on the next read or write of the object (see ``_recover``).
"""
from __future__ import annotations

import hashlib
import json
import threading
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime, timezone
from functools import lru_cache
from typing import BinaryIO, Iterator

from .base import HeldFile, Storage, StorageError, StorageNotFound, as_stream

OBJECT_NAMASTE = "0=ocfl_object_1.1"
ROOT_NAMASTE = "0=ocfl_1.1"
INVENTORY_TYPE = "https://ocfl.io/1.1/spec/#inventory"
LAYOUT = "0003-hash-and-id-n-tuple-storage-layout"
LAYOUT_CONFIG = {"extensionName": LAYOUT, "digestAlgorithm": "sha256", "tupleSize": 3, "numberOfTuples": 3}
INVENTORY_BYTES = 8 << 20  # parsed inventories kept per root (the size of their JSON), checked on every read
HELD_INVENTORIES = 32  # of those, the latest read whose two files are kept open (Storage.hold): checked by stat


class OcflError(StorageError):
    """An OCFL object is missing, inconsistent or was changed concurrently."""


class ObjectNotFound(OcflError, StorageNotFound):
    pass


class VersionConflict(OcflError):
    """The object's head moved on since the caller read it."""

    def __init__(self, object_id: str, expected: int, actual: int):
        super().__init__(
            f"{object_id} is at version {actual}, but the change was made from version {expected}"
        )
        self.expected, self.actual = expected, actual


@dataclass(frozen=True)
class Version:
    number: int
    created: str
    message: str
    user: str
    address: str


class HashingReader:
    """Wraps a stream; hashes (SHA-512 and SHA-256) and counts what is read through it."""

    def __init__(self, stream: BinaryIO):
        self.stream, self.size = stream, 0
        self.sha512, self.sha256 = hashlib.sha512(), hashlib.sha256()

    def read(self, n: int = -1) -> bytes:
        data = self.stream.read(n)
        self.sha512.update(data)
        self.sha256.update(data)
        self.size += len(data)
        return data


def _dumps(obj) -> bytes:
    return json.dumps(obj, ensure_ascii=False, indent=2, sort_keys=True).encode("utf-8")


def _percent_encode(char: str) -> str:
    return "".join(f"%{b:02x}" for b in char.encode("utf-8"))


@lru_cache(maxsize=4096)
def object_path(object_id: str) -> str:
    """The object's directory below the storage root (extension 0003, sha256, 3×3 tuples)."""
    digest = hashlib.sha256(object_id.encode("utf-8")).hexdigest()
    encoded = "".join(c if (c.isascii() and (c.isalnum() or c in "-_")) else _percent_encode(c) for c in object_id)
    if len(encoded) > 100:
        encoded = f"{encoded[:100]}-{digest}"
    return f"{digest[0:3]}/{digest[3:6]}/{digest[6:9]}/{encoded}"


def state_of(inventory: dict, version: int | None = None) -> dict[str, str]:
    """Logical path → digest for a version (the head by default)."""
    vname = f"v{version}" if version else inventory["head"]
    if vname not in inventory["versions"]:
        raise OcflError(f"{inventory['id']} has no version {vname}")
    return {path: digest for digest, paths in inventory["versions"][vname]["state"].items() for path in paths}


def head_number(inventory: dict) -> int:
    return int(inventory["head"][1:])


class OcflRoot:
    """An OCFL storage root on a Storage backend."""

    Conflict = VersionConflict

    def __init__(self, storage: Storage, prefix: str = "ocfl"):
        self.storage, self.prefix = storage, prefix.strip("/")
        self._locks: dict[str, threading.Lock] = {}
        self._locks_guard = threading.Lock()
        # object id → (stored JSON, sidecar, parsed, None or the HeldFiles of the inventory and sidecar read)
        self._inventories: dict[str, tuple[bytes, str, dict, tuple[HeldFile, HeldFile] | None]] = {}
        self._held: OrderedDict[str, tuple[HeldFile, HeldFile]] = OrderedDict()  # at most HELD_INVENTORIES
        self._inventory_bytes = 0

    def _key(self, *parts: str) -> str:
        return "/".join(p for p in (self.prefix, *parts) if p)

    def init(self) -> None:
        """Create the storage root's declaration and layout files if missing."""
        if not self.storage.exists(self._key(ROOT_NAMASTE)):
            self.storage.put(self._key("ocfl_layout.json"), _dumps({
                "extension": LAYOUT,
                "description": "Hashed Truncated N-tuple Trees with Object ID Encapsulating Directory",
            }))
            self.storage.put(self._key("extensions", LAYOUT, "config.json"), _dumps(LAYOUT_CONFIG))
            self.storage.put(self._key(ROOT_NAMASTE), b"ocfl_1.1\n")

    def _lock(self, object_id: str) -> threading.Lock:
        with self._locks_guard:
            return self._locks.setdefault(object_id, threading.Lock())

    # --- reading -------------------------------------------------------------------------

    def exists(self, object_id: str) -> bool:
        return self.storage.exists(self._key(object_path(object_id), OBJECT_NAMASTE))

    def inventory(self, object_id: str) -> dict:
        """The object's current inventory, checked against its sidecar digest.

        The parsed inventory is kept and given again (the same dict: callers must not change it)
        while the stored inventory and its sidecar are the very bytes it was parsed from: a read
        is then two ``stat`` calls where the storage holds the files it read (``Storage.hold``:
        local disk), else two small file reads — whichever process committed the last version."""
        base = self._key(object_path(object_id))
        kept = self._inventories.get(object_id)
        if kept is not None and kept[3] is not None and kept[3][0].current() and kept[3][1].current():
            return kept[2]
        try:
            held = self.storage.hold(f"{base}/inventory.json"), self.storage.hold(f"{base}/inventory.json.sha512")
        except StorageNotFound:  # no inventory (or a torn one without its sidecar): read as before
            held = None, None
        raw = held[0].data if held[0] is not None else self._read(f"{base}/inventory.json", object_id)
        sidecar = _digest_in(held[1].data) if held[1] is not None else self._sidecar(base, "inventory.json")
        held = held if held[0] is not None else None
        if kept is not None and kept[0] == raw and sidecar == kept[1]:
            if held is not None:
                self._keep(object_id, (*kept[:3], held))
            return kept[2]
        digest = hashlib.sha512(raw).hexdigest()
        if digest != sidecar:
            return self._recover(object_id)
        inv = json.loads(raw)
        self._keep(object_id, (raw, digest, inv, held))
        return inv

    def _read(self, key: str, object_id: str) -> bytes:
        try:
            with self.storage.open(key) as f:
                return f.read()
        except StorageNotFound:
            raise ObjectNotFound(f"no object {object_id} in storage") from None

    def _keep(self, object_id: str, entry: tuple) -> None:
        """Keep a parsed inventory, the oldest dropped beyond INVENTORY_BYTES of stored inventories."""
        with self._locks_guard:
            old = self._inventories.pop(object_id, None)
            self._inventory_bytes += len(entry[0]) - (len(old[0]) if old else 0)
            self._inventories[object_id] = entry
            if entry[3] is not None:
                self._held[object_id] = entry[3]
                self._held.move_to_end(object_id)
                while len(self._held) > HELD_INVENTORIES:
                    for file in self._held.popitem(last=False)[1]:
                        file.close()
            while self._inventory_bytes > INVENTORY_BYTES and len(self._inventories) > 1:
                self._inventory_bytes -= len(self._inventories.pop(next(iter(self._inventories)))[0])

    def _sidecar_ok(self, base: str, name: str, raw: bytes) -> bool:
        return hashlib.sha512(raw).hexdigest() == self._sidecar(base, name)

    def _sidecar(self, base: str, name: str) -> str | None:
        """The digest a sidecar file gives (OCFL 1.1 §3.7), None when it is missing or unreadable."""
        try:
            with self.storage.open(f"{base}/{name}.sha512") as f:
                return _digest_in(f.read())
        except StorageNotFound:
            return None

    def _recover(self, object_id: str) -> dict:
        """Reinstate the newest complete version as head after an interrupted write."""
        base = self._key(object_path(object_id))
        numbers = sorted({int(k[len(base) + 2:].split("/")[0]) for k in self.storage.list(f"{base}/v")
                          if k[len(base) + 2:].split("/")[0].isdigit()}, reverse=True)
        for n in numbers:
            try:
                with self.storage.open(f"{base}/v{n}/inventory.json") as f:
                    raw = f.read()
            except StorageNotFound:
                continue
            if self._sidecar_ok(f"{base}/v{n}", "inventory.json", raw):
                self._remove_versions_after(base, n)
                self._write_inventory(base, raw)
                return json.loads(raw)
        raise OcflError(f"object {object_id} has no valid inventory: it needs repair from a backup")

    def _remove_versions_after(self, base: str, n: int) -> None:
        for key in list(self.storage.list(f"{base}/v")):
            head = key[len(base) + 2:].split("/")[0]
            if head.isdigit() and int(head) > n:
                self.storage.delete(key)

    def versions(self, object_id: str) -> list[Version]:
        inv = self.inventory(object_id)
        return [
            Version(int(name[1:]), v["created"], v.get("message", ""),
                    v.get("user", {}).get("name", ""), v.get("user", {}).get("address", ""))
            for name, v in sorted(inv["versions"].items(), key=lambda kv: int(kv[0][1:]))
        ]

    def content_key(self, object_id: str, logical_path: str, version: int | None = None,
                    inventory: dict | None = None) -> str:
        inv = inventory or self.inventory(object_id)
        digest = state_of(inv, version).get(logical_path)
        if digest is None:
            raise ObjectNotFound(f"{object_id} has no file {logical_path}"
                                 + (f" in version {version}" if version else ""))
        return self._key(object_path(object_id), inv["manifest"][digest][0])

    def open(self, object_id: str, logical_path: str, version: int | None = None) -> BinaryIO:
        return self.storage.open(self.content_key(object_id, logical_path, version))

    def read_json(self, object_id: str, logical_path: str, version: int | None = None,
                  inventory: dict | None = None):
        with self.storage.open(self.content_key(object_id, logical_path, version, inventory)) as f:
            return json.loads(f.read())

    def list_objects(self) -> Iterator[str]:
        """Yield the id of every object in the root (reads each inventory)."""
        for key in self.storage.list(self._key() + "/"):
            if key.endswith("/" + OBJECT_NAMASTE):
                base = key[: -len(OBJECT_NAMASTE) - 1]
                with self.storage.open(f"{base}/inventory.json") as f:
                    yield json.loads(f.read())["id"]

    # --- writing -------------------------------------------------------------------------

    def commit(self, object_id: str, changes: dict[str, bytes | BinaryIO | None], *,
               user: str, message: str, expected_head: int | None = None,
               address: str | None = None) -> dict:
        """Write a new version: ``changes`` maps logical paths to new content, or None to remove."""
        with self.new_version(object_id, user=user, message=message,
                              expected_head=expected_head, address=address) as version:
            for path, data in changes.items():
                version.remove(path) if data is None else version.put(path, data)
        return version.inventory

    def new_version(self, object_id: str, *, user: str, message: str,
                    expected_head: int | None = None, address: str | None = None) -> "VersionWriter":
        """A context manager that writes one new version; it commits on a clean exit.

        ``expected_head`` is the version the caller read (0 for a new object); if the head has
        moved on, VersionConflict is raised and nothing is written.
        """
        return VersionWriter(self, object_id, user=user, message=message,
                             expected_head=expected_head, address=address)

    def _write_inventory(self, base: str, raw: bytes) -> None:
        self.storage.put(f"{base}/inventory.json", raw)
        self.storage.put(f"{base}/inventory.json.sha512",
                         f"{hashlib.sha512(raw).hexdigest()}  inventory.json\n".encode())

    def purge(self, object_id: str) -> None:
        """Destroy an object and every version of it (admin only; callers record why)."""
        base = self._key(object_path(object_id))
        if not self.exists(object_id):
            raise ObjectNotFound(f"no object {object_id} in storage")
        keys = [k for k in self.storage.list(base + "/")]
        # Remove the declaration first so a half-purged object is not taken for a live one.
        self.storage.delete(f"{base}/{OBJECT_NAMASTE}")
        for key in keys:
            self.storage.delete(key)


@dataclass(frozen=True)
class StoredContent:
    size: int
    sha256: str
    sha512: str


class VersionWriter:
    """Writes content for one new version; see ``OcflRoot.new_version``."""

    def __init__(self, root: OcflRoot, object_id: str, *, user: str, message: str,
                 expected_head: int | None, address: str | None):
        self.root, self.object_id = root, object_id
        self.user, self.message, self.address = user, message, address
        self.expected_head = expected_head
        self.base = root._key(object_path(object_id))
        self.written: list[str] = []

    def __enter__(self) -> "VersionWriter":
        self._lock = self.root._lock(self.object_id)
        self._lock.acquire()
        try:
            inv = self.root.inventory(self.object_id) if self.root.exists(self.object_id) else None
            self.head = head_number(inv) if inv else 0
            if self.expected_head is not None and self.expected_head != self.head:
                raise VersionConflict(self.object_id, self.expected_head, self.head)
            if self.head == 0:  # leftovers of an interrupted first write
                for key in list(self.root.storage.list(self.base + "/")):
                    self.root.storage.delete(key)
            else:  # leftovers of an interrupted later write
                self.root._remove_versions_after(self.base, self.head)
            self.inventory = json.loads(json.dumps(inv)) if inv else {  # a copy: the root keeps its own
                "id": self.object_id, "type": INVENTORY_TYPE, "digestAlgorithm": "sha512",
                "manifest": {}, "versions": {}, "fixity": {"sha256": {}},
            }
            self.state = state_of(self.inventory) if inv else {}
        except BaseException:
            self._lock.release()
            raise
        self.vdir = f"v{self.head + 1}"
        return self

    def put(self, path: str, data: bytes | BinaryIO) -> StoredContent:
        """Stream ``data`` into the new version at logical ``path``."""
        _check_logical_path(self.object_id, path)
        content = f"{self.vdir}/content/{path}"
        key = f"{self.base}/{content}"
        reader = HashingReader(as_stream(data))
        self.root.storage.put(key, reader)
        digest, sha256 = reader.sha512.hexdigest(), reader.sha256.hexdigest()
        if digest in self.inventory["manifest"]:
            self.root.storage.delete(key)  # the same bytes are already stored: deduplicate
        else:
            self.written.append(key)
            self.inventory["manifest"][digest] = [content]
            self.inventory["fixity"]["sha256"].setdefault(sha256, []).append(content)
        self.state[path] = digest
        return StoredContent(reader.size, sha256, digest)

    def remove(self, path: str) -> None:
        if path not in self.state:
            raise OcflError(f"cannot remove {path} from {self.object_id}: no such file")
        del self.state[path]

    def __exit__(self, exc_type, exc, tb) -> None:
        try:
            if exc_type is None:
                self._finish()
        except BaseException:
            exc_type = True
            raise
        finally:
            if exc_type is not None:
                for key in self.written:
                    try:
                        self.root.storage.delete(key)
                    except StorageError:
                        pass
            self._lock.release()

    def _finish(self) -> None:
        inv = self.inventory
        inv["head"] = self.vdir
        inv["versions"][self.vdir] = {
            "created": datetime.now(timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z"),
            "message": self.message,
            "user": {"name": self.user, "address": self.address or f"urn:fangzhi:user:{self.user}"},
            "state": _invert(self.state),
        }
        raw = _dumps(inv)
        self.written += [f"{self.base}/{self.vdir}/inventory.json", f"{self.base}/{self.vdir}/inventory.json.sha512"]
        self.root._write_inventory(f"{self.base}/{self.vdir}", raw)
        self.root._write_inventory(self.base, raw)  # the commit point: the new head is visible
        if self.head == 0:  # a new object exists once it is complete
            self.root.storage.put(f"{self.base}/{OBJECT_NAMASTE}", b"ocfl_object_1.1\n")


def _invert(state: dict[str, str]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for path, digest in sorted(state.items()):
        out.setdefault(digest, []).append(path)
    return out


def _check_logical_path(object_id: str, path: str) -> None:
    # OCFL 1.1 §3.5.3.1: logical paths are "/"-separated, no ".", ".." or empty segments.
    parts = path.split("/")
    if not path or path.startswith("/") or any(p in ("", ".", "..") for p in parts):
        raise OcflError(f"invalid file path {path!r} in {object_id}")


def _digest_in(sidecar: bytes) -> str | None:
    """The digest a sidecar file's bytes give (OCFL 1.1 §3.7), None when unreadable."""
    try:
        return sidecar.decode("ascii").split()[0]
    except (IndexError, UnicodeDecodeError):
        return None
