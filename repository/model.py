"""The domain: Item, Collection, File, Agent, Place — plain data with validation.

Records round-trip through JSON dicts (``from_dict`` / ``to_dict``); that JSON is what the
object store keeps as ``metadata.json``. ``from_dict`` collects every problem and raises one
ValidationError naming each field ("creators[0].name: …").
"""
from __future__ import annotations

import dataclasses
import json
import math
import re
from dataclasses import dataclass, field
from datetime import date

from .errors import ValidationError

KINDS = ("photo", "manuscript", "book", "audio", "video", "ebook", "object", "document", "dataset")
VISIBILITIES = ("public", "alliance", "staff", "embargoed", "private")
FILE_ACCESS = ("alliance", "staff", "private")  # a file may be restricted beyond its item
FILE_ROLES = ("original", "derivative", "supplement")  # supplement: transcripts, index data, forms
AGENT_TYPES = ("person", "organization")
# IIIF viewingDirection of a paged item: "right-to-left" for traditionally bound Chinese books
VIEWING_DIRECTIONS = ("left-to-right", "right-to-left", "top-to-bottom", "bottom-to-top")

ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")
LANG_RE = re.compile(r"^(none|[a-z]{2,3}(-[A-Za-z0-9]{2,8})*)$")
MEDIA_TYPE_RE = re.compile(r"^[a-z]+/[a-zA-Z0-9.+-]+$")
RIGHTS_RE = re.compile(
    r"^(http://rightsstatements\.org/vocab/(InC|InC-OW-EU|InC-EDU|InC-NC|InC-RUU|NoC-CR|NoC-NC|NoC-OKLR|NoC-US|CNE|UND|NKC)/1\.0/"
    r"|https?://creativecommons\.org/(licenses/(by|by-sa|by-nd|by-nc|by-nc-sa|by-nc-nd)/[1-4]\.[05]/"
    r"|publicdomain/(zero|mark)/1\.0/))$"
)
# EDTF level 0 and the common level-1 features: qualifiers ?~%, unspecified digits X, open
# or unknown interval ends (ISO 8601-2 / EDTF specification 2019).
_EDTF_DATE = (r"(?:\d{4}|\d{3}X|\d{2}XX)"
              r"(?:-(?:0[1-9]|1[0-2]|2[1-4]|XX)(?:-(?:0[1-9]|[12]\d|3[01]|XX))?)?[?~%]?")
EDTF_RE = re.compile(rf"^(?:{_EDTF_DATE}|(?:{_EDTF_DATE}|\.\.)?/(?:{_EDTF_DATE}|\.\.)?)$")

LangMap = dict  # {"zh": "…", "en": "…"}: one string per language tag

# A file's technical facts that decide who may see it (repository/access.py, oral_history): set
# only by the steps that make redacted copies and store an interview, never by an edit.
ACCESS_TECH = ("redacted", "spans", "redactions")
# Technical facts readers rely on (IIIF sizes and durations, the player, pyramids), and their
# types: (whole number?, smallest value). None means unknown. Other facts are free-form.
TECH_TYPES = {"width": (True, 1), "height": (True, 1), "levels": (True, 1), "tile": (True, 1), "pages": (True, 0),
              "orientation": (True, 1), "rotation": (True, -360), "channels": (True, 0), "sample_rate": (True, 0),
              "bit_rate": (True, 0), "duration": (False, 0), "decoded_duration": (False, 0), "time": (False, 0),
              "frame_rate": (False, 0)}


def edtf_years(value: str) -> tuple[int, int] | None:
    """The first and last year an EDTF string can mean, or None when unknown/open-ended."""
    ends = value.split("/") if "/" in value else [value, value]
    years = []
    for i, end in enumerate(ends):
        end = end.rstrip("?~%")
        if end in ("", ".."):
            return None
        years.append(int(end[:4].replace("X", "0" if i == 0 else "9")))
    return years[0], years[1]


