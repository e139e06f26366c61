"""A distributed worker's entry (ingest.queue.run_entry): under its lease, once, and never beside
another worker's run of the same entry. The workers themselves: tests/ingest/test_celery.py."""
import base64
import json
import threading

import pytest
import redis

from fangzhi import bootstrap
from fangzhi.settings import load
from ingest import pipeline, staging
from ingest.pipeline import plan_job, store_originals
from ingest.queue import QUEUE, TASK, CeleryRunner, run_entry
from ingest.sources import plan
from repository.services import item_object
from storage.base import StorageError
from tests.ingest.fixtures import jpeg, sha256


@pytest.fixture
def job(fangzhi, tmp_path):
    donation = tmp_path / "donation"
    donation.mkdir()
    jpeg(donation / "1.jpg")
    ctx = fangzhi.ingest_context()
    return ctx, plan_job(ctx, str(donation), plan(donation))


def test_an_entry_another_worker_holds_is_left_to_it(job):
    ctx, job_id = job
    assert ctx.jobs.claim_lease(job_id, 1, "host-b:7", 60)
    assert run_entry(ctx, job_id, 1, worker="host-a:1", lease_seconds=60) is None  # the task waits
    entry = ctx.jobs.entry(job_id, 1)
    assert entry.state == "pending" and not ctx.archive.objects.exists(item_object(entry.item_id))
    assert ctx.jobs.lease_holder(job_id, 1) == "host-b:7"


def test_an_expired_lease_is_taken_over_and_the_entry_finished_once(job):
    ctx, job_id = job
    assert ctx.jobs.claim_lease(job_id, 1, "dead:1", 0)  # its worker died: the lease ran out
    assert run_entry(ctx, job_id, 1, worker="host-a:1", lease_seconds=60) == "done"
    assert ctx.jobs.lease_holder(job_id, 1) is None  # released
    item = ctx.jobs.entry(job_id, 1).item_id
    versions = ctx.archive.objects.versions(item_object(item))
    # the same task once more (redelivered after its worker finished): nothing is stored again
    assert run_entry(ctx, job_id, 1, worker="host-b:2", lease_seconds=60) == "done"
    assert ctx.archive.objects.versions(item_object(item)) == versions


def test_a_task_run_again_after_the_originals_were_stored_continues_with_the_derivatives(job, fangzhi):
    ctx, job_id = job
    entry = ctx.jobs.entry(job_id, 1)
    store_originals(ctx, entry, {"step": "check", "file": None, "notes": []})  # then the worker was killed
    assert run_entry(ctx, job_id, 1, worker="host-b:2", lease_seconds=60) == "done"
    assert [v.message for v in ctx.archive.objects.versions(item_object(entry.item_id))] == [
        "create: ingest: 1", f"update: ingest {job_id} #1"]
    assert {f.purpose for f in fangzhi.archive.load_item(entry.item_id).files} >= {"pyramid", "thumbnail"}


def test_an_unexpected_error_fails_the_entry_so_no_one_waits_for_it(job, monkeypatch):
    ctx, job_id = job

    def broken(*args, **kwargs):
        raise KeyError("tech")

    monkeypatch.setattr(pipeline, "make_derivatives", broken)
    with pytest.raises(KeyError):
        run_entry(ctx, job_id, 1, worker="host-a:1", lease_seconds=60)
    entry = ctx.jobs.entry(job_id, 1)
    assert entry.state == "failed" and entry.kind == "transient" and entry.retryable
    assert entry.reason == "unexpected error in worker host-a:1: KeyError: 'tech'"
    assert ctx.jobs.lease_holder(job_id, 1) is None


