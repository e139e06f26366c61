"""AccountStore: accounts, API tokens, sessions, login failures and auth events in the database
(``storage.database``).

Unlike the catalog this is primary operational state (it is not in the object store and
`fangzhi rebuild` does not touch it): back up the database (DATABASE_URL) with the data folder.
"""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from sqlalchemy import Boolean, Column, Index, Integer, Table, and_, func, or_, select
from sqlalchemy.exc import IntegrityError

from repository.accounts import Account, Token
from repository.errors import Conflict

from .database import TEXT, Database, metadata

accounts = Table(
    "accounts", metadata,
    Column("id", Integer, primary_key=True), Column("username", TEXT, unique=True, nullable=False),
    Column("display_name", TEXT, nullable=False), Column("roles", TEXT, nullable=False),
    Column("password_hash", TEXT, nullable=False), Column("disabled", Boolean, nullable=False, default=False),
    Column("session_version", Integer, nullable=False, default=1))
login_failures = Table(
    "login_failures", metadata,
    Column("username", TEXT, primary_key=True), Column("address", TEXT, primary_key=True),
    Column("failures", Integer, nullable=False), Column("locked_until", TEXT), Column("last", TEXT, nullable=False))
tokens = Table(
    "tokens", metadata,
    Column("id", Integer, primary_key=True), Column("name", TEXT, nullable=False), Column("scopes", TEXT, nullable=False),
    Column("hash", TEXT, unique=True, nullable=False), Column("created", TEXT, nullable=False),
    Column("created_by", TEXT, nullable=False), Column("revoked", TEXT), Column("last_used", TEXT))
auth_events = Table(  # id: the order events happened in (the old file's rowid)
    "auth_events", metadata,
    Column("id", Integer, primary_key=True), Column("at", TEXT, nullable=False), Column("user", TEXT, nullable=False),
    Column("action", TEXT, nullable=False), Column("detail", TEXT, nullable=False),
    Column("count", Integer, nullable=False, default=1),
    Index("ix_auth_events_action", "action", "user", "detail", "at"))
sessions = Table(
    "sessions", metadata,
    Column("hash", TEXT, primary_key=True), Column("account_id", Integer, nullable=False),
    Column("created", TEXT, nullable=False))
TABLES = (accounts, login_failures, tokens, auth_events, sessions)

_EVENT_COLUMNS = (auth_events.c.at, auth_events.c.user, auth_events.c.action, auth_events.c.detail,
                  auth_events.c.count)


