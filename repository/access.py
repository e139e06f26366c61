"""The access policy: the one place that decides who may see an item, a collection or a file.

Every read path — web pages, API, IIIF, search, OAI-PMH, exports — asks ``can_view_item`` /
``can_view_file`` here, or filters with ``visible_levels`` (which states the same rule for
queries: a test checks that both agree for every case).

Rule: each visibility is a *level*. An embargoed record is at level "embargoed" until its
``embargo_until`` date and at level "public" from that date on, so an embargo lifts by itself.
A user sees a record when its effective level is among the levels their roles grant. A
withdrawn item is seen only by those who may manage the archive (admin, archivist).
A file restricted beyond its item needs both the item's level and the file's own level.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

ROLES = ("admin", "archivist", "curator", "member", "researcher")

# Which levels each role may see. Anonymous users see only "public".
ROLE_LEVELS: dict[str, frozenset[str]] = {
    "admin": frozenset({"public", "alliance", "staff", "embargoed", "private"}),
    "archivist": frozenset({"public", "alliance", "staff", "embargoed"}),
    "curator": frozenset({"public", "alliance"}),
    "member": frozenset({"public", "alliance"}),
    "researcher": frozenset({"public"}),
    # Roles only API tokens act with (their scopes, repository.accounts.SCOPES), never an account's:
    # reading what archivists read, and writing (which never widens what a token reads).
    "staff-reader": frozenset({"public", "alliance", "staff", "embargoed"}),
    "writer": frozenset({"public"}),
}
MANAGERS = frozenset({"admin", "archivist"})
STAFF = frozenset({"admin", "archivist", "curator"})  # the roles of the staff area (/admin)
EDITORS = MANAGERS | {"writer"}
CURATORS = MANAGERS | {"curator"}  # who make exhibitions (and see their drafts); curators edit no item
# An interview and the transcript files it was read from hold its restricted passages: staff only.
STAFF_SUPPLEMENTS = ("interview", "transcript-source")


@dataclass(frozen=True)
class User:
    name: str = "anonymous"
    roles: frozenset[str] = field(default_factory=frozenset)

    @property
    def is_anonymous(self) -> bool:
        return not self.roles

    def has_role(self, *roles: str) -> bool:
        return bool(self.roles.intersection(roles))


ANONYMOUS = User()
SYSTEM = User("system", frozenset({"admin"}))


def visible_levels(user: User) -> frozenset[str]:
    levels = {"public"}
    for role in user.roles:
        levels |= ROLE_LEVELS.get(role, frozenset())
    return frozenset(levels)


def effective_level(visibility: str, embargo_until: str | None, today: date) -> str:
    if visibility == "embargoed":
        if embargo_until and date.fromisoformat(embargo_until) <= today:
            return "public"
        return "embargoed"
    return visibility


def can_manage(user: User) -> bool:
    """Admins and archivists manage the archive (see withdrawn and every staff record); so do
    tokens with the read-staff scope, for reading."""
    return user.has_role(*MANAGERS, "staff-reader")


def can_edit(user: User) -> bool:
    """Admins, archivists and write tokens create and change items and collections."""
    return user.has_role(*EDITORS)


def can_curate(user: User) -> bool:
    """Admins, archivists and curators make, preview and publish exhibitions (signed-in sessions:
    no token scope grants it). What an exhibition shows is still decided per item by this policy."""
    return user.has_role(*CURATORS)


def is_staff(user: User) -> bool:
    """Staff see how a record was made: who made each version and why (its OCFL ``user`` and
    ``message``) and an unfinished ingest; readers see only version numbers and dates."""
    return user.has_role(*STAFF, "staff-reader")


def can_view_record(user: User, record, *, today: date | None = None) -> bool:
    """Item or Collection: may ``user`` see it today?"""
    today = today or date.today()
    if getattr(record, "withdrawn", None) and not can_manage(user):
        return False
    return effective_level(record.visibility, record.embargo_until, today) in visible_levels(user)


can_view_item = can_view_collection = can_view_record


def can_view_file(user: User, item, file, *, today: date | None = None) -> bool:
    """May ``user`` see (download, view images of) ``file`` of ``item``?"""
    if not can_view_record(user, item, today=today):
        return False
    return all(level is None or level in visible_levels(user) for level in file_levels(item, file))


def file_levels(item, file) -> list[str | None]:
    """The restrictions on a file: its own and, for a derivative (thumbnail, OCR, access copy),
    its original's: a derivative is never easier to see than what it was made from.

    Restricted passages (oral history): a recording whose interview has restricted segments is
    for staff, with all its derivatives, except its redacted copies (``tech.redacted``, the spans
    silenced), which keep the levels the recording would have without this rule. So is a
    recording whose transcripts are not read yet (its interview may restrict passages). The
    interview data and its transcript sources are for staff whatever their own access says."""
    files, closed = _index(item)
    original = files.get(file.derived_from) if file.derived_from else None
    levels = [file.access, original.access if original else None]
    if (original or file).id in closed and not file.tech.get("redacted"):
        levels.append("staff")
    if file.role == "supplement" and file.purpose in STAFF_SUPPLEMENTS:
        levels.append("staff")  # whatever its own access says: readers get the interview's public view
    return levels


def _index(item) -> tuple[dict, frozenset]:
    """The item's files by id and its closed recordings, worked out once per (immutable) item."""
    cached = item.__dict__.get("_access_index")
    if cached is None:
        files = {f.id: f for f in item.files}
        supplements = {f.purpose: f for f in item.files if f.role == "supplement"}
        interview = supplements.get("interview")
        pending = interview is None and "transcript-source" in supplements
        restricting = pending or (interview is not None and interview.tech.get("redactions", 0) > 0)
        redacted = {f.derived_from for f in item.files if f.tech.get("redacted")}
        recordings = {f.id for f in item.files if f.role == "original"
                      and f.media_type.startswith(("audio/", "video/"))}
        closed = redacted | (recordings if restricting else set())
        cached = item.__dict__["_access_index"] = (files, frozenset(closed))
    return cached


def level_sql(today, visibility, embargo):
    """A SQLAlchemy expression of a row's effective level from its ``visibility`` and ``embargo``
    columns and ``today`` (an ISO date, or a bind parameter of one): the same rule as
    ``effective_level``, for catalog queries."""
    from sqlalchemy import and_, case

    lifted = and_(visibility == "embargoed", embargo.is_not(None), embargo <= today)
    return case((lifted, "public"), else_=visibility)
