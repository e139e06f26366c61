"""Shared test helpers: the OCFL validator, conformance data, small archive builders."""
from __future__ import annotations

import io
import os
import subprocess
import sys
import threading
from contextlib import contextmanager
from pathlib import Path

import pytest
from werkzeug.serving import make_server

CONFORMANCE = Path(__file__).resolve().parents[2] / "shared" / "conformance"


def build_on(data_dir: Path, **overrides):
    """Every service on ``data_dir``, built by the composition root from the default settings
    (no FANGZHI_* variables); ``overrides`` replace backends (fangzhi.bootstrap.build)."""
    from fangzhi.bootstrap import build
    from fangzhi.settings import load

    return build(load({"DATA_DIR": str(data_dir)}, environ={}), **overrides)


def conformance(relative: str) -> Path:
    """A file from ../shared/conformance: skipped with a message where absent, a failure in CI."""
    path = CONFORMANCE / relative
    if not path.exists():
        message = f"conformance file {path} is absent (it lives in ../shared/conformance beside the repo)"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    return path


def assert_ocfl_valid(root: Path) -> None:
    """Run ocfl-py's validator on a storage root with every object and digest checked."""
    script = Path(sys.executable).parent / "ocfl-root.py"
    assert script.exists(), "ocfl-root.py is missing: install the test extras (pip install -e '.[test]')"
    out = subprocess.run([sys.executable, str(script), "validate", "--root", str(root), "--validate-objects",
                          "--check-digests"], capture_output=True, text=True, timeout=300)
    text = out.stdout + out.stderr
    # The exit status is 0 either way: the verdict is this line.
    assert f"Storage root {root} is VALID" in text, text


class FailingStream(io.RawIOBase):
    """A stream that yields ``good`` bytes and then raises, like a dropped upload."""

    def __init__(self, good: bytes):
        self.data = io.BytesIO(good)

    def readable(self):
        return True

    def read(self, n=-1):
        chunk = self.data.read(n if n and n > 0 else 1 << 16)
        if not chunk:
            raise OSError("connection lost while uploading")
        return chunk


def photo_item(**fields) -> dict:
    data = {"kind": "photo", "title": {"zh": "惠山古镇", "en": "Huishan old town"},
            "rights": "http://rightsstatements.org/vocab/NoC-OKLR/1.0/"}
    data.update(fields)
    return data


@contextmanager
def serving(app):
    """The app served on a free 127.0.0.1 port from a thread, for browser tests; yields its URL."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()


def english(notices) -> list[str]:
    """Notices (``repository.notices``) as an English-speaking user reads them."""
    from web.notices import render

    return [render(n, "en") for n in notices]


def together(work, args) -> list[Exception]:
    """``work(arg)`` for each of ``args`` in threads of its own, all at once (racing writers);
    returns what they raised."""
    errors = []

    def run(arg):
        try:
            work(arg)
        except Exception as exc:  # noqa: BLE001 - the caller asserts on them
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(arg,)) for arg in args]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return errors
