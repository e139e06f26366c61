"""Bulk load and export of the authority file: the CSV/Excel template (zh/en headers, one row per
record) and a CBDB-style extract (a folder of CSV tables: BIOG_MAIN, ALTNAME_DATA, ALTNAME_CODES,
KIN_DATA, KINSHIP_CODES, BIOG_ADDR_DATA, ADDR_CODES, ADDR_BELONGS_DATA).

An import is checked whole before anything is stored: every problem names the file, the row and
the column, and one problem stores nothing. References (籍贯, relations, members, parent places)
are ids or names, of records in the file or of rows in the same sheet; a name that several
records share is an ambiguity naming its candidates.
"""
from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from pathlib import Path

from ingest.sources.manifest import read_rows
from repository.access import User
from repository.errors import ValidationError

from .model import KINDS, PREFIXES, Authority, kind_of
from .service import Authorities, object_id

MAX_ROWS = 50_000  # records in one import
# key, Chinese header, English header, example (a person), example (a place)
COLUMNS = [
    ("id", "标识符", "id", "", ""),
    ("kind", "类型", "kind", "人物", "地点"),
    ("name", "名称", "name", "钱穆", "无锡县"),
    ("names", "其他名称", "other_names", "宾四（字）；素书楼主（室名）；Qian Mu（英文名）", "梁溪（别名）；锡山（别名）"),
    ("birth", "生年", "birth", "1895", ""),
    ("birth_display", "生年显示", "birth_display", "光绪二十一年", ""),
    ("death", "卒年", "death", "1990", ""),
    ("death_display", "卒年显示", "death_display", "", ""),
    ("gender", "性别", "gender", "男", ""),
    ("native_place", "籍贯", "native_place", "无锡县", ""),
    ("occupations", "职业", "occupations", "史学家；教师", ""),
    ("relations", "关系", "relations", "", ""),
    ("surname", "姓氏", "surname", "", ""),
    ("hall", "堂号", "hall", "", ""),
    ("choronym", "郡望", "choronym", "", ""),
    ("ancestral_place", "祖居地", "ancestral_place", "", ""),
    ("founder", "始祖", "founder", "", ""),
    ("generation_names", "字辈", "generation_names", "", ""),
    ("members", "成员", "members", "", ""),
    ("type", "类别", "type", "", "县"),
    ("place", "所在地", "place", "", ""),
    ("parents", "上级地点", "parents", "", ""),  # e.g. 常州府（1368/1912）: a place id or name, its span
    ("coordinates", "坐标", "coordinates", "", "31.57, 120.30"),
    ("cbdb", "CBDB", "cbdb", "", ""),
    ("viaf", "VIAF", "viaf", "", ""),
    ("wikidata", "Wikidata", "wikidata", "", ""),
    ("chgis", "CHGIS", "chgis", "", ""),
    ("tgaz", "TGAZ", "tgaz", "", ""),
    ("sources", "来源", "sources", "《无锡县志》", ""),
    ("notes", "备注", "notes", "", ""),
]
_HEADERS = {_h.casefold(): key for key, zh, en, *_ in COLUMNS for _h in (key, zh, en)}
_ZH = {key: zh for key, zh, *_ in COLUMNS}
KIND_NAMES = {"人物": "person", "人": "person", "家族": "family", "宗族": "family", "机构": "organization",
              "組織": "organization", "组织": "organization", "地点": "place", "地名": "place", "地點": "place",
              **{k: k for k in KINDS}, "org": "organization"}
GENDERS = {"男": "male", "女": "female", "male": "male", "female": "female", "m": "male", "f": "female"}
RELATION_NAMES = {"父": "father", "母": "mother", "子": "son", "女": "daughter", "兄": "brother", "弟": "brother",
                  "兄弟": "brother", "姐": "sister", "妹": "sister", "姐妹": "sister", "妻": "spouse", "夫": "spouse",
                  "配偶": "spouse", "师": "teacher", "老师": "teacher", "学生": "student", "弟子": "student",
                  "友": "friend", "朋友": "friend", "同事": "colleague", "亲属": "relative"}
IDENTIFIER_COLUMNS = ("cbdb", "viaf", "wikidata", "chgis", "tgaz")
_SPLIT = re.compile(r"[;；\r\n]+")
_PAREN = re.compile(r"^(.+?)\s*[（(]\s*([^()（）]*?)\s*[)）]$")


