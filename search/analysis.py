"""Chinese text analysis shared by every search backend, at index time and at query time.

One pipeline (DESIGN.md principle 3), so all backends rank the same tokens:

* ``fold`` — NFKC (full-width ＡＢＣ１２３ → ABC123), traditional → simplified (OpenCC ``t2s``),
  variant characters of old prints (淸 → 清), lower case;
* ``tokens`` / ``analyze`` — jieba segmentation with the local-heritage user dictionary
  (``search/dictionary/local.txt``), whitespace and punctuation dropped;
* ``pinyin`` / ``pinyin_tokens`` — toneless full pinyin and initials for person and place names;
* ``REIGN_ERAS`` / ``era_years`` — Ming, Qing and Republican year names → Gregorian years.

Segmentation runs on rjieba (jieba-rs), which gives exactly the tokens of Python jieba 0.42.1
for the same dictionary (``tests/search/test_analysis.py`` proves it on a local-history corpus)
and is several times faster. rjieba cannot read a dictionary file, so ``load_dictionary`` parses
the jieba ``word [freq] [tag]`` format here and adds each word; the same code path feeds a Python
jieba ``Segmenter(engine="jieba")``, which the tests use as the reference.

The work per character and per token is in C (``search/_analysis.c``, built by ``setup.py`` at
install; there is no Python fallback), on character tables made here at first use, so that
``tokens()`` costs little more than rjieba alone (``bench/analysis.py``).
"""
from __future__ import annotations

import array
import threading
import unicodedata
from pathlib import Path
from typing import Iterable

from repository import calendar

try:
    from search import _analysis
except ImportError as exc:  # the C part is built at install, not imported from the source
    raise ImportError("search/_analysis.c is not built: `make install` builds it (in a worktree sharing "
                      "another's .venv: `.venv/bin/python setup.py build_ext --inplace`)") from exc

__all__ = [
    "DICTIONARY_PATH", "REIGN_ERAS", "Segmenter", "add_words", "analyze", "era_query", "era_years", "fold",
    "load_dictionary", "pinyin", "pinyin_tokens", "tokens",
]

DICTIONARY_PATH = Path(__file__).with_name("dictionary") / "local.txt"

_converter_lock = threading.Lock()
_segmenter_lock = threading.Lock()
_converter = None  # the OpenCC t2s converter, made with the tables of search/_analysis.c
_segmenter: "Segmenter | None" = None


# --- folding -----------------------------------------------------------------------------------

# Variant characters of old prints that OpenCC's t2s leaves as they are (淸名橋 is 清名桥) …
OLD_PRINT = str.maketrans("淸邨塲嶋衞甯凖竝銕", "清村场岛卫宁准并铁")
# … and the variant table (异体字, 旧字形, 人名用字: 敍 → 叙, 槪 → 概, 塡 → 填, 锺 → 钟) that
# scripts/variants.py takes from OpenCC's own variant dictionaries, only where no character of
# ordinary simplified text changes (bench/analysis.py: the SIGHAN F1 does not move).
VARIANTS_PATH = Path(__file__).with_name("dictionary") / "variants.txt"


def _read_variants(path: Path) -> dict[int, int]:
    rows = [line.split("\t") for line in path.read_text(encoding="utf-8").splitlines()
            if line and not line.startswith("#")]
    return {ord(row[0]): ord(row[1]) for row in rows}


VARIANTS: dict[int, int] = {**OLD_PRINT, **_read_variants(VARIANTS_PATH)}

def fold(text: str) -> str:
    """Normalise text for matching: NFKC, traditional → simplified Chinese, lower case.

    >>> fold("無錫縣誌 ＡＢＣ１２３")
    '无锡县志 abc123'
    """
    return _fold_prepared(unicodedata.normalize("NFKC", text))


def fold_without_table(text: str) -> str:
    """``fold`` with the old-print variants only (scripts/variants.py builds the table on it)."""
    return _fold_prepared(unicodedata.normalize("NFKC", text), variants=False)


