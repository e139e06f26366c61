"""Accounts below the web layer: the work a login costs, password guesses, token events, sessions."""
import hashlib

import pytest

from repository.access import SYSTEM
from repository.accounts import Accounts, LoginFailed, token_hash
from storage.accounts import SQLiteAccountStore

PASSWORD = "correct horse battery"


@pytest.fixture
def accounts(tmp_path):
    accounts = Accounts(SQLiteAccountStore(tmp_path / "accounts.sqlite3"))
    for name in ("wang", "li", "zhao"):
        accounts.add_user(name, PASSWORD, ["archivist"], by=SYSTEM)
    return accounts


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
    assert accounts.store.get("zhao").locked_until
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
