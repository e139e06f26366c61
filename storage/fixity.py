"""Fixity audit: re-hash every stored content file and compare with its OCFL inventory.

By default the SHA-256 values of the inventory's ``fixity`` block are checked (fast on CPUs with
SHA extensions); ``digest="sha512"`` checks the manifest's content digests instead. Either way
every file of every version is read in full.

``check`` audits whole objects and tells the truth in one ``Report``: its counts are computed
from its list of problems, so a report can never say "0 failed" while listing a failure (DSpace's
checksum checker once reported every file as passing). ``scheduled`` checks a rolling share:
every object not checked for ``cycle_days`` days, and at least 1/``cycle_days`` of the archive,
least recently checked first, so a nightly run verifies every file within the cycle and catches
up after missed nights.

What is kept, in storage outside the OCFL root (a nightly check must not make an OCFL version of
every object; OCFL 1.1 §3.1 forbids changing a version once written):
``audit/fixity/state.json`` (when each object was last checked), ``audit/fixity/runs/<time>.json``
(each run's report) and ``audit/fixity/objects/<kind>/<id>.json`` (each object's fixity-check
events, ``repository.premis``, which ``Archive.preservation_events`` reads back).
"""
from __future__ import annotations

import hashlib
import json
import math
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Callable, Iterable, Iterator

from repository import premis

from .base import StorageError, StorageNotFound
from .ocfl import OcflRoot, object_path

STATE = "audit/fixity/state.json"
RUNS = "audit/fixity/runs/"
SAVE_EVERY = 200  # objects between saves of the state (an interrupted run keeps its progress)


@dataclass(frozen=True)
class Problem:
    object_id: str
    path: str
    problem: str
    kind: str = "failed"  # failed (the bytes differ: bit rot, truncation) | missing (no such file)

    def __str__(self) -> str:
        return f"{self.object_id}: {self.path}: {self.problem}"


@dataclass
class Report:
    """One fixity run. ``checked``, ``failed`` and ``missing`` count ``problems``; nothing else."""
    started: str
    finished: str = ""
    digest: str = "sha256"
    cycle_days: int | None = None  # a scheduled run's cycle
    objects: int = 0  # objects checked
    total_objects: int = 0  # objects in the archive
    checked: int = 0  # files checked
    problems: list[Problem] = field(default_factory=list)

    @property
    def failed(self) -> int:
        return sum(p.kind == "failed" for p in self.problems)

    @property
    def missing(self) -> int:
        return sum(p.kind == "missing" for p in self.problems)

    @property
    def passed(self) -> int:
        return self.checked - len(self.problems)

    def summary(self) -> str:
        return (f"{self.checked} files checked in {self.objects} of {self.total_objects} objects: {self.passed} passed, "
                f"{self.failed} failed, {self.missing} missing ({len(self.problems)} problems)")

    def to_dict(self) -> dict:
        return {**asdict(self), "passed": self.passed, "failed": self.failed, "missing": self.missing}


def files_to_check(root: OcflRoot, digest: str = "sha256") -> Iterator[tuple[str, str, str]]:
    """(object id, content path, expected digest) for every content file in the root."""
    for object_id in root.list_objects():
        yield from _object_files(root, object_id, digest)


def audit(root: OcflRoot, checks=None, *, digest: str = "sha256",
          progress: Callable[[int], None] = lambda size: None) -> list[Problem]:
    """Every mismatch or unreadable file among ``checks`` (default: all files of the root).
    ``progress`` is called after each file with its size."""
    problems: list[Problem] = []
    for object_id, path, expected in checks if checks is not None else files_to_check(root, digest):
        key = root._key(object_path(object_id), path)
        try:
            with root.storage.open(key) as f:
                actual, size = _hash(f, digest)
            progress(size)
        except StorageNotFound:
            problems.append(Problem(object_id, path, "missing: the file is not in storage", "missing"))
            continue
        except StorageError as exc:
            problems.append(Problem(object_id, path, f"cannot be read: {exc}"))
            continue
        if actual != expected:
            problems.append(Problem(object_id, path, f"{digest} is {actual}, the inventory says {expected}"))
    return problems


