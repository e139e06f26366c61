"""Planning ingest sources: folders, CSV/Excel manifests, BagIt bags, and the export round trip."""
from __future__ import annotations

import csv
import io
import wave
import zipfile
from pathlib import Path

import bagit
import openpyxl
import pytest
from PIL import Image

import ingest
from ingest.sources import common, plan
from ingest.sources.bag import plan_bag, plan_export
from ingest.sources.common import SourceError, natural_key, unique_names
from ingest.sources.export import export_bag
from ingest.sources.folder import plan_folder
from ingest.sources.manifest import COLUMNS, header_key, plan_manifest
from ingest.sources.template import template_rows, write_template
from repository.access import ANONYMOUS, SYSTEM
from repository.errors import NotFound
from repository.services import NewFile

TEMPLATES = Path(ingest.__file__).parent / "templates"


# --- tiny real files -------------------------------------------------------------------------

def image(path: Path, fmt: str = "JPEG") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (4, 3), (200, 40, 40)).save(path, fmt)
    return path


def wav(path):
    """A tenth of a second of silence, to a path or a file object."""
    if isinstance(path, Path):
        path.parent.mkdir(parents=True, exist_ok=True)
    with wave.open(str(path) if isinstance(path, Path) else path, "wb") as w:
        w.setnchannels(1), w.setsampwidth(2), w.setframerate(8000)
        w.writeframes(b"\x00\x00" * 800)
    return path


def pdf(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"%PDF-1.4\n1 0 obj << >> endobj\ntrailer << >>\n%%EOF\n")
    return path


def epub(path: Path) -> Path:
    with zipfile.ZipFile(path, "w") as z:
        z.writestr(zipfile.ZipInfo("mimetype"), "application/epub+zip", zipfile.ZIP_STORED)
        z.writestr("META-INF/container.xml", "<container/>", zipfile.ZIP_DEFLATED)
    return path


def touch(path: Path, data: bytes = b"x") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


# --- folders ---------------------------------------------------------------------------------

def test_folder_pages_in_natural_order_hidden_files_skipped(tmp_path):
    src = tmp_path / "donation"
    for name in ("10.jpg", "2.jpg", "1.JPG", "sub/3.jpg", "sub/11.jpg", "sub/9.jpg", "A/1.jpg"):
        image(src / "第2卷" / name)
    for junk in (".DS_Store", "._2.jpg", "Thumbs.db", "desktop.ini", ".git/config", "~$notes.xlsx"):
        touch(src / "第2卷" / junk)
    image(src / "第10卷" / "p1.jpg")
    image(src / "县前街.jpg")
    touch(src / ".hidden.jpg"), touch(src / "Thumbs.db"), touch(src / "._县前街.jpg")

    items = plan_folder(src)

    assert [i.label for i in items] == ["县前街", "第2卷", "第10卷"]  # code point order for Chinese
    volume = items[1]
    assert [p.relative_to(src / "第2卷").as_posix() for p in volume.files] == [
        "1.JPG", "2.jpg", "10.jpg", "A/1.jpg", "sub/3.jpg", "sub/9.jpg", "sub/11.jpg"]
    assert all(p.is_absolute() for p in volume.files)
    assert volume.metadata == {"kind": "manuscript", "title": {"zh": "第2卷"}}
    assert volume.file_ids == [None] * 7 and volume.problems == []
    assert items[0].metadata == {"kind": "photo", "title": {"zh": "县前街"}}
    assert unique_names(volume.files) == [
        "1.JPG", "2.jpg", "10.jpg", "A-1.jpg", "3.jpg", "9.jpg", "11.jpg"]


def test_natural_key_numbers_by_value_case_insensitive():
    names = ["p10.tif", "P2.tif", "p1.tif", "第12页.tif", "第3页.tif", "b.tif", "A.tif"]
    assert sorted(names, key=natural_key) == [
        "A.tif", "b.tif", "p1.tif", "P2.tif", "p10.tif", "第3页.tif", "第12页.tif"]


