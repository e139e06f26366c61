"""Search's view of the authority file (search/names.py's ``NameSource``): which names mean one
person, family, organisation or place, for the segmentation dictionary and query expansion.

Rules (what a name must be to count, and what the index does when the names change):

* a name is folded (search.analysis.fold: 繁/简 and variants) and counts only with 2 to
  ``MAX_NAME`` letters; a one-character name (钟, 卫) never expands a query nor joins the
  dictionary — it would match every text that has the character;
* only names of three or more Han characters join the segmentation dictionary (so 荣德生 is one
  token, also in 华探渊字某某, which jieba's HMM would make 华探渊字); a two-character name is left to jieba (most are
  its words already, and a rare one added at the frequency that keeps it whole can split ordinary
  text: 德生 in 道德生活) and is matched as the phrase of its tokens;
* full pinyin is kept for every Han name of two characters or more, initials (rds) only for
  names of three or more: two letters would name hundreds of people;
* a word expands to at most ``MAX_GROUPS`` records and ``MAX_NAMES_PER_WORD`` names, and at most
  ``MAX_TOTAL`` names are read from the source (a huge authority file costs bounded memory);
* when the source's ``stamp()`` changes, ``refresh`` answers the dictionary words that are new, so
  the search service can re-index the items whose text has them (see ``Search.refresh_names``);
  links by id need no re-indexing: documents hold the linked ids, queries carry the names.
"""
from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass

from . import analysis
from .names import NameGroup, NameSource, NoNames

log = logging.getLogger(__name__)

MAX_NAME = 32
MAX_GROUPS = 20
MAX_NAMES_PER_WORD = 40
MAX_TOTAL = 500_000
CHECK_SECONDS = 1.0  # how often the source's stamp is asked for at most


@dataclass(frozen=True)
class Expansion:
    ids: tuple[str, ...]  # the records' ids, merged ids included (items may still point at them)
    names: tuple[str, ...]  # every folded name of those records


def _han(text: str) -> bool:
    return all("\u3400" <= ch <= "\u9fff" or "\uf900" <= ch <= "\ufaff" or ch >= "\U00020000" for ch in text)


def usable(name: str) -> str | None:
    """The folded form of a name that counts (see the rules above), else None."""
    folded = "".join(analysis.fold(name).split())
    return folded if 2 <= len(folded) <= MAX_NAME and any(ch.isalnum() for ch in folded) else None


class NameIndex:
    def __init__(self, source: NameSource | None = None):
        self.source = source or NoNames()
        self._lock = threading.Lock()
        self._stamp: str | None = None
        self._checked = 0.0
        self._groups: list[Expansion] = []
        self._by_name: dict[str, list[int]] = {}
        self._by_pinyin: dict[str, set[str]] = {}
        self.words: set[str] = set()  # the names this index put into the dictionary
        self._lengths: list[int] = []

    def refresh(self, *, force: bool = False) -> list[str] | None:
        """Read the source again when its stamp changed (asked at most every ``CHECK_SECONDS``):
        None when nothing changed, else the dictionary words added (the first read: all of them)."""
        now = time.monotonic()
        if not force and self._stamp is not None and now - self._checked < CHECK_SECONDS:
            return None
        with self._lock:
            self._checked = now
            stamp = self.source.stamp()
            if stamp == self._stamp:
                return None
            groups, by_name, by_pinyin, words = self._read()
            self._groups, self._by_name, self._by_pinyin, self._stamp = groups, by_name, by_pinyin, stamp
            self._lengths = sorted({len(n) for n in by_name}, reverse=True)
            added = sorted(words - self.words)
            self.words |= words
            return added

    def _read(self):
        groups: list[Expansion] = []
        by_name: dict[str, list[int]] = {}
        by_pinyin: dict[str, set[str]] = {}
        words: set[str] = set()
        total = 0
        for group in self.source.name_groups():
            names = tuple(dict.fromkeys(n for n in map(usable, _names(group)) if n))
            if not names:
                continue
            if total + len(names) > MAX_TOTAL:
                log.warning("authority names beyond %d are left out of search's expansion", MAX_TOTAL)
                break
            total += len(names)
            groups.append(Expansion((group.id, *group.merged_ids), names))
            for name in names:
                by_name.setdefault(name, []).append(len(groups) - 1)
                if _han(name):
                    full, *initials = analysis.pinyin(name)
                    by_pinyin.setdefault(full, set()).add(name)
                    if len(name) >= 3 and initials:
                        by_pinyin.setdefault(initials[0], set()).add(name)
                    if len(name) >= 3:  # whole even where jieba's HMM would join it to the next character
                        words.add(name)
        return groups, by_name, by_pinyin, words

    def expand(self, word: str) -> Expansion | None:
        """The records one of whose names ``word`` is (folded), or whose name's pinyin it is
        (rongdesheng, rds); None when none."""
        folded = "".join(analysis.fold(word).split())
        names = {folded} if folded in self._by_name else set(self._by_pinyin.get(folded, ()))
        found = sorted({g for n in names for g in self._by_name.get(n, ())})[:MAX_GROUPS]
        if not found:
            return None
        groups = [self._groups[g] for g in found]
        ids = tuple(dict.fromkeys(i for g in groups for i in g.ids))
        every = tuple(dict.fromkeys(n for g in groups for n in g.names))[:MAX_NAMES_PER_WORD]
        return Expansion(ids, every)

    def find(self, text: str):
        """The names in ``text`` (folded), longest first, left to right, none inside another, each
        where segmentation makes it whole words (a name that is also part of ordinary words —
        山人 in 深山人家 — is not found there): (start, end, folded name, the records' ids) each."""
        folded, at = analysis.fold(text), 0
        if not self._lengths:
            return
        bounds, pos = {0}, 0
        for token in analysis.default_segmenter().cut(folded, mode="query"):
            pos += len(token)
            bounds.add(pos)
        while at < len(folded):
            for length in self._lengths if at in bounds else ():
                name = folded[at:at + length]
                if len(name) == length and at + length in bounds and name in self._by_name:
                    yield at, at + length, name, tuple(i for g in self._by_name[name][:MAX_GROUPS]
                                                       for i in self._groups[g].ids[:1])
                    at += length
                    break
            else:
                at += 1

    @property
    def read(self) -> bool:
        """Whether the source was read at all (by ``refresh``)."""
        return self._stamp is not None


def _names(group: NameGroup) -> list[str]:
    return [group.preferred, *group.names]