def test_the_runner_sends_json_tasks_to_redis_and_follows_their_entries(job, tmp_path, redis_url):
    """On the wire: JSON messages naming (job, entry) only; a failed entry is made pending before
    it is sent (one retry at a time); the run ends when every entry has left pending."""
    ctx, job_id = job
    app = bootstrap.celery_app(load({"DATA_DIR": str(tmp_path), "TASK_QUEUE": "celery", "STORAGE": "s3",
                                     "SEARCH_BACKEND": "elasticsearch", "REDIS_URL": redis_url,
                                     "DATABASE_URL": "postgresql+psycopg://fz@db/fz"}, environ={}))
    ctx.jobs.mark(job_id, 1, "failed", step="store", reason="the object store was away", kind="transient")
    states = []
    runner = threading.Thread(target=CeleryRunner(app, ctx.jobs, ctx.archive.storage, poll=0.05).run, args=([(job_id, 1)],),
                              kwargs={"progress": states.append})
    runner.start()
    broker = redis.Redis.from_url(redis_url)
    for _ in range(100):
        if broker.llen(QUEUE):
            break
        threading.Event().wait(0.05)
    message = json.loads(broker.lpop(QUEUE))
    assert message["content-type"] == "application/json" and message["headers"]["task"] == TASK
    assert staging.staged(ctx.archive.storage, job_id, 1, ctx.jobs.entry(job_id, 1).files)  # before it was sent
    args, kwargs, _ = json.loads(base64.b64decode(message["body"]))
    assert (args, kwargs) == ([job_id, 1], {})
    assert ctx.jobs.entry(job_id, 1).state == "pending" and states == []  # claimed for the retry, followed
    ctx.jobs.mark(job_id, 1, "done")  # what a worker does
    runner.join(10)
    assert not runner.is_alive() and states == ["done"]


def test_fangzhi_worker_refuses_settings_without_the_celery_queue(tmp_path):
    from click.testing import CliRunner

    from web.cli import main

    result = CliRunner().invoke(main, ["worker"], env={"FANGZHI_DATA_DIR": str(tmp_path), "FANGZHI_TASK_QUEUE": "local"})
    assert result.exit_code == 1
    assert "FANGZHI_TASK_QUEUE='local': the Celery queue needs FANGZHI_TASK_QUEUE=celery" in result.output
    result = CliRunner().invoke(main, ["worker"], env={"FANGZHI_DATA_DIR": str(tmp_path), "FANGZHI_TASK_QUEUE": "celery"})
    assert result.exit_code == 1 and "FANGZHI_STORAGE=local is this machine's disk: use STORAGE=s3" in result.output


def test_fangzhi_jobs_show_names_the_worker_of_an_entry_in_progress(job, tmp_path):
    from click.testing import CliRunner

    from web.cli import main

    ctx, job_id = job
    ctx.jobs.claim_lease(job_id, 1, "scan-2:4711", 60)
    result = CliRunner().invoke(main, ["jobs", "show", job_id], env={"FANGZHI_DATA_DIR": str(tmp_path)})
    assert result.exit_code == 0 and "pending" in result.output and "worker scan-2:4711" in result.output


def test_a_worker_that_cannot_see_the_donation_says_so_and_a_stored_item_needs_it_no_more(fangzhi, tmp_path):
    ctx = fangzhi.ingest_context()
    donation = tmp_path / "donation"
    donation.mkdir()
    for n in (1, 2):
        jpeg(donation / f"{n}.jpg", seed=n)
    job_id = plan_job(ctx, str(donation), plan(donation))
    store_originals(ctx, ctx.jobs.entry(job_id, 2), {"step": "check", "file": None, "notes": []})  # then killed
    for n in (1, 2):
        (donation / f"{n}.jpg").unlink()  # not mounted on this worker's machine
    assert run_entry(ctx, job_id, 1, worker="host-c:3", lease_seconds=60) == "failed"
    entry = ctx.jobs.entry(job_id, 1)
    assert (entry.step, entry.file, entry.kind) == ("check", str(donation / "1.jpg"), "transient")
    assert entry.reason.startswith("the file is not at this path on worker host-c:3, nor staged in the object store: "
                                   "retry the entry from the machine that planned the job")
    assert run_entry(ctx, job_id, 2, worker="host-c:3", lease_seconds=60) == "done"  # its originals are stored


