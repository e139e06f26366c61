"""Bulk load: the zh/en template, a CBDB-style extract, export, and hostile sheets."""
import csv

import openpyxl
import pytest

from authority import bulk
from authority.bulk import ImportRefused
from repository.access import User

ARCHIVIST = User("wang", frozenset({"archivist"}))


def write_csv(path, rows):
    with open(path, "w", encoding="utf-8-sig", newline="") as f:
        csv.writer(f).writerows(rows)
    return path


def test_template_imports_as_it_is_written(tmp_path, fangzhi):
    for suffix in (".csv", ".xlsx"):
        path = bulk.write_template(tmp_path / f"t{suffix}")
        assert bulk.sheet_rows(path)[0][1]["name"] == "钱穆"
    result = bulk.import_sheet(fangzhi.authorities, tmp_path / "t.xlsx", user=ARCHIVIST)
    assert result == {"created": 2, "updated": 0, "unchanged": 0}
    auth = fangzhi.authorities
    [qian] = auth.find("宾四")
    rec = auth.get(qian).value
    assert rec.native_place == auth.find("梁溪", "place")[0]  # a name of a row below it
    assert [(n.name, n.type) for n in rec.names][:2] == [("宾四", "字"), ("素书楼主", "室名")]
    place = auth.get(rec.native_place).value
    assert place.coordinates == [31.57, 120.3] and place.type == "县"


def test_problems_name_row_and_column_and_store_nothing(tmp_path, fangzhi):
    auth = fangzhi.authorities
    for _ in range(2):
        auth.create({"kind": "person", "name": "王仲文"}, user=ARCHIVIST)
    sheet = write_csv(tmp_path / "a.csv", [
        ["类型", "名称", "关系", "生年", "籍贯"],
        ["人物", "王秀英", "父：王仲文", "1936", ""],
        ["人物", "李德华", "", "19三六", "不存在县"],
        ["神仙", "某", "", "", ""],
    ])
    with pytest.raises(ImportRefused) as err:
        bulk.import_sheet(auth, sheet, user=ARCHIVIST)
    text = str(err.value)
    assert "a.csv, row 2, 关系: '王仲文' names 2 records (person-1, person-2)" in text
    assert "a.csv, row 3, 生年" in text and "a.csv, row 3, 籍贯: no place record is named '不存在县'" in text
    assert "a.csv, row 4, 类型" in text
    assert auth.find("王秀英") == [] and auth.table.count("person") == 2  # nothing stored


def test_export_round_trips_and_guards_formulas(tmp_path, fangzhi):
    auth = fangzhi.authorities
    auth.create({"kind": "person", "name": "=HYPERLINK(\"http://x\")", "names": [{"name": "@号", "type": "号"}]},
                user=ARCHIVIST)
    auth.create({"kind": "place", "name": "金匮县", "names": [{"name": "金匮", "type": "简称", "start": "1724",
                                                               "end": "1912"}]}, user=ARCHIVIST)
    assert bulk.write_export(auth, tmp_path / "out.xlsx") == 2
    cells = [c.value for row in openpyxl.load_workbook(tmp_path / "out.xlsx").active.iter_rows() for c in row]
    assert "'=HYPERLINK(\"http://x\")" in cells  # a spreadsheet shows it as text
    assert bulk.import_sheet(auth, tmp_path / "out.xlsx", user=ARCHIVIST) == {"created": 0, "updated": 0,
                                                                              "unchanged": 2}
    assert auth.get("person-1").value.name == "=HYPERLINK(\"http://x\")" and auth.get("person-1").version == 1
    assert auth.get("place-1").value.names[0].start == "1724"