class ImportRefused(ValidationError):
    """An import that stored nothing: ``problems`` are (where, problem) pairs."""


@dataclass
class Plan:
    """Rows checked and turned into records (``data``, with ids given), and what they change."""
    records: list[dict] = field(default_factory=list)
    updates: set[str] = field(default_factory=set)  # ids of existing records the import changes


def header(name: str) -> str | None:
    text = (name or "").strip()
    for candidate in [text, *re.split(r"[/|()（）]+", text)]:
        if candidate.strip().casefold() in _HEADERS:
            return _HEADERS[candidate.strip().casefold()]
    return None


def template_rows() -> list[list[str]]:
    return [[f"{zh}/{en}" for _, zh, en, *_ in COLUMNS], [c[3] for c in COLUMNS], [c[4] for c in COLUMNS]]


def write_template(path: Path) -> Path:
    from ingest.sources.template import write_rows

    return write_rows(Path(path), template_rows(), title="authorities")


def parts(text: str) -> list[str]:
    return [p.strip() for p in _SPLIT.split(text or "") if p.strip()]


def _paren(text: str) -> tuple[str, str | None]:
    m = _PAREN.match(text)
    return (m.group(1).strip(), m.group(2).strip()) if m else (text.strip(), None)


def _span(text: str | None) -> dict:
    """"1724/1912" → {"start": "1724", "end": "1912"}; "1724/" → start only."""
    if not text:
        return {}
    start, _, end = text.partition("/")
    return {k: v.strip() for k, v in (("start", start), ("end", end)) if v.strip() and v.strip() != ".."}


