"""OAI-PMH 2.0 data provider (http://www.openarchives.org/OAI/2.0/openarchivesprotocol.htm).

All six verbs, ``oai_dc`` and MODS 3.7 (``alliance.dc``, ``alliance.mods``). Harvesters see what the
one access policy lets a *harvester* see (``harvester``): anonymous ones the public items, a Bearer
token that reads alliance material also the alliance items; never staff, embargoed, private or
withdrawn items, nor an item whose ingest is unfinished, whoever asks.

* Records: one per item, ``oai:<repositoryIdentifier>:<item id>``; datestamp: the time of the
  item's last version, or of the day its embargo ended when that is later (§2.7.1: a record
  changes when it becomes visible). Seconds granularity, days accepted in from/until (§3.3).
* Deleted records are persistent (§2.5.1): an item some version of which the harvester could see
  and which it may no longer see — withdrawn, purged (``Archive.purge_records``), or restricted
  beyond it — answers a header with status="deleted", dated by the change. For a harvester that
  copied it, that is the signal to drop it; one that never could see it never hears of it.
* Sets (§2.6): collections, nested as ``parent:child`` (an item in ``a:b`` is in set ``a`` too,
  §2.7.2), and ``kind:<kind>`` under ``kind``; only collections the harvester may see (with all
  their parents) are sets, so a staff collection's id never appears.
* Lists are ordered by (datestamp, id) and a resumptionToken (§3.5) carries the request, the last
  (datestamp, id) sent, the cursor and its expiry, signed with HMAC-SHA256: no server state, so
  tokens survive restarts. The first request fixes ``until`` at its own time: a record changed
  during a harvest moves past it instead of shifting the rest, so paging never skips or repeats
  records (the next incremental harvest, from this responseDate, sees the change). A token is
  bound to the access level it was made for.
"""
from __future__ import annotations

import base64
import bisect
import hashlib
import hmac
import json
import re
import time
import weakref
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from typing import Callable

from lxml import etree

from repository import access
from repository.access import ANONYMOUS, User
from repository.errors import RepositoryError
from repository.model import Collection, File, Item, best
from repository.vocab import KINDS

from . import dc, mods

NS = "http://www.openarchives.org/OAI/2.0/"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
SCHEMA_LOCATION = f"{NS} http://www.openarchives.org/OAI/2.0/OAI-PMH.xsd"
GRANULARITY = "YYYY-MM-DDThh:mm:ssZ"
FORMATS = {"oai_dc": (dc.SCHEMA, dc.NS, dc.record), "mods": (mods.SCHEMA, mods.NS, mods.record)}
# verb → (required arguments, optional ones); resumptionToken is exclusive (§3.5, §4)
VERBS = {
    "Identify": ((), ()),
    "ListMetadataFormats": ((), ("identifier",)),
    "ListSets": ((), ("resumptionToken",)),
    "GetRecord": (("identifier", "metadataPrefix"), ()),
    "ListIdentifiers": (("metadataPrefix",), ("from", "until", "set", "resumptionToken")),
    "ListRecords": (("metadataPrefix",), ("from", "until", "set", "resumptionToken")),
}
# The XSD's setSpecType and metadataPrefixType; text XML 1.0 can carry (§2.2 of XML 1.0).
SET_SPEC = re.compile(r"^[A-Za-z0-9\-_.!~*'()]+(:[A-Za-z0-9\-_.!~*'()]+)*$")
PREFIX = re.compile(r"^[A-Za-z0-9\-_.!~*'()]+$")
XML_TEXT = re.compile("^[\u0009\u000a\u000d\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]*$")
DAY = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")
SECOND = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z$")
# identifierType is xs:anyURI: checked by the same validator (libxml2) that checks answers
_URI = etree.XMLSchema(etree.XML('<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema">'
                                 '<xs:element name="u" type="xs:anyURI"/></xs:schema>'))
MAX_TOKEN = 1024  # characters: ours are ~250; longer ones are refused unread
KIND_SET = "kind"  # the parent set of the kinds: a collection with this id (and its sub-collections) is no set