def _fold_prepared(text: str, *, variants: bool = True) -> str:
    """``fold`` of text whose NFKC is done where it can change a kept token: one pass in C
    (``search/_analysis.c``) lowers A-Z (OpenCC's keys have none) and finds what else is needed:
    OpenCC t2s on the runs of letters and digits with a character it may change (most text is
    simplified already, and OpenCC is the slow part), variants (the table, or with
    ``variants=False`` the old-print ones), lower case beyond A-Z.
    """
    converter = _native()
    text, found, spans = _analysis.prepare(text)
    if spans or found & _analysis.VARIANT:
        # One call for all the spans, a line break between them (OpenCC's keys are letters and
        # digits, and each keeps its length): a call costs as much as converting ~50 characters.
        pairs = zip(spans[::2], spans[1::2])
        converted = converter.convert("\n".join([text[start:end] for start, end in pairs])) if spans else ""
        text, more = _analysis.splice(text, spans, converted, variants)
        found |= more  # OpenCC's output may be beyond the BMP
        if not variants and found & _analysis.VARIANT:
            text = text.translate(OLD_PRINT)
    return text.lower() if found & _analysis.LOWER else text


# Characters OpenCC leaves alone on their own but changes inside its phrases (沈思 → 沉思,
# 反覆 → 反复, 藉口 → 借口, 瞭解 → 了解, 甦醒 → 苏醒): every such character of OpenCC's TSPhrases
# dictionary in a phrase of characters it leaves alone (a phrase with a character OpenCC changes
# alone is converted for that one: 么 of 么麽, 俱 of 傢俱, 彷 of 彷彿 need not count, and 什么
# stays out of OpenCC). tests/search/test_analysis.py reads the dictionary: none is missing.
PHRASE_ONLY = frozenset("哩坏沈甦瞭藉衹覆")


def _native():
    """The native OpenCC t2s converter, with the character tables of ``search/_analysis.c`` set
    (once per process)."""
    global _converter
    if _converter is None:
        with _converter_lock:
            if _converter is None:
                import opencc

                converter = opencc.OpenCC("t2s")
                _analysis.set_tables(*_character_tables(converter))
                _converter = converter
    return _converter


# --- segmentation ------------------------------------------------------------------------------

class Segmenter:
    """A jieba dictionary plus the local user words, on rjieba (default) or Python jieba.

    ``dictionary`` is a jieba-format user dictionary loaded on creation (``None`` for none).
    Words are folded before they are added, so traditional spellings in a word list work.
    """

    def __init__(self, *, engine: str = "rjieba", dictionary: Path | str | None = DICTIONARY_PATH):
        if engine == "rjieba":
            import rjieba
            self._jieba = rjieba.Jieba()
            self._cut = lambda text: self._jieba.cut(text, True)
            self._cut_for_search = lambda text: self._jieba.cut_for_search(text, True)
        elif engine == "jieba":
            import jieba
            jieba.setLogLevel(60)  # silence "Building prefix dict" on stderr
            self._jieba = jieba.Tokenizer()
            self._cut = lambda text: list(self._jieba.cut(text, HMM=True))
            self._cut_for_search = lambda text: list(self._jieba.cut_for_search(text, HMM=True))
        else:
            raise ValueError(f"unknown segmentation engine {engine!r} (expected rjieba or jieba)")
        self.engine = engine
        self._lock = threading.Lock()
        if dictionary is not None:
            self.load_dictionary(dictionary)

    def add_word(self, word: str, freq: int | None = None, tag: str | None = None) -> None:
        """Add one word; without ``freq`` jieba's suggested frequency keeps it whole."""
        word = fold(word).strip()
        if not word:
            return
        with self._lock:
            if freq is None:
                freq = self._jieba.suggest_freq(word) if self.engine == "rjieba" \
                    else self._jieba.suggest_freq(word, False)
            self._jieba.add_word(word, int(freq), tag)

    def load_dictionary(self, path: Path | str) -> int:
        """Add the words of a jieba-format file (``word [freq] [tag]`` a line, ``#`` comments).

        Returns the number of words added; a malformed frequency names the file and line.
        """
        path = Path(path)
        count = 0
        for number, line in enumerate(path.read_text(encoding="utf-8-sig").splitlines(), 1):
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            word, freq, tag = _parse_dictionary_line(line)
            if freq is not None and not freq.isdigit():
                raise ValueError(f"{path}, line {number}: frequency {freq!r} is not a whole number")
            self.add_word(word, int(freq) if freq is not None else None, tag)
            count += 1
        return count

    def cut(self, text: str, *, mode: str = "index") -> list[str]:
        """Raw jieba output (no folding or filtering): search mode for index, accurate for query."""
        if mode == "index":
            return self._cut_for_search(text)
        if mode == "query":
            return self._cut(text)
        raise ValueError(f"unknown analysis mode {mode!r} (expected index or query)")


