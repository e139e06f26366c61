"""Chinese OCR for horizontal and vertical text, with an engine behind a small interface
(ingest/steps/ocr_engine.py; setting OCR_ENGINE): by default PaddleOCR's PP-OCRv6 small models
on onnxruntime, from inside the ``rapidocr`` wheel (nothing is downloaded at run time), which
read simplified and traditional characters alike.

The engine is made once per process, on first use, with onnxruntime threads for one worker
(``configure``: the cores shared among INGEST_WORKERS processes, so they do not oversubscribe).

How a page is read:

1. libvips shrinks the image on load to a working size (long edge ≤ 2500 px; a pyramidal TIFF
   gives the right level directly), so a large scan never reaches numpy at full size. For a
   multi-page file that is its first page: the pipeline passes each page's pyramid separately.
2. The detector finds text lines as quadrilaterals, on a copy of at most 1024 px (PaddleOCR's
   default is 960; time and memory grow with the area: ~400 MB at 1600 px, ~700 MB at 2500 px).
   Measured on the pages of bench/ocr.py, and on a dense aged page of 30 px characters on 2100 px
   (14 px at detection), 1024 px reads as well as 1600 px, detecting in half the time. Lines are
   then cut out of the 2500 px working image for recognition, where character detail matters.
3. A line box much taller than wide (height ≥ 1.5 × width) is a vertical line: a column of
   traditional text read top to bottom. Its crop is turned 90° counter-clockwise, so the first
   character comes first from the left (PaddleOCR's own convention, which its recogniser is
   trained for). RapidOCR's 0°/180° direction classifier is not used: measured here it turns
   correct columns, and even long horizontal Chinese lines, upside down (scores 0.9 for "180"),
   losing whole lines. Instead a line recognised with low confidence is also tried turned 180°
   and the more confident reading kept. All lines of a page are recognised in batches.
4. The page is vertical when most of its text (by line length) runs in columns; lines are then
   ordered in columns right to left, each top to bottom; otherwise in rows top to bottom, each
   left to right. When most of it was read turned 180° (a page scanned upside down), the order
   is the reverse.
5. Boxes are scaled back to the image's own pixels (after EXIF orientation, i.e. the
   coordinates of the pyramid the IIIF server shows). Character boxes are cut along the line at
   the positions the recogniser read each character (midway between neighbours), or evenly
   where the engine does not tell.
6. Each line keeps its confidence and each character its own; characters below
   OCR_LOW_CONFIDENCE are marked ``"uncertain": true`` (and counted per line), so a review
   screen can show them.
"""
from __future__ import annotations

import json
import os
import threading
from pathlib import Path

import numpy as np
import pyvips

from . import Derivative, StepError, StepResult
from .image import MAX_PIXELS, display_ready, loader_for, open_page, shrunk, upright_size, vips_reason
from .ocr_engine import Engine, Reading, load_engine, threads_per_worker

WORK_SIZE = 2500  # long edge, in pixels, of the image lines are recognised in
DETECT_SIZE = 1024  # long edge of the copy text lines are detected in (PaddleOCR's default: 960)
VERTICAL = 1.5  # a line box this many times taller than wide is a column (as in RapidOCR)
MIN_SCORE = 0.5  # recognitions below this confidence are dropped (RapidOCR's default)
RETRY_BELOW = 0.8  # a line recognised with less confidence is tried upside down too

_config = {"engine": "pp-ocrv6", "low_confidence": 0.8, "threads": threads_per_worker(1)}
_engine: Engine | None = None
_engine_lock = threading.Lock()