_seen = weakref.WeakKeyDictionary()  # archive → {(item id, version, updated): levels any version had}


class OAIError(Exception):
    """An OAI-PMH error condition (§3.6): its code and a message for the harvester."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code, self.message = code, message


@dataclass(frozen=True)
class Header:
    item_id: str
    datestamp: str
    sets: tuple[str, ...]
    deleted: bool = False

    @property
    def key(self) -> tuple[str, str]:
        return self.datestamp, self.item_id


@dataclass(frozen=True)
class State:
    """What decides whether an item is visible (duck-types an Item for the access policy)."""
    visibility: str
    embargo_until: str | None
    withdrawn: bool


@dataclass
class Links:
    """Absolute URLs of an item's page, IIIF manifest and files (from the web layer)."""
    page: Callable[[str], str]
    manifest: Callable[[str], str]
    file: Callable[[str, str], str]


@dataclass
class Harvest:
    """One request's context: whom it is for and where this repository is."""
    user: User  # a harvester (``harvester``): reads public, or public and alliance material
    base_url: str
    repository_id: str
    secret: bytes
    links: Links
    unfinished: frozenset[str] = frozenset()  # items whose ingest is unfinished: not published
    now: datetime = field(default_factory=lambda: datetime.now(timezone.utc))

    @property
    def level(self) -> str:
        return "alliance" if "alliance" in access.visible_levels(self.user) else "public"


@dataclass
class Context:
    """What a record's metadata says beyond the item: where it is and what it is part of."""
    identifier: str  # the OAI identifier
    datestamp: str
    page: str  # the item's page
    manifest: str  # its IIIF Presentation 3.0 manifest
    thumbnail: str | None
    files: list[File]  # the files the harvester may see
    collections: list[Collection]  # the sets it is in, innermost collections
    source: str  # this repository's name


ALLIANCE_HARVESTER = User("oai-harvester:alliance", frozenset({"member"}))


def harvester(user: User, *, bearer: bool) -> User:
    """Whom an OAI-PMH request harvests as: a Bearer token that reads alliance material reads
    public and alliance material; everyone else (sessions included) what anonymous readers read.
    Never more, whatever the token: staff material is not published by OAI-PMH."""
    return ALLIANCE_HARVESTER if bearer and "alliance" in access.visible_levels(user) else ANONYMOUS


def stamp(when: datetime) -> str:
    return when.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _to_stamp(at: str) -> str:
    """An ISO time from storage (…Z or +00:00, maybe with fractions) as a seconds datestamp."""
    if SECOND.match(at):
        return at
    return stamp(datetime.fromisoformat(at.replace("Z", "+00:00")))


