"""Chinese OCR with RapidOCR (PaddleOCR's PP-OCRv4 models on onnxruntime), for horizontal and
vertical text.

The models ship inside the ``rapidocr-onnxruntime`` wheel: nothing is downloaded at run time.
The engine is made once per process, on first use (worker processes each hold one; loading it
takes a fraction of a second and about 100 MB).

How a page is read:

1. libvips shrinks the image on load to a working size (long edge ≤ 2500 px; a pyramidal TIFF
   gives the right level directly), so a large scan never reaches numpy at full size. For a
   multi-page file that is its first page: the pipeline passes each page's pyramid separately.
2. The detector finds text lines as quadrilaterals, on a copy of at most 1600 px (its memory
   grows with the area: ~400 MB there, ~700 MB at 2500 px); lines are then cut out of the
   2500 px working image for recognition, where character detail matters.
3. A line box much taller than wide (height ≥ 1.5 × width) is a vertical line: a column of
   traditional text read top to bottom. Its crop is turned 90° counter-clockwise, so the first
   character comes first from the left (PaddleOCR's own convention, which its recogniser is
   trained for). RapidOCR's 0°/180° direction classifier is not used: measured here it turns
   correct columns, and even long horizontal Chinese lines, upside down (scores 0.9 for "180"),
   losing whole lines. Instead a line recognised with low confidence is also tried turned 180°
   and the more confident reading kept.
4. The page is vertical when most of its text (by line length) runs in columns; lines are then
   ordered in columns right to left, each top to bottom; otherwise in rows top to bottom, each
   left to right.
5. Boxes are scaled back to the image's own pixel coordinates (after EXIF orientation, i.e. the
   coordinates of the pyramid the IIIF server shows). Character boxes divide a line's box evenly
   along its reading direction: an approximation, good enough for highlighting.
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

WORK_SIZE = 2500  # long edge, in pixels, of the image lines are recognised in
DETECT_SIZE = 1600  # long edge of the copy text lines are detected in
VERTICAL = 1.5  # a line box this many times taller than wide is a column (as in RapidOCR)
MIN_SCORE = 0.5  # recognitions below this confidence are dropped (RapidOCR's default)
RETRY_BELOW = 0.8  # a line recognised with less confidence is tried upside down too

_engine = None
_engine_lock = threading.Lock()


def engine():
    """The process's RapidOCR engine, made on first use."""
    global _engine
    with _engine_lock:
        if _engine is None:
            from rapidocr_onnxruntime import RapidOCR

            # max_side_len: do not shrink our working image again before detection.
            _engine = RapidOCR(max_side_len=WORK_SIZE)
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
    counts = {"lines": len(result["lines"]), "characters": sum(len(line["text"]) for line in result["lines"])}
    return StepResult(derivatives=[
        Derivative("ocr.json", target, "application/json", "ocr", tech=counts),
        Derivative("text.txt", text, "text/plain", "text", tech=counts),
    ])


def recognize(image: Path, *, max_pixels: int = MAX_PIXELS) -> dict:
    """The text of one image: ``{"width", "height", "lines": [{"text", "box": [x, y, w, h],
    "score", "vertical", "chars": [{"text", "box"}]}], "text"}``, in reading order, with boxes
    in the image's pixels (after EXIF orientation)."""
    pixels, (width, height) = _working_image(Path(image), max_pixels)
    scale_x, scale_y = width / pixels.shape[1], height / pixels.shape[0]

    found = _read_lines(pixels)
    page_vertical = _mostly_vertical(found)
    lines = []
    for quad, text, score, vertical in found:
        xs, ys = quad[:, 0] * scale_x, quad[:, 1] * scale_y
        x0, y0 = max(0, int(xs.min())), max(0, int(ys.min()))
        x1, y1 = min(width, round(float(xs.max()))), min(height, round(float(ys.max())))
        column = vertical if vertical is not None else page_vertical  # square boxes: one character
        lines.append({"text": text, "box": [x0, y0, x1 - x0, y1 - y0], "score": round(float(score), 4),
                      "vertical": column, "chars": _char_boxes(text, (x0, y0, x1 - x0, y1 - y0), column)})
    lines = _reading_order(lines, page_vertical)
    return {"width": width, "height": height, "lines": lines, "text": "\n".join(line["text"] for line in lines)}


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


def _read_lines(pixels: np.ndarray) -> list[tuple[np.ndarray, str, float, bool | None]]:
    """(quad, text, score, vertical) per recognised line, in working-image pixels.

    ``vertical`` is True for a column, False for a row, None for a square box (one character),
    whose direction is the page's."""
    import cv2

    # Detection runs on a copy of at most DETECT_SIZE px: its memory grows with the area (measured
    # here: about 400 MB at 1600 px, 700 MB at 2500 px); recognition crops the working image.
    shrink = min(1.0, DETECT_SIZE / max(pixels.shape[:2]))
    small = pixels if shrink == 1 else cv2.resize(pixels, None, fx=shrink, fy=shrink, interpolation=cv2.INTER_AREA)
    boxes, _ = engine()(small, use_cls=False, use_rec=False)  # detection only
    if not boxes:
        return []
    found = []
    for box in boxes:
        quad = np.array(box, dtype=np.float32).reshape(4, 2) / shrink
        crop = _crop(pixels, quad)
        if crop is None:
            continue
        h, w = crop.shape[:2]
        vertical = True if h >= VERTICAL * w else False if w >= VERTICAL * h else None
        if vertical:
            crop = np.rot90(crop)  # counter-clockwise: the top of the column comes first
        text, score = _recognise(crop)
        if score < RETRY_BELOW:  # perhaps upside down (a page scanned the wrong way up)
            text, score = max((text, score), _recognise(np.rot90(crop, 2)), key=lambda r: r[1])
        if text and score >= MIN_SCORE:
            found.append((quad, text, score, vertical))
    return found


def _recognise(crop: np.ndarray) -> tuple[str, float]:
    """Text and confidence of one line image, as it lies."""
    recognised, _ = engine()(np.ascontiguousarray(crop), use_det=False, use_cls=False, use_rec=True)
    return (recognised[0][0].strip(), float(recognised[0][1])) if recognised else ("", 0.0)


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
    columns = sum(len(text) for _, text, _, vertical in found if vertical is True)
    rows = sum(len(text) for _, text, _, vertical in found if vertical is False)
    return columns > rows


def _char_boxes(text: str, box: tuple[int, int, int, int], vertical: bool) -> list[dict]:
    """The line box cut into equal parts along the reading direction, one per character."""
    x, y, w, h = box
    n = len(text)
    if vertical:
        edges = [y + round(h * i / n) for i in range(n + 1)]
        return [{"text": c, "box": [x, edges[i], w, edges[i + 1] - edges[i]]} for i, c in enumerate(text)]
    edges = [x + round(w * i / n) for i in range(n + 1)]
    return [{"text": c, "box": [edges[i], y, edges[i + 1] - edges[i], h]} for i, c in enumerate(text)]


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


def _write_atomic(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.partial")
    try:
        tmp.write_bytes(data)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
