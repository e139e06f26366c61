"""LocalStorage: keys are files below a root directory; writes are atomic (temp file + rename)."""
from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import BinaryIO, Iterator

from .base import CHUNK, HeldFile, StorageError, StorageNotFound, as_stream, check_key

TMP_DIR = ".tmp"  # beside the keys, on the same file system, so rename is atomic


class LocalStorage:
    def __init__(self, root: str | os.PathLike):
        self.root = Path(root).resolve()
        self._prefix = f"{self.root}/"
        (self.root / TMP_DIR).mkdir(parents=True, exist_ok=True)

    def __repr__(self) -> str:
        return f"LocalStorage({str(self.root)!r})"

    def _path(self, key: str) -> Path:
        return self.root / check_key(key)

    def _file(self, key: str) -> str:
        """The key's file name as a string: what reads use (quicker to make than a Path)."""
        return self._prefix + check_key(key)

    def put(self, key: str, data: bytes | BinaryIO) -> int:
        path = self._path(key)
        if key.split("/")[0] == TMP_DIR:
            raise StorageError(f"invalid storage key {key!r}: {TMP_DIR} is reserved")
        source = as_stream(data)
        size = 0
        fd, tmp = tempfile.mkstemp(dir=self.root / TMP_DIR)
        try:
            with os.fdopen(fd, "wb") as out:
                while chunk := source.read(CHUNK):
                    out.write(chunk)
                    size += len(chunk)
                out.flush()
                os.fsync(out.fileno())
            path.parent.mkdir(parents=True, exist_ok=True)
            os.replace(tmp, path)
        except BaseException as exc:
            Path(tmp).unlink(missing_ok=True)
            if isinstance(exc, OSError):
                raise StorageError(f"cannot write {key}: {exc.strerror or exc}") from exc
            raise
        return size

    def open(self, key: str) -> BinaryIO:
        try:
            return open(self._file(key), "rb")
        except FileNotFoundError:
            raise StorageNotFound(f"no such file in storage: {key}") from None
        except (IsADirectoryError, OSError) as exc:
            raise StorageError(f"cannot read {key}: {exc.strerror or exc}") from exc

    def read_range(self, key: str, start: int, length: int) -> bytes:
        if start < 0 or length < 0:
            raise StorageError(f"invalid range {start}+{length} for {key}")
        with self.open(key) as f:
            f.seek(start)
            return f.read(length)

    def exists(self, key: str) -> bool:
        return os.path.isfile(self._file(key))

    def size(self, key: str) -> int:
        try:
            return self._path(key).stat().st_size
        except FileNotFoundError:
            raise StorageNotFound(f"no such file in storage: {key}") from None

    def list(self, prefix: str = "") -> Iterator[str]:
        # Walk only the directory that can hold the prefix, then filter by the full prefix.
        base = self.root / prefix.rpartition("/")[0] if "/" in prefix else self.root
        if not base.is_dir():
            return
        for dirpath, dirnames, filenames in os.walk(base):
            dirnames.sort()
            if Path(dirpath) == self.root and TMP_DIR in dirnames:
                dirnames.remove(TMP_DIR)
            rel = Path(dirpath).relative_to(self.root).as_posix()
            keys = sorted(f if rel == "." else f"{rel}/{f}" for f in filenames)
            yield from (k for k in keys if k.startswith(prefix))

    def delete(self, key: str) -> None:
        path = self._path(key)
        try:
            path.unlink()
        except FileNotFoundError:
            return
        # Remove directories left empty, up to the root.
        for parent in path.parents:
            if parent == self.root or not parent.is_relative_to(self.root):
                break
            try:
                parent.rmdir()
            except OSError:
                break

    def local_path(self, key: str) -> Path | None:
        path = self._path(key)
        return path if path.is_file() else None

    def hold(self, key: str) -> HeldFile:
        try:
            return HeldFile(self._file(key))
        except FileNotFoundError:
            raise StorageNotFound(f"no such file in storage: {key}") from None
        except OSError as exc:
            raise StorageError(f"cannot read {key}: {exc.strerror or exc}") from exc
