"""Bulk work (repository.bulk) on the real services: preview, apply, undo, resume, conflicts,
regular-expression attacks, and what a writer may change."""
import os
import re
import signal
import subprocess
import sys
import time

import pytest

from repository.access import ANONYMOUS, User
from repository.bulk import BulkError, Operation, compiled, tag
from repository.errors import PermissionDenied
from tests.helpers import photo_item
from tests.repository.conftest import ADMIN, ARCHIVIST

WRITER = User("token:w", frozenset({"writer"}))


def make(archive, n, **fields):
    ids = []
    for i in range(n):
        data = photo_item(id=f"b{i:03d}", title={"zh": f"县前街照片{i}"}, subjects=["街景"], **fields)
        ids.append(archive.create_item(data, user=ARCHIVIST, why="donation").value.id)
    return ids


def hits(fangzhi, text, user=ADMIN, **filters):
    return sorted(h.item_id for h in fangzhi.search.search(text, user=user, filters=filters, per_page=100).hits)


def test_bulk_edit_by_query_preview_apply_undo(fangzhi):
    archive, bulk = fangzhi.archive, fangzhi.bulk
    ids = make(archive, 3)
    archive.create_item(photo_item(id="other", title={"zh": "王氏家书"}), user=ARCHIVIST)
    selected = bulk.select(user=ARCHIVIST, query="县前街")
    assert sorted(selected) == ids
    ops = [Operation("add", "subjects", "城市变迁"), Operation("replace", "title.zh", find="照片", replace="旧照")]
    plan = bulk.plan(selected, ops, user=ARCHIVIST)
    assert plan.selected == 3 and len(plan.changes) == 3 and not plan.problems
    first = next(c for c in plan.changes if c.item_id == "b000")
    assert first.before == {"title": {"zh": "县前街照片0"}, "subjects": ["街景"]}
    assert first.after == {"title": {"zh": "县前街旧照0"}, "subjects": ["街景", "城市变迁"]}
    # the preview wrote nothing
    assert all(archive.get_item(i, user=ADMIN).version == 1 for i in ids) and hits(fangzhi, "城市变迁") == []

    job_id = bulk.start(plan, user=ARCHIVIST, why="catalogue clean-up")
    job = bulk.run(job_id, user=ARCHIVIST)
    assert job.counts == {"done": 3}
    for i in ids:
        record = archive.get_item(i, user=ADMIN)
        assert record.version == 2 and "城市变迁" in record.value.subjects
        version = archive.history(i, user=ADMIN)[-1]
        assert version.user == ARCHIVIST.name and "catalogue clean-up" in version.message and tag(job_id) in version.message
    assert hits(fangzhi, "城市变迁") == ids and hits(fangzhi, "旧照") == ids  # re-indexed

    # someone edits one item meanwhile: its undo is a conflict, not overwritten
    archive.update_item("b001", {"subjects": ["街景", "城市变迁", "鼓楼"]}, expected_version=2, user=ADMIN)
    undo_id = bulk.undo(job_id, user=ARCHIVIST)
    undone = bulk.run(undo_id, user=ARCHIVIST)
    assert undone.counts == {"done": 2, "conflict": 1}
    assert [c.item_id for c in fangzhi.bulk.store.entries(undo_id, ("conflict",))] == ["b001"]
    for i in ("b000", "b002"):
        record = archive.get_item(i, user=ADMIN)
        assert record.version == 3 and record.value.subjects == ["街景"] and record.value.title == {"zh": f"县前街照片{i[-1]}"}
    assert archive.get_item("b001", user=ADMIN).value.subjects == ["街景", "城市变迁", "鼓楼"]
    assert hits(fangzhi, "旧照") == ["b001"]
    with pytest.raises(BulkError) as again:
        bulk.undo(job_id, user=ARCHIVIST)
    assert again.value.code == "undone"


def test_stale_item_is_a_conflict_and_the_others_go_on(fangzhi):
    archive, bulk = fangzhi.archive, fangzhi.bulk
    ids = make(archive, 3)
    plan = bulk.plan(ids, [Operation("set", "extent", "1张")], user=ARCHIVIST)
    job_id = bulk.start(plan, user=ARCHIVIST)
    archive.update_item("b002", {"extent": "2张"}, expected_version=1, user=ADMIN)
    assert bulk.run(job_id, user=ARCHIVIST).counts == {"done": 2, "conflict": 1}
    assert archive.get_item("b002", user=ADMIN).value.extent == "2张"


