"""Bulk work on many items: operations, a preview of each item's before/after, a job that writes
one new version per item (resumable), and its undo.

An operation changes a few top-level fields of an item (``FIELDS``). ``Bulk.plan`` works out, for
each selected item the user may see, the fields' values before and after, writing nothing (the
preview). ``Bulk.start`` records the plan as a job, one entry per changed item with the version it
was planned from; ``Bulk.run`` applies the pending entries through ``Archive.update_item`` (a stale
item is a conflict, the others go on), and after a crash or SIGKILL runs again from where it
stopped: an entry whose version was committed but not yet marked is recognised by the job's tag in
the version message. ``Bulk.undo`` is a new job putting each changed item back to its before values
for the fields it changed; an item changed by someone else since is reported, never overwritten.
Access: items are selected as the user (search as that user, ids through ``get_item``), so a writer
or an archivist never changes what it cannot see. This module imports no backend or web code: the
job store and the search are given to it (``fangzhi.bootstrap``).
"""
from __future__ import annotations

import copy
import time
from dataclasses import dataclass, field
from typing import Callable, Iterable, Protocol

import regex

from . import access
from .access import User
from .errors import Conflict, Gone, NotFound, PermissionDenied, RepositoryError, ValidationError
from .model import Item

# field path → (top-level field, how it is changed): text (one string), lang (one language of a
# LangMap), list (a list of strings), places (list of Place, by name), date (one part of the date)
FIELDS = {
    "title.zh": ("title", "lang"), "title.en": ("title", "lang"),
    "description.zh": ("description", "lang"), "description.en": ("description", "lang"),
    "date.edtf": ("date", "date"), "date.display": ("date", "date"),
    "kind": ("kind", "text"), "extent": ("extent", "text"), "rights": ("rights", "text"),
    "holding_library": ("holding_library", "text"),
    "subjects": ("subjects", "list"), "collections": ("collections", "list"), "language": ("language", "list"),
    "identifiers": ("identifiers", "list"), "places": ("places", "places"),
}
OPS = ("set", "add", "remove", "replace", "visibility", "publish", "unpublish")
MAX_PATTERN = 200  # characters of a find/replace pattern
REGEX_SECONDS = 0.25  # the longest one regular-expression replacement may run
PLAN_SECONDS = 30  # the longest a preview with regular expressions may take over all items
# A quantified group that itself contains a quantifier, e.g. (a+)+, (a|a*)*: catastrophic backtracking
NESTED = regex.compile(r"\((?:[^()\\]|\\.)*[*+}](?:[^()\\]|\\.)*\)\s*[*+{]")
STATES = ("pending", "done", "conflict", "failed")


class BulkError(RepositoryError):
    """A bulk operation that cannot be done: ``code`` and ``values`` name it for the interface
    (web.bulk_views.MESSAGES), ``str()`` in English for the command line."""

    def __init__(self, code: str, message: str, **values):
        super().__init__(message)
        self.code, self.values = code, values


@dataclass(frozen=True)
class Operation:
    op: str  # one of OPS
    field: str = ""  # a key of FIELDS (set, add, remove, replace)
    value: str = ""  # set/add/remove; visibility: the visibility
    find: str = ""  # replace
    replace: str = ""
    regex: bool = False
    embargo_until: str = ""  # visibility embargoed

    def check(self) -> "Operation":
        if self.op not in OPS:
            raise BulkError("op", f"unknown operation {self.op!r}", op=self.op)
        if self.op in ("set", "add", "remove", "replace"):
            if self.field not in FIELDS:
                raise BulkError("field", f"{self.field!r} cannot be changed in bulk; fields: {', '.join(FIELDS)}",
                                field=self.field)
            kind = FIELDS[self.field][1]
            if self.op in ("add", "remove") and kind not in ("list", "places"):
                raise BulkError("not_list", f"{self.field}: values are added to or removed from lists only "
                                "(subjects, collections, places, language, identifiers)", field=self.field)
            if self.op in ("add", "remove") and not self.value.strip():
                raise BulkError("no_value", f"{self.field}: say which value to {self.op}", field=self.field)
        if self.op == "replace":
            if not self.find:
                raise BulkError("no_find", f"{self.field}: say what to find", field=self.field)
            if self.regex:
                compiled(self.find)
        if self.op == "visibility" and self.value not in ("public", "alliance", "staff", "embargoed", "private"):
            raise BulkError("visibility", f"{self.value!r} is not a visibility", value=self.value)
        return self


