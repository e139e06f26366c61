"""Items as a spreadsheet in the manifest template's columns, and the edited sheet back as an update.

``export_rows`` writes the metadata columns of ``manifest.COLUMNS`` (not the file columns: files
are not changed by an update) after a ``版本/version`` column; ``write_csv``/``write_xlsx`` neutralise
cells a spreadsheet would run as a formula (OWASP "CSV Injection": a leading = + - @, tab or CR is
prefixed with '). ``read_update`` reads an edited sheet with the manifest's reader (size limit, the
zip-bomb checks of ``ingest.safety``), and gives for each row the fields whose cells differ from the
item as it is now, parsed as a manifest row is: ``repository.bulk.Bulk.plan_updates`` refuses a row
made from another version as stale and previews the rest.
"""
from __future__ import annotations

import csv
import io
from pathlib import Path

import openpyxl
from openpyxl.styles import Font

from repository.bulk import Plan, Problem
from repository.errors import Gone, NotFound

from .common import SourceError, not_too_large
from .manifest import COLUMNS, _norm, _read_rows, _row_metadata, header_key

FILE_COLUMNS = ("files", "file_ids", "transcript", "notes")
KEYS = [c[0] for c in COLUMNS if c[0] not in FILE_COLUMNS]
VERSION = ("version", "版本", "version")
# the columns that make one field together (a change in either rewrites the field from both)
GROUPS = {"title": ("title", "title_en"), "title_en": ("title", "title_en"),
          "description": ("description", "description_en"), "description_en": ("description", "description_en"),
          "date": ("date", "date_display"), "date_display": ("date", "date_display")}
FIELD_OF = {"title": "title", "title_en": "title", "description": "description", "description_en": "description",
            "date": "date", "date_display": "date", "creator": "creators", "contributor": "contributors",
            "place": "places", "subjects": "subjects", "language": "language", "collection": "collections",
            "identifiers": "identifiers", "kind": "kind", "rights": "rights", "visibility": "visibility",
            "embargo_until": "embargo_until", "holding_library": "holding_library", "extent": "extent"}
EMPTY = {"title": {}, "description": {}, "date": {}, "creators": [], "contributors": [], "places": [],
         "subjects": [], "language": [], "collections": [], "identifiers": []}
FORMULA = ("=", "+", "-", "@", "\t", "\r")
MAX_ROWS = 10_000


def _agents(agents: list) -> str:
    return "; ".join((a["name"].get("zh") or a["name"].get("en") or next(iter(a["name"].values()), ""))
                     + (f"（{a['role']}）" if a.get("role") else "") for a in agents)


def item_cells(item: dict) -> dict[str, str]:
    """An item (``Item.to_dict()``) as the manifest's cells, by column key."""
    date = item.get("date") or {}
    return {
        "id": item["id"], "title": item["title"].get("zh", ""), "title_en": item["title"].get("en", ""),
        "kind": item["kind"], "creator": _agents(item.get("creators") or []),
        "contributor": _agents(item.get("contributors") or []), "date": date.get("edtf", ""),
        "date_display": date.get("display", ""),
        "place": "; ".join(p["name"].get("zh") or next(iter(p["name"].values()), "") for p in item.get("places") or []),
        "subjects": "; ".join(item.get("subjects") or []), "description": (item.get("description") or {}).get("zh", ""),
        "description_en": (item.get("description") or {}).get("en", ""), "language": "; ".join(item.get("language") or []),
        "rights": item.get("rights") or "", "visibility": item.get("visibility") or "",
        "embargo_until": item.get("embargo_until") or "", "collection": "; ".join(item.get("collections") or []),
        "identifiers": "; ".join(item.get("identifiers") or []), "holding_library": item.get("holding_library") or "",
        "extent": item.get("extent") or "",
    }


def headers() -> list[str]:
    names = {key: f"{zh}/{en}" for key, zh, en, *_ in COLUMNS}
    return [names["id"], f"{VERSION[1]}/{VERSION[2]}", *(names[k] for k in KEYS if k != "id")]


def export_rows(records) -> list[list[str]]:
    """Header and one row per record (``Record``s the user may see: the caller's selection)."""
    rows = [headers()]
    for record in records:
        cells = item_cells(record.value.to_dict())
        rows.append([cells["id"], str(record.version), *(cells[k] for k in KEYS if k != "id")])
    return rows


def neutral(cell: str) -> str:
    """A cell a spreadsheet will not run as a formula (OWASP CSV Injection)."""
    return "'" + cell if cell.startswith(FORMULA) else cell


