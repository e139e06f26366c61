"""The Storage protocol: a flat namespace of keys ("a/b/c.tif") holding byte streams.

Every backend streams in constant memory: ``put`` reads its source in chunks and ``open``
returns a readable file object, so a multi-gigabyte scan never sits in memory.
"""
from __future__ import annotations

import io
import os
import re
from pathlib import Path
from typing import BinaryIO, Iterator, Protocol, runtime_checkable

CHUNK = 1024 * 1024


class StorageError(Exception):
    """A storage operation failed; the message names the key and the operation."""


class StorageNotFound(StorageError):
    """The key does not exist."""


_BAD_SEGMENT = re.compile(r"^(|\.|\.\.)$")


def check_key(key: str) -> str:
    """Return ``key`` if it is a safe relative key, else raise StorageError.

    Keys use "/" separators, never start with "/", and have no empty, "." or ".." segment,
    so no key can escape the storage root.
    """
    if not isinstance(key, str) or not key or key.startswith("/") or "\\" in key or "\0" in key:
        raise StorageError(f"invalid storage key {key!r}")
    if any(_BAD_SEGMENT.match(part) for part in key.split("/")):
        raise StorageError(f"invalid storage key {key!r}: empty, '.' or '..' segment")
    return key


def as_stream(data: bytes | BinaryIO) -> BinaryIO:
    return io.BytesIO(data) if isinstance(data, (bytes, bytearray, memoryview)) else data


@runtime_checkable
class Storage(Protocol):
    """What every storage backend provides (LocalStorage, S3Storage)."""

    def put(self, key: str, data: bytes | BinaryIO) -> int:
        """Store ``data`` (bytes or a readable stream) under ``key`` atomically; return its size."""

    def open(self, key: str) -> BinaryIO:
        """Return a readable binary stream of the key's bytes (use as a context manager)."""

    def read_range(self, key: str, start: int, length: int) -> bytes:
        """Return up to ``length`` bytes starting at byte ``start``."""

    def exists(self, key: str) -> bool:
        ...

    def size(self, key: str) -> int:
        ...

    def list(self, prefix: str = "") -> Iterator[str]:
        """Yield every key that starts with ``prefix`` (order unspecified)."""

    def delete(self, key: str) -> None:
        """Delete ``key``; deleting a missing key is not an error."""

    def local_path(self, key: str) -> Path | None:
        """The key's path on a local file system, or None where no such file exists (S3)."""

    def hold(self, key: str) -> "HeldFile | None":
        """The key's bytes read and its file kept open (a ``HeldFile``) where the backend can then
        tell cheaply whether the key still holds them; None where only a new read can (S3)."""


class HeldFile:
    """A stored file read whole and kept open; ``current()`` tells, with one ``stat``, whether its
    key still names these very bytes.

    Local storage never writes a key's file in place: ``put`` renames a new file over it. So the
    key holds the same bytes exactly while its path names the same inode (with the same size and
    modification time, against edits in place by hand) — and no other file can be given that
    inode number while this one is open. Closed (``close``), it is never current."""

    def __init__(self, path: str):
        self._path, self._fd = path, os.open(path, os.O_RDONLY)
        try:
            st = os.fstat(self._fd)
            self._identity = _identity(st)
            self.data = os.pread(self._fd, st.st_size + 1, 0)
        except BaseException:
            self.close()
            raise

    def current(self) -> bool:
        try:
            return self._fd >= 0 and _identity(os.stat(self._path)) == self._identity
        except OSError:
            return False

    def close(self) -> None:
        fd, self._fd = self._fd, -1
        if fd >= 0:
            os.close(fd)

    __del__ = close


def _identity(st: os.stat_result) -> tuple:
    return st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns
