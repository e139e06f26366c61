"""OCR engines behind one small interface, so a better model drops in (setting OCR_ENGINE).

An engine does two things, on BGR numpy images (OpenCV's order):

- ``detect(image)``: the text lines of a page, as quadrilaterals (4 × 2 float32 arrays, clockwise
  from the top left, in the image's pixels);
- ``recognise(lines)``: the text of many line images at once (each upright, read left to right),
  as :class:`Reading` objects with the line's confidence and, where the model gives them, each
  character's confidence and position along the line.

Fangzhi's own code (ingest/steps/ocr.py) does the rest: cropping, vertical columns, the 180°
retry, reading order, boxes and confidence marks.

Engines here:

- ``pp-ocrv6`` (default): PaddleOCR's PP-OCRv6 small detection and recognition models, as the
  PyPI wheel ``rapidocr`` 3.x ships them, on onnxruntime. One multilingual recogniser reads
  simplified and traditional Chinese (RapidOCR routes both ``ch`` and ``chinese_cht`` to it).
  The model files are opened from inside the installed package: nothing is downloaded.
- ``pp-ocrv4``: the former engine (PP-OCRv4 mobile, wheel ``rapidocr-onnxruntime``), kept for
  comparison (bench/ocr.py) where that wheel is installed.
- ``module:Class``: any class with the two methods, made with ``Class(threads=N)``.
"""
from __future__ import annotations

import functools
import importlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np

from . import StepError

SETTING = "OCR_ENGINE"
BATCH = 4  # lines recognised in one onnxruntime call (similar widths). On one thread measured: 1, 2, 4 take
# the same time, 8 to 32 more (padding, bigger tensors) and far more memory (1.7 GB at 32)
PADDING = 1.05  # a batch's lines are at most this much narrower than its widest (padding is computed too)


@dataclass(frozen=True)
class Reading:
    """One recognised line: its text, its confidence (0–1), and per character (same length as
    ``text``, or None when the engine does not tell) the confidence and the centre's position
    along the line, as a fraction of its length."""

    text: str
    score: float
    char_scores: tuple[float, ...] | None = None
    char_centres: tuple[float, ...] | None = None


@runtime_checkable
class Engine(Protocol):
    name: str  # what ocr.json records as the engine that read the page

    def detect(self, image: np.ndarray) -> list[np.ndarray]: ...

    def recognise(self, lines: list[np.ndarray]) -> list[Reading]: ...


