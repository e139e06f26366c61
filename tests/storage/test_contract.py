"""The Storage contract: LocalStorage, S3Storage (on a real SeaweedFS) and MemoryStorage behave the same."""
import hashlib
import io
import random
import tracemalloc
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest

from storage.base import CHUNK, Storage, StorageError, StorageNotFound
from storage.local import TMP_DIR, LocalStorage
from storage.memory import MemoryStorage
from storage.s3 import S3Storage

MiB = 1024 * 1024


@pytest.fixture(params=["local", pytest.param("s3", marks=pytest.mark.s3), "memory"])
def storage(request, tmp_path):
    if request.param == "local":
        return LocalStorage(tmp_path / "store")
    if request.param == "memory":
        return MemoryStorage()
    return request.getfixturevalue("s3_storage")


class GeneratedStream:
    """A file-like object yielding ``size`` pseudo-random bytes generated on demand, at most
    CHUNK per read (like a pipe), hashing what it hands out. It refuses ``read()`` without a
    size while data remains (that would load it all) and can fail after ``fail_at`` bytes."""

    def __init__(self, size: int, *, seed: int = 0, fail_at: int | None = None):
        self.remaining = size
        self.produced = 0
        self.fail_at = fail_at
        self.sha256 = hashlib.sha256()
        self._random = random.Random(seed)

    def read(self, size: int = -1) -> bytes:
        assert size >= 0 or not self.remaining, "read() without a size would load the whole stream"
        if self.fail_at is not None and self.produced >= self.fail_at:
            raise OSError("the scanner disconnected")
        data = self._random.randbytes(min(size, CHUNK, self.remaining))
        self.remaining -= len(data)
        self.produced += len(data)
        self.sha256.update(data)
        return data


def test_backends_satisfy_the_protocol(storage):
    assert isinstance(storage, Storage)


def test_put_bytes_and_read_back(storage):
    assert storage.put("a/b.txt", b"hello archive") == 13
    with storage.open("a/b.txt") as f:
        assert f.read() == b"hello archive"
    assert storage.size("a/b.txt") == 13


def test_put_stream_returns_size(storage):
    assert storage.put("s/stream.bin", io.BytesIO(b"x" * 3000)) == 3000
    assert storage.put("s/empty.bin", io.BytesIO()) == 0
    assert storage.size("s/stream.bin") == 3000
    assert storage.size("s/empty.bin") == 0
    with storage.open("s/empty.bin") as f:
        assert f.read() == b""


def test_open_reads_in_pieces(storage):
    storage.put("k", b"0123456789")
    with storage.open("k") as f:
        assert f.read(4) == b"0123"
        assert f.read(4) == b"4567"
        assert f.read() == b"89"
        assert f.read(4) == b""


def test_overwrite_replaces_content(storage):
    storage.put("k", b"first version, longer")
    storage.put("k", b"second")
    with storage.open("k") as f:
        assert f.read() == b"second"
    assert storage.size("k") == 6


def test_exists(storage):
    assert not storage.exists("a/b.txt")
    storage.put("a/b.txt", b"x")
    assert storage.exists("a/b.txt")
    assert not storage.exists("a")  # a prefix of keys is not itself a key
    assert not storage.exists("a/b")


def test_read_range(storage):
    storage.put("r", b"0123456789")
    assert storage.read_range("r", 3, 4) == b"3456"
    assert storage.read_range("r", 7, 100) == b"789"
    assert storage.read_range("r", 10, 5) == b""
    assert storage.read_range("r", 50, 5) == b""
    assert storage.read_range("r", 2, 0) == b""
    with pytest.raises(StorageError):
        storage.read_range("r", -1, 5)


def test_list_by_prefix(storage):
    keys = ["a/b/c.txt", "a/b/d.txt", "a/e.txt", "ab.txt", "z.txt"]
    for key in keys:
        storage.put(key, key.encode())
    assert sorted(storage.list()) == keys
    assert sorted(storage.list("a/")) == ["a/b/c.txt", "a/b/d.txt", "a/e.txt"]
    assert sorted(storage.list("a")) == ["a/b/c.txt", "a/b/d.txt", "a/e.txt", "ab.txt"]
    assert sorted(storage.list("a/b/c")) == ["a/b/c.txt"]  # a partial name
    assert list(storage.list("nothing/")) == []
    assert list(storage.list("a/x")) == []


