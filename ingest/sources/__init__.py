"""Ingest sources: turn a donation on disk into a plan, a list of ``PlannedItem`` (``common``).

Three kinds of source, one module each, chosen by ``plan()``:

- **a folder** (``folder``): one item per file at the top level, one multi-page item per
  subfolder (pages in natural order: ``2.tif`` before ``10.tif``). Kinds come from the files' first bytes.
- **a manifest** (``manifest``: CSV or Excel, one row per item) describing files under a folder;
  the columns are listed in ``COLUMNS`` and documented in ``ingest/templates/README.md``
  (written by ``template``).
- **a BagIt bag** (``bag``), verified checksum by checksum first; its payload is planned from the
  ``metadata.json`` that ``export.export_bag`` writes, else a manifest, else as a folder.

Planning never stores anything (but the new authority records a manifest's names make when the
ingest asks for them: ``create_authorities``). A problem with one item (a missing file, a bad value) goes in
that item's ``problems`` and the job marks it failed; a source that cannot be read at all
raises ``SourceError``. Every path an item names stays inside the source folder: absolute paths,
``..`` and symbolic links leading out are refused.
"""
from __future__ import annotations

from pathlib import Path

from .bag import plan_bag
from .common import PlannedItem
from .folder import plan_folder
from .manifest import plan_manifest


def plan(source: Path, *, manifest: Path | None = None, collection: str | None = None, link=None,
         create_authorities: bool = False) -> list[PlannedItem]:
    """Plan ``source``: a bag if it holds bagit.txt, else by ``manifest`` if given, else as a folder.
    ``link`` (``manifest.Linker``): a manifest's creator and place cells link to the authority file."""
    source = Path(source)
    if (source / "bagit.txt").is_file() or _bag_without_declaration(source):
        return plan_bag(source, collection=collection)
    if manifest is not None:
        return plan_manifest(source, Path(manifest), collection=collection, link=link,
                             create_authorities=create_authorities)
    return plan_folder(source, collection=collection)


def _bag_without_declaration(source: Path) -> bool:
    """A payload folder and a payload manifest (RFC 8493 §2.1.3): a bag that lost its bagit.txt,
    refused as a bag rather than ingested as a folder of tag files."""
    return (source / "data").is_dir() and any(source.glob("manifest-*.txt"))
