"""Media steps: small, named, idempotent functions that make derivatives from one original.

Every step has the signature ``step(original: Path, media_type: str, work: Path) -> StepResult``:
it reads the original (never modifies it), writes its outputs as files in ``work`` (a folder of
its own for this original; a step whose outputs already exist there may return them without
redoing the work) and returns what it made. Steps never touch the archive: the pipeline stores
the outputs as derivatives in one new version of the item.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

# libvips 8.14 breaks Pillow's text rendering when pyvips is loaded first: load Pillow's first.
import PIL.ImageFont  # noqa: F401,E402  isort:skip

from ..errors import IngestError  # noqa: E402


class StepError(IngestError):
    """A step failed; the message says why in plain words (the pipeline adds file and step)."""


@dataclass
class Derivative:
    name: str  # file name in the item, unique per original: "pyramid.tif", "p0003.tif", "ocr.json"
    path: Path  # the file in the work folder
    media_type: str
    role: str  # what it is for: pyramid | thumbnail | ocr | text | access | poster | waveform | toc | cover | page-image
    sequence: int | None = None  # page (1-based) within the original, for multi-page originals
    tech: dict = field(default_factory=dict)  # width, height, duration, codec …
    needs_ocr: bool = False  # a page image without a text layer: the pipeline runs OCR on it


@dataclass
class StepResult:
    derivatives: list[Derivative] = field(default_factory=list)
    tech: dict = field(default_factory=dict)  # technical metadata of the original (dimensions, exif, ffprobe)
    metadata: dict = field(default_factory=dict)  # suggested item fields ("date", "places", "title"…), used only where empty
