"""Web: the application factory, blueprints, templates and the `fangzhi` CLI."""
from __future__ import annotations

import secrets
from pathlib import Path

from flask import Flask, g, request
from flask_babel import Babel

from . import settings as settings_module

LOCALES = ("zh", "en")


def create_app(config: dict | None = None) -> Flask:
    """Build the app. ``config`` overrides settings (names as in web.settings, without FANGZHI_)."""
    from .bootstrap import build_archive

    settings = settings_module.load(config)
    app = Flask(__name__)
    data_dir = Path(settings["DATA_DIR"]).resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    settings["DATA_DIR"] = str(data_dir)
    app.config.update(FANGZHI=settings, SECRET_KEY=settings["SECRET_KEY"] or _secret_key(data_dir),
                      JSON_AS_ASCII=False, BABEL_DEFAULT_LOCALE=settings["DEFAULT_LOCALE"],
                      BABEL_TRANSLATION_DIRECTORIES=str(Path(__file__).parent / "translations"))
    app.json.ensure_ascii = False
    app.extensions["fangzhi"] = build_archive(settings)
    Babel(app, locale_selector=_locale)

    from . import api, errors, public

    app.register_blueprint(public.bp)
    app.register_blueprint(api.bp)
    errors.init_app(app)

    @app.get("/healthz")
    def healthz():
        return {"status": "ok"}

    @app.context_processor
    def globals_():
        return {"site_name": settings["SITE_NAME"], "lang": _locale()}

    return app


def _locale() -> str:
    if "lang" not in g:
        from flask import current_app

        choice = request.args.get("lang") or request.cookies.get("lang")
        g.lang = choice if choice in LOCALES else current_app.config["FANGZHI"]["DEFAULT_LOCALE"]
    return g.lang


def _secret_key(data_dir: Path) -> str:
    path = data_dir / "secret_key"
    if not path.exists():
        path.write_text(secrets.token_hex(32))
        path.chmod(0o600)
    return path.read_text().strip()
