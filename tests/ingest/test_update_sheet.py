"""Export items as Excel/CSV in the manifest's columns, edit, and update them from the sheet."""
import csv
import io
import zipfile

import openpyxl
import pytest

from ingest.sources.common import SourceError
from ingest.sources.update_sheet import export_rows, headers, plan_update, write_csv, write_xlsx
from tests.helpers import photo_item
from tests.repository.conftest import ADMIN, ARCHIVIST


def update(fangzhi, path, user):
    return plan_update(path, fangzhi.archive, fangzhi.bulk, user)


def items(archive):
    archive.create_item(photo_item(id="x1", title={"zh": "县前街", "en": "Xianqian Street"},
                                   creators=[{"name": {"zh": "李德华"}, "role": "photographer",
                                              "aliases": [{"name": "李子", "type": "字"}]}],
                                   subjects=["街景"], places=[{"name": {"zh": "县前街"}, "coordinates": [31.5, 120.3]}]),
                        user=ARCHIVIST)
    archive.create_item(photo_item(id="x2", title={"zh": "=HYPERLINK(\"http://evil\",\"点我\")"},
                                   description={"zh": "@SUM(1+1)"}, subjects=["-2+3", "+cmd"]), user=ARCHIVIST)
    return [archive.get_item(i, user=ADMIN) for i in ("x1", "x2")]


def test_excel_round_trip_update(fangzhi, tmp_path):
    archive = fangzhi.archive
    path = tmp_path / "items.xlsx"
    path.write_bytes(write_xlsx(export_rows(items(archive))))
    # unchanged, the sheet changes nothing
    plan = update(fangzhi, path, ARCHIVIST)
    assert plan.selected == 2 and plan.changes == [] and plan.unchanged == 2 and not plan.problems
    # an archivist edits one cell in Excel (here openpyxl)
    book = openpyxl.load_workbook(path)
    sheet = book.active
    column = [c.value for c in sheet[1]].index("主题/subjects") + 1
    assert sheet.cell(2, 1).value == "x1" and sheet.cell(2, 2).value == "1"
    sheet.cell(2, column).value = "街景；城市变迁"
    book.save(path)
    plan = update(fangzhi, path, ARCHIVIST)
    assert len(plan.changes) == 1 and not plan.problems
    change = plan.changes[0]
    assert (change.item_id, change.row, change.before, change.after) == \
        ("x1", 2, {"subjects": ["街景"]}, {"subjects": ["街景", "城市变迁"]})
    job_id = fangzhi.bulk.start(plan, user=ARCHIVIST, why="sheet", kind="update")
    assert fangzhi.bulk.run(job_id, user=ARCHIVIST).counts == {"done": 1}
    item = archive.get_item("x1", user=ADMIN)
    assert item.version == 2 and item.value.subjects == ["街景", "城市变迁"]
    assert item.value.creators[0].aliases[0].name == "李子" and item.value.places[0].coordinates == [31.5, 120.3]
    assert archive.get_item("x2", user=ADMIN).version == 1
    # the same sheet again: its row was made from version 1, the item is at 2 — refused as stale
    plan = update(fangzhi, path, ARCHIVIST)
    assert plan.changes == [] and list(map(str, plan.problems.values())) == [
        "row 2, x1: made from version 1, the item is at version 2 (stale: export it again)"]


def test_title_en_alone_keeps_the_chinese_title(fangzhi, tmp_path):
    rows = export_rows(items(fangzhi.archive))
    rows[1][headers().index("英文题名/title_en")] = "Xianqian Street, 1950s"
    path = tmp_path / "items.csv"
    path.write_bytes(write_csv(rows))
    plan = update(fangzhi, path, ARCHIVIST)
    assert [c.after for c in plan.changes] == [{"title": {"zh": "县前街", "en": "Xianqian Street, 1950s"}}]


def test_csv_injection_is_neutralised(fangzhi, tmp_path):
    rows = export_rows(items(fangzhi.archive))
    text = write_csv(rows).decode("utf-8-sig")
    cells = [c for row in csv.reader(io.StringIO(text)) for c in row]
    assert not any(c.startswith(("=", "+", "-", "@")) for c in cells)
    assert "'=HYPERLINK(\"http://evil\",\"点我\")" in cells and "'@SUM(1+1)" in cells and "'-2+3; +cmd" in cells
    book = openpyxl.load_workbook(io.BytesIO(write_xlsx(rows)))
    values = [c for row in book.active.iter_rows() for c in row]
    assert all(c.data_type == "s" for c in values if c.value is not None)
    assert not any(str(c.value).startswith(("=", "+", "-", "@")) for c in values if c.value)
    # the neutralised export re-imports unchanged
    path = tmp_path / "again.csv"
    path.write_bytes(write_csv(rows))
    assert update(fangzhi, path, ARCHIVIST).changes == []


def test_hostile_sheets_are_refused(fangzhi, tmp_path):
    bomb = tmp_path / "bomb.xlsx"
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        z.writestr("xl/worksheets/sheet1.xml", b"<" + b" " * (300 << 20) + b"/>")
    with pytest.raises(SourceError):
        update(fangzhi, bomb, ARCHIVIST)
    big = tmp_path / "big.csv"
    with open(big, "wb") as f:  # refused by its size before anything is read
        f.write(b"id,version\n")
        f.truncate(65 << 20)
    with pytest.raises(SourceError, match="limit"):
        update(fangzhi, big, ARCHIVIST)
    many = tmp_path / "many.csv"
    many.write_bytes(b"id,version\n" + b"x1,1\n" * 10_001)
    with pytest.raises(SourceError, match="10,000 rows"):
        update(fangzhi, many, ARCHIVIST)
    files = tmp_path / "files.csv"
    files.write_text("id,version,files\nx1,1,a.jpg\n")
    with pytest.raises(SourceError, match="files are not changed"):
        update(fangzhi, files, ARCHIVIST)


def test_rows_of_items_the_user_cannot_see(fangzhi, tmp_path):
    fangzhi.archive.create_item(photo_item(id="hidden", visibility="private"), user=ADMIN)
    path = tmp_path / "guess.csv"
    path.write_text("标识符/id,版本/version,主题/subjects\nhidden,1,泄露\n", encoding="utf-8")
    plan = update(fangzhi, path, ARCHIVIST)
    assert plan.changes == [] and list(map(str, plan.problems.values())) == ["row 2, hidden: no such item"]
