"""Logging in and out, password change, and who the current request acts as.

Sessions (Flask-Login) for people, Bearer tokens for scripts and harvesters, CSRF protection
(Flask-WTF) on every form, and a rate limit (Flask-Limiter) on login attempts.
"""
from __future__ import annotations

from flask import Blueprint, current_app, flash, g, redirect, render_template, request, session, url_for
from flask.sessions import SecureCookieSessionInterface
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager, UserMixin, login_required, login_user, logout_user
from flask_login import current_user as session_account
from flask_login.config import COOKIE_NAME as REMEMBER
from flask_wtf.csrf import CSRFProtect
from flask_babel import gettext as _
from werkzeug.datastructures import WWWAuthenticate
from werkzeug.exceptions import Unauthorized

from repository.accounts import Account, Accounts, LoginFailed
from repository.access import ANONYMOUS, User
from repository.errors import ValidationError

bp = Blueprint("auth", __name__)
csrf = CSRFProtect()
limiter = Limiter(key_func=get_remote_address)  # its storage: the app's RATELIMIT_STORAGE_URI (init_app)
login_manager = LoginManager()


class SessionUser(UserMixin):
    def __init__(self, account: Account, session_id: str):
        self.account, self.session_id = account, session_id

    def get_id(self) -> str:  # see Accounts.session_user: ends at logout and when the password or roles change
        return self.session_id


def start_session(account: Account) -> None:
    """Sign in: a new session, with nothing carried over from before (the CSRF token included)."""
    session.clear()
    login_user(SessionUser(account, accounts().start_session(account)))


def accounts() -> Accounts:
    return current_app.extensions["fangzhi"].accounts


class CookieSessions(SecureCookieSessionInterface):
    """Flask's signed cookie sessions, without their per-request set-up: the signing serializer
    is made once per key, and a request without a session cookie (a viewer's tiles) gets an
    empty session at once, as Flask would give it."""

    def __init__(self):
        self._serializers: dict[tuple, object] = {}

    def get_signing_serializer(self, app):
        keys = (app.secret_key, *(app.config["SECRET_KEY_FALLBACKS"] or ()))
        serializer = self._serializers.get(keys)
        if serializer is None:
            serializer = self._serializers[keys] = super().get_signing_serializer(app)
        return serializer

    def open_session(self, app, request):
        if app.secret_key and not request.cookies.get(self.get_cookie_name(app)):
            return self.session_class()
        return super().open_session(app, request)


def init_app(app) -> None:
    app.session_interface = CookieSessions()
    csrf.init_app(app)
    # The login limits are counted in Redis when REDIS_URL is set, so every web process on every
    # machine shares them; else in this process's memory. While Redis cannot be reached each
    # process counts on its own rather than refusing logins (the accounts' lockout still holds).
    app.config.update(RATELIMIT_STORAGE_URI=app.config["FANGZHI"]["REDIS_URL"] or "memory://",
                      RATELIMIT_KEY_PREFIX="fangzhi", RATELIMIT_IN_MEMORY_FALLBACK_ENABLED=True)
    limiter.init_app(app)
    # Flask-Limiter looks up default, blueprint and meta limits before every request; Fangzhi sets
    # none, only the login routes' limits, which their decorators check: the look-up is not run.
    app.before_request_funcs[None].remove(limiter._check_request_limit)
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.session_protection = "strong"

    @login_manager.user_loader
    def load(session_id: str):
        account = accounts().session_user(session_id)
        return SessionUser(account, session_id) if account else None


def request_user() -> User:
    """The user this request acts as: a Bearer token's, the logged-in account's, or anonymous."""
    if "fz_user" not in g:
        header = request.headers.get("Authorization", "")
        if header[:7].lower() == "bearer ":
            user = accounts().token_user(header[7:].strip(), ip=request.remote_addr or "")
            if user is None:
                raise Unauthorized("the API token is unknown or revoked",
                                   www_authenticate=WWWAuthenticate("Bearer", {"error": "invalid_token"}))
            g.fz_token = True
        elif not _may_be_signed_in():
            user = ANONYMOUS  # what Flask-Login finds too, without its session checks
        elif session_account.is_authenticated:
            user = session_account.account.as_user()
        else:
            user = ANONYMOUS
        g.fz_user = user
    return g.fz_user


def _may_be_signed_in() -> bool:
    """Whether the request carries a remember cookie or a session with a signed-in account (the
    session is not even opened when there is no session cookie)."""
    config, cookies = current_app.config, request.cookies
    if config.get("REMEMBER_COOKIE_NAME", REMEMBER) in cookies:
        return True
    return config["SESSION_COOKIE_NAME"] in cookies and "_user_id" in session


def safe_next(target: str | None) -> str:
    """A page of this site to go to after a redirect that takes its target from the request, or
    the home page. Browsers drop tabs and newlines and read a backslash as a slash (WHATWG URL
    Standard, basic URL parser), so a target is refused if it has any control character or
    backslash, and must then be a path ("/…", not "//…": no scheme, no host)."""
    if (not target or not target.isprintable() or "\\" in target
            or not target.startswith("/") or target.startswith("//")):
        return url_for("public.home")
    return target


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["FANGZHI"]["LOGIN_RATE_LIMIT"], methods=["POST"])
def login():
    error = None
    if request.method == "POST":
        try:
            account = accounts().authenticate(request.form.get("username", "").strip(),
                                              request.form.get("password", ""), ip=request.remote_addr or "")
        except LoginFailed:
            error = _("用户名或密码错误，或账户已被锁定、停用。")
        else:
            start_session(account)
            return redirect(safe_next(request.form.get("next")))
    return render_template("login.html", error=error, next=request.values.get("next", "")), 401 if error else 200


@bp.post("/logout")
def logout():
    if session_account.is_authenticated:
        accounts().end_session(session_account.get_id())
    logout_user()
    session.clear()
    return redirect(url_for("public.home"))


@bp.route("/account/password", methods=["GET", "POST"])
@login_required
@limiter.limit(lambda: current_app.config["FANGZHI"]["LOGIN_RATE_LIMIT"], methods=["POST"])  # guesses, as at login
def password():
    problems = []
    if request.method == "POST":
        if request.form.get("new_password") != request.form.get("confirm"):
            problems = [("confirm", _("两次输入的新密码不一致"))]
        else:
            try:
                account = accounts().change_password(session_account.account.username, request.form.get("old_password", ""),
                                                     request.form.get("new_password", ""), ip=request.remote_addr or "")
            except ValidationError as exc:
                problems = exc.problems
            else:
                accounts().end_session(session_account.get_id())
                start_session(account)  # a new session here; the others end
                flash(_("密码已更改。"))
                return redirect(url_for("public.home"))
    return render_template("password.html", problems=problems), 400 if problems else 200