def write_csv(rows: list[list[str]]) -> bytes:
    out = io.StringIO()
    csv.writer(out).writerows([[neutral(c) for c in row] for row in rows])
    return out.getvalue().encode("utf-8-sig")  # with BOM: Excel opens it as UTF-8


def write_xlsx(rows: list[list[str]]) -> bytes:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.title = "items"
    for row in rows:
        sheet.append([neutral(c) for c in row])
    for cell in sheet[1]:
        cell.font = Font(bold=True)
        sheet.column_dimensions[cell.column_letter].width = 20
    for row in sheet.iter_rows():
        for cell in row:
            cell.data_type = "s"  # text, never a formula or a number
    sheet.freeze_panes = "C2"
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _unneutral(cell: str) -> str:
    return cell[1:] if cell.startswith("'") and cell[1:2] and cell[1:].startswith(FORMULA) else cell


def read_update(path: Path, current) -> tuple[list[tuple[int, str, int, dict]], list[str]]:
    """An edited sheet's rows as (row number, item id, version, changed fields) and the problems of
    rows that cannot be read (each naming the row and column). ``current(item_id)`` gives the
    item's dict as it is now, or None when the user may not see it (the row is then left to
    ``plan_updates``, which reports it)."""
    path = Path(path)
    not_too_large(path)
    rows = _read_rows(path)
    numbered = [(n, row) for n, row in enumerate(rows, 1) if any(row)]
    if len(numbered) > MAX_ROWS + 1:
        raise SourceError(f"{path.name}: more than {MAX_ROWS:,} rows; update fewer items at once")
    if not numbered:
        raise SourceError(f"{path.name}: the sheet is empty")
    header_row, header = numbered[0]
    columns = {}
    for i, name in enumerate(header):
        key = "version" if _norm(name.split("/")[0]) in {_norm(VERSION[1]), _norm(VERSION[2])} else header_key(name)
        if key in FILE_COLUMNS:
            raise SourceError(f"{path.name}, row {header_row}: column {name!r}: files are not changed by an update")
        if name and not key:
            raise SourceError(f"{path.name}, row {header_row}: unknown column {name!r}")
        if key:
            columns[i] = key
    for needed in ("id", "version"):
        if needed not in columns.values():
            raise SourceError(f"{path.name}, row {header_row}: no column {needed!r}: export the items again")
    out, problems = [], []
    for n, row in numbered[1:]:
        cells = {key: _unneutral(row[i].strip()) if i < len(row) else "" for i, key in columns.items()}
        if not cells["id"]:
            problems.append(f"row {n}: no id")
            continue
        if not cells["version"].isdigit():
            problems.append(f"row {n}, {cells['id']}: version {cells['version']!r} is not a version number")
            continue
        item = current(cells["id"])
        fields = {}
        if item is not None:
            now = item_cells(item)
            for key in (k for k in cells if k not in ("id", "version")):
                if cells[key] == now[key] or FIELD_OF[key] in fields:
                    continue
                group = GROUPS.get(key, (key,))
                given = {k: cells.get(k, now[k]) for k in group}
                md = _row_metadata(given, None)
                field = FIELD_OF[key]
                value = md.get(field, EMPTY.get(field))
                if field in ("creators", "contributors", "places") and value:
                    value = _keep_details(item.get(field) or [], value)
                fields[field] = value
        out.append((n, cells["id"], int(cells["version"]), fields))
    return out, problems


def _keep_details(old: list, new: list) -> list:
    """Agents or places the row names as before keep what the sheet does not show (aliases,
    coordinates, authority ids)."""
    kept = []
    for entry in new:
        name = next(iter(entry["name"].values()))
        same = next((o for o in old if name in o["name"].values() and o.get("role") == entry.get("role")), None)
        kept.append(same or entry)
    return kept


def plan_update(path: Path, archive, bulk, user) -> Plan:
    """The plan (``repository.bulk.Bulk.plan_updates``) of an edited sheet, as ``user``: the rows'
    changes, stale and unseen rows refused, unreadable rows among its problems."""
    def current(item_id):
        try:
            return archive.get_item(item_id, user=user).value.to_dict()
        except (NotFound, Gone, ValueError):
            return None
    rows, problems = read_update(path, current)
    plan = bulk.plan_updates(rows, user=user)
    plan.problems.update({f"read{n}": Problem("unreadable", "", detail=p) for n, p in enumerate(problems)})
    return plan
