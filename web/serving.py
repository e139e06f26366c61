"""`fangzhi serve`: the site under gunicorn, run from inside the command (a gunicorn
``BaseApplication``), WEB_WORKERS processes of WEB_THREADS threads each.

The master process only reads the settings, the session key and the listening socket: every
worker builds its own app, database engine, search index and image server after the fork
(``load`` runs in the worker; the app is never preloaded), so nothing that holds a connection or
a file is shared across it.
"""
from __future__ import annotations

import multiprocessing
import os
import time

from gunicorn.app.base import BaseApplication
from gunicorn.workers.gthread import ThreadWorker

from . import session_key

BALANCE_SECONDS = 0.02  # how long a worker holding more connections than another leaves a new one to it
BALANCE_POLL = 0.0002  # seconds between its looks at the waiting connection meanwhile
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
            "worker_class": BalancedWorker,
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
        # made before the fork: every worker's count of connections, by worker (pid, connections)
        BalancedWorker.counts = multiprocessing.Array("q", 2 * 4 * max(1, settings["WEB_WORKERS"]))
        super().__init__()

    def load_config(self):
        for name, value in self.options.items():
            self.cfg.set(name, value)

    def load(self):
        from fangzhi.bootstrap import build

        from . import create_app

        return create_app(fangzhi=build(self.settings))


class BalancedWorker(ThreadWorker):
    """gunicorn's gthread worker, its connections balanced with the other workers'.

    A kept-alive connection stays with the worker that accepted it, and which worker accepts a new
    one is chance (whichever wakes first): one worker may end up with six of a viewer's (or
    nginx's) eight connections, or all of them, doing on one core what two could. Each worker
    publishes how many connections it holds (``counts``, shared memory made before the fork); one
    that holds more than another leaves a new connection to it — which is woken by the same
    connection and takes it at once — for BALANCE_SECONDS at most, then takes it itself."""

    counts = None  # multiprocessing.Array: pid, connections, pid, connections…

    def run(self):  # the app is built: from now on this worker takes connections
        self._waiting_since = self._waited = 0.0
        with self.counts.get_lock():
            slots = self.counts.get_obj()
            free = next(i for i in range(0, len(slots), 2) if not slots[i] or not _alive(slots[i]))
            slots[free], slots[free + 1] = os.getpid(), 0
        self._slot = free
        super().run()

    def notify(self):  # once a turn of the worker's loop
        super().notify()
        self.counts.get_obj()[self._slot + 1] = self.nr_conns

    def accept(self, listener):
        now = time.monotonic()
        if self._holds_more():
            if now - self._waited > 4 * BALANCE_POLL:  # a new connection waiting (not the one just seen)
                self._waiting_since = now
            self._waited = now
            if now - self._waiting_since < BALANCE_SECONDS:
                time.sleep(BALANCE_POLL)  # the listener stays readable: the loop comes back here
                return
        self.counts.get_obj()[self._slot + 1] = self.nr_conns + 1
        super().accept(listener)

    def _holds_more(self) -> bool:
        slots, mine = self.counts.get_obj(), self.nr_conns
        return any(slots[i + 1] < mine for i in range(0, len(slots), 2)
                   if slots[i] and i != self._slot and _alive(slots[i]))


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    return True
