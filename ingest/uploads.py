"""Browser uploads (the ingest page's chunked, resumable protocol): files arrive in chunks, then
become one item of a new ingest job.

An upload is a folder, named by a random id, under the uploads folder; each file goes in a
subfolder numbered by its place in the upload (``0001/scan.tif``: it keeps its own name, and the
files their order). A chunk is appended at the size received so far, so an interrupted upload
continues from there; it is streamed to the file a piece at a time, at most ``CHUNK_LIMIT``
bytes a chunk and ``max_file_bytes`` a file, and a chunk refused leaves the file as it was.

A batch (a folder or many files dropped at once) sends each file with its path relative to the
donation: it is kept under ``files/`` with that path (every part a plain name: ``..``, absolute
paths and separators are refused), with an optional manifest under ``manifest/``, and is then
planned exactly as ``fangzhi ingest`` plans a folder (``finish_batch``: the same plan, checks and job).
"""
from __future__ import annotations

import secrets
from pathlib import Path
from typing import Iterable

from repository.errors import ValidationError

from .errors import IngestError
from .pipeline import Context, plan_job
from .safety import MIB, UploadRefused, safe_filename
from .sources import plan
from .sources.common import MAX_MANIFEST_BYTES, PlannedItem, pages
from .sources.folder import transcripts_beside

CHUNK_LIMIT = 16 * 1024 * 1024  # the browser sends 8 MiB chunks
MAX_BATCH_FILES = 10_000  # files in one batch
MAX_PATH_PARTS = 16  # folders deep, in a batch's relative paths
MODES = ("items", "one")  # a batch: planned as a folder (one item per file or subfolder), or one multi-page item


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

    def append(self, upload_id: str, index: int, name: str, offset: int | None, pieces: Iterable[bytes], *,
               path: str | None = None, manifest: bool = False) -> int:
        """Append the chunk ``pieces`` at ``offset`` to file number ``index`` called ``name`` (in a
        batch: the file at relative ``path``, or the batch's ``manifest``); the file's size after
        it (the offset of the next chunk)."""
        folder = self.folder(upload_id)
        if manifest:
            target = folder / "manifest" / safe_filename(name)
        elif path is not None:
            target = folder / "files" / safe_path(path)
        else:
            target = folder / f"{index:04d}" / safe_filename(name)
        target.parent.mkdir(parents=True, exist_ok=True)
        size = target.stat().st_size if target.exists() else 0
        if offset != size:
            raise OffsetConflict(size)
        most = MAX_MANIFEST_BYTES if manifest else self.max_file_bytes
        limit, received = min(CHUNK_LIMIT, most - size), 0
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
                                    f"{most // MIB} MiB") from None
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

    def finish_batch(self, ctx: Context, upload_id: str, *, mode: str, metadata: dict,
                     collection: str | None = None) -> str:
        """Plan a batch as ``fangzhi ingest`` plans a folder (with its manifest, if one was sent):
        mode "items", one item per file or subfolder; "one", all files as one multi-page item with
        ``metadata``. ``metadata`` gives every item its values where the plan has none. The job's id."""
        if mode not in MODES:
            raise ValidationError([("mode", f"must be one of {', '.join(MODES)}")])
        folder = self.folder(upload_id)
        tree, manifests = folder / "files", sorted((folder / "manifest").glob("*"))
        if not tree.is_dir():
            raise ValidationError([("files", "upload at least one file")])
        if mode == "one":
            files, problems = pages(tree, tree)  # natural page order, hidden files left out, as a subfolder
            if not files:
                raise ValidationError([("files", "upload at least one file")])
            transcripts = [t for found in transcripts_beside(files).values() for t in found]
            files = [f for f in files if f not in transcripts]
            title = (metadata.get("title") or {}).get("zh") or files[0].stem
            planned = [PlannedItem(label=title, files=files, metadata=dict(metadata), file_ids=[None] * len(files),
                                   problems=problems, transcripts=transcripts)]
        else:
            planned = plan(tree, manifest=manifests[0] if manifests else None, collection=collection)
            for p in planned:
                p.metadata = {**{k: v for k, v in metadata.items() if k not in ("title", "kind", "id")}, **p.metadata}
                if metadata.get("collections") and "collections" in p.metadata:
                    p.metadata["collections"] = list(dict.fromkeys([*p.metadata["collections"],
                                                                    *metadata["collections"]]))
        options = {"root": str(tree), "mode": mode, "manifest": manifests[0].name if manifests else None}
        return plan_job(ctx, f"web upload {upload_id}", planned, options=options)


def safe_path(path: str) -> Path:
    """A batch file's path relative to the donation, every part a plain file name
    (``safety.safe_filename``): no absolute path, no ``..``, at most MAX_PATH_PARTS deep."""
    parts = [p for p in str(path).replace("\\", "/").split("/")]
    if not path or len(parts) > MAX_PATH_PARTS or "" in parts:
        raise UploadRefused(str(path), f"not a relative path of at most {MAX_PATH_PARTS} plain names")
    return Path(*(safe_filename(p) for p in parts))
