"""Ingest end to end: sources → jobs → originals → media steps → derivatives, and bad input."""
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from repository.access import SYSTEM
from tests.helpers import assert_ocfl_valid, build_on
from tests.ingest import fixtures

ROOT = Path(__file__).resolve().parents[2]


def fangzhi(data_dir, *args, wait=True):
    env = {**os.environ, "FANGZHI_DATA_DIR": str(data_dir)}
    command = [sys.executable, "-m", "web.cli", *map(str, args)]
    if not wait:
        return subprocess.Popen(command, env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                start_new_session=True)
    return subprocess.run(command, capture_output=True, text=True, env=env, timeout=600, cwd=ROOT)


def archive_of(data_dir):
    return build_on(data_dir).archive


@pytest.fixture(scope="module")
def ingested(tmp_path_factory):
    """A folder donation with every media kind, ingested once by the CLI with two workers."""
    tmp = tmp_path_factory.mktemp("ingest")
    source = fixtures.donation(tmp / "donation")
    data = tmp / "data"
    out = fangzhi(data, "ingest", source, "--workers", "2")
    assert out.returncode == 0, out.stdout + out.stderr
    job_id = re.search(r"job (j\S+): 7 items planned", out.stdout).group(1)
    return data, source, job_id, {i.label(): i for i in archive_of(data).list_items(user=SYSTEM, limit=100)[0]}


def purposes(item, original):
    return sorted({f.purpose for f in item.derivatives(original.id)})


def test_every_kind_is_ingested_with_its_derivatives(ingested):
    data, _, job_id, items = ingested
    assert set(items) == {"惠山 旧影", "清名桥", "锡山乡土志", "采访_张", "庙会", "锡山杂记", "县志选段"}
    photo = items["惠山 旧影"]
    assert photo.kind == "photo" and purposes(photo, photo.originals[0]) == ["pyramid", "thumbnail"]
    assert photo.originals[0].tech["width"] == 640 and photo.date == {"edtf": "1936-05-04"}  # from EXIF
    manuscript = items["锡山乡土志"]
    assert manuscript.kind == "manuscript" and [f.path for f in manuscript.originals] == [
        "originals/1.png", "originals/2.png"]
    first = manuscript.originals[0]
    assert purposes(manuscript, first) == ["ocr", "pyramid", "text", "thumbnail"]
    assert audio_ok(items["采访_张"]) and video_ok(items["庙会"])
    ebook = items["锡山杂记"]
    assert ebook.kind == "ebook" and "text" in purposes(ebook, ebook.originals[0])
    book = items["县志选段"]
    assert book.kind == "book" and book.originals[0].media_type == "application/pdf"
    assert len(book.derivatives(book.originals[0].id, "pyramid")) == 2
    assert_ocfl_valid(data / "storage" / "ocfl")


def audio_ok(item):
    original = item.originals[0]
    access = {f.media_type for f in item.derivatives(original.id, "access")}
    return item.kind == "audio" and access == {"audio/webm", "audio/mp4"} and original.tech["duration"] > 1.5


def video_ok(item):
    original = item.originals[0]
    return item.kind == "video" and {f.media_type for f in item.derivatives(original.id)} >= {"video/mp4", "image/jpeg"}


def test_ocr_text_is_stored_for_search(ingested):
    data, _, _, items = ingested
    archive = archive_of(data)
    manuscript = items["锡山乡土志"]
    (text,) = manuscript.derivatives(manuscript.originals[0].id, "text")
    recognised = archive.open_file(manuscript.id, text.id, user=SYSTEM).read().decode()
    assert sum(c in recognised for c in "锡山在县城西惠山之东麓") >= 8
    (ocr,) = manuscript.derivatives(manuscript.originals[0].id, "ocr")
    stored = json.loads(archive.open_file(manuscript.id, ocr.id, user=SYSTEM).read())
    assert stored["engine"] == "PP-OCRv6 small" and stored["text"] == recognised
    chars = [c for line in stored["lines"] for c in line["chars"]]
    assert ocr.tech == {"lines": len(stored["lines"]), "characters": len(chars),
                        "uncertain": sum(c["uncertain"] for c in chars)}  # pages to review, at a glance


def test_reingesting_the_same_files_reports_duplicates(ingested, tmp_path):
    data, source, _, items = ingested
    out = fangzhi(data, "ingest", source)
    assert out.returncode == 0
    assert "0 done, 7 duplicate" in out.stdout
    assert out.stderr.count("DUPLICATE") == 7 and "already in the archive" in out.stderr
    assert archive_of(data).list_items(user=SYSTEM)[1] == len(items)


