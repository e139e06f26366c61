"""Authorities: the authority file — create, update, get, history, merge, find, suggest, rebuild.

Each record is the OCFL object ``authority:<id>`` written through the Archive (who/when/why in
every version); the lookup table (``storage.authorities``) is derived and rebuilt from storage.
A merge keeps both ids: the merged record gets a version with ``merged_into`` (its page
redirects, items pointing at it are the survivor's), the survivor a version with its names,
identifiers and links added. Records whose external identifiers disagree are never merged.
``name_groups``/``stamp`` make it search's ``NameSource`` (search/names.py).
"""
from __future__ import annotations

from dataclasses import dataclass, replace

from repository.access import SYSTEM, User, can_edit
from repository.errors import Conflict, NotFound, PermissionDenied, ValidationError
from search import analysis
from search.names import NameGroup

from .model import KINDS, PREFIXES, Authority, kind_of

OBJECT = "authority"
MAX_MERGE_CHAIN = 50
COMPOUND_SURNAMES = ("欧阳", "司马", "诸葛", "上官", "司徒", "东方", "皇甫", "尉迟", "公孙", "慕容", "长孙",
                     "宇文", "夏侯", "轩辕", "令狐", "端木", "独孤", "南宫", "西门", "百里", "呼延", "万俟")


class MergeRefused(Conflict):
    """Two records cannot be merged (different kinds, disagreeing identifiers, already merged)."""


@dataclass
class AuthorityRecord:
    value: Authority
    version: int
    created: str
    updated: str


def object_id(rid: str) -> str:
    return f"{OBJECT}:{rid}"


def key(name: str) -> str:
    """The form names are matched in: folded (繁/简, variants, case), without spaces."""
    return "".join(analysis.fold(name).split())


