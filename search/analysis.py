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
"""
from __future__ import annotations

import re
import threading
import unicodedata
from pathlib import Path
from typing import Iterable

from repository import calendar

__all__ = [
    "DICTIONARY_PATH", "REIGN_ERAS", "Segmenter", "add_words", "analyze", "era_query", "era_years", "fold",
    "load_dictionary", "pinyin", "pinyin_tokens", "tokens",
]

DICTIONARY_PATH = Path(__file__).with_name("dictionary") / "local.txt"

_converter_lock = threading.Lock()
_segmenter_lock = threading.Lock()
_converter = None
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
_VARIANT_CHARS = re.compile("[" + "".join(map(chr, sorted(VARIANTS))) + "]")  # no "+": 3× slower to search
_OLD_PRINT_CHARS = re.compile("[" + "".join(map(chr, sorted(OLD_PRINT))) + "]")

def fold(text: str) -> str:
    """Normalise text for matching: NFKC, traditional → simplified Chinese, lower case.

    >>> fold("無錫縣誌 ＡＢＣ１２３")
    '无锡县志 abc123'
    """
    return _fold_normalized(unicodedata.normalize("NFKC", text))


def fold_without_table(text: str) -> str:
    """``fold`` with the old-print variants only (scripts/variants.py builds the table on it)."""
    return _fold_normalized(unicodedata.normalize("NFKC", text), OLD_PRINT, _OLD_PRINT_CHARS)


def _fold_normalized(text: str, variants: dict = VARIANTS, variant_chars: re.Pattern = _VARIANT_CHARS) -> str:
    """``fold`` after NFKC: OpenCC t2s on the lines that need it, old variants, lower case."""
    converter, changing = _opencc()
    match = changing.search(text)  # most text is simplified already: OpenCC is the slow part
    if match is not None:
        # OpenCC's t2s dictionaries have only letters in their keys, so no phrase spans a line
        # break: converting just the lines with a character it changes gives the same text.
        # Lines close together are converted in one call (traditional text has them on every line).
        parts, done = [], 0
        while match is not None:
            start = text.rfind("\n", done, match.start()) + 1 or done
            end = match.end()
            while match is not None and match.start() - end < 2000:
                end = text.find("\n", match.end())
                end = len(text) if end < 0 else end
                match = changing.search(text, end)
            parts += [text[done:start], converter.convert(text[start:end])]
            done = end
        text = "".join([*parts, text[done:]])
    if variant_chars.search(text):  # rare: only the variants are looked at, not the whole text again
        text = variant_chars.sub(lambda m: m.group().translate(variants), text)
    return text.lower()


# Characters OpenCC leaves alone on their own but changes inside its phrases (沈思 → 沉思,
# 反覆 → 反复, 藉口 → 借口, 瞭解 → 了解, 甦醒 → 苏醒): every such character of OpenCC's TSPhrases
# dictionary (tests/search/test_analysis.py reads the dictionary and checks that none is missing).
PHRASE_ONLY = frozenset("么俱哩坏彷沈甦瞭藉衹覆")


def _char_class(chars: Iterable[str]) -> str:
    """A regular-expression class of ``chars``, as ranges."""
    points, ranges = sorted(map(ord, chars)), []
    for cp in points:
        if ranges and cp == ranges[-1][1] + 1:
            ranges[-1][1] = cp
        else:
            ranges.append([cp, cp])
    return "[" + "".join(re.escape(chr(a)) + ("-" + re.escape(chr(b)) if b > a else "") for a, b in ranges) + "]"


def _opencc():
    """The native OpenCC t2s converter and a pattern of the characters it changes (one per process)."""
    global _converter
    if _converter is None:
        with _converter_lock:
            if _converter is None:
                import opencc

                converter = opencc.OpenCC("t2s")
                han = "".join(map(chr, [*range(0x3400, 0x4DC0), *range(0x4E00, 0xA000), *range(0xF900, 0xFB00)]))
                converted = converter.convert(han)
                assert len(converted) == len(han)
                changing = {a for a, b in zip(han, converted) if a != b}
                # Characters beyond the Basic Multilingual Plane (rare; OpenCC changes some) all count.
                pattern = _char_class(changing | PHRASE_ONLY)[:-1] + "\U00010000-\U0010ffff]"
                _converter = converter, re.compile(pattern)
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
    work per character or token: the text is folded once, NFKC only where it can change a kept
    token (full-width ，。（） stay, being dropped either way), and the tokens are filtered in C
    wherever no token can mix a letter with punctuation (``tests/search/test_analysis.py``
    compares with that definition on a large sample).
    """
    segmenter = default_segmenter()
    segmenter.cut("", mode=mode)  # an unknown mode is refused before any work
    unsafe, special, not_han = _token_tables()
    text = _fold_normalized(_nfkc_where_it_matters(text, unsafe))
    cut = segmenter._cut_for_search if mode == "index" else segmenter._cut
    match = special.search(text)
    if match is None:  # every token is all letters and digits or has none
        return list(filter(str.isalnum, cut(text)))
    # jieba segments each run of Han, Latin letters, digits and +#&._%- on its own: the runs with
    # such punctuation (3.5%, c++) get the exact test, the text between them the C filter.
    out, done, backwards = [], 0, text[::-1]
    while match is not None:
        before = not_han.search(backwards, len(text) - match.start())
        start = max(len(text) - before.start() if before else 0, done)
        after = not_han.search(text, match.end())
        end = after.start() if after else len(text)
        out += filter(str.isalnum, cut(text[done:start]))
        out += [t for t in cut(text[start:end]) if t.isalnum() or _is_word(t)]
        done = end
        match = special.search(text, end)
    out += filter(str.isalnum, cut(text[done:]))
    return out