class Checker:
    """Collects (field, problem) pairs while reading a dict (records of this and other packages:
    ``oral_history.model``)."""

    def __init__(self):
        self.problems: list[tuple[str, str]] = []

    def fail(self, field: str, problem: str) -> None:
        self.problems.append((field, problem))

    def text(self, data: dict, key: str, where: str, *, required=False, choices=None, pattern=None):
        value = data.get(key)
        if value in (None, ""):
            if required:
                self.fail(where, "is required")
            return None
        if not isinstance(value, str):
            self.fail(where, f"must be text, not {type(value).__name__}")
            return None
        value = value.strip()
        if choices and value not in choices:
            self.fail(where, f"must be one of {', '.join(choices)} (got {value!r})")
        elif pattern and not pattern.match(value):
            self.fail(where, f"{value!r} is not valid")
        return value

    def langmap(self, data: dict, key: str, where: str, *, required=False) -> LangMap:
        value = data.get(key)
        if value in (None, {}, ""):
            if required:
                self.fail(where, "is required (at least one language, e.g. {\"zh\": \"…\"})")
            return {}
        if isinstance(value, str):  # a bare string is taken as Chinese
            value = {"zh": value}
        if not isinstance(value, dict):
            self.fail(where, "must be a language map such as {\"zh\": \"…\", \"en\": \"…\"}")
            return {}
        out = {}
        for lang, text in value.items():
            if not LANG_RE.match(str(lang)):
                self.fail(f"{where}.{lang}", "is not a language tag such as zh, en or zh-Hant")
            elif not isinstance(text, str) or not text.strip():
                self.fail(f"{where}.{lang}", "must be non-empty text")
            else:
                out[lang] = text.strip()
        if required and not out and not any(p[0].startswith(where) for p in self.problems):
            self.fail(where, "is required")
        return out

    def items(self, data: dict, key: str, where: str) -> list:
        value = data.get(key) or []
        if not isinstance(value, list):
            self.fail(where, "must be a list")
            return []
        return value

    def strings(self, data: dict, key: str, where: str) -> list[str]:
        out = []
        for i, v in enumerate(self.items(data, key, where)):
            if isinstance(v, str) and v.strip():
                out.append(v.strip())
            else:
                self.fail(f"{where}[{i}]", "must be non-empty text")
        return out

    def raise_if_any(self):
        if self.problems:
            raise ValidationError(self.problems)


@dataclass
class Alias:
    name: str
    type: str = "别名"  # 字, 号, 笔名, 室名, 别名 …


@dataclass
class Agent:
    """A person or organisation; ``role`` says what they did for the item (author, photographer…)."""
    name: LangMap
    type: str = "person"
    aliases: list[Alias] = field(default_factory=list)
    role: str | None = None
    id: str | None = None

    @classmethod
    def read(cls, c: Checker, data, where: str) -> Agent | None:
        if isinstance(data, str):
            data = {"name": data}
        if not isinstance(data, dict):
            c.fail(where, "must be an object with a name")
            return None
        aliases = []
        for i, a in enumerate(c.items(data, "aliases", f"{where}.aliases")):
            a = {"name": a} if isinstance(a, str) else a
            if isinstance(a, dict) and isinstance(a.get("name"), str) and a["name"].strip():
                aliases.append(Alias(a["name"].strip(), str(a.get("type") or "别名")))
            else:
                c.fail(f"{where}.aliases[{i}]", "must have a name")
        return cls(
            name=c.langmap(data, "name", f"{where}.name", required=True),
            type=c.text(data, "type", f"{where}.type", choices=AGENT_TYPES) or "person",
            aliases=aliases,
            role=c.text(data, "role", f"{where}.role"),
            id=c.text(data, "id", f"{where}.id", pattern=ID_RE),
        )


@dataclass
class Place:
    name: LangMap
    aliases: list[str] = field(default_factory=list)
    coordinates: list[float] | None = None  # [latitude, longitude]
    id: str | None = None  # a place authority record's id (authority/), when linked

    @classmethod
    def read(cls, c: Checker, data, where: str) -> Place | None:
        if isinstance(data, str):
            data = {"name": data}
        if not isinstance(data, dict):
            c.fail(where, "must be an object with a name")
            return None
        coords = data.get("coordinates")
        if coords is not None:
            ok = (isinstance(coords, (list, tuple)) and len(coords) == 2
                  and all(isinstance(x, (int, float)) for x in coords)
                  and -90 <= coords[0] <= 90 and -180 <= coords[1] <= 180)
            if not ok:
                c.fail(f"{where}.coordinates", "must be [latitude, longitude] in degrees")
                coords = None
            else:
                coords = [float(coords[0]), float(coords[1])]
        return cls(name=c.langmap(data, "name", f"{where}.name", required=True),
                   aliases=c.strings(data, "aliases", f"{where}.aliases"), coordinates=coords,
                   id=c.text(data, "id", f"{where}.id", pattern=ID_RE))