class Provider:
    """The repository as OAI-PMH answers it: ``respond(args, harvest)`` → XML bytes."""

    def __init__(self, archive, *, name: str, admin_email: str = "", page_size: int = 100,
                 token_hours: float = 24):
        self.archive, self.name, self.admin_email = archive, name, admin_email
        self.page_size, self.token_seconds = max(1, page_size), int(token_hours * 3600)
        self._headers: dict[str, tuple] = {}  # level → (what they were made from, headers)

    # --- the request -------------------------------------------------------------------------

    def respond(self, pairs: list[tuple[str, str]], harvest: Harvest) -> bytes:
        """The answer to the arguments ``pairs`` (as sent, repeated ones included)."""
        root = etree.Element(f"{{{NS}}}OAI-PMH", nsmap={None: NS, "xsi": XSI})
        root.set(f"{{{XSI}}}schemaLocation", SCHEMA_LOCATION)
        etree.SubElement(root, f"{{{NS}}}responseDate").text = stamp(harvest.now)
        request = etree.SubElement(root, f"{{{NS}}}request")
        request.text = harvest.base_url
        try:
            verb, args = self._arguments(pairs)
        except OAIError as error:  # §3.6: after badVerb and badArgument the request element has no attributes
            self._error(root, error)
            return _serialise(root)
        for name, value in [("verb", verb), *sorted(args.items())]:
            if name != "resumptionToken" or len(value) <= MAX_TOKEN:
                request.set(name, value)
        try:
            getattr(self, verb)(root, args, harvest)
        except OAIError as error:
            for child in root[2:]:
                root.remove(child)
            self._error(root, error)
        return _serialise(root)

    @staticmethod
    def _arguments(pairs) -> tuple[str, dict]:
        names = [name for name, _ in pairs]
        verbs = [value for name, value in pairs if name == "verb"]
        if len(verbs) != 1 or verbs[0] not in VERBS:
            raise OAIError("badVerb", "verb is missing or repeated" if len(verbs) != 1 else
                           "the value of verb is not an OAI-PMH verb")
        verb = verbs[0]
        required, optional = VERBS[verb]
        args = {name: value for name, value in pairs if name != "verb"}
        repeated = sorted({n for n in names if names.count(n) > 1})
        if repeated:
            raise OAIError("badArgument", f"repeated argument: {', '.join(repeated)}")
        unknown = sorted(set(args) - set(required) - set(optional))
        if unknown:
            raise OAIError("badArgument", f"{verb} takes no argument {', '.join(unknown)}")
        if not all(XML_TEXT.match(v) for v in args.values()):
            raise OAIError("badArgument", "an argument holds characters XML cannot carry")
        if "resumptionToken" in args:
            if len(args) > 1:
                raise OAIError("badArgument", "resumptionToken is an exclusive argument: send it alone with verb")
        else:
            missing = [n for n in required if not args.get(n)]
            if missing:
                raise OAIError("badArgument", f"{verb} requires {', '.join(missing)}")
        if "metadataPrefix" in args and not PREFIX.match(args["metadataPrefix"]):
            raise OAIError("badArgument", "metadataPrefix has an illegal syntax")
        if "set" in args and not SET_SPEC.match(args["set"]):
            raise OAIError("badArgument", "set is not a setSpec (e.g. parent:child)")
        if "identifier" in args and not _is_uri(args["identifier"]):
            raise OAIError("badArgument", "identifier is not a URI (oai:<repository>:<item id>)")
        _window(args.get("from"), args.get("until"), datetime.now(timezone.utc))  # illegal dates: badArgument
        return verb, args

    def _error(self, root, error: OAIError) -> None:
        node = etree.SubElement(root, f"{{{NS}}}error", code=error.code)
        node.text = error.message

    # --- the verbs (§4) ----------------------------------------------------------------------

    def Identify(self, root, args, harvest):
        node = etree.SubElement(root, f"{{{NS}}}Identify")
        headers = self.headers(harvest)
        earliest = min((h.datestamp for h in headers), default=stamp(harvest.now))
        host = harvest.repository_id.split(":")[0].strip("[]")
        email = self.admin_email or f"archive@{host if '.' in host else host + '.localdomain'}"
        for name, value in (("repositoryName", self.name), ("baseURL", harvest.base_url), ("protocolVersion", "2.0"),
                            ("adminEmail", email), ("earliestDatestamp", earliest),
                            ("deletedRecord", "persistent"), ("granularity", GRANULARITY), ("compression", "gzip")):
            etree.SubElement(node, f"{{{NS}}}{name}").text = value  # gzip: §3.1.3, web.oai_views

    def ListMetadataFormats(self, root, args, harvest):
        if "identifier" in args:
            self._find(args["identifier"], harvest)  # idDoesNotExist; every record has both formats
        node = etree.SubElement(root, f"{{{NS}}}ListMetadataFormats")
        for prefix, (schema, namespace, _) in FORMATS.items():
            fmt = etree.SubElement(node, f"{{{NS}}}metadataFormat")
            for name, value in (("metadataPrefix", prefix), ("schema", schema), ("metadataNamespace", namespace)):
                etree.SubElement(fmt, f"{{{NS}}}{name}").text = value

    def ListSets(self, root, args, harvest):
        if "resumptionToken" in args:  # the whole list is sent at once: no token was ever given
            raise OAIError("badResumptionToken", "ListSets answers are complete: this repository gave no token")
        node = etree.SubElement(root, f"{{{NS}}}ListSets")
        collections = self._collections(harvest)
        sets = [(spec, col.title, col.description) for spec, col in collections.items()]
        sets.append((KIND_SET, {"zh": "类型", "en": "Kinds"}, {}))
        sets += [(f"{KIND_SET}:{kind}", {"zh": zh, "en": en}, {}) for kind, (zh, en) in KINDS.items()]
        for spec, title, description in sorted(sets, key=lambda s: s[0]):
            entry = etree.SubElement(node, f"{{{NS}}}set")
            etree.SubElement(entry, f"{{{NS}}}setSpec").text = spec
            etree.SubElement(entry, f"{{{NS}}}setName").text = best(title)
            about = etree.SubElement(entry, f"{{{NS}}}setDescription")
            about.append(dc.describe(title, description))

    def GetRecord(self, root, args, harvest):
        header = self._find(args["identifier"], harvest)
        prefix = self._format(args["metadataPrefix"])
        node = etree.SubElement(root, f"{{{NS}}}GetRecord")
        self._record(node, header, prefix, harvest, self._collections(harvest))

    def ListIdentifiers(self, root, args, harvest):
        self._list(root, args, harvest, records=False)

    def ListRecords(self, root, args, harvest):
        self._list(root, args, harvest, records=True)

    # --- lists and tokens --------------------------------------------------------------------

    def _list(self, root, args, harvest, *, records: bool):
        verb = "ListRecords" if records else "ListIdentifiers"
        if "resumptionToken" in args:
            query = self._read_token(args["resumptionToken"], verb, harvest)
        else:
            query = {"p": self._format(args["metadataPrefix"]), "s": args.get("set"), "c": 0, "k": None,
                     **_window(args.get("from"), args.get("until"), harvest.now)}
        found = [h for h in self.headers(harvest) if query["f"] <= h.datestamp <= query["u"] and _in_set(h, query["s"])]
        start = bisect.bisect_right([h.key for h in found], tuple(query["k"])) if query["k"] else 0
        page = found[start:start + self.page_size]
        if not page:
            raise OAIError("noRecordsMatch", "no record matches these from, until, set and metadataPrefix")
        node = etree.SubElement(root, f"{{{NS}}}{verb}")
        collections = self._collections(harvest)
        for header in page:
            if records:
                self._record(node, header, query["p"], harvest, collections)
            else:
                self._header(node, header, harvest)
        rest = len(found) - start - len(page)
        if query["c"] or rest:  # §3.5: every answer of an incomplete list has one, the last one empty
            token = etree.SubElement(node, f"{{{NS}}}resumptionToken", completeListSize=str(query["c"] + len(found) - start),
                                     cursor=str(query["c"]))
            if rest:
                expires = harvest.now + timedelta(seconds=self.token_seconds)
                token.set("expirationDate", stamp(expires))
                token.text = self._make_token({**query, "v": verb, "l": harvest.level, "c": query["c"] + len(page),
                                               "k": list(page[-1].key), "e": int(expires.timestamp())}, harvest)

    def _make_token(self, payload: dict, harvest: Harvest) -> str:
        body = base64.urlsafe_b64encode(json.dumps(payload, separators=(",", ":")).encode()).rstrip(b"=")
        return (body + b"." + _sign(body, harvest.secret)).decode()

    def _read_token(self, token: str, verb: str, harvest: Harvest) -> dict:
        bad = OAIError("badResumptionToken", "the resumptionToken is invalid or has expired: start the list again")
        body, _, signature = token.encode().partition(b".")
        if len(token) > MAX_TOKEN or not hmac.compare_digest(signature, _sign(body, harvest.secret)):
            raise bad
        try:
            query = json.loads(base64.urlsafe_b64decode(body + b"=" * (-len(body) % 4)))
            if query["v"] != verb or query["l"] != harvest.level or query["e"] < time.time():
                raise bad
            return query
        except (ValueError, KeyError, TypeError):
            raise bad from None

    def _format(self, prefix: str) -> str:
        if prefix not in FORMATS:
            raise OAIError("cannotDisseminateFormat", f"no metadata format {prefix}: choose {', '.join(FORMATS)}")
        return prefix

    # --- records -----------------------------------------------------------------------------

    def headers(self, harvest: Harvest) -> list[Header]:
        """Every record this harvester may know of, live or deleted, ordered by (datestamp, id);
        made again only when what they are made of changed: the items (``items_stamp``), purges,
        collections, unfinished ingests or the day (embargoes)."""
        specs = {col.id: spec for spec, col in self._collections(harvest).items()}
        made_from = (self.archive.catalog.items_stamp(), len(self.archive.purge_records()), self.archive.today(),
                     tuple(sorted(specs.items())), harvest.unfinished)
        cached = self._headers.get(harvest.level)
        if cached is None or cached[0] != made_from:
            headers = self._make_headers(harvest, specs)
            cached = self._headers[harvest.level] = (made_from, headers)
        return cached[1]

    def _make_headers(self, harvest: Harvest, specs: dict[str, str]) -> list[Header]:
        user, today = harvest.user, self.archive.today()
        levels = access.visible_levels(user)
        found: dict[str, Header] = {}

        def sets(kind, collections) -> tuple[str, ...]:
            return tuple(specs[c] for c in collections if c in specs) + ((f"{KIND_SET}:{kind}",) if kind else ())

        for purge in self.archive.purge_records():
            kind, _, item_id = purge["object_id"].partition(":")
            seen = set(purge.get("seen", ["public"] if purge.get("public") else []))
            if kind == "item" and seen & levels:
                found[item_id] = Header(item_id, _to_stamp(purge["at"]), sets(purge.get("kind"), purge.get("collections", ())),
                                        deleted=True)
        for row in self.archive.catalog.item_states():
            if row["id"] in harvest.unfinished:
                continue
            state = State(row["visibility"], row["embargo_until"], row["withdrawn"])
            datestamp = _to_stamp(row["updated"])
            if access.can_view_item(user, state, today=today):
                if state.visibility == "embargoed" and state.embargo_until:  # visible since the embargo ended
                    datestamp = max(datestamp, f"{state.embargo_until}T00:00:00Z")
                found[row["id"]] = Header(row["id"], datestamp, sets(row["kind"], row["collections"]))
            elif self._seen(row) & levels:
                found[row["id"]] = Header(row["id"], datestamp, sets(row["kind"], row["collections"]), deleted=True)
        return sorted(found.values(), key=lambda h: h.key)

    def _seen(self, row: dict) -> frozenset[str]:
        cache = _seen.setdefault(self.archive, {})
        key = (row["id"], row["version"], row["updated"])
        if key not in cache:
            try:
                cache[key] = self.archive.seen_levels(row["id"])
            except (RepositoryError, KeyError):  # purged meanwhile
                return frozenset()
        return cache[key]

    def _collections(self, harvest: Harvest) -> dict[str, Collection]:
        """setSpec → collection, for the collections this harvester may see with all their parents."""
        visible = {c.id: c for c in self.archive.list_collections(user=harvest.user)}
        out = {}
        for col in visible.values():
            chain, parent = [col.id], col.parent
            while parent and parent in visible and parent not in chain:
                chain.append(parent)
                parent = visible[parent].parent
            spec = ":".join(reversed(chain))
            if not parent and spec.split(":")[0] != KIND_SET:  # "kind" is the kinds' set, not a collection's
                out[spec] = col
        return out

    def _find(self, identifier: str, harvest: Harvest) -> Header:
        prefix = f"oai:{harvest.repository_id}:"
        item_id = identifier[len(prefix):] if identifier.startswith(prefix) else None
        header = next((h for h in self.headers(harvest) if h.item_id == item_id), None) if item_id else None
        if header is None:
            raise OAIError("idDoesNotExist", f"no record {identifier} in this repository")
        return header

    def _header(self, parent, header: Header, harvest: Harvest):
        node = etree.SubElement(parent, f"{{{NS}}}header")
        if header.deleted:
            node.set("status", "deleted")
        etree.SubElement(node, f"{{{NS}}}identifier").text = f"oai:{harvest.repository_id}:{header.item_id}"
        etree.SubElement(node, f"{{{NS}}}datestamp").text = header.datestamp
        for spec in header.sets:
            etree.SubElement(node, f"{{{NS}}}setSpec").text = spec
        return node

    def _record(self, parent, header: Header, prefix: str, harvest: Harvest, collections: dict):
        node = etree.SubElement(parent, f"{{{NS}}}record")
        self._header(node, header, harvest)
        if header.deleted:
            return
        try:
            item = self.archive.get_item(header.item_id, user=harvest.user).value  # the policy, again
        except RepositoryError:  # restricted, withdrawn or purged since the headers were made
            node[0].set("status", "deleted")
            return
        files = self.archive.visible_files(item, user=harvest.user)
        in_sets = {c.id: c for c in collections.values()}
        context = Context(identifier=f"oai:{harvest.repository_id}:{item.id}", datestamp=header.datestamp,
                               page=harvest.links.page(item.id), manifest=harvest.links.manifest(item.id),
                               thumbnail=_thumbnail(item, files, harvest.links), files=files,
                               collections=[in_sets[c] for c in item.collections if c in in_sets],
                               source=self.name)
        etree.SubElement(node, f"{{{NS}}}metadata").append(FORMATS[prefix][2](item, context))


