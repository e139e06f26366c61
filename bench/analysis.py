"""Chinese analysis benchmark: ``search.analysis.tokens`` against the bare segmenter, same run.

    python bench/analysis.py [--sighan DIR] [--rounds 3]

Text: the SIGHAN 2005 bakeoff test files (``msr_test.utf8``, ``pku_test.utf8`` and, when there,
the traditional ``as_test.utf8`` and ``cityu_test.utf8``) from ``--sighan DIR`` or the folder in
``FANGZHI_SIGHAN_DIR``; without them, ~1 MB of text made like bench/search.py's (say so).

Prints MB/s, best of ``--rounds`` (the three taking turns in each round), of: bare
``rjieba.cut_for_search`` on the raw text; Fangzhi's ``tokens()`` (NFKC, OpenCC t2s, variants,
lower case, segmentation with the local dictionary, punctuation dropped); OpenCC t2s alone; plain
``jieba.lcut_for_search`` (one round: it is slow); and the ratios (goals: tokens ≥ 0.9× bare rjieba, ≥ 10× plain jieba). It checks that the tokens
equal ``cut(fold(text))`` less punctuation, and with the gold files (``*_test_gold.utf8``) prints
the word F1 of accurate-mode segmentation of the folded text (SIGHAN scoring: words as spans).
"""
from __future__ import annotations

import argparse
import os
import random
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from search import analysis  # noqa: E402


def best(functions: dict, text: str, rounds: int) -> dict[str, float]:
    """MB/s of each ``function(text)``, the best of ``rounds``, the functions taking turns in each
    round (on a shared machine whose load changes, each is slowed alike: the ratios hold)."""
    size, fastest = len(text.encode()) / 1e6, dict.fromkeys(functions, float("inf"))
    for _ in range(rounds):
        for name, function in functions.items():
            start = time.process_time()
            function(text)
            fastest[name] = min(fastest[name], time.process_time() - start)
    return {name: size / seconds for name, seconds in fastest.items()}


def f1(segment, test: Path, gold: Path) -> float:
    """Word F1 of ``segment(line)`` against the gold segmentation (words compared as spans)."""
    found = wanted = right = 0
    for line, words in zip(test.read_text(encoding="utf-8").splitlines(),
                           gold.read_text(encoding="utf-8").splitlines()):
        folded = analysis.fold(line.strip())
        ours = [w for w in segment(folded) if w.strip()]
        theirs = [analysis.fold(w) for w in words.split()]
        if "".join(ours) != "".join(theirs):  # folding changed a length (rare): score the line as missed
            wanted += len(theirs)
            continue
        spans = [set(), set()]
        for words_, into in ((ours, spans[0]), (theirs, spans[1])):
            pos = 0
            for w in words_:
                into.add((pos, pos + len(w)))
                pos += len(w)
        found, wanted, right = found + len(spans[0]), wanted + len(spans[1]), right + len(spans[0] & spans[1])
    precision, recall = right / found, right / wanted
    return 2 * precision * recall / (precision + recall)


def generated() -> str:
    from bench.search import Words

    words = Words(random.Random(5))
    return "\n".join(words.text(200) for _ in range(1600))


def reference_tokens(text: str) -> list[str]:
    return [t for t in analysis.default_segmenter().cut(analysis.fold(text)) if any(c.isalnum() for c in t)]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sighan", type=Path, default=os.environ.get("FANGZHI_SIGHAN_DIR"))
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    import rjieba

    texts = {}
    if args.sighan:
        for name in ("msr", "pku", "as", "cityu"):
            path = args.sighan / f"{name}_test.utf8"
            if path.exists():
                texts[f"SIGHAN {name.upper()}"] = path.read_text(encoding="utf-8")
        if not texts:
            parser.error(f"{args.sighan}: no SIGHAN *_test.utf8 file there")
    else:
        print("no SIGHAN files (--sighan DIR or FANGZHI_SIGHAN_DIR): generated text instead")
        texts["generated"] = generated()
    import opencc

    converter = opencc.OpenCC("t2s")
    analysis.tokens("预热")
    rjieba.cut_for_search("预热")
    try:
        import jieba

        jieba.setLogLevel(60)
        jieba.initialize()
    except ImportError:
        jieba = None
    for name, text in texts.items():
        if analysis.tokens(text) != reference_tokens(text):
            print(f"{name}: tokens() differ from cut(fold(text)) less punctuation")
            return 1
        speeds = best({"bare": lambda t: rjieba.cut_for_search(t, True), "ours": analysis.tokens,
                       "opencc": converter.convert}, text, args.rounds)
        bare, ours, opencc = speeds["bare"], speeds["ours"], speeds["opencc"]
        line = (f"{name} ({len(text.encode()) / 1e6:.2f} MB): rjieba.cut_for_search {bare:.1f} MB/s, "
                f"tokens() {ours:.1f} MB/s = {ours / bare:.2f}× bare rjieba (goal ≥ 0.9), OpenCC t2s alone "
                f"{opencc:.1f} MB/s")
        if jieba:
            plain = best({"plain": jieba.lcut_for_search}, text, 1)["plain"]
            line += f", plain jieba {plain:.2f} MB/s → tokens() {ours / plain:.1f}× plain jieba (goal ≥ 10)"
        else:
            line += ", plain jieba not installed"
        print(line, flush=True)
    if args.sighan:
        segmenter = analysis.default_segmenter()
        for name in ("pku", "msr"):
            test, gold = args.sighan / f"{name}_test.utf8", args.sighan / f"{name}_test_gold.utf8"
            if test.exists() and gold.exists():
                ours = f1(lambda t: segmenter.cut(t, mode="query"), test, gold)
                line = f"SIGHAN {name.upper()} gold word F1: Fangzhi {ours:.3f}"
                if jieba:
                    line += f", plain jieba {f1(lambda t: jieba.lcut(t), test, gold):.3f}"
                print(line, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
