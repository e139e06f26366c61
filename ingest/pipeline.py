"""The ingest pipeline: check → store the originals (a version of their own) → the media steps →
commit every derivative in one more version → the after-steps features register (``Context.
after_steps``: oral history's transcript step). Each entry of a job goes through it on its own, so
the cost of ingesting an item never depends on the size of the archive.

Nothing is lost on failure: originals are stored and checksummed before any processing; a step
that fails leaves the item with its originals (and records step, file and reason); a retry or a
resume picks up where the entry stopped, because every stage checks what is already done.
"""
from __future__ import annotations

import functools
import hashlib
import mimetypes
import os
import shutil
from contextlib import ExitStack
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Callable, Protocol

from oral_history import attach, formats
from repository import premis
from repository.access import SYSTEM, User
from repository.errors import RepositoryError, ValidationError
from repository.notices import Notice
from repository.services import Archive, NewFile, item_object, new_item_id
from storage.base import StorageError

from . import pronom
from .errors import IngestError
from .jobs import Entry, JobStore
from .safety import Limits, UploadRefused, inspect_upload
from .sources.common import unique_names
from .steps import Derivative, StepError, StepResult

TEXT_KINDS = ("manuscript", "book")  # image pages of these kinds are OCR'd


@dataclass
class Context:
    archive: Archive
    jobs: JobStore
    work: Path  # scratch space for step outputs, inside the data folder
    user: User = SYSTEM
    limits: Limits = field(default_factory=Limits)
    after_steps: tuple[AfterStep, ...] = ()  # run in this order once an entry's derivatives are stored


class AfterStep(Protocol):
    """What a feature does with an entry once its item's originals and derivatives are stored
    (oral history's "transcript" step: the interview, from the entry's transcript files). It
    sets ``stage["step"]``/``stage["file"]`` to what it works on, is idempotent (a retry or a
    resume runs it again) and raises one of its ``errors`` for bad input: the entry fails with
    that message, at that step and file."""
    name: str  # its part of the version's message ("ingest <job> #<n>: <name>")
    errors: tuple[type[Exception], ...]

    def __call__(self, ctx: Context, entry: Entry, stage: dict, *, why: str) -> None: ...


def steps_for(media_type: str, limits: Limits = Limits()) -> list[tuple[str, Callable[..., StepResult]]]:
    """The named media steps for an original of this type (imported lazily: heavy libraries)."""
    if media_type.startswith("image/"):
        from .steps import image

        return [("image", functools.partial(image.photo, max_pixels=limits.max_pixels))]
    if media_type == "application/pdf":
        from .steps import pdf

        return [("pdf", functools.partial(pdf.pdf, limits=limits))]
    if media_type == "application/epub+zip":
        from .steps import epub

        return [("epub", functools.partial(epub.epub, limits=limits))]
    if media_type in ("video/webm", "video/x-matroska"):  # also the containers of audio-only recordings
        from .steps import av

        return [("av", functools.partial(av.audio_or_video, limits=limits))]
    if media_type.startswith("audio/"):
        from .steps import av

        return [("audio", functools.partial(av.audio, limits=limits))]
    if media_type.startswith("video/"):
        from .steps import av

        return [("video", functools.partial(av.video, limits=limits))]
    from .steps import text

    return [("text", text.text)] if text.has_text(media_type) else []  # any other file: kept as it is


def expected_purposes(kind: str, media_type: str) -> set[str]:
    """Derivatives every original of this kind and type must have (for `derivatives check`)."""
    if media_type.startswith("image/"):
        return {"pyramid", "thumbnail"} | ({"ocr", "text"} if kind in TEXT_KINDS else set())
    from .steps import text

    return {"application/pdf": {"pyramid", "text"}, "application/epub+zip": {"text"}}.get(
        media_type, {"access", "waveform"} if media_type.startswith("audio/")
        else {"access"} if media_type.startswith("video/")  # (audio-only WebM has no poster)
        else {"text"} if text.has_text(media_type) else set())


