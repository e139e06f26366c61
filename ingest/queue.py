"""Ingest on a distributed task queue: Celery with a Redis broker (setting TASK_QUEUE=celery).

The same tasks as the local pool's, (job id, entry number), go to workers on any machine
(``fangzhi worker``), each process building its services once from the same settings. Exactly
once (celery docs/userguide/tasks.rst, "acks_late" and idempotence):

- a task is acknowledged only when it is done (``acks_late``; a worker child killed mid-task is
  requeued at once, ``reject_on_worker_lost``); a whole worker that dies leaves its task
  unacknowledged, and Redis gives it to another worker after CELERY_VISIBILITY_TIMEOUT;
- before working on an entry a worker takes its lease in the shared job store
  (INGEST_LEASE_SECONDS, renewed while it works): two workers never run one entry at the same
  time, and a task given out twice waits for the lease;
- the pipeline is resumable: a task run again finds the entry's stored object (created once,
  its OCFL version complete or not visible at all) and continues with the next step.

Messages are JSON only (never pickle: a broker's content must not run code).
"""
from __future__ import annotations

import contextlib
import logging
import os
import shutil
import socket
import threading
import time
from dataclasses import replace
from typing import Callable

from celery import Celery

from repository.services import item_object
from storage.base import Storage, StorageError

from . import pipeline, staging
from .runner import start_worker

log = logging.getLogger("fangzhi.ingest")

TASK = "fangzhi.ingest.entry"  # the task's name in every message: (job id, entry number)
QUEUE = "fangzhi-ingest"


