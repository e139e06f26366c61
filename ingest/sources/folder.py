"""A folder as a source: one item per file at the top level, one multi-page item per subfolder
(pages in natural order: ``2.tif`` before ``10.tif``); kinds come from the files' first bytes.
Transcripts named after a recording beside them attach to it (``transcripts_beside``)."""
from __future__ import annotations

import os
import unicodedata
from pathlib import Path

from oral_history.attach import recording_name

from .common import (PlannedItem, SourceError, guess_kind, inside, invalid, is_hidden, media_kind, natural_key, pages,
                     source_folder)


def plan_folder(root: Path, *, collection: str | None = None, keep_hidden: bool = False) -> list[PlannedItem]:
    """One item per top-level file, one multi-page item per subfolder (its files at any depth).
    Hidden and system files (``is_hidden``) are left out unless ``keep_hidden`` (a bag's payload)."""
    root = source_folder(root)
    items = []
    try:
        names = sorted((n for n in os.listdir(root) if keep_hidden or not is_hidden(n)), key=natural_key)
    except OSError as exc:
        raise SourceError(f"{root}: cannot read the folder ({exc.strerror})") from exc
    attached = transcripts_beside([root / n for n in names if (root / n).is_file() and inside(root / n, root)])
    taken = {t for ts in attached.values() for t in ts}
    for name in names:
        path = root / name
        problems = []
        if path in taken:
            continue
        if not inside(path, root):
            files, multi, problems = [], False, [f"{name}: a symbolic link leading outside the source folder"]
        elif path.is_dir():
            files, problems = pages(path, root, keep_hidden=keep_hidden)
            inner = transcripts_beside(files)
            files = [f for f in files if not any(f in ts for ts in inner.values())]
            attached.update(inner)
            multi = len(files) > 1 or not inner
            if not files and not problems:
                problems.append(f"{name}: the folder holds no files")
        elif path.is_file():
            files, multi = [path], False
        else:
            files, multi, problems = [], False, [f"{name}: not a regular file"]
        label = path.name if multi or path.is_dir() else path.stem or path.name
        metadata = {"kind": guess_kind(files, multi, problems), "title": {"zh": label}}
        if collection:
            metadata["collections"] = [collection]
        problems += [f"{name}, {f}: {p}" for f, p in invalid(metadata)]
        transcripts = [t for f in files for t in attached.get(f, [])]
        items.append(PlannedItem(label, files, metadata, [None] * len(files), problems, transcripts=transcripts))
    return items


def transcripts_beside(paths: list[Path]) -> dict[Path, list[Path]]:
    """Transcript and OHMS files named after a recording beside them (采访_张.wav with
    采访_张.vtt, 采访_张.wuu.vtt, 采访_张.xml …): recording → its transcripts, in name order."""
    recordings = {}
    for path in paths:
        if recording_name(path.name) is None and media_kind(path) in ("audio", "video"):
            recordings.setdefault(unicodedata.normalize("NFC", path.stem), path)
    found: dict[Path, list[Path]] = {}
    for path in sorted(paths, key=natural_key):
        base = recording_name(path.name)
        recording = recordings.get(unicodedata.normalize("NFC", base)) if base else None
        if recording is not None:
            found.setdefault(recording, []).append(path)
    return found
