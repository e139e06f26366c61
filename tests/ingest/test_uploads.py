"""The browser's chunked upload protocol (ingest.uploads), used without a web server."""
from __future__ import annotations

import pytest

from ingest.pipeline import Context
from ingest.safety import MIB
from ingest.uploads import ChunkTooLarge, OffsetConflict, Uploads, UnknownUpload
from repository.errors import ValidationError
from tests.ingest import fixtures
from tests.helpers import build_on


def test_chunks_append_at_their_offset_and_a_refused_chunk_leaves_the_file(tmp_path):
    uploads = Uploads(tmp_path / "uploads", max_file_bytes=MIB)
    upload = uploads.start()
    target = tmp_path / "uploads" / upload / "0001" / "扫描.tif"
    assert uploads.append(upload, 1, "扫描.tif", 0, [b"a" * 1000, b"b" * 1000]) == 2000
    with pytest.raises(OffsetConflict) as conflict:  # a chunk sent again: the browser continues from the size
        uploads.append(upload, 1, "扫描.tif", 0, [b"x"])
    assert conflict.value.size == 2000
    with pytest.raises(ChunkTooLarge, match=r"chunks may be at most 16777216 bytes and a file at most 1 MiB"):
        uploads.append(upload, 1, "扫描.tif", 2000, [b"c" * (MIB - 2000), b"d"])

    def refused_by_the_server():  # the web server's own body limit, mid-chunk
        yield b"e" * 10
        raise ChunkTooLarge()

    with pytest.raises(ChunkTooLarge):
        uploads.append(upload, 1, "扫描.tif", 2000, refused_by_the_server())
    assert target.read_bytes() == b"a" * 1000 + b"b" * 1000
    for unknown in ("0" * 32, "../" + upload, upload.upper()):
        with pytest.raises(UnknownUpload):
            uploads.append(unknown, 1, "扫描.tif", 0, [b"x"])


def test_a_finished_upload_is_one_item_of_a_new_job_with_its_transcripts(tmp_path):
    data = tmp_path / "data"
    fz = build_on(data)
    ctx = Context(fz.archive, fz.jobs, data / "work")
    uploads = Uploads(tmp_path / "uploads", max_file_bytes=100 * MIB)
    empty = uploads.start()
    with pytest.raises(ValidationError, match="upload at least one file"):
        uploads.finish(ctx, empty, {})
    upload = uploads.start()
    recording = fixtures.wav(tmp_path / "采访_张.wav", 1)
    for index, (name, content) in enumerate([("采访_张.vtt", b"WEBVTT\n"), (recording.name, recording.read_bytes())], 1):
        uploads.append(upload, index, name, 0, [content])
    job_id = uploads.finish(ctx, upload, {"kind": "audio"})
    (entry,) = ctx.jobs.entries(job_id)
    assert ctx.jobs.job(job_id).source == f"web upload {upload}"
    assert entry.label == "采访_张" and entry.metadata == {"kind": "audio", "visibility": "staff"}
    assert [p.rsplit("/", 2)[-2:] for p in entry.files] == [["0002", "采访_张.wav"], ["0001", "采访_张.vtt"]]
    assert entry.file_fields[1] == {"transcript": True}
    assert ctx.jobs.entries(uploads.finish(ctx, upload, {}, label="采访"))[0].label == "采访"
