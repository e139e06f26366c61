"""OCR of Chinese pages: horizontal rows and vertical columns read right to left.

Pages are rendered here with the Noto CJK fonts; each page is recognised once per module."""
from __future__ import annotations

import difflib
import json
import os
import re
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

from ingest.steps import StepError
from ingest.steps.image import photo
from ingest.steps.ocr import character_error_rate, ocr, recognize
from ingest.steps.ocr import engine as current_engine
from ingest.steps.ocr_engine import Engine, Reading, load_engine, threads_per_worker
from fangzhi.bootstrap import build
from fangzhi.settings import load
from tests.helpers import build_on

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
    assert data.tech["lines"] == 3 and data.tech["characters"] == len(stored["text"].replace("\n", ""))
    assert data.tech["uncertain"] == sum(c["uncertain"] for line in stored["lines"] for c in line["chars"])

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


# --- traditional characters, confidence, the 180° retry, the engine interface ------------------

TRADITIONAL = ["無錫縣圖書館藏有錫山志三冊", "卷首鈐有縣學藏書之印", "惠山寺舊名華山精舍"]


def traditional_page(path: Path, columns=TRADITIONAL) -> None:
    """Traditional characters (Noto Serif CJK TC) in columns right to left, as in vertical_page."""
    w, h = 560, 900
    img = Image.new("RGB", (w, h), (238, 226, 196))
    draw = ImageDraw.Draw(img)
    if not Path(SERIF).exists():
        pytest.fail(f"the CJK font {SERIF} is missing (Debian package fonts-noto-cjk)")
    f = ImageFont.truetype(SERIF, 44, index=3)  # the .ttc's TC face
    assert f.getname()[0] == "Noto Serif CJK TC"
    for c, column in enumerate(columns):
        for r, char in enumerate(column):
            draw.text((w - 60 - (c + 1) * 90 + 20, 50 + r * 58), char, font=f, fill=(30, 25, 20))
    img.save(path)


def test_traditional_characters_are_read_as_written(tmp_path):
    # The former engine (PP-OCRv4 mobile) read 館→馆, 錫→踢, 鈐→鈴, 冊→册 here (CER 0.11–0.17).
    traditional_page(tmp_path / "cht.png")
    result = recognize(tmp_path / "cht.png")
    assert result["engine"] == "PP-OCRv6 small"
    assert character_error_rate("".join(TRADITIONAL), result["text"]) <= 0.03, result["text"]
    assert [line["text"] for line in result["lines"]] == TRADITIONAL  # right to left


def test_character_error_rate_counts_edits_over_the_reference():
    assert character_error_rate("無錫縣圖書館", "無錫縣圖書館") == 0
    assert character_error_rate("無錫縣圖書館", "无錫縣圖書") == 2 / 6  # one substitution, one deletion
    assert character_error_rate("錫山\n惠山", "錫山 惠山") == 0  # line breaks and spaces do not count
    assert character_error_rate("", "") == 0 and character_error_rate("", "字") == 1


def test_every_character_has_a_confidence_and_low_ones_are_marked(horizontal, tmp_path):
    _, _, result = horizontal
    assert result["low_confidence"] == 0.8
    for line in result["lines"]:
        assert all(0 <= c["score"] <= 1 for c in line["chars"])
        assert [c["uncertain"] for c in line["chars"]] == [c["score"] < 0.8 for c in line["chars"]]
        assert line["uncertain"] == sum(c["uncertain"] for c in line["chars"])
        assert min(c["score"] for c in line["chars"]) <= line["score"] <= max(c["score"] for c in line["chars"])
    path = horizontal[0]
    strict = [c for line in recognize(path, low_confidence=1.0)["lines"] for c in line["chars"]]
    assert [c["uncertain"] for c in strict] == [c["score"] < 1 for c in strict] and any(c["uncertain"] for c in strict)
    assert not any(line["uncertain"] for line in recognize(path, low_confidence=0.0)["lines"])


