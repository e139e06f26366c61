"""The member registry: the libraries whose catalogues this Fangzhi harvests, and how each harvest went.

Primary operational state like the accounts (it is not in the object store and ``fangzhi rebuild``
does not touch it): DATA_DIR/alliance.sqlite3, readable by its owner only (mode 0600) because it
holds the tokens this library presents to the members.
"""
from __future__ import annotations

import os
import re
import sqlite3
from dataclasses import asdict, dataclass, fields
from datetime import datetime, timezone
from pathlib import Path
from urllib.parse import urlsplit

from repository.errors import Conflict, NotFound, ValidationError
from storage.sqlite import SQLiteDatabase

NAME_RE = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")  # a slug: it appears in URLs, storage keys and facets
STATUS_FIELDS = ("last_attempt", "last_success", "records", "error", "harvest_from", "discovery_cursor")

SCHEMA = """
CREATE TABLE IF NOT EXISTS members (
    name TEXT PRIMARY KEY, oai_url TEXT NOT NULL, api_url TEXT, token TEXT, label_zh TEXT NOT NULL,
    label_en TEXT NOT NULL, added TEXT NOT NULL, last_attempt TEXT, last_success TEXT,
    records INTEGER NOT NULL DEFAULT 0, error TEXT, harvest_from TEXT, discovery_cursor TEXT
);
"""


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


class Members(SQLiteDatabase):
    """SQLite store of the members (DATA_DIR/alliance.sqlite3)."""

    def __init__(self, path: str | Path):
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch(mode=0o600, exist_ok=True)
        os.chmod(path, 0o600)  # it holds tokens
        super().__init__(path, SCHEMA)

    @staticmethod
    def _member(row) -> Member:
        return Member(**{f.name: row[f.name] for f in fields(Member)})

    def add(self, member: Member) -> Member:
        values = asdict(member)
        try:
            with self._db() as db:
                db.execute(f"INSERT INTO members ({', '.join(values)}) VALUES ({', '.join('?' * len(values))})",
                           tuple(values.values()))
        except sqlite3.IntegrityError:
            raise Conflict(f"a member named {member.name} already exists") from None
        return member

    def remove(self, name: str) -> None:
        with self._db() as db:
            if not db.execute("DELETE FROM members WHERE name = ?", (name,)).rowcount:
                raise NotFound(f"no member {name}")

    def get(self, name: str) -> Member:
        row = self._db().execute("SELECT * FROM members WHERE name = ?", (name,)).fetchone()
        if row is None:
            raise NotFound(f"no member {name}")
        return self._member(row)

    def list(self) -> list[Member]:
        return [self._member(r) for r in self._db().execute("SELECT * FROM members ORDER BY name")]

    def update_status(self, name: str, **status) -> Member:
        unknown = set(status) - set(STATUS_FIELDS)
        if unknown:
            raise ValueError(f"not harvest status fields: {sorted(unknown)}")
        if status:
            with self._db() as db:
                if not db.execute(f"UPDATE members SET {', '.join(f'{k} = ?' for k in status)} WHERE name = ?",
                                  (*status.values(), name)).rowcount:
                    raise NotFound(f"no member {name}")
        return self.get(name)