def test_jobs_commands(ingested):
    data, _, job_id, _ = ingested
    assert job_id in fangzhi(data, "jobs").stdout
    shown = fangzhi(data, "jobs", "show", job_id).stdout
    assert shown.count(" done ") == 7
    assert fangzhi(data, "jobs", "show", "nope").returncode == 1


def test_derivatives_check_and_regenerate(ingested):
    data, _, _, items = ingested
    assert fangzhi(data, "derivatives", "check").returncode == 0
    photo = items["清名桥"]
    archive = archive_of(data)
    record = archive.get_item(photo.id, user=SYSTEM)
    thumb = record.value.derivatives(photo.originals[0].id, "thumbnail")[0]
    archive.update_item(photo.id, {}, expected_version=record.version, user=SYSTEM, remove_files=[thumb.id])
    check = fangzhi(data, "derivatives", "check")
    assert check.returncode == 1 and f"{photo.id}  originals/清名桥.jpg  missing: thumbnail" in check.stdout
    assert fangzhi(data, "derivatives", "regenerate", photo.id).returncode == 0
    assert fangzhi(data, "derivatives", "check").returncode == 0


def test_bad_input_fails_per_file_and_the_batch_goes_on(tmp_path):
    from PIL import Image

    source = tmp_path / "bad"
    source.mkdir()
    fixtures.jpeg(source / "good.jpg")
    (source / "truncated.jpg").write_bytes(fixtures.jpeg(tmp_path / "t.jpg").read_bytes()[:600])
    (source / "empty.tif").write_bytes(b"")
    (source / "program.exe").write_bytes(b"MZ\x90\x00" + os.urandom(200))
    fixtures.jpeg(tmp_path / "real.jpg", seed=5)
    (source / "lying.png").write_bytes((tmp_path / "real.jpg").read_bytes())  # a JPEG named .png
    Image.new("1", (20000, 20000)).save(source / "huge.png")  # 400 MP: over the pixel limit
    (source / "locked.pdf").write_bytes(encrypted_pdf(tmp_path))
    (source / "broken.epub").write_bytes(b"PK\x03\x04 not really a zip")
    from web import demo  # hostile: chapters of just under 1 MiB (each below the per-member check), a giant frame
    demo.epub(source / "chapters.epub", "炸弹", [(f"第{n}章", "惠山泉水" * 87_000) for n in range(20)])
    subprocess.run(["ffmpeg", "-v", "error", "-nostdin", "-y", "-f", "lavfi", "-i", "color=s=8192x8192:d=1:r=1",
                    "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", str(source / "giant.mp4")],
                   check=True, timeout=60)
    data = tmp_path / "data"
    out = fangzhi(data, "ingest", source)
    assert out.returncode == 1  # some entries failed
    failures = {m.group(1): m.group(2) for m in re.finditer(r"FAILED #\d+ (\S+): (.*)", out.stderr)}
    assert set(failures) == {"truncated", "empty", "huge", "locked", "broken", "chapters", "giant"}, \
        out.stderr
    assert "step check" in failures["truncated"] and "not a readable JPEG" in failures["truncated"]
    assert "the file is empty" in failures["empty"]
    assert "decompression bomb" in failures["huge"] and "pixels" in failures["huge"]
    assert "step pdf" in failures["locked"] and "password" in failures["locked"]
    assert "step check" in failures["broken"] and "ZIP" in failures["broken"]
    assert "step check" in failures["chapters"] and "zip bomb: the EPUB archive expands" in failures["chapters"]
    assert "step video file" in failures["giant"] and "giant.mp4" in failures["giant"]
    assert "8192 × 8192 pixels a frame, more than the limit" in failures["giant"]
    assert "3 done" in out.stdout  # program.exe among them: kept, as any file is
    archive = archive_of(data)
    program = next(i for i in archive.list_items(user=SYSTEM)[0] if i.label() == "program")
    assert program.kind == "document" and program.originals[0].media_type == "application/octet-stream"
    assert archive.open_file(program.id, program.originals[0].id, user=SYSTEM).read() == \
        (source / "program.exe").read_bytes()
    lying = next(i for i in archive.list_items(user=SYSTEM)[0] if i.label() == "lying")  # title: the file stem
    assert lying.originals[0].media_type == "image/jpeg"
    assert "NOTE" in out.stderr and "lying.png: the name says image/png, the content is image/jpeg" in out.stderr
    assert_ocfl_valid(data / "storage" / "ocfl")