def compiled(pattern: str):
    """A find pattern as a regular expression, refused when it is long, invalid or nests
    quantifiers (the catastrophic backtracking of ReDoS); it runs with ``REGEX_SECONDS`` at most."""
    if len(pattern) > MAX_PATTERN:
        raise BulkError("pattern_long", f"the pattern is longer than {MAX_PATTERN} characters", limit=MAX_PATTERN)
    if NESTED.search(pattern):
        raise BulkError("pattern_nested", "the pattern repeats a group that repeats itself (like (a+)+): "
                        "it could run for ever; write it without the nested repetition")
    try:
        return regex.compile(pattern, regex.V0)
    except regex.error as exc:
        raise BulkError("pattern", f"the pattern is not a valid regular expression ({exc})", reason=str(exc)) from None


def _replace_text(text: str, op: Operation) -> str:
    if not op.regex:
        return text.replace(op.find, op.replace)
    try:
        return compiled(op.find).sub(op.replace, text, timeout=REGEX_SECONDS)
    except TimeoutError:
        raise BulkError("pattern_slow", f"the pattern took longer than {REGEX_SECONDS} s on one text: "
                        "simplify it", seconds=REGEX_SECONDS) from None
    except (regex.error, IndexError) as exc:  # a bad group reference in the replacement
        raise BulkError("pattern", f"the replacement is not valid ({exc})", reason=str(exc)) from None


def _place_names(place: dict) -> set[str]:
    return {*place.get("name", {}).values(), *place.get("aliases", [])}


def apply_operations(data: dict, ops: Iterable[Operation]) -> dict:
    """The item's fields (``Item.to_dict()``) after ``ops``; the original dict is left as it was."""
    data = copy.deepcopy(data)
    for op in ops:
        if op.op in ("visibility", "publish", "unpublish"):
            data["visibility"] = {"publish": "public", "unpublish": "staff"}.get(op.op, op.value)
            data["embargo_until"] = (op.embargo_until or None) if data["visibility"] == "embargoed" else None
            continue
        top, kind = FIELDS[op.field]
        part = op.field.partition(".")[2]
        if kind in ("lang", "date"):
            holder = data.setdefault(top, {}) or {}
            data[top] = holder
            old = holder.get(part) or ""
            new = op.value if op.op == "set" else _replace_text(old, op) if op.op == "replace" else old
            if new:
                holder[part] = new
            else:
                holder.pop(part, None)
        elif kind == "text":
            old = data.get(top) or ""
            new = op.value if op.op == "set" else _replace_text(old, op) if op.op == "replace" else old
            data[top] = new or None
        elif kind == "list":
            values = list(data.get(top) or [])
            wanted = [v.strip() for v in regex.split(r"[;；\n]+", op.value) if v.strip()]
            if op.op == "set":
                values = wanted
            elif op.op == "add":
                values += [v for v in wanted if v not in values]
            elif op.op == "remove":
                values = [v for v in values if v not in wanted]
            else:
                values = [r for r in (_replace_text(v, op) for v in values) if r]
            data[top] = list(dict.fromkeys(values))
        else:  # places, by name
            places = list(data.get(top) or [])
            wanted = [v.strip() for v in regex.split(r"[;；\n]+", op.value) if v.strip()]
            if op.op == "set":
                places = [{"name": {"zh": w}} for w in wanted]
            elif op.op == "add":
                places += [{"name": {"zh": w}} for w in wanted if not any(w in _place_names(p) for p in places)]
            elif op.op == "remove":
                places = [p for p in places if not _place_names(p) & set(wanted)]
            else:
                for p in places:
                    p["name"] = {k: _replace_text(v, op) for k, v in p.get("name", {}).items()}
            data[top] = places
    return data


def changed_fields(before: dict, after: dict) -> tuple[dict, dict]:
    """The top-level fields that differ: (their values before, their values after)."""
    keys = [k for k in after if k != "files" and after.get(k) != before.get(k)]
    return {k: before.get(k) for k in keys}, {k: after.get(k) for k in keys}


@dataclass
class Change:
    """One item of a plan or a job: its fields before and after, from version ``version``."""
    item_id: str
    version: int
    label: str
    before: dict
    after: dict
    n: int = 0
    state: str = "pending"  # pending, done, conflict (changed by someone else), failed
    reason: str = ""
    new_version: int | None = None
    row: int | None = None  # the spreadsheet row it came from (an update import)