@dataclass
class File:
    """One stored file of an item. ``path`` is its path inside the item's object."""
    id: str
    path: str
    media_type: str
    size: int
    sha256: str
    role: str = "original"
    sequence: int | None = None  # page or track order
    label: LangMap = field(default_factory=dict)
    access: str | None = None  # None: as the item; else alliance | staff | private
    derived_from: str | None = None  # the original's file id, for derivatives
    purpose: str | None = None  # for derivatives: pyramid, thumbnail, ocr, text, access, poster, waveform …
    tech: dict = field(default_factory=dict)  # technical metadata: width, height, duration, codec, exif …

    @classmethod
    def read(cls, c: Checker, data, where: str) -> File | None:
        if not isinstance(data, dict):
            c.fail(where, "must be an object")
            return None
        size, seq = data.get("size"), data.get("sequence")
        if not isinstance(size, int) or size < 0:
            c.fail(f"{where}.size", "must be a whole number of bytes")
        if seq is not None and (not isinstance(seq, int) or seq < 0):
            c.fail(f"{where}.sequence", "must be a whole number")
        path = c.text(data, "path", f"{where}.path", required=True)
        if path and (path.startswith("/") or any(p in ("", ".", "..") for p in path.split("/"))):
            c.fail(f"{where}.path", f"{path!r} is not a safe relative path")
        return cls(
            id=c.text(data, "id", f"{where}.id", required=True, pattern=ID_RE),
            path=path,
            media_type=c.text(data, "media_type", f"{where}.media_type", required=True, pattern=MEDIA_TYPE_RE),
            size=size,
            sha256=c.text(data, "sha256", f"{where}.sha256", required=True, pattern=re.compile(r"^[0-9a-f]{64}$")),
            role=c.text(data, "role", f"{where}.role", choices=FILE_ROLES) or "original",
            sequence=seq,
            label=c.langmap(data, "label", f"{where}.label"),
            access=c.text(data, "access", f"{where}.access", choices=FILE_ACCESS),
            derived_from=c.text(data, "derived_from", f"{where}.derived_from", pattern=ID_RE),
            purpose=c.text(data, "purpose", f"{where}.purpose"),
            tech=_read_dict(c, data.get("tech"), f"{where}.tech"),
        )