def encrypted_pdf(tmp_path) -> bytes:
    from pypdf import PdfReader, PdfWriter

    plain = fixtures.pdf(tmp_path / "plain.pdf", ["机密"])
    writer = PdfWriter()
    for page in PdfReader(plain).pages:
        writer.add_page(page)
    writer.encrypt("secret")
    out = tmp_path / "enc.pdf"
    writer.write(out)
    return out.read_bytes()


def test_manifest_rows_with_bad_paths_fail_alone(tmp_path):
    source = tmp_path / "box"
    source.mkdir()
    fixtures.jpeg(source / "信 1.jpg")
    (source / "items.csv").write_bytes(
        "题名,类型,文件\n第一封信,photo,信 1.jpg\n丢失,photo,不存在.jpg\n越界,photo,../../etc/passwd\n绝对,photo,/etc/passwd\n"
        .encode("gb18030"))
    out = fangzhi(tmp_path / "data", "ingest", source, "--manifest", source / "items.csv")
    failures = re.findall(r"FAILED #\d+ (\S+): step plan", out.stderr)
    assert sorted(failures) == sorted(["丢失", "越界", "绝对"]), out.stderr
    assert "1 done" in out.stdout


def test_invalid_bag_is_refused_with_reasons(tmp_path):
    import bagit

    bag_dir = tmp_path / "bag"
    bag_dir.mkdir()
    fixtures.jpeg(bag_dir / "a.jpg")
    bagit.make_bag(str(bag_dir), checksums=["sha256"])
    (bag_dir / "data" / "a.jpg").write_bytes(b"tampered")
    out = fangzhi(tmp_path / "data", "ingest", bag_dir)
    assert out.returncode == 1 and "a.jpg" in out.stderr


def test_export_then_ingest_a_bag_round_trips(ingested, tmp_path):
    data, _, _, items = ingested
    photo = items["惠山 旧影"]
    out = fangzhi(data, "export", photo.id, tmp_path / "bag")
    assert out.returncode == 0, out.stderr
    other = tmp_path / "other"
    assert fangzhi(other, "ingest", tmp_path / "bag").returncode == 0
    (copy,) = archive_of(other).list_items(user=SYSTEM)[0]
    assert copy.title == photo.title and copy.originals[0].sha256 == photo.originals[0].sha256


def test_sigkill_mid_batch_then_resume_completes_every_item_once(tmp_path):
    source = tmp_path / "scans"
    source.mkdir()
    for n in range(16):
        fixtures.jpeg(source / f"scan-{n:02d}.jpg", seed=n, size=(1600, 1200))
    data = tmp_path / "data"
    proc = fangzhi(data, "ingest", source, "--workers", "2", wait=False)
    from ingest.jobs import JobStore
    from storage.database import Database

    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:  # kill once some, but not all, entries are done
        time.sleep(0.2)
        if (data / "fangzhi.sqlite3").exists():
            jobs = JobStore(Database(f"sqlite:///{data / 'fangzhi.sqlite3'}")).jobs()
            if jobs and 2 <= jobs[0].counts.get("done", 0) < 16:
                break
    os.killpg(proc.pid, signal.SIGKILL)  # the CLI and its worker processes, like a power cut
    proc.wait()
    job = JobStore(Database(f"sqlite:///{data / 'fangzhi.sqlite3'}")).jobs()[0]
    assert job.counts.get("done", 0) < 16
    out = fangzhi(data, "ingest", "--resume", job.id)
    assert out.returncode == 0, out.stdout + out.stderr
    items = archive_of(data).list_items(user=SYSTEM, limit=100)[0]
    assert sorted(i.label() for i in items) == [f"scan-{n:02d}" for n in range(16)]  # each exactly once
    assert all({"pyramid", "thumbnail"} <= {f.purpose for f in i.files} for i in items)
    assert_ocfl_valid(data / "storage" / "ocfl")


class Killed(BaseException):
    """A power cut at one point of a process: nothing after it runs (no except clause catches it)."""


