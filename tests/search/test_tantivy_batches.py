"""The embedded index commits changes in batches (search/tantivy_index.py): its own process reads
them at once, other processes after the flush, and a process that dies before its commit leaves
a journal from which the next start re-indexes the items (the catalog holds them)."""
import os
import subprocess
import sys
import time
from pathlib import Path

from repository.access import SYSTEM
from search.tantivy_index import TantivyIndex
from tests.helpers import build_on, photo_item
from tests.search.test_index_contract import doc

ROOT = Path(__file__).resolve().parents[2]


def test_changes_wait_for_one_commit_and_their_process_reads_them_at_once(tmp_path):
    writer, reader = TantivyIndex(tmp_path, flush_after=60), TantivyIndex(tmp_path)
    for n in range(5):
        writer.replace(f"i{n}", [doc(f"i{n}")])
    writer.delete("i4")
    assert (tmp_path / f"pending-{os.getpid()}").read_text().split() == ["i0", "i1", "i2", "i3", "i4", "i4"]
    assert reader.count() == 4  # read-your-write in the process: every object's batch is committed before a read
    assert writer.count() == 4
    assert not (tmp_path / f"pending-{os.getpid()}").exists()


def test_changes_by_two_objects_on_one_folder_are_committed_in_their_order(tmp_path):
    # A second build() in one process (a resumed ingest) replaces what the first left waiting.
    from search.index import Term

    first, second = TantivyIndex(tmp_path, flush_after=60), TantivyIndex(tmp_path, flush_after=60)
    for older, newer in ((first, second), (second, first), (first, second)):
        older.replace("x", [doc("x", title="old")])
        newer.replace("x", [doc("x", title="new")])
        assert [h.id for h in first.search(Term("title", "new")).hits] == ["x"]
        assert second.search(Term("title", "old")).hits == []


def test_a_batch_is_committed_when_full_or_after_flush_after(tmp_path):
    journal = tmp_path / f"pending-{os.getpid()}"  # removed by the commit (reads would commit too)
    full, timed = TantivyIndex(tmp_path, batch_size=3, flush_after=60), TantivyIndex(tmp_path, flush_after=0.2)
    for n in range(2):
        full.replace(f"f{n}", [doc(f"f{n}")])
    assert journal.exists()
    full.replace("f2", [doc("f2")])
    assert not journal.exists()
    timed.replace("t", [doc("t")])
    deadline = time.monotonic() + 10
    while journal.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not journal.exists() and timed.count() == 4


def test_a_process_exiting_normally_commits_its_batch(tmp_path):
    script = ("import sys; from search.tantivy_index import TantivyIndex; from tests.search.test_index_contract import doc; "
              "TantivyIndex(sys.argv[1], flush_after=600).replace('x', [doc('x')])")
    subprocess.run([sys.executable, "-c", script, str(tmp_path)], cwd=ROOT, check=True)
    assert TantivyIndex(tmp_path).count() == 1 and not list(tmp_path.glob("pending-*"))


def test_changes_of_a_process_killed_before_its_commit_are_indexed_at_the_next_start(tmp_path):
    fangzhi = build_on(tmp_path)
    fangzhi.archive.create_item(photo_item(id="p1", title={"zh": "惠山泥人"}), user=SYSTEM)
    fangzhi.archive.create_item(photo_item(id="p2", title={"zh": "锡山"}), user=SYSTEM)
    fangzhi.search.index.flush()
    script = ("import os, sys; from pathlib import Path; from repository.access import SYSTEM; "
              "from tests.helpers import build_on, photo_item; f = build_on(Path(sys.argv[1])); "
              "f.search.index.flush_after = 600; "
              "f.archive.update_item('p1', {'title': {'zh': '惠山大阿福'}}, expected_version=1, user=SYSTEM); "
              "f.archive.purge_item('p2', user=SYSTEM, reason='test'); "
              "f.archive.create_item(photo_item(id='p3', title={'zh': '寄畅园'}), user=SYSTEM); "
              "os._exit(0)")  # dies without flushing: the index has none of the three changes
    subprocess.run([sys.executable, "-c", script, str(tmp_path)], cwd=ROOT, check=True)

    def found(words):
        return sorted(h.item_id for h in fangzhi.search.search(words, user=SYSTEM).hits)
    assert found("惠山") == ["p1"] and found("锡山") == ["p2"]
    assert found("寄畅园") == []  # the stale index the killed process left
    assert len(list(tmp_path.glob("index/pending-*"))) == 1

    fangzhi = build_on(tmp_path)  # the next start: the dead process's journal is re-indexed
    assert not list(tmp_path.glob("index/pending-*"))
    assert found("大阿福") == ["p1"] and found("锡山") == []
    assert found("寄畅园") == ["p3"]