class Importer:
    """One sheet (or extract) into the authority file: ``check`` builds the plan or raises with
    every problem; ``store`` writes it (one version per record)."""

    def __init__(self, authorities: Authorities, source: str):
        self.auth, self.source = authorities, source
        self.problems: list[tuple[str, str]] = []
        self.by_name: dict[tuple[str, str], list[str]] = {}  # (kind, folded name) → ids of this import's rows
        self.numbers: dict[str, int] = {}

    def fail(self, where: str, problem: str) -> None:
        self.problems.append((f"{self.source}, {where}", problem))

    def new_id(self, kind: str) -> str:
        n = self.numbers.get(kind) or self.auth.table.next_number(kind)
        while self.auth.archive.has_document(object_id(f"{PREFIXES[kind]}-{n}")):
            n += 1
        self.numbers[kind] = n + 1
        return f"{PREFIXES[kind]}-{n}"

    def ref(self, text: str, kind: str, where: str) -> str | None:
        """An id, or the one record (in the file or in this import) a name names."""
        text = text.strip()
        if kind_of(text):
            if kind_of(text) != kind:
                self.fail(where, f"{text!r} is not the id of a {kind} record")
                return None
            if not self.auth.archive.has_document(object_id(text)) and text not in self._planned:
                self.fail(where, f"there is no authority record {text}")
                return None
            return self.auth.resolve(text)
        from .service import key

        found = list(dict.fromkeys(self.by_name.get((kind, key(text)), []) + self.auth.find(text, kind)))
        if len(found) == 1:
            return found[0]
        if not found:
            self.fail(where, f"no {kind} record is named {text!r}: add it first (or in this sheet)")
        else:
            self.fail(where, f"{text!r} names {len(found)} records ({', '.join(found)}): give the id instead")
        return None

    def check(self, rows: list[dict], where=lambda i: f"row {i}") -> Plan:
        """``rows``: {column key: cell text} each; references resolved after every row has an id."""
        from .service import key

        if len(rows) > MAX_ROWS:
            self.fail("", f"{len(rows):,} records: at most {MAX_ROWS:,} in one import (split the file)")
            raise ImportRefused(self.problems)
        self._planned, plan, staged = set(), Plan(), []
        for i, (label, row) in enumerate(rows):
            kind = KIND_NAMES.get((row.get("kind") or "").strip().casefold() or "", None)
            kind = kind or KIND_NAMES.get((row.get("kind") or "").strip())
            if not kind:
                self.fail(f"{label}, {_ZH['kind']}", f"{row.get('kind')!r} is not 人物, 家族, 机构 or 地点")
                continue
            rid = (row.get("id") or "").strip()
            if rid:
                if kind_of(rid) != kind:
                    self.fail(f"{label}, {_ZH['id']}", f"{rid!r} is not the id of a {kind} record")
                    continue
                if self.auth.archive.has_document(object_id(rid)):
                    current = self.auth.get(rid)
                    if current.value.merged_into:
                        self.fail(f"{label}, {_ZH['id']}", f"{rid} was merged into {current.value.merged_into}")
                        continue
                    plan.updates.add(rid)
            else:
                rid = self.new_id(kind)
            if rid in self._planned:
                self.fail(f"{label}, {_ZH['id']}", f"{rid} is in two rows")
                continue
            self._planned.add(rid)
            for n in [row.get("name") or "", *(_paren(p)[0] for p in parts(row.get("names", "")))]:
                if n.strip():
                    self.by_name.setdefault((kind, key(n)), []).append(rid)
            staged.append((label, kind, rid, row))
        for label, kind, rid, row in staged:
            data = self._record(label, kind, rid, row)
            try:
                Authority.from_dict(data)
            except ValidationError as exc:
                for fld, problem in exc.problems:
                    col = next((c for c, *_ in COLUMNS if fld.split(".")[0].split("[")[0] == c), fld)
                    col = {"identifiers": fld.split(".")[-1]}.get(col, col)
                    self.fail(f"{label}, {_ZH.get(col, col)}", problem)
                continue
            plan.records.append(data)
        if self.problems:
            raise ImportRefused(self.problems)
        return plan

    def _record(self, label: str, kind: str, rid: str, row: dict) -> dict | None:
        at = lambda col: f"{label}, {_ZH[col]}"
        data = {"id": rid, "kind": kind, "name": (row.get("name") or "").strip()}
        names = []
        for p in parts(row.get("names", "")):
            name, inside = _paren(p)
            type_, _, span = (inside or "").replace("，", ",").partition(",")
            names.append({"name": name, "type": type_.strip() or "别名", **_span(span.strip())})
        data["names"] = names
        for fld in ("birth", "death"):
            if row.get(fld) or row.get(f"{fld}_display"):
                data[fld] = {k: row[c] for k, c in (("edtf", fld), ("display", f"{fld}_display")) if row.get(c)}
        if row.get("gender"):
            data["gender"] = GENDERS.get(row["gender"].strip().casefold(), row["gender"])
        for fld, target in (("native_place", "place"), ("ancestral_place", "place"), ("founder", "person"),
                            ("place", "place")):
            if (row.get(fld) or "").strip():
                data[fld] = self.ref(row[fld], target, at(fld))
        for fld in ("occupations", "sources"):
            data[fld] = parts(row.get(fld, ""))
        gen = (row.get("generation_names") or "").strip()
        data["generation_names"] = parts(gen) if _SPLIT.search(gen) or " " not in gen and len(parts(gen)) > 1 else \
            [c for c in gen if not c.isspace()]
        data["members"] = [self.ref(m, "person", at("members")) for m in parts(row.get("members", ""))]
        relations = []
        for p in parts(row.get("relations", "")):
            m = re.match(r"^([^:：]+)[:：](.+)$", p)
            if not m:
                self.fail(at("relations"), f"{p!r} must read 关系：名称 or id (e.g. 父：钱承沛, father: person-3)")
                continue
            type_ = RELATION_NAMES.get(m.group(1).strip(), m.group(1).strip())
            relations.append({"type": type_, "id": self.ref(m.group(2), "person", at("relations"))})
        data["relations"] = relations
        parents = []
        for p in parts(row.get("parents", "")):
            name, span = _paren(p)
            parents.append({"id": self.ref(name, "place", at("parents")), **_span(span)})
        data["parents"] = parents
        if (row.get("coordinates") or "").strip():
            try:
                data["coordinates"] = [float(x) for x in re.split(r"[,，\s]+", row["coordinates"].strip())]
            except ValueError:
                self.fail(at("coordinates"), f"{row['coordinates']!r} must read latitude, longitude (31.57, 120.30)")
        for fld in ("surname", "hall", "choronym", "type", "notes"):
            if (row.get(fld) or "").strip():
                data[fld] = row[fld].strip()
        data["identifiers"] = {c: row[c].strip() for c in IDENTIFIER_COLUMNS if (row.get(c) or "").strip()}
        data["members"] = [m for m in data["members"] if m]
        data["relations"] = [r for r in relations if r["id"]]
        data["parents"] = [p for p in parents if p["id"]]
        return {k: v for k, v in data.items() if v not in (None, "", [], {})}

    def store(self, plan: Plan, *, user: User, why: str) -> dict:
        """Write the plan: new records created, changed ones updated (unchanged ones left)."""
        created = updated = 0
        for data in plan.records:
            if data["id"] in plan.updates:
                current = self.auth.get(data["id"])
                merged = {**current.value.to_dict(), **data}
                if Authority.from_dict(merged).to_dict() != current.value.to_dict():
                    self.auth.update(data["id"], merged, expected_version=current.version, user=user, why=why)
                    updated += 1
            else:
                self.auth.create(data, user=user, why=why)
                created += 1
        return {"created": created, "updated": updated, "unchanged": len(plan.records) - created - updated}