@dataclass
class Item:
    id: str
    kind: str
    title: LangMap
    description: LangMap = field(default_factory=dict)
    creators: list[Agent] = field(default_factory=list)
    contributors: list[Agent] = field(default_factory=list)
    date: dict = field(default_factory=dict)  # {"edtf": "1936", "display": "民国二十五年"}
    places: list[Place] = field(default_factory=list)
    subjects: list[str] = field(default_factory=list)
    language: list[str] = field(default_factory=list)
    extent: str | None = None
    rights: str | None = None
    holding_library: str | None = None
    viewing_direction: str | None = None  # page order for viewers; None: left-to-right
    identifiers: list[str] = field(default_factory=list)  # call numbers, donor numbers …
    collections: list[str] = field(default_factory=list)
    files: list[File] = field(default_factory=list)
    visibility: str = "public"
    embargo_until: str | None = None  # ISO date, with visibility "embargoed"
    withdrawn: dict | None = None  # tombstone: {"at", "by", "reason"}
    about: list[str] = field(default_factory=list)  # authority ids the item is about (subject links)
    mentions: list[dict] = field(default_factory=list)  # confirmed mentions: {"id", "name", "where"}

    @classmethod
    def from_dict(cls, data: dict) -> Item:
        """Validate ``data`` and build an Item, or raise ValidationError listing every problem."""
        c = Checker()
        if not isinstance(data, dict):
            raise ValidationError([("item", "must be a JSON object")])
        known = {f.name for f in dataclasses.fields(cls)}
        for key in data:
            if key not in known:
                c.fail(key, "is not a field of an item")
        item = cls(
            id=c.text(data, "id", "id", required=True, pattern=ID_RE),
            kind=c.text(data, "kind", "kind", required=True, choices=KINDS),
            title=c.langmap(data, "title", "title", required=True),
            description=c.langmap(data, "description", "description"),
            creators=[Agent.read(c, a, f"creators[{i}]") for i, a in enumerate(c.items(data, "creators", "creators"))],
            contributors=[Agent.read(c, a, f"contributors[{i}]")
                          for i, a in enumerate(c.items(data, "contributors", "contributors"))],
            date=read_date(c, data.get("date")),
            places=[Place.read(c, p, f"places[{i}]") for i, p in enumerate(c.items(data, "places", "places"))],
            subjects=c.strings(data, "subjects", "subjects"),
            language=c.strings(data, "language", "language"),
            extent=c.text(data, "extent", "extent"),
            rights=c.text(data, "rights", "rights", pattern=RIGHTS_RE),
            holding_library=c.text(data, "holding_library", "holding_library"),
            viewing_direction=c.text(data, "viewing_direction", "viewing_direction", choices=VIEWING_DIRECTIONS),
            identifiers=c.strings(data, "identifiers", "identifiers"),
            collections=c.strings(data, "collections", "collections"),
            files=[File.read(c, f, f"files[{i}]") for i, f in enumerate(c.items(data, "files", "files"))],
            visibility=c.text(data, "visibility", "visibility", choices=VISIBILITIES) or "public",
            embargo_until=_read_iso_date(c, data.get("embargo_until"), "embargo_until"),
            withdrawn=data.get("withdrawn") or None,
            about=c.strings(data, "about", "about"),
            mentions=_read_mentions(c, c.items(data, "mentions", "mentions")),
        )
        for i, lang in enumerate(item.language):
            if not LANG_RE.match(lang):
                c.fail(f"language[{i}]", f"{lang!r} is not a language tag such as zh, en or wuu")
        if item.visibility == "embargoed" and not data.get("embargo_until"):
            c.fail("embargo_until", "is required when visibility is embargoed")
        ids = [f.id for f in item.files if f]
        for dup in sorted({i for i in ids if ids.count(i) > 1}):
            c.fail("files", f"file id {dup!r} is used twice")
        paths = [f.path for f in item.files if f]
        for dup in sorted({p for p in paths if paths.count(p) > 1}):
            c.fail("files", f"file path {dup!r} is used twice")
        for i, aid in enumerate(item.about):
            if not ID_RE.match(aid):
                c.fail(f"about[{i}]", f"{aid!r} is not an authority id")
        for i, cid in enumerate(item.collections):
            if not ID_RE.match(cid):
                c.fail(f"collections[{i}]", f"{cid!r} is not a collection id")
        c.raise_if_any()
        return item

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    def label(self, lang: str = "zh") -> str:
        return best(self.title, lang) or self.id

    def file(self, file_id: str) -> File | None:
        return next((f for f in self.files if f.id == file_id), None)

    @property
    def originals(self) -> list[File]:
        return sorted((f for f in self.files if f.role == "original"),
                      key=lambda f: (f.sequence is None, f.sequence or 0, f.path))

    def derivatives(self, original_id: str, purpose: str | None = None) -> list[File]:
        """The derivatives made from one original (optionally of one purpose), in page order."""
        return sorted((f for f in self.files if f.derived_from == original_id and purpose in (None, f.purpose)),
                      key=lambda f: (f.sequence or 0, f.path))


@dataclass
class Collection:
    """A named group of items; collections nest through ``parent``."""
    id: str
    title: LangMap
    description: LangMap = field(default_factory=dict)
    parent: str | None = None
    visibility: str = "public"
    embargo_until: str | None = None
    holding_library: str | None = None
    position: int | None = None  # order among its siblings (lowest first; none: after those with one, by id)

    @classmethod
    def from_dict(cls, data: dict) -> Collection:
        c = Checker()
        if not isinstance(data, dict):
            raise ValidationError([("collection", "must be a JSON object")])
        for key in data:
            if key not in {f.name for f in dataclasses.fields(cls)}:
                c.fail(key, "is not a field of a collection")
        col = cls(
            id=c.text(data, "id", "id", required=True, pattern=ID_RE),
            title=c.langmap(data, "title", "title", required=True),
            description=c.langmap(data, "description", "description"),
            parent=c.text(data, "parent", "parent", pattern=ID_RE),
            visibility=c.text(data, "visibility", "visibility", choices=VISIBILITIES) or "public",
            embargo_until=_read_iso_date(c, data.get("embargo_until"), "embargo_until"),
            holding_library=c.text(data, "holding_library", "holding_library"),
            position=data.get("position"),
        )
        if col.position is not None and (not isinstance(col.position, int) or isinstance(col.position, bool)
                                         or col.position < 0):
            c.fail("position", f"must be a whole number of at least 0, not {col.position!r}")
        if col.parent and col.parent == col.id:
            c.fail("parent", "a collection cannot contain itself")
        if col.visibility == "embargoed" and not data.get("embargo_until"):
            c.fail("embargo_until", "is required when visibility is embargoed")
        c.raise_if_any()
        return col

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    def label(self, lang: str = "zh") -> str:
        return best(self.title, lang) or self.id


