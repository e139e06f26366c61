"""Accounts over HTTP: login, lockout, throttling, sessions, CSRF, tokens, headers, admin pages."""
import re

import pytest

from repository.access import SYSTEM
from tests.helpers import photo_item
from tests.web.auth_helpers import PASSWORD, add_users, csrf_token, login


@pytest.fixture
def app(tmp_path):
    from web import create_app

    app = create_app({"DATA_DIR": str(tmp_path / "data"), "SECRET_KEY": "test", "LOGIN_RATE_LIMIT": "100 per minute"})
    add_users(app)
    return app


@pytest.fixture
def accounts(app):
    return app.extensions["fangzhi"].accounts


def test_password_is_hashed_with_scrypt(accounts):
    stored = accounts.store.get("admin").password_hash
    assert stored.startswith("scrypt$") and PASSWORD not in stored


def test_login_logout_and_session_cookie(client):
    response = login(client, "archivist")
    assert response.status_code == 302
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert "archivist" in client.get("/").get_data(as_text=True)
    token = csrf_token(client, "/")
    assert client.post("/logout", data={"csrf_token": token}).status_code == 302
    assert client.get("/admin/").status_code == 302  # back to the login page


def test_logout_ends_the_session_on_the_server(app, client):
    """A session cookie copied before logout is worth nothing after it."""
    login(client, "archivist")
    captured = client.get_cookie("session").value
    elsewhere = app.test_client()  # the same account signed in on another computer
    login(elsewhere, "archivist")
    assert client.post("/logout", data={"csrf_token": csrf_token(client, "/")}).status_code == 302
    thief = app.test_client()
    thief.set_cookie("session", captured)
    assert thief.get("/admin/").status_code == 302  # to the login page
    assert "archivist" not in thief.get("/").get_data(as_text=True)
    assert elsewhere.get("/admin/").status_code == 200  # only this session ended


def test_login_starts_a_new_session_and_csrf_token(client):
    """Nothing from before the login carries over, the CSRF token included."""
    before = csrf_token(client)
    login(client, "admin")
    after = csrf_token(client, "/admin/users")
    assert after != before
    refused = client.post("/admin/users", data={"username": "mallory", "password": "x" * 12, "roles": "admin",
                                                "csrf_token": before})
    assert refused.status_code == 400 and "CSRF" in refused.get_data(as_text=True)


def test_wrong_password_and_unknown_user_look_the_same(client, accounts):
    a = login(client, "archivist", "wrong password!")
    b = login(client, "nobody", "wrong password!")
    assert a.status_code == b.status_code == 401
    message = re.compile(r'<p class="problems" role="alert">(.*?)</p>')
    assert message.search(a.get_data(as_text=True)).group(1) == message.search(b.get_data(as_text=True)).group(1)
    assert "用户名或密码错误" in a.get_data(as_text=True)
    actions = [e["action"] for e in accounts.store.events()]
    assert actions.count("login-failed") == 2


def client_at(app, address, *, proxied=False):
    """A browser at ``address``: its own connection, or (proxied) through nginx on 127.0.0.1."""
    client = app.test_client()
    client.environ_base.update({"REMOTE_ADDR": "127.0.0.1", "HTTP_X_FORWARDED_FOR": address} if proxied
                               else {"REMOTE_ADDR": address})
    return client


def test_lockout_slows_the_guessing_address_not_the_staff_member(app, accounts):
    """Finding 9: failures lock a user name for the address they come from; the staff member
    signs in from their own address, and unknown names lock the same way (no enumeration)."""
    attacker = client_at(app, "198.51.100.7")
    for name in ("member", "nobody"):
        for _ in range(5):
            login(attacker, name, "wrong password!")
    assert login(attacker, "member").status_code == 401  # right password, but this address waits
    assert login(client_at(app, "192.0.2.10"), "member").status_code == 302
    locks = [e["user"] for e in accounts.store.events() if e["action"] == "lockout"]
    assert sorted(locks) == ["member", "nobody"]


