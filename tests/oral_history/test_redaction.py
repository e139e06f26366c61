"""Restricted passages silenced: redacted copies made with ffmpeg from a generated tone, kept in
step with the interview's restricted segments, and the access policy around them."""
import array
import math
import subprocess

import pytest

from ingest.pipeline import make_derivatives, plan_job, process
from ingest.sources.folder import plan_folder
from oral_history import player, redaction
from oral_history.model import Interview
from repository.access import ANONYMOUS, SYSTEM, User, can_view_file
from repository.errors import Conflict

ARCHIVIST = User("a", frozenset({"archivist"}))
SEGMENTS = [{"start": 0, "title": "童年"}, {"start": 4, "title": "邻居", "restricted": True}, {"start": 8, "title": "运河"}]


def tone(path, seconds=12, video=False):
    audio = ["-f", "lavfi", "-i", f"sine=frequency=440:duration={seconds}"]
    picture = ["-f", "lavfi", "-i", f"testsrc2=size=320x240:rate=25:duration={seconds}"] if video else []
    codecs = ["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "aac", "-shortest"] if video else []
    subprocess.run(["ffmpeg", "-v", "error", "-y", *picture, *audio, *codecs, str(path)], check=True)
    return path


def rms(path, start, end) -> float:
    """Root mean square of the decoded sound between two times (16-bit samples)."""
    pcm = subprocess.run(["ffmpeg", "-v", "error", "-ss", str(start), "-t", str(end - start), "-i", str(path),
                          "-f", "s16le", "-ac", "1", "-ar", "8000", "pipe:"], capture_output=True, check=True).stdout
    samples = array.array("h", pcm[:len(pcm) // 2 * 2])
    return math.sqrt(sum(x * x for x in samples) / max(1, len(samples)))


def mean_luma(path, at) -> float:
    frame = subprocess.run(["ffmpeg", "-v", "error", "-ss", str(at), "-i", str(path), "-frames:v", "1",
                            "-f", "rawvideo", "-pix_fmt", "gray", "pipe:"], capture_output=True, check=True).stdout
    return sum(frame) / max(1, len(frame))


def ingest_recording(fangzhi, folder, *, video=False, visibility="public"):
    folder.mkdir(parents=True, exist_ok=True)
    tone(folder / ("采访.mp4" if video else "采访.wav"), video=video)
    planned = plan_folder(folder)
    planned[0].metadata["visibility"] = visibility
    ctx = fangzhi.ingest_context()
    assert process(ctx, plan_job(ctx, "t", planned), 1) == "done"
    return ctx, ctx.archive.list_items(user=SYSTEM)[0][0].id


def path_of(archive, item_id, f):
    return archive.open_file(item_id, f.id, user=SYSTEM).on_disk()


def save(archive, item_id, segments, work):
    record = archive.get_item(item_id, user=SYSTEM)
    return redaction.save(archive, item_id, Interview.from_dict({"segments": segments}), user=ARCHIVIST,
                          expected_version=record.version, why="索引", work=work).value


def peak(path, start, end, rate=48000) -> int:
    """The loudest sample (16-bit, mono) of the file's sound from ``start`` to ``end`` seconds,
    the whole file decoded (no seeking: nothing shifts the times measured)."""
    pcm = subprocess.run(["ffmpeg", "-v", "error", "-i", str(path), "-map", "0:a:0", "-f", "s16le", "-ac", "1",
                          "-ar", str(rate), "pipe:"], capture_output=True, check=True).stdout
    samples = array.array("h", pcm[:len(pcm) // 2 * 2])
    return max((abs(x) for x in samples[round(start * rate):round(end * rate)]), default=0)


# two restricted spans that start and end between the frames of every codec: 2.5–4.25 s and 7.1–9.3 s
TWO_SPANS = [{"start": 0, "title": "童年"}, {"start": 2.5, "title": "邻居", "restricted": True},
             {"start": 4.25, "title": "运河"}, {"start": 7.1, "title": "家事", "restricted": True},
             {"start": 9.3, "title": "结尾"}]


@pytest.mark.parametrize("video", [False, True], ids=["audio", "video"])
def test_redacted_copies_are_silent_in_the_span_and_only_they_are_public(fangzhi, archive, tmp_path, video):
    _, item_id = ingest_recording(fangzhi, tmp_path / "src", video=video)
    item = save(archive, item_id, TWO_SPANS, tmp_path / "work")
    rec = item.originals[0]
    redacted = [f for f in item.derivatives(rec.id) if f.tech.get("redacted")]
    full = [f for f in item.derivatives(rec.id) if not f.tech.get("redacted")]
    assert {f.purpose for f in redacted} == ({"access", "poster"} if video else {"access", "waveform"})
    assert all(f.tech["spans"] == [[2.5, 4.25], [7.1, 9.3]] for f in redacted)
    # every access copy has its redacted copy (AAC and Opus of a recording, a video's H.264/AAC) …
    copies = [f for f in redacted if f.purpose == "access"]
    assert sorted(_name(f) for f in copies) == sorted(redaction.redacted_name(_name(f)) for f in full
                                                      if f.purpose == "access")
    assert {f.media_type for f in copies} == ({"video/mp4"} if video else {"audio/webm", "audio/mp4"})
    for f in copies:  # … silent from the first to the last moment of each span (no encoder delay), loud elsewhere
        path = path_of(archive, item_id, f)
        assert max(peak(path, a, b) for a, b in ((2.5, 4.25), (7.1, 9.3))) < 64, f.path
        assert min(peak(path, a, b) for a, b in ((0.5, 2.3), (4.45, 6.9), (9.5, 11.5))) > 1000, f.path
        if video:
            assert max(mean_luma(path, t) for t in (2.5, 4.2, 7.1, 9.26)) < 20 < mean_luma(path, 1)
    for f in full:
        if f.purpose == "access":
            assert peak(path_of(archive, item_id, f), 2.5, 4.25) > 1000  # staff hear everything
    # the public gets the redacted copies only; staff get everything
    assert all(can_view_file(ANONYMOUS, item, f) for f in redacted)
    assert not any(can_view_file(ANONYMOUS, item, f) for f in [rec, *full])
    assert all(can_view_file(ARCHIVIST, item, f) for f in [rec, *full, *redacted])
    played = lambda user: [f.id for f in player.player(archive, item, user=user).sources]  # noqa: E731
    assert set(played(ANONYMOUS)) == {f.id for f in redacted if f.purpose == "access"}
    full_copies = {f.id for f in full if f.purpose == "access"}
    assert set(played(ARCHIVIST)[:len(full_copies)]) == full_copies  # staff hear the full copies first


def _name(f):
    return f.path.rsplit("/", 1)[-1]


def test_copies_follow_the_restricted_spans_and_go_when_none_are_left(fangzhi, archive, tmp_path):
    work = tmp_path / "work"
    ctx, item_id = ingest_recording(fangzhi, tmp_path / "src")
    item = save(archive, item_id, SEGMENTS, work)
    first = {f.id for f in item.files if f.tech.get("redacted")}
    same = save(archive, item_id, [{**s, "title": s["title"] + "（修订）"} for s in SEGMENTS], work)
    assert {f.id for f in same.files if f.tech.get("redacted")} == first  # same spans: nothing made again
    moved = save(archive, item_id, [SEGMENTS[0], {"start": 2, "restricted": True}, SEGMENTS[2]], work)
    assert redaction.current_spans(moved) == [[2.0, 8.0]]
    assert rms(path_of(archive, item_id, next(f for f in moved.files if f.tech.get("redacted")
                                               and f.purpose == "access")), 2.4, 3.6) < 1
    # regenerating the derivatives keeps the redacted copies (the full ones stay staff-only)
    make_derivatives(ctx, item_id, {"notes": []}, why="regenerate", replace=True)
    regenerated = archive.get_item(item_id, user=SYSTEM).value
    assert redaction.current_spans(regenerated) == [[2.0, 8.0]]
    assert not can_view_file(ANONYMOUS, regenerated, regenerated.originals[0])
    opened = save(archive, item_id, [{k: v for k, v in s.items() if k != "restricted"} for s in SEGMENTS], work)
    assert not any(f.tech.get("redacted") for f in opened.files)
    assert all(can_view_file(ANONYMOUS, opened, f) for f in opened.files if f.role != "supplement")


def test_a_stale_save_makes_nothing(fangzhi, archive, tmp_path):
    _, item_id = ingest_recording(fangzhi, tmp_path / "src")
    version = archive.get_item(item_id, user=SYSTEM).version
    with pytest.raises(Conflict, match="Reload it"):
        redaction.save(archive, item_id, Interview.from_dict({"segments": SEGMENTS}), user=ARCHIVIST,
                       expected_version=version - 1, work=tmp_path / "work")
    assert archive.get_item(item_id, user=SYSTEM).version == version


def test_spans_end_at_the_recording():
    interview = Interview.from_dict({"segments": SEGMENTS[:2] + [{"start": 9, "restricted": True}]})
    assert redaction.spans(interview, 12.0) == [[4.0, 12.0]]
    assert redaction.spans(interview, None) == []  # no duration: nothing to cut from yet
    assert redaction.redacted_name("access.webm") == "access.redacted.webm"


def test_no_version_serves_a_passage_restricted_later(fangzhi, archive, tmp_path):
    """Restrict passage A (4–6 s), then passage B (8–10 s) as well: no file of any version is given
    to a reader if it sounds in B. The second set of redacted copies gets new file ids (an id is
    never reused), and a past redacted copy, superseded, is for staff only."""
    from repository.errors import PermissionDenied

    work = tmp_path / "work"
    _, item_id = ingest_recording(fangzhi, tmp_path / "src")
    a = [{"start": 0, "title": "童年"}, {"start": 4, "title": "甲", "restricted": True}, {"start": 6, "title": "运河"}]
    save(archive, item_id, a, work)
    b = save(archive, item_id, a + [{"start": 8, "title": "乙", "restricted": True}, {"start": 10, "title": "结尾"}],
             work)
    assert redaction.current_spans(b) == [[4.0, 6.0], [8.0, 10.0]]
    readers = [ANONYMOUS] + [User(role, frozenset({role})) for role in ("researcher", "member", "curator")]
    ids, served, superseded = {}, set(), set()
    for version in range(1, archive.get_item(item_id, user=SYSTEM).version + 1):
        for f in archive.get_item(item_id, user=SYSTEM, version=version).value.files:
            assert ids.setdefault(f.id, (f.path, f.sha256)) == (f.path, f.sha256), f"file id {f.id} was reused"
            for user in readers:
                try:
                    found = archive.open_file(item_id, f.id, user=user, version=version)
                except PermissionDenied:
                    continue
                served.add((version, f.id))
                if f.media_type.startswith("audio/"):
                    assert rms(found.on_disk(), 8.2, 9.8) < 1, (version, f.id, f.path, user)
            if f.tech.get("spans") == [[4.0, 6.0]]:
                superseded.add((version, f.id))
                assert archive.open_file(item_id, f.id, user=ARCHIVIST, version=version)  # staff keep the past
    assert superseded and not served & superseded
    assert {f.id for f in b.files if f.tech.get("redacted")} <= {fid for _, fid in served}  # the current copies