def best(langmap: LangMap, lang: str = "zh") -> str:
    """The text in ``lang``, else Chinese, else any language."""
    if not langmap:
        return ""
    for key in (lang, lang.split("-")[0], "zh", "zh-Hans", "zh-Hant", "none", "en"):
        if langmap.get(key):
            return langmap[key]
    return next(iter(langmap.values()))


def read_date(c: Checker, value) -> dict:
    """A record's ``date``: {"edtf": …, "display": …} (a bare string is the EDTF date)."""
    if value in (None, "", {}):
        return {}
    if isinstance(value, str):
        value = {"edtf": value}
    if not isinstance(value, dict):
        c.fail("date", "must be {\"edtf\": \"1936\", \"display\": \"民国二十五年\"}")
        return {}
    out = {}
    edtf = c.text(value, "edtf", "date.edtf")
    if edtf:
        if not EDTF_RE.match(edtf) or edtf == "/":
            c.fail("date.edtf", f"{edtf!r} is not an EDTF date (e.g. 1936, 1936-05, 193X, 1911/1949, 1936?)")
        else:
            for part in edtf.split("/"):
                part = part.rstrip("?~%")
                if len(part) == 10 and "X" not in part:
                    try:
                        date.fromisoformat(part)
                    except ValueError:
                        c.fail("date.edtf", f"{part} is not a real calendar date")
            out["edtf"] = edtf
    display = c.text(value, "display", "date.display")
    if display:
        out["display"] = display
    for key in value:
        if key not in ("edtf", "display"):
            c.fail(f"date.{key}", "is not a field of a date (edtf, display)")
    return out


def tech_problems(tech, where: str) -> list[tuple[str, str]]:
    """What is wrong with a file's ``tech`` (an object; the facts of TECH_TYPES of their type)."""
    if not isinstance(tech, dict):
        return [(where, "must be an object")]
    problems = []
    for key, (whole, least) in TECH_TYPES.items():
        value = tech.get(key)
        if value is None:
            continue
        number = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
        if not number or (whole and not isinstance(value, int)) or value < least:
            kind = "a whole number" if whole else "a number"
            problems.append((f"{where}.{key}", f"must be {kind} of at least {least}, not {value!r}"))
    return problems


def _not_finite(value) -> bool:
    if isinstance(value, float):
        return not math.isfinite(value)
    if isinstance(value, dict):
        return any(_not_finite(v) for v in value.values())
    if isinstance(value, (list, tuple)):
        return any(_not_finite(v) for v in value)
    return False


def _read_mentions(c: Checker, values: list) -> list[dict]:
    """Confirmed mentions of authority records in an item's text: {"id", "name", "where"}."""
    mentions = []
    for i, m in enumerate(values):
        if (not isinstance(m, dict) or not isinstance(m.get("id"), str) or not ID_RE.match(m["id"])
                or not isinstance(m.get("name"), str) or not m["name"].strip()):
            c.fail(f"mentions[{i}]", "must be an object with an authority id and a name")
            continue
        mentions.append({"id": m["id"], "name": m["name"].strip(), "where": str(m.get("where") or "")})
    return mentions


def _read_dict(c: Checker, value, where: str) -> dict:
    if value in (None, {}):
        return {}
    if not isinstance(value, dict):
        c.fail(where, "must be an object")
        return {}
    if _not_finite(value):  # metadata.json must stay JSON (RFC 8259 has no NaN or Infinity)
        c.fail(where, "must not hold NaN or infinite numbers")
    return value


def _read_iso_date(c: Checker, value, where: str) -> str | None:
    if value in (None, ""):
        return None
    try:
        return date.fromisoformat(str(value)).isoformat()
    except ValueError:
        c.fail(where, f"{value!r} is not a date in the form YYYY-MM-DD")
        return None


def loads_text(data: str | bytes):
    """``json.loads`` of what others send (request bodies, members' answers): text only. A lone
    surrogate (a "\\ud800" escape of no character, which no file or database can store, and no
    page can show) makes it invalid: ValueError, as for any other invalid JSON."""
    return text_only(json.loads(data))


def text_only(value):
    """``value`` (parsed JSON) if all its strings are text, else ValueError naming the surrogate."""
    try:
        json.dumps(value, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError as exc:
        raise ValueError(f"a lone surrogate (\\u{ord(exc.object[exc.start]):04x}) is not a character") from None
    return value

