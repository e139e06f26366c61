"""OCR accuracy and speed: the former engine (PP-OCRv4 mobile) and the current one (PP-OCRv6
small) on the same generated pages, in one run.

    python bench/ocr.py [--scans 48] [--workers 2] [--no-ingest]

1. Accuracy: renders pages of known text with Noto Serif CJK: vertical columns read right to
   left and horizontal rows, in simplified (简) and traditional (繁) characters, clean and aged
   (yellowed, blurred, speckled, slightly skewed, saved as JPEG q45): 16 pages, over 2,000
   characters. Each engine reads every page through Fangzhi's own OCR (ingest/steps/ocr.py:
   columns, reading order, 180° retry); the character error rate (CER, ``character_error_rate``:
   edit distance over the reference length, as dinglehopper counts it) is printed per category,
   with seconds per page and the ratio new/old. Goals: CER ≤ 0.03 on traditional pages, clean
   and aged; ≤ 0.01 on simplified; no slower per page.
2. Throughput: the same pages as 24 MP JPEG scans, ingested end to end as manuscripts with OCR
   (`fangzhi ingest --workers N`) once per engine: pages/hour/core and the peak RSS of the
   ingest processes. Goals: ≥ 2,000 pages/hour/core, peak worker RSS ≤ 1.5 GB. The figure
   includes each run's start-up (the command, and per worker: imports, ~1 s of it RapidOCR's
   own configuration, and the models loaded once): ~4 CPU-seconds per run, amortised over the
   batch as in real batches of hundreds of pages; the bench prints what it came to per page.

The former engine is in the wheel ``rapidocr-onnxruntime`` (the test extra); without it only the
current engine is measured, and the bench says so.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from ingest.steps import ocr as ocr_step  # noqa: E402
from ingest.steps.ocr import DETECT_SIZE, character_error_rate, recognize  # noqa: E402
from ingest.steps.ocr_engine import load_engine, threads_per_worker  # noqa: E402

SERIF = "/usr/share/fonts/opentype/noto/NotoSerifCJK-Regular.ttc"
FACE = {"简": 2, "繁": 3}  # the .ttc's Noto Serif CJK SC and TC faces
ENGINES = {"old": "pp-ocrv4", "new": "pp-ocrv6"}

# Written for this bench, in the manner of a county gazetteer (columns, no punctuation) and of a
# modern library note (rows, punctuated). Traditional pages are the same texts through OpenCC.
COLUMNS = [
    "锡山在县城西惠山之东麓山虽不高而林木葱郁泉出石罅甘冽异常世称天下第二泉者是也运河绕城而过"
    "舟楫往来昼夜不绝县志旧有三册明万历间邑人所修后经兵燹散佚过半清康熙时知县重加纂辑增补人物"
    "艺文二卷书成刊于县学藏版于尊经阁道光以后屡有增修光绪七年复刊是为今本卷首钤有县学藏书之印",
    "惠山寺旧名华山精舍南朝刘宋时司徒右长史湛挺舍宅为寺唐宋以来屡废屡兴寺前有听松石床相传为"
    "李阳冰篆书寺后泉上有亭曰漪澜堂乾隆帝南巡六次皆驻跸于此题诗勒石今存御碑亭中祠堂百余座环"
    "寺而建多为明清两代望族所立岁时祭祀香火不绝民国初年设图书馆于寺东厢收藏乡贤著述与地方文献",
]
ROWS = [
    "无锡县图书馆创办于民国三年，初设于惠山寺东厢，藏书不过三千册。抗战期间馆舍被毁，"
    "馆员携善本避居乡间，得以保全。一九五零年迁入城中新馆，陆续接收私家藏书，其中有钤印"
    "累累的明刻本方志十余种。近年开展古籍普查与数字化工作，已完成地方文献两万余册的扫描与著录。",
    "口述历史项目自二零一五年启动，记录老工人、船民和手艺人的亲身经历。每段访谈均附有文字"
    "稿与时间码，并经受访者本人审阅同意后才对外开放。涉及个人隐私的段落依照协议延期公开，"
    "研究者可凭介绍信到馆申请阅览。照片和信札等实物由家属捐赠，登记后编入特藏目录。",
]


def traditional(text: str) -> str:
    import opencc

    return opencc.OpenCC("s2t").convert(text)


def font(script: str, size: int):
    from PIL import ImageFont

    if not Path(SERIF).exists():
        sys.exit(f"the CJK font {SERIF} is missing (Debian package fonts-noto-cjk)")
    return ImageFont.truetype(SERIF, size, index=FACE[script])


def vertical_page(text: str, script: str):
    """Columns top to bottom, right to left, between red rules (like a gazetteer's block print)."""
    from PIL import Image, ImageDraw

    w, h, size, pitch, step, margin = 1500, 2100, 52, 84, 62, 90
    img = Image.new("RGB", (w, h), (246, 240, 226))
    draw, f = ImageDraw.Draw(img), font(script, size)
    per_column = (h - 2 * margin - 40) // step
    draw.rectangle([margin - 30, margin - 30, w - margin + 30, h - margin + 30], outline=(150, 40, 30), width=5)
    columns = [text[i:i + per_column] for i in range(0, len(text), per_column)]
    for c, column in enumerate(columns):
        right = w - margin - c * pitch
        draw.line([(right - pitch + 2, margin - 30), (right - pitch + 2, h - margin + 30)], fill=(170, 70, 50), width=2)
        for r, char in enumerate(column):
            draw.text((right - (pitch + size) // 2, margin + r * step), char, font=f, fill=(28, 24, 20))
    return img


def horizontal_page(text: str, script: str):
    """Rows left to right, top to bottom."""
    from PIL import Image, ImageDraw

    w, h, size, step, margin = 1500, 2100, 44, 76, 110
    img = Image.new("RGB", (w, h), (250, 248, 242))
    draw, f = ImageDraw.Draw(img), font(script, size)
    per_row = (w - 2 * margin) // (size + 2)
    for r, i in enumerate(range(0, len(text), per_row)):
        draw.text((margin, margin + r * step), text[i:i + per_row], font=f, fill=(20, 20, 20))
    return img


def aged(img, seed: int):
    """Yellowed, blurred, speckled and turned 1.2°, as an old page scanned slightly askew."""
    import numpy as np
    from PIL import Image, ImageFilter

    rng = np.random.default_rng(seed)
    a = np.asarray(img, dtype=np.float32) * np.array([0.94, 0.86, 0.68], dtype=np.float32)
    h, w = a.shape[:2]
    a *= (0.9 + 0.1 * np.linspace(0, 1, w, dtype=np.float32))[None, :, None]  # uneven fading
    a += rng.normal(0, 6, a.shape[:2])[..., None]
    spots = rng.random(a.shape[:2]) < 0.002  # speckles: foxing and dust
    a[spots] *= 0.35
    out = Image.fromarray(np.clip(a, 0, 255).astype(np.uint8)).filter(ImageFilter.GaussianBlur(1.1))
    return out.rotate(1.2, resample=Image.BICUBIC, expand=True, fillcolor=(214, 196, 160))


def make_pages(folder: Path) -> list[dict]:
    """The page set: every text as 简 and 繁, clean and aged; each page {path, category, text}."""
    folder.mkdir(parents=True, exist_ok=True)
    pages = []
    for layout, texts, draw in (("vertical", COLUMNS, vertical_page), ("horizontal", ROWS, horizontal_page)):
        for n, simplified in enumerate(texts):
            for script, text in (("简", simplified), ("繁", traditional(simplified))):
                clean = draw(text, script)
                for condition, img in (("clean", clean), ("aged", aged(clean, seed=n))):
                    path = folder / f"{layout}-{n}-{'s' if script == '简' else 't'}-{condition}.jpg"
                    img.save(path, quality=45 if condition == "aged" else 92)
                    pages.append({"path": path, "category": (script, layout, condition), "text": text})
    return pages


class AsBefore:
    """The former engine as Fangzhi ran it before PP-OCRv6: lines detected on a 1600 px copy, one
    onnxruntime call per line, onnxruntime's threads on every core."""

    detect_size = 1600

    def __init__(self, engine):
        self.engine, self.name = engine, f"{engine.name} (before)"

    def detect(self, image):
        return self.engine.detect(image)

    def recognise(self, lines):
        return [reading for line in lines for reading in self.engine.recognise([line])]


def accuracy_section(pages: list[dict], engines: dict) -> None:
    chars = sum(len(p["text"]) for p in pages)
    print(f"{len(pages)} pages, {chars} characters; {threads_per_worker(1)} onnxruntime threads")
    results = {}
    for label, engine in engines.items():
        ocr_step.DETECT_SIZE = getattr(engine, "detect_size", DETECT_SIZE)
        recognize(pages[0]["path"], using=engine)  # first run: onnxruntime's warm-up, not counted
        per_page, seconds, cpu = [], 0.0, 0.0
        for page in pages:
            start, start_cpu = time.perf_counter(), time.process_time()
            got = recognize(page["path"], using=engine)["text"]
            seconds, cpu = seconds + time.perf_counter() - start, cpu + time.process_time() - start_cpu
            per_page.append(character_error_rate(page["text"], got))
        results[label] = (per_page, seconds / len(pages), cpu / len(pages))
    ocr_step.DETECT_SIZE = DETECT_SIZE
    categories = sorted({p["category"] for p in pages}, key=lambda c: (c[0] != "繁", c[1], c[2] != "clean"))
    header = "".join(f"{engines[label].name:>26}" for label in engines)
    print(f"{'CER by category':28}{header}")
    for category in categories + [("繁", "all", ""), ("简", "all", "")]:
        chosen = [i for i, p in enumerate(pages) if p["category"] == category
                  or (category[1] == "all" and p["category"][0] == category[0])]
        ref = sum(len(pages[i]["text"]) for i in chosen)
        cells = ""
        for label in engines:  # character-weighted over the pages of the category
            cer = sum(results[label][0][i] * len(pages[i]["text"]) for i in chosen) / ref
            cells += f"{cer:26.4f}"
        goal = "goal <= 0.03" if category[0] == "繁" else "goal <= 0.01"
        print(f"{' '.join(c for c in category if c):28}{cells}   {goal if category[1] == 'all' else ''}")
    for n, what in ((1, "seconds per page"), (2, "CPU seconds per page")):
        line = f"{what:28}" + "".join(f"{results[label][n]:26.2f}" for label in engines)
        if "old" in results and "new" in results:
            line += f"   new/old {results['new'][n] / results['old'][n]:.2f}x (goal <= 1.00)"
        print(line)


def make_scans(pages: list[dict], folder: Path, count: int, megapixels: float) -> list[Path]:
    """``count`` scans of ``megapixels`` from the page images, in two folders (two manuscript
    items, so that two workers both have work)."""
    import pyvips

    out = []
    for n in range(count):
        page = pages[n % len(pages)]
        image = pyvips.Image.new_from_file(str(page["path"]))
        scale = (megapixels * 1e6 / (image.width * image.height)) ** 0.5
        target = folder / f"item-{n % 2}" / f"p{n:03d}.jpg"
        target.parent.mkdir(parents=True, exist_ok=True)
        image.resize(scale, kernel="linear").jpegsave(str(target), Q=85)
        out.append(target)
    return out


def ingest(source: Path, data: Path, engine: str, workers: int) -> tuple[float, float, float]:
    """Seconds, CPU seconds and the peak RSS (MB) of `fangzhi ingest` and its workers."""
    env = {**os.environ, "FANGZHI_DATA_DIR": str(data), "FANGZHI_OCR_ENGINE": engine}
    command = [sys.executable, "-m", "web.cli", "ingest", str(source), "--workers", str(workers)]
    # Started from a small launcher: Linux keeps a process's peak RSS across fork and exec, so
    # started from this process (both engines loaded, ~1.2 GB) it would report this one's.
    proc = subprocess.run([sys.executable, "-c", LAUNCHER, *command], cwd=ROOT, env=env, capture_output=True,
                          text=True, check=False)
    if proc.returncode != 0:  # a failed or pending item makes `fangzhi ingest` exit non-zero
        sys.exit(f"fangzhi ingest with {engine} failed:\n{proc.stdout}{proc.stderr}")
    elapsed, cpu, rss = json.loads(proc.stdout.splitlines()[-1])
    return elapsed, cpu, rss


LAUNCHER = """
import json, os, subprocess, sys, time
start = time.perf_counter()
proc = subprocess.Popen(sys.argv[1:], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
output = proc.stdout.read()
_, status, usage = os.wait4(proc.pid, 0)  # maxrss: the largest of the process and its waited workers
if status:
    sys.exit(output)
print(json.dumps([time.perf_counter() - start, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024]))
"""


def start_up_cpu(engine: str, workers: int) -> float:
    """CPU seconds an ingest run spends before its first page: the command's imports, and per
    worker its imports and the engine's models (each a fresh process, as the pool spawns)."""
    def cpu_of(code: str) -> float:
        proc = subprocess.Popen([sys.executable, "-c", code], cwd=ROOT, env={**os.environ, "FANGZHI_OCR_ENGINE": engine})
        _, _, usage = os.wait4(proc.pid, 0)
        return usage.ru_utime + usage.ru_stime

    worker = cpu_of("import fangzhi.bootstrap, ingest.runner; from ingest.steps import ocr, image; ocr.engine()")
    return cpu_of("import web.cli") + workers * worker


def throughput_section(tmp: Path, pages: list[dict], engines: dict, args) -> None:
    scans = make_scans(pages, tmp / "scans", args.scans, args.megapixels)
    print(f"\n{len(scans)} scans of {args.megapixels} MP ingested as manuscripts with OCR, {args.workers} workers")
    rates = {}
    for label, engine in engines.items():
        spec = ENGINES[label]
        seconds, cpu, rss = ingest(tmp / "scans", tmp / f"data-{label}", spec, args.workers)
        rates[label] = (len(scans) / seconds * 3600 / args.workers, len(scans) / cpu * 3600)
        start_up = start_up_cpu(spec, args.workers)
        print(f"{engine.name:20} {rates[label][0]:8.0f} pages/hour/core ({rates[label][1]:.0f} per CPU-hour)   "
              f"peak RSS {rss:6.0f} MB (goals >= 2000 pages/hour/core, <= 1536 MB)\n{'':20} "
              f"{cpu / len(scans):.2f} CPU-s per page, of which start-up {start_up / len(scans):.2f} "
              f"({start_up:.1f} CPU-s per run, amortised over the {len(scans)} pages as a real batch amortises it)")
    if len(rates) == 2:
        print(f"{'new/old':20} {rates['new'][0] / rates['old'][0]:8.2f}x ({rates['new'][1] / rates['old'][1]:.2f}x "
              "per CPU-hour)")
    # On a machine shared with other work the wall-clock rate understates: per CPU-hour counts
    # only the time the ingest processes ran.


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scans", type=int, default=48, help="24 MP scans ingested per engine")
    parser.add_argument("--megapixels", type=float, default=24)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--no-ingest", action="store_true", help="accuracy only")
    args = parser.parse_args()

    engines = {}
    for label, spec in ENGINES.items():
        try:
            engines[label] = load_engine(spec, threads=threads_per_worker(1))
        except Exception as exc:  # the former engine's wheel is absent
            print(f"{spec}: not measured ({exc}); `pip install rapidocr-onnxruntime==1.4.4` (the test extra) adds it")
    with tempfile.TemporaryDirectory(prefix="fangzhi-bench-ocr-") as tmp:
        pages = make_pages(Path(tmp) / "pages")
        accuracy_section(pages, {**({"old": AsBefore(engines["old"])} if "old" in engines else {}),
                                 "new": engines["new"]})
        if not args.no_ingest:
            throughput_section(Path(tmp), pages, engines, args)
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
