"""Authority records: Person, Family (家族), Organization, Place — plain data with validation.

A record round-trips through a JSON dict (``from_dict``/``to_dict``), kept as ``metadata.json``
of the OCFL object ``authority:<id>``. Ids are ``<kind>-<n>`` (``person-12``, ``family-3``,
``org-5``, ``place-40``), matching ``repository.model.ID_RE``; an id is never given again, a
merged record keeps its object and points at the survivor (``merged_into``). ``from_dict``
collects every problem and raises one ValidationError naming each field ("names[1].type: …").
"""
from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass, field

from repository.errors import ValidationError
from repository.model import EDTF_RE, ID_RE, Checker, read_date

KINDS = ("person", "family", "organization", "place")
PREFIXES = {"person": "person", "family": "family", "organization": "org", "place": "place"}
KIND_OF_PREFIX = {p: k for k, p in PREFIXES.items()}
AUTHORITY_ID_RE = re.compile(r"^(person|family|org|place)-[1-9][0-9]{0,11}$")
# Name types: a person's 名/字/号/笔名/室名/谥号/别名 and a romanized form; a place's or an
# organisation's former (旧名) and other names; 简称 for both.
NAME_TYPES = ("名", "字", "号", "笔名", "室名", "谥号", "别名", "英文名", "旧名", "简称")
RELATION_TYPES = ("father", "mother", "son", "daughter", "brother", "sister", "spouse", "teacher", "student",
                  "friend", "colleague", "relative")
INVERSE = {"father": "child", "mother": "child", "son": "parent", "daughter": "parent", "brother": "sibling",
           "sister": "sibling", "spouse": "spouse", "teacher": "student", "student": "teacher",
           "friend": "friend", "colleague": "colleague", "relative": "relative"}
IDENTIFIERS = {  # external identifiers, plain fields (nothing is fetched)
    "person": {"cbdb": r"^[0-9]{1,9}$", "viaf": r"^[0-9]{1,22}$", "wikidata": r"^Q[1-9][0-9]{0,11}$"},
    "family": {"wikidata": r"^Q[1-9][0-9]{0,11}$"},
    "organization": {"viaf": r"^[0-9]{1,22}$", "wikidata": r"^Q[1-9][0-9]{0,11}$"},
    "place": {"cbdb": r"^[0-9]{1,9}$", "chgis": r"^[A-Za-z0-9_.:-]{1,64}$", "tgaz": r"^[A-Za-z0-9_.:-]{1,64}$",
              "wikidata": r"^Q[1-9][0-9]{0,11}$"},
}
MAX_LIST = 500  # names, relations, members … of one record
MAX_TEXT = 20000  # notes


def kind_of(authority_id: str) -> str | None:
    """The kind an authority id names (person-3 → person), or None for another kind of id."""
    m = AUTHORITY_ID_RE.match(authority_id or "")
    return KIND_OF_PREFIX[m.group(1)] if m else None


@dataclass
class Name:
    name: str
    type: str = "别名"
    start: str | None = None  # EDTF: when the name was in use (places, organisations)
    end: str | None = None
    lang: str | None = None


@dataclass
class Link:
    """A dated link to another record: a relation (type) or a parent place."""
    id: str
    type: str | None = None
    start: str | None = None
    end: str | None = None


