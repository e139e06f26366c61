"""MemoryStorage: keys held in a dict, for fast unit tests; thread-safe, gone with the process.

It keeps the Storage contract (tests/storage/test_contract.py) except that what it stores is in
memory by nature; ``local_path`` is always None, as for S3.
"""
from __future__ import annotations

import io
import threading
from pathlib import Path
from typing import BinaryIO, Iterator

from .base import CHUNK, StorageError, StorageNotFound, as_stream, check_key


class MemoryStorage:
    def __init__(self):
        self._data: dict[str, bytes] = {}
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"MemoryStorage({len(self._data)} keys)"

    def _get(self, key: str) -> bytes:
        with self._lock:
            data = self._data.get(check_key(key))
        if data is None:
            raise StorageNotFound(f"no such file in storage: {key}")
        return data

    def put(self, key: str, data: bytes | BinaryIO) -> int:
        check_key(key)
        source, parts = as_stream(data), []
        try:
            while chunk := source.read(CHUNK):
                parts.append(chunk)
        except OSError as exc:  # reading the source failed: the key keeps what it held
            raise StorageError(f"cannot write {key}: {exc.strerror or exc}") from exc
        value = b"".join(parts)
        with self._lock:
            self._data[key] = value
        return len(value)

    def open(self, key: str) -> BinaryIO:
        return io.BytesIO(self._get(key))  # shares the stored bytes until written to

    def read_range(self, key: str, start: int, length: int) -> bytes:
        data = self._get(key)
        if start < 0 or length < 0:
            raise StorageError(f"invalid range {start}+{length} for {key}")
        return data[start:start + length]

    def exists(self, key: str) -> bool:
        with self._lock:
            return check_key(key) in self._data

    def size(self, key: str) -> int:
        return len(self._get(key))

    def list(self, prefix: str = "") -> Iterator[str]:
        with self._lock:
            keys = [k for k in self._data if k.startswith(prefix)]
        yield from keys

    def delete(self, key: str) -> None:
        with self._lock:
            self._data.pop(check_key(key), None)

    def local_path(self, key: str) -> Path | None:
        check_key(key)
        return None

    def hold(self, key: str) -> None:
        check_key(key)
        return None
