"""Items out of the archive as a BagIt bag that ``plan_bag`` (``ingest.sources.bag``) reads back."""
from __future__ import annotations

import json
import shutil
from datetime import date
from pathlib import Path

import bagit

from repository import access
from repository.premis import premis_file, premis_xml

CHUNK = 1024 * 1024


def export_bag(archive, item_ids: list[str], dest: Path, *, user) -> Path:
    """Write items as a BagIt bag at ``dest`` (new or empty): their originals under
    ``data/files/<item id>/<name>`` and ``data/metadata.json``, with SHA-256 and SHA-512 manifests;
    for staff, each item's preservation events as PREMIS 3 XML in ``data/premis/<item id>.xml``.

    Only what ``user`` may see is exported: an item they may not see raises (NotFound, Gone)
    before anything is written, and files restricted from them are left out.
    ``plan_bag`` on the result gives back the same metadata and files.
    """
    dest = Path(dest).absolute()
    if dest.exists() and (not dest.is_dir() or any(dest.iterdir())):
        raise FileExistsError(f"{dest}: the bag folder must be new or empty")
    records = [archive.get_item(i, user=user) for i in dict.fromkeys(item_ids)]
    created = not dest.exists()
    dest.mkdir(parents=True, exist_ok=True)
    try:
        entries = [_export_item(archive, record.value, dest, user) for record in records]
        if access.is_staff(user):  # preservation events are staff-only (Archive.preservation_events)
            (dest / "premis").mkdir()
            for record in records:
                item = record.value
                files = [premis_file(f) for f in archive.visible_files(item, user=user) if f.role == "original"]
                (dest / "premis" / f"{item.id}.xml").write_bytes(
                    premis_xml(item.id, files, archive.preservation_events(item.id, user=user)))
        (dest / "metadata.json").write_text(json.dumps({"items": entries}, ensure_ascii=False, indent=2),
                                            encoding="utf-8")
        libraries = sorted({r.value.holding_library for r in records if r.value.holding_library})
        ids = [r.value.id for r in records]
        info = {"Bagging-Date": date.today().isoformat(),
                "External-Description": f"Fangzhi export of {len(ids)} item(s): {', '.join(ids[:50])}"
                                        + (" …" if len(ids) > 50 else "")}
        if libraries:
            info["Source-Organization"] = libraries
        bagit.make_bag(str(dest), info, checksums=["sha256", "sha512"])
    except BaseException:
        for child in dest.iterdir() if dest.exists() else ():
            shutil.rmtree(child) if child.is_dir() and not child.is_symlink() else child.unlink()
        if created:
            dest.rmdir()
        raise
    return dest


def _export_item(archive, item, dest: Path, user) -> dict:
    """Copy one item's visible originals into ``dest/files/<id>/`` and describe it."""
    paths, ids, fields = [], [], []
    for file in archive.visible_files(item, user=user):
        if file.role != "original":
            continue
        stored = archive.open_file(item.id, file.id, user=user)
        rel = f"files/{item.id}/{file.path.rsplit('/', 1)[-1]}"
        (dest / rel).parent.mkdir(parents=True, exist_ok=True)
        with stored.open() as src, open(dest / rel, "wb") as out:
            shutil.copyfileobj(src, out, CHUNK)
        paths.append(rel)
        ids.append(file.id)
        fields.append({k: v for k, v in (("label", file.label), ("access", file.access)) if v})
    metadata = item.to_dict()
    metadata.pop("files")
    return {"metadata": metadata, "files": paths, "file_ids": ids, "file_fields": fields}
