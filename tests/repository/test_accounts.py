"""Accounts below the web layer: the work a login costs, password guesses, token events, sessions."""
import hashlib

import pytest

from repository.access import SYSTEM
from repository.accounts import Account, Accounts, LoginFailed, token_hash
from storage.accounts import AccountStore
from storage.database import Database

PASSWORD = "correct horse battery"


@pytest.fixture
def accounts(database_url):
    """The accounts on a SQLite file, then on a real PostgreSQL database."""
    database = Database(database_url)
    accounts = Accounts(AccountStore(database))
    for name in ("wang", "li", "zhao"):
        accounts.add_user(name, PASSWORD, ["archivist"], by=SYSTEM)
    yield accounts
    database.dispose()


@pytest.fixture
def scrypt_calls(monkeypatch):
    """How many password hashes each step computes (the work an attacker can time)."""
    calls = []
    real = hashlib.scrypt

    def counting(*args, **kwargs):
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(hashlib, "scrypt", counting)
    return calls


def test_a_failed_login_costs_one_hash_whatever_failed(accounts, scrypt_calls):
    """No user name can be told apart by timing: unknown, wrong password, disabled or locked."""
    accounts.set_disabled("li", True, by=SYSTEM)
    for _ in range(accounts.max_failures):
        with pytest.raises(LoginFailed):
            accounts.authenticate("zhao", "wrong password")
    assert accounts.store.login_failures("zhao", "")[1]  # waits now
    for name in ("nobody", "wang", "li", "zhao"):
        scrypt_calls.clear()
        with pytest.raises(LoginFailed):
            accounts.authenticate(name, "wrong password")
        assert len(scrypt_calls) == 1, name
    scrypt_calls.clear()
    accounts.authenticate("wang", PASSWORD)
    assert len(scrypt_calls) == 1


def test_sessions_end_at_logout_after_their_lifetime_and_cannot_be_forged(accounts):
    from datetime import timedelta

    wang = accounts.store.get("wang")
    here, there = accounts.start_session(wang), accounts.start_session(wang)
    assert accounts.session_user(here).username == accounts.session_user(there).username == "wang"
    accounts.end_session(here)
    assert accounts.session_user(here) is None and accounts.session_user(there) is not None
    for forged in (f"{wang.id}:{wang.session_version}", f"{wang.id}:{wang.session_version}:made-up",
                   there.replace(f"{wang.id}:", f"{accounts.store.get('li').id}:", 1), "", "::"):
        assert accounts.session_user(forged) is None, forged
    digest = token_hash(there.rpartition(":")[2])
    assert accounts.store.session_created(digest, wang.id)
    accounts.session_lifetime = timedelta(0)
    assert accounts.session_user(there) is None
    accounts.start_session(wang)  # a login clears out sessions past their lifetime
    assert accounts.store.session_created(digest, wang.id) is None


def test_refused_tokens_are_counted_one_row_per_source_and_minute(accounts):
    """A flood of made-up Bearer tokens (no login needed) cannot flood the audit log."""
    for i in range(300):
        assert accounts.token_user(f"fzt_made_up_{i}", ip="203.0.113.9") is None
    accounts.token_user("fzt_other", ip="198.51.100.7")
    refused = [e for e in accounts.store.events(limit=1000) if e["action"] == "token-refused"]
    assert sorted((e["detail"], e["count"]) for e in refused) == [("from 198.51.100.7", 1), ("from 203.0.113.9", 300)]


