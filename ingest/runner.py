"""Where ingest work runs. The pipeline needs only (job id, entry number) per task, so the same
tasks can go to a pool of local processes (default), run inline (tests), or be sent to a
distributed task queue (``ingest.queue``: Celery) whose workers call ``pipeline.process`` the same way."""
from __future__ import annotations

import multiprocessing
from typing import Callable

from . import pipeline

Task = tuple[str, int]  # (job id, entry number)


class InlineRunner:
    """Runs every task in this process, one after another."""

    def __init__(self, ctx: pipeline.Context):
        self.ctx = ctx

    def run(self, tasks, progress=lambda state: None):
        for job_id, n in tasks:
            progress(pipeline.process(self.ctx, job_id, n))


_worker_ctx: pipeline.Context | None = None


def start_worker(make_context: Callable[[dict], pipeline.Context], settings: dict, processes: int = 1) -> pipeline.Context:
    """A worker process's context, made once when it starts (a pool's or a task queue's worker)."""
    import pyvips

    from .steps.ocr_engine import threads_per_worker

    # libvips' threads, like onnxruntime's, are the worker's share of the cores, not every core
    pyvips.concurrency_set(threads_per_worker(processes))
    return make_context(settings)  # each worker opens its own storage, catalog and job store


def _init_worker(make_context: Callable[[dict], pipeline.Context], settings: dict, processes: int = 1) -> None:
    global _worker_ctx
    _worker_ctx = start_worker(make_context, settings, processes)


def _work(task: Task) -> str:
    return pipeline.process(_worker_ctx, *task)


class PoolRunner:
    """A pool of worker processes on this machine (spawned: no shared connections or locks)."""

    def __init__(self, make_context: Callable[[dict], pipeline.Context], settings: dict, *, processes: int = 2):
        self.make_context, self.settings, self.processes = make_context, settings, processes

    def run(self, tasks, progress=lambda state: None):
        tasks = list(tasks)
        if not tasks:
            return
        spawn = multiprocessing.get_context("spawn")
        with spawn.Pool(min(self.processes, len(tasks)), initializer=_init_worker,
                        initargs=(self.make_context, self.settings, self.processes), maxtasksperchild=50) as pool:
            for state in pool.imap_unordered(_work, tasks):
                progress(state)
