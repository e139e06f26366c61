"""A donation's files on the shared object store, for workers on other machines (TASK_QUEUE=celery).

The planner sees the donation (a folder, a browser upload on one web machine); a worker elsewhere
does not. Before an entry's task is sent, ``stage`` copies its files to ``staging/<job>/<n>/<i>``
beside the OCFL root (not in it), each with its SHA-256 (``<i>.sha256``); a worker that does not
see a file at the planner's path ``fetch``es the entry's files into its own work folder, under the
same relative paths (the names an item's files are stored under come from them), checks every
copy against its SHA-256, and ``drop``s them once the entry is done. A file staged with the same
SHA-256 is not sent again (a planner resumed after a crash).
"""
from __future__ import annotations

import hashlib
import shutil
from pathlib import Path, PurePosixPath

from storage.base import Storage, StorageError

PREFIX = "staging"


def key(job_id: str, n: int, i: int) -> str:
    return f"{PREFIX}/{job_id}/{n}/{i}"


def stage(storage: Storage, job_id: str, n: int, files: list[str]) -> None:
    for i, path in enumerate(files):
        with open(path, "rb") as f:
            digest = hashlib.file_digest(f, "sha256").hexdigest()
            if _digest(storage, job_id, n, i) != digest:
                f.seek(0)
                storage.put(key(job_id, n, i), f)
                storage.put(key(job_id, n, i) + ".sha256", digest.encode())


def staged(storage: Storage, job_id: str, n: int, files: list[str]) -> bool:
    return all(_digest(storage, job_id, n, i) for i in range(len(files)))


def fetch(storage: Storage, job_id: str, n: int, files: list[str], into: Path) -> dict[str, str]:
    """The entry's files copied into ``into``: {the planner's path: the copy's path}."""
    local = {}
    for i, path in enumerate(files):
        parts = PurePosixPath(path).parts
        if not parts or parts[0] != "/" or ".." in parts:
            raise StorageError(f"not an absolute path in the job: {path!r}")
        target = into.joinpath(*parts[1:])
        target.parent.mkdir(parents=True, exist_ok=True)
        with storage.open(key(job_id, n, i)) as source, open(target, "wb") as copy:
            shutil.copyfileobj(source, copy, 1 << 20)
        with open(target, "rb") as copy:
            if hashlib.file_digest(copy, "sha256").hexdigest() != _digest(storage, job_id, n, i):
                raise StorageError(f"the staged copy of {path} differs from the file staged (SHA-256): "
                                   "retry the entry from the machine that planned the job")
        local[path] = str(target)
    return local


def _digest(storage: Storage, job_id: str, n: int, i: int) -> str | None:
    sidecar = key(job_id, n, i) + ".sha256"
    if not storage.exists(sidecar):
        return None
    with storage.open(sidecar) as f:
        return f.read().decode()


def drop(storage: Storage, job_id: str, n: int) -> None:
    for staged_key in list(storage.list(f"{PREFIX}/{job_id}/{n}/")):
        storage.delete(staged_key)