def test_folder_kinds_come_from_content_not_names(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    image(src / "photo.jpg")
    image(src / "scan.dat", "PNG")
    wav(src / "interview.wav")
    pdf(src / "county-gazetteer.pdf")
    epub(src / "novel.epub")
    touch(src / "notes.txt", "手写笔记".encode())
    pdf(src / "disguised.jpg")  # a PDF whatever its name says
    image(src / "album" / "1.png", "PNG"), image(src / "album" / "2.jpg")
    wav(src / "tapes" / "side-a.wav"), wav(src / "tapes" / "side-b.wav")
    image(src / "mixed" / "cover.jpg"), pdf(src / "mixed" / "text.pdf")

    kinds = {i.label: i.metadata["kind"] for i in plan_folder(src, collection="donation-2024")}

    assert kinds == {"album": "manuscript", "county-gazetteer": "book", "disguised": "book",
                     "interview": "audio", "mixed": "object", "notes": "document", "novel": "ebook",
                     "photo": "photo", "scan": "photo", "tapes": "audio"}
    assert all(i.metadata["collections"] == ["donation-2024"] for i in plan_folder(src, collection="donation-2024"))


def test_folder_refuses_links_leading_outside(tmp_path):
    outside = touch(tmp_path / "secret.txt", b"secret")
    src = tmp_path / "src"
    image(src / "box" / "1.jpg")
    (src / "box" / "2.jpg").symlink_to(outside)
    (src / "etc").symlink_to(tmp_path)
    image(src / "inside.jpg")
    (src / "alias.jpg").symlink_to(src / "inside.jpg")  # a link inside the source is fine

    items = {i.label: i for i in plan_folder(src)}

    assert items["box"].problems == ["box/2.jpg: a symbolic link leading outside the source folder"]
    assert items["etc"].problems == ["etc: a symbolic link leading outside the source folder"]
    assert items["etc"].files == []
    assert items["alias"].problems == [] and items["inside"].problems == []


def test_empty_subfolder_and_missing_source(tmp_path):
    (tmp_path / "src" / "empty").mkdir(parents=True)
    touch(tmp_path / "src" / "empty" / ".DS_Store")
    [item] = plan_folder(tmp_path / "src")
    assert item.problems == ["empty: the folder holds no files"]
    with pytest.raises(SourceError, match="not a folder"):
        plan_folder(tmp_path / "nowhere")


# --- manifests -------------------------------------------------------------------------------

ZH_HEADER = ["标识符", "题名", "英文题名", "类型", "创作者", "日期", "日期显示", "地点", "主题", "描述",
             "权利", "可见性", "解禁日期", "馆藏", "文件", "文件标识符", "语言"]
ZH_ROW = ["gz-001", "王氏家书", "Letters of the Wang family", "手稿", "王仲文（作者）；李德华 (photographer); 佚名",
          "1936-05", "民国二十五年五月", "城关镇; 上海", "家书；抗战", "共两页。", "http://rightsstatements.org/vocab/CNE/1.0",
          "embargoed", "2030-01-01", "wang-family", "box1/p1.tif\nbox1/p2.tif", "p1; p2", "zh; en"]
ZH_METADATA = {
    "id": "gz-001", "kind": "manuscript",
    "title": {"zh": "王氏家书", "en": "Letters of the Wang family"},
    "creators": [{"name": {"zh": "王仲文"}, "role": "作者"}, {"name": {"zh": "李德华"}, "role": "photographer"},
                 {"name": {"zh": "佚名"}}],
    "date": {"edtf": "1936-05", "display": "民国二十五年五月"},
    "places": [{"name": {"zh": "城关镇"}}, {"name": {"zh": "上海"}}],
    "subjects": ["家书", "抗战"], "description": {"zh": "共两页。"},
    "rights": "http://rightsstatements.org/vocab/CNE/1.0/", "visibility": "embargoed",
    "embargo_until": "2030-01-01", "collections": ["wang-family", "donation-2024"],
    "language": ["zh", "en"],
}


def write_csv(path: Path, rows, *, encoding="utf-8", delimiter=","):
    with open(path, "w", encoding=encoding, newline="") as f:
        csv.writer(f, delimiter=delimiter).writerows(rows)
    return path


@pytest.mark.parametrize("encoding,delimiter", [("utf-8", ","), ("utf-8-sig", ","), ("gb18030", ","),
                                                ("gb18030", ";"), ("utf-8", "\t")])
def test_csv_manifest_with_chinese_headers_in_any_encoding(tmp_path, encoding, delimiter):
    image(tmp_path / "box1" / "p1.tif", "TIFF"), image(tmp_path / "box1" / "p2.tif", "TIFF")
    manifest = write_csv(tmp_path / "清单.csv", [ZH_HEADER, ZH_ROW, [""] * len(ZH_HEADER)],
                         encoding=encoding, delimiter=delimiter)

    [item] = plan_manifest(tmp_path, manifest, collection="donation-2024")

    assert item.problems == []
    assert item.metadata == ZH_METADATA
    assert item.files == [tmp_path / "box1" / "p1.tif", tmp_path / "box1" / "p2.tif"]
    assert item.file_ids == ["p1", "p2"]
    assert item.label == "gz-001"


def test_big5_manifest_is_not_mistaken_for_gb18030(tmp_path):
    image(tmp_path / "a.jpg")
    manifest = tmp_path / "big5.csv"
    manifest.write_bytes("title,date_display,files\n王氏家書,民國二十五年五月,a.jpg\n".encode("big5"))
    [item] = plan_manifest(tmp_path, manifest)
    assert item.metadata["title"] == {"zh": "王氏家書"} and item.problems == []
    assert item.metadata["date"] == {"display": "民國二十五年五月"}


def test_english_and_bilingual_headers_any_case_and_spacing(tmp_path):
    image(tmp_path / "photos" / "street.jpg")
    wav(tmp_path / "tape.wav")
    manifest = write_csv(tmp_path / "m.csv", [
        ["ID", "Title", " Title EN ", "Kind", "Creator", "Date", "Place", "Subjects", "Files", "备注/notes"],
        ["p-158", "县前街街景", "Xianqian Street", "Photograph", "Li Dehua (photographer)", "195X", "县前街",
         "街景", "photos/street.jpg", "not imported"],
        ["", "", "Oral history, side A", "", "", "", "", "", "tape.wav", ""],
    ])
    first, second = plan_manifest(tmp_path, manifest)
    assert first.problems == [] and second.problems == []
    assert first.label == "p-158" and second.label == "Oral history, side A"
    assert first.metadata == {"id": "p-158", "kind": "photo", "title": {"zh": "县前街街景", "en": "Xianqian Street"},
                              "creators": [{"name": {"en": "Li Dehua"}, "role": "photographer"}],
                              "date": {"edtf": "195X"}, "places": [{"name": {"zh": "县前街"}}], "subjects": ["街景"]}
    assert second.metadata == {"kind": "audio", "title": {"en": "Oral history, side A"}}  # kind from content
    assert plan(tmp_path, manifest=manifest) == [first, second]
    assert header_key("题名/title") == header_key("题名 title") == "title"
    assert header_key("英文题名/title_en") == "title_en"


def test_excel_manifest(tmp_path):
    image(tmp_path / "a.jpg"), pdf(tmp_path / "b.pdf")
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(["城关区图书馆 2024 年捐赠清单"])  # a title row above the header
    sheet.append(["题名", "类型", "日期", "文件", "文件标识符"])
    sheet.append(["照片甲", "photo", 1936, "a.jpg", "front"])
    sheet.append([None, None, None, None, None])  # an empty row: skipped, but still counted
    sheet.append(["县志", "卷轴", 1958.0, "b.pdf", None])
    workbook.save(tmp_path / "清单.xlsx")

    first, second = plan_manifest(tmp_path, tmp_path / "清单.xlsx")

    assert first.metadata == {"kind": "photo", "title": {"zh": "照片甲"}, "date": {"edtf": "1936"}}
    assert first.file_ids == ["front"] and first.problems == []
    assert second.metadata["date"] == {"edtf": "1958"}
    assert second.problems == ["row 5, 类型: must be one of photo, manuscript, book, audio, video, ebook, object, "
                               "document, dataset (got '卷轴')"]


def test_row_problems_name_row_and_column(tmp_path):
    image(tmp_path / "box1" / "p1.tif", "TIFF")
    touch(tmp_path.parent / "outside.txt")
    rows = [["标识符", "题名", "类型", "日期", "文件", "文件标识符", "馆藏"],
            ["ok-1", "好", "photo", "1936", "box1/p1.tif", "", ""],
            ["", "缺页", "manuscript", "", "box1/p1.tif; box1/p3.tif", "", ""],
            ["", "越界", "photo", "", "../outside.txt", "", ""],
            ["", "绝对", "photo", "", "/etc/passwd", "", ""],
            ["", "盘符", "photo", "", "C:\\Windows\\win.ini", "", ""],
            ["", "卷轴", "scroll", "民国二十五年", "box1/p1.tif", "", "bad id!"],
            ["ok-1", "重复", "photo", "", "box1/p1.tif", "a; a", ""],
            ["", "", "photo", "", "", "", ""]]
    items = plan_manifest(tmp_path, write_csv(tmp_path / "m.csv", rows))
    problems = [i.problems for i in items]
    assert problems[0] == []
    assert problems[1] == ["row 3, 文件: no such file box1/p3.tif"]
    assert problems[2] == ["row 4, 文件: ../outside.txt climbs out of the folder of the files with .."]
    assert problems[3] == ["row 5, 文件: /etc/passwd is an absolute path; give the path from the folder of the files"]
    assert problems[4][0].startswith("row 6, 文件: C:/Windows/win.ini is an absolute path")
    assert problems[5] == [
        "row 7, 类型: must be one of photo, manuscript, book, audio, video, ebook, object, document, dataset (got 'scroll')",
        "row 7, 日期: '民国二十五年' is not an EDTF date (e.g. 1936, 1936-05, 193X, 1911/1949, 1936?)",
        "row 7, 馆藏: 'bad id!' is not a collection id"]
    assert problems[6] == ["row 8, 文件标识符: 2 identifiers for 1 files", "row 8, 文件标识符: 'a' is used twice",
                           "row 8, 标识符: 'ok-1' is also used in row 2"]
    assert problems[7] == ["row 9, 文件: no file is named", "row 9, 题名: is required (at least one language, "
                           "e.g. {\"zh\": \"…\"})"]


def test_manifest_file_link_outside_and_folder_cell(tmp_path):
    src = tmp_path / "src"
    image(src / "vol" / "2.jpg"), image(src / "vol" / "10.jpg")
    (src / "link.jpg").symlink_to(image(tmp_path / "elsewhere.jpg"))
    manifest = write_csv(tmp_path / "m.csv", [["题名", "文件"], ["卷", "vol"], ["链接", "link.jpg"]])
    folder, link = plan_manifest(src, manifest)
    assert [p.name for p in folder.files] == ["2.jpg", "10.jpg"] and folder.metadata["kind"] == "manuscript"
    assert link.problems == ["row 3, 文件: link.jpg is a symbolic link leading outside the folder of the files"]


def test_unusable_manifests_raise_source_error(tmp_path):
    with pytest.raises(SourceError, match=r"unknown column '价格' \(column B\)"):
        plan_manifest(tmp_path, write_csv(tmp_path / "a.csv", [["题名", "价格", "文件"], ["x", "1", "a.jpg"]]))
    with pytest.raises(SourceError, match="two columns mean title"):
        plan_manifest(tmp_path, write_csv(tmp_path / "b.csv", [["题名", "title", "文件"]]))
    (tmp_path / "c.xlsx").write_bytes(b"PK\x03\x04 not really a workbook")
    with pytest.raises(SourceError, match=r"c\.xlsx: not a readable Excel workbook"):
        plan_manifest(tmp_path, tmp_path / "c.xlsx")
    with pytest.raises(SourceError, match="empty"):
        plan_manifest(tmp_path, touch(tmp_path / "d.csv", b"\n\n"))
    with pytest.raises(SourceError, match="cannot read the manifest"):
        plan_manifest(tmp_path, tmp_path / "missing.csv")


def test_manifests_read_into_memory_are_bounded(tmp_path, monkeypatch):
    """A workbook is a zip of XML that openpyxl reads (a bomb is refused before it is opened); a
    CSV manifest and an export's metadata.json are read whole (their size is bounded)."""
    workbook = tmp_path / "bomb.xlsx"
    with zipfile.ZipFile(workbook, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("[Content_Types].xml", "<Types/>")
        with zf.open("xl/worksheets/sheet1.xml", "w") as member:
            for _ in range(20):
                member.write(b"<row/>" * 174_763)  # 20 MiB of rows in a few KB
    with pytest.raises(SourceError, match=r"bomb\.xlsx: zip bomb: the archive member 'xl/worksheets/sheet1\.xml'"):
        plan_manifest(tmp_path, workbook)
    monkeypatch.setattr(common, "MAX_MANIFEST_BYTES", 1000)
    big = write_csv(tmp_path / "big.csv", [["题名", "文件"]] + [["惠山", "a.jpg"]] * 200)
    with pytest.raises(SourceError, match=r"big\.csv: the file is [\d,]+ bytes, more than the limit of 1,000 bytes"):
        plan_manifest(tmp_path, big)
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "metadata.json").write_text('{"items": [' + ", ".join(["{}"] * 500) + "]}")
    with pytest.raises(SourceError, match=r"metadata\.json: the file is"):
        plan_export(tmp_path / "data", None)


# --- the shipped templates -------------------------------------------------------------------

def _example_files(root: Path):
    image(root / "letters" / "1936-001" / "p1.tif", "TIFF")
    image(root / "letters" / "1936-001" / "p2.tif", "TIFF")
    image(root / "photos" / "xianqian-street.jpg")


@pytest.mark.parametrize("name", ["manifest-template.csv", "manifest-template.xlsx"])
def test_shipped_templates_parse_without_problems(tmp_path, name):
    _example_files(tmp_path)
    letter, photo = plan_manifest(tmp_path, TEMPLATES / name)
    assert letter.problems == [] and photo.problems == []
    assert letter.metadata["kind"] == "manuscript" and letter.file_ids == ["p1", "p2"]
    assert letter.metadata["visibility"] == "embargoed"
    assert photo.metadata["kind"] == "photo" and photo.metadata["collections"] == ["old-town", "photos"]
    assert photo.metadata["creators"] == [{"name": {"zh": "李德华"}, "role": "photographer"}]


def test_shipped_templates_match_their_definition(tmp_path):
    assert write_template(tmp_path / "t.csv").read_bytes() == (TEMPLATES / "manifest-template.csv").read_bytes()
    assert (TEMPLATES / "manifest-template.csv").read_bytes().startswith(b"\xef\xbb\xbf")
    shipped = openpyxl.load_workbook(TEMPLATES / "manifest-template.xlsx").active
    assert [[c or "" for c in row] for row in shipped.iter_rows(values_only=True)] == template_rows()
    first = write_template(tmp_path / "1.xlsx").read_bytes()
    assert write_template(tmp_path / "2.xlsx").read_bytes() == first  # reproducible
    readme = (TEMPLATES / "README.md").read_text(encoding="utf-8")
    assert all(f"`{zh}/{en}`" in readme for _, zh, en, *_ in COLUMNS)


# --- bags ------------------------------------------------------------------------------------

def make_bag(path: Path, files: dict[str, bytes | None]) -> Path:
    for name, data in files.items():
        touch(path / name, data) if data is not None else image(path / name)
    bagit.make_bag(str(path), {"Source-Organization": "城关区图书馆"}, checksums=["sha256"])
    return path


def test_valid_bag_plans_its_payload_as_a_folder(tmp_path):
    bag = make_bag(tmp_path / "bag", {"卷一/2.jpg": None, "卷一/10.jpg": None, "单张.jpg": None})
    items = plan(bag, collection="gift")
    assert [i.label for i in items] == ["单张", "卷一"]
    assert [p.name for p in items[1].files] == ["2.jpg", "10.jpg"]
    assert items[1].files[0] == bag / "data" / "卷一" / "2.jpg"
    assert items[1].metadata == {"kind": "manuscript", "title": {"zh": "卷一"}, "collections": ["gift"]}


def test_bag_with_manifest_uses_it(tmp_path):
    rows = io.StringIO()
    csv.writer(rows).writerows([["题名", "文件"], ["县前街", "scans/a.jpg"]])
    bag = make_bag(tmp_path / "bag", {"scans/a.jpg": None, "manifest.csv": rows.getvalue().encode("gb18030")})
    [item] = plan_bag(bag)
    assert item.metadata == {"title": {"zh": "县前街"}, "kind": "photo"}
    assert item.files == [bag / "data" / "scans" / "a.jpg"]


def test_tampered_bag_is_refused_naming_the_file(tmp_path):
    bag = make_bag(tmp_path / "bag", {"box/p1.jpg": None, "box/p2.jpg": None})
    (bag / "data" / "box" / "p2.jpg").write_bytes(b"changed after bagging")
    with pytest.raises(SourceError, match=r"not a valid bag: .*data/box/p2\.jpg sha256 validation failed"):
        plan(bag)


def test_incomplete_bag_is_refused(tmp_path):
    bag = make_bag(tmp_path / "bag", {"a.jpg": None, "b.jpg": None})
    (bag / "data" / "a.jpg").unlink()
    touch(bag / "data" / "extra.jpg")
    with pytest.raises(SourceError) as caught:
        plan_bag(bag)
    assert "data/a.jpg exists in manifest but was not found" in str(caught.value)
    assert "data/extra.jpg exists on filesystem but is not in the manifest" in str(caught.value)
    (bag / "bagit.txt").write_text("not a bag declaration\n")
    with pytest.raises(SourceError, match="not a valid bag"):
        plan_bag(bag)


# --- export and the round trip ---------------------------------------------------------------

def _jpeg_bytes(colour) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (5, 5), colour).save(out, "JPEG")
    return out.getvalue()


