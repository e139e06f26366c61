"""Ingest throughput, measured against baselines in the same run.

    python bench/ingest.py [--scans 200] [--megapixels 24] [--ocr-scans 20] [--workers 2]
                           [--archive-sizes 1000,20000] [--audio-minutes 10]

1. Scans: generates N JPEG scans of the given size (pyvips), then times (a) the bare pyvips
   pyramid build of the same files (the baseline: `tiffsave` tiled 256 JPEG pyramid, one process
   per core) and (b) `fangzhi ingest` of them end to end as photos (check, store, pyramid,
   thumbnail, EXIF, commit), and (c) a subset as manuscript pages with OCR. Prints pages/hour/core
   and the ratio to the baseline, and the peak RSS of a worker process.
2. Scaling: ingests the same small batch into an archive already holding 1k and then 20k items
   and prints both rates and their ratio (goal: within 10 %).
3. Audio: access copies + waveform of a generated recording, as a multiple of real time.
"""
from __future__ import annotations

import argparse
import multiprocessing
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def make_scans(folder: Path, count: int, megapixels: float) -> list[Path]:
    import pyvips

    folder.mkdir(parents=True, exist_ok=True)
    width = int((megapixels * 1e6 * 4 / 3) ** 0.5)
    height = int(width * 3 / 4)
    base = (pyvips.Image.gaussnoise(width, height, mean=180, sigma=30).cast("uchar")
            .bandjoin([pyvips.Image.gaussnoise(width, height, mean=160, sigma=25).cast("uchar")] * 2))
    paths = []
    for n in range(count):  # each scan differs (a marked block), or ingest would see duplicates
        path = folder / f"scan-{n:04d}.jpg"
        mark = (pyvips.Image.black(16, 16) + (n % 250)).cast("uchar").bandjoin([n // 250 % 256, 7])
        base.insert(mark, 16 * (n % 64), 16 * (n // 64 % 64)).jpegsave(str(path), Q=85)
        paths.append(path)
    return paths


def bare_pyramid(args: tuple[str, str]) -> None:
    import pyvips

    source, target = args
    pyvips.Image.new_from_file(source, access="sequential").tiffsave(
        target, tile=True, tile_width=256, tile_height=256, pyramid=True, compression="jpeg", Q=85)


def baseline(paths: list[Path], out: Path, workers: int) -> float:
    out.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    # spawned, like the ingest workers: forking after libvips started its threads can deadlock
    with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn")) as pool:
        list(pool.map(bare_pyramid, [(str(p), str(out / f"{p.stem}.tif")) for p in paths]))
    return time.perf_counter() - start


def fangzhi(data: Path, *args) -> float:
    env = {**os.environ, "FANGZHI_DATA_DIR": str(data)}
    start = time.perf_counter()
    out = subprocess.run([sys.executable, "-m", "web.cli", *map(str, args)], cwd=ROOT, env=env,
                         capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if out.returncode != 0:
        sys.exit(f"fangzhi {' '.join(map(str, args))} failed:\n{out.stdout}\n{out.stderr}")
    return elapsed


def peak_child_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024


def per_hour_per_core(pages: int, seconds: float, workers: int) -> float:
    return pages / seconds * 3600 / workers


def scans_section(tmp: Path, args) -> None:
    paths = make_scans(tmp / "scans", args.scans, args.megapixels)
    print(f"{len(paths)} scans of {args.megapixels} MP, {args.workers} workers")
    base = baseline(paths, tmp / "bare", args.workers)
    base_rate = per_hour_per_core(len(paths), base, args.workers)
    print(f"bare pyvips pyramid     {base_rate:9.0f} pages/hour/core   1.00x")
    t = fangzhi(tmp / "data-photo", "ingest", tmp / "scans", "--workers", args.workers)
    rate = per_hour_per_core(len(paths), t, args.workers)
    print(f"ingest without OCR      {rate:9.0f} pages/hour/core   {rate / base_rate:.2f}x bare pyramid "
          f"(goal >= 2000 pages/hour/core)")
    print(f"peak worker RSS so far  {peak_child_rss_mb():9.0f} MB (goal <= 1024 without OCR)")
    ocr_folder = tmp / "ocr-source" / "manuscript"
    ocr_folder.mkdir(parents=True)
    for p in paths[: args.ocr_scans]:
        shutil.copy(p, ocr_folder / p.name)
    (ocr_folder.parent / "other").mkdir()  # a second folder item so both workers have work
    for p in paths[args.ocr_scans: 2 * args.ocr_scans]:
        shutil.copy(p, ocr_folder.parent / "other" / p.name)
    pages = len(list(ocr_folder.parent.glob("*/*.jpg")))
    t = fangzhi(tmp / "data-ocr", "ingest", ocr_folder.parent, "--workers", args.workers)
    rate = per_hour_per_core(pages, t, args.workers)
    print(f"ingest with OCR         {rate:9.0f} pages/hour/core   {rate / base_rate:.2f}x bare pyramid")
    print(f"peak worker RSS         {peak_child_rss_mb():9.0f} MB (goal <= 1536 with OCR)")


def fill(data: Path, count: int) -> None:
    """Add metadata-only items until the archive holds ``count`` items."""
    from repository.access import SYSTEM
    from fangzhi.bootstrap import build
    from fangzhi.settings import load

    archive = build(load({"DATA_DIR": str(data)}, environ={})).archive
    have = archive.list_items(user=SYSTEM, limit=1)[1]
    for n in range(have, count):
        archive.create_item({"kind": "object", "title": {"zh": f"填充藏品 {n}"}}, user=SYSTEM)


def scaling_section(tmp: Path, args) -> None:
    sizes = [int(s) for s in args.archive_sizes.split(",")]
    batch = make_scans(tmp / "batch-src", len(sizes) * args.batch, 1)
    data = tmp / "data-scale"
    rates = []
    for i, size in enumerate(sizes):
        fill(data, size)
        folder = tmp / f"batch-{size}"
        folder.mkdir()
        for p in batch[i * args.batch: (i + 1) * args.batch]:
            shutil.copy(p, folder / p.name)
        t = fangzhi(data, "ingest", folder, "--workers", args.workers)
        rates.append(args.batch / t)
        print(f"ingest {args.batch} items into an archive of {size:>6} items: {rates[-1]:6.2f} items/s")
    print(f"rate at {sizes[-1]} / rate at {sizes[0]}: {rates[-1] / rates[0]:.2f}x (goal >= 0.90)")


def audio_section(tmp: Path, args) -> None:
    from ingest.steps import av

    source = tmp / "interview.wav"
    seconds = args.audio_minutes * 60
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", f"anoisesrc=d={seconds}:a=0.1",
                    "-ac", "1", "-ar", "44100", str(source)], check=True)
    start = time.perf_counter()
    av.audio(source, "audio/wav", tmp / "audio-work")
    elapsed = time.perf_counter() - start
    print(f"audio access copies     {seconds / elapsed:9.1f}x real time ({args.audio_minutes} min recording; "
          "goal >= 60x)")


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scans", type=int, default=200)
    parser.add_argument("--megapixels", type=float, default=24)
    parser.add_argument("--ocr-scans", type=int, default=10, help="pages per OCR item (two items)")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--archive-sizes", default="1000,20000")
    parser.add_argument("--batch", type=int, default=20, help="items per batch in the scaling test")
    parser.add_argument("--audio-minutes", type=float, default=10)
    parser.add_argument("--skip", default="", help="comma-separated sections to skip: scans,scaling,audio")
    args = parser.parse_args(argv)
    skip = set(args.skip.split(","))
    with tempfile.TemporaryDirectory(prefix="fangzhi-bench-ingest-") as tmp:
        tmp = Path(tmp)
        if "scans" not in skip:
            scans_section(tmp, args)
        if "audio" not in skip:
            audio_section(tmp, args)
        if "scaling" not in skip:
            scaling_section(tmp, args)


if __name__ == "__main__":
    main()
