"""What the document steps (``epub``, ``pdf``) share: their outputs in the work folder, written
atomically and recorded when finished, the reason line of an error, and metadata suggestions.

Idempotence: every output is written under a temporary name (``.<name>.part``) and renamed
when complete; the result is recorded last in ``<step>.result.json``. A later call finding the
record and its files returns them without redoing anything. ``media_type`` is not checked:
the pipeline chose the step by it.
"""
from __future__ import annotations

import dataclasses
import json
import os
import re
from datetime import date
from pathlib import Path

import pyvips

from . import Derivative, StepResult

LANG_RE = re.compile(r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$")
ISO_DATE_RE = re.compile(r"^(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?")


class Outputs:
    """A step's files in its work folder: atomic writes and the record of a finished result."""

    def __init__(self, work: Path, step: str, version: int):
        self.work, self.version = Path(work), version
        self.work.mkdir(parents=True, exist_ok=True)
        self.record = self.work / f"{step}.result.json"

    def finished(self) -> StepResult | None:
        """The recorded result when it and all its files exist, else None."""
        try:
            data = json.loads(self.record.read_text("utf-8"))
            if data.get("version") != self.version:
                return None
            derivatives = [Derivative(path=self.work / d["name"], **d) for d in data["derivatives"]]
        except (OSError, ValueError, KeyError, TypeError):
            return None
        if not all(d.path.is_file() for d in derivatives):
            return None
        return StepResult(derivatives, data.get("tech", {}), data.get("metadata", {}))

    def temp(self, name: str) -> Path:
        """Where to write ``name`` before it is complete."""
        return self.work / f".{name}.part"

    def commit(self, name: str) -> Path:
        """Rename the finished temporary file to ``name``; returns the final path."""
        final = self.work / name
        os.replace(self.temp(name), final)
        return final

    def write_bytes(self, name: str, data: bytes) -> Path:
        self.temp(name).write_bytes(data)
        return self.commit(name)

    def write_text(self, name: str, text: str) -> Path:
        return self.write_bytes(name, text.encode("utf-8"))

    def write_json(self, name: str, value) -> Path:
        return self.write_text(name, json.dumps(value, ensure_ascii=False))

    def save(self, result: StepResult) -> StepResult:
        """Record the finished result (last, so a record always means complete outputs)."""
        derivatives = []
        for d in result.derivatives:
            entry = dataclasses.asdict(d)
            del entry["path"]
            derivatives.append(entry)
        self.write_json(self.record.name, {"version": self.version, "derivatives": derivatives,
                                           "tech": result.tech, "metadata": result.metadata})
        return result


def date_suggestion(value: str) -> dict:
    """``{"display": value}``, plus ``edtf`` when the value starts with a real ISO date."""
    suggestion = {"display": value}
    m = ISO_DATE_RE.match(value)
    if m:
        year, month, day = m.groups()
        try:
            date(int(year), int(month or 1), int(day or 1))
        except ValueError:
            return suggestion
        suggestion["edtf"] = "-".join(p for p in (year, month, day) if p)
    return suggestion


def reason(exc: BaseException) -> str:
    """One line saying why: libvips' detail ("Document is encrypted"), else the message's first line."""
    text = getattr(exc, "detail", "") if isinstance(exc, pyvips.Error) else ""
    text = text.strip() or str(exc).strip() or type(exc).__name__
    return text.splitlines()[0].strip().removeprefix("glib: ")