def test_huge_and_hostile_sheets_are_refused(tmp_path, fangzhi):
    rows = [["类型", "名称"]] + [["人物", f"人{i}"] for i in range(bulk.MAX_ROWS + 1)]
    with pytest.raises(ImportRefused, match="at most 50,000"):
        bulk.import_sheet(fangzhi.authorities, write_csv(tmp_path / "big.csv", rows), user=ARCHIVIST)
    with pytest.raises(ImportRefused, match="unknown column 'evil'"):
        bulk.import_sheet(fangzhi.authorities, write_csv(tmp_path / "h.csv", [["类型", "名称", "evil"]]),
                          user=ARCHIVIST)
    long = write_csv(tmp_path / "l.csv", [["类型", "名称", "其他名称"], ["人物", "甲" * 300, ";".join("乙" * 600)]])
    with pytest.raises(ImportRefused) as err:
        bulk.import_sheet(fangzhi.authorities, long, user=ARCHIVIST)
    assert "row 2, 名称: is longer than 200 characters" in str(err.value)
    assert fangzhi.authorities.table.count(None) == 0


def test_cbdb_extract(tmp_path, fangzhi):
    x = tmp_path / "extract"
    x.mkdir()
    write_csv(x / "BIOG_MAIN.csv", [["c_personid", "c_name_chn", "c_name", "c_birthyear", "c_deathyear", "c_female"],
                                    ["3767", "顧憲成", "Gu Xiancheng", "1550", "1612", "0"],
                                    ["3768", "顧允成", "Gu Yuncheng", "1554", "1607", "0"],
                                    ["3700", "顧學", "Gu Xue", "", "", "0"]])
    write_csv(x / "ALTNAME_CODES.csv", [["c_name_type_code", "c_name_type_desc_chn"], ["4", "字"], ["5", "室名、別號"],
                                        ["12", "諡號"]])
    write_csv(x / "ALTNAME_DATA.csv", [["c_personid", "c_alt_name_chn", "c_alt_name_type_code"],
                                       ["3767", "叔時", "4"], ["3767", "涇陽", "5"], ["3767", "端文", "12"]])
    write_csv(x / "KINSHIP_CODES.csv", [["c_kincode", "c_kinrel_chn", "c_kinrel"], ["75", "父", "F"],
                                        ["182", "弟", "B-"]])
    write_csv(x / "KIN_DATA.csv", [["c_personid", "c_kin_id", "c_kin_code"], ["3767", "3700", "75"],
                                   ["3767", "3768", "182"]])
    write_csv(x / "ADDR_CODES.csv", [["c_addr_id", "c_name_chn", "c_name", "x_coord", "y_coord"],
                                     ["100", "無錫", "Wuxi", "120.3", "31.57"], ["99", "常州府", "Changzhou", "", ""]])
    write_csv(x / "ADDR_BELONGS_DATA.csv", [["c_addr_id", "c_belongs_to", "c_firstyear", "c_lastyear"],
                                            ["100", "99", "1368", "1912"]])
    write_csv(x / "BIOG_ADDR_DATA.csv", [["c_personid", "c_addr_id", "c_addr_type"], ["3767", "100", "1"]])
    auth = fangzhi.authorities
    assert bulk.import_cbdb(auth, x, user=ARCHIVIST)["created"] == 5
    [gu] = auth.find("顾宪成")  # folded to 简体
    rec = auth.get(gu).value
    assert {(n.name, n.type) for n in rec.names} >= {("叔時", "字"), ("涇陽", "室名"), ("端文", "谥号"),
                                                    ("Gu Xiancheng", "英文名")}
    assert rec.identifiers == {"cbdb": "3767"} and rec.birth == {"edtf": "1550"}
    assert {(r.type, auth.get(r.id).value.name) for r in rec.relations} == {("father", "顧學"), ("brother", "顧允成")}
    wuxi = auth.get(rec.native_place).value
    assert wuxi.coordinates == [31.57, 120.3] and auth.get(wuxi.parents[0].id).value.name == "常州府"
    assert (wuxi.parents[0].start, wuxi.parents[0].end) == ("1368", "1912")
    # again: the same CBDB ids update, nothing is added
    assert bulk.import_cbdb(auth, x, user=ARCHIVIST) == {"created": 0, "updated": 0, "unchanged": 5}
    write_csv(x / "KIN_DATA.csv", [["c_personid", "c_kin_id", "c_kin_code"], ["3767", "999999", "75"]])
    with pytest.raises(ImportRefused, match="KIN_DATA.csv, row 2"):
        bulk.import_cbdb(auth, x, user=ARCHIVIST)