def test_visibility_change_takes_effect_at_once(fangzhi):
    archive, bulk = fangzhi.archive, fangzhi.bulk
    ids = make(archive, 2)
    assert hits(fangzhi, "县前街", user=ANONYMOUS) == ids
    plan = bulk.plan(bulk.select(user=ADMIN, query="县前街"), [Operation("visibility", value="private")], user=ADMIN)
    bulk.run(bulk.start(plan, user=ADMIN, why="donor asked"), user=ADMIN)
    assert hits(fangzhi, "县前街", user=ANONYMOUS) == [] and hits(fangzhi, "县前街", user=ARCHIVIST) == []
    assert archive.list_items(user=ANONYMOUS)[1] == 0
    assert archive.history("b000", user=ADMIN)[-1].message.startswith("visibility")


def test_a_writer_or_archivist_cannot_bulk_change_what_it_cannot_see(fangzhi):
    archive, bulk = fangzhi.archive, fangzhi.bulk
    make(archive, 1)
    archive.create_item(photo_item(id="secret", title={"zh": "县前街密档"}, visibility="private"), user=ADMIN)
    archive.create_item(photo_item(id="staffonly", title={"zh": "县前街馆藏"}, visibility="staff"), user=ADMIN)
    ops = [Operation("add", "subjects", "泄露")]
    # by search: the selection is the user's search
    assert "secret" not in bulk.select(user=ARCHIVIST, query="县前街")
    assert bulk.select(user=WRITER, query="县前街") == ["b000"]
    # by ids: refused item by item, as if absent
    plan = bulk.plan(["b000", "secret", "staffonly"], ops, user=WRITER)
    assert [c.item_id for c in plan.changes] == ["b000"] and set(plan.problems) == {"secret", "staffonly"}
    assert "泄露" not in str(plan.problems) and "密档" not in str(plan.problems)
    plan = bulk.plan(["secret"], ops, user=ARCHIVIST)
    assert not plan.changes and "secret" in plan.problems
    for user in (ANONYMOUS, User("c", frozenset({"curator"}))):
        with pytest.raises(PermissionDenied):
            bulk.plan(["b000"], ops, user=user)
    assert archive.get_item("secret", user=ADMIN).version == 1


def test_regex_attacks_are_refused_quickly(fangzhi):
    archive, bulk = fangzhi.archive, fangzhi.bulk
    archive.create_item(photo_item(id="long", description={"zh": "a" * 5000}), user=ARCHIVIST)
    for pattern in ("(a+)+$", "(\\w+\\s?)*$", "(a|a*)*b", "x" * 201, "(unclosed"):
        start = time.monotonic()
        with pytest.raises(BulkError) as refused:
            bulk.plan(["long"], [Operation("replace", "description.zh", find=pattern, replace="", regex=True)], user=ARCHIVIST)
        assert refused.value.code in ("pattern_nested", "pattern_long", "pattern") and time.monotonic() - start < 0.5
    # no nested repetition, but polynomial backtracking: stopped by the time limit
    start = time.monotonic()
    with pytest.raises(BulkError) as slow:
        bulk.plan(["long"], [Operation("replace", "description.zh", find=r"\w*\w*\w*\w*\w*[!?]", replace="",
                                       regex=True)], user=ARCHIVIST)
    assert slow.value.code == "pattern_slow" and time.monotonic() - start < 2
    # a plain find of the same text is literal, never a pattern
    plan = bulk.plan(["long"], [Operation("replace", "description.zh", find="(a+)+$", replace="")], user=ARCHIVIST)
    assert plan.unchanged == 1
    assert compiled(r"民国(\d+)年").sub(r"\1", "民国二十五年") == "民国二十五年"


def test_regex_replace_with_groups(fangzhi):
    archive, bulk = fangzhi.archive, fangzhi.bulk
    archive.create_item(photo_item(id="d1", date={"edtf": "1936", "display": "1936年"}), user=ARCHIVIST)
    plan = bulk.plan(["d1"], [Operation("replace", "date.display", find=r"(\d{4})年", replace=r"\1 年", regex=True)],
                     user=ARCHIVIST)
    assert plan.changes[0].after == {"date": {"edtf": "1936", "display": "1936 年"}}


def test_a_bad_value_is_that_items_problem(fangzhi):
    archive, bulk = fangzhi.archive, fangzhi.bulk
    make(archive, 2)
    plan = bulk.plan(["b000", "b001"], [Operation("set", "date.edtf", "not a date")], user=ARCHIVIST)
    assert not plan.changes and set(plan.problems) == {"b000", "b001"} and "date" in str(plan.problems["b000"])
    with pytest.raises(BulkError):
        bulk.plan(["b000"], [Operation("add", "title.zh", "x")], user=ARCHIVIST)


def test_a_version_committed_before_a_crash_is_not_written_again(fangzhi):
    """The crash between an entry's commit and its mark: the run recognises the job's tag."""
    archive, bulk = fangzhi.archive, fangzhi.bulk
    ids = make(archive, 2)
    job_id = bulk.start(bulk.plan(ids, [Operation("add", "subjects", "鼓楼")], user=ARCHIVIST), user=ARCHIVIST, why="w")
    first = bulk.store.entries(job_id)[0]
    archive.update_item(first.item_id, first.after, expected_version=1, user=ARCHIVIST, why=f"w {tag(job_id)}")
    assert bulk.run(job_id, user=ARCHIVIST).counts == {"done": 2}
    assert [archive.get_item(i, user=ADMIN).version for i in ids] == [2, 2]


