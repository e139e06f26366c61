"""OCR of Chinese pages: horizontal rows and vertical columns read right to left.

Pages are rendered here with the Noto CJK fonts; each page is recognised once per module."""
from __future__ import annotations

import difflib
import json
from pathlib import Path

import pytest
from PIL import Image, ImageDraw, ImageFont

from ingest.steps import StepError
from ingest.steps.image import photo
from ingest.steps.ocr import ocr, recognize

pyvips = pytest.importorskip("pyvips")

SANS = "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc"
SERIF = "/usr/share/fonts/opentype/noto/NotoSerifCJK-Regular.ttc"
ROWS = ["无锡图书馆藏有大量地方文献", "民国时期的老照片记录了城市变迁", "惠山古镇的祠堂建筑群保存完好"]
COLUMNS = ["锡山在县城西惠山之东麓山虽不高", "而林木葱郁泉出石罅甘冽异常世称", "天下第二泉者是也运河绕城而过"]


def font(path: str, size: int):
    if not Path(path).exists():
        pytest.fail(f"the CJK font {path} is missing (Debian package fonts-noto-cjk)")
    return ImageFont.truetype(path, size)


def recall(expected: str, got: str) -> float:
    """Share of the expected characters found, in order (longest matching blocks)."""
    matcher = difflib.SequenceMatcher(None, expected, got, autojunk=False)
    return sum(block.size for block in matcher.get_matching_blocks()) / len(expected)


def iou(a, b) -> float:
    ax0, ay0, aw, ah = a
    bx0, by0, bw, bh = b
    w = max(0, min(ax0 + aw, bx0 + bw) - max(ax0, bx0))
    h = max(0, min(ay0 + ah, by0 + bh) - max(ay0, by0))
    return w * h / (aw * ah + bw * bh - w * h)


def horizontal_page(path: Path, scale: int = 1) -> list[list[int]]:
    """Three rows of text; returns each row's drawn box [x, y, w, h]."""
    img = Image.new("RGB", (900 * scale, 400 * scale), (250, 248, 240))
    draw = ImageDraw.Draw(img)
    f = font(SANS, 40 * scale)
    boxes = []
    for n, row in enumerate(ROWS):
        x0, y0, x1, y1 = draw.textbbox((60 * scale, (60 + 100 * n) * scale), row, font=f)
        draw.text((60 * scale, (60 + 100 * n) * scale), row, font=f, fill=(20, 20, 20))
        boxes.append([x0, y0, x1 - x0, y1 - y0])
    img.save(path)
    return boxes


