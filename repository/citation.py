"""How to cite an item: GB/T 7714-2015 and Chicago (17th ed., bibliography) as text, BibTeX and RIS
as files. The item's URL and the date it was read are given by the caller (the web page)."""
from __future__ import annotations

import re
from datetime import date

from .model import Agent, Item, best
from .vocab import kind_label

# GB/T 7714-2015 §4 and appendix B: the document type codes (M 普通图书, A 档案, DS 数据集, Z 其他);
# "/OL": read online (§8.3.3)
GBT_TYPES = {"book": "M", "ebook": "M", "manuscript": "A", "document": "A", "dataset": "DS"}
RIS_TYPES = {"book": "BOOK", "ebook": "EBOOK", "manuscript": "MANSCPT", "audio": "SOUND", "video": "VIDEO",
             "photo": "FIGURE", "dataset": "DATA"}
BIBTEX_TYPES = {"book": "book", "ebook": "book", "manuscript": "unpublished"}
INTERVIEWERS = ("interviewer", "采访人", "采访者", "访谈人")


def authors(item: Item) -> list[Agent]:
    """Who the work is by: its creators, an interview's interviewers left out (they are cited after)."""
    return [a for a in item.creators if (a.role or "").lower() not in INTERVIEWERS]


def interviewers(item: Item) -> list[Agent]:
    return [a for a in item.creators + item.contributors if (a.role or "").lower() in INTERVIEWERS]


def year(item: Item) -> str:
    """The year of the item's EDTF date: ``1948``; an approximate or uncertain one in brackets
    (GB/T 7714-2015 §8.5.1: an estimated year is bracketed, ``[1948]``); a decade ``[194?]``."""
    edtf = (item.date or {}).get("edtf") or ""
    found = re.match(r"^(-?)([0-9X]{4})", edtf)
    if not found:
        return ""
    value = found.group(2).replace("X", "?")
    return f"[{value}]" if "?" in value or re.search(r"[~?%]", edtf[:11]) else value


def _names(agents: list[Agent], lang: str = "zh") -> list[str]:
    return [best(a.name, lang) for a in agents if best(a.name, lang)]


def gbt7714(item: Item, url: str, cited: date) -> str:
    """GB/T 7714-2015 (§8, electronic resources §4.1 + /OL, at most three responsible persons then 等)."""
    names = _names(authors(item))
    who = ", ".join(names[:3]) + (", 等" if len(names) > 3 else "")
    code = GBT_TYPES.get(item.kind, "Z")
    published = ", ".join(p for p in (item.holding_library, year(item)) if p)
    parts = [f"{who}. " if who else "", f"{best(item.title)}[{code}/OL]. "]
    parts.append(f"{published}[{cited.isoformat()}]. " if published else f"[{cited.isoformat()}]. ")
    return "".join(parts) + f"{url}."


def _and(names: list[str]) -> str:
    if len(names) > 3:
        return f"{names[0]} et al."
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + (", and " if len(names) > 2 else " and ") + names[-1]


def chicago(item: Item, url: str) -> str:
    """Chicago Manual of Style 17th ed., bibliography entry (§14.68 books; §14.222 manuscripts;
    §14.219 interviews: "Interview by …"), a year of ``ca.`` for an approximate date."""
    title = best(item.title, "en")
    names = _names(authors(item), "en")
    when = year(item)
    when = f"ca. {when.strip('[]')}" if when.startswith("[") else when
    parts = [f"{_and(names)}." if names else ""]
    if item.kind in ("book", "ebook"):
        parts.append(f"{title}.")
        parts.append(", ".join(p for p in (item.holding_library, when) if p) + "." if item.holding_library or when else "")
    else:
        parts.append(f"“{title}.”")
        asked = _names(interviewers(item), "en")
        form = kind_label(item.kind, "en")
        if asked:
            parts.append(f"Interview by {_and(asked)}.")
            form = f"{form} recording" if item.kind in ("audio", "video") else form
        parts.append(", ".join(p for p in (form, when) if p) + ".")
        parts.append(f"{item.holding_library}." if item.holding_library else "")
    parts.append(f"{url}.")
    return " ".join(p for p in parts if p)


def _bib(value: str) -> str:
    """A BibTeX field value: the characters TeX reads as commands escaped."""
    value = value.replace("\\", "\x00").replace("{", "\\{").replace("}", "\\}")
    value = re.sub(r"([&%$#_])", r"\\\1", value).replace("~", "\\textasciitilde{}").replace("^", "\\textasciicircum{}")
    return value.replace("\x00", "\\textbackslash{}")


def bibtex(item: Item, url: str, cited: date) -> str:
    """A BibTeX entry (@book, @unpublished or @misc); author names braced whole, so that a Chinese
    name is never split into given and family names."""
    kind = BIBTEX_TYPES.get(item.kind, "misc")
    key = re.sub(r"[^A-Za-z0-9_:-]", "_", item.id)
    fields = [("author", " and ".join("{" + _bib(n) + "}" for n in _names(authors(item))))]
    fields.append(("title", _bib(best(item.title))))
    if item.kind in ("audio", "video") and interviewers(item):
        fields.append(("note", "Interview by " + " and ".join(_bib(n) for n in _names(interviewers(item)))))
    fields.append(("year", year(item).strip("[]")))
    fields.append(("publisher" if kind == "book" else "howpublished",
                   _bib(item.holding_library or "") if kind == "book" else kind_label(item.kind, "en")))
    fields += [("language", ", ".join(item.language)), ("url", url), ("urldate", cited.isoformat())]
    body = ",\n".join(f"  {name} = {{{value}}}" for name, value in fields if value)
    return f"@{kind}{{{key},\n{body}\n}}\n"


def ris(item: Item, url: str, cited: date) -> str:
    """A RIS record: tags of two capitals, two spaces, a hyphen and a space; CRLF line ends; ER last."""
    lines = [("TY", RIS_TYPES.get(item.kind, "GEN"))]
    lines += [("AU", n) for n in _names(authors(item))]
    lines += [("A2", n) for n in _names(interviewers(item))]
    lines.append(("TI", best(item.title)))
    lines += [("TT", v) for k, v in item.title.items() if v != best(item.title)]
    if year(item):
        lines.append(("PY", year(item).strip("[]").replace("?", "")))
    lines += [("PB", item.holding_library or ""), ("AB", best(item.description) if item.description else "")]
    lines += [("KW", s) for s in item.subjects] + [("LA", code) for code in item.language]
    lines += [("AN", item.id), ("UR", url), ("Y2", cited.strftime("%Y/%m/%d")), ("ER", "")]
    return "".join(f"{tag}  - {value}\r\n" for tag, value in lines if value or tag == "ER")