def test_export_then_plan_round_trip(archive, tmp_path):
    archive.create_collection({"id": "wang-family", "title": {"zh": "王氏家族"}}, user=SYSTEM)
    pages = [_jpeg_bytes((i * 40, 0, 0)) for i in range(3)]
    letter = archive.create_item({
        "kind": "manuscript", "title": {"zh": "王氏家书", "en": "Wang family letters"},
        "creators": [{"name": {"zh": "王仲文"}, "role": "作者", "aliases": [{"name": "伯言", "type": "字"}]}],
        "date": {"edtf": "1936-05", "display": "民国二十五年五月"}, "places": [{"name": {"zh": "城关镇"}}],
        "subjects": ["家书"], "rights": "http://rightsstatements.org/vocab/CNE/1.0/",
        "holding_library": "城关区图书馆", "collections": ["wang-family"], "visibility": "staff",
    }, [NewFile("第2页.jpg", pages[1], "image/jpeg", sequence=2, id="p2", label={"zh": "背面"}),
        NewFile("第1页.jpg", pages[0], "image/jpeg", sequence=1, id="p1"),
        NewFile("第3页.jpg", pages[2], "image/jpeg", sequence=3, id="p3", access="private")], user=SYSTEM).value
    audio = io.BytesIO()
    wav(audio)
    tape = archive.create_item({"kind": "audio", "title": {"zh": "口述"}, "holding_library": "城关区图书馆"},
                               [NewFile("side-a.wav", audio.getvalue(), "audio/wav")], user=SYSTEM).value

    bag = export_bag(archive, [letter.id, tape.id], tmp_path / "export", user=SYSTEM)

    assert bagit.Bag(str(bag)).is_valid()
    assert {p.name for p in bag.glob("manifest-*.txt")} == {"manifest-sha256.txt", "manifest-sha512.txt"}
    info = bagit.Bag(str(bag)).info
    assert info["Source-Organization"] == "城关区图书馆" and "Bagging-Date" in info
    assert letter.id in info["External-Description"]

    planned = plan(bag)
    assert [p.label for p in planned] == [letter.id, tape.id]
    for p, item in zip(planned, (letter, tape)):
        expected = archive.get_item(item.id, user=SYSTEM).value.to_dict()
        expected.pop("files")
        assert p.metadata == expected and p.problems == []
        originals = item.originals
        assert p.file_ids == [f.id for f in originals]
        assert [f.read_bytes() for f in p.files] == [
            archive.open_file(item.id, f.id, user=SYSTEM).read() for f in originals]
        assert [f.relative_to(bag / "data" / "files" / item.id).as_posix() for f in p.files] == [
            f.path.removeprefix("originals/") for f in originals]
    assert planned[0].file_fields == [{}, {"label": {"zh": "背面"}}, {"access": "private"}]