@dataclass(frozen=True)
class Problem:
    """Why an item of a selection is not changed: ``code`` (missing, withdrawn, stale, invalid),
    the item, the sheet's row, and for the interface the facts; ``str()`` in English."""
    code: str
    item_id: str
    row: int | None = None
    detail: str = ""  # invalid: the model's problems
    version: int | None = None  # stale: the row's version and the item's
    current: int | None = None

    def __str__(self) -> str:
        where = f"row {self.row}, {self.item_id}" if self.row else self.item_id
        return (where + ": " if where else "") + {
            "missing": "no such item", "withdrawn": "the item is withdrawn",
            "stale": f"made from version {self.version}, the item is at version {self.current} (stale: export it again)",
        }.get(self.code, self.detail)


@dataclass
class Plan:
    """What a bulk operation would do: the items it changes (``changes``), how many were selected,
    those left as they are, and the problems of those it cannot change (item id → reason)."""
    changes: list[Change]
    selected: int
    unchanged: int = 0
    problems: dict[str, Problem] = field(default_factory=dict)  # by item id (or "row:id")
    description: str = ""


@dataclass
class BulkJob:
    id: str
    created: str
    user: str
    kind: str  # "bulk", "undo", "update" (a spreadsheet import)
    description: str
    why: str
    undo_of: str | None
    counts: dict


class JobStore(Protocol):  # implemented by storage.bulk_jobs.BulkJobs
    def create(self, kind: str, changes: list[Change], *, user: str, description: str, why: str,
               undo_of: str | None = None) -> str: ...
    def job(self, job_id: str) -> BulkJob | None: ...
    def jobs(self, limit: int = 50) -> list[BulkJob]: ...
    def entries(self, job_id: str, states: tuple = STATES, *, limit: int | None = None, offset: int = 0) -> list[Change]: ...
    def mark(self, job_id: str, n: int, state: str, *, reason: str = "", new_version: int | None = None) -> None: ...
    def undone_by(self, job_id: str) -> str | None: ...


def tag(job_id: str) -> str:
    """What a job's versions carry in their message, to be recognised after a crash."""
    return f"[{job_id}]"


