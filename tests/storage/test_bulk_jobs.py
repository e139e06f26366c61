"""The bulk jobs' store on SQLite and on a real PostgreSQL: entries with their fields before and
after, states, paging, the newest jobs first and which job undid which."""
import pytest

from repository.bulk import Change
from storage.bulk_jobs import BulkJobs
from storage.database import Database


@pytest.fixture
def store(database_url):
    database = Database(database_url)
    yield BulkJobs(database)
    database.dispose()


def changes(count):
    return [Change(f"it{n}", n, f"照片{n}", {"title": {"zh": "县前街"}}, {"title": {"zh": f"旧照{n}"}}, row=n + 1)
            for n in range(count)]


def test_a_bulk_job_keeps_its_changes_and_their_states(store):
    job_id = store.create("update", changes(5), user="admin", description="update", why="a spreadsheet")
    store.mark(job_id, 1, "done", new_version=2)
    store.mark(job_id, 2, "conflict", reason="changed by someone else")
    job = store.job(job_id)
    assert (job.kind, job.user, job.description, job.why, job.undo_of) == ("update", "admin", "update", "a spreadsheet", None)
    assert job.counts == {"done": 1, "conflict": 1, "pending": 3}
    first, second, *rest = store.entries(job_id)
    assert (first.n, first.item_id, first.version, first.label, first.after, first.state, first.new_version, first.row) == \
        (1, "it0", 0, "照片0", {"title": {"zh": "旧照0"}}, "done", 2, 1)
    assert (second.state, second.reason, second.new_version) == ("conflict", "changed by someone else", None)
    assert [c.n for c in store.entries(job_id, ("pending",))] == [3, 4, 5]
    assert [c.n for c in store.entries(job_id, limit=2, offset=1)] == [2, 3]
    assert [c.n for c in store.entries(job_id, offset=3)] == [4, 5]
    assert store.job("b-none") is None and store.entries("b-none") == []


def test_jobs_newest_first_and_the_undo_of_a_job(store):
    first = store.create("bulk", changes(1), user="a", description="set title", why="typo")
    assert store.undone_by(first) is None
    undo = store.create("undo", changes(1), user="a", description="undo", why="wrong", undo_of=first)
    empty = store.create("bulk", [], user="a", description="nothing", why="-")
    assert store.undone_by(first) == undo and store.job(undo).undo_of == first
    assert [j.id for j in store.jobs()] == sorted([first, undo, empty], reverse=True)
    assert [j.id for j in store.jobs(limit=1)] == [max(first, undo, empty)] and store.job(empty).counts == {}
