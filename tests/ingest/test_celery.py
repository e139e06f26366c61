"""Distributed ingest (issue 17): two Celery workers in their own processes, each with its own data
and work folders, share SeaweedFS (S3), PostgreSQL, Redis and the Elasticsearch-API server; one is
SIGKILLed in the middle of a task (and, apart, one worker's child process); in the first, the workers do not
see the donation folder and read the copies staged in S3. Every item is stored
exactly once, with its derivatives, in a valid OCFL root, and indexed."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
import redis

from fangzhi import bootstrap
from fangzhi.settings import load
from ingest.pipeline import expected_purposes
from ingest.queue import QUEUE
from repository.services import item_object
from tests.helpers import assert_ocfl_valid
from tests.ingest.fixtures import jpeg, sha256
from tests.servers import stop_group

pytestmark = pytest.mark.distributed

ITEMS = 6
LEASE, VISIBILITY = 4, 4  # seconds: short, so that the dead worker's task comes back within the test
DEADLINE = 150.0  # seconds for the whole batch

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def shared(tmp_path, s3_server, postgres_url, redis_url, elasticsearch_url):
    """The FANGZHI_* settings every process shares: S3, PostgreSQL, Redis, Elasticsearch."""
    return {
        "FANGZHI_TASK_QUEUE": "celery", "FANGZHI_REDIS_URL": redis_url, "FANGZHI_DATABASE_URL": postgres_url,
        "FANGZHI_STORAGE": "s3", "FANGZHI_S3_ENDPOINT": s3_server.endpoint,
        "FANGZHI_S3_BUCKET": f"celery-{uuid.uuid4().hex[:12]}", "FANGZHI_S3_ACCESS_KEY": s3_server.access_key,
        "FANGZHI_S3_SECRET_KEY": s3_server.secret_key, "FANGZHI_SEARCH_BACKEND": "elasticsearch",
        "FANGZHI_ELASTICSEARCH_URL": elasticsearch_url, "FANGZHI_ELASTICSEARCH_INDEX": f"celery-{uuid.uuid4().hex[:8]}",
        "FANGZHI_INGEST_WORKERS": "1", "FANGZHI_INGEST_LEASE_SECONDS": str(LEASE),
        "FANGZHI_CELERY_VISIBILITY_TIMEOUT": str(VISIBILITY),
    }


def own_folders(tmp_path: Path, name: str) -> dict:
    return {"FANGZHI_DATA_DIR": str(tmp_path / name), "FANGZHI_WORK_DIR": str(tmp_path / name / "work")}


def command(tmp_path: Path, shared: dict, name: str, *args: str) -> subprocess.Popen:
    """``fangzhi ARGS`` in a process of its own with its own data and work folders, output in NAME.log."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("FANGZHI_")} | shared | own_folders(tmp_path, name)
    with open(tmp_path / f"{name}.log", "wb") as log:
        return subprocess.Popen([sys.executable, "-m", "web.cli", *args], env=env, stdout=log, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, cwd=ROOT, start_new_session=True)


def test_two_workers_one_killed_mid_task_store_every_item_once(tmp_path, shared):
    """A machine dies: its task comes back to the queue after the visibility timeout, and the other
    worker takes the entry over once the dead one's lease has run out. The workers' machines do not
    see the donation folder: they read the copies the planner staged in the object store."""
    check_batch(tmp_path, shared, ("w1", "w2"), whole_worker=True, elsewhere=True)


def test_a_worker_process_killed_mid_task_is_replaced_and_its_task_requeued_at_once(tmp_path, shared):
    """A worker's child process dies (the kernel's OOM killer): the worker requeues its task at
    once (reject_on_worker_lost), long before a visibility timeout of an hour."""
    check_batch(tmp_path, shared | {"FANGZHI_CELERY_VISIBILITY_TIMEOUT": "3600"}, ("w1",), whole_worker=False)