def configure(*, engine: str | None = None, low_confidence: float | None = None, workers: int | None = None) -> None:
    """This process's OCR settings (from OCR_ENGINE, OCR_LOW_CONFIDENCE and INGEST_WORKERS); an
    engine already made is remade on next use if they change it."""
    global _engine
    new = dict(_config)
    if engine is not None:
        new["engine"] = engine
    if low_confidence is not None:
        if not 0 <= low_confidence <= 1:
            raise ValueError(f"OCR_LOW_CONFIDENCE={low_confidence!r}: a confidence between 0 and 1")
        new["low_confidence"] = low_confidence
    if workers is not None:
        new["threads"] = threads_per_worker(workers)
    with _engine_lock:
        if (new["engine"], new["threads"]) != (_config["engine"], _config["threads"]):
            _engine = None
        _config.update(new)


def engine() -> Engine:
    """The process's OCR engine, made on first use."""
    global _engine
    with _engine_lock:
        if _engine is None:
            import cv2

            cv2.setNumThreads(_config["threads"])  # OpenCV's pool too (resizing, warping lines) shares the cores
            _engine = load_engine(_config["engine"], threads=_config["threads"])
    return _engine


def ocr(original: Path, media_type: str, work: Path) -> StepResult:
    """``ocr.json`` (lines, boxes, scores; role ocr) and ``text.txt`` (plain UTF-8; role text) for
    an image original (its first page). Existing complete outputs are returned as they are."""
    work.mkdir(parents=True, exist_ok=True)
    target, text = work / "ocr.json", work / "text.txt"
    if target.exists() and text.exists():
        result = json.loads(target.read_text(encoding="utf-8"))
    else:
        result = recognize(original)
        _write_atomic(target, json.dumps(result, ensure_ascii=False).encode("utf-8"))
        _write_atomic(text, result["text"].encode("utf-8"))
    counts = summary(result)
    return StepResult(derivatives=[
        Derivative("ocr.json", target, "application/json", "ocr", tech=counts),
        Derivative("text.txt", text, "text/plain", "text", tech=counts),
    ])


def summary(result: dict) -> dict:
    """What a page's OCR comes to, for the derivative's technical metadata: lines, characters,
    and how many characters are marked uncertain (pages to review first)."""
    lines = result["lines"]
    return {"lines": len(lines), "characters": sum(len(line["text"]) for line in lines),
            "uncertain": sum(line.get("uncertain", 0) for line in lines)}


def recognize(image: Path, *, max_pixels: int = MAX_PIXELS, using: Engine | None = None,
              low_confidence: float | None = None) -> dict:
    """The text of one image: ``{"width", "height", "engine", "low_confidence", "lines": [{"text",
    "box": [x, y, w, h], "score", "uncertain", "vertical", "chars": [{"text", "box", "score",
    "uncertain"}]}], "text"}``, in reading order, with boxes in the image's pixels (after EXIF
    orientation). ``uncertain``: the character's confidence is below ``low_confidence`` (setting
    OCR_LOW_CONFIDENCE); for a line, how many of its characters are. ``using``: the engine to
    read with (default: this process's)."""
    reader = using or engine()
    threshold = _config["low_confidence"] if low_confidence is None else low_confidence
    pixels, (width, height) = _working_image(Path(image), max_pixels)
    scale_x, scale_y = width / pixels.shape[1], height / pixels.shape[0]

    found = _read_lines(reader, pixels)
    page_vertical = _mostly_vertical(found)
    lines = []
    for quad, reading, vertical, flipped in found:
        xs, ys = quad[:, 0] * scale_x, quad[:, 1] * scale_y
        x0, y0 = max(0, int(xs.min())), max(0, int(ys.min()))
        x1, y1 = min(width, round(float(xs.max()))), min(height, round(float(ys.max())))
        column = vertical if vertical is not None else page_vertical  # square boxes: one character
        chars = _char_boxes(reading, (x0, y0, x1 - x0, y1 - y0), column, flipped)
        for char in chars:
            char["uncertain"] = char["score"] < threshold
        lines.append({"text": reading.text, "box": [x0, y0, x1 - x0, y1 - y0], "score": round(reading.score, 4),
                      "uncertain": sum(c["uncertain"] for c in chars), "vertical": column, "chars": chars})
    lines = _reading_order(lines, page_vertical)
    if _mostly_turned(found):  # a page scanned upside down: its first line is last in the image
        lines.reverse()
    return {"width": width, "height": height, "engine": reader.name, "low_confidence": threshold, "lines": lines,
            "text": "\n".join(line["text"] for line in lines)}