def plan_job(ctx: Context, source: str, planned, *, options: dict | None = None) -> str:
    """Record a job for planned items (ingest.sources.common.PlannedItem); every entry gets its item id now."""
    entries = []
    for n, p in enumerate(planned, 1):
        item_id = p.metadata.get("id") or new_item_id()
        pad = len(p.files)
        ids, extras = list(p.file_ids) + [None] * pad, list(p.file_fields or []) + [{}] * pad
        fields = [{"id": ids[i], **(extras[i] or {})} for i in range(len(p.files))]
        metadata = {k: v for k, v in p.metadata.items() if k not in ("id", "withdrawn")}
        metadata.setdefault("visibility", "staff")  # new material waits for an archivist to publish it
        transcripts = list(p.transcripts)  # stored as supplements, read after the media steps
        entry = Entry("", n, p.label, item_id, [str(f) for f in [*p.files, *transcripts]],
                      fields + [{"transcript": True}] * len(transcripts), metadata)
        if p.problems:
            entry.state, entry.step, entry.reason = "failed", "plan", "; ".join(p.problems)
        entries.append(entry)
    return ctx.jobs.create(source, entries, user=ctx.user.name, options=options)


def process(ctx: Context, job_id: str, n: int, copies: dict[str, str] | None = None) -> str:
    """Take one entry as far as it goes; return its new state. Never raises for bad input.
    ``copies``: {the planner's path: a copy to read instead} (a worker on another machine,
    ingest/staging.py); what the job records names the planner's paths."""
    entry = ctx.jobs.entry(job_id, n)
    if entry.state in ("done", "duplicate") or entry.step == "plan":  # a plan problem needs a new plan
        return entry.state
    ctx = as_planner(ctx, job_id)
    stage = {"step": "check", "file": None, "notes": []}
    copies = copies or {}
    entry = replace(entry, files=[copies.get(f, f) for f in entry.files])

    def planners(text: str | None) -> str | None:
        for path, copy in copies.items():
            text = text and text.replace(copy, path)
        return text
    try:
        resumed = ctx.archive.objects.exists(item_object(entry.item_id))
        if not resumed:
            found = store_originals(ctx, entry, stage)
            if found:
                return already_stored(ctx, entry, {**stage, "file": planners(stage["file"])}, found)
        make_derivatives(ctx, entry.item_id, stage, why=f"ingest {job_id} #{n}")
        for after in ctx.after_steps:
            after(ctx, entry, stage, why=f"ingest {job_id} #{n}: {after.name}")
        if resumed:  # an earlier run may have died between a commit and the catalog and index updates
            ctx.archive.refresh(entry.item_id)
    except (IngestError, RepositoryError, StorageError, OSError,
            *(error for after in ctx.after_steps for error in after.errors)) as exc:
        ctx.jobs.mark(job_id, n, "failed", step=stage["step"], file=planners(stage["file"]), reason=planners(str(exc)),
                      notes=stage["notes"], kind=failure_kind(exc, ctx))
        return "failed"
    notes = stage["notes"]  # Notices: e.g. an extension that lies about the content, skipped cues
    ctx.jobs.mark(job_id, n, "done", step="check" if notes else None, notes=notes)
    ctx.jobs.completed(entry.item_id, job_id, n)  # an earlier failed entry of this item is done now
    shutil.rmtree(ctx.work / entry.item_id, ignore_errors=True)
    return "done"


def failure_kind(exc: Exception, ctx: Context) -> str:
    """"input" when the file or its metadata is wrong (the same input fails again: an unsafe or
    unsupported file, a bad date, a transcript that cannot be read), else "transient" (storage, the
    system, a concurrent edit, a derivative tool short of memory or time once the originals passed
    the safety checks: a retry can help)."""
    if isinstance(exc, (StepError, StorageError, OSError)):
        return "transient"
    bad_input = (IngestError, ValidationError, *(e for after in ctx.after_steps for e in after.errors))
    return "input" if isinstance(exc, bad_input) else "transient"


def as_planner(ctx: Context, job_id: str) -> Context:
    """``ctx`` acting as the user who planned the job (a worker's own context is the system's):
    the versions an entry writes are recorded under that name, never an anonymous "system"."""
    job = ctx.jobs.job(job_id)
    if job is None or not job.user or job.user == ctx.user.name:
        return ctx
    return replace(ctx, user=User(job.user, SYSTEM.roles))  # the plan was allowed; the work is the pipeline's