def test_refusals_racing_from_many_connections_are_each_counted(accounts):
    """Refused tokens from several processes at once (here threads, each on its own connection):
    every refusal counted, in one row once the first is there (the merge is one UPDATE)."""
    import threading

    accounts.token_user("fzt_first", ip="203.0.113.9")
    threads = [threading.Thread(target=lambda: [accounts.token_user(f"fzt_{i}", ip="203.0.113.9") for i in range(20)])
               for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    refused = [e for e in accounts.store.events(limit=1000) if e["action"] == "token-refused"]
    assert [e["count"] for e in refused] == [81]


def test_two_admins_adding_one_name_at_once_make_one_account(accounts):
    import threading

    from repository.errors import Conflict

    outcomes = []

    def add():
        try:
            outcomes.append(accounts.store.save(Account(None, "sun", "孙", frozenset({"archivist"}), "x")).id)
        except Conflict as exc:
            outcomes.append(str(exc))

    threads = [threading.Thread(target=add) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert outcomes.count("a user named sun already exists") == 3 and len(outcomes) == 4
    assert [a.username for a in accounts.store.all()].count("sun") == 1


def test_token_use_is_recorded_once_a_minute(accounts, monkeypatch):
    secret, _ = accounts.create_token("harvester", ["read"], by=SYSTEM)
    saves = []
    save_token = accounts.store.save_token
    monkeypatch.setattr(accounts.store, "save_token", lambda t: saves.append(t) or save_token(t))
    for _ in range(50):  # a harvester fetching tiles
        assert accounts.token_user(secret, ip="192.0.2.1").name == "token:harvester"
    assert len(saves) == 1 and saves[0].last_used
    used = [e for e in accounts.store.events(limit=1000) if e["action"] == "token-use"]
    assert [(e["user"], e["detail"]) for e in used] == [("token:harvester", "from 192.0.2.1")]


def test_auth_events_are_paged_newest_first(accounts):
    for i in range(25):
        accounts.log("wang", "login", f"#{i}")
    total = accounts.store.count_events()
    first, second = accounts.store.events(limit=10), accounts.store.events(limit=10, offset=10)
    assert [e["detail"] for e in first] == [f"#{i}" for i in range(24, 14, -1)]
    assert [e["detail"] for e in second] == [f"#{i}" for i in range(14, 4, -1)]
    assert total == len(accounts.store.events(limit=1000)) == 28  # with the three user-add events


OLD_SCHEMA = """
CREATE TABLE accounts (id INTEGER PRIMARY KEY, username TEXT UNIQUE NOT NULL, display_name TEXT NOT NULL,
    roles TEXT NOT NULL, password_hash TEXT NOT NULL, disabled INTEGER NOT NULL DEFAULT 0,
    session_version INTEGER NOT NULL DEFAULT 1);
CREATE TABLE login_failures (username TEXT NOT NULL, address TEXT NOT NULL, failures INTEGER NOT NULL,
    locked_until TEXT, last TEXT NOT NULL, PRIMARY KEY (username, address));
CREATE TABLE tokens (id INTEGER PRIMARY KEY, name TEXT NOT NULL, scopes TEXT NOT NULL, hash TEXT UNIQUE NOT NULL,
    created TEXT NOT NULL, created_by TEXT NOT NULL, revoked TEXT, last_used TEXT);
CREATE TABLE auth_events (at TEXT NOT NULL, user TEXT NOT NULL, action TEXT NOT NULL, detail TEXT NOT NULL);
CREATE INDEX auth_events_by_kind ON auth_events(action, user, detail, at);
CREATE TABLE sessions (hash TEXT PRIMARY KEY, account_id INTEGER NOT NULL, created TEXT NOT NULL);
"""


def test_an_accounts_file_from_before_the_database_is_adopted_with_every_row(tmp_path):
    """DATA_DIR/accounts.sqlite3 as the old store left it (auth events from before they were
    counted, in an order their index would scramble): accounts, tokens, sessions, login failures
    and events move into the database, in order; ids go on after the old ones."""
    import sqlite3

    from tests.helpers import build_on

    old = Accounts(AccountStore(Database(f"sqlite:///{tmp_path / 'scratch.sqlite3'}")))
    wang = old.add_user("wang", PASSWORD, ["archivist"], by=SYSTEM)
    secret, token = old.create_token("harvester", ["read"], by=SYSTEM)
    session = old.start_session(wang)
    with sqlite3.connect(tmp_path / "accounts.sqlite3") as db:
        db.executescript(OLD_SCHEMA)
        db.execute("INSERT INTO accounts VALUES (?,?,?,?,?,?,?)", (wang.id, "wang", wang.display_name, "archivist",
                                                                    wang.password_hash, 0, wang.session_version))
        db.execute("INSERT INTO tokens VALUES (?,?,?,?,?,?,?,?)", (token.id, token.name, "read", token.hash,
                                                                   token.created, token.created_by, None, None))
        db.execute("INSERT INTO sessions VALUES (?,?,?)", (token_hash(session.rpartition(":")[2]), wang.id,
                                                          "2999-01-01T00:00:00+00:00"))
        db.execute("INSERT INTO login_failures VALUES ('li', '10.0.0.9', 3, NULL, '2999-01-01T00:00:00+00:00')")
        db.executemany("INSERT INTO auth_events VALUES (?, ?, ?, ?)",
                       [("2025-01-01T00:00:0%d+00:00" % i, "wang", action, "from x")
                        for i, action in enumerate(["user-add", "login", "token-add", "logout"])])
    accounts = build_on(tmp_path).accounts
    assert not (tmp_path / "accounts.sqlite3").exists() and (tmp_path / "accounts.sqlite3.adopted").exists()
    assert accounts.authenticate("wang", PASSWORD).id == wang.id
    assert accounts.token_user(secret, ip="x").name == "token:harvester"
    assert accounts.session_user(session).username == "wang"
    assert accounts.store.login_failures("li", "10.0.0.9")[0] == 3
    assert [e["action"] for e in accounts.store.events()][-4:] == ["logout", "token-add", "login", "user-add"]
    assert {e["count"] for e in accounts.store.events()} == {1}
    assert accounts.add_user("li", PASSWORD, ["archivist"], by=SYSTEM).id == wang.id + 1