def sheet_rows(path: Path) -> list[tuple[str, dict]]:
    """A template sheet's rows: (label "row N", {column key: text}); unknown headers refused."""
    rows = read_rows(path)
    numbered = [(n, r) for n, r in enumerate(rows, 1) if any(r)]
    if not numbered:
        raise ImportRefused([(str(path), "the sheet is empty")])
    n0, head = numbered[0]
    columns, unknown = {}, []
    for i, name in enumerate(head):
        k = header(name)
        if name and not k:
            unknown.append(repr(name))
        elif k:
            columns[i] = k
    if unknown or "name" not in columns.values() or "kind" not in columns.values():
        accepted = ", ".join(f"{zh}/{en}" for _, zh, en, *_ in COLUMNS)
        raise ImportRefused([(f"{path}, row {n0}", (f"unknown column {', '.join(unknown)}; " if unknown else
                                                    "the columns 类型/kind and 名称/name are required; ")
                             + f"the columns are {accepted}")])
    return [(f"row {n}", {k: _cell(r[i] if i < len(r) else "") for i, k in columns.items()}) for n, r in numbered[1:]]


def import_sheet(authorities: Authorities, path: Path, *, user: User, why: str = "") -> dict:
    importer = Importer(authorities, Path(path).name)
    plan = importer.check(sheet_rows(Path(path)))
    return importer.store(plan, user=user, why=why or f"import {Path(path).name}")


def export_rows(authorities: Authorities, kind: str | None = None) -> list[list[str]]:
    """Every current record as a template row (an export imports again as it is)."""
    out = [[f"{zh}/{en}" for _, zh, en, *_ in COLUMNS]]
    zh_kind = {"person": "人物", "family": "家族", "organization": "机构", "place": "地点"}
    zh_rel = {v: k for k, v in reversed(list(RELATION_NAMES.items()))}
    for row in authorities.table.current(kind):
        r = Authority.from_dict(row["record"])
        cells = {"id": r.id, "kind": zh_kind[r.kind], "name": r.name,
                 "names": "；".join(f"{n.name}（{n.type}{'，' + (n.start or '') + '/' + (n.end or '') if n.start or n.end else ''}）"
                                  for n in r.names),
                 "birth": r.birth.get("edtf", ""), "birth_display": r.birth.get("display", ""),
                 "death": r.death.get("edtf", ""), "death_display": r.death.get("display", ""),
                 "gender": {"male": "男", "female": "女"}.get(r.gender or "", r.gender or ""),
                 "occupations": "；".join(r.occupations), "sources": "；".join(r.sources),
                 "relations": "；".join(f"{zh_rel.get(x.type, x.type)}：{x.id}" for x in r.relations),
                 "members": "；".join(r.members), "generation_names": "；".join(r.generation_names),
                 "parents": "；".join(f"{p.id}（{p.start or ''}/{p.end or ''}）" if p.start or p.end else p.id
                                    for p in r.parents),
                 "coordinates": ", ".join(str(x) for x in r.coordinates) if r.coordinates else "",
                 **{c: r.identifiers.get(c, "") for c in IDENTIFIER_COLUMNS}}
        for fld in ("native_place", "ancestral_place", "founder", "place", "surname", "hall", "choronym", "type",
                    "notes"):
            cells[fld] = getattr(r, fld) or ""
        out.append([_safe_cell(cells.get(k, "")) for k, *_ in COLUMNS])
    return out