def test_a_worker_that_does_not_see_the_donation_ingests_the_staged_copies(fangzhi, tmp_path):
    """The planner staged the files in the object store; this worker's machine has no such folder:
    the item is stored from checked copies, under the names the planner's paths give."""
    ctx = fangzhi.ingest_context()
    donation = tmp_path / "donation"
    for n, folder in enumerate(("vol1", "vol2"), 1):
        (donation / "book" / folder).mkdir(parents=True)
        jpeg(donation / "book" / folder / "0001.jpg", seed=n)
    digests = sorted(sha256(p) for p in donation.rglob("*.jpg"))
    job_id = plan_job(ctx, str(donation), plan(donation))
    entry = ctx.jobs.entry(job_id, 1)
    staging.stage(ctx.archive.storage, job_id, 1, entry.files)
    staging.stage(ctx.archive.storage, job_id, 1, entry.files)  # a resumed planner: nothing sent again
    moved = donation.rename(tmp_path / "elsewhere")
    assert run_entry(ctx, job_id, 1, worker="host-d:4", lease_seconds=60) == "done"
    item = fangzhi.archive.load_item(entry.item_id)
    assert sorted(f.sha256 for f in item.originals) == digests
    assert sorted(f.path.rsplit("/", 1)[-1] for f in item.originals) == ["vol1-0001.jpg", "vol2-0001.jpg"]
    assert not list(ctx.archive.storage.list("staging/")) and not (ctx.work / "staged" / job_id).exists()
    assert moved.exists()


def test_a_staged_copy_that_differs_fails_the_entry_and_stores_nothing(fangzhi, tmp_path):
    ctx = fangzhi.ingest_context()
    donation = tmp_path / "donation"
    donation.mkdir()
    jpeg(donation / "1.jpg")
    job_id = plan_job(ctx, str(donation), plan(donation))
    entry = ctx.jobs.entry(job_id, 1)
    staging.stage(ctx.archive.storage, job_id, 1, entry.files)
    ctx.archive.storage.put(staging.key(job_id, 1, 0), b"not the scan")  # damaged on the way
    (donation / "1.jpg").unlink()
    assert run_entry(ctx, job_id, 1, worker="host-d:4", lease_seconds=60) == "failed"
    failed = ctx.jobs.entry(job_id, 1)
    assert (failed.step, failed.file, failed.kind) == ("check", str(donation / "1.jpg"), "transient")
    assert failed.reason == (f"the staged files could not be read on worker host-d:4: the staged copy of {donation / '1.jpg'} "
                             "differs from the file staged (SHA-256): retry the entry from the machine that planned the job")
    assert not ctx.archive.objects.exists(item_object(entry.item_id))


def test_a_staged_path_that_climbs_out_is_refused_before_anything_is_written(tmp_path):
    from storage import MemoryStorage

    storage = MemoryStorage()
    (tmp_path / "f.jpg").write_bytes(b"x")
    staging.stage(storage, "j1", 1, [str(tmp_path / "f.jpg")])
    with pytest.raises(StorageError, match="not an absolute path in the job"):
        staging.fetch(storage, "j1", 1, ["/into/../../outside.jpg"], tmp_path / "copies")
    assert not (tmp_path / "copies").exists() and not (tmp_path.parent / "outside.jpg").exists()


def test_a_worker_that_lost_its_lease_records_nothing_over_the_worker_that_took_the_entry(job, monkeypatch, caplog):
    ctx, job_id = job
    real = pipeline.make_derivatives

    def paused(*args, **kwargs):  # host-a stalls past its lease; host-b takes the entry over meanwhile
        ctx.jobs.renew_lease(job_id, 1, "host-a:1", 0)
        assert ctx.jobs.claim_lease(job_id, 1, "host-b:2", 60)
        raise OSError("the scratch disk went away")

    monkeypatch.setattr(pipeline, "make_derivatives", paused)
    assert run_entry(ctx, job_id, 1, worker="host-a:1", lease_seconds=60) == "failed"
    entry = ctx.jobs.entry(job_id, 1)
    assert entry.state == "pending" and entry.reason is None and ctx.jobs.lease_holder(job_id, 1) == "host-b:2"
    assert "worker host-a:1 no longer holds entry" in caplog.text
    monkeypatch.setattr(pipeline, "make_derivatives", real)
    ctx.jobs.release_lease(job_id, 1, "host-b:2")  # host-b's own run, as a worker would do it
    assert run_entry(ctx, job_id, 1, worker="host-b:2", lease_seconds=60) == "done"
    assert ctx.jobs.entry(job_id, 1).state == "done"