def test_export_gives_only_what_the_user_may_see(archive, tmp_path):
    from repository.access import User
    staff = archive.create_item({"kind": "photo", "title": {"zh": "内部"}, "visibility": "staff"},
                                [NewFile("a.jpg", _jpeg_bytes((1, 2, 3)), "image/jpeg")], user=SYSTEM).value
    public = archive.create_item({"kind": "photo", "title": {"zh": "公开"}},
                                 [NewFile("a.jpg", _jpeg_bytes((9, 9, 9)), "image/jpeg"),
                                  NewFile("b.jpg", _jpeg_bytes((8, 8, 8)), "image/jpeg", access="staff")],
                                 user=SYSTEM).value
    with pytest.raises(NotFound):
        export_bag(archive, [public.id, staff.id], tmp_path / "denied", user=ANONYMOUS)
    assert not (tmp_path / "denied").exists()

    bag = export_bag(archive, [public.id], tmp_path / "public", user=User("r", frozenset({"researcher"})))
    [item] = plan_bag(bag)
    assert item.file_ids == ["f1"] and [p.name for p in item.files] == ["a.jpg"]
    assert "Source-Organization" not in bagit.Bag(str(bag)).info

    (tmp_path / "busy").mkdir()
    touch(tmp_path / "busy" / "x")
    with pytest.raises(FileExistsError):
        export_bag(archive, [public.id], tmp_path / "busy", user=SYSTEM)


def test_export_metadata_with_unsafe_paths_is_refused_per_item(tmp_path):
    bag = make_bag(tmp_path / "bag", {"files/x/a.jpg": None, "metadata.json": (
        '{"items": [{"metadata": {"kind": "photo", "title": {"zh": "好"}}, "files": ["files/x/a.jpg"]},'
        ' {"metadata": {"kind": "scroll", "title": {"zh": "坏"}}, "files": ["../../bagit.txt"]}]}').encode()})
    good, bad = plan_bag(bag)
    assert good.problems == [] and good.file_ids == [None]
    assert bad.problems == ["metadata.json item 2, files: ../../bagit.txt climbs out of the folder of the files with ..",
                            "metadata.json item 2, kind: must be one of photo, manuscript, book, audio, video, "
                            "ebook, object, document, dataset (got 'scroll')"]
