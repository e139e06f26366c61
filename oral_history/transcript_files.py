"""Transcript and OHMS files added to an item's interview and stored with it (``redaction.save``:
with the redacted copies its restricted segments need): uploaded on the interview page
(``store``), or brought by an ingest job (``TranscriptStep``, the ingest after-step
"transcript", registered where the ingest context is built)."""
from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Callable

from media import MediaError
from repository.access import SYSTEM
from repository.model import Item
from repository.services import NewFile

from . import attach, redaction
from .model import Interview
from .service import media_duration, read_interview
from .timecodes import OralHistoryError


def store(archive, item: Item, interview: Interview, files: list[tuple[str, bytes]], *,
          changed: list[tuple[str, bytes]] | None = None, ohms_schema: str | None = None,
          reading: Callable[[int | None], None] = lambda n: None, warnings: list | None = None, **saving):
    """Attach ``files`` ((name, bytes) pairs) to ``interview`` one by one (``reading(n)`` is told
    which, then None; what they skipped is appended to ``warnings``), fill its empty fields from
    the item's record, and store it with ``changed``
    (default: all the files) as its sources: ``redaction.save(…, **saving)`` (user,
    expected_version, why, work, limits). Raises TranscriptError naming the file, the line and
    the problem, before anything is stored."""
    duration = media_duration(item)
    for n, (name, data) in enumerate(files):
        reading(n)
        interview = attach.attach(interview, [(name, data)], duration=duration, ohms_schema=ohms_schema,
                                  warnings=warnings)
    reading(None)
    attach.from_item(interview, item)  # what the files did not say: interviewees, date, place …
    sources = [NewFile(name, data, attach.media_type(name)) for name, data in (files if changed is None else changed)]
    return redaction.save(archive, item.id, interview, sources=sources, **saving)


class TranscriptStep:
    """The ingest after-step "transcript" (``ingest.pipeline.AfterStep``): the entry's transcript
    and OHMS files, read now that the recording's duration is known, make the item's interview,
    with redacted copies for its restricted segments; what the files' readers skipped are the
    entry's notes (``Notice``s, shown on the job page in the reader's language). The files are read from the source again,
    so a fixed file is used on a retry (and replaces the stored one); without the source, the
    stored copies are read."""
    name = "transcript"
    errors = (OralHistoryError, MediaError)  # bad files and recordings: the entry fails saying why

    def __init__(self, *, ohms_schema: str | None = None):
        self.ohms_schema = ohms_schema  # path of ohms.xsd: OHMS files are validated against it (setting OHMS_SCHEMA)

    def __call__(self, ctx, entry, stage: dict, *, why: str) -> None:
        paths = [p for p, extra in zip(entry.files, entry.file_fields) if extra.get("transcript")]
        if not paths:
            return
        stage["step"] = self.name
        record = ctx.archive.get_item(entry.item_id, user=SYSTEM)
        item = record.value
        stored = {f.path.rsplit("/", 1)[-1]: f for f in item.files if f.purpose == "transcript-source"}
        files = []
        for path in paths:
            name = Path(path).name
            stage["file"] = path
            data = Path(path).read_bytes() if os.path.exists(path) else ctx.archive.file_reader(item.id)(stored[name])
            files.append((name, data))
        changed = [(name, data) for name, data in files
                   if name not in stored or stored[name].sha256 != hashlib.sha256(data).hexdigest()]
        if not changed and read_interview(ctx.archive, item) is not None:
            return  # stored by an earlier run that stopped before the job was told
        # the first language's transcript is the verbatim one
        store(ctx.archive, item, Interview(languages=list(item.language)), files, changed=changed,
              ohms_schema=self.ohms_schema, reading=lambda n: stage.update(file=None if n is None else paths[n]),
              warnings=stage["notes"],  # skipped cues: the entry is done, its notes list them
              user=ctx.user, expected_version=record.version, why=why, work=ctx.work / item.id, limits=ctx.limits)