def test_a_blotted_character_is_marked_uncertain(tmp_path):
    img = Image.new("RGB", (700, 120), (250, 248, 240))
    draw = ImageDraw.Draw(img)
    f = font(SERIF, 48)
    draw.text((30, 30), "惠山古镇祠堂建筑群", font=f, fill=(20, 20, 20))
    x0, y0, x1, y1 = draw.textbbox((30 + 4 * 48, 30), "祠", font=f)
    draw.ellipse([x0 + 5, y0 + 5, x1 - 5, y1 - 5], fill=(60, 50, 40))  # an ink blot over 祠
    img.save(tmp_path / "blot.png")
    line, = recognize(tmp_path / "blot.png")["lines"]
    marked = [c for c in line["chars"] if c["uncertain"]]
    assert len(marked) == line["uncertain"] == 1 and len(line["chars"]) == 9, line
    assert marked[0]["score"] < 0.8 and x0 <= marked[0]["box"][0] + marked[0]["box"][2] / 2 <= x1, (marked, x0, x1)


def test_character_boxes_sit_on_the_characters(horizontal):
    _, drawn, result = horizontal
    f = font(SANS, 40)
    exact = [(line, row) for line, row in zip(result["lines"], ROWS) if line["text"] == row]
    assert len(exact) >= 2, result["text"]
    for line, row in exact:
        # where each character was drawn: the advance of the text before it
        starts = [60 + f.getlength(row[:i]) for i in range(len(row) + 1)]
        for i, char in enumerate(line["chars"]):
            centre = char["box"][0] + char["box"][2] / 2
            assert starts[i] - 8 <= centre <= starts[i + 1] + 8, (i, char, starts[i:i + 2])


def test_a_page_scanned_upside_down_is_read_in_order(tmp_path):
    traditional_page(tmp_path / "page.png")
    Image.open(tmp_path / "page.png").rotate(180).save(tmp_path / "turned.png")
    result = recognize(tmp_path / "turned.png")
    assert [line["text"] for line in result["lines"]] == TRADITIONAL, result["text"]
    for line in result["lines"]:
        ys = [c["box"][1] for c in line["chars"]]
        assert ys == sorted(ys, reverse=True)  # the first character is at the bottom of the turned column


def test_models_are_read_from_the_installed_wheel_without_network(monkeypatch, tmp_path):
    import socket

    import rapidocr

    def no_network(*args, **kwargs):
        raise OSError("network blocked by the test")

    monkeypatch.setattr(socket.socket, "connect", no_network)
    monkeypatch.setattr(socket, "getaddrinfo", no_network)
    engine = load_engine("pp-ocrv6", threads=1)
    package = Path(rapidocr.__file__).parent
    assert set(engine.model_files) == {"det", "rec"}
    for path in engine.model_files.values():
        assert path.is_file() and package in path.parents
    horizontal_page(tmp_path / "rows.png")
    assert "图书馆" in recognize(tmp_path / "rows.png", using=engine)["text"]


def test_each_worker_gets_its_share_of_the_cores():
    cores = len(os.sched_getaffinity(0))
    assert threads_per_worker(1) == cores and threads_per_worker(cores) == 1
    assert threads_per_worker(2 * cores) == 1 and threads_per_worker(0) == cores
    engine = load_engine("pp-ocrv6", threads=1)
    assert [s.get_session_options().intra_op_num_threads for s in engine.sessions] == [1, 1]


def test_each_worker_gives_libvips_its_share_of_the_cores_too():
    from ingest import runner

    cores, before = len(os.sched_getaffinity(0)), pyvips.concurrency_get()
    try:
        runner._init_worker(lambda settings: None, {}, cores)
        assert pyvips.concurrency_get() == 1
    finally:
        pyvips.concurrency_set(before)