def _serialise(root) -> bytes:
    return b'<?xml version="1.0" encoding="UTF-8"?>\n' + etree.tostring(root, encoding="UTF-8")


def _is_uri(value: str) -> bool:
    node = etree.Element("u")
    node.text = value
    return bool(value) and _URI.validate(node)


def _sign(body: bytes, secret: bytes) -> bytes:
    key = hashlib.sha256(b"fangzhi oai-pmh resumptionToken\0" + secret).digest()
    return base64.urlsafe_b64encode(hmac.new(key, body, hashlib.sha256).digest()).rstrip(b"=")


def _date_arg(value: str | None, name: str, end: bool) -> tuple[str | None, str | None]:
    """(seconds datestamp, granularity) of a from/until argument (§3.3.1); a day means its first
    (from) or last (until) second."""
    if value is None:
        return None, None
    try:
        if DAY.match(value):
            date.fromisoformat(value)
            return f"{value}T{'23:59:59' if end else '00:00:00'}Z", "day"
        if SECOND.match(value):
            datetime.strptime(value, "%Y-%m-%dT%H:%M:%SZ")
            return value, "second"
    except ValueError:
        pass
    raise OAIError("badArgument", f"{name} is not a date (YYYY-MM-DD) or time (YYYY-MM-DDThh:mm:ssZ) in UTC")


def _window(since: str | None, until: str | None, now: datetime) -> dict:
    """The datestamps a list covers; ``until`` at most the request's own second (see above)."""
    start, first = _date_arg(since, "from", False)
    end, second = _date_arg(until, "until", True)
    if first and second and first != second:
        raise OAIError("badArgument", "from and until must have the same granularity")
    if start and end and start > end:
        raise OAIError("badArgument", "from is later than until")
    return {"f": start or "", "u": min(end or stamp(now), stamp(now))}


def _in_set(header: Header, spec: str | None) -> bool:
    return spec is None or any(s == spec or s.startswith(spec + ":") for s in header.sets)


def _thumbnail(item: Item, files: list[File], links: Links) -> str | None:
    images = [f for f in files if f.media_type in ("image/jpeg", "image/png", "image/webp", "image/gif")]
    chosen = next((f for f in images if f.purpose == "thumbnail"), images[0] if images else None)
    return links.file(item.id, chosen.id) if chosen else None