def _parse_dictionary_line(line: str) -> tuple[str, str | None, str | None]:
    """``word``, ``word freq``, ``word freq tag`` or ``word tag`` (as jieba's load_userdict)."""
    parts = line.split()
    word, rest = parts[0], parts[1:]
    freq = rest.pop(0) if rest and rest[0][:1].isdigit() else None
    tag = rest[0] if rest else None
    return word, freq, tag


def default_segmenter() -> Segmenter:
    """This process's segmenter (one dictionary for every index and query), made on first use."""
    global _segmenter
    if _segmenter is None:
        with _segmenter_lock:
            if _segmenter is None:
                _segmenter = Segmenter()
    return _segmenter


def add_words(words: Iterable[str], *, freq: int | None = None, tag: str | None = None) -> None:
    """Add archivists' words to this process's dictionary (they then stay whole in tokens)."""
    segmenter = default_segmenter()
    for word in words:
        segmenter.add_word(word, freq, tag)


def load_dictionary(path: Path | str) -> int:
    """Add a jieba-format word file (e.g. ``DATA_DIR/dictionary.txt``); returns the word count."""
    return default_segmenter().load_dictionary(path)


def tokens(text: str, *, mode: str = "index") -> list[str]:
    """Folded tokens of ``text``; whitespace and punctuation dropped, Latin words and numbers whole.

    ``mode="index"`` adds in-dictionary sub-words (jieba search mode: 无锡县 → 无锡, 无锡县);
    ``mode="query"`` is jieba's accurate mode.

    The same tokens as ``cut(fold(text))`` less those without a letter or digit, made with little
    work per character or token (``search/_analysis.c``): the text is folded once, NFKC only where
    it can change a kept token (full-width ，。（） stay, being dropped either way), and the tokens
    are filtered in C (``tests/search/test_analysis.py`` compares with that definition on a large
    sample).
    """
    segmenter = default_segmenter()
    segmenter.cut("", mode=mode)  # an unknown mode is refused before any work
    _native()
    cut = segmenter._cut_for_search if mode == "index" else segmenter._cut
    return _analysis.words(cut(_fold_prepared(text)))


# jieba's Han ranges (jieba-rs has these; Python jieba fewer), beyond the BMP all, to be sure.
_HAN_RANGES = [(0x3400, 0x4DBF), (0x4E00, 0x9FFF), (0xF900, 0xFAFF), (0x20000, 0x10FFFF)]
_JIEBA_PUNCT = "+#&._%-"  # kept inside jieba's runs of Han, letters and digits


def _character_tables(converter) -> tuple[bytes, bytes, bytes, int]:
    """The arguments of ``_analysis.set_tables``: a flag byte for each character of the Basic
    Multilingual Plane, the NFKC of the characters flagged SIMPLE, the variant of those flagged
    VARIANT, and the flags of the characters beyond the BMP."""
    nfkc = lambda s: unicodedata.normalize("NFKC", s)  # noqa: E731
    bmp = [chr(cp) for cp in range(0x10000)]
    # Characters OpenCC changes alone (it changes nothing outside the Han ranges: the tests read its
    # dictionaries), and those it changes only inside a phrase.
    han = "".join(chr(cp) for a, b in _HAN_RANGES if b < 0x10000 for cp in range(a, b + 1))
    converted = converter.convert(han)
    assert len(converted) == len(han)
    changing = {a for a, b in zip(han, converted) if a != b} | PHRASE_ONLY
    # Characters that compose with one before them (NFKC_QC=Maybe): second of a canonical pair.
    second = {chr(int(d.split()[1], 16)) for c in bmp if (d := unicodedata.decomposition(c))
              and not d.startswith("<") and len(d.split()) == 2}
    second |= {chr(cp) for cp in [*range(0x1161, 0x1176), *range(0x11A8, 0x11C3)]}  # Hangul V, T

    def in_han(ch):
        return any(a <= ord(ch) <= b for a, b in _HAN_RANGES)

    def dropped(s):  # made of characters every jieba run excludes, none a letter or digit
        return all(not ch.isalnum() and ch not in _JIEBA_PUNCT + "\r\n" and not in_han(ch) for ch in s)

    def sigma(s):  # lower() of Σ looks through case-ignorable characters around it
        return ("Α" + s + "Σ").lower()[-1], ("ΑΣ" + s + "Α").lower()[1]

    def boundary(c):  # a starter that nothing before it composes with
        d = unicodedata.normalize("NFKD", c)
        return unicodedata.combining(c) == 0 and c not in second and unicodedata.combining(d[0]) == 0 \
            and d[0] not in second

    def stays(c):  # NFKC would change it, but not a kept token
        n = nfkc(c)
        return boundary(c) and dropped(c + n) and c.lower() == c and n.lower() == n and sigma(c) == sigma(n)

    flags, simple, variant = bytearray(0x10000), array.array("H", bytes(0x20000)), array.array("H", bytes(0x20000))
    for cp, c in enumerate(bmp):
        if (c in second or unicodedata.combining(c) or nfkc(c) != c) and not stays(c):
            flags[cp] |= _analysis.UNSAFE
            if boundary(c) and len(nfkc(c)) == 1 and ord(nfkc(c)) < 0x10000:
                flags[cp] |= _analysis.SIMPLE
                simple[cp] = ord(nfkc(c))
        if c in changing:
            flags[cp] |= _analysis.OPENCC
        if cp in VARIANTS:
            flags[cp] |= _analysis.VARIANT
            variant[cp] = VARIANTS[cp]
        if "A" <= c <= "Z":
            flags[cp] |= _analysis.UPPER
        elif c.lower() != c:
            flags[cp] |= _analysis.LOWER
        if c.isalnum():
            flags[cp] |= _analysis.ALNUM
    assert all(0x100 <= cp < 0x10000 for pair in VARIANTS.items() for cp in pair)  # kind of text kept
    # Beyond the BMP (rare) every character is normalised with its neighbours and goes to OpenCC.
    return bytes(flags), simple.tobytes(), variant.tobytes(), _analysis.UNSAFE | _analysis.OPENCC


