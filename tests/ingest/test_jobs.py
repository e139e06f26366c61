"""The ingest job store on SQLite and on a real PostgreSQL: entries and their states, retries,
the unfinished items, the figures, leases for distributed workers (racing threads and processes,
an expired lease taken over), and an old data folder's jobs.sqlite3 adopted."""
import multiprocessing
import sqlite3
import threading
import time

import pytest

from fangzhi import bootstrap
from fangzhi.settings import load
from ingest.jobs import Entry, JobStore
from ingest.jobs import TABLES as INGEST_TABLES
from repository.notices import Notice
from storage.adopt import adopt_sqlite_file
from storage.bulk_jobs import TABLES as BULK_TABLES
from storage.bulk_jobs import BulkJobs
from storage.database import Database


@pytest.fixture
def jobs(database_url):
    database = Database(database_url)
    yield JobStore(database)
    database.dispose()


def planned(*item_ids, **fields):
    return [Entry("", n, f"条目{n}", item_id, [f"{item_id}.jpg"], [{"label": "正面"}], {"title": {"zh": "惠山"}}, **fields)
            for n, item_id in enumerate(item_ids, 1)]


def test_a_job_keeps_its_entries_states_and_notes(jobs):
    job_id = jobs.create("box", planned("it1", "it2", "it3"), user="archivist", options={"kind": "photo"})
    jobs.mark(job_id, 1, "done", step="check", notes=[Notice("a.vtt", 3, "vtt.no_arrow", {"raw": "1 - 2"})])
    jobs.mark(job_id, 2, "failed", step="image", file="it2.jpg", reason="vips: out of memory", kind="transient")
    job = jobs.job(job_id)
    assert (job.source, job.user, job.options, job.counts) == ("box", "archivist", {"kind": "photo"},
                                                                {"done": 1, "failed": 1, "pending": 1})
    first, second, third = jobs.entries(job_id)
    assert (first.files, first.file_fields, first.metadata) == (["it1.jpg"], [{"label": "正面"}], {"title": {"zh": "惠山"}})
    assert first.notes == [{"file": "a.vtt", "line": 3, "code": "vtt.no_arrow", "args": {"raw": "1 - 2"}}]
    assert (second.state, second.step, second.file, second.reason, second.kind) == \
        ("failed", "image", "it2.jpg", "vips: out of memory", "transient")
    assert second.retryable and third.notes == [] and third.state == "pending"
    assert [e.n for e in jobs.entries(job_id, ("failed", "pending"))] == [2, 3]
    jobs.mark(job_id, 3, "done", reason="completed the unfinished item", item_id="other")
    assert jobs.entry(job_id, 3).item_id == "other" and jobs.entry(job_id, 1).item_id == "it1"
    assert jobs.job("j-none") is None


def test_jobs_are_listed_newest_first_with_the_figures(jobs):
    ids = [jobs.create(f"box {i}", planned(f"a{i}", f"b{i}"), user="a") for i in range(3)]
    assert [j.id for j in jobs.jobs()] == sorted(ids, reverse=True) and len(jobs.jobs(limit=2)) == 2
    jobs.mark(ids[0], 1, "failed", reason="x", kind="input")
    jobs.mark(ids[1], 1, "done")
    assert jobs.state_counts() == {"pending": 4, "failed": 1, "done": 1}
    today = time.strftime("%Y-%m-%d", time.gmtime())
    assert jobs.throughput(today) == [(today, "done", 1), (today, "failed", 1), (today, "pending", 4)]
    assert jobs.throughput("9999-01-01") == []


def test_a_retry_claims_a_failed_entry_once_and_never_a_plan_problem(jobs):
    job_id = jobs.create("box", planned("it1", "it2", "it3", "it4"), user="a")
    jobs.mark(job_id, 1, "failed", step="image", reason="full disk", kind="transient")
    jobs.mark(job_id, 2, "failed", step="plan", reason="no such file")
    jobs.mark(job_id, 3, "failed", step="check", reason="unsafe file", kind="input")
    assert jobs.claim_failed(job_id) == [1]  # bad input and plan problems are not retried
    assert jobs.claim(job_id, 1) is False and jobs.entry(job_id, 1).state == "pending"
    assert jobs.claim(job_id, 2) is False and jobs.claim(job_id, 4) is False  # a plan problem; a pending one
    assert jobs.claim(job_id, 3) is True  # one entry asked for by name: anything but a plan problem


def test_unfinished_gives_the_newest_entry_of_each_item_and_completion_finishes_the_others(jobs):
    first = jobs.create("box", planned("it1", "it2", "it3"), user="a")
    jobs.mark(first, 1, "failed", step="image", reason="x")
    jobs.mark(first, 2, "failed", step="plan", reason="no such file")  # never an unfinished item
    jobs.mark(first, 3, "done")
    second = jobs.create("again", planned("it1"), user="a")  # the same second: still the newest
    assert {i: (e.job_id, e.n) for i, e in jobs.unfinished().items()} == {"it1": (second, 1)}
    assert jobs.unfinished(["it2", "it3"]) == {} and list(jobs.unfinished(["it1", "none"])) == ["it1"]
    jobs.mark(second, 1, "done")
    jobs.completed("it1", second, 1)
    assert jobs.entry(first, 1).state == "done" and jobs.entry(first, 1).reason == f"completed by job {second} #1"
    assert jobs.entry(first, 2).state == "failed" and jobs.unfinished() == {}