def _working_image(path: Path, max_pixels: int) -> tuple[np.ndarray, tuple[int, int]]:
    """BGR pixels (OpenCV's order, which RapidOCR expects) at working size, and the full size."""
    loader = loader_for(path)
    header = open_page(path, loader, None)
    width, height = upright_size(header)
    if width * height > max_pixels:
        raise StepError(f"the image has {width} × {height} pixels, more than the limit of {max_pixels:,} pixels")
    try:
        small = display_ready(shrunk(path, loader, header, None, WORK_SIZE))
        if small.bands == 1:
            small = small.bandjoin([small, small])
        rgb = np.ndarray(buffer=small.write_to_memory(), dtype=np.uint8, shape=[small.height, small.width, 3])
    except pyvips.Error as exc:
        raise StepError(f"the image is damaged: {vips_reason(exc)}") from exc
    return np.ascontiguousarray(rgb[..., ::-1]), (width, height)


def _read_lines(engine: Engine, pixels: np.ndarray) -> list[tuple[np.ndarray, Reading, bool | None, bool]]:
    """(quad, reading, vertical, flipped) per recognised line, in working-image pixels.

    ``vertical`` is True for a column, False for a row, None for a square box (one character),
    whose direction is the page's; ``flipped``: the line was read turned 180°."""
    import cv2

    # Detection runs on a copy of at most DETECT_SIZE px: its time and memory grow with the area;
    # recognition crops the working image.
    shrink = min(1.0, DETECT_SIZE / max(pixels.shape[:2]))
    small = pixels if shrink == 1 else cv2.resize(pixels, None, fx=shrink, fy=shrink, interpolation=cv2.INTER_AREA)
    lines = []
    for quad in engine.detect(small):
        quad = np.asarray(quad, dtype=np.float32).reshape(4, 2) / shrink
        crop = _crop(pixels, quad)
        if crop is None:
            continue
        h, w = crop.shape[:2]
        vertical = True if h >= VERTICAL * w else False if w >= VERTICAL * h else None
        # a column turned counter-clockwise: the top of the column comes first
        lines.append((quad, np.ascontiguousarray(np.rot90(crop)) if vertical else crop, vertical))
    if not lines:
        return []
    readings = engine.recognise([crop for _, crop, _ in lines])
    unsure = [n for n, reading in enumerate(readings) if reading.score < RETRY_BELOW]
    # perhaps upside down (a page scanned the wrong way up): the more confident reading is kept
    turned = engine.recognise([np.ascontiguousarray(np.rot90(lines[n][1], 2)) for n in unsure]) if unsure else []
    flipped = set()
    for n, reading in zip(unsure, turned):
        if reading.score > readings[n].score:
            readings[n] = reading
            flipped.add(n)
    return [(quad, reading, vertical, n in flipped) for n, ((quad, _, vertical), reading) in enumerate(zip(lines, readings))
            if reading.text and reading.score >= MIN_SCORE]


def _crop(pixels: np.ndarray, quad: np.ndarray) -> np.ndarray | None:
    """The quadrilateral (clockwise from top left) warped to an upright rectangle."""
    import cv2

    width = int(max(np.linalg.norm(quad[0] - quad[1]), np.linalg.norm(quad[2] - quad[3])))
    height = int(max(np.linalg.norm(quad[0] - quad[3]), np.linalg.norm(quad[1] - quad[2])))
    if width < 2 or height < 2:
        return None
    target = np.array([[0, 0], [width, 0], [width, height], [0, height]], dtype=np.float32)
    matrix = cv2.getPerspectiveTransform(quad, target)
    return cv2.warpPerspective(pixels, matrix, (width, height), borderMode=cv2.BORDER_REPLICATE,
                               flags=cv2.INTER_CUBIC)


