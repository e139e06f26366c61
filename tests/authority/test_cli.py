"""`fangzhi authority import|export|merge|show|template`, run as real processes."""
import getpass
import csv
import json

from tests.web.test_cli import fangzhi


def test_authority_commands(tmp_path):
    data = tmp_path / "data"
    assert fangzhi(data, "authority", "template", str(tmp_path / "t.csv")).returncode == 0
    out = fangzhi(data, "authority", "import", str(tmp_path / "t.csv"), "--why", "县志人物")
    assert out.returncode == 0 and "2 created" in out.stdout, out.stderr
    with open(tmp_path / "more.csv", "w", encoding="utf-8", newline="") as f:
        csv.writer(f).writerows([["类型/kind", "名称/name", "其他名称/other_names", "CBDB"],
                                 ["人物", "钱宾四", "钱穆（别名）", "3767"], ["人物", "钱穆", "", "1111"]])
    assert fangzhi(data, "authority", "import", str(tmp_path / "more.csv")).returncode == 0
    shown = json.loads(fangzhi(data, "authority", "show", "person-1").stdout)
    assert shown["name"] == "钱穆" and shown["versions"][0]["message"] == "create: 县志人物"
    assert shown["versions"][0]["user"] == getpass.getuser()  # the operating-system user (fangzhi --as NAME)
    refused = fangzhi(data, "authority", "merge", "person-2", "person-3", "--why", "同一人")
    assert refused.returncode == 1 and "cbdb: 3767 ≠ 1111" in refused.stderr
    merged = fangzhi(data, "authority", "merge", "person-1", "person-2", "--why", "同一人")
    assert merged.returncode == 0, merged.stderr
    assert json.loads(fangzhi(data, "authority", "show", "person-1").stdout)["merged_ids"] == ["person-2"]
    bad = tmp_path / "bad.csv"
    bad.write_text("类型,名称,籍贯\n人物,某人,place-99\n", encoding="utf-8")
    out = fangzhi(data, "authority", "import", str(bad))
    assert out.returncode == 1 and "bad.csv, row 2, 籍贯: there is no authority record place-99" in out.stderr
    out = fangzhi(data, "authority", "export", str(tmp_path / "all.xlsx"))
    assert out.returncode == 0 and "3 records" in out.stdout  # the merged record is in the survivor
    assert fangzhi(data, "rebuild").returncode == 0
    assert json.loads(fangzhi(data, "authority", "show", "person-2").stdout)["merged_into"] == "person-1"