def already_stored(ctx: Context, entry: Entry, stage: dict, found: tuple[str, str]) -> str:
    """A file of the entry is already in item ``found[0]``. If that item's ingest failed and the
    entry brings only files it holds (the same bytes again), the failed entry is retried: the
    item is completed, not reported as a duplicate (issue 11 #2). Otherwise a duplicate, whose
    reason says how to complete an unfinished item."""
    item_id, file_id = found
    reason = f"the same file is already in the archive: item {item_id}, file {file_id}"
    earlier = ctx.jobs.unfinished([item_id]).get(item_id)
    if earlier is None:
        ctx.jobs.mark(entry.job_id, entry.n, "duplicate", step="check", file=stage["file"], reason=reason)
        return "duplicate"
    where = f"job {earlier.job_id} #{earlier.n}"
    if earlier.state == "failed" and _holds_all(ctx, item_id, entry) and ctx.jobs.claim(earlier.job_id, earlier.n):
        state = process(ctx, earlier.job_id, earlier.n)
        after = ctx.jobs.entry(earlier.job_id, earlier.n)
        if state == "done":
            ctx.jobs.mark(entry.job_id, entry.n, "done", reason=f"completed the unfinished item {item_id} ({where}): "
                                                                 "its files were already stored", item_id=item_id)
        else:
            ctx.jobs.mark(entry.job_id, entry.n, "failed", step=after.step, file=after.file, item_id=item_id,
                          reason=f"completing the unfinished item {item_id} ({where}) failed again: {after.reason}")
        return "done" if state == "done" else "failed"
    how = (f"retry that entry on the job's page or with fangzhi ingest --resume {earlier.job_id} --retry"
           if earlier.state == "failed" else f"its job is still running or was interrupted: "
                                             f"fangzhi ingest --resume {earlier.job_id}")
    ctx.jobs.mark(entry.job_id, entry.n, "duplicate", step="check", file=stage["file"],
                  reason=f"{reason}, whose ingest did not finish ({where}, step {earlier.step or '-'}): {how}")
    return "duplicate"


def _holds_all(ctx: Context, item_id: str, entry: Entry) -> bool:
    """Whether every original of ``entry`` is, byte for byte, an original of the item."""
    have = {f.sha256 for f in ctx.archive.load_item(item_id).originals}
    for path, extra in zip(entry.files, entry.file_fields, strict=True):
        if not extra.get("transcript"):
            with open(path, "rb") as f:
                if hashlib.file_digest(f, "sha256").hexdigest() not in have:
                    return False
    return True


def store_originals(ctx: Context, entry: Entry, stage: dict) -> tuple[str, str] | None:
    """Check and identify every file and store all originals as the item's first version. Returns
    (item id, file id) of a file already in the archive when every original is (nothing is stored
    then); an item of which only some files are already kept is stored whole, with a note."""
    checked, events, tech, already = [], [], {}, []
    for path, extra in zip(entry.files, entry.file_fields, strict=True):
        stage["file"] = path
        if extra.get("transcript"):  # a transcript or OHMS file: read (and checked) by the transcript step
            if os.path.getsize(path) == 0:
                raise UploadRefused(Path(path).name, "the file is empty (0 bytes)")
            if os.path.getsize(path) > formats.MAX_BYTES:
                raise UploadRefused(Path(path).name, f"a transcript of more than {formats.MAX_BYTES >> 20} MiB")
            checked.append(attach.media_type(path))
            continue
        with open(path, "rb") as f:
            if os.fstat(f.fileno()).st_size == 0:
                raise UploadRefused(Path(path).name, "the file is empty (0 bytes)")
            media_type = inspect_upload(Path(path).name, f, limits=ctx.limits)
            sha256 = hashlib.file_digest(f, "sha256").hexdigest()
        named = mimetypes.guess_type(path)[0]
        if named and named != media_type:
            stage["notes"].append(Notice(Path(path).name, None, "ingest.type_differs", {"named": named,
                                                                                        "found": media_type}))
        found = ctx.archive.find_original(sha256)
        if found:
            already.append((Path(path).name, found))
        checked.append(media_type)
    originals_count = sum(not extra.get("transcript") for extra in entry.file_fields)
    unfinished = ctx.jobs.unfinished([found[0] for _, found in already]) if already else {}
    if already and (len(already) == originals_count or unfinished):  # nothing new, or an unfinished item's
        return next((found for _, found in already if found[0] in unfinished), already[0][1])  # files: see already_stored
    for name, (item_id, file_id) in already:  # some pages are already kept: the others must be kept too
        stage["notes"].append(Notice(name, None, "ingest.also_kept", {"item": item_id, "file": file_id}))
    stored = list(zip(entry.files, checked, entry.file_fields, strict=True))
    originals = [s for s in stored if not s[2].get("transcript")]
    stage["step"] = "identify"
    for path, media_type, _ in originals:
        stage["file"] = path
        tech[path], more = identification(path, media_type, ctx.user)
        events += more
    stage["step"], stage["file"] = "store", None
    names = unique_names([Path(p) for p, _, _ in originals])  # vol1/0001.tif and vol2/0001.tif may meet
    with ExitStack() as files:
        news = [NewFile(name, files.enter_context(open(path, "rb")), media_type, seq, id=extra.get("id"),
                        label=extra.get("label"), access=extra.get("access"), tech=tech[path])
                for seq, ((path, media_type, extra), name) in enumerate(zip(originals, names, strict=True), 1)]
        news += [NewFile(Path(path).name, files.enter_context(open(path, "rb")), media_type, role="supplement",
                         purpose="transcript-source", access="staff")
                 for path, media_type, extra in stored if extra.get("transcript")]
        names = {path: new.name for (path, _, _), new in zip(originals, news)}
        events = [{**{k: v for k, v in e.items() if k != "path"}, "file_name": names[e["path"]]} for e in events]
        events.append(premis.event("ingestion", f"ingest job {entry.job_id} #{entry.n}: {entry.label}",
                                   user=ctx.user.name, program="Fangzhi ingest"))
        ctx.archive.create_item({**entry.metadata, "id": entry.item_id}, news, user=ctx.user,
                                why=f"ingest: {entry.label}", events=events)
    return None


