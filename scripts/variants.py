"""Write search/dictionary/variants.txt: variant characters that OpenCC's t2s leaves as they are,
from the variant tables OpenCC ships in its wheel (HKVariants, TWVariants, JPShinjitaiCharacters).

    python scripts/variants.py

A pair (a, b) of those tables gives the fold a → fold(b) only when it is safe for ordinary text:
``a`` is unchanged by ``search.analysis.fold``, ``a`` is not a GB 2312 character (so no character
of ordinary simplified text is touched: 弁, 予, 欠, 芸, 台 stay as they are), and fold(b) is one
(the folded form is a standard character). The old-print variants of ``search.analysis`` and the
名用字 below are added by hand. tests/search/test_analysis.py checks the file against this rule.
"""
from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

TABLES = ("HKVariants", "TWVariants", "JPShinjitaiCharacters")
# 锺 is the name form of 鍾 (通用规范汉字表, 2013), which t2s makes 钟: 钱锺书 is 钱钟书.
BY_HAND = {"锺": "钟"}


def gb2312(ch: str) -> bool:
    try:
        ch.encode("gb2312")
        return True
    except UnicodeEncodeError:
        return False


def opencc_table(name: str) -> list[tuple[str, list[str]]]:
    """An OpenCC dictionary of the installed wheel as (key, values) rows (by its opencc_dict tool)."""
    import opencc
    clib = Path(opencc.__file__).parent / "clib"
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / f"{name}.txt"
        subprocess.run([clib / "bin" / "opencc_dict", "-i", clib / "share" / "opencc" / f"{name}.ocd2", "-o", out,
                        "-f", "ocd2", "-t", "text"], check=True, env={**os.environ, "LD_LIBRARY_PATH": str(clib / "lib64")})
        rows = [line.split("\t") for line in out.read_text(encoding="utf-8").splitlines() if "\t" in line]
    return [(k, v.split(" ")) for k, v in rows]


def variants(fold) -> dict[str, tuple[str, str]]:
    """variant → (folded form, source table)."""
    out: dict[str, tuple[str, str]] = {}
    for table in TABLES:
        for key, values in opencc_table(table):
            for value in values:
                if len(key) != 1 or len(value) != 1:
                    continue
                for a, b in ((value, key), (key, value)):
                    target = fold(b)
                    if a != target and fold(a) == a and not gb2312(a) and gb2312(target):
                        out.setdefault(a, (target, table))
    for a, b in BY_HAND.items():
        out.setdefault(a, (b, "by hand"))
    return out


def main() -> None:
    from search import analysis
    # The rule reads fold() without this file's table (a folded variant would look unchanged).
    path = analysis.VARIANTS_PATH
    found = variants(analysis.fold_without_table)
    lines = ["# variant<TAB>folded<TAB>source: written by scripts/variants.py (OpenCC's own variant tables)"]
    lines += [f"{a}\t{b}\t{source}" for a, (b, source) in sorted(found.items())]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"{len(found)} variants → {path}")


if __name__ == "__main__":
    main()
