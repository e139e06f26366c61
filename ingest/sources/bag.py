"""A BagIt bag as a source, verified checksum by checksum first; its payload is planned from the
``metadata.json`` that ``export_bag`` writes (``ingest.sources.export``), else a manifest
(``manifest.csv`` or ``manifest.xlsx``), else as a folder."""
from __future__ import annotations

import json
import re
from pathlib import Path

import bagit

from .common import PlannedItem, SourceError, invalid, not_too_large, resolve
from .folder import plan_folder
from .manifest import plan_manifest


def plan_bag(bag_dir: Path, *, collection: str | None = None) -> list[PlannedItem]:
    """Verify a bag (every checksum), then plan its payload: metadata.json, a manifest, or a folder."""
    bag_dir = Path(bag_dir).absolute()
    bag = None
    declaration = _declaration(bag_dir)
    if declaration:
        raise SourceError(f"{bag_dir}: not a valid bag: bagit.txt {declaration}")
    try:
        bag = bagit.Bag(str(bag_dir))
        if bag.version_info >= (1, 0):  # RFC 8493 §2.1.3: a manifest's "%25" is "%" (bagit decodes only CR and LF)
            bag.entries = {path.replace("%25", "%"): hashes for path, hashes in bag.entries.items()}
        bag.validate(fast=False)
    except bagit.BagValidationError as exc:
        raise SourceError(f"{bag_dir}: not a valid bag: {_bag_reasons(bag, exc)}") from exc
    except (bagit.BagError, OSError, UnicodeError, ValueError) as exc:
        raise SourceError(f"{bag_dir}: not a valid bag: {exc}") from exc
    unlisted = _unlisted(bag)
    if unlisted:
        raise SourceError(f"{bag_dir}: not a valid bag: {unlisted}")
    data = bag_dir / "data"
    if (data / "metadata.json").is_file():
        return plan_export(data, collection)
    for name in ("manifest.csv", "manifest.xlsx"):
        if (data / name).is_file():
            return plan_manifest(data, data / name, collection=collection)
    return plan_folder(data, collection=collection, keep_hidden=True)  # the payload is what the manifest lists


# RFC 8493 §2.1.1: exactly two lines, "BagIt-Version: M.N" and "Tag-File-Character-Encoding: ENCODING"
# (a colon right after each name, one space after it); bagit-python also reads looser forms.
DECLARATION = re.compile(rb"BagIt-Version: [0-9]+\.[0-9]+(\r\n|\r|\n)Tag-File-Character-Encoding: [^\s]+(\r\n|\r|\n)?")


def _declaration(bag_dir: Path) -> str | None:
    """What is wrong with the bag declaration, or None (a missing one is reported by bagit)."""
    try:
        with open(bag_dir / "bagit.txt", "rb") as f:
            data = f.read(1024)
    except OSError:
        return None
    if data.startswith(b"\xef\xbb\xbf"):
        return "must not start with a byte order mark"
    if not DECLARATION.fullmatch(data):
        return ('must be exactly the lines "BagIt-Version: M.N" and "Tag-File-Character-Encoding: ENCODING" '
                "(no space before a colon, none at the end of a line)")
    return None


def _unlisted(bag: bagit.Bag) -> str:
    """RFC 8493 §3: every payload file is listed in every payload manifest (bagit checks only that
    some manifest lists it)."""
    algorithms = {Path(m).name.removeprefix("manifest-").removesuffix(".txt") for m in bag.manifest_files()}
    return "; ".join(f"{path} is not listed in manifest-{alg}.txt" for path, hashes in sorted(bag.entries.items())
                     if path.startswith("data/") for alg in sorted(algorithms - hashes.keys()))


def _bag_reasons(bag: bagit.Bag | None, exc: bagit.BagValidationError) -> str:
    """Every file at fault. bagit stops at a wrong Payload-Oxum (file count and bytes) before
    naming any file, so then its file checks are run here to say which files are wrong."""
    details = list(exc.details)
    if bag is not None and not details and exc.message.startswith("Payload-Oxum"):
        for check in (bag._validate_completeness, lambda: bag._validate_entries(1)):
            try:
                check()
            except bagit.BagValidationError as more:
                details = list(more.details)
                break
    reasons = "; ".join(str(d) for d in details)
    return reasons or (f"bag-info.txt: {exc.message}" if exc.message.startswith("Payload-Oxum") else exc.message)


def plan_export(data: Path, collection: str | None) -> list[PlannedItem]:
    """Items from the ``metadata.json`` an ``export_bag`` wrote."""
    where = data / "metadata.json"
    not_too_large(where)
    try:
        entries = json.loads(where.read_text(encoding="utf-8"))["items"]
        assert isinstance(entries, list)
    except (ValueError, KeyError, TypeError, AssertionError) as exc:
        raise SourceError(f"{where}: not an export's metadata.json ({exc or 'no list of items'})") from exc
    items = []
    for i, entry in enumerate(entries, 1):
        entry = entry if isinstance(entry, dict) else {}
        metadata = entry.get("metadata") if isinstance(entry.get("metadata"), dict) else {}
        collections = metadata.get("collections") if isinstance(metadata.get("collections"), list) else []
        if collection and collection not in collections:
            metadata["collections"] = [*collections, collection]
        files, problems = [], []
        listed = entry.get("files") if isinstance(entry.get("files"), list) else []
        for rel in listed:
            found, problem = resolve(data, str(rel))
            files += found
            if problem:
                problems.append(f"metadata.json item {i}, files: {problem}")
        file_ids = list(entry.get("file_ids") or [None] * len(files))
        fields = list(entry.get("file_fields") or [])
        if len(file_ids) != len(files) or len(fields) not in (0, len(files)):
            problems.append(f"metadata.json item {i}, file_ids: not one per file")
        problems += [f"metadata.json item {i}, {f}: {p}" for f, p in invalid(metadata)]
        label = metadata.get("id") or f"item {i}"
        items.append(PlannedItem(str(label), files, metadata, file_ids, problems, fields))
    return items
