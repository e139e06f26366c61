"""Snippets with the query's words marked, in the text's own characters.

The engines index folded tokens (简体, lower case), so they cannot mark the original 繁體 text;
this module folds the text character by character, finds the query's folded words in it, and
marks the same span of the original. It is the same for every backend.
"""
from __future__ import annotations

from html import escape

from markupsafe import Markup

from . import analysis

WINDOW = 90  # characters of context in a snippet


def _folded(text: str) -> tuple[str, list[int]]:
    """The folded text and, for each folded character, the index of its original character.

    Folding the whole text keeps OpenCC's phrase rules (乾隆 stays 乾隆, as the index has it);
    only when that changes the length (NFKC expansions) is it folded character by character."""
    whole = analysis.fold(text)
    if len(whole) == len(text):
        return whole, list(range(len(text)))
    out, where = [], []
    for i, ch in enumerate(text):
        f = analysis.fold(ch)
        out.append(f)
        where += [i] * len(f)
    return "".join(out), where


def spans(text: str, words: list[str]) -> list[tuple[int, int]]:
    """Non-overlapping (start, end) character spans of ``text`` where any of ``words`` occurs."""
    folded, where = _folded(text)
    found = []
    for word in sorted(set(words), key=len, reverse=True):
        start = folded.find(word)
        while start >= 0 and word:
            found.append((where[start], where[start + len(word) - 1] + 1))
            start = folded.find(word, start + len(word))
    merged: list[tuple[int, int]] = []
    for s, e in sorted(found):
        if merged and s <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(e, merged[-1][1]))
        else:
            merged.append((s, e))
    return merged


def mark(text: str, words: list[str]) -> Markup:
    """All of ``text``, HTML-escaped, with the words in <mark>."""
    return _render(text, spans(text, words), 0, len(text))


def snippet(text: str, words: list[str], *, window: int = WINDOW) -> Markup | None:
    """The part of ``text`` around most matches (about ``window`` characters), marked; None when
    no word occurs."""
    found = spans(text, words)
    if not found:
        return None
    best_start, best_count = found[0][0], 0
    for s, _ in found:  # the window starting near each match that covers the most matches
        count = sum(1 for s2, e2 in found if s <= s2 and e2 <= s + window)
        if count > best_count:
            best_start, best_count = s, count
    start = max(0, best_start - window // 4)
    end = min(len(text), start + window)
    start = max(0, min(start, end - window))
    inside = [(s, e) for s, e in found if s >= start and e <= end]
    return _render(text, inside, start, end)


def _render(text: str, found: list[tuple[int, int]], start: int, end: int) -> Markup:
    parts, pos = [], start
    for s, e in found:
        parts += [escape(text[pos:s]), "<mark>", escape(text[s:e]), "</mark>"]
        pos = e
    parts.append(escape(text[pos:end]))
    body = " ".join("".join(parts).split())  # OCR line breaks → spaces
    return Markup(("…" if start > 0 else "") + body + ("…" if end < len(text) else ""))
