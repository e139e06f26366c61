"""Web: the application factory, blueprints, templates and the `fangzhi` CLI."""
from __future__ import annotations

import os
import secrets
import tempfile
from pathlib import Path

from flask import Flask, Request, abort, g, request
from flask.json.provider import DefaultJSONProvider
from flask_babel import Babel
from flask_babel import gettext as _

from fangzhi import bootstrap
from fangzhi import settings as settings_table
from repository.model import text_only

from . import address
from .csp import CSP, VARY, security_headers
from .display import locale as _locale


def create_app(config: dict | None = None, *, fangzhi: bootstrap.Fangzhi | None = None) -> Flask:
    """Build the app on ``fangzhi`` (the services made by fangzhi.bootstrap.build), or on services
    built from the settings, ``config`` overriding them (names as in fangzhi.settings, without FANGZHI_)."""
    if fangzhi is None:
        fangzhi = bootstrap.build(settings_table.load(config))
    settings = fangzhi.settings
    data_dir = Path(settings["DATA_DIR"])
    (data_dir / "uploads").mkdir(parents=True, exist_ok=True)
    app = Flask(__name__)
    app.request_class = _upload_request_class(data_dir / "uploads")
    app.config.update(
        FANGZHI=settings, SECRET_KEY=session_key(settings),
        BABEL_DEFAULT_LOCALE=settings["DEFAULT_LOCALE"],
        BABEL_TRANSLATION_DIRECTORIES=str(Path(__file__).parent / "translations"),
        MAX_CONTENT_LENGTH=settings["MAX_BODY_MB"] * 1024 * 1024,  # the upload routes take more (web.uploads)
        SESSION_COOKIE_HTTPONLY=True, SESSION_COOKIE_SAMESITE="Lax", SESSION_COOKIE_SECURE=settings["HTTPS"],
        REMEMBER_COOKIE_HTTPONLY=True, REMEMBER_COOKIE_SAMESITE="Lax", REMEMBER_COOKIE_SECURE=settings["HTTPS"],
        WTF_CSRF_TIME_LIMIT=None, RATELIMIT_HEADERS_ENABLED=True,
    )
    app.json = TextJSON(app)
    app.json.ensure_ascii = False
    app.extensions["fangzhi"] = fangzhi
    Babel(app, locale_selector=_locale)

    from . import admin, alliance_views, api, auth, errors, ingest_views, public, search_views
    from . import bulk_views  # also adds /admin/items to admin.bp, so before it is registered
    from . import iiif_image
    from . import iiif_presentation
    from . import interview_admin
    from . import oai_views
    from . import uploads
    from . import vendor
    from . import batch_views
    from . import staff_views
    from . import correction_views
    from . import dashboard_views
    from . import mention_views
    from . import assets
    from . import researcher
    from . import reader
    from . import browse
    from . import api_docs
    from . import lists
    from . import display
    from . import exhibition_views
    from . import authority_views

    @app.before_request
    def known_host():  # first, before any view or URL sees the Host header (web.address)
        if request.environ.get(address.UNTRUSTED):  # not echoed: nothing a client sent reaches the answer
            abort(400, description=_("此网站不应答请求中的主机名：请把它加入 FANGZHI_TRUSTED_HOSTS，"
                                     "或设置 FANGZHI_BASE_URL。"))

    app.before_request(uploads.body_limit)  # before CSRF protection reads a form
    auth.init_app(app)
    auth.csrf.exempt(api.bp)  # the API checks CSRF itself for session writes (api._writer)
    auth.csrf.exempt(oai_views.bp)  # OAI-PMH reads only, and sessions harvest as anonymous (alliance.oai)
    app.register_blueprint(public.bp)
    app.register_blueprint(api.bp)
    app.register_blueprint(auth.bp)
    app.register_blueprint(admin.bp)
    app.register_blueprint(ingest_views.bp)
    app.register_blueprint(search_views.bp)
    app.register_blueprint(iiif_image.bp)
    app.register_blueprint(iiif_presentation.bp)
    app.register_blueprint(interview_admin.bp)
    app.register_blueprint(alliance_views.bp)
    app.register_blueprint(oai_views.bp)
    app.register_blueprint(vendor.bp)
    app.register_blueprint(batch_views.bp)
    app.register_blueprint(staff_views.bp)
    app.register_blueprint(bulk_views.bp)
    app.register_blueprint(correction_views.bp)
    app.register_blueprint(dashboard_views.bp)
    app.register_blueprint(mention_views.bp)
    app.register_blueprint(researcher.bp)
    app.register_blueprint(reader.bp)
    app.register_blueprint(browse.bp)
    app.register_blueprint(api_docs.bp)
    app.register_blueprint(lists.bp)
    display.init_app(app)
    app.register_blueprint(exhibition_views.bp)
    app.register_blueprint(authority_views.bp)
    errors.init_app(app)
    assets.init_app(app)  # before add_security_headers: its cache headers have the last word

    @app.get("/healthz")
    def healthz():
        return {"status": "ok"}

    @app.context_processor
    def globals_():
        from repository.access import ANONYMOUS
        from werkzeug.exceptions import Unauthorized

        from .context import current_user

        try:
            user = current_user()
        except Unauthorized:  # a refused Bearer token: its error page shows no one signed in
            user = ANONYMOUS
        return {"site_name": settings["SITE_NAME"], "lang": "en" if _locale() == "en" else "zh", "user": user}

    always = security_headers(settings)

    @app.after_request
    def add_security_headers(response):
        response.headers.setdefault("Content-Security-Policy", CSP)
        for name, value in always:
            response.headers[name] = value
        if "fz_user" in g and not g.fz_user.is_anonymous:  # what a signed-in user sees is theirs alone
            response.headers["Cache-Control"] = "private, no-store"
        if "Vary" in response.headers:
            response.vary.update(VARY)
        else:  # (most responses: the same header, without parsing one first)
            response.headers["Vary"] = ", ".join(VARY)
        return response

    # Outermost: the proxies, host names and base URL (web.address); then the IIIF fast path.
    app.wsgi_app = address.wrap(iiif_image.fast_path(app, app.wsgi_app), settings)
    return app