def _safe_cell(text: str) -> str:
    """A cell a spreadsheet would run as a formula (=, +, -, @ first) starts with ' (read back as text)."""
    return "'" + text if text[:1] in ("=", "+", "-", "@") else text


def _cell(text: str) -> str:
    text = (text or "").strip()
    return text[1:] if text[:2] in ("'=", "'+", "'-", "'@") else text


def write_export(authorities: Authorities, path: Path, kind: str | None = None) -> int:
    from ingest.sources.template import write_rows

    rows = export_rows(authorities, kind)
    write_rows(Path(path), rows, title="authorities")
    return len(rows) - 1


# --- a CBDB-style extract -----------------------------------------------------------------------

# CBDB ALTNAME_CODES (c_name_type_code → c_name_type_desc_chn) for the codes an extract without its
# ALTNAME_CODES table uses; with the table, its descriptions are read instead.
CBDB_ALTNAME_CODES = {2: "字", 4: "號", 5: "諡號", 6: "室名、別號", 7: "行第", 9: "小名"}
CBDB_KINREL = {"F": "father", "M": "mother", "S": "son", "D": "daughter", "B": "brother", "Z": "sister",
               "W": "spouse", "H": "spouse", "C": "spouse"}  # KINSHIP_CODES.c_kinrel, first letter
CBDB_NATIVE = "1"  # BIOG_ADDR_DATA.c_addr_type of the 籍贯 (basic affiliation)


def cbdb_name_type(description: str) -> str:
    """A CBDB alternate-name type description → our name type (字, 号, 室名, 谥号, 笔名, 别名)."""
    from search.analysis import fold

    d = fold(description or "")
    for needle, ours in (("室名", "室名"), ("谥", "谥号"), ("笔名", "笔名"), ("字", "字"), ("号", "号")):
        if needle in d and not d.startswith("小"):
            return ours
    return "别名"


def _table(folder: Path, name: str, required: bool = False) -> list[dict]:
    path = next((p for p in folder.iterdir() if p.stem.casefold() == name.casefold()
                 and p.suffix.lower() in (".csv", ".xlsx", ".txt")), None)
    if path is None:
        if required:
            raise ImportRefused([(str(folder), f"the extract has no {name}.csv")])
        return []
    rows = read_rows(path)
    if not rows:
        return []
    head = [h.strip().casefold() for h in rows[0]]
    if len(rows) - 1 > MAX_ROWS * 4:
        raise ImportRefused([(path.name, f"{len(rows) - 1:,} rows: at most {MAX_ROWS * 4:,} in one import")])
    return [{"_row": f"{path.name}, row {n}", **{h: (r[i] if i < len(r) else "") for i, h in enumerate(head)}}
            for n, r in enumerate(rows[1:], 2) if any(r)]