def _mostly_vertical(found) -> bool:
    """Whether most text, counted in characters, runs in columns."""
    columns = sum(len(reading.text) for _, reading, vertical, _ in found if vertical is True)
    rows = sum(len(reading.text) for _, reading, vertical, _ in found if vertical is False)
    return columns > rows


def _mostly_turned(found) -> bool:
    """Whether most text, counted in characters, was read turned 180°."""
    turned = sum(len(reading.text) for _, reading, _, flipped in found if flipped)
    return turned > sum(len(reading.text) for _, reading, _, _ in found) / 2


def _char_boxes(reading: Reading, box: tuple[int, int, int, int], vertical: bool, flipped: bool) -> list[dict]:
    """The line box cut along the reading direction, one part per character, in text order: at
    the midpoints between the centres the recogniser read the characters at (evenly where the
    engine gives no positions); the first and last parts reach the ends of the box. A line read
    turned 180° runs from the right (bottom) end. Each character has its own confidence, or the
    line's where the engine gives none."""
    text, n = reading.text, len(reading.text)
    centres = reading.char_centres if reading.char_centres and len(reading.char_centres) == n else None
    scores = reading.char_scores if reading.char_scores and len(reading.char_scores) == n else (reading.score,) * n
    along = sorted(centres) if centres else [(i + 0.5) / n for i in range(n)]
    fractions = [0.0] + [(a + b) / 2 for a, b in zip(along, along[1:])] + [1.0]
    if flipped:  # along the turned crop: from the other end of the box
        fractions = [1 - f for f in reversed(fractions)]
    x, y, w, h = box
    start, length = (y, h) if vertical else (x, w)
    edges = [start + round(length * f) for f in fractions]
    parts = [(edges[i], edges[i + 1] - edges[i]) for i in range(n)]
    if flipped:
        parts.reverse()
    return [{"text": c, "box": [x, a, w, size] if vertical else [a, y, size, h], "score": round(float(score), 4)}
            for c, (a, size), score in zip(text, parts, scores)]


def _reading_order(lines: list[dict], vertical: bool) -> list[dict]:
    """Columns right to left, each top to bottom (vertical pages); rows top to bottom, each left
    to right (horizontal pages). Lines whose spans across the reading direction overlap by half
    of the narrower one are in the same column (row)."""
    across, along = (0, 1) if vertical else (1, 0)  # index into box of the across/along position

    def span(line):
        start = line["box"][across]
        return start, start + line["box"][across + 2]

    def centre(line):
        a, b = span(line)
        return (a + b) / 2

    groups: list[tuple[list[int], list[dict]]] = []  # ([start, end], lines)
    for line in sorted(lines, key=centre, reverse=vertical):
        a, b = span(line)
        for extent, members in groups:
            overlap = min(b, extent[1]) - max(a, extent[0])
            if overlap >= 0.5 * min(b - a, extent[1] - extent[0]):
                members.append(line)
                extent[0], extent[1] = min(a, extent[0]), max(b, extent[1])
                break
        else:
            groups.append(([a, b], [line]))
    return [line for _, members in groups for line in sorted(members, key=lambda l: l["box"][along])]


def character_error_rate(reference: str, recognised: str) -> float:
    """Character error rate, as OCR evaluation tools (e.g. dinglehopper) define it: the edit
    distance (insertions, deletions, substitutions) between the texts, over the reference's
    length. Both are NFC-normalised and compared without whitespace and line breaks, whose
    placement in Chinese text carries no characters."""
    import unicodedata

    ref, got = ("".join(unicodedata.normalize("NFC", t).split()) for t in (reference, recognised))
    if not ref:
        return float(bool(got))
    previous = list(range(len(got) + 1))
    for i, a in enumerate(ref, 1):
        current = [i]
        for j, b in enumerate(got, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a != b)))
        previous = current
    return previous[-1] / len(ref)


def _write_atomic(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.partial")
    try:
        tmp.write_bytes(data)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