@dataclass
class Authority:
    id: str
    kind: str
    name: str  # the preferred name
    names: list[Name] = field(default_factory=list)  # other names and aliases, with their type
    notes: str | None = None
    sources: list[str] = field(default_factory=list)
    identifiers: dict = field(default_factory=dict)
    merged_into: str | None = None  # the surviving record's id, after a merge
    # person
    birth: dict = field(default_factory=dict)  # {"edtf": "1862", "display": "同治元年"}
    death: dict = field(default_factory=dict)
    gender: str | None = None
    native_place: str | None = None  # 籍贯: a place id
    occupations: list[str] = field(default_factory=list)
    relations: list[Link] = field(default_factory=list)
    # family
    surname: str | None = None
    hall: str | None = None  # 堂号
    choronym: str | None = None  # 郡望
    ancestral_place: str | None = None  # a place id
    founder: str | None = None  # a person id
    generation_names: list[str] = field(default_factory=list)  # 字辈, in order
    members: list[str] = field(default_factory=list)  # person ids
    # organisation
    type: str | None = None  # factory, school, 宗祠, shop … / a place's 县, 镇, 村, 街巷 …
    place: str | None = None  # an organisation's place id
    # place
    parents: list[Link] = field(default_factory=list)  # parent places, each with its time span
    coordinates: list[float] | None = None  # [latitude, longitude]

    FIELDS = {
        "person": {"birth", "death", "gender", "native_place", "occupations", "relations"},
        "family": {"surname", "hall", "choronym", "ancestral_place", "founder", "generation_names", "members"},
        "organization": {"type", "place"},
        "place": {"type", "parents", "coordinates"},
    }
    COMMON = {"id", "kind", "name", "names", "notes", "sources", "identifiers", "merged_into"}

    @classmethod
    def from_dict(cls, data: dict) -> Authority:
        c = Checker()
        if not isinstance(data, dict):
            raise ValidationError([("record", "must be a JSON object")])
        kind = c.text(data, "kind", "kind", required=True, choices=KINDS)
        rid = c.text(data, "id", "id", required=True, pattern=AUTHORITY_ID_RE)
        if kind and rid and kind_of(rid) != kind:
            c.fail("id", f"{rid!r} is not the id of a {kind} (it must start with {PREFIXES[kind]}-)")
        allowed = cls.COMMON | cls.FIELDS.get(kind or "", set())
        for key, value in data.items():
            if key not in allowed and value not in (None, "", [], {}):
                c.fail(key, f"is not a field of a {kind or 'record'}")
        rec = cls(id=rid, kind=kind, name=_short(c, data, "name", required=True),
                  names=[_name(c, n, f"names[{i}]") for i, n in enumerate(_list(c, data, "names"))],
                  notes=c.text(data, "notes", "notes"), sources=_strings(c, data, "sources"),
                  identifiers=_identifiers(c, data.get("identifiers"), kind),
                  merged_into=c.text(data, "merged_into", "merged_into", pattern=AUTHORITY_ID_RE))
        if rec.notes and len(rec.notes) > MAX_TEXT:
            c.fail("notes", f"is longer than {MAX_TEXT} characters")
        if kind == "person":
            rec.birth = _date(c, data.get("birth"), "birth")
            rec.death = _date(c, data.get("death"), "death")
            rec.gender = c.text(data, "gender", "gender", choices=("male", "female", "other"))
            rec.native_place = _ref(c, data, "native_place", "place")
            rec.occupations = _strings(c, data, "occupations")
            rec.relations = [_link(c, r, f"relations[{i}]", "person", RELATION_TYPES)
                             for i, r in enumerate(_list(c, data, "relations"))]
        elif kind == "family":
            rec.surname = _short(c, data, "surname")
            rec.hall, rec.choronym = _short(c, data, "hall"), _short(c, data, "choronym")
            rec.ancestral_place = _ref(c, data, "ancestral_place", "place")
            rec.founder = _ref(c, data, "founder", "person")
            rec.generation_names = _strings(c, data, "generation_names")
            rec.members = _refs(c, data, "members", "person")
        elif kind == "organization":
            rec.type, rec.place = _short(c, data, "type"), _ref(c, data, "place", "place")
        elif kind == "place":
            rec.type = _short(c, data, "type")
            rec.parents = [_link(c, p, f"parents[{i}]", "place", None) for i, p in enumerate(_list(c, data, "parents"))]
            rec.coordinates = _coordinates(c, data.get("coordinates"))
        if rid and (rec.merged_into == rid or any(link and link.id == rid for link in rec.relations + rec.parents)):
            c.fail("relations" if rec.relations else "parents", "a record cannot point at itself")
        c.raise_if_any()
        return rec

    def to_dict(self) -> dict:
        """The stored JSON: common fields and the kind's own, empty values left out."""
        keep = self.COMMON | self.FIELDS[self.kind]
        out = {}
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if f.name in keep and value not in (None, "", [], {}):
                out[f.name] = ([_compact(dataclasses.asdict(v)) for v in value]
                               if f.name in ("names", "relations", "parents") else value)
        return out

    def all_names(self) -> list[str]:
        """The preferred name, then every other name, each once."""
        return list(dict.fromkeys([self.name, *(n.name for n in self.names)]))

    def links(self) -> list[str]:
        """Every record id this one points at."""
        ids = [self.native_place, self.ancestral_place, self.founder, self.place, *self.members,
               *(r.id for r in self.relations), *(p.id for p in self.parents)]
        return [i for i in ids if i]


def _compact(d: dict) -> dict:
    return {k: v for k, v in d.items() if v not in (None, "")}