def test_a_lease_is_one_workers_until_it_is_released_runs_out_or_the_entry_finishes(jobs):
    job_id = jobs.create("box", planned("it1", "it2"), user="a")
    assert jobs.lease_holder(job_id, 1) is None
    assert jobs.claim_lease(job_id, 1, "w1", 60) is True
    assert jobs.claim_lease(job_id, 1, "w2", 60) is False  # held
    assert jobs.claim_lease(job_id, 1, "w1", 60) is True  # the holder again (a task given out twice)
    assert jobs.lease_holder(job_id, 1) == "w1" and jobs.entry(job_id, 1).worker == "w1"
    assert jobs.renew_lease(job_id, 1, "w2", 60) is False and jobs.renew_lease(job_id, 1, "w1", 60) is True
    jobs.release_lease(job_id, 1, "w2")  # not its lease: nothing happens
    assert jobs.lease_holder(job_id, 1) == "w1"
    jobs.release_lease(job_id, 1, "w1")
    assert jobs.lease_holder(job_id, 1) is None and jobs.claim_lease(job_id, 1, "w2", 60) is True

    jobs.mark(job_id, 1, "done")  # finishing ends the lease, and no one takes a finished entry
    done = jobs.entry(job_id, 1)
    assert (done.worker, done.lease_until) == (None, None) and jobs.claim_lease(job_id, 1, "w3", 60) is False
    jobs.mark(job_id, 2, "duplicate", reason="the same file")
    assert jobs.claim_lease(job_id, 2, "w1", 60) is False

    retry = jobs.create("box", planned("it3"), user="a")  # a failed entry may be worked on again
    assert jobs.claim_lease(retry, 1, "w1", 60)
    jobs.mark(retry, 1, "failed", reason="full disk", kind="transient")
    assert jobs.lease_holder(retry, 1) is None and jobs.claim_lease(retry, 1, "w2", 60) is True


def test_an_expired_lease_is_taken_over_and_its_old_holder_cannot_renew_it(jobs):
    job_id = jobs.create("box", planned("it1"), user="a")
    assert jobs.claim_lease(job_id, 1, "dead", 0.2)
    assert jobs.claim_lease(job_id, 1, "w2", 60) is False
    time.sleep(0.3)  # the worker died: its lease runs out
    assert jobs.lease_holder(job_id, 1) is None
    assert jobs.claim_lease(job_id, 1, "w2", 60) is True
    assert jobs.renew_lease(job_id, 1, "dead", 60) is False
    jobs.release_lease(job_id, 1, "dead")
    assert jobs.lease_holder(job_id, 1) == "w2"


