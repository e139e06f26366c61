"""Small generated donations for ingest tests: every media kind, made here, nothing downloaded."""
from __future__ import annotations

import io
from pathlib import Path

from PIL import Image

from web import demo
from web.demo import manuscript_page, photo


def jpeg(path: Path, *, seed: int = 1, size=(640, 480), exif_date: str | None = "1936:05:04 10:00:00") -> Path:
    data = photo(f"照片 {seed}", seed, size)
    img = Image.open(io.BytesIO(data))
    exif = Image.Exif()
    if exif_date:
        exif[0x0110] = "Fangzhi Camera"  # Model
        exif.get_ifd(0x8769)[0x9003] = exif_date  # DateTimeOriginal
    img.save(path, "JPEG", exif=exif.tobytes())
    return path


def pages(folder: Path, texts: list[str]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for n, text in enumerate(texts, 1):
        (folder / f"{n}.png").write_bytes(manuscript_page(text, n, size=(600, 900)))
    return folder


def wav(path: Path, seconds: float = 2.0) -> Path:
    return demo.wav(path, seconds)


def mp4(path: Path, seconds: float = 2.0, size: str = "640x360") -> Path:
    return demo.mp4(path, seconds, size)


def epub(path: Path, title: str = "锡山杂记") -> Path:
    return demo.epub(path, title, [("第一章", "惠山泉水甘冽，世称天下第二泉。"), ("第二章", "运河绕城，米市布码头兴盛。")], "秦毓钧")


def pdf(path: Path, texts: list[str]) -> Path:
    from reportlab.lib.pagesizes import A5
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.pdfgen import canvas

    pdfmetrics.registerFont(UnicodeCIDFont("STSong-Light"))
    c = canvas.Canvas(str(path), pagesize=A5)
    for text in texts:
        c.setFont("STSong-Light", 16)
        c.drawString(40, 500, text)
        c.showPage()
    c.save()
    return path


def donation(root: Path) -> Path:
    """A donation folder with one of each kind: photos, a manuscript folder, audio, video, e-book, PDF."""
    root.mkdir(parents=True, exist_ok=True)
    jpeg(root / "惠山 旧影.jpg", seed=1)
    jpeg(root / "清名桥.jpg", seed=2, exif_date=None)
    pages(root / "锡山乡土志", ["锡山在县城西惠山之东麓", "泉出石罅甘冽异常"])
    wav(root / "采访_张.wav")
    mp4(root / "庙会.mp4")
    epub(root / "锡山杂记.epub")
    pdf(root / "县志选段.pdf", ["无锡县志 卷一 舆地", "无锡县志 卷二 水利"])
    return root



def sha256(path: Path) -> str:
    import hashlib

    return hashlib.sha256(path.read_bytes()).hexdigest()
