"""Fangzhi instances on loopback for the alliance tests: each a real app on its own data folder and
port (werkzeug's threaded server in a thread), built by the composition root.

``Instance.hold()`` makes its /api/search wait until ``kill()`` (or ``release()``): a member stopped
in the middle of a live search — its server closed and the waiting connection cut, as when the
process dies — or one that answers too late.
"""
from __future__ import annotations

import socket
import threading
from dataclasses import dataclass, field
from pathlib import Path

from werkzeug.serving import make_server

from alliance.members import Member
from repository.access import SYSTEM
from fangzhi.bootstrap import build
from fangzhi.settings import load
from search.tantivy_index import TantivyIndex


@dataclass
class Instance:
    name: str
    library: str
    fangzhi: object
    app: object
    server: object = None
    url: str = ""
    held: threading.Event = field(default_factory=threading.Event)  # set: /api/search waits
    waiting: threading.Event = field(default_factory=threading.Event)  # set: a search is waiting
    go: threading.Event = field(default_factory=threading.Event)
    sockets: list = field(default_factory=list)

    @property
    def archive(self):
        return self.fangzhi.archive

    def token(self, *scopes: str) -> str:
        """A new API token of this instance (e.g. read-alliance, for another member to present)."""
        secret, _ = self.fangzhi.accounts.create_token(f"{self.name}-{'+'.join(scopes)}-{len(self.sockets)}",
                                                       list(scopes), by=SYSTEM)
        return secret

    def member(self, token: str | None = None, **fields) -> Member:
        """This instance as another's member (its /oai, its Fangzhi API)."""
        return Member(self.name, f"{self.url}/oai", token=token, label_zh=self.library,
                      label_en=f"{self.name.title()} Library", **fields)

    def hold(self) -> None:
        self.held.set()
        self.go.clear()
        self.waiting.clear()

    def release(self) -> None:
        self.held.clear()
        self.go.set()

    def kill(self) -> None:
        """Stop the server: no new connection is accepted and the waiting ones are cut."""
        self.server.shutdown()
        self.server.server_close()
        for sock in self.sockets:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        self.release()

    def _wsgi(self, environ, start_response):
        if self.held.is_set() and environ.get("PATH_INFO") == "/api/search":
            sock = environ.get("werkzeug.socket")
            if sock is not None:
                self.sockets.append(sock)
            self.waiting.set()
            self.go.wait(30)
        return self.app.wsgi_app(environ, start_response)


def start(workdir: Path, name: str, library: str, **settings) -> Instance:
    """A Fangzhi named ``name`` whose items are held by ``library``, served on a free port."""
    from web import create_app

    fz = build(load({"DATA_DIR": str(workdir / name), "SECRET_KEY": name, "LIBRARY_NAME": library,
                     "LOGIN_RATE_LIMIT": "1000 per minute", **settings}, environ={}),
               index=TantivyIndex(None), inline=True)
    app = create_app(fangzhi=fz)
    instance = Instance(name, library, fz, app)
    instance.server = make_server("127.0.0.1", 0, instance._wsgi, threaded=True)
    instance.url = f"http://127.0.0.1:{instance.server.server_port}"
    threading.Thread(target=instance.server.serve_forever, daemon=True).start()
    return instance


def stop(instance: Instance) -> None:
    instance.release()
    try:
        instance.server.shutdown()
        instance.server.server_close()
    except OSError:
        pass