def _upload_request_class(folder: Path) -> type[Request]:
    """Requests whose uploaded files spool inside the data folder, never elsewhere on disk."""

    class UploadRequest(Request):
        def _get_file_stream(self, total_content_length, content_type, filename=None, content_length=None):
            return tempfile.TemporaryFile(dir=folder)

    return UploadRequest


def session_key(settings: dict) -> str:
    """SECRET_KEY, or the data folder's session key, created once. Several processes may start at
    the same moment: the key is written to a temporary file and linked into place, so all of them
    read one key (`fangzhi serve` reads it once, in gunicorn's master: web.serving)."""
    if settings["SECRET_KEY"]:
        return settings["SECRET_KEY"]
    data_dir = Path(settings["DATA_DIR"])
    data_dir.mkdir(parents=True, exist_ok=True)
    path = data_dir / "secret_key"
    if not path.exists():
        with tempfile.NamedTemporaryFile("w", dir=data_dir, delete=False) as tmp:
            tmp.write(secrets.token_hex(32))
        os.chmod(tmp.name, 0o600)
        try:
            os.link(tmp.name, path)  # fails if another process got there first
        except FileExistsError:
            pass
        finally:
            os.unlink(tmp.name)
    return path.read_text().strip()


class TextJSON(DefaultJSONProvider):
    """Request bodies' JSON (``request.get_json``, ``current_app.json.loads``) is text only
    (``repository.model.text_only``): otherwise invalid JSON, refused with 400 like any other."""

    def loads(self, s, **kwargs):
        return text_only(super().loads(s, **kwargs))
