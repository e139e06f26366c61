"""Accounts below the web layer: the work a login costs, password guesses, token events, sessions."""
import hashlib

import pytest

from repository.access import SYSTEM
from repository.accounts import Accounts, LoginFailed
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