def test_a_kill_between_a_commit_and_the_catalog_is_repaired_by_the_resume(tmp_path, monkeypatch):
    """The derivative version is committed, then the process dies before the catalog, the audit
    log and the search index hear of it: the resumed entry finds nothing left to store, and must
    still bring them up to date (the rare SIGKILL-resume failure: an item listed without pyramid)."""
    from ingest.pipeline import plan_job, process
    from ingest.sources.folder import plan_folder

    source = tmp_path / "box"
    source.mkdir()
    fixtures.jpeg(source / "scan.jpg", seed=5)
    data = tmp_path / "data"
    first = build_on(data)
    ctx = first.ingest_context()
    job = plan_job(ctx, "box", plan_folder(source))
    put_item = first.catalog.put_item

    def die_at_the_derivatives(item, *args):
        if item.derivatives(item.originals[0].id):
            raise Killed
        put_item(item, *args)

    monkeypatch.setattr(first.catalog, "put_item", die_at_the_derivatives)
    with pytest.raises(Killed):
        process(ctx, job, 1)
    monkeypatch.undo()

    again = build_on(data)
    entry = again.jobs.entry(job, 1)
    stale = again.archive.list_items(user=SYSTEM)[0][0]
    assert not stale.derivatives(stale.originals[0].id)  # what the kill left behind
    assert process(again.ingest_context(), job, 1) == "done"
    listed = again.archive.list_items(user=SYSTEM)[0][0]
    assert {"pyramid", "thumbnail"} <= {f.purpose for f in listed.files}
    events = again.catalog.events(f"item:{entry.item_id}")
    assert sorted(e["version"] for e in events) == [1, 2]  # the lost version's audit event too
    [hit] = again.search.search("scan", user=SYSTEM).hits
    assert (hit.item_id, hit.thumbnail) == (entry.item_id, listed.derivatives(listed.originals[0].id, "thumbnail")[0].id)


# --- a failed entry's item: incomplete, and completed by a retry or by ingesting the same bytes again ---

def failing_image_step(monkeypatch):
    """The image step fails the way a worker short of memory does (in this process only)."""
    from ingest import pipeline
    from ingest.steps import StepError

    def fail(original, media_type, work):
        raise StepError("vips: out of memory")

    real = pipeline.steps_for
    monkeypatch.setattr(pipeline, "steps_for", lambda media_type, limits=None: [("image", fail)]
                        if media_type.startswith("image/") else real(media_type))
    return monkeypatch


def test_reingesting_the_bytes_of_a_failed_entry_completes_its_item(tmp_path, monkeypatch):
    from ingest.pipeline import plan_job, process
    from ingest.sources.folder import plan_folder

    data = tmp_path / "data"
    ctx = build_on(data).ingest_context()
    first, second = tmp_path / "box1", tmp_path / "box2"
    for folder in (first, second):
        folder.mkdir()
        fixtures.jpeg(folder / "scan.jpg", seed=3)  # the same bytes in both donations
    fixtures.jpeg(second / "other.jpg", seed=4)
    with monkeypatch.context() as m:
        failing_image_step(m)
        job = plan_job(ctx, "first", plan_folder(first))
        assert process(ctx, job, 1) == "failed"
    failed = ctx.jobs.entry(job, 1)
    assert (failed.step, failed.reason) == ("image", "vips: out of memory")
    item_id = failed.item_id
    assert ctx.archive.load_item(item_id).originals and not ctx.archive.load_item(item_id).derivatives("f1")

    # a second donation holding the same scan (and another file, its own item): the same bytes
    # complete the stored item (its failed entry is retried) instead of being called a duplicate
    again = plan_job(ctx, "again", plan_folder(second))
    states = {ctx.jobs.entry(again, n).label: process(ctx, again, n) for n in (1, 2)}
    assert states == {"other": "done", "scan": "done"}
    assert ctx.jobs.entry(job, 1).state == "done"
    scan = next(ctx.jobs.entry(again, n) for n in (1, 2) if ctx.jobs.entry(again, n).label == "scan")
    assert scan.item_id == item_id and f"completed the unfinished item {item_id} (job {job} #1)" in scan.reason
    assert {"pyramid", "thumbnail"} <= {f.purpose for f in ctx.archive.load_item(item_id).derivatives("f1")}
    assert sorted(i.label() for i in ctx.archive.list_items(user=SYSTEM)[0]) == ["other", "scan"]  # nothing twice
    assert ctx.jobs.unfinished() == {}  # nothing left to resume