class Bulk:
    """Bulk operations on an Archive. ``find(query, filters, user)`` gives the ids of the items a
    search finds for the user (every page)."""

    def __init__(self, archive, store: JobStore, *, find: Callable[[str, dict, User], list[str]]):
        self.archive, self.store, self.find = archive, store, find

    def select(self, *, user: User, query: str = "", filters: dict | None = None,
               ids: Iterable[str] | None = None) -> list[str]:
        """The items of a list of ids, or those a search finds for ``user`` (any query and facets)."""
        if ids is not None:
            return list(dict.fromkeys(i.strip() for i in ids if i and i.strip()))
        return self.find(query, filters or {}, user)

    def plan(self, item_ids: Iterable[str], ops: Iterable[Operation], *, user: User) -> Plan:
        """Each item's before/after under ``ops``, writing nothing (the preview)."""
        _require_editor(user)
        ops = [op.check() for op in ops]
        if not ops:
            raise BulkError("no_op", "say what to change (--set, --add, --remove, --replace, --visibility …)")
        plan = Plan([], 0, description="; ".join(describe(op) for op in ops))
        deadline = time.monotonic() + PLAN_SECONDS
        for item_id in item_ids:
            if any(op.regex for op in ops) and time.monotonic() > deadline:
                raise BulkError("plan_slow", f"the pattern takes too long over these items (more than {PLAN_SECONDS} s): "
                                "simplify it or select fewer items", seconds=PLAN_SECONDS)
            plan.selected += 1
            record = self._visible(item_id, user, plan)
            if record is None:
                continue
            before = record.value.to_dict()
            after = apply_operations(before, ops)
            self._add(plan, record, before, after)
        return plan

    def plan_updates(self, rows: Iterable[tuple[int, str, int, dict]], *, user: User) -> Plan:
        """A spreadsheet's rows (row number, item id, version, fields as the row gives them) as a
        plan: only the fields that differ; a row made from an older version is refused as stale."""
        _require_editor(user)
        plan = Plan([], 0, description="update")
        for row, item_id, version, fields in rows:
            plan.selected += 1
            record = self._visible(item_id, user, plan, row=row)
            if record is None:
                continue
            if version != record.version:
                plan.problems[f"{row}:{item_id}"] = Problem("stale", item_id, row, version=version,
                                                            current=record.version)
                continue
            before = record.value.to_dict()
            after = {**copy.deepcopy(before), **fields}
            self._add(plan, record, before, after, row=row)
        return plan

    def _visible(self, item_id: str, user: User, plan: Plan, *, row: int | None = None):
        key = f"{row}:{item_id}" if row else item_id
        try:
            record = self.archive.get_item(item_id, user=user)
        except (NotFound, Gone, ValueError):  # what the user may not see is not there for them
            plan.problems[key] = Problem("missing", item_id, row)
            return None
        if record.value.withdrawn:
            plan.problems[key] = Problem("withdrawn", item_id, row)
            return None
        return record

    def _add(self, plan: Plan, record, before: dict, after: dict, *, row: int | None = None) -> None:
        old, new = changed_fields(before, after)
        if not new:
            plan.unchanged += 1
            return
        try:
            Item.from_dict(after)  # a value the model refuses is a problem of this item, not of all
        except ValidationError as exc:
            plan.problems[f"{row}:{record.value.id}" if row else record.value.id] = Problem(
                "invalid", record.value.id, row, detail="; ".join(f"{f}: {p}" for f, p in exc.problems))
            return
        title = record.value.title
        plan.changes.append(Change(record.value.id, record.version, title.get("zh") or title.get("en") or record.value.id,
                                   old, new, n=len(plan.changes) + 1, row=row))

    def start(self, plan: Plan, *, user: User, why: str = "", kind: str = "bulk") -> str:
        """Record the plan as a job (nothing written to the archive yet)."""
        _require_editor(user)
        if not plan.changes:
            raise BulkError("nothing", "the operation changes no item")
        return self.store.create(kind, plan.changes, user=user.name, description=plan.description, why=why.strip())

    def run(self, job_id: str, *, user: User, progress: Callable[[Change], None] = lambda change: None) -> BulkJob:
        """Apply the job's pending entries, one new version each; again after any interruption."""
        _require_editor(user)
        job = self._job(job_id)
        why = f"{job.why} {tag(job_id)}".strip()
        for change in self.store.entries(job_id, ("pending",)):
            state, reason, version = self._apply(job_id, change, user, why)
            self.store.mark(job_id, change.n, state, reason=reason, new_version=version)
            progress(change)
        return self._job(job_id)

    def _apply(self, job_id: str, change: Change, user: User, why: str) -> tuple[str, str, int | None]:
        try:
            if (done := self._written(job_id, change, user)) is not None:
                return "done", "", done  # committed before an interruption
            record = self.archive.update_item(change.item_id, change.after, expected_version=change.version,
                                              user=user, why=why)
            return "done", "", record.version
        except Conflict:
            if (done := self._written(job_id, change, user)) is not None:
                return "done", "", done  # another run of this job (a resume meanwhile) wrote it
            return "conflict", "changed by someone else since the preview: not overwritten", None
        except (NotFound, Gone, PermissionDenied):
            return "failed", "no such item (or no longer visible to you)", None
        except ValidationError as exc:
            return "failed", "; ".join(f"{f}: {p}" for f, p in exc.problems), None

    def _written(self, job_id: str, change: Change, user: User) -> int | None:
        """The version this job wrote of the entry's item, if it is the item's next one."""
        versions = self.archive.history(change.item_id, user=user)
        following = [v for v in versions if v.number == change.version + 1]
        return following[0].number if following and tag(job_id) in following[0].message else None

    def undo(self, job_id: str, *, user: User, why: str = "") -> str:
        """A new job putting each item the job changed back to its before values for those fields
        (from the version the job made: an item changed since is a conflict when it runs)."""
        _require_editor(user)
        job = self._job(job_id)
        if (done := self.store.undone_by(job_id)) is not None:
            raise BulkError("undone", f"job {job_id} was already undone by job {done}", job=job_id, by=done)
        changes = [Change(c.item_id, c.new_version, c.label, c.after, c.before, n=i, row=c.row)
                   for i, c in enumerate(self.store.entries(job_id, ("done",)), 1)]
        if not changes:
            raise BulkError("nothing", "the job changed no item")
        return self.store.create("undo", changes, user=user.name, description=f"undo {job_id}: {job.description}",
                                 why=why.strip() or f"undo {job_id}", undo_of=job_id)

    def _job(self, job_id: str) -> BulkJob:
        job = self.store.job(job_id)
        if job is None:
            raise NotFound(f"no bulk job {job_id}")
        return job


def describe(op: Operation) -> str:
    """An operation in a few words (the job's description, English like the version messages)."""
    if op.op in ("publish", "unpublish"):
        return op.op
    if op.op == "visibility":
        return f"visibility={op.value}" + (f" until {op.embargo_until}" if op.embargo_until else "")
    if op.op == "replace":
        return f"replace in {op.field}: {op.find!r} → {op.replace!r}" + (" (regex)" if op.regex else "")
    return f"{op.op} {op.field}={op.value!r}"


def _require_editor(user: User) -> None:
    if not access.can_edit(user):
        raise PermissionDenied("only administrators, archivists and write tokens change items in bulk")