def identification(path: str, media_type: str, user: User) -> tuple[dict, list[dict]]:
    """An original's PRONOM identification (its ``tech["pronom"]``: the archive records the format
    identification event as it stores the file) and the event of the safety check it passed."""
    return {"pronom": pronom.identify(path)}, [
        premis.event("virus check", "Fangzhi safety checks: file name, size, active content (scripts, "
                     "macros), decompression and zip bombs", program="Fangzhi ingest.safety", user=user.name,
                     outcome_detail="passed") | {"path": path}]


def make_derivatives(ctx: Context, item_id: str, stage: dict, *, why: str, replace: bool = False) -> None:
    """Run the media steps on every original still without derivatives (all, with ``replace``)
    and store their outputs, with the technical metadata, in one new version."""
    record = ctx.archive.get_item(item_id, user=SYSTEM)
    item = record.value
    new_files, file_changes, suggestions, old, events = [], [], {}, [], []
    for original in item.originals:
        steps = steps_for(original.media_type, ctx.limits)
        existing = item.derivatives(original.id)
        if not steps or (existing and not replace):
            continue
        old += [f.id for f in existing if not f.tech.get("redacted")]  # redacted copies stay (same spans)
        stage["file"] = original.path
        work = ctx.work / item_id / original.id
        work.mkdir(parents=True, exist_ok=True)
        tech, made, tools = {}, len(new_files), []
        with ctx.archive.open_file(item_id, original.id, user=SYSTEM).local_path(dir=work) as source:
            for name, step in steps:
                stage["step"] = name
                result = step(source, original.media_type, work / name)
                tools += [step_tool(name)] + ([step_tool("ocr")] if any(d.needs_ocr for d in result.derivatives)
                                             or (item.kind in TEXT_KINDS and name == "image") else [])
                tech.update(result.tech)
                for key, value in result.metadata.items():
                    suggestions.setdefault(key, value)
                outputs = result.derivatives
                stage["step"] = "ocr"
                outputs += ocr_outputs(item.kind, original.media_type, outputs, work / "ocr")
                new_files += [NewFile(d.name, d.path, d.media_type, d.sequence, role="derivative",
                                      derived_from=original.id, purpose=d.role, tech=d.tech) for d in outputs]
        kept = {k: original.tech[k] for k in ("pronom",) if k in original.tech}  # not the steps' to make again
        file_changes.append({"id": original.id, "tech": {**kept, **tech}})
        purposes = sorted({f.purpose for f in new_files[made:]})
        events.append(premis.event("migration" if replace else "creation",
                                   f"derivatives made again from the original ({why})" if replace
                                   else "access derivatives made from the original",
                                   program=", ".join(dict.fromkeys(tools)), user=ctx.user.name,
                                   outcome_detail=", ".join(purposes) or "none", files=[original.id]))
    if not new_files and not old:
        return
    stage["step"], stage["file"] = "commit", None
    changes = {key: value for key, value in suggestions.items() if not getattr(item, key, None)}
    with ExitStack() as files:
        for f in new_files:
            f.stream = files.enter_context(open(f.stream, "rb"))
        ctx.archive.update_item(item_id, {**changes, "files": file_changes}, expected_version=record.version,
                                user=ctx.user, why=why, add_files=new_files, remove_files=old, events=events)