def test_delete(storage):
    storage.put("d/one.txt", b"1")
    storage.put("d/two.txt", b"2")
    storage.delete("d/one.txt")
    assert not storage.exists("d/one.txt")
    assert list(storage.list("d/")) == ["d/two.txt"]
    storage.delete("d/one.txt")  # already gone: not an error
    storage.delete("never/there.txt")


def test_missing_key_is_not_found(storage):
    with pytest.raises(StorageNotFound, match="missing.tif"):
        storage.open("missing.tif")
    with pytest.raises(StorageNotFound, match="missing.tif"):
        storage.size("missing.tif")
    with pytest.raises(StorageNotFound, match="missing.tif"):
        storage.read_range("missing.tif", 0, 10)


@pytest.mark.parametrize("key", ["../x", "/abs", "a//b", "a/./b", "", "a/../../etc/passwd"])
def test_invalid_keys_are_rejected(storage, key):
    for operation in (
        lambda: storage.put(key, b"x"),
        lambda: storage.open(key),
        lambda: storage.read_range(key, 0, 1),
        lambda: storage.exists(key),
        lambda: storage.size(key),
        lambda: storage.delete(key),
        lambda: storage.local_path(key),
        lambda: storage.hold(key),
    ):
        with pytest.raises(StorageError, match="invalid storage key"):
            operation()


def test_all_byte_values_round_trip(storage):
    data = bytes(range(256)) * 4
    storage.put("bin/all-bytes", data)
    with storage.open("bin/all-bytes") as f:
        assert f.read() == data
    assert storage.read_range("bin/all-bytes", 250, 12) == data[250:262]


def test_chinese_keys(storage):
    key = "原件/照片一.tif"
    storage.put(key, "方志".encode())
    assert storage.exists(key)
    assert list(storage.list("原件/")) == [key]
    assert list(storage.list("原件/照片")) == [key]
    with storage.open(key) as f:
        assert f.read().decode() == "方志"
    storage.delete(key)
    assert not storage.exists(key)


def test_local_path(storage):
    storage.put("p/file.bin", b"bytes on disk")
    path = storage.local_path("p/file.bin")
    if isinstance(storage, LocalStorage):
        assert path.is_file() and path.read_bytes() == b"bytes on disk"
    else:
        assert path is None


def test_hold(storage):
    """A held file (local disk) has the key's bytes and is current exactly until the key is
    written again (even with the same bytes, even many times over) or deleted, or it is closed."""
    storage.put("h/inventory.json", b"v1")
    held = storage.hold("h/inventory.json")
    if not isinstance(storage, LocalStorage):
        assert held is None
        return
    assert held.data == b"v1" and held.current() and held.current()
    with pytest.raises(StorageNotFound):
        storage.hold("h/missing.json")
    for n in range(20):  # freed inodes are handed out again: never the held one
        storage.put("h/inventory.json", b"v1")
        assert not held.current()
    again = storage.hold("h/inventory.json")
    assert again.current()
    storage.delete("h/inventory.json")
    assert not again.current()
    storage.put("h/other.json", b"x")
    other = storage.hold("h/other.json")
    other.close()
    assert not other.current()


def test_threads_writing_and_reading_at_once(storage):
    """Each read sees one whole value written, and no write is lost."""
    values = [bytes([n]) * 100_000 for n in range(8)]

    def work(n: int) -> bool:
        storage.put(f"t/{n}", values[n])
        for _ in range(5):
            storage.put("t/shared", values[n])
            with storage.open("t/shared") as f:
                assert f.read() in values
        return storage.read_range(f"t/{n}", 99_990, 20) == values[n][:10]

    with ThreadPoolExecutor(8) as pool:
        assert all(pool.map(work, range(8)))
    assert sorted(storage.list("t/")) == sorted([f"t/{n}" for n in range(8)] + ["t/shared"])