def threads_per_worker(workers: int) -> int:
    """onnxruntime threads for one ingest worker: the cores this process may use, shared among
    ``workers`` processes, so that workers together do not oversubscribe the machine."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cores = os.cpu_count() or 1
    return max(1, cores // max(1, workers))


def load_engine(spec: str, *, threads: int) -> Engine:
    """The engine named by ``spec`` (see the module's docstring), using ``threads`` threads.
    Errors name the setting and what went wrong."""
    spec = (spec or "").strip()
    if spec in BUILT_IN:
        return BUILT_IN[spec](threads=threads)
    module_name, sep, attribute = spec.partition(":")
    if not sep or not module_name or not attribute:
        raise StepError(f"{SETTING}={spec!r}: choose {' or '.join(BUILT_IN)}, or name module:Class")
    try:
        target = functools.reduce(getattr, attribute.split("."), importlib.import_module(module_name))
        engine = target(threads=threads)
    except Exception as exc:  # ImportError, AttributeError, or whatever the class raises
        raise StepError(f"{SETTING}={spec!r}: cannot make the engine ({type(exc).__name__}: {exc})") from exc
    if not all(callable(getattr(engine, method, None)) for method in ("detect", "recognise")):
        raise StepError(f"{SETTING}={spec!r}: the engine has no detect(image) and recognise(lines) methods")
    return engine


def _ctc_readings(preds: np.ndarray, characters: list[str], widths: list[float]) -> list[Reading]:
    """Greedy CTC decoding (PaddleOCR's: index 0 is the blank, repeats collapse) of a batch, with
    each character's probability and the position of its time step along the line.
    ``widths``: each line's share of the padded batch width (0–1)."""
    best = preds.argmax(axis=2)
    prob = np.take_along_axis(preds, best[..., None], axis=2)[..., 0]  # one pass over the classes, not two
    steps = preds.shape[1]
    out = []
    for row, share in zip(range(len(best)), widths):
        keep = best[row] != 0
        keep[1:] &= best[row][1:] != best[row][:-1]
        cols = np.flatnonzero(keep)
        text = "".join(characters[i] for i in best[row][cols])
        scores = prob[row][cols].astype(float)
        centres = np.clip((cols + 0.5) / (steps * share), 0, 1)
        # no spaces at the ends (a Chinese line has none inside that matter for its boxes)
        start, end = len(text) - len(text.lstrip()), len(text.rstrip())
        text, scores, centres = text[start:end], scores[start:end], centres[start:end]
        out.append(Reading(text, float(scores.mean()) if len(scores) else 0.0,
                           tuple(round(float(s), 4) for s in scores), tuple(round(float(c), 4) for c in centres)))
    return out


class PPOCRv6:
    """PP-OCRv6 small detection + recognition (wheel ``rapidocr`` 3.x), models from the wheel."""

    name = "PP-OCRv6 small"

    def __init__(self, threads: int = 1):
        import logging

        from rapidocr.ch_ppocr_det import TextDetector
        from rapidocr.ch_ppocr_rec import TextRecognizer
        from rapidocr.main import DEFAULT_CFG_PATH
        from rapidocr.utils.parse_parameters import ParseParams

        logging.getLogger("RapidOCR").setLevel(logging.WARNING)  # not a line per model loaded

        cfg = ParseParams.load(DEFAULT_CFG_PATH)
        ort = cfg.EngineConfig.onnxruntime
        ort.intra_op_num_threads, ort.inter_op_num_threads = threads, 1
        ort.enable_cpu_mem_arena = True  # RapidOCR turns it off; on, recognition reuses its buffers (~10% faster)
        self.model_files = {"det": self.bundled("PP-OCRv6_det_small.onnx"),
                            "rec": self.bundled("PP-OCRv6_rec_small.onnx")}
        for section, task in ((cfg.Det, "det"), (cfg.Rec, "rec")):
            # an explicit model path: RapidOCR then opens that file and never looks for a download
            section.model_path, section.engine_cfg = str(self.model_files[task]), ort
        self._det, self._rec = TextDetector(cfg.Det), TextRecognizer(cfg.Rec)
        self._characters = self._rec.postprocess_op.character
        self.threads = threads
        self.sessions = (self._det.session.session, self._rec.session.session)  # onnxruntime's

    @staticmethod
    def bundled(name: str) -> Path:
        import rapidocr

        path = Path(rapidocr.__file__).parent / "models" / name
        if not path.is_file():
            raise StepError(f"{SETTING}: the model {name} is not in the installed rapidocr package ({path})")
        return path

    def detect(self, image: np.ndarray) -> list[np.ndarray]:
        found = self._det(image)
        return [] if found.boxes is None else [np.asarray(b, dtype=np.float32).reshape(4, 2) for b in found.boxes]

    def recognise(self, lines: list[np.ndarray]) -> list[Reading]:
        _, height, width = self._rec.rec_image_shape
        out: list[Reading | None] = [None] * len(lines)
        for batch in batches(lines, width / height):
            ratios = [lines[i].shape[1] / lines[i].shape[0] for i in batch]
            widest = max(width / height, *ratios)
            images = np.stack([self._rec.resize_norm_img(lines[i], widest) for i in batch])  # float32
            shares = [min(1.0, np.ceil(height * r) / (height * widest)) for r in ratios]
            for i, reading in zip(batch, _ctc_readings(self._rec.session(images), self._characters, shares)):
                out[i] = reading
        return out


def batches(lines: list[np.ndarray], narrowest: float) -> list[list[int]]:
    """Indexes of ``lines`` in batches of up to BATCH of similar width (as aspect ratios, which
    is the width at the model's height; none narrower than ``narrowest``): every line of a batch
    is padded to the widest, and recognition time grows with the padded width, so a short line
    is not batched with long ones."""
    ratio = [max(narrowest, line.shape[1] / line.shape[0]) for line in lines]
    out: list[list[int]] = []
    for i in sorted(range(len(lines)), key=ratio.__getitem__):
        if out and len(out[-1]) < BATCH and ratio[i] <= PADDING * ratio[out[-1][0]]:
            out[-1].append(i)
        else:
            out.append([i])
    return out


class PPOCRv4:
    """The former engine: PP-OCRv4 mobile (wheel ``rapidocr-onnxruntime`` 1.4), for comparison."""

    name = "PP-OCRv4 mobile"

    def __init__(self, threads: int = 1):
        from rapidocr_onnxruntime import RapidOCR

        self._engine = RapidOCR(intra_op_num_threads=threads, inter_op_num_threads=1)

    def detect(self, image: np.ndarray) -> list[np.ndarray]:
        boxes, _ = self._engine.text_det(image)
        return [] if boxes is None else [np.asarray(b, dtype=np.float32).reshape(4, 2) for b in boxes]

    def recognise(self, lines: list[np.ndarray]) -> list[Reading]:
        if not lines:
            return []
        found, _ = self._engine.text_rec(lines)
        return [Reading(text.strip(), float(score)) for text, score, *_ in found]


BUILT_IN = {"pp-ocrv6": PPOCRv6, "pp-ocrv4": PPOCRv4}
