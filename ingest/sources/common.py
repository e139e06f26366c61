"""What every source shares: the ``PlannedItem`` a plan is made of, ``SourceError``, the paths an
item may name (inside the source folder only) and the item kind guessed from the files' bytes."""
from __future__ import annotations

import os
import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path, PurePath, PureWindowsPath

from repository.errors import ValidationError
from repository.model import Item

from ..errors import IngestError
from ..safety import HEAD, UploadRefused, identify, inspect_upload

MAX_MANIFEST_BYTES = 64 << 20
DATASET_TYPES = {"text/csv", "text/tab-separated-values", "application/vnd.ms-excel",
                 "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                 "application/vnd.oasis.opendocument.spreadsheet"}  # a manifest or an export's metadata.json is read whole into memory


@dataclass
class PlannedItem:
    label: str                  # what the archivist recognises: "box1", "letter-03", a row's id or title
    files: list[Path]           # absolute paths of the originals, in page order
    metadata: dict              # Item.from_dict shape without "files": kind, title, …
    file_ids: list[str | None]  # explicit file identifiers from a manifest, else None each
    problems: list[str]         # reasons this item cannot be ingested; the job marks it failed
    file_fields: list[dict] = field(default_factory=list)  # from an exported bag: per file {label, access}
    transcripts: list[Path] = field(default_factory=list)  # transcript/OHMS files of an interview (supplements)


class SourceError(IngestError):
    """The whole source is unusable (invalid bag, unreadable manifest); the message names file and reason."""


_JUNK = {"thumbs.db", "ehthumbs.db", "desktop.ini", "__macosx", "$recycle.bin", "system volume information"}


def is_hidden(name: str) -> bool:
    """System and hidden files a donation carries by accident: .DS_Store, ._x, Thumbs.db, ~$x.xlsx …"""
    return name.startswith((".", "~$")) or name.casefold() in _JUNK


def natural_key(path: PurePath | str) -> tuple:
    """Sort key for paths: numbers by value ("2" before "10"), letters case-insensitively."""
    parts = PurePath(path).parts
    return tuple([int(t) if i % 2 else t for i, t in enumerate(re.split(r"(\d+)", p.casefold()))]
                 for p in parts), str(path)


def unique_names(paths: list[Path | str]) -> list[str]:
    """File names to store an item's pages under, unique even ignoring case: the file name, or
    with its folders prefixed ("vol2-0001.tif") when pages in nested folders share a name."""
    if not paths:
        return []
    base = os.path.commonpath([os.path.dirname(p) for p in paths])
    parts = [PurePath(p).relative_to(base).parts for p in paths]
    depth = [1] * len(parts)
    while True:
        names = ["-".join(p[-d:]) for p, d in zip(parts, depth)]
        folded = [unicodedata.normalize("NFC", n).casefold() for n in names]
        clashing = [i for i, n in enumerate(folded) if folded.count(n) > 1 and depth[i] < len(parts[i])]
        if not clashing:
            return names
        for i in clashing:
            depth[i] += 1


def source_folder(root: Path) -> Path:
    root = Path(root).absolute()
    if not root.is_dir():
        raise SourceError(f"{root}: not a folder")
    return root


def inside(path: Path, root: Path) -> bool:
    """Whether ``path``, with every symbolic link followed, stays inside ``root``."""
    return Path(os.path.realpath(path)).is_relative_to(os.path.realpath(root))


def pages(folder: Path, root: Path, *, keep_hidden: bool = False) -> tuple[list[Path], list[str]]:
    """Every file under ``folder`` (hidden ones skipped unless ``keep_hidden``) in natural order of relative path, and
    problems for links leading out of ``root`` and for things that are not files."""
    found, problems, seen = [], [], set()

    def visit(d: Path):
        real = os.path.realpath(d)
        if real in seen:  # a link back to a folder already visited
            return
        seen.add(real)
        try:
            names = os.listdir(d)
        except OSError as exc:
            problems.append(f"{d.relative_to(root).as_posix()}: cannot read the folder ({exc.strerror})")
            return
        for name in names:
            p = d / name
            rel = p.relative_to(root).as_posix()
            if is_hidden(name) and not keep_hidden:
                continue
            if not inside(p, root):
                problems.append(f"{rel}: a symbolic link leading outside the source folder")
            elif p.is_dir():
                visit(p)
            elif p.is_file():
                found.append(p)
            else:
                problems.append(f"{rel}: not a regular file")

    visit(folder)
    found.sort(key=lambda p: natural_key(p.relative_to(folder)))
    return found, problems


def resolve(root: Path, rel: str) -> tuple[list[Path], str | None]:
    """The files a manifest path names (a folder names its files, in natural order), or a problem."""
    rel = rel.replace("\\", "/")
    if rel.startswith("/") or PureWindowsPath(rel).drive:
        return [], f"{rel} is an absolute path; give the path from the folder of the files"
    if ".." in rel.split("/"):
        return [], f"{rel} climbs out of the folder of the files with .."
    # the same name typed on a Mac (NFD) or elsewhere (NFC)
    candidates = [root / r for r in dict.fromkeys([rel, *(unicodedata.normalize(f, rel) for f in ("NFC", "NFD"))])]
    path = next((p for p in candidates if p.exists()), None)
    if path is None:
        return [], f"no such file {rel}"
    if not inside(path, root):
        return [], f"{rel} is a symbolic link leading outside the folder of the files"
    if path.is_dir():
        found, problems = pages(path, root)
        return found, "; ".join(problems) or (None if found else f"the folder {rel} holds no files")
    return ([path], None) if path.is_file() else ([], f"{rel} is not a regular file")


def not_too_large(path: Path) -> None:
    size = path.stat().st_size
    if size > MAX_MANIFEST_BYTES:
        raise SourceError(f"{path}: the file is {size:,} bytes, more than the limit of "
                          f"{MAX_MANIFEST_BYTES:,} bytes for a manifest")


def kind_of(media_type: str | None) -> str:
    """The item kind a single file of this media type makes."""
    media_type = media_type or ""
    if media_type.startswith("image/") and media_type != "image/svg+xml":
        return "photo"
    if media_type == "application/pdf":
        return "book"
    if media_type == "application/epub+zip":
        return "ebook"
    if media_type.startswith(("audio/", "video/")):
        return media_type.split("/")[0]
    if media_type in DATASET_TYPES:
        return "dataset"
    return "document"  # text, office documents, XML, archives, unknown bytes: kept and offered for download


def media_kind(path: Path) -> str | None:
    """The kind ``path`` makes by its first bytes; None when it cannot be read."""
    try:
        return kind_of(media_type_of(path))
    except OSError:
        return None


def media_type_of(path: Path) -> str | None:
    """The media type of a file as ``inspect_upload`` finds it; for a file it would refuse, as its
    first bytes say (the refusal is reported when the file is stored)."""
    with open(path, "rb") as f:
        try:
            return inspect_upload(path.name, f)
        except UploadRefused:
            return identify(f.read(HEAD))


def guess_kind(files: list[Path], multi: bool, problems: list[str]) -> str:
    """The kind from the files' first bytes: one kind for all, images in a folder → manuscript."""
    kinds = set()
    for path in files:
        try:
            kinds.add(kind_of(media_type_of(path)))
        except OSError as exc:
            problems.append(f"{path.name}: cannot read the file ({exc.strerror})")
    if len(kinds) != 1:
        return "object"
    kind = kinds.pop()
    return "manuscript" if kind == "photo" and multi else kind


def invalid(metadata: dict) -> list[tuple[str, str]]:
    """The model's (field, problem) pairs for planned metadata (an id is assigned later if absent)."""
    try:
        Item.from_dict({"id": "planned", **metadata, "files": []})
    except ValidationError as exc:
        return exc.problems
    return []