def test_lockout_backs_off_exponentially_and_ends(accounts, monkeypatch):
    from datetime import datetime, timedelta, timezone

    import repository.accounts as module
    from repository.accounts import LoginFailed

    now = [datetime(2030, 1, 1, tzinfo=timezone.utc)]
    monkeypatch.setattr(module, "_now", lambda: now[0])

    def attempt(password="wrong password!"):
        try:
            return accounts.authenticate("member", password, ip="198.51.100.7").username
        except LoginFailed:
            return "refused"

    assert [attempt() for _ in range(5)] == ["refused"] * 5
    waits = []
    for _ in range(6):
        until = datetime.fromisoformat(accounts.store.login_failures("member", "198.51.100.7")[1])
        waits.append((until - now[0]) // timedelta(minutes=1))
        now[0] = until - timedelta(seconds=1)
        assert attempt(PASSWORD) == "refused"  # still waiting: not even the right password
        now[0] = until
        attempt()  # the wait is over: one more wrong guess
    assert waits == [1, 2, 4, 8, 15, 15]  # doubling up to LOCKOUT_MINUTES
    now[0] += timedelta(minutes=15)
    assert attempt(PASSWORD) == "member"
    assert accounts.store.login_failures("member", "198.51.100.7") == (0, None)


def test_behind_the_proxy_each_reader_has_their_own_limit_and_address(tmp_path):
    """Finding 9: behind nginx (PROXY_HOPS=1) the rate limit and the audit log see each reader's
    address, not the proxy's; without PROXY_HOPS, X-Forwarded-For is anyone's header and ignored."""
    from web import create_app

    app = create_app({"DATA_DIR": str(tmp_path / "a"), "SECRET_KEY": "t", "LOGIN_RATE_LIMIT": "3 per minute",
                      "PROXY_HOPS": 1})
    add_users(app, ["member"])
    attacker = client_at(app, "198.51.100.7", proxied=True)
    assert [login(attacker, "nobody", "y" * 10).status_code for _ in range(4)] == [401, 401, 401, 429]
    assert login(client_at(app, "203.0.113.5", proxied=True), "member").status_code == 302
    details = {(e["action"], e["detail"]) for e in app.extensions["fangzhi"].accounts.store.events()}
    assert ("login", "from 203.0.113.5") in details and ("login-failed", "unknown user from 198.51.100.7") in details
    direct = create_app({"DATA_DIR": str(tmp_path / "b"), "SECRET_KEY": "t", "LOGIN_RATE_LIMIT": "3 per minute"})
    codes = [login(client_at(direct, f"198.51.100.{n}", proxied=True), "nobody", "y" * 10).status_code
             for n in range(4)]
    assert codes == [401, 401, 401, 429]


def test_login_rate_limit(tmp_path):
    from web import create_app

    app = create_app({"DATA_DIR": str(tmp_path), "SECRET_KEY": "t", "LOGIN_RATE_LIMIT": "3 per minute"})
    client = app.test_client()
    codes = [login(client, "x", "y" * 10).status_code for _ in range(4)]
    assert codes == [401, 401, 401, 429]


def test_forms_need_a_csrf_token(client):
    assert client.post("/login", data={"username": "admin", "password": PASSWORD}).status_code == 400
    login(client, "admin")
    response = client.post("/admin/users", data={"username": "mallory", "password": "x" * 12, "roles": "admin"})
    assert response.status_code == 400 and "CSRF" in response.get_data(as_text=True)


def test_password_change_ends_other_sessions(app, client):
    other = app.test_client()
    login(client, "researcher")
    login(other, "researcher")
    token = csrf_token(client, "/account/password")
    bad = client.post("/account/password", data={"old_password": "nope", "new_password": "n" * 12, "confirm": "n" * 12,
                                                  "csrf_token": token})
    assert bad.status_code == 400 and "old_password" in bad.get_data(as_text=True)
    ok = client.post("/account/password", data={"old_password": PASSWORD, "new_password": "new password 1",
                                                 "confirm": "new password 1", "csrf_token": token})
    assert ok.status_code == 302
    assert "researcher" in client.get("/").get_data(as_text=True)  # this session goes on
    assert "researcher" not in other.get("/").get_data(as_text=True)  # the other one ended
    assert login(app.test_client(), "researcher", "new password 1").status_code == 302


def change_password(client, old, new="new password 1"):
    return client.post("/account/password", data={"old_password": old, "new_password": new, "confirm": new,
                                                  "csrf_token": csrf_token(client, "/account/password")})


def test_current_password_guesses_are_counted_locked_out_and_audited(app, client, accounts):
    """A stolen session must not become the password: guesses count like failed logins."""
    login(client, "researcher")
    for _ in range(5):
        assert change_password(client, "a wrong guess").status_code == 400
    assert accounts.store.login_failures("researcher", "127.0.0.1")[1]  # this address waits now
    refused = change_password(client, PASSWORD)  # the right password, but locked now
    assert refused.status_code == 400 and "old_password" in refused.get_data(as_text=True)
    assert login(app.test_client(), "researcher").status_code == 401  # the same wait as logins' from here
    actions = [e["action"] for e in accounts.store.events() if e["user"] == "researcher"]
    assert actions.count("password-check-failed") == 5 and "lockout" in actions
    assert "password-check-locked" in actions and "password-change" not in actions


def test_password_form_is_rate_limited(tmp_path):
    from web import create_app

    app = create_app({"DATA_DIR": str(tmp_path), "SECRET_KEY": "t", "LOGIN_RATE_LIMIT": "3 per minute",
                      "LOGIN_ATTEMPTS": 100})
    add_users(app, ["member"])
    client = app.test_client()
    login(client, "member")
    assert [change_password(client, "wrong guess").status_code for _ in range(4)] == [400, 400, 400, 429]


def test_disabled_user_is_signed_out_and_refused(app, client, accounts):
    login(client, "curator")
    accounts.set_disabled("curator", True, by=SYSTEM)
    assert client.get("/admin/").status_code == 302
    assert login(app.test_client(), "curator").status_code == 401


@pytest.mark.parametrize("role,allowed", [
    ("anonymous", set()), ("researcher", set()), ("member", set()),
    ("curator", {"/admin/", "/admin/items"}),
    ("archivist", {"/admin/", "/admin/items", "/admin/audit", "/admin/items/new"}),
    ("admin", {"/admin/", "/admin/items", "/admin/audit", "/admin/items/new", "/admin/users", "/admin/tokens"}),
])
def test_admin_requires_roles(client, role, allowed):
    if role != "anonymous":
        login(client, role)
    for url in ("/admin/", "/admin/items", "/admin/audit", "/admin/items/new", "/admin/users", "/admin/tokens"):
        code = client.get(url).status_code
        expected = 200 if url in allowed else (302 if role == "anonymous" else 403)
        assert code == expected, (role, url)


def test_admin_manages_users_and_roles(client, accounts):
    login(client, "admin")
    token = csrf_token(client, "/admin/users")
    bad = client.post("/admin/users", data={"username": "li", "password": "short", "roles": "member", "csrf_token": token})
    assert bad.status_code == 400 and "at least 10 characters" in bad.get_data(as_text=True)
    client.post("/admin/users", data={"username": "li", "password": "long enough pw", "roles": ["member"],
                                      "csrf_token": token})
    assert accounts.store.get("li").roles == {"member"}
    client.post("/admin/users/li/roles", data={"roles": ["researcher", "member"], "csrf_token": token})
    assert accounts.store.get("li").roles == {"researcher", "member"}
    client.post("/admin/users/li/disable", data={"csrf_token": token})
    assert accounts.store.get("li").disabled
    assert "li" in client.get("/admin/users").get_data(as_text=True)


def test_tokens_created_shown_once_stored_hashed_and_revoked(app, client, accounts):
    app.extensions["fangzhi"].archive.create_item(photo_item(id="alliance-1", visibility="alliance"), user=SYSTEM)
    login(client, "admin")
    token = csrf_token(client, "/admin/tokens")
    page = client.post("/admin/tokens", data={"name": "江阴市图书馆", "scopes": ["read-alliance"], "csrf_token": token})
    secret = re.search(r'<code class="secret">(fzt_[^<]+)</code>', page.get_data(as_text=True)).group(1)
    assert secret not in client.get("/admin/tokens").get_data(as_text=True)
    assert all(secret not in t.hash for t in accounts.store.tokens())
    harvester = app.test_client()
    assert harvester.get("/api/items/alliance-1").status_code == 404
    assert harvester.get("/api/items/alliance-1", headers={"Authorization": f"Bearer {secret}"}).status_code == 200
    assert accounts.store.tokens()[0].last_used
    assert "token-use" in [e["action"] for e in accounts.store.events()]
    client.post(f"/admin/tokens/{accounts.store.tokens()[0].id}/revoke", data={"csrf_token": token})
    refused = harvester.get("/api/items/alliance-1", headers={"Authorization": f"Bearer {secret}"})
    assert refused.status_code == 401 and "invalid_token" in refused.headers["WWW-Authenticate"]
    assert harvester.get("/api/items", headers={"Authorization": "Bearer fzt_made_up"}).status_code == 401


def test_security_headers(client):
    headers = client.get("/").headers
    assert "frame-ancestors 'self'" in headers["Content-Security-Policy"]
    assert "script-src 'self'" in headers["Content-Security-Policy"]
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["X-Frame-Options"] == "SAMEORIGIN"


def test_hsts_and_secure_cookies_over_https(tmp_path):
    from web import create_app

    app = create_app({"DATA_DIR": str(tmp_path), "SECRET_KEY": "t", "HTTPS": True})
    add_users(app, ["admin"])
    client = app.test_client()
    assert client.get("/").headers["Strict-Transport-Security"].startswith("max-age=")
    assert "Secure" in login(client, "admin").headers["Set-Cookie"]


def test_signed_in_pages_are_not_cached_by_shared_caches(client):
    login(client, "admin")
    assert client.get("/").headers["Cache-Control"] == "private, no-store"


def test_no_stack_traces(app, client, monkeypatch):
    def boom(*a, **k):
        raise RuntimeError("secret internals /etc/fangzhi")

    monkeypatch.setattr(app.extensions["fangzhi"].archive, "list_items", boom)
    for url in ("/", "/api/items"):
        response = client.get(url)
        assert response.status_code == 500
        assert "secret internals" not in response.get_data(as_text=True)
        assert "Traceback" not in response.get_data(as_text=True)


def test_audit_page_shows_changes_and_logins(app, client):
    archive = app.extensions["fangzhi"].archive
    archive.create_item(photo_item(id="a-1"), user=SYSTEM, why="donation from 张家")
    login(client, "archivist")
    html = client.get("/admin/audit").get_data(as_text=True)
    assert "donation from 张家" in html and "item:a-1" in html
    assert "donation from 张家" in client.get("/admin/audit?object=item:a-1").get_data(as_text=True)
    assert "<td>login</td>" in client.get("/admin/audit?log=auth").get_data(as_text=True)


def test_bogus_bearer_tokens_do_not_flood_the_audit_log(app, client, accounts):
    before = accounts.store.count_events()
    for i in range(200):
        assert client.get("/api/items", headers={"Authorization": f"Bearer fzt_guess_{i}"}).status_code == 401
    assert accounts.store.count_events() == before + 1
    assert accounts.store.events(limit=1)[0]["count"] == 200


def test_audit_log_pages_reach_the_oldest_event(app, client, accounts):
    for i in range(60):
        accounts.log("someone", "login-failed", f"attempt #{i}")
    archive = app.extensions["fangzhi"].archive
    for i in range(30):  # in the same second or two: pages must still neither repeat nor skip one
        archive.create_item(photo_item(id=f"paged-{i}"), user=SYSTEM)
    login(client, "archivist")
    for url, pattern, expected in (
            ("/admin/audit?log=auth&per_page=25", r"<td>(attempt #\d+|user-add)</td>",
             [f"attempt #{i}" for i in range(59, -1, -1)] + ["user-add"] * 5),
            ("/admin/audit?per_page=12", r">item:(paged-\d+)</a>", sorted(f"paged-{i}" for i in range(30)))):
        pages = [client.get(url).get_data(as_text=True)]
        while 'rel="next"' in pages[-1]:
            link = re.search(r'<a rel="next" href="([^"]+)"', pages[-1]).group(1).replace("&amp;", "&")
            pages.append(client.get(link).get_data(as_text=True))
        shown = [m for page in pages for m in re.findall(pattern, page)]
        assert len(pages) == 3 and (shown if "auth" in url else sorted(shown)) == expected, url
