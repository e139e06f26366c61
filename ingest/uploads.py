"""Browser uploads (the ingest page's chunked, resumable protocol): files arrive in chunks, then
become one item of a new ingest job.

An upload is a folder, named by a random id, under the uploads folder; each file goes in a
subfolder numbered by its place in the upload (``0001/scan.tif``: it keeps its own name, and the
files their order). A chunk is appended at the size received so far, so an interrupted upload
continues from there; it is streamed to the file a piece at a time, at most ``CHUNK_LIMIT``
bytes a chunk and ``max_file_bytes`` a file, and a chunk refused leaves the file as it was.
"""
from __future__ import annotations

import secrets
from pathlib import Path
from typing import Iterable

from repository.errors import ValidationError

from .errors import IngestError
from .pipeline import Context, plan_job
from .safety import MIB, safe_filename
from .sources.common import PlannedItem
from .sources.folder import transcripts_beside

CHUNK_LIMIT = 16 * 1024 * 1024  # the browser sends 8 MiB chunks


class UnknownUpload(IngestError):
    """No upload has this id."""


class OffsetConflict(IngestError):
    """A chunk sent for another offset than the size received so far (``size``)."""

    def __init__(self, size: int):
        super().__init__(f"expected offset {size}")
        self.size = size


class ChunkTooLarge(IngestError):
    """A chunk over CHUNK_LIMIT, or one that would make its file larger than allowed. The body's
    pieces may raise it too (the web server's own limit); the file is then left as it was."""


class Uploads:
    """The uploads in progress, in folder ``root``; a file may grow to ``max_file_bytes``."""

    def __init__(self, root: Path, *, max_file_bytes: int):
        self.root, self.max_file_bytes = Path(root), max_file_bytes

    def start(self) -> str:
        """A new upload; its id."""
        upload_id = secrets.token_hex(16)
        (self.root / upload_id).mkdir(parents=True)
        return upload_id

    def folder(self, upload_id: str) -> Path:
        if not (len(upload_id) == 32 and all(c in "0123456789abcdef" for c in upload_id)):
            raise UnknownUpload(upload_id)
        folder = self.root / upload_id
        if not folder.is_dir():
            raise UnknownUpload(upload_id)
        return folder

    def append(self, upload_id: str, index: int, name: str, offset: int | None, pieces: Iterable[bytes]) -> int:
        """Append the chunk ``pieces`` at ``offset`` to file number ``index`` called ``name``;
        the file's size after it (the offset of the next chunk)."""
        folder = self.folder(upload_id)
        target = folder / f"{index:04d}" / safe_filename(name)
        target.parent.mkdir(exist_ok=True)
        size = target.stat().st_size if target.exists() else 0
        if offset != size:
            raise OffsetConflict(size)
        limit, received = min(CHUNK_LIMIT, self.max_file_bytes - size), 0
        with open(target, "ab") as f:
            try:
                for piece in pieces:
                    received += len(piece)
                    if received > limit:
                        raise ChunkTooLarge()
                    f.write(piece)
            except ChunkTooLarge:
                f.truncate(size)
                raise ChunkTooLarge(f"chunks may be at most {CHUNK_LIMIT} bytes and a file at most "
                                    f"{self.max_file_bytes // MIB} MiB") from None
        return size + received

    def finish(self, ctx: Context, upload_id: str, metadata: dict, *, label: str | None = None) -> str:
        """Plan the uploaded files as one item with ``metadata`` (transcripts named after a
        recording attach to it), in a new job; its id. The item's label: ``label``, else the
        first file's name."""
        files = sorted(self.folder(upload_id).glob("*/*"))
        if not files:
            raise ValidationError([("files", "upload at least one file")])
        transcripts = [t for found in transcripts_beside(files).values() for t in found]  # 采访_张.vtt with 采访_张.wav
        files = [f for f in files if f not in transcripts]
        planned = PlannedItem(label=label or files[0].stem, files=files, metadata=metadata,
                              file_ids=[None] * len(files), problems=[], transcripts=transcripts)
        return plan_job(ctx, f"web upload {upload_id}", [planned])