def check_batch(tmp_path: Path, shared: dict, names: tuple[str, ...], *, whole_worker: bool,
                elsewhere: bool = False) -> None:
    """``fangzhi ingest`` of a donation with ``fangzhi worker`` processes ``names``, one killed
    mid-task; then every item stored once, with its derivatives, in a valid OCFL root, indexed.
    ``elsewhere``: the workers start once every task is queued, and the donation folder is gone by then."""
    donation = tmp_path / "donation"
    donation.mkdir()
    for n in range(1, ITEMS + 1):
        jpeg(donation / f"{n}.jpg", seed=n, size=(2400, 1800))
    (donation / "empty.jpg").write_bytes(b"")  # a failure, shown as any other
    fz = bootstrap.build(load(environ=shared | own_folders(tmp_path, "checks")))
    workers = {} if elsewhere else {name: command(tmp_path, shared, name, "worker", "--name", f"{name}@%h") for name in names}
    ingest = command(tmp_path, shared, "ingest", "ingest", str(donation))
    kept = donation
    if elsewhere:
        broker = redis.Redis.from_url(shared["FANGZHI_REDIS_URL"])
        wait_for(lambda: broker.llen(QUEUE) == ITEMS + 1, "task for every entry in the queue")
        kept = donation.rename(tmp_path / "kept")
        workers = {name: command(tmp_path, shared, name, "worker", "--name", f"{name}@%h") for name in names}
    try:
        job = wait_for(lambda: next((j.id for j in fz.jobs.jobs()), None), "the ingest command's job")
        entries = {e.n: e for e in fz.jobs.entries(job)}
        killed = kill_one_mid_task(fz, job, entries, workers, whole_worker=whole_worker)
        ingest.wait(DEADLINE)
    finally:
        for process in (ingest, *workers.values()):
            stop_group(process)
    assert ingest.returncode == 1, logs(tmp_path)  # one entry failed: the command says so
    assert f"job {job}: {ITEMS} done, 0 duplicate, 1 failed, 0 pending" in (tmp_path / "ingest.log").read_text()
    shown = command(tmp_path, shared, "show", "jobs", "show", job)
    shown.wait(60)
    lines = (tmp_path / "show.log").read_text().splitlines()
    assert sum(" done " in line for line in lines) == ITEMS
    assert any(" failed " in line and "empty.jpg · empty.jpg: the file is empty (0 bytes)" in line for line in lines), lines
    # the killed process's entry was finished by another, from where it stopped
    assert fz.jobs.entry(job, killed).state == "done" and fz.jobs.entry(job, killed).reason is None

    stored = {e.item_id: e for e in entries.values() if e.label != "empty"}
    objects = fz.objects
    assert sorted(objects.list_objects()) == sorted(item_object(i) for i in stored)  # nothing made twice
    for item_id, entry in stored.items():
        item = fz.archive.load_item(item_id)
        (original,) = item.originals  # stored once
        assert original.sha256 == sha256(kept / Path(entry.files[0]).relative_to(donation))
        assert expected_purposes(item.kind, original.media_type) <= {f.purpose for f in item.derivatives(original.id)}
        messages = [v.message for v in objects.versions(item_object(item_id))]
        assert messages == [f"create: ingest: {entry.label}", f"update: ingest {job} #{entry.n}"], messages

    (failed,) = (e.n for e in entries.values() if e.label == "empty")  # kept for a retry; the others dropped
    assert {key.rsplit("/", 1)[0] for key in fz.storage.list("staging/")} <= {f"staging/{job}/{failed}"}

    copy = tmp_path / "ocfl-copy"  # ocfl-py validates a folder: the bucket's OCFL root, copied
    for key in fz.storage.list("ocfl/"):
        target = copy / key.removeprefix("ocfl/")
        target.parent.mkdir(parents=True, exist_ok=True)
        with fz.storage.open(key) as f:
            target.write_bytes(f.read())
    assert_ocfl_valid(copy)

    index = fz.search.index
    found = index.client.search(index=index.name, query={"match_all": {}}, size=1000)["hits"]["hits"]
    assert sorted(h["_id"] for h in found if h["_source"]["item_id"] == [h["_id"]]) == sorted(stored)


def wait_for(probe, what: str):
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        found = probe()
        if found:
            return found
        time.sleep(0.05)
    raise AssertionError(f"no {what} after 60 s")


def kill_one_mid_task(fz, job: str, entries: dict, workers: dict[str, subprocess.Popen], *, whole_worker: bool) -> int:
    """SIGKILL the process holding an entry whose originals are stored and whose derivatives are
    not yet (with ``whole_worker``, its worker's whole process group): the number of that entry."""
    deadline = time.monotonic() + DEADLINE
    while time.monotonic() < deadline:
        for n, entry in entries.items():
            holder = fz.jobs.lease_holder(job, n)
            if not holder or fz.jobs.entry(job, n).state != "pending" or not fz.objects.exists(item_object(entry.item_id)):
                continue
            pid = int(holder.rsplit(":", 1)[1])
            (worker,) = (p for p in workers.values() if os.getpgid(pid) == p.pid)
            if whole_worker:
                os.killpg(worker.pid, signal.SIGKILL)
                worker.wait()
            else:
                os.kill(pid, signal.SIGKILL)
                wait_for(lambda: not alive(pid), f"end of worker process {pid}")
            after = fz.jobs.entry(job, n)
            assert after.state == "pending" and len(fz.objects.versions(item_object(entry.item_id))) == 1, \
                "the worker finished its entry before it was killed"
            return n
        time.sleep(0.02)
    raise AssertionError("no worker was seen in the middle of an entry")


def alive(pid: int) -> bool:
    """Whether process ``pid`` still runs (a zombie its parent has not reaped yet does not)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def logs(tmp_path: Path) -> str:
    return "\n".join(f"--- {p.name}\n{p.read_text(errors='replace')[-3000:]}" for p in sorted(tmp_path.glob("*.log")))
