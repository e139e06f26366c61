"""Accounts, roles and API tokens: who the user is. (What they may see is decided in access.py.)

Passwords are hashed with scrypt (RFC 7914) and a random salt; API tokens are random strings of
which only the SHA-256 is stored. Repeated failed logins for a user name from one client address
make that address wait before trying the name again, longer each time; other addresses (the
staff member's own) are not held up. Every login, failed login, lockout and token use is recorded
as an auth event.
"""
from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Protocol

from .access import ROLES, User
from .errors import Conflict, NotFound, PermissionDenied, RepositoryError, ValidationError

USERNAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{1,63}$")
MIN_PASSWORD = 10
# What a token may do, as the roles it acts with (see access.ROLE_LEVELS): each read scope opens a
# level of material; write creates and changes items, among those its read scopes let it see.
SCOPES = {"read": frozenset({"researcher"}), "read-alliance": frozenset({"member"}),
          "read-staff": frozenset({"staff-reader"}), "write": frozenset({"writer"})}
TOKEN_PREFIX = "fzt_"
_SCRYPT = {"n": 2 ** 14, "r": 8, "p": 1}


class LoginFailed(RepositoryError):
    """Wrong name or password, a disabled account, or a lockout (one message for all)."""


def _now() -> datetime:
    return datetime.now(timezone.utc)


def hash_password(password: str) -> str:
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, **_SCRYPT, dklen=32)
    return f"scrypt${_SCRYPT['n']}${_SCRYPT['r']}${_SCRYPT['p']}${salt.hex()}${digest.hex()}"


def check_password(password: str, stored: str) -> bool:
    try:
        _, n, r, p, salt, digest = stored.split("$")
        actual = hashlib.scrypt(password.encode(), salt=bytes.fromhex(salt), n=int(n), r=int(r), p=int(p), dklen=32)
    except ValueError:
        return False
    return hmac.compare_digest(actual.hex(), digest)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass
class Account:
    id: int | None
    username: str
    display_name: str
    roles: frozenset[str]
    password_hash: str
    disabled: bool = False
    session_version: int = 1  # bumped on password change / disable: old sessions end

    def as_user(self) -> User:
        return User(self.username, frozenset() if self.disabled else self.roles)


@dataclass
class Token:
    id: int | None
    name: str
    scopes: frozenset[str]
    hash: str
    created: str
    created_by: str
    revoked: str | None = None
    last_used: str | None = None

    def as_user(self) -> User:
        roles = frozenset().union(*(SCOPES[s] for s in self.scopes))
        return User(f"token:{self.name}", roles)


class AccountStore(Protocol):  # implemented by storage.accounts.AccountStore
    def get(self, username: str) -> Account | None: ...
    def get_by_id(self, account_id: int) -> Account | None: ...
    def save(self, account: Account) -> Account: ...
    def all(self) -> list[Account]: ...
    def save_token(self, token: Token) -> Token: ...
    def token_by_hash(self, digest: str) -> Token | None: ...
    def tokens(self) -> list[Token]: ...
    def login_failures(self, username: str, address: str) -> tuple[int, str | None]: ...
    def set_login_failures(self, username: str, address: str, failures: int, locked_until: str | None) -> None: ...
    def add_event(self, event: dict, *, merge_since: str | None = None) -> None: ...
    def add_session(self, digest: str, account_id: int, created: str) -> None: ...
    def session_created(self, digest: str, account_id: int) -> str | None: ...
    def delete_sessions(self, *, digest: str | None = None, before: str | None = None) -> None: ...
    def events(self, limit: int = 200, offset: int = 0) -> list[dict]: ...  # newest first
    def count_events(self) -> int: ...