def check(root: OcflRoot, object_ids: Iterable[str], *, digest: str = "sha256", cycle_days: int | None = None,
          progress: Callable[[int], None] = lambda size: None, now: Callable[[], datetime] = lambda: _utcnow()) -> Report:
    """Check every file of ``object_ids``; record each object's check (its fixity log and the
    state) and the run's report. ``progress`` is called after each file with its size."""
    storage = root.storage
    state = _state(storage)
    report = Report(_iso(now()), digest=digest, cycle_days=cycle_days, total_objects=len(list(root.list_objects())))
    for n, object_id in enumerate(object_ids, 1):
        try:
            files = list(_object_files(root, object_id, digest))
            found = audit(root, files, digest=digest, progress=progress)
        except StorageError as exc:  # the inventory itself is lost or unreadable
            files, found = [None], [Problem(object_id, "inventory.json", f"cannot be read: {exc}",
                                            "missing" if isinstance(exc, StorageNotFound) else "failed")]
        report.objects += 1
        report.checked += len(files)
        report.problems += found
        at = _iso(now())
        state[object_id] = at
        _log(storage, object_id, premis.event(
            "fixity check", f"{'scheduled ' if cycle_days else ''}fixity check: {digest} of {len(files)} stored files "
            "against the OCFL inventory", outcome="failure" if found else "success",
            outcome_detail="; ".join(f"{p.path}: {p.problem}" for p in found) or f"{len(files)} files passed",
            program="Fangzhi storage.fixity", at=at))
        if n % SAVE_EVERY == 0:
            _save(storage, STATE, state)
    report.finished = _iso(now())
    _save(storage, STATE, state)
    _save(storage, f"{RUNS}{report.started.replace(':', '')}.json", report.to_dict())
    return report


def due(root: OcflRoot, *, cycle_days: int, now: datetime | None = None) -> list[str]:
    """The objects a scheduled run checks, least recently checked first (never-checked ones before
    all): at least a 1/``cycle_days`` share, and every one last checked ``cycle_days`` days ago or more."""
    now = now or _utcnow()
    last = _state(root.storage)
    objects = sorted(root.list_objects(), key=lambda o: (last.get(o, ""), o))
    share = math.ceil(len(objects) / max(cycle_days, 1))
    limit = _iso(now - timedelta(days=cycle_days))
    overdue = [o for o in objects if o in last and last[o] <= limit]  # never-checked ones come first anyway
    return objects[:max(share, len(overdue))]


def scheduled(root: OcflRoot, *, cycle_days: int, digest: str = "sha256",
              progress: Callable[[int], None] = lambda size: None, now: Callable[[], datetime] = lambda: _utcnow()) -> Report:
    """Check the objects ``due`` today; see ``check``."""
    return check(root, due(root, cycle_days=cycle_days, now=now()), digest=digest, cycle_days=cycle_days,
                 progress=progress, now=now)


def runs(storage, limit: int = 10) -> list[dict]:
    """The latest fixity runs' reports, newest first."""
    keys = sorted(storage.list(RUNS), reverse=True)[:limit]
    return [_load(storage, key, {}) for key in keys]


def coverage(storage, object_ids: Iterable[str], *, cycle_days: int, now: datetime | None = None) -> dict:
    """How much of the archive (``object_ids``: e.g. the catalog's, which is cheaper than listing
    the storage root) the fixity cycle has covered: objects, those checked within the last
    ``cycle_days`` days, those never checked, and the oldest last check."""
    last = _state(storage)
    objects = list(object_ids)
    limit = _iso((now or _utcnow()) - timedelta(days=cycle_days))
    checked = [last[o] for o in objects if o in last]
    return {"objects": len(objects), "in_cycle": sum(at > limit for at in checked),
            "never": len(objects) - len(checked), "oldest": min(checked, default=None), "cycle_days": cycle_days}


def _object_files(root: OcflRoot, object_id: str, digest: str) -> Iterator[tuple[str, str, str]]:
    inv = root.inventory(object_id)
    table = inv["manifest"] if digest == "sha512" else inv.get("fixity", {}).get(digest, {})
    for value, paths in table.items():
        for path in paths:
            yield object_id, path, value


def _log(storage, object_id: str, event: dict) -> None:
    key = premis.fixity_log_key(object_id)
    _save(storage, key, [*_load(storage, key, []), event])


def _state(storage) -> dict:
    return _load(storage, STATE, {})


def _load(storage, key: str, default):
    try:
        with storage.open(key) as f:
            return json.loads(f.read())
    except StorageNotFound:
        return default


def _save(storage, key: str, value) -> None:
    storage.put(key, json.dumps(value, ensure_ascii=False, default=_plain).encode())


def _plain(value):
    return asdict(value) if isinstance(value, Problem) else str(value)


def _utcnow() -> datetime:
    return datetime.now(timezone.utc)


def _iso(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")


def _hash(stream, digest: str) -> tuple[str, int]:
    h, size = hashlib.new(digest), 0
    while chunk := stream.read(1 << 20):
        h.update(chunk)
        size += len(chunk)
    return h.hexdigest(), size