def test_large_stream_round_trip_in_constant_memory(storage):
    size = 64 * MiB
    source = GeneratedStream(size, seed=7)
    tracemalloc.start()
    try:
        assert storage.put("big/scan.tif", source) == size
        put_peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.reset_peak()
        held = tracemalloc.get_traced_memory()[0]  # what the storage keeps (MemoryStorage: the bytes)
        digest = hashlib.sha256()
        with storage.open("big/scan.tif") as f:
            while chunk := f.read(CHUNK):
                digest.update(chunk)
        read_peak = tracemalloc.get_traced_memory()[1] - held
    finally:
        tracemalloc.stop()
    assert digest.hexdigest() == source.sha256.hexdigest()
    assert storage.size("big/scan.tif") == size
    if not isinstance(storage, MemoryStorage):  # which keeps what it stores in memory
        assert put_peak < 32 * MiB, f"put held {put_peak / MiB:.1f} MiB for a {size // MiB} MiB stream"
    assert read_peak < 32 * MiB, f"reading held {read_peak / MiB:.1f} MiB for a {size // MiB} MiB stream"


def test_failed_put_keeps_previous_content(storage):
    storage.put("keep/scan.tif", b"the good copy")
    with pytest.raises(StorageError, match="cannot write keep/scan.tif: the scanner disconnected"):
        storage.put("keep/scan.tif", GeneratedStream(32 * MiB, fail_at=12 * MiB))
    with storage.open("keep/scan.tif") as f:
        assert f.read() == b"the good copy"
    assert list(storage.list()) == ["keep/scan.tif"]
    if isinstance(storage, LocalStorage):
        assert list((storage.root / TMP_DIR).iterdir()) == []  # no temp file left behind
    elif isinstance(storage, S3Storage):  # the multipart upload was aborted
        uploads = storage.client.list_multipart_uploads(Bucket=storage.bucket)
        assert uploads.get("Uploads", []) == []


@pytest.mark.s3
def test_s3_wrong_credentials_are_refused(s3_server, s3_storage):
    bucket = s3_storage.bucket
    for access_key, secret_key in [(s3_server.access_key, "not-the-secret"), ("NOSUCHKEY", "nope")]:
        intruder = S3Storage(bucket, endpoint_url=s3_server.endpoint, access_key=access_key, secret_key=secret_key)
        with pytest.raises(StorageError, match=f"S3 refused the credentials for bucket {bucket} while writing a/b.tif"):
            intruder.put("a/b.tif", b"forged")
        with pytest.raises(StorageError, match=f"bucket {bucket} while reading a/b.tif"):
            intruder.open("a/b.tif")
        with pytest.raises(StorageError, match=f"bucket {bucket} while listing"):
            list(intruder.list())
    assert not s3_storage.exists("a/b.tif")


@pytest.mark.s3
def test_s3_missing_bucket_is_a_clear_error(s3_server):
    bucket = f"missing-{uuid.uuid4().hex[:12]}"
    lost = S3Storage(bucket, endpoint_url=s3_server.endpoint, access_key=s3_server.access_key,
                     secret_key=s3_server.secret_key)
    with pytest.raises(StorageError, match=f"S3 bucket {bucket} does not exist \\(while writing a/b.tif\\)"):
        lost.put("a/b.tif", b"x")
    with pytest.raises(StorageError, match=f"S3 bucket {bucket} does not exist \\(while reading a/b.tif\\)"):
        lost.open("a/b.tif")
    with pytest.raises(StorageError, match=f"S3 bucket {bucket} does not exist"):
        list(lost.list())


@pytest.mark.s3
def test_s3_prefix_is_hidden_from_keys(s3_server, s3_storage):
    prefixed = S3Storage(s3_storage.bucket, endpoint_url=s3_server.endpoint, access_key=s3_server.access_key,
                         secret_key=s3_server.secret_key, prefix="fangzhi/")
    prefixed.put("a/b.tif", b"x")
    assert list(prefixed.list()) == ["a/b.tif"]
    assert list(s3_storage.list()) == ["fangzhi/a/b.tif"]
    assert prefixed.exists("a/b.tif") and not s3_storage.exists("a/b.tif")