def _nfkc_where_it_matters(text: str, unsafe: re.Pattern) -> str:
    """NFKC of each run of ``unsafe`` characters with the character before it; the rest as it is.

    The characters outside the runs are NFKC-stable starters that nothing before them composes
    with (UAX #15 §9, normalisation of text split at such boundaries), or punctuation whose
    NFKC form is punctuation too, which segmentation drops either way.
    """
    match = unsafe.search(text)
    if match is None:
        return text
    parts, done = [], 0
    for match in unsafe.finditer(text, match.start()):
        start = match.start() - (match.start() > done)
        parts += [text[done:start], unicodedata.normalize("NFKC", text[start:match.end()])]
        done = match.end()
    return "".join([*parts, text[done:]])


# jieba's Han ranges (jieba-rs has these; Python jieba fewer), beyond the BMP all, to be sure.
_HAN_RANGES = [(0x3400, 0x4DBF), (0x4E00, 0x9FFF), (0xF900, 0xFAFF), (0x20000, 0x10FFFF)]
_JIEBA_PUNCT = "+#&._%-"  # kept inside jieba's runs of Han, letters and digits
_token_tables_cache: "tuple[re.Pattern, re.Pattern, re.Pattern] | None" = None


def _token_tables() -> tuple[re.Pattern, re.Pattern, re.Pattern]:
    """Patterns for ``tokens``: characters whose NFKC matters, characters that can make a token
    mix letters with punctuation, and characters outside jieba's runs (made once per process)."""
    global _token_tables_cache
    if _token_tables_cache is None:
        nfkc = lambda s: unicodedata.normalize("NFKC", s)  # noqa: E731
        bmp = [chr(cp) for cp in range(0x10000)]
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

        def stays(c):
            n, d = nfkc(c), unicodedata.normalize("NFKD", c)
            return (unicodedata.combining(c) == 0 and c not in second and unicodedata.combining(d[0]) == 0
                    and d[0] not in second and dropped(c + n) and c.lower() == c and n.lower() == n
                    and sigma(c) == sigma(n))

        unsafe = [c for c in bmp if (c in second or unicodedata.combining(c) or nfkc(c) != c) and not stays(c)]
        # Beyond the Basic Multilingual Plane every character is normalised with its neighbours (rare).
        unsafe_class = _char_class(unsafe)[:-1] + "\U00010000-\U0010ffff]"
        # Unassigned code points in jieba's Han ranges; beyond the BMP every character counts (rare).
        gaps = [chr(cp) for a, b in _HAN_RANGES if b < 0x10000 for cp in range(a, b + 1) if not chr(cp).isalnum()]
        special_class = _char_class([*_JIEBA_PUNCT, *gaps])[:-1] + "\U00010000-\U0010ffff]"
        han = "".join(f"{re.escape(chr(a))}-{re.escape(chr(b))}" for a, b in _HAN_RANGES)
        _token_tables_cache = (re.compile(unsafe_class + "+"), re.compile(special_class),
                               re.compile(f"[^{han}a-zA-Z0-9{re.escape(_JIEBA_PUNCT)}]"))
    return _token_tables_cache


def analyze(text: str, *, mode: str = "index") -> str:
    """The tokens joined by single spaces: the value of a whitespace-tokenized engine field."""
    return " ".join(tokens(text, mode=mode))


def _is_word(token: str) -> bool:
    # A token is kept when it has a letter or digit (Han characters count as letters).
    return any(ch.isalnum() for ch in token)


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
