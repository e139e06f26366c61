"""The member registry: the libraries whose catalogues this Fangzhi harvests, and how each harvest went.

Primary operational state like the accounts (it is not in the object store and ``fangzhi rebuild``
does not touch it): the table ``members`` in the database (DATABASE_URL), which holds the tokens
this library presents to the members, as it holds the accounts' secrets.
"""
from __future__ import annotations

import re
from dataclasses import asdict, dataclass, fields
from datetime import datetime, timezone
from urllib.parse import urlsplit

from sqlalchemy import Column, Integer, Table, select

from repository.errors import Conflict, NotFound, ValidationError
from storage.database import TEXT, Database, metadata

NAME_RE = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")  # a slug: it appears in URLs, storage keys and facets
STATUS_FIELDS = ("last_attempt", "last_success", "records", "error", "harvest_from", "discovery_cursor")

members = Table(
    "members", metadata,
    Column("name", TEXT, primary_key=True), Column("oai_url", TEXT, nullable=False), Column("api_url", TEXT),
    Column("token", TEXT), Column("label_zh", TEXT, nullable=False), Column("label_en", TEXT, nullable=False),
    Column("added", TEXT, nullable=False), Column("last_attempt", TEXT), Column("last_success", TEXT),
    Column("records", Integer, nullable=False, server_default="0"), Column("error", TEXT),
    Column("harvest_from", TEXT), Column("discovery_cursor", TEXT))
TABLES = [members]


def _now() -> str:
    return datetime.now(timezone.utc).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def _http_url(value: str, field: str) -> str:
    parts = urlsplit(value or "")
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValidationError([(field, f"needs an http:// or https:// address, not {value!r}")])
    return value.rstrip("/")


def api_url_for(oai_url: str) -> str | None:
    """A Fangzhi member's base URL from its OAI-PMH address (…/oai → …); None for other repositories."""
    return oai_url[:-len("/oai")] if oai_url.rstrip("/").endswith("/oai") else None


@dataclass
class Member:
    name: str  # slug
    oai_url: str
    api_url: str | None = None  # the member's Fangzhi base URL (for /api/search, /iiif/discovery), None if not Fangzhi
    token: str | None = None  # the Bearer token WE present to the member (scope read-alliance on their side)
    label_zh: str = ""
    label_en: str = ""
    added: str = ""
    # how harvesting went
    last_attempt: str | None = None
    last_success: str | None = None
    records: int = 0
    error: str | None = None
    harvest_from: str | None = None  # datestamp cursor of the next incremental harvest (None: full)
    discovery_cursor: str | None = None  # the newest Change Discovery activity time seen

    def __post_init__(self):
        if not NAME_RE.match(self.name or ""):
            raise ValidationError([("name", f"a member name is lower-case letters, digits and hyphens (at most 63), not {self.name!r}")])
        self.oai_url = _http_url(self.oai_url, "oai")
        self.api_url = _http_url(self.api_url, "api") if self.api_url else api_url_for(self.oai_url)
        self.token = self.token or None
        self.label_zh = self.label_zh or self.name
        self.label_en = self.label_en or self.label_zh
        self.added = self.added or _now()

    def label(self, lang: str) -> str:
        return self.label_en if lang.startswith("en") else self.label_zh

    @property
    def public(self) -> dict:
        """What may be shown or exported: everything but the token."""
        return {k: v for k, v in asdict(self).items() if k != "token"}


class Members:
    """The members, in the database's table ``members``."""

    def __init__(self, database: Database):
        self.db = database

    @staticmethod
    def _member(row) -> Member:
        return Member(**{f.name: getattr(row, f.name) for f in fields(Member)})

    def add(self, member: Member) -> Member:
        with self.db.begin() as db:
            added = db.execute(self.db.insert(members).values(asdict(member)).on_conflict_do_nothing()
                               .returning(members.c.name)).first()
        if added is None:
            raise Conflict(f"a member named {member.name} already exists")
        return member

    def remove(self, name: str) -> None:
        with self.db.begin() as db:
            if not db.execute(members.delete().where(members.c.name == name)).rowcount:
                raise NotFound(f"no member {name}")

    def get(self, name: str) -> Member:
        with self.db.connect() as db:
            row = db.execute(select(members).where(members.c.name == name)).first()
        if row is None:
            raise NotFound(f"no member {name}")
        return self._member(row)

    def list(self) -> list[Member]:
        with self.db.connect() as db:
            return [self._member(r) for r in db.execute(select(members).order_by(members.c.name))]

    def update_status(self, name: str, **status) -> Member:
        unknown = set(status) - set(STATUS_FIELDS)
        if unknown:
            raise ValueError(f"not harvest status fields: {sorted(unknown)}")
        if status:
            with self.db.begin() as db:
                if not db.execute(members.update().where(members.c.name == name).values(**status)).rowcount:
                    raise NotFound(f"no member {name}")
        return self.get(name)
