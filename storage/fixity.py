"""Fixity audit: re-hash every stored content file and compare with its OCFL inventory.

By default the SHA-256 values of the inventory's ``fixity`` block are checked (fast on CPUs with
SHA extensions); ``digest="sha512"`` checks the manifest's content digests instead. Either way
every file of every version is read in full.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Callable, Iterator

from .base import StorageError
from .ocfl import OcflRoot, object_path


@dataclass(frozen=True)
class Problem:
    object_id: str
    path: str
    problem: str

    def __str__(self) -> str:
        return f"{self.object_id}: {self.path}: {self.problem}"


def files_to_check(root: OcflRoot, digest: str = "sha256") -> Iterator[tuple[str, str, str]]:
    """(object id, content path, expected digest) for every content file in the root."""
    for object_id in root.list_objects():
        inv = root.inventory(object_id)
        table = inv["manifest"] if digest == "sha512" else inv.get("fixity", {}).get(digest, {})
        for value, paths in table.items():
            for path in paths:
                yield object_id, path, value


def audit(root: OcflRoot, checks=None, *, digest: str = "sha256",
          progress: Callable[[int], None] = lambda size: None) -> list[Problem]:
    """Every mismatch or unreadable file among ``checks`` (default: all files of the root).
    ``progress`` is called after each file with its size."""
    problems: list[Problem] = []
    for object_id, path, expected in checks if checks is not None else files_to_check(root, digest):
        key = root._key(object_path(object_id), path)
        try:
            with root.storage.open(key) as f:
                actual, size = _hash(f, digest)
            progress(size)
        except StorageError as exc:
            problems.append(Problem(object_id, path, f"cannot be read: {exc}"))
            continue
        if actual != expected:
            problems.append(Problem(object_id, path, f"{digest} is {actual}, the inventory says {expected}"))
    return problems


def _hash(stream, digest: str) -> tuple[str, int]:
    h, size = hashlib.new(digest), 0
    while chunk := stream.read(1 << 20):
        h.update(chunk)
        size += len(chunk)
    return h.hexdigest(), size
