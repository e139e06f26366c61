"""The manifest template (``ingest/templates/manifest-template.csv`` and ``.xlsx``), written from
the manifest's ``COLUMNS``."""
from __future__ import annotations

import csv
import io
import re
import zipfile
from datetime import datetime
from pathlib import Path

import openpyxl
from openpyxl.styles import Font

from .manifest import COLUMNS

TEMPLATE_DATE = (2025, 1, 1, 0, 0, 0)  # fixed timestamps: the generated .xlsx is byte-reproducible


def template_rows() -> list[list[str]]:
    """The template: bilingual headers ("题名/title") and two example rows."""
    return [[f"{zh}/{en}" for _, zh, en, *_ in COLUMNS],
            [c[3] for c in COLUMNS],
            [c[4] for c in COLUMNS]]


def write_template(path: Path) -> Path:
    """Write the manifest template as .xlsx or (any other suffix) CSV in UTF-8 with BOM."""
    return write_rows(Path(path), template_rows(), title="manifest")


def write_rows(path: Path, rows: list[list[str]], *, title: str) -> Path:
    """Rows (the first: bold headers) as .xlsx, byte-reproducible, or any other suffix as CSV in
    UTF-8 with BOM (what Excel opens as Chinese text)."""
    if path.suffix.lower() != ".xlsx":
        with open(path, "w", encoding="utf-8-sig", newline="") as f:
            csv.writer(f).writerows(rows)
        return path
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.title = title
    for row in rows:
        sheet.append(row)
    for cell in sheet[1]:
        cell.font = Font(bold=True)
        sheet.column_dimensions[cell.column_letter].width = 22
    sheet.freeze_panes = "A2"
    workbook.properties.creator = "Fangzhi"
    workbook.properties.created = datetime(*TEMPLATE_DATE)
    buffer = io.BytesIO()
    workbook.save(buffer)
    with zipfile.ZipFile(buffer) as src, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as out:
        for info in src.infolist():
            content = src.read(info.filename)
            if info.filename == "docProps/core.xml":  # openpyxl stamps the save time here
                content = re.sub(rb"(<dcterms:modified[^>]*>)[^<]*", rb"\g<1>2025-01-01T00:00:00Z", content)
            out.writestr(zipfile.ZipInfo(info.filename, TEMPLATE_DATE), content, zipfile.ZIP_DEFLATED)
    return path
