"""Uploaded files → NewFile records, each checked by ingest.safety before anything is stored."""
from __future__ import annotations

import os

from ingest.safety import inspect_upload
from repository.services import NewFile


def new_files(uploads, *, first_sequence: int = 1) -> list[NewFile]:
    """Check every upload (name, size, content) and return them in order; refuse all if one fails."""
    files = []
    for n, upload in enumerate(u for u in uploads if u and u.filename):
        stream = upload.stream
        size = os.fstat(stream.fileno()).st_size if hasattr(stream, "fileno") else None
        media_type = inspect_upload(upload.filename, stream, declared_size=size)
        files.append(NewFile(upload.filename, stream, media_type, first_sequence + n))
    return files
