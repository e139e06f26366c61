"""Automatic speech recognition: the hook that lets a recogniser draft a transcript for an
archivist to correct. Fangzhi ships no model (none can be installed offline here).

To plug one in, write a class with a ``transcribe`` method and name it in the setting
``SPEECH_RECOGNIZER`` (environment ``FANGZHI_SPEECH_RECOGNIZER``) as ``module:attribute``::

    # mypackage/whisper.py
    from faster_whisper import WhisperModel
    from oral_history.model import Cue, Transcript

    class Recognizer:
        def __init__(self):
            self.model = WhisperModel("large-v3", device="cpu")

        def transcribe(self, audio_path, *, language):
            parts, _ = self.model.transcribe(str(audio_path), language=language)
            return Transcript(language, [Cue(round(p.start, 3), round(p.end, 3), p.text.strip())
                                         for p in parts])

    FANGZHI_SPEECH_RECOGNIZER=mypackage.whisper:Recognizer

The attribute may be a class (made with no arguments) or a ready object.
"""
from __future__ import annotations

import dataclasses
import functools
import importlib
from pathlib import Path
from typing import Protocol, runtime_checkable

from repository.notices import Notice

from .model import Transcript, transcript_problems
from .timecodes import DURATION_SLACK, OralHistoryError, clock

SETTING = "SPEECH_RECOGNIZER"


@runtime_checkable
class SpeechRecognizer(Protocol):
    def transcribe(self, audio_path: Path, *, language: str) -> Transcript:
        """A transcript of the recording at ``audio_path`` spoken in ``language`` (a tag)."""
        ...


class RecognizerError(OralHistoryError):
    """The configured recogniser cannot be loaded, or returned something unusable."""


def load_recognizer(spec: str | None, *, setting: str = SETTING) -> SpeechRecognizer | None:
    """The recogniser named by ``spec`` ("module:attribute"), or None when ``spec`` is empty.
    Errors name the setting and what went wrong."""
    if not spec or not spec.strip():
        return None
    module_name, sep, attribute = spec.strip().partition(":")
    if not sep or not module_name or not attribute:
        raise RecognizerError(f"{setting}={spec!r} must name module:attribute, e.g. mypackage.whisper:Recognizer")
    try:
        module = importlib.import_module(module_name)
    except Exception as exc:  # ImportError, or whatever the module raises while importing
        raise RecognizerError(f"{setting}={spec!r}: cannot import {module_name} ({type(exc).__name__}: {exc})") from exc
    try:
        target = functools.reduce(getattr, attribute.split("."), module)
    except AttributeError as exc:
        raise RecognizerError(f"{setting}={spec!r}: {module_name} has no {attribute}") from exc
    try:
        recognizer = target() if isinstance(target, type) else target
    except Exception as exc:
        raise RecognizerError(f"{setting}={spec!r}: {attribute}() failed ({type(exc).__name__}: {exc})") from exc
    if not callable(getattr(recognizer, "transcribe", None)):
        raise RecognizerError(f"{setting}={spec!r}: {attribute} has no transcribe(audio_path, *, language) method")
    return recognizer


def draft_transcript(recognizer: SpeechRecognizer, audio_path: Path | str, *, language: str,
                     duration: float | None = None, warnings: list[Notice] | None = None) -> Transcript:
    """Run the recogniser and return its transcript marked as a draft. Its cues are read as the
    transcript readers read a file's: one that ends before it starts or starts after the end of
    the recording (``duration``) is left out, one that runs past the end ends with it, cues out
    of order are sorted — each with a warning (a ``Notice``, the cue's number for the line)
    appended to ``warnings``; a draft with nothing left, too many cues or too long ones is refused."""
    result = recognizer.transcribe(Path(audio_path), language=language)
    if not isinstance(result, Transcript):
        raise RecognizerError(f"the speech recognizer returned {type(result).__name__}, not a Transcript")
    found = warnings if warnings is not None else []
    warn = lambda n, code, **args: found.append(Notice(None, None, code, {"n": n, **args}))  # noqa: E731
    cues = []
    for n, cue in enumerate(result.cues, 1):
        if cue.end <= cue.start:
            warn(n, "asr.end_before_start", start=clock(cue.start), end=clock(cue.end))
        elif duration is not None and cue.start >= duration:
            warn(n, "asr.after_end", start=clock(cue.start), end=clock(duration))
        else:
            if duration is not None and cue.end > duration + DURATION_SLACK:
                warn(n, "asr.clipped", end=clock(cue.end), duration=clock(duration))
                cue = dataclasses.replace(cue, end=duration)
            if cues and cue.start < cues[-1].start:
                warn(n, "asr.out_of_order", start=clock(cue.start), previous=clock(cues[-1].start))
            cues.append(cue)
    if result.cues and not cues:
        raise RecognizerError("none of the speech recognizer's cues is within the recording")
    draft = dataclasses.replace(result, cues=sorted(cues, key=lambda cue: cue.start), draft=True)
    problems = transcript_problems(draft, duration=duration)
    if problems:
        raise RecognizerError("the speech recognizer's transcript is unusable: "
                              + "; ".join(f"{field}: {problem}" for field, problem in problems[:5]))
    return draft