def import_cbdb(authorities: Authorities, folder: Path, *, user: User, why: str = "") -> dict:
    """Persons, their alternate names (by type code), kinship and addresses from a CBDB-style
    extract. A person or place already in the file with the same CBDB id is updated, not added."""
    folder = Path(folder)
    importer = Importer(authorities, folder.name)
    people = _table(folder, "BIOG_MAIN", required=True)
    codes = {r["c_name_type_code"]: r.get("c_name_type_desc_chn", "") for r in _table(folder, "ALTNAME_CODES")}
    codes = {**{str(k): v for k, v in CBDB_ALTNAME_CODES.items()}, **codes}
    kincodes = {r["c_kincode"]: (r.get("c_kinrel") or "") for r in _table(folder, "KINSHIP_CODES")}
    existing = {("person", r["record"].get("identifiers", {}).get("cbdb")): r["id"] for r in
                authorities.table.current("person")}
    existing |= {("place", r["record"].get("identifiers", {}).get("cbdb")): r["id"] for r in
                 authorities.table.current("place")}
    rows, ids = [], {}
    for r in _table(folder, "ADDR_CODES"):
        if not re.fullmatch(r"[0-9]{1,9}", r.get("c_addr_id", "")):
            importer.fail(r["_row"], f"c_addr_id {r.get('c_addr_id')!r} is not a CBDB address id")
            continue
        rid = existing.get(("place", r["c_addr_id"])) or importer.new_id("place")
        ids[("place", r["c_addr_id"])] = rid
        coords = f"{r['y_coord']}, {r['x_coord']}" if r.get("x_coord") and r.get("y_coord") else ""
        rows.append((r["_row"], {"id": rid, "kind": "place", "name": r.get("c_name_chn") or r.get("c_name", ""),
                                 "names": r.get("c_name", "") and f"{r['c_name']}（英文名）", "coordinates": coords,
                                 "type": r.get("c_admin_type", ""), "cbdb": r["c_addr_id"],
                                 "sources": "CBDB"}))
    for r in people:
        if not re.fullmatch(r"[0-9]{1,9}", r.get("c_personid", "")):
            importer.fail(r["_row"], f"c_personid {r.get('c_personid')!r} is not a CBDB person id")
            continue
        rid = existing.get(("person", r["c_personid"])) or importer.new_id("person")
        ids[("person", r["c_personid"])] = rid
        rows.append((r["_row"], {"id": rid, "kind": "person", "name": r.get("c_name_chn") or r.get("c_name", ""),
                                 "names": r.get("c_name", "") and f"{r['c_name']}（英文名）",
                                 "birth": _year(r.get("c_birthyear")), "death": _year(r.get("c_deathyear")),
                                 "gender": {"1": "女", "0": "男"}.get(r.get("c_female", ""), ""),
                                 "notes": r.get("c_notes", ""), "cbdb": r["c_personid"], "sources": "CBDB"}))
    by_id = {row["id"]: row for _, row in rows}

    def person(pid: str, where: str) -> dict | None:
        rid = ids.get(("person", pid))
        if rid is None:
            importer.fail(where, f"person {pid!r} is not in BIOG_MAIN")
        return by_id.get(rid) if rid else None

    for r in _table(folder, "ALTNAME_DATA"):
        if (target := person(r.get("c_personid", ""), r["_row"])) and (r.get("c_alt_name_chn") or r.get("c_alt_name")):
            kind = cbdb_name_type(codes.get(r.get("c_alt_name_type_code", ""), ""))
            target["names"] = "；".join(filter(None, [target.get("names"), f"{r.get('c_alt_name_chn') or r['c_alt_name']}（{kind}）"]))
    for r in _table(folder, "KIN_DATA"):
        target, kin = person(r.get("c_personid", ""), r["_row"]), ids.get(("person", r.get("c_kin_id", "")))
        if target is None:
            continue
        if kin is None:
            importer.fail(r["_row"], f"kin {r.get('c_kin_id')!r} is not in BIOG_MAIN")
            continue
        rel = CBDB_KINREL.get((kincodes.get(r.get("c_kin_code", "")) or r.get("c_kinrel", "") or "?")[:1], "relative")
        target["relations"] = "；".join(filter(None, [target.get("relations"), f"{rel}:{kin}"]))
    for r in _table(folder, "BIOG_ADDR_DATA"):
        if (target := person(r.get("c_personid", ""), r["_row"])) and r.get("c_addr_type", CBDB_NATIVE) == CBDB_NATIVE:
            place = ids.get(("place", r.get("c_addr_id", "")))
            if place is None:
                importer.fail(r["_row"], f"address {r.get('c_addr_id')!r} is not in ADDR_CODES")
            else:
                target["native_place"] = place
    for r in _table(folder, "ADDR_BELONGS_DATA"):
        child, parent = ids.get(("place", r.get("c_addr_id", ""))), ids.get(("place", r.get("c_belongs_to", "")))
        if child and parent:
            span = "/".join([_year(r.get("c_firstyear")) or "..", _year(r.get("c_lastyear")) or ".."])
            by_id[child]["parents"] = "；".join(filter(None, [by_id[child].get("parents"),
                                                              f"{parent}（{span}）" if span != "../.." else parent]))
        else:
            importer.fail(r["_row"], "c_addr_id and c_belongs_to must be in ADDR_CODES")
    if importer.problems:
        raise ImportRefused(importer.problems)
    plan = importer.check(rows)
    return importer.store(plan, user=user, why=why or f"CBDB extract {folder.name}")


def _year(value: str | None) -> str:
    value = (value or "").strip()
    if re.fullmatch(r"-?[0-9]{1,4}", value) and value not in ("0", "-0"):
        return value.zfill(4) if not value.startswith("-") else ""
    return ""


def csv_text(rows: list[list[str]]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer).writerows(rows)
    return buffer.getvalue()