def test_workers_racing_for_an_entry_in_threads_one_wins_each(database_url):
    databases = [Database(database_url) for _ in range(2)] * 3  # two engines: two pools of connections
    job_id = JobStore(databases[0]).create("box", planned(*(f"it{n}" for n in range(20))), user="a")
    wins = {n: [] for n in range(1, 21)}
    start = threading.Barrier(len(databases))

    def race(worker: str, database: Database):
        store = JobStore(database)
        start.wait()
        for n in wins:
            if store.claim_lease(job_id, n, worker, 60):
                wins[n].append(worker)

    threads = [threading.Thread(target=race, args=(f"w{i}", d)) for i, d in enumerate(databases)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for database in databases[:2]:
        database.dispose()
    assert all(len(winners) == 1 for winners in wins.values()), wins


def _claim_all(url: str, job_id: str, worker: str, count: int, start, results) -> None:
    database = Database(url)
    store = JobStore(database)
    start.wait()
    results.put((worker, [n for n in range(1, count + 1) if store.claim_lease(job_id, n, worker, 60)]))
    database.dispose()


def test_workers_racing_for_an_entry_in_processes_one_wins_each(database_url):
    database = Database(database_url)
    job_id = JobStore(database).create("box", planned(*(f"it{n}" for n in range(30))), user="a")
    spawn = multiprocessing.get_context("spawn")
    start, results = spawn.Barrier(3), spawn.Queue()
    workers = [spawn.Process(target=_claim_all, args=(database_url, job_id, f"p{i}", 30, start, results))
               for i in range(3)]
    for w in workers:
        w.start()
    won = dict(results.get(timeout=120) for _ in workers)
    for w in workers:
        w.join(timeout=60)
    assert sorted(n for ns in won.values() for n in ns) == list(range(1, 31)), won  # each once, by one
    holders = {n: JobStore(database).lease_holder(job_id, n) for n in range(1, 31)}
    assert all(n in won[holders[n]] for n in holders)
    database.dispose()


# The first release's tables in DATA_DIR/jobs.sqlite3 (no notes or kind column: those came later),
# and the bulk jobs beside them, as the code before DATABASE_URL made them.
OLD_SCHEMA = """
CREATE TABLE jobs (
    id TEXT PRIMARY KEY, created TEXT NOT NULL, source TEXT NOT NULL, user TEXT NOT NULL, options TEXT NOT NULL
);
CREATE TABLE entries (
    job_id TEXT NOT NULL REFERENCES jobs(id), n INTEGER NOT NULL, label TEXT NOT NULL, item_id TEXT NOT NULL,
    files TEXT NOT NULL, file_fields TEXT NOT NULL, metadata TEXT NOT NULL,
    state TEXT NOT NULL, step TEXT, file TEXT, reason TEXT, updated TEXT NOT NULL,
    PRIMARY KEY (job_id, n)
);
CREATE INDEX entries_by_item ON entries(item_id);
CREATE TABLE bulk_jobs (
    id TEXT PRIMARY KEY, created TEXT NOT NULL, user TEXT NOT NULL, kind TEXT NOT NULL,
    description TEXT NOT NULL, why TEXT NOT NULL, undo_of TEXT
);
CREATE TABLE bulk_entries (
    job_id TEXT NOT NULL REFERENCES bulk_jobs(id), n INTEGER NOT NULL, item_id TEXT NOT NULL,
    version INTEGER NOT NULL, label TEXT NOT NULL, before TEXT NOT NULL, after TEXT NOT NULL,
    state TEXT NOT NULL, reason TEXT NOT NULL DEFAULT '', new_version INTEGER, row INTEGER, updated TEXT NOT NULL,
    PRIMARY KEY (job_id, n)
);
"""


def write_old_jobs_file(path):
    old = sqlite3.connect(path)
    old.executescript(OLD_SCHEMA)
    old.execute("INSERT INTO jobs VALUES ('j1', '2024-05-01T10:00:00+00:00', 'box', 'a', '{\"kind\": \"photo\"}')")
    old.executemany("INSERT INTO entries VALUES (?, ?, ?, ?, '[]', '[]', '{}', ?, ?, NULL, ?, '2024-05-01T10:00:01+00:00')",
                    [("j1", 1, "一", "it1", "done", None, "a note"), ("j1", 2, "二", "it2", "failed", "image", "oom")])
    old.execute("INSERT INTO bulk_jobs VALUES ('b1', '2024-05-02', 'admin', 'bulk', 'set title', 'typo', NULL)")
    old.execute("INSERT INTO bulk_entries VALUES ('b1', 1, 'it1', 3, '一', '{\"t\": 1}', '{\"t\": 2}', 'done', '', 4, "
                "NULL, '2024-05-02')")
    old.commit()
    old.close()


def test_an_old_jobs_file_is_adopted_with_every_row(tmp_path, database_url):
    write_old_jobs_file(tmp_path / "jobs.sqlite3")
    database = Database(database_url)
    assert adopt_sqlite_file(database, tmp_path / "jobs.sqlite3", [*INGEST_TABLES, *BULK_TABLES])
    assert not (tmp_path / "jobs.sqlite3").exists() and (tmp_path / "jobs.sqlite3.adopted").exists()
    jobs, bulk = JobStore(database), BulkJobs(database)
    (job,) = jobs.jobs()
    assert (job.id, job.created, job.options, job.counts) == \
        ("j1", "2024-05-01T10:00:00+00:00", {"kind": "photo"}, {"done": 1, "failed": 1})
    assert [(e.reason, e.notes, e.kind, e.worker) for e in jobs.entries("j1")] == \
        [("a note", [], None, None), ("oom", [], None, None)]
    assert list(jobs.unfinished()) == ["it2"] and jobs.entry("j1", 2).retryable
    jobs.mark("j1", 1, "done", notes=[Notice("a.vtt", 3, "vtt.no_arrow", {"raw": "1 - 2"})])  # the newer columns work
    assert jobs.entry("j1", 1).notes[0]["code"] == "vtt.no_arrow" and jobs.claim_lease("j1", 2, "w1", 60)
    assert bulk.job("b1").counts == {"done": 1} and bulk.job("b1").why == "typo"
    (change,) = bulk.entries("b1")
    assert (change.item_id, change.version, change.before, change.after, change.new_version, change.row) == \
        ("it1", 3, {"t": 1}, {"t": 2}, 4, None)
    database.dispose()


def test_the_composition_root_adopts_an_old_data_folders_jobs(tmp_path):
    write_old_jobs_file(tmp_path / "jobs.sqlite3")
    fz = bootstrap.build(load({"DATA_DIR": str(tmp_path)}, environ={}))
    assert [j.id for j in fz.jobs.jobs()] == ["j1"] and [j.id for j in fz.bulk.store.jobs()] == ["b1"]
    assert (tmp_path / "jobs.sqlite3.adopted").exists() and not (tmp_path / "jobs.sqlite3").exists()
    again = bootstrap.build(load({"DATA_DIR": str(tmp_path)}, environ={}))  # once: nothing doubled
    assert again.jobs.job("j1").counts == {"done": 1, "failed": 1}
    fz.database.dispose()
    again.database.dispose()