def _list(c: Checker, data: dict, key: str) -> list:
    values = c.items(data, key, key)
    if len(values) > MAX_LIST:
        c.fail(key, f"has {len(values)} entries: at most {MAX_LIST}")
        return []
    return values


def _strings(c: Checker, data: dict, key: str) -> list[str]:
    if len(c.items(data, key, key)) > MAX_LIST:
        c.fail(key, f"has more than {MAX_LIST} entries")
        return []
    return c.strings(data, key, key)


def _short(c: Checker, data: dict, key: str, *, required=False, where: str | None = None) -> str | None:
    value = c.text(data, key, where or key, required=required)
    if value and len(value) > 200:
        c.fail(where or key, "is longer than 200 characters")
    return value


def _ref(c: Checker, data: dict, key: str, kind: str, where: str | None = None) -> str | None:
    value = c.text(data, key, where or key)
    if value and kind_of(value) != kind:
        c.fail(where or key, f"{value!r} is not the id of a {kind} record ({PREFIXES[kind]}-<n>)")
        return None
    return value


def _refs(c: Checker, data: dict, key: str, kind: str) -> list[str]:
    out = []
    for i, value in enumerate(_strings(c, data, key)):
        if kind_of(value) != kind:
            c.fail(f"{key}[{i}]", f"{value!r} is not the id of a {kind} record ({PREFIXES[kind]}-<n>)")
        else:
            out.append(value)
    return list(dict.fromkeys(out))


def _edtf(c: Checker, data: dict, key: str, where: str) -> str | None:
    value = c.text(data, key, where)
    if value and not EDTF_RE.match(value):
        c.fail(where, f"{value!r} is not an EDTF date (e.g. 1936, 1911/1949, 18XX)")
        return None
    return value


def _name(c: Checker, data, where: str) -> Name | None:
    if isinstance(data, str):
        data = {"name": data}
    if not isinstance(data, dict):
        c.fail(where, "must be an object with a name")
        return None
    return Name(name=_short(c, data, "name", required=True, where=f"{where}.name"),
                type=c.text(data, "type", f"{where}.type", choices=NAME_TYPES) or "别名",
                start=_edtf(c, data, "start", f"{where}.start"), end=_edtf(c, data, "end", f"{where}.end"),
                lang=c.text(data, "lang", f"{where}.lang"))


def _link(c: Checker, data, where: str, kind: str, types) -> Link | None:
    if not isinstance(data, dict):
        c.fail(where, "must be an object with an id")
        return None
    rid = c.text(data, "id", f"{where}.id", required=True)
    if rid and kind_of(rid) != kind:
        c.fail(f"{where}.id", f"{rid!r} is not the id of a {kind} record ({PREFIXES[kind]}-<n>)")
    return Link(id=rid, type=c.text(data, "type", f"{where}.type", required=bool(types), choices=types),
                start=_edtf(c, data, "start", f"{where}.start"), end=_edtf(c, data, "end", f"{where}.end"))


def _date(c: Checker, value, where: str) -> dict:
    inner = Checker()
    out = read_date(inner, value)
    c.problems += [(p[0].replace("date", where, 1), p[1]) for p in inner.problems]
    return out


def _identifiers(c: Checker, value, kind: str | None) -> dict:
    if value in (None, {}, ""):
        return {}
    if not isinstance(value, dict):
        c.fail("identifiers", "must be an object such as {\"cbdb\": \"3767\"}")
        return {}
    known = IDENTIFIERS.get(kind or "", {})
    out = {}
    for key, text in value.items():
        text = str(text).strip() if isinstance(text, (str, int)) and not isinstance(text, bool) else None
        if key not in known:
            c.fail(f"identifiers.{key}", f"is not an identifier of a {kind} ({', '.join(known) or 'none'})")
        elif not text or not re.match(known[key], text):
            c.fail(f"identifiers.{key}", f"{value[key]!r} is not a valid {key} identifier")
        else:
            out[key] = text
    return out


def _coordinates(c: Checker, coords) -> list[float] | None:
    if coords in (None, "", []):
        return None
    ok = (isinstance(coords, (list, tuple)) and len(coords) == 2
          and all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in coords)
          and -90 <= coords[0] <= 90 and -180 <= coords[1] <= 180)
    if not ok:
        c.fail("coordinates", "must be [latitude, longitude] in degrees")
        return None
    return [float(coords[0]), float(coords[1])]


def check_id(value: str) -> bool:
    return bool(ID_RE.match(value or "")) and kind_of(value) is not None