def identify_missing(ctx: Context, item_ids) -> int:
    """PRONOM identification of the originals stored before it existed (or by another path): a
    new version of each item with such originals, with its format identification events."""
    count = 0
    for item_id in item_ids:
        record = ctx.archive.get_item(item_id, user=SYSTEM)
        missing = [f for f in record.value.originals if "pronom" not in f.tech]
        if not missing:
            continue
        changes, events = [], []
        for original in missing:
            work = ctx.work / item_id / original.id
            with ctx.archive.open_file(item_id, original.id, user=SYSTEM).local_path(dir=work) as path:
                found = pronom.identify(path)
            changes.append({"id": original.id, "tech": {**original.tech, "pronom": found}})
            events.append(premis.identification(found, original.media_type, user=ctx.user.name, files=[original.id]))
        shutil.rmtree(ctx.work / item_id, ignore_errors=True)
        ctx.archive.update_item(item_id, {"files": changes}, expected_version=record.version, user=ctx.user,
                                why="PRONOM format identification", events=events)
        count += 1
    return count


@functools.lru_cache(maxsize=None)
def step_tool(name: str) -> str:
    """The program (and version) a media step runs, for preservation events."""
    from importlib.metadata import version

    if name in ("image", "pdf"):
        import pyvips

        return f"libvips {pyvips.version(0)}.{pyvips.version(1)}.{pyvips.version(2)}" + \
            (f", pypdf {version('pypdf')}" if name == "pdf" else "")
    if name in ("av", "audio", "video"):
        import subprocess

        try:  # "ffmpeg version 7.1.1-1 Copyright …"
            return " ".join(subprocess.run(["ffmpeg", "-version"], capture_output=True, text=True,
                                           timeout=30).stdout.split()[:3]).replace(" version", "")
        except (OSError, subprocess.SubprocessError):
            return "ffmpeg"
    packages = {"epub": "EbookLib", "ocr": "rapidocr-onnxruntime", "text": "lxml"}
    return f"{packages[name]} {version(packages[name])}" if name in packages else name


def ocr_outputs(kind: str, media_type: str, outputs: list[Derivative], work: Path) -> list[Derivative]:
    """OCR of page images: scanned PDF pages, and the pages of manuscripts and books."""
    pages = [d for d in outputs if d.needs_ocr or (kind in TEXT_KINDS and media_type.startswith("image/")
                                                   and d.role == "pyramid")]
    if not pages:
        return []
    import json

    from .steps import ocr

    work.mkdir(parents=True, exist_ok=True)
    made = []
    for page in pages:
        stem = Path(page.name).stem
        target, text = work / f"{stem}.ocr.json", work / f"{stem}.txt"
        if not (target.exists() and text.exists()):
            result = ocr.recognize(page.path)
            _write_atomic(target, json.dumps(result, ensure_ascii=False).encode())
            _write_atomic(text, result["text"].encode())
        else:
            result = json.loads(target.read_text(encoding="utf-8"))
        counts = ocr.summary(result)
        made += [Derivative(target.name, target, "application/json", "ocr", page.sequence, tech=counts),
                 Derivative(text.name, text, "text/plain", "text", page.sequence, tech=counts)]
    return made


def _write_atomic(path: Path, data: bytes) -> None:
    tmp = path.with_name(path.name + ".part")
    tmp.write_bytes(data)
    tmp.replace(path)


def missing_derivatives(archive: Archive) -> list[tuple[str, str, set[str]]]:
    """(item id, original path, missing purposes) for every original lacking a derivative."""
    out = []
    offset = 0
    while True:
        items, total = archive.list_items(user=SYSTEM, limit=200, offset=offset)
        for item in items:
            for original in item.originals:
                have = {f.purpose for f in item.derivatives(original.id)}
                missing = expected_purposes(item.kind, original.media_type) - have
                if missing:
                    out.append((item.id, original.path, missing))
        offset += len(items)
        if not items or offset >= total:
            return out