class Authorities:
    def __init__(self, archive, table):
        self.archive, self.table = archive, table

    # --- writing -------------------------------------------------------------------------

    def create(self, data: dict, *, user: User, why: str = "") -> AuthorityRecord:
        """A new record; its id (``<kind>-<n>``) is given here, never one used before."""
        data = dict(data)
        kind = data.get("kind")
        if kind not in KINDS:
            raise ValidationError([("kind", f"must be one of {', '.join(KINDS)} (got {kind!r})")])
        if data.get("merged_into"):
            raise ValidationError([("merged_into", "is set only by a merge")])
        if data.get("id"):
            Authority.from_dict(data)
            if self.archive.has_document(object_id(data["id"])):  # merged ids too: an id is never reused
                raise Conflict(f"authority record {data['id']} already exists")
            return self._write(Authority.from_dict(data), user=user, action="create", why=why,
                               expected=0)
        number = self.table.next_number(kind)
        for _ in range(1000):
            data["id"] = f"{PREFIXES[kind]}-{number}"
            if not self.archive.has_document(object_id(data["id"])):
                try:
                    return self._write(Authority.from_dict(data), user=user,
                                       action="create", why=why, expected=0)
                except Conflict:  # another process took the number first
                    pass
            number += 1
        raise Conflict(f"no free {kind} id found after {data['id']}")

    def update(self, rid: str, changes: dict, *, expected_version: int, user: User, why: str = "") -> AuthorityRecord:
        current = self.get(rid)
        if current.value.merged_into:
            raise Conflict(f"authority record {rid} was merged into {current.value.merged_into}: edit that one")
        if current.version != expected_version:
            raise Conflict(f"authority record {rid} is at version {current.version}; your edit was made from "
                           f"version {expected_version}")
        for field in ("id", "kind", "merged_into"):
            if field in changes and changes[field] != current.value.to_dict().get(field):
                raise ValidationError([(field, "cannot be changed by an update")])
        record = Authority.from_dict({**current.value.to_dict(), **changes})
        return self._write(record, user=user, action="update", why=why, expected=expected_version)

    def merge(self, survivor: str, merged: str, *, user: User, why: str = "") -> AuthorityRecord:
        """Merge record ``merged`` into ``survivor`` (both ids kept): a version of each."""
        if survivor == merged:
            raise MergeRefused(f"{survivor} cannot be merged into itself")
        keep, gone = self.get(survivor), self.get(merged)
        a, b = keep.value, gone.value
        if a.kind != b.kind:
            raise MergeRefused(f"{merged} is a {b.kind} and {survivor} a {a.kind}: only records of one kind merge")
        for rec in (a, b):
            if rec.merged_into:
                raise MergeRefused(f"{rec.id} was already merged into {rec.merged_into}")
        clash = [f"{k}: {a.identifiers[k]} ≠ {b.identifiers[k]}" for k in sorted(set(a.identifiers) & set(b.identifiers))
                 if a.identifiers[k] != b.identifiers[k]]
        if clash:
            raise MergeRefused(f"{survivor} and {merged} have different identifiers ({'; '.join(clash)}): "
                               "they are not one person, so they are not merged")
        data = a.to_dict()
        own = set(a.all_names())
        data["names"] = [*data.get("names", []), *[
            n for n in [{"name": b.name, "type": "别名"}, *b.to_dict().get("names", [])] if n["name"] not in own]]
        data["names"] = list({n["name"]: n for n in reversed(data["names"])}.values())[::-1]
        data["identifiers"] = {**b.identifiers, **a.identifiers}
        data["sources"] = list(dict.fromkeys([*a.sources, *b.sources]))
        for field in ("notes", *Authority.FIELDS[a.kind]):
            if field not in data and b.to_dict().get(field) not in (None, "", [], {}):
                data[field] = b.to_dict()[field]
        for field in ("relations", "parents", "members", "occupations", "generation_names"):
            if isinstance(getattr(a, field, None), list) and field in b.to_dict() and field in a.to_dict():
                values = [*a.to_dict()[field], *[v for v in b.to_dict()[field] if v not in a.to_dict()[field]]]
                data[field] = [v for v in values if not (isinstance(v, dict) and v.get("id") in (survivor, merged))
                               and v not in (survivor, merged)]
        result = self._write(Authority.from_dict(data), user=user,
                             action="merge", why=f"{merged} merged into this record. {why}".strip(), expected=keep.version)
        self._write(replace(b, merged_into=survivor), user=user,
                    action="merge", why=f"merged into {survivor}. {why}".strip(), expected=gone.version)
        return result

    def _write(self, rec: Authority, *, user: User, action: str, why: str, expected: int) -> AuthorityRecord:
        if not can_edit(user):
            raise PermissionDenied("only archivists, administrators and write tokens may change authority records")
        stored = self.archive.put_document(object_id(rec.id), rec.to_dict(), user=user, action=action, why=why,
                                           expected=expected)
        self._put(rec, stored.version, stored.created, stored.updated)
        return AuthorityRecord(rec, stored.version, stored.created, stored.updated)

    # --- reading -------------------------------------------------------------------------

    def get(self, rid: str, *, version: int | None = None) -> AuthorityRecord:
        """A record as stored (a merged one too: see ``resolve``). Authority records are public."""
        if kind_of(rid) is None:
            raise NotFound(f"no authority record {rid}")
        try:
            stored = self.archive.get_document(object_id(rid), version)
        except NotFound:
            raise NotFound(f"no authority record {rid}") from None
        return AuthorityRecord(Authority.from_dict(stored.value), stored.version, stored.created, stored.updated)

    def resolve(self, rid: str) -> str:
        """The surviving record an id stands for (itself unless merged)."""
        seen = [rid]
        row = self.table.get(rid)
        while row and row["merged_into"] and len(seen) < MAX_MERGE_CHAIN:
            seen.append(row["merged_into"])
            row = self.table.get(row["merged_into"])
        return seen[-1]

    def history(self, rid: str, *, user: User) -> list:
        self.get(rid)
        return self.archive.document_history(object_id(rid), user=user)

    def ids(self, rid: str) -> list[str]:
        """The record's id and every id merged into it (directly or through other merges)."""
        return _merged_ids(rid, self.table.merged_into)

    def find(self, name: str, kind: str | None = None) -> list[str]:
        """Ids of the current records with this exact name or alias (folded)."""
        return [r["id"] for r in self.table.with_key(key(name), kind)]

    def link(self, kind: str, text: str, *, create: bool = False, user: User | None = None) -> dict | None:
        """What a manifest cell stands for (``ingest.sources.manifest.Linker``): kind "agent" (a
        person or organisation) or "place"; an id, or the single record with that name; None when
        none has it (``create``: a new one, by ``user``); ValueError naming the candidates."""
        kinds = ("person", "organization") if kind == "agent" else (kind,)
        text = text.strip()
        if kind_of(text):
            if kind_of(text) not in kinds or not self.archive.has_document(object_id(text)):
                raise ValueError(f"there is no {' or '.join(kinds)} authority record {text}")
            ids = [self.resolve(text)]
        else:
            ids = [i for k in kinds for i in self.find(text, k)]
        if len(ids) > 1:
            raise ValueError(f"{text!r} names {len(ids)} authority records ({', '.join(ids)}): give the id instead")
        if not ids:
            if not create:
                return None
            ids = [self.create({"kind": kinds[0], "name": text}, user=user or SYSTEM,
                               why="a new name in an ingest manifest").value.id]
        row = self.table.get(ids[0])
        return {"id": ids[0], "name": row["preferred"], "type": row["kind"]}

    def suggest(self, prefix: str, kind: str | None = None, *, limit: int = 10) -> list[dict]:
        """Records a name, alias or pinyin (full or initials) starting with ``prefix`` names."""
        prefix = key(prefix)[:50]
        if not prefix:
            return []
        return [self.summary(r) for r in self.table.with_prefix(prefix, kind, limit=max(1, min(limit, 50)))]

    def search(self, text: str, kind: str | None = None, *, limit: int = 20, offset: int = 0) -> tuple[list[dict], int]:
        rows, total = self.table.containing(key(text)[:50], kind, limit=limit, offset=offset)
        return [self.summary(r) for r in rows], total

    def listing(self, kind: str, **kw) -> tuple[list[dict], int]:
        rows, total = self.table.listing(kind, **kw)
        return [self.summary(r) for r in rows], total

    def brief(self, rid: str) -> dict | None:
        row = self.table.get(rid)
        return self.summary(row) if row else None

    def pointing_at(self, rid: str) -> list[tuple[dict, str]]:
        return [(self.summary(r), how) for r, how in self.table.pointing_at(rid)]

    def summary(self, row: dict) -> dict:
        rec = row["record"]
        return {"id": row["id"], "kind": row["kind"], "name": row["preferred"],
                "names": [n["name"] for n in rec.get("names", [])], "birth": rec.get("birth", {}),
                "death": rec.get("death", {}), "type": rec.get("type"), "coordinates": rec.get("coordinates")}

    # --- search's NameSource (search/names.py) --------------------------------------------

    def name_groups(self):
        merges = self.table.merges()  # (one query, not one per record)
        for row in self.table.current():
            rec = Authority.from_dict(row["record"])
            yield NameGroup(rec.id, rec.kind, rec.name, tuple(rec.all_names()),
                            tuple(i for i in _merged_ids(rec.id, lambda r: merges.get(r, [])) if i != rec.id))

    def stamp(self) -> str:
        return self.table.stamp()

    # --- derived table -------------------------------------------------------------------

    def rebuild(self, object_ids: list[str]) -> int:
        """The lookup table from the objects in storage alone (``Archive.rebuilders``)."""
        self.table.clear()
        ids = [oid.partition(":")[2] for oid in object_ids if oid.startswith(f"{OBJECT}:")]
        for rid in ids:
            stored = self.get(rid)
            self._put(stored.value, stored.version, stored.created, stored.updated)
        return len(ids)

    def _put(self, rec: Authority, version: int, created: str, updated: str) -> None:
        keys = []
        for name, type_ in [(rec.name, "preferred"), *((n.name, n.type) for n in rec.names)]:
            for form in dict.fromkeys([key(name), *analysis.pinyin(name)]):
                keys.append((name, type_, form))
        full = analysis.pinyin(rec.name)
        initial = full[0][0].upper() if full and full[0][:1].isalpha() and full[0][:1].isascii() else None
        surname = rec.surname if rec.kind == "family" else (
            next((s for s in COMPOUND_SURNAMES if rec.name.startswith(s)), rec.name[:1]) if rec.kind == "person" else None)
        links = [(r.id, r.type or "relation") for r in rec.relations] + [(p.id, "parent") for p in rec.parents]
        links += [(m, "member") for m in rec.members] + [(i, how) for i, how in (
            (rec.native_place, "native_place"), (rec.ancestral_place, "ancestral_place"), (rec.founder, "founder"),
            (rec.place, "place")) if i]
        self.table.put({"id": rec.id, "kind": rec.kind, "preferred": rec.name, "merged_into": rec.merged_into,
                        "initial": initial, "surname": surname, "number": int(rec.id.rsplit("-", 1)[1]),
                        "version": version, "created": created, "updated": updated, "record": rec.to_dict()},
                       keys, links)


def _merged_ids(rid: str, merged_into) -> list[str]:
    """``rid`` and every id merged into it, directly or through other merges (``merged_into(id)``: the direct ones)."""
    out, todo = [], [rid]
    while todo and len(out) < 1000:
        current = todo.pop()
        if current not in out:
            out.append(current)
            todo += merged_into(current)
    return out
