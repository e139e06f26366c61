"""`fangzhi serve`: the site under gunicorn, run from inside the command (a gunicorn
``BaseApplication``), WEB_WORKERS processes of WEB_THREADS threads each.

The master process only reads the settings, the session key and the listening socket: every
worker builds its own app, database engine, search index and image server after the fork
(``load`` runs in the worker; the app is never preloaded), so nothing that holds a connection or
a file is shared across it.
"""
from __future__ import annotations

from gunicorn.app.base import BaseApplication

from . import session_key

MIN_SECRET = 32  # characters: `secrets.token_hex(32)` gives 64; a shorter key is a placeholder or guessable


def worker_settings(settings: dict) -> dict:
    """The settings every worker is built from: SECRET_KEY resolved once, in the master, so that
    all workers (and those gunicorn starts later in place of one that died) sign sessions with one
    key. A key too short to be secret (the example file's placeholder) is refused."""
    key = settings["SECRET_KEY"]
    if key and len(key) < MIN_SECRET:
        raise SystemExit(f"FANGZHI_SECRET_KEY is {len(key)} characters long: too short to sign sessions safely "
                         "(a placeholder, as in deploy/fangzhi.env.example?). Make one with "
                         "python3 -c 'import secrets; print(secrets.token_hex(32))', or leave it empty to use "
                         "the key kept in DATA_DIR/secret_key (one machine only).")
    return dict(settings, SECRET_KEY=session_key(settings))


def bind_address(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


class Server(BaseApplication):
    """gunicorn serving the app built from ``settings`` in each worker."""

    def __init__(self, settings: dict, *, host: str, port: int):
        self.settings = worker_settings(settings)
        self.options = {
            "bind": bind_address(host, port),
            "workers": settings["WEB_WORKERS"],
            "worker_class": "gthread",
            "threads": settings["WEB_THREADS"],
            # A worker silent this long is restarted; at a stop or reload (SIGTERM, SIGHUP) requests
            # in flight (a chunk of a large upload) get as long to finish.
            "timeout": settings["WEB_TIMEOUT"],
            "graceful_timeout": settings["WEB_TIMEOUT"],
            "preload_app": False,  # each worker builds its app after the fork (above)
            # X-Forwarded-* are trusted by the app alone, PROXY_HOPS deep (web.address), never by gunicorn.
            "forwarded_allow_ips": "",
            "control_socket_disable": True,  # systemd (deploy/) manages the server; no socket in $HOME
            "proc_name": "fangzhi",
            "errorlog": "-",
        }
        super().__init__()

    def load_config(self):
        for name, value in self.options.items():
            self.cfg.set(name, value)

    def load(self):
        from fangzhi.bootstrap import build

        from . import create_app

        return create_app(fangzhi=build(self.settings))
