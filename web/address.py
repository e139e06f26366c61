"""Where readers reach the archive: the proxies in front of it (PROXY_HOPS), the host names it
answers to (TRUSTED_HOSTS) and the address every absolute URL is built from (BASE_URL).

Absolute URLs (IIIF ids, API links, media URLs, Change Discovery pages) come from the request's
scheme and Host. A Host an attacker chose must never reach them, nor a cache storing them: with
BASE_URL set the Host header is not used; otherwise only trusted host names are answered (400 for
others), by default those of the machine itself, so development keeps working on localhost.
"""
from __future__ import annotations

from urllib.parse import urlsplit

from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.sansio.utils import host_is_trusted

LOCAL_HOSTS = ("localhost", "127.0.0.1", "[::1]")
UNTRUSTED = "fangzhi.untrusted_host"  # set in the WSGI environ: the app answers 400 (web.create_app)


def base_url(value: str) -> tuple[str, str] | None:
    """(scheme, host[:port]) of a BASE_URL setting, or None when empty."""
    if not value:
        return None
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not host_is_trusted(parts.netloc) or parts.path not in ("", "/") \
            or parts.query or parts.fragment:
        raise SystemExit(f"FANGZHI_BASE_URL={value!r}: give the scheme and host name only, "
                         "e.g. https://archive.example.org (Fangzhi is served at the root of its host)")
    return parts.scheme, parts.netloc.lower()


def trusted_hosts(value: str, base: tuple | None) -> list[str] | None:
    """The host names answered (None: all of them)."""
    names = [name.strip().lower() for name in value.split(",") if name.strip()]
    names = [f"[{n}]" if n.count(":") > 1 and not n.startswith("[") else n for n in names]  # IPv6
    return names or (None if base else list(LOCAL_HOSTS))


def _trusted(host: str, names: list[str]) -> bool:
    if not host_is_trusted(host):  # malformed
        return False
    name = host[:host.index("]") + 1] if host.startswith("[") else host.rpartition(":")[0] or host
    name = name.lower()
    return any(name == n or (n.startswith(".") and (name.endswith(n) or name == n[1:])) for n in names)


def wrap(wsgi_app, settings: dict):
    """The app's WSGI callable behind the configured proxies, host names and base URL."""
    base = base_url(settings["BASE_URL"])
    names = trusted_hosts(settings["TRUSTED_HOSTS"], base)

    def app(environ, start_response):
        host = environ.get("HTTP_HOST") or environ.get("SERVER_NAME", "")
        if names is not None and not _trusted(host, names):
            environ[UNTRUSTED] = True
        elif base:
            environ["wsgi.url_scheme"], environ["HTTP_HOST"] = base
        return wsgi_app(environ, start_response)

    hops = settings["PROXY_HOPS"]
    if hops <= 0:  # X-Forwarded-* headers may come from anyone: ignored
        return app
    # The client address and scheme as the nearest `hops` proxies saw them; the Host header is
    # nginx's own (proxy_set_header Host $host), X-Forwarded-Host is never trusted.
    return ProxyFix(app, x_for=hops, x_proto=hops, x_host=0, x_port=0, x_prefix=0)