def vertical_page(path: Path) -> list[list[int]]:
    """Columns of characters read top to bottom, right to left, on ruled paper (like a gazetteer
    manuscript, see web/demo.py); returns each column's drawn box."""
    w, h = 800, 1100
    img = Image.new("RGB", (w, h), (238, 226, 196))
    draw = ImageDraw.Draw(img)
    f = font(SERIF, 44)
    draw.rectangle([40, 40, w - 40, h - 40], outline=(150, 40, 30), width=4)
    for c in range(1, (w - 80) // 80):
        draw.line([(w - 40 - c * 80, 40), (w - 40 - c * 80, h - 40)], fill=(170, 70, 50), width=2)
    boxes = []
    for c, column in enumerate(COLUMNS):
        x = w - 40 - (c + 1) * 80 + 18
        first = draw.textbbox((x, 70), column[0], font=f)
        last = draw.textbbox((x, 70 + (len(column) - 1) * 56), column[-1], font=f)
        for r, char in enumerate(column):
            draw.text((x, 70 + r * 56), char, font=f, fill=(30, 25, 20))
        boxes.append([min(first[0], last[0]), first[1], max(first[2], last[2]) - min(first[0], last[0]),
                      last[3] - first[1]])
    img.save(path)
    return boxes


@pytest.fixture(scope="module")
def horizontal(tmp_path_factory):
    path = tmp_path_factory.mktemp("ocr") / "rows.png"
    drawn = horizontal_page(path)
    return path, drawn, recognize(path)


@pytest.fixture(scope="module")
def vertical(tmp_path_factory):
    """The vertical page as the pipeline sees it: the pyramid TIFF the image step made."""
    folder = tmp_path_factory.mktemp("ocr")
    drawn = vertical_page(folder / "page.png")
    pyramid = photo(folder / "page.png", "image/png", folder / "work").derivatives[0].path
    return pyramid, drawn, recognize(pyramid)


def test_horizontal_rows_are_read_top_to_bottom(horizontal):
    _, drawn, result = horizontal
    assert (result["width"], result["height"]) == (900, 400)
    assert recall("".join(ROWS), result["text"].replace("\n", "")) >= 0.9, result["text"]
    lines = result["lines"]
    assert len(lines) == 3
    for line, row, box in zip(lines, ROWS, drawn):
        assert recall(row, line["text"]) >= 0.8, (row, line["text"])
        assert line["vertical"] is False and 0.5 <= line["score"] <= 1
        assert iou(line["box"], box) >= 0.5, (line["box"], box)
    assert result["text"] == "\n".join(line["text"] for line in lines)


def test_character_boxes_divide_the_line_along_the_row(horizontal):
    _, _, result = horizontal
    for line in result["lines"]:
        x, y, w, h = line["box"]
        chars = line["chars"]
        assert "".join(c["text"] for c in chars) == line["text"]
        assert chars[0]["box"][0] == x and sum(c["box"][2] for c in chars) == w
        assert all(c["box"][1] == y and c["box"][3] == h for c in chars)
        assert [c["box"][0] for c in chars] == sorted(c["box"][0] for c in chars)


def test_vertical_columns_are_read_right_to_left(vertical):
    _, drawn, result = vertical
    assert (result["width"], result["height"]) == (800, 1100)
    assert recall("".join(COLUMNS), result["text"].replace("\n", "")) >= 0.8, result["text"]
    columns = [line for line in result["lines"] if len(line["text"]) > 1]
    assert len(columns) == 3, result["lines"]
    assert [line["box"][0] for line in columns] == sorted((line["box"][0] for line in columns), reverse=True)
    for line, column, box in zip(columns, COLUMNS, drawn):
        assert line["vertical"] is True
        assert recall(column, line["text"]) >= 0.8, (column, line["text"])
        assert iou(line["box"], box) >= 0.5, (line["box"], box)
        x, y, w, h = line["box"]
        chars = line["chars"]
        assert [c["box"][1] for c in chars] == sorted(c["box"][1] for c in chars)  # top to bottom
        assert chars[0]["box"][1] == y and sum(c["box"][3] for c in chars) == h
        assert all(c["box"][0] == x and c["box"][2] == w for c in chars)


def test_large_turned_scan_is_shrunk_and_boxes_come_back_in_its_pixels(tmp_path):
    # A 2700 × 1200 scan stored sideways with EXIF orientation 6: OCR works on a ≤ 2500 px
    # copy, upright, and reports boxes in the upright full-size pixels.
    drawn = horizontal_page(tmp_path / "big.png", scale=3)
    big = pyvips.Image.new_from_file(str(tmp_path / "big.png")).rot270()  # stored sideways …
    big = big.copy()
    big.set_type(pyvips.GValue.gint_type, "orientation", 6)  # … with "turn 90° clockwise to view"
    big.jpegsave(str(tmp_path / "big.jpg"), Q=90)
    assert pyvips.Image.new_from_file(str(tmp_path / "big.jpg")).width == 1200

    result = recognize(tmp_path / "big.jpg")
    assert (result["width"], result["height"]) == (2700, 1200)
    assert recall("".join(ROWS), result["text"].replace("\n", "")) >= 0.8, result["text"]
    assert len(result["lines"]) == 3
    for line, box in zip(result["lines"], drawn):
        assert iou(line["box"], box) >= 0.5, (line["box"], box)


def test_ocr_step_writes_json_and_text_once(tmp_path):
    horizontal_page(tmp_path / "rows.png")
    work = tmp_path / "work"
    result = ocr(tmp_path / "rows.png", "image/png", work)

    data, text = result.derivatives
    assert (data.name, data.role, data.media_type, data.path) == ("ocr.json", "ocr", "application/json",
                                                                  work / "ocr.json")
    assert (text.name, text.role, text.media_type, text.path) == ("text.txt", "text", "text/plain",
                                                                  work / "text.txt")
    stored = json.loads(data.path.read_text(encoding="utf-8"))
    assert set(stored) == {"width", "height", "engine", "low_confidence", "lines", "text"}
    assert text.path.read_text(encoding="utf-8") == stored["text"] and "图书馆" in stored["text"]
    assert data.tech["lines"] == 3

    stamps = [d.path.stat().st_mtime_ns for d in result.derivatives]
    again = ocr(tmp_path / "rows.png", "image/png", work)
    assert [d.path.stat().st_mtime_ns for d in again.derivatives] == stamps
    assert sorted(p.name for p in work.iterdir()) == ["ocr.json", "text.txt"]


def test_blank_page_has_no_text(tmp_path):
    Image.new("RGB", (600, 800), (245, 240, 230)).save(tmp_path / "blank.png")
    assert recognize(tmp_path / "blank.png") == {"width": 600, "height": 800, "engine": "PP-OCRv6 small",
                                                 "low_confidence": 0.8, "lines": [], "text": ""}


def test_damaged_image_is_a_step_error(tmp_path):
    (tmp_path / "bad.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 40)
    with pytest.raises(StepError, match="^the image is damaged"):
        recognize(tmp_path / "bad.png")