def analyze(text: str, *, mode: str = "index") -> str:
    """The tokens joined by single spaces: the value of a whitespace-tokenized engine field."""
    return " ".join(tokens(text, mode=mode))


# --- pinyin ------------------------------------------------------------------------------------

def pinyin(text: str) -> list[str]:
    """Toneless full pinyin and initials of one name: 无锡 → ["wuxi", "wx"].

    Non-Han letters and digits pass through lower-cased; spaces and punctuation are dropped.
    """
    from pypinyin import Style, lazy_pinyin

    name = "".join(ch for ch in fold(text) if ch.isalnum())
    if not name:
        return []
    full = "".join(lazy_pinyin(name, style=Style.NORMAL))
    initials = "".join(lazy_pinyin(name, style=Style.FIRST_LETTER))
    return list(dict.fromkeys([full, initials]))


def pinyin_tokens(names: Iterable[str]) -> list[str]:
    """The unique pinyin forms of a name and its aliases (字, 号, 笔名), first-seen order."""
    return list(dict.fromkeys(form for name in names for form in pinyin(name)))


# --- reign eras --------------------------------------------------------------------------------

# Title → Gregorian years of 元年 through its last year: every title of repository/calendar.py's
# table (Tang to the Republic), a bare title meaning its latest dynasty's reign.
REIGN_ERAS: dict[str, tuple[int, int]] = {t: (r.start, r.end) for t, r in calendar.titles().items()}
# Bare titles that name a span in a search query: the Ming's and later (older ones are common words
# and place names: 绍兴, 嘉定, 长安, 文明; write them with a year, a 干支 or the dynasty: 宋绍兴).
QUERY_ERAS_FROM = 1368


def era_years(text: str) -> tuple[int, int] | None:
    """The Gregorian year range named by a reign-era date in ``text``, or None (repository/calendar.py).

    "民国二十五年" → (1936, 1936); "光绪三年" → (1877, 1877); "民国25年" → (1936, 1936);
    "光绪癸巳" → (1893, 1893); "民国" alone → (1912, 1949). A year past the end of an imperial
    reign gives None; Republic years are not capped (the Minguo calendar is still used on
    Taiwan-printed genealogies).
    """
    return calendar.parse(fold(text[:calendar.MAX_TEXT]))


def era_query(text: str) -> tuple[int, int] | None:
    """The years a search word means when it starts with a reign date (光绪, 民国十八年, 光绪癸巳,
    宋绍兴); None for a bare title older than the Ming (see ``QUERY_ERAS_FROM``)."""
    found = calendar.parse_at_start(fold(text[:calendar.MAX_TEXT]).strip())
    if found is None or (not found[1] and found[0][0] < QUERY_ERAS_FROM):
        return None
    return found[0]
