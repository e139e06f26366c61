"""bench/scale.py end to end on a tiny archive: it ingests, rebuilds, searches in-process and over
HTTP, and prints every figure with its ratio to the first size, and the goals line."""
import re
import subprocess
import sys
from pathlib import Path

from bench.scale import FIGURES

ROOT = Path(__file__).resolve().parents[2]


def test_scale_prints_every_figure_at_every_size():
    out = subprocess.run([sys.executable, "bench/scale.py", "--sizes", "3,5", "--batch", "2", "--queries", "5",
                          "--workers", "1"],
                         cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stdout + out.stderr
    text = out.stdout
    assert "grown to 1 items" in text  # N=3: 1 item, then the newest 2 timed on their own
    for size in (3, 5):
        line = next(line for line in text.splitlines() if line.startswith(f"N={size} "))
        for name in FIGURES:
            value, against = re.search(rf"{re.escape(name)} ([\d.]+) \(([\d.]+)× N=3\)", line).groups()
            assert float(value) > 0, (name, line)
            if size == 3:
                assert against == "1.00", (name, line)
    table = text.split("figure", 1)[1].splitlines()
    assert [row.split("  ")[0] for row in table[1:len(FIGURES) + 1]] == FIGURES
    assert re.search(r"goals at N=5: ingest rate [\d.]+× .* serving RSS \d+ MB", text)