def test_lines_are_batched_with_lines_of_their_width_and_read_as_alone(horizontal):
    from ingest.steps.ocr_engine import BATCH, batches as make_batches

    path, drawn, _ = horizontal
    page = cv2.imread(str(path))
    rows = [page[y - 6:y + h + 6, x - 6:x + w + 6] for x, y, w, h in drawn]
    lines = rows + [row[:, : row.shape[1] // 2] for row in rows] + rows * 2  # long, short, and many alike
    batches = make_batches(lines, 1.0)
    ratio = [line.shape[1] / line.shape[0] for line in lines]
    assert sorted(i for batch in batches for i in batch) == list(range(len(lines)))
    for batch in batches:  # a short line is not padded to a long one's width
        assert len(batch) <= BATCH and max(ratio[i] for i in batch) <= 1.05 * min(ratio[i] for i in batch)
    engine = current_engine()
    together = engine.recognise(lines)
    assert [r.text for r in together] == [engine.recognise([line])[0].text for line in lines]
    assert together[0].text == together[6].text == together[9].text  # the same row, in other batches


class SquareEngine:
    """A drop-in engine: one line, the square in the middle of the page, read as 天下第二泉."""

    name = "square"

    def __init__(self, threads: int = 1):
        self.threads, self.seen = threads, []

    def detect(self, image):
        h, w = image.shape[:2]
        return [np.array([[w / 4, h / 2 - 20], [3 * w / 4, h / 2 - 20], [3 * w / 4, h / 2 + 20],
                          [w / 4, h / 2 + 20]], dtype=np.float32)]

    def recognise(self, lines):
        self.seen += [line.shape for line in lines]
        return [Reading("天下第二泉", 0.9, (0.99, 0.99, 0.5, 0.99, 0.99), (0.1, 0.2, 0.3, 0.4, 0.9))
                for _ in lines]


def test_another_engine_drops_in_by_setting(tmp_path):
    Image.new("RGB", (800, 400), (250, 248, 240)).save(tmp_path / "page.png")
    settings = {"DATA_DIR": str(tmp_path / "data"), "OCR_ENGINE": f"{__name__}:SquareEngine",
                "OCR_LOW_CONFIDENCE": 0.6, "INGEST_WORKERS": 1}
    fangzhi = build(load(settings, environ={}))
    try:
        engine = current_engine()
        assert isinstance(engine, SquareEngine) and isinstance(engine, Engine)
        assert engine.threads == threads_per_worker(fangzhi.settings["INGEST_WORKERS"])
        assert cv2.getNumThreads() == engine.threads
        result = recognize(tmp_path / "page.png")
        assert engine.seen == [(40, 400, 3)]  # the line cut out of the page, as the engine found it
        assert result["engine"] == "square" and result["low_confidence"] == 0.6
        line, = result["lines"]
        assert line["box"] == [200, 180, 400, 40] and line["vertical"] is False and line["uncertain"] == 1
        # cut midway between the character centres the engine gave: 0, .15, .25, .35, .65, 1
        assert [c["box"][0] for c in line["chars"]] == [200, 260, 300, 340, 460]
        assert [c["box"][2] for c in line["chars"]] == [60, 40, 40, 120, 140]
        assert [c["uncertain"] for c in line["chars"]] == [False, False, True, False, False]
    finally:
        build_on(tmp_path / "again")  # the default engine again, for the other tests
    assert current_engine().name == "PP-OCRv6 small"


class NotAnEngine:
    def __init__(self, threads: int = 1):
        self.threads = threads


@pytest.mark.parametrize("spec, message", [
    ("tesseract", "OCR_ENGINE='tesseract': choose pp-ocrv6 or pp-ocrv4, or name module:Class"),
    ("no_such_module:Engine", "OCR_ENGINE='no_such_module:Engine': cannot make the engine (ModuleNotFoundError"),
    (f"{__name__}:NotAnEngine", "has no detect(image) and recognise(lines) methods"),
])
def test_a_wrong_engine_setting_is_named(spec, message):
    with pytest.raises(StepError, match=re.escape(message)):
        load_engine(spec, threads=1)


@pytest.mark.parametrize("value", [1.5, -0.1])
def test_a_confidence_threshold_outside_0_to_1_stops_the_start(tmp_path, value):
    with pytest.raises(SystemExit, match=re.escape(f"FANGZHI_OCR_LOW_CONFIDENCE={value!r}: a confidence between 0 and 1")):
        build(load({"DATA_DIR": str(tmp_path), "OCR_LOW_CONFIDENCE": value}, environ={}))