def test_a_reingest_that_brings_more_than_the_failed_item_names_it(tmp_path, monkeypatch):
    """Files already in an unfinished item beside new ones: a duplicate that says how to complete it."""
    from ingest.pipeline import plan_job, process
    from ingest.sources.common import PlannedItem

    data = tmp_path / "data"
    ctx = build_on(data).ingest_context()
    page1, page2 = fixtures.jpeg(tmp_path / "p1.jpg", seed=1), fixtures.jpeg(tmp_path / "p2.jpg", seed=2)
    planned = lambda files: PlannedItem(label="家书", files=files, metadata={"kind": "manuscript", "title": "家书"},  # noqa: E731
                                        file_ids=[None] * len(files), problems=[])
    with monkeypatch.context() as m:
        failing_image_step(m)
        job = plan_job(ctx, "first", [planned([page1])])
        assert process(ctx, job, 1) == "failed"
        again = plan_job(ctx, "again", [planned([page1, page2])])
        assert process(ctx, again, 1) == "duplicate"
    reason = ctx.jobs.entry(again, 1).reason
    item_id = ctx.jobs.entry(job, 1).item_id
    assert f"item {item_id}" in reason and f"whose ingest did not finish (job {job} #1, step image)" in reason
    assert f"fangzhi ingest --resume {job} --retry" in reason
    assert process(ctx, job, 1) == "done"  # the retry completes it
    assert ctx.jobs.unfinished() == {}


# --- after-steps: how a feature plugs into ingest (oral history's transcript step) ---------------

def test_after_steps_run_once_the_derivatives_are_stored_and_their_errors_fail_the_entry(tmp_path):
    """Each after-step of the context runs, in order, after the derivative version is stored; an
    error it declares fails the entry at its step and file, and a retry runs it again."""
    from ingest.pipeline import plan_job, process
    from ingest.sources.folder import plan_folder

    class Refused(Exception):
        pass

    class Noting:
        errors = (Refused,)

        def __init__(self, name, calls):
            self.name, self.calls = name, calls

        def __call__(self, ctx, entry, stage, *, why):
            item = ctx.archive.load_item(entry.item_id)
            self.calls.append((self.name, why, sorted(f.purpose for f in item.files if f.role == "derivative")))
            stage["step"], stage["file"] = self.name, entry.files[0]
            if self.name == "second" and len(self.calls) == 2:
                raise Refused("the feature refused it")

    calls = []
    data, box = tmp_path / "data", tmp_path / "box"
    box.mkdir()
    fixtures.jpeg(box / "scan.jpg", seed=5)
    ctx = build_on(data).ingest_context()
    ctx.after_steps = (Noting("first", calls), Noting("second", calls))
    job = plan_job(ctx, "box", plan_folder(box))
    assert process(ctx, job, 1) == "failed"
    entry = ctx.jobs.entry(job, 1)
    assert (entry.step, entry.file, entry.reason) == ("second", str(box / "scan.jpg"), "the feature refused it")
    assert calls == [("first", f"ingest {job} #1: first", ["pyramid", "thumbnail"]),
                     ("second", f"ingest {job} #1: second", ["pyramid", "thumbnail"])]
    assert process(ctx, job, 1) == "done"  # the retry: the media steps have nothing left to do
    assert [name for name, _, _ in calls] == ["first", "second", "first", "second"]


def test_without_the_transcript_step_transcript_files_are_only_kept(tmp_path):
    """The interview is oral history's after-step: a context without it stores the files and
    makes no interview (the composition root registers it: fangzhi.bootstrap)."""
    from ingest.pipeline import plan_job, process
    from ingest.sources.folder import plan_folder
    from oral_history.service import read_interview

    box = tmp_path / "box"
    box.mkdir()
    fixtures.wav(box / "采访.wav", 2)
    (box / "采访.vtt").write_text("WEBVTT\n\n00:00:00.500 --> 00:00:01.500\n第一句\n", encoding="utf-8")
    bare = build_on(tmp_path / "a").ingest_context()
    bare.after_steps = ()
    wired = build_on(tmp_path / "b").ingest_context()
    assert [step.name for step in wired.after_steps] == ["transcript"]
    for ctx, interviews in ((bare, 0), (wired, 1)):
        assert process(ctx, plan_job(ctx, "box", plan_folder(box)), 1) == "done"
        item = ctx.archive.list_items(user=SYSTEM)[0][0]
        assert [f.purpose for f in item.files if f.role == "supplement"].count("transcript-source") == 1
        assert (read_interview(ctx.archive, item) is not None) == bool(interviews)
