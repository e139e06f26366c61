"""Storage throughput: LocalStorage and S3Storage against plain file I/O, measured in one run.

    python bench/storage.py [--mb 256]

Writes N MiB of random data to a temp dir, then times (best of a few runs) a plain
``shutil.copyfile`` and a plain chunked file read as the baselines, LocalStorage put/read, and
S3Storage put/read against a SeaweedFS started for the run (tests/servers.py). Each line gives
MB/s (10^6 bytes per second) and the ratio to the baseline. LocalStorage fsyncs every put and the
plain copy does not, so the local write ratio includes the price of durability.
"""
from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the repo root

from storage.base import CHUNK, Storage  # noqa: E402
from storage.fixity import audit  # noqa: E402
from storage.local import LocalStorage  # noqa: E402
from storage.ocfl import OcflRoot  # noqa: E402
from storage.s3 import S3Storage  # noqa: E402
from tests.servers import start_seaweedfs  # noqa: E402

REPEAT = 3
KEY = "bench/data.bin"


def measure_throughput(run: Callable[[], object], nbytes: int, *, repeat: int = REPEAT) -> float:
    """Call ``run()`` ``repeat`` times; return the best rate in MB/s for ``nbytes`` per call."""
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        run()
        best = min(best, time.perf_counter() - start)
    return nbytes / best / 1e6


def report(label: str, rate: float, baseline: float, baseline_name: str) -> None:
    print(f"{label:<13}{rate:8.1f} MB/s  {rate / baseline:5.2f}x {baseline_name}", flush=True)


def drain(stream) -> None:
    """Read ``stream`` to the end in CHUNK pieces, then close it."""
    with stream as f:
        while f.read(CHUNK):
            pass


def write_random(path: Path, nbytes: int) -> None:
    with open(path, "wb") as out:
        for offset in range(0, nbytes, CHUNK):
            out.write(os.urandom(min(CHUNK, nbytes - offset)))


def bench_storage(name: str, storage: Storage, source: Path, nbytes: int, baselines: dict[str, float]) -> None:
    """Time put (from an open file) and a streamed read of ``source`` through ``storage``."""

    def put() -> None:
        with open(source, "rb") as f:
            storage.put(KEY, f)

    report(f"{name} write", measure_throughput(put, nbytes), baselines["write"], "plain copy")
    report(f"{name} read", measure_throughput(lambda: drain(storage.open(KEY)), nbytes), baselines["read"], "plain read")


def durable_copy(source: Path, target: Path) -> None:
    """A plain copy that, like LocalStorage, reaches the disk before it returns."""
    shutil.copyfile(source, target)
    with open(target, "rb+") as f:
        os.fsync(f.fileno())


def bench_fixity(tmp: Path, source: Path, nbytes: int, files: int = 16) -> None:
    """Fixity audit of an OCFL root vs raw hashlib.sha256 over the same stored files."""
    root = OcflRoot(LocalStorage(tmp / "fixity"))
    root.init()
    part = nbytes // files
    with open(source, "rb") as f:
        root.commit("item:bench", {f"originals/{n:03d}.bin": f.read(part) for n in range(files)},
                    user="bench", message="bench")
    stored = [p for p in (tmp / "fixity").rglob("*.bin")]

    def raw() -> None:
        for path in stored:
            with open(path, "rb") as f:
                hashlib.file_digest(f, "sha256").hexdigest()

    def check() -> None:
        assert audit(root) == []

    size = part * files
    baseline = measure_throughput(raw, size)
    report("sha256 raw", baseline, baseline, "hashlib.sha256")
    report("fixity audit", measure_throughput(check, size), baseline, "hashlib.sha256 (goal >= 0.8)")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=int, default=256, help="MiB of random data to move (default 256)")
    args = parser.parse_args(argv)
    nbytes = args.mb * 1024 * 1024
    with tempfile.TemporaryDirectory(prefix="fangzhi-bench-") as tmp:
        tmp = Path(tmp)
        source = tmp / "source.bin"
        write_random(source, nbytes)
        print(f"{args.mb} MiB of random data, best of {REPEAT} runs")

        baselines = {
            "write": measure_throughput(lambda: shutil.copyfile(source, tmp / "copy.bin"), nbytes),
            "read": measure_throughput(lambda: drain(open(source, "rb")), nbytes),
        }
        durable = measure_throughput(lambda: durable_copy(source, tmp / "copy.bin"), nbytes)
        report("plain write", baselines["write"], baselines["write"], "plain copy")
        report("plain read", baselines["read"], baselines["read"], "plain read")
        report("fsync write", durable, baselines["write"], "plain copy")

        bench_storage("local", LocalStorage(tmp / "local"), source, nbytes, baselines)
        local = LocalStorage(tmp / "local")

        def local_put() -> None:
            with open(source, "rb") as f:
                local.put(KEY, f)

        report("local write", measure_throughput(local_put, nbytes), durable, "plain copy + fsync")
        bench_fixity(tmp, source, nbytes)

        server = start_seaweedfs(tmp / "seaweedfs")
        try:
            s3 = S3Storage("bench", endpoint_url=server.endpoint, access_key=server.access_key,
                           secret_key=server.secret_key, create_bucket=True)
            bench_storage("s3", s3, source, nbytes, baselines)
        finally:
            server.stop()


if __name__ == "__main__":
    main()