class AccountStore:
    def __init__(self, database: Database):
        self.db = database

    @staticmethod
    def _account(row) -> Account | None:
        if row is None:
            return None
        return Account(row.id, row.username, row.display_name, frozenset(filter(None, row.roles.split(","))),
                       row.password_hash, bool(row.disabled), row.session_version)

    def _one(self, query):
        with self.db.connect() as conn:
            return conn.execute(query).first()

    def get(self, username: str) -> Account | None:
        return self._account(self._one(select(accounts).where(accounts.c.username == username)))

    def get_by_id(self, account_id: int) -> Account | None:
        return self._account(self._one(select(accounts).where(accounts.c.id == account_id)))

    def all(self) -> list[Account]:
        with self.db.connect() as conn:
            return [self._account(r) for r in conn.execute(select(accounts).order_by(accounts.c.username))]

    def save(self, a: Account) -> Account:
        values = {"username": a.username, "display_name": a.display_name, "roles": ",".join(sorted(a.roles)),
                  "password_hash": a.password_hash, "disabled": bool(a.disabled), "session_version": a.session_version}
        try:
            with self.db.begin() as conn:
                if a.id is None:
                    a.id = conn.execute(accounts.insert().values(values).returning(accounts.c.id)).scalar()
                else:
                    conn.execute(accounts.update().where(accounts.c.id == a.id).values(values))
        except IntegrityError:  # two admins adding one name at once: the second is told, as by Accounts
            raise Conflict(f"a user named {a.username} already exists") from None
        return a

    @staticmethod
    def _token(row) -> Token | None:
        if row is None:
            return None
        return Token(row.id, row.name, frozenset(row.scopes.split(",")), row.hash, row.created,
                     row.created_by, row.revoked, row.last_used)

    def save_token(self, t: Token) -> Token:
        values = {"name": t.name, "scopes": ",".join(sorted(t.scopes)), "hash": t.hash, "created": t.created,
                  "created_by": t.created_by, "revoked": t.revoked, "last_used": t.last_used}
        with self.db.begin() as conn:
            if t.id is None:
                t.id = conn.execute(tokens.insert().values(values).returning(tokens.c.id)).scalar()
            else:
                conn.execute(tokens.update().where(tokens.c.id == t.id).values(values))
        return t

    def token_by_hash(self, digest: str) -> Token | None:
        return self._token(self._one(select(tokens).where(tokens.c.hash == digest)))

    def tokens(self) -> list[Token]:
        with self.db.connect() as conn:
            return [self._token(r) for r in conn.execute(select(tokens).order_by(tokens.c.id))]

    def login_failures(self, username: str, address: str) -> tuple[int, str | None]:
        row = self._one(select(login_failures.c.failures, login_failures.c.locked_until)
                        .where(login_failures.c.username == username, login_failures.c.address == address))
        return (row.failures, row.locked_until) if row else (0, None)

    def set_login_failures(self, username: str, address: str, failures: int, locked_until: str | None) -> None:
        """Record (or with 0 failures forget) a name's failures from an address; counts not
        touched for a day and no longer locking are forgotten."""
        now = datetime.now(timezone.utc)
        f = login_failures.c
        with self.db.begin() as conn:
            conn.execute(login_failures.delete().where(or_(
                and_(f.username == username, f.address == address),
                and_(f.last < (now - timedelta(days=1)).isoformat(), func.coalesce(f.locked_until, "") < now.isoformat()))))
            if failures:
                conn.execute(login_failures.insert().values(username=username, address=address, failures=failures,
                                                            locked_until=locked_until, last=now.isoformat()))

    def add_session(self, digest: str, account_id: int, created: str) -> None:
        with self.db.begin() as conn:
            conn.execute(sessions.insert().values(hash=digest, account_id=account_id, created=created))

    def session_created(self, digest: str, account_id: int) -> str | None:
        row = self._one(select(sessions.c.created).where(sessions.c.hash == digest, sessions.c.account_id == account_id))
        return row.created if row else None

    def delete_sessions(self, *, digest: str | None = None, before: str | None = None) -> None:
        """Remove one session (``digest``), or all those created before ``before``."""
        ended = ([sessions.c.hash == digest] if digest is not None else []) + \
            ([sessions.c.created < before] if before is not None else [])
        if ended:
            with self.db.begin() as conn:
                conn.execute(sessions.delete().where(or_(*ended)))

    def add_event(self, event: dict, *, merge_since: str | None = None) -> None:
        e = auth_events.c
        row = {"at": event["at"], "user": event["user"], "action": event["action"], "detail": event["detail"]}
        with self.db.begin() as conn:
            if merge_since:  # one statement: the newest such event counts one more (concurrent refusals all counted)
                newest = select(func.max(e.id)).where(e.action == row["action"], e.user == row["user"],
                                                      e.detail == row["detail"], e.at >= merge_since).scalar_subquery()
                if conn.execute(auth_events.update().where(e.id == newest).values(count=e.count + 1)).rowcount:
                    return
            conn.execute(auth_events.insert().values(row))

    def events(self, limit: int = 200, offset: int = 0) -> list[dict]:
        with self.db.connect() as conn:
            return [dict(r) for r in conn.execute(select(*_EVENT_COLUMNS).order_by(auth_events.c.id.desc())
                                                  .limit(limit).offset(offset)).mappings()]

    def count_events(self) -> int:
        with self.db.connect() as conn:
            return conn.execute(select(func.count()).select_from(auth_events)).scalar()