def make_app(settings: dict, make_context: Callable[[dict], pipeline.Context]) -> Celery:
    """The Celery application of ``settings`` (REDIS_URL, CELERY_VISIBILITY_TIMEOUT,
    INGEST_LEASE_SECONDS) with the ingest task; a worker process calls ``make_context`` once."""
    app = Celery("fangzhi", broker=settings["REDIS_URL"], set_as_current=False)
    visibility = settings["CELERY_VISIBILITY_TIMEOUT"]
    app.conf.update(
        task_serializer="json", result_serializer="json", accept_content=["json"],  # never pickle
        task_acks_late=True, task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,  # a worker holds only the task it works on
        task_ignore_result=True,  # progress and failures are in the job store
        task_default_queue=QUEUE, broker_connection_retry_on_startup=True,
        worker_hijack_root_logger=False,
        # a dead worker's unacknowledged task goes back to the queue after ``visibility`` seconds;
        # Redis is asked for such tasks every quarter of it (at most every 10 s)
        broker_transport_options={"visibility_timeout": visibility,
                                  "unacked_restore_interval": max(1, min(10, visibility // 4)),
                                  "unacked_restore_throttle": 1},
    )
    lease = settings["INGEST_LEASE_SECONDS"]
    processes = settings["INGEST_WORKERS"]
    contexts: dict[int, pipeline.Context] = {}  # pid → the process's context (built on its first task)

    # not shared: a shared task would be registered in every app made later in the process, with these settings
    @app.task(name=TASK, bind=True, max_retries=None, shared=False)
    def ingest_entry(task, job_id: str, n: int) -> str:
        if os.getpid() not in contexts:
            contexts[os.getpid()] = start_worker(make_context, settings, processes)
        state = run_entry(contexts[os.getpid()], job_id, n, worker=worker_name(), lease_seconds=lease)
        if state is None:  # another worker holds the entry: look again when its lease may have ended
            raise task.retry(countdown=max(1, lease // 3))
        return state

    return app


def worker_name() -> str:
    """Who holds a lease: this machine and process."""
    return f"{socket.gethostname()}:{os.getpid()}"


def run_entry(ctx: pipeline.Context, job_id: str, n: int, *, worker: str, lease_seconds: int) -> str | None:
    """Take entry ``n`` of ``job_id`` as far as it goes under ``worker``'s lease; its new state, or
    None when another worker holds the lease. An unexpected error fails the entry (the job must
    not wait for it forever) and is raised for the worker's log."""
    entry = ctx.jobs.entry(job_id, n)
    if entry.state in ("done", "duplicate"):  # a task given out again after its entry finished
        return entry.state
    if not ctx.jobs.claim_lease(job_id, n, worker, lease_seconds):
        return None
    stop = threading.Event()
    keeper = threading.Thread(target=_renew, args=(ctx, job_id, n, worker, lease_seconds, stop), daemon=True,
                              name=f"lease-{job_id}-{n}")
    keeper.start()
    storage, copies_in = ctx.archive.storage, ctx.work / "staged" / job_id / str(n)
    ctx = replace(ctx, jobs=Leased(ctx.jobs, worker, job_id, n))
    try:
        copies = {}
        missing = next((f for f in entry.files if not os.path.exists(f)), None)
        if missing and staging.staged(storage, job_id, n, entry.files):  # this machine does not see the donation
            try:
                copies = staging.fetch(storage, job_id, n, entry.files, copies_in)
            except (OSError, StorageError) as exc:
                ctx.jobs.mark(job_id, n, "failed", step="check", file=missing, kind="transient",
                              reason=f"the staged files could not be read on worker {worker}: {exc}")
                return "failed"
        elif missing and entry.step != "plan" and not ctx.archive.objects.exists(item_object(entry.item_id)):
            ctx.jobs.mark(job_id, n, "failed", step="check", file=missing, kind="transient", reason=(
                f"the file is not at this path on worker {worker}, nor staged in the object store: "
                "retry the entry from the machine that planned the job, or put the donation on storage that "
                "every worker mounts at the same path"))
            return "failed"
        state = pipeline.process(ctx, job_id, n, copies)
        if state in ("done", "duplicate"):
            staging.drop(storage, job_id, n)
        return state
    except Exception as exc:
        ctx.jobs.mark(job_id, n, "failed", reason=f"unexpected error in worker {worker}: {type(exc).__name__}: {exc}",
                      kind="transient")
        raise
    finally:
        stop.set()
        keeper.join()
        ctx.jobs.release_lease(job_id, n, worker)
        shutil.rmtree(copies_in, ignore_errors=True)
        with contextlib.suppress(OSError):  # the job's folder, once its last entry here is done
            copies_in.parent.rmdir()


class Leased:
    """A job store whose ``mark`` of entry (``job_id``, ``n``) records only while ``worker`` holds
    its lease: a worker that lost the lease (paused longer than INGEST_LEASE_SECONDS) never
    overwrites what the worker that took the entry over records."""

    def __init__(self, jobs, worker: str, job_id: str, n: int):
        self.jobs, self.worker, self.own = jobs, worker, (job_id, n)

    def mark(self, job_id: str, n: int, state: str, **kwargs) -> bool:
        holder = self.worker if (job_id, n) == self.own else None
        if not self.jobs.mark(job_id, n, state, holder=holder, **kwargs):
            log.warning("worker %s no longer holds entry %s #%s: its state %r is not recorded", self.worker, job_id, n, state)
            return False
        return True

    def __getattr__(self, name):
        return getattr(self.jobs, name)


def _renew(ctx: pipeline.Context, job_id: str, n: int, worker: str, seconds: int, stop: threading.Event) -> None:
    while not stop.wait(seconds / 3):
        if not ctx.jobs.renew_lease(job_id, n, worker, seconds):
            log.warning("worker %s lost its lease on job %s #%d (INGEST_LEASE_SECONDS=%d too short?)",
                        worker, job_id, n, seconds)
            return


class CeleryRunner:
    """Sends tasks to the Celery queue and follows them in the job store, which every worker
    shares: ``progress`` gets each entry's state when it leaves pending. Each entry's files are
    first staged in the shared object store (``storage``), for workers that do not see them."""

    def __init__(self, app: Celery, jobs, storage: Storage, *, poll: float = 1.0):
        self.app, self.jobs, self.storage, self.poll = app, jobs, storage, poll

    def run(self, tasks, progress=lambda state: None):
        waiting = set()
        for job_id, n in tasks:
            entry = self.jobs.entry(job_id, n)
            # a failed entry given for a retry is made pending first (one retry at a time), so
            # that its end can be seen; a finished one, or one with a plan problem, is not sent
            if entry.state in ("done", "duplicate") or (entry.state == "failed" and not self.jobs.claim(job_id, n)):
                progress(entry.state)
                continue
            try:
                staging.stage(self.storage, job_id, n, entry.files)
            except (OSError, StorageError) as exc:
                file = exc.filename if isinstance(exc, OSError) and exc.filename else None
                self.jobs.mark(job_id, n, "failed", step="check", file=file, kind="transient",
                               reason=f"the file could not be staged in the object store for the workers: {exc}")
                progress("failed")
                continue
            self.app.send_task(TASK, args=[job_id, n])
            waiting.add((job_id, n))
        while waiting:
            time.sleep(self.poll)
            for job_id in {job for job, _ in waiting}:
                for entry in self.jobs.entries(job_id):
                    if (job_id, entry.n) in waiting and entry.state != "pending":
                        waiting.discard((job_id, entry.n))
                        progress(entry.state)