def test_kill_and_resume(tmp_path):
    """A bulk job SIGKILLed by the command line halfway resumes with --resume: each item once."""
    from tests.helpers import build_on

    fz = build_on(tmp_path)
    ids = make(fz.archive, 40)
    env = {**os.environ, "FANGZHI_DATA_DIR": str(tmp_path), "PYTHONPATH": os.getcwd()}
    proc = subprocess.Popen([sys.executable, "-m", "web.cli", "bulk", "--query", "县前街", "--add", "subjects=鼓楼",
                             "--why", "test", "--apply"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    store = fz.bulk.store
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        jobs = store.jobs()
        if jobs and jobs[0].counts.get("done", 0) >= 3:
            break
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    job = store.jobs()[0]
    assert 3 <= job.counts.get("done", 0) < 40, job.counts
    out = subprocess.run([sys.executable, "-m", "web.cli", "bulk", "--resume", job.id], env=env,
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert store.job(job.id).counts == {"done": 40}
    fz2 = build_on(tmp_path)
    for i in ids:
        assert fz2.archive.get_item(i, user=ADMIN).version == 2
        assert fz2.archive.get_item(i, user=ADMIN).value.subjects == ["街景", "鼓楼"]


def test_two_runs_of_one_job_at_once_write_each_item_once(fangzhi):
    """A resume while the job still runs (the job page's button): no item twice, none a false conflict."""
    import threading

    archive, bulk = fangzhi.archive, fangzhi.bulk
    ids = make(archive, 6)
    job_id = bulk.start(bulk.plan(ids, [Operation("add", "subjects", "鼓楼")], user=ARCHIVIST), user=ARCHIVIST)
    runs = [threading.Thread(target=bulk.run, args=(job_id,), kwargs={"user": ARCHIVIST}) for _ in range(2)]
    for t in runs:
        t.start()
    for t in runs:
        t.join()
    assert bulk.store.job(job_id).counts == {"done": 6}
    assert [archive.get_item(i, user=ADMIN).version for i in ids] == [2] * 6


def test_the_command_line_previews_applies_undoes_exports_and_updates(tmp_path):
    from tests.helpers import build_on

    fz = build_on(tmp_path)
    make(fz.archive, 2)
    env = {**os.environ, "FANGZHI_DATA_DIR": str(tmp_path), "PYTHONPATH": os.getcwd()}

    def cli(*args, as_user=()):
        return subprocess.run([sys.executable, "-m", "web.cli", *as_user, "bulk", *args], env=env,
                              capture_output=True, text=True, timeout=300)

    preview = cli("--ids", "b000,b001,nope", "--replace", "title.zh", "照片(\\d)", "旧照\\1", "--regex")
    assert preview.returncode == 0, preview.stderr
    assert "2 to change" in preview.stdout and "nope: no such item" in preview.stdout and "preview only" in preview.stdout
    assert fz.archive.get_item("b000", user=ADMIN).version == 1
    bad = cli("--ids", "b000", "--replace", "title.zh", "(a+)+", "", "--regex")
    assert bad.returncode == 1 and "repeats a group" in bad.stderr
    applied = cli("--ids", "b000,b001", "--set", "extent=1张", "--why", "统一数量", "--apply", as_user=("--as", "王馆员"))
    assert applied.returncode == 0 and "2 done" in applied.stdout, applied.stderr
    job_id = re.search(r"job (b[\w-]+)", applied.stdout).group(1)
    last = build_on(tmp_path).archive.history("b000", user=ADMIN)[-1]
    assert last.user == "王馆员" and "统一数量" in last.message
    sheet = tmp_path / "items.csv"
    assert cli("export", "--ids", "b000", "-o", str(sheet)).returncode == 0
    text = sheet.read_text(encoding="utf-8-sig").replace("1张", "3张")
    sheet.write_text(text, encoding="utf-8-sig")
    updated = cli("update", str(sheet), "--apply")
    assert updated.returncode == 0 and "1 done" in updated.stdout, updated.stderr
    assert build_on(tmp_path).archive.get_item("b000", user=ADMIN).value.extent == "3张"
    undone = cli("undo", job_id)
    assert undone.returncode == 0 and "1 done" in undone.stdout and "1 conflict" in undone.stdout  # b000 changed since
    fz = build_on(tmp_path)
    assert fz.archive.get_item("b001", user=ADMIN).value.extent is None
    assert fz.archive.get_item("b000", user=ADMIN).value.extent == "3张"
