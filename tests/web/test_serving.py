"""`fangzhi serve`: gunicorn with workers built after the fork, one session key for all of them,
and the login rate limit shared by every process through Redis (REDIS_URL)."""
import os
import re
import signal
import time
from pathlib import Path

import pytest
import requests
from click.testing import CliRunner

from repository.access import SYSTEM
from tests.helpers import build_on
from tests.servers import start_fangzhi
from tests.web.auth_helpers import PASSWORD
from web.cli import main
from web.serving import worker_settings


def csrf(session: requests.Session, url: str) -> str:
    html = session.get(f"{url}/login").text
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def open_files(pid: int, folder: Path) -> list[str]:
    """The files under ``folder`` process ``pid`` holds open."""
    found = []
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:  # closed meanwhile
            continue
        if target.startswith(str(folder)):
            found.append(target)
    return found


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """`fangzhi serve` with two workers and no SECRET_KEY, an archivist account in its data folder."""
    data = tmp_path_factory.mktemp("serve") / "data"
    build_on(data).accounts.add_user("archivist", PASSWORD, ["archivist"], by=SYSTEM)
    server = start_fangzhi(data, settings={"WEB_WORKERS": 2, "WEB_THREADS": 2})
    yield server, data
    server.stop()


def test_serve_runs_gunicorn_with_its_workers_built_after_the_fork(served):
    server, data = served
    output = server.output()
    assert "Using worker: gthread" in output and "development server" not in output.lower(), output
    workers = server.workers()
    assert len(workers) == 2
    # The master holds nothing of the archive open (no database, index or log of it): only the
    # workers built services, each its own.
    assert open_files(server.process.pid, data.resolve()) == []
    deadline = time.monotonic() + 30
    while not all(open_files(pid, data.resolve()) for pid in workers) and time.monotonic() < deadline:
        requests.get(f"{server.url}/healthz", timeout=5)
        time.sleep(0.2)
    assert all(open_files(pid, data.resolve()) for pid in workers)


def test_a_session_stays_valid_in_every_worker_without_a_secret_key_setting(served):
    """No FANGZHI_SECRET_KEY: the master reads the data folder's key once and gives it to every
    worker, also to those started later in place of workers that died."""
    server, data = served
    browser = requests.Session()
    answer = browser.post(f"{server.url}/login", data={"username": "archivist", "password": PASSWORD,
                                                       "csrf_token": csrf(browser, server.url)}, allow_redirects=False)
    assert answer.status_code == 302
    assert browser.get(f"{server.url}/admin/ingest", allow_redirects=False).status_code == 200
    before = server.workers()
    for pid in before:
        os.kill(pid, signal.SIGKILL)  # workers this test's server started
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        now = server.workers()
        if len(now) == 2 and not set(now) & set(before):
            try:
                if requests.get(f"{server.url}/healthz", timeout=5).ok:
                    break
            except requests.ConnectionError:
                pass
        time.sleep(0.3)
    assert not set(server.workers()) & set(before)
    for _ in range(6):  # new connections: whichever new worker answers
        fresh = requests.Session()
        fresh.cookies.update(browser.cookies)
        assert fresh.get(f"{server.url}/admin/ingest", allow_redirects=False).status_code == 200
    assert (data / "secret_key").stat().st_mode & 0o777 == 0o600


def test_a_placeholder_secret_key_is_refused(tmp_path):
    result = CliRunner().invoke(main, ["serve"], env={"FANGZHI_DATA_DIR": str(tmp_path), "FANGZHI_SECRET_KEY": "change-me"})
    assert result.exit_code == 1
    assert "FANGZHI_SECRET_KEY is 9 characters long" in result.output and "deploy/fangzhi.env.example" in result.output


def test_workers_get_the_setting_or_the_data_folders_one_key(tmp_path):
    settings = {"DATA_DIR": str(tmp_path / "d"), "SECRET_KEY": ""}
    first, second = worker_settings(settings)["SECRET_KEY"], worker_settings(settings)["SECRET_KEY"]
    assert first == second == (tmp_path / "d" / "secret_key").read_text().strip() and len(first) == 64
    key = "k" * 64
    assert worker_settings({**settings, "SECRET_KEY": key})["SECRET_KEY"] == key


def failed_logins(server, count: int) -> list[int]:
    browser = requests.Session()
    token = csrf(browser, server.url)
    return [browser.post(f"{server.url}/login", data={"username": "nobody", "password": "wrong", "csrf_token": token},
                         allow_redirects=False).status_code for _ in range(count)]


@pytest.mark.parametrize("shared", [True, False], ids=["redis", "memory"])
def test_the_login_rate_limit_is_shared_by_every_server_on_one_redis(tmp_path, redis_url, shared):
    """Two `fangzhi serve` on separate data folders, as on two machines: with REDIS_URL the attempts
    made at one count at the other; without it each counts its own."""
    settings = {"LOGIN_RATE_LIMIT": "3 per minute", "WEB_WORKERS": 1, "WEB_THREADS": 2}
    if shared:
        settings["REDIS_URL"] = redis_url.rsplit("/", 1)[0] + "/3"  # a database of its own
        import redis

        redis.Redis.from_url(settings["REDIS_URL"]).flushdb()
    first = start_fangzhi(tmp_path / "a" / "data", settings=settings)
    try:
        second = start_fangzhi(tmp_path / "b" / "data", settings=settings)
        try:
            assert failed_logins(first, 3) == [401, 401, 401]
            assert failed_logins(second, 1) == ([429] if shared else [401])
        finally:
            second.stop()
    finally:
        first.stop()


def test_dev_gives_flasks_reloading_server(tmp_path):
    server = start_fangzhi(tmp_path / "data", args=("--dev",))
    try:
        assert requests.get(f"{server.url}/healthz", timeout=5).json() == {"status": "ok"}
        output = server.output()
        assert "development server" in output and "Restarting with" in output and "gunicorn" not in output, output
    finally:
        server.stop()


def test_while_redis_cannot_be_reached_the_limit_is_counted_in_the_process(tmp_path, monkeypatch):
    import socket

    from tests.web.auth_helpers import csrf_token
    from web import create_app

    with socket.socket() as closed:  # a port nothing listens on
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    app = create_app({"DATA_DIR": str(tmp_path), "SECRET_KEY": "t", "LOGIN_RATE_LIMIT": "2 per minute",
                      "REDIS_URL": f"redis://127.0.0.1:{port}/0"})
    client = app.test_client()
    token = csrf_token(client)
    answers = [client.post("/login", data={"username": "a", "password": "b", "csrf_token": token}).status_code
               for _ in range(3)]
    assert answers == [401, 401, 429]