@dataclass
class Accounts:
    store: AccountStore
    max_failures: int = 5  # failures in a row from one address before it waits
    lockout: timedelta = field(default_factory=lambda: timedelta(minutes=15))  # the longest wait
    session_lifetime: timedelta = field(default_factory=lambda: timedelta(days=31))  # Flask's cookie lifetime
    # checked when the user name is unknown: every failed login costs one hash (no names found by timing)
    _dummy_hash: str = field(default_factory=lambda: hash_password(secrets.token_hex(16)), repr=False)

    # --- users ---------------------------------------------------------------------------

    def add_user(self, username: str, password: str, roles, *, display_name: str = "", by: User) -> Account:
        _require_admin(by)
        problems = _check_username(username) + _check_password(password) + _check_roles(roles)
        if problems:
            raise ValidationError(problems)
        if self.store.get(username):
            raise Conflict(f"a user named {username} already exists")
        account = self.store.save(Account(None, username, display_name or username, frozenset(roles),
                                          hash_password(password)))
        self.log(by.name, "user-add", f"{username} ({', '.join(sorted(roles))})")
        return account

    def set_roles(self, username: str, roles, *, by: User) -> Account:
        _require_admin(by)
        if problems := _check_roles(roles):
            raise ValidationError(problems)
        account = self._get(username)
        account.roles = frozenset(roles)
        account.session_version += 1
        self.log(by.name, "user-roles", f"{username}: {', '.join(sorted(roles)) or 'none'}")
        return self.store.save(account)

    def set_disabled(self, username: str, disabled: bool, *, by: User) -> Account:
        _require_admin(by)
        if username == by.name and disabled:
            raise ValidationError([("username", "you cannot disable your own account")])
        account = self._get(username)
        account.disabled = disabled
        account.session_version += 1
        self.log(by.name, "user-disable" if disabled else "user-enable", username)
        return self.store.save(account)

    def change_password(self, username: str, old: str, new: str, *, ip: str = "") -> Account:
        try:  # guesses of the current password count, lock and are recorded like failed logins
            account = self.authenticate(username, old, ip=ip, action="password-check")
        except LoginFailed:
            raise ValidationError([("old_password", "is not your current password, or there were too many "
                                                    "wrong tries: wait a few minutes")]) from None
        if problems := _check_password(new):
            raise ValidationError(problems)
        account.password_hash = hash_password(new)
        account.session_version += 1
        self.log(username, "password-change", "")
        return self.store.save(account)

    def users(self, *, by: User) -> list[Account]:
        _require_admin(by)
        return self.store.all()

    def _get(self, username: str) -> Account:
        account = self.store.get(username)
        if account is None:
            raise NotFound(f"no user {username}")
        return account

    # --- logging in ------------------------------------------------------------------------

    def authenticate(self, username: str, password: str, *, ip: str = "", action: str = "login") -> Account:
        """The account for these credentials, or LoginFailed (the same message whatever failed).
        ``action`` names the audit events (``login``, ``login-failed``, ``login-locked``).

        Failures are counted per user name (known or not, so a lockout tells nothing) and client
        address: after ``max_failures`` in a row that address waits a minute before trying the name
        again, twice as long after each further failure, at most ``lockout``. Anyone knowing a
        staff member's name can slow down only their own guesses, not lock the staff member out."""
        account = self.store.get(username)
        failed = LoginFailed("wrong user name or password, or the account is locked or disabled")
        key = username[:65]  # no account's name is longer (USERNAME_RE): a long one is kept no bigger
        failures, locked_until = self.store.login_failures(key, ip)
        # One hash whatever fails (unknown, locked, disabled): user names cannot be found by timing.
        right = check_password(password, account.password_hash if account else self._dummy_hash)
        if locked_until and locked_until > _now().isoformat():
            self.log(username, f"{action}-locked", f"from {ip}")
            raise failed
        if account is None or account.disabled or not right:
            failures, locked_until = failures + 1, None
            if failures >= self.max_failures:
                wait = min(self.lockout, timedelta(minutes=2 ** min(failures - self.max_failures, 20)))
                locked_until = (_now() + wait).isoformat()
                self.log(username, "lockout", f"{wait} after {failures} failures, from {ip}")
            self.store.set_login_failures(key, ip, failures, locked_until)
            self.log(username, f"{action}-failed", f"{'unknown user ' if account is None else ''}from {ip}")
            raise failed
        self.store.set_login_failures(key, ip, 0, None)
        self.log(username, action, f"from {ip}")
        return account

    # --- sessions: "<account id>:<session_version>:<secret>", the secret's hash kept until logout ---

    def start_session(self, account: Account) -> str:
        """A new session id for a login. Sessions older than ``session_lifetime`` end here."""
        secret = secrets.token_urlsafe(32)
        now = _now()
        self.store.delete_sessions(before=(now - self.session_lifetime).isoformat())
        self.store.add_session(token_hash(secret), account.id, now.isoformat())
        return f"{account.id}:{account.session_version}:{secret}"

    def session_user(self, session_id: str) -> Account | None:
        """The account for a session id, if the session is still open and the password, roles and
        enabled state have not changed since it began."""
        try:
            account_id, version, secret = session_id.split(":")
            account_id, version = int(account_id), int(version)
        except ValueError:
            return None
        account = self.store.get_by_id(account_id)
        if account is None or account.disabled or account.session_version != version:
            return None
        created = self.store.session_created(token_hash(secret), account_id)
        if created is None or created < (_now() - self.session_lifetime).isoformat():
            return None
        return account

    def end_session(self, session_id: str) -> None:
        """Logout: the session id is refused from now on, wherever its cookie was copied to."""
        self.store.delete_sessions(digest=token_hash(session_id.rpartition(":")[2]))

    # --- API tokens ------------------------------------------------------------------------

    def create_token(self, name: str, scopes, *, by: User) -> tuple[str, Token]:
        """A new token: the secret is returned once and only its hash is kept."""
        _require_admin(by)
        scopes = frozenset(scopes)
        problems = []
        if not name.strip():
            problems.append(("name", "is required (e.g. the member library harvesting with it)"))
        if not scopes or scopes - SCOPES.keys():
            problems.append(("scopes", f"choose from {', '.join(SCOPES)}"))
        if problems:
            raise ValidationError(problems)
        secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
        token = self.store.save_token(Token(None, name.strip(), scopes, token_hash(secret), _now().isoformat(), by.name))
        self.log(by.name, "token-create", f"{token.name} ({', '.join(sorted(scopes))})")
        return secret, token

    def revoke_token(self, token_id: int, *, by: User) -> Token:
        _require_admin(by)
        token = next((t for t in self.store.tokens() if t.id == token_id), None)
        if token is None:
            raise NotFound(f"no token {token_id}")
        token.revoked = _now().isoformat()
        self.log(by.name, "token-revoke", token.name)
        return self.store.save_token(token)

    def tokens(self, *, by: User) -> list[Token]:
        _require_admin(by)
        return self.store.tokens()

    def token_user(self, secret: str, *, ip: str = "") -> User | None:
        """The user a bearer token acts as, or None if it is unknown or revoked."""
        token = self.store.token_by_hash(token_hash(secret))
        a_minute_ago = (_now() - timedelta(minutes=1)).isoformat(timespec="seconds")
        if token is None or token.revoked:  # anyone can send these: one counted event per address a minute
            self.log("token:?", "token-refused", f"from {ip}", merge_since=a_minute_ago)
            return None
        if not token.last_used or token.last_used < a_minute_ago:  # not two writes for every tile harvested
            token.last_used = _now().isoformat()
            self.store.save_token(token)
            self.log(f"token:{token.name}", "token-use", f"from {ip}")
        return token.as_user()

    def log(self, user: str, action: str, detail: str, *, merge_since: str | None = None) -> None:
        """Record an auth event; with ``merge_since``, one the same since then is counted instead."""
        self.store.add_event({"at": _now().isoformat(timespec="seconds"), "user": user,
                              "action": action, "detail": detail}, merge_since=merge_since)


def _require_admin(user: User) -> None:
    if not user.has_role("admin"):
        raise PermissionDenied("only an administrator may manage users and tokens")


def _check_username(username: str) -> list:
    return [] if USERNAME_RE.match(username or "") else [
        ("username", "use 2–64 letters, digits, '.', '_', '-' or '@', starting with a letter or digit")]


def _check_password(password: str) -> list:
    return [] if len(password or "") >= MIN_PASSWORD else [
        ("password", f"must be at least {MIN_PASSWORD} characters long")]


def _check_roles(roles) -> list:
    unknown = set(roles) - set(ROLES)
    return [("roles", f"unknown role {', '.join(sorted(unknown))}; choose from {', '.join(ROLES)}")] if unknown else []
