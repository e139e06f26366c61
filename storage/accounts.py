"""SQLiteAccountStore: accounts, API tokens and auth events.

Unlike the catalog this is primary operational state (it is not in the object store and
`fangzhi rebuild` does not touch it): back up ``accounts.sqlite3`` with the data folder.
"""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

from repository.accounts import Account, Token

from .sqlite import SQLiteDatabase

SCHEMA = """
CREATE TABLE IF NOT EXISTS accounts (
    id INTEGER PRIMARY KEY, username TEXT UNIQUE NOT NULL, display_name TEXT NOT NULL,
    roles TEXT NOT NULL, password_hash TEXT NOT NULL, disabled INTEGER NOT NULL DEFAULT 0,
    session_version INTEGER NOT NULL DEFAULT 1
);
CREATE TABLE IF NOT EXISTS login_failures (
    username TEXT NOT NULL, address TEXT NOT NULL, failures INTEGER NOT NULL, locked_until TEXT,
    last TEXT NOT NULL, PRIMARY KEY (username, address)
);
CREATE TABLE IF NOT EXISTS tokens (
    id INTEGER PRIMARY KEY, name TEXT NOT NULL, scopes TEXT NOT NULL, hash TEXT UNIQUE NOT NULL,
    created TEXT NOT NULL, created_by TEXT NOT NULL, revoked TEXT, last_used TEXT
);
CREATE TABLE IF NOT EXISTS auth_events (
    at TEXT NOT NULL, user TEXT NOT NULL, action TEXT NOT NULL, detail TEXT NOT NULL,
    count INTEGER NOT NULL DEFAULT 1
);
CREATE INDEX IF NOT EXISTS auth_events_by_kind ON auth_events(action, user, detail, at);
CREATE TABLE IF NOT EXISTS sessions (
    hash TEXT PRIMARY KEY, account_id INTEGER NOT NULL, created TEXT NOT NULL
);
"""


class SQLiteAccountStore(SQLiteDatabase):
    def __init__(self, path: str | Path):
        super().__init__(path, SCHEMA)
        with self._db() as db:  # accounts.sqlite3 files made before events had a count
            if "count" not in {row["name"] for row in db.execute("PRAGMA table_info(auth_events)")}:
                db.execute("ALTER TABLE auth_events ADD COLUMN count INTEGER NOT NULL DEFAULT 1")

    @staticmethod
    def _account(row) -> Account | None:
        if row is None:
            return None
        return Account(row["id"], row["username"], row["display_name"], frozenset(filter(None, row["roles"].split(","))),
                       row["password_hash"], bool(row["disabled"]), row["session_version"])

    def get(self, username: str) -> Account | None:
        return self._account(self._db().execute("SELECT * FROM accounts WHERE username = ?", (username,)).fetchone())

    def get_by_id(self, account_id: int) -> Account | None:
        return self._account(self._db().execute("SELECT * FROM accounts WHERE id = ?", (account_id,)).fetchone())

    def all(self) -> list[Account]:
        return [self._account(r) for r in self._db().execute("SELECT * FROM accounts ORDER BY username")]

    def save(self, a: Account) -> Account:
        values = (a.username, a.display_name, ",".join(sorted(a.roles)), a.password_hash, int(a.disabled),
                  a.session_version)
        with self._db() as db:
            if a.id is None:
                a.id = db.execute("INSERT INTO accounts (username, display_name, roles, password_hash, disabled, "
                                  "session_version) VALUES (?,?,?,?,?,?)", values).lastrowid
            else:
                db.execute("UPDATE accounts SET username=?, display_name=?, roles=?, password_hash=?, disabled=?, "
                           "session_version=? WHERE id=?", values + (a.id,))
        return a

    @staticmethod
    def _token(row) -> Token | None:
        if row is None:
            return None
        return Token(row["id"], row["name"], frozenset(row["scopes"].split(",")), row["hash"], row["created"],
                     row["created_by"], row["revoked"], row["last_used"])

    def save_token(self, t: Token) -> Token:
        values = (t.name, ",".join(sorted(t.scopes)), t.hash, t.created, t.created_by, t.revoked, t.last_used)
        with self._db() as db:
            if t.id is None:
                t.id = db.execute("INSERT INTO tokens (name, scopes, hash, created, created_by, revoked, last_used) "
                                  "VALUES (?,?,?,?,?,?,?)", values).lastrowid
            else:
                db.execute("UPDATE tokens SET name=?, scopes=?, hash=?, created=?, created_by=?, revoked=?, "
                           "last_used=? WHERE id=?", values + (t.id,))
        return t

    def token_by_hash(self, digest: str) -> Token | None:
        return self._token(self._db().execute("SELECT * FROM tokens WHERE hash = ?", (digest,)).fetchone())

    def tokens(self) -> list[Token]:
        return [self._token(r) for r in self._db().execute("SELECT * FROM tokens ORDER BY id")]

    def login_failures(self, username: str, address: str) -> tuple[int, str | None]:
        row = self._db().execute("SELECT failures, locked_until FROM login_failures WHERE username = ? AND address = ?",
                                 (username, address)).fetchone()
        return (row["failures"], row["locked_until"]) if row else (0, None)

    def set_login_failures(self, username: str, address: str, failures: int, locked_until: str | None) -> None:
        """Record (or with 0 failures forget) a name's failures from an address; counts not
        touched for a day and no longer locking are forgotten."""
        now = datetime.now(timezone.utc)
        with self._db() as db:
            db.execute("DELETE FROM login_failures WHERE (username = ? AND address = ?) OR "
                       "(last < ? AND coalesce(locked_until, '') < ?)",
                       (username, address, (now - timedelta(days=1)).isoformat(), now.isoformat()))
            if failures:
                db.execute("INSERT INTO login_failures VALUES (?,?,?,?,?)",
                           (username, address, failures, locked_until, now.isoformat()))

    def add_session(self, digest: str, account_id: int, created: str) -> None:
        with self._db() as db:
            db.execute("INSERT INTO sessions VALUES (?, ?, ?)", (digest, account_id, created))

    def session_created(self, digest: str, account_id: int) -> str | None:
        row = self._db().execute("SELECT created FROM sessions WHERE hash = ? AND account_id = ?",
                                 (digest, account_id)).fetchone()
        return row["created"] if row else None

    def delete_sessions(self, *, digest: str | None = None, before: str | None = None) -> None:
        """Remove one session (``digest``), or all those created before ``before``."""
        with self._db() as db:
            db.execute("DELETE FROM sessions WHERE hash = ? OR created < ?", (digest, before))

    def add_event(self, event: dict, *, merge_since: str | None = None) -> None:
        with self._db() as db:
            if merge_since and db.execute(
                    "UPDATE auth_events SET count = count + 1 WHERE rowid = (SELECT max(rowid) FROM auth_events "
                    "WHERE action = :action AND user = :user AND detail = :detail AND at >= :since)",
                    {**event, "since": merge_since}).rowcount:
                return
            db.execute("INSERT INTO auth_events (at, user, action, detail) VALUES (:at, :user, :action, :detail)",
                       event)

    def events(self, limit: int = 200, offset: int = 0) -> list[dict]:
        rows = self._db().execute("SELECT * FROM auth_events ORDER BY rowid DESC LIMIT ? OFFSET ?", (limit, offset))
        return [dict(r) for r in rows]

    def count_events(self) -> int:
        return self._db().execute("SELECT count(*) FROM auth_events").fetchone()[0]
