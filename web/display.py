"""How pages are shown to this reader: the interface language and script (简体, 繁體, English), the
large-type mode (长辈版, a cookie read here so the first paint is right), metadata in the reader's
language and script (OpenCC at display time, never in storage), dates and codes in words."""
from __future__ import annotations

from functools import lru_cache
from typing import NamedTuple

from flask import Blueprint, abort, g, redirect, request
from markupsafe import Markup

from repository.model import EDTF_RE

from .auth import safe_next

bp = Blueprint("display", __name__)

LOCALES = ("zh", "zh_Hant", "en")  # Babel locales: Chinese source strings, the 繁體 and English catalogues
PAGE_LANG = {"zh": "zh-Hans", "zh_Hant": "zh-Hant", "en": "en"}  # BCP 47, for lang attributes
MODES = ("standard", "large")
YEAR = 365 * 24 * 3600


@bp.get("/display/<mode>")
def set_mode(mode):
    """Switch the large-type, high-contrast mode (长辈版) on or off, remembered for a year."""
    if mode not in MODES:
        abort(404)
    response = redirect(safe_next(request.args.get("next")))
    response.set_cookie("display", mode, max_age=YEAR, samesite="Lax", httponly=True)
    return response


def display_mode() -> str:
    return request.cookies.get("display") if request.cookies.get("display") in MODES else "standard"


def locale() -> str:
    """The request's Babel locale (?lang=, else the cookie, else the site's default)."""
    if "lang" not in g:
        from flask import current_app

        choice = request.args.get("lang") or request.cookies.get("lang")
        g.lang = choice if choice in LOCALES else current_app.config["FANGZHI"]["DEFAULT_LOCALE"]
    return g.lang


def page_lang() -> str:
    return PAGE_LANG[locale()]


# --- metadata in the reader's language and script ----------------------------------------------------

@lru_cache(maxsize=4)
def _converter(config: str):
    import opencc

    return opencc.OpenCC(config)


@lru_cache(maxsize=20_000)
def _convert(text: str, config: str) -> str:
    return _converter(config).convert(text)


def _is_chinese(tag: str) -> bool:
    return tag.split("-")[0] in ("zh", "lzh", "wuu", "yue")


def _is_hant(tag: str) -> bool:
    return any(part in ("Hant", "TW", "HK", "MO") for part in tag.split("-")[1:])


def in_script(text, tag: str = "zh") -> tuple:
    """Chinese ``text`` (language ``tag``) in the reader's script, and its tag: 繁體 readers see
    simplified text converted (OpenCC s2t: characters only, the record's words kept), 简体
    readers traditional text (t2s); English readers and other languages see it as it is."""
    want = page_lang()
    if not text or not _is_chinese(tag) or want == "en":
        return text, tag
    base = tag.split("-")[0]
    if want == "zh-Hant":
        converted, tag = _convert(str(text), "s2t"), f"{base}-Hant"
    else:
        converted, tag = _convert(str(text), "t2s"), f"{base}-Hans" if base != "zh" else "zh-Hans"
    return (Markup(converted) if isinstance(text, Markup) else converted), tag


class Shown(NamedTuple):
    """A value as shown to the reader and the BCP 47 tag of what is shown (for lang attributes)."""
    text: str
    lang: str

    def __str__(self) -> str:
        return str(self.text)

    def __html__(self) -> str:
        return Markup.escape(self.text)

    def __bool__(self) -> bool:
        return bool(self.text)

    @property
    def other(self) -> bool:
        """Whether it is in another language or script than the page (then marked with ``lang``)."""
        return bool(self.text) and self.lang != page_lang() and not (
            self.lang == "zh" and page_lang() == "zh-Hans")


def shown(values, *, source: str = "zh") -> Shown:
    """A language map ({"zh": …, "en": …}) or a plain string (in language ``source``) as the
    reader should see it: their language where the record has it (English readers: English, else
    Chinese; Chinese readers: their script, else the other one converted, else any)."""
    if isinstance(values, Shown):
        return values
    if not values:
        return Shown("", page_lang())
    if isinstance(values, str):
        return Shown(*in_script(values, source))
    reader = "en" if locale() == "en" else "zh"
    hant = [k for k in values if k.startswith("zh") and _is_hant(k)]
    order = (["en", "zh", *values] if reader == "en" else
             ([*hant, "zh", *values] if page_lang() == "zh-Hant" else ["zh", "zh-Hans", *values]))
    key = next(k for k in order if values.get(k))
    return Shown(*in_script(values[key], key))


def script_filter(text, tag: str = "zh"):
    """Jinja ``|script``: a plain metadata string (subjects, names, a library) in the reader's script."""
    return in_script(text, tag)[0]


def lang_attr(value: Shown) -> Markup:
    """` lang="…"` when a shown value is in another language or script than the page, else nothing."""
    return Markup(' lang="%s"') % value.lang if isinstance(value, Shown) and value.other else Markup("")


# --- dates and codes in words ------------------------------------------------------------------------

MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
          "November", "December")


def _edtf_part(part: str, en: bool) -> str:
    """One EDTF date (EDTF 2019 level 0/1: YYYY[-MM[-DD]], X digits, ?~% qualifiers) in words."""
    qualifier = part[-1] if part[-1:] in "?~%" else ""
    core = part.rstrip("?~%")
    if "X" in core:
        digits = core.rstrip("X")
        if len(core) - len(digits) == 1:  # 195X: a decade
            text = f"{digits}0s" if en else f"{digits}0年代"
        else:  # 19XX: a century
            n = int(digits) + 1
            text = f"{n}{'th' if 10 <= n % 100 <= 20 else {1: 'st', 2: 'nd', 3: 'rd'}.get(n % 10, 'th')} century" \
                if en else f"{n}世纪"
    else:
        y, *rest = core.split("-")
        y = str(int(y))
        if not rest:
            text = y if en else f"{y}年"
        elif len(rest) == 1:
            text = f"{MONTHS[int(rest[0]) - 1]} {y}" if en else f"{y}年{int(rest[0])}月"
        else:
            text = f"{int(rest[1])} {MONTHS[int(rest[0]) - 1]} {y}" if en else f"{y}年{int(rest[0])}月{int(rest[1])}日"
    if qualifier == "~":
        return f"circa {text}" if en else f"约{text}"
    if qualifier == "?":
        return f"{text} (uncertain)" if en else f"{text}（存疑）"
    if qualifier == "%":
        return f"circa {text} (uncertain)" if en else f"约{text}（存疑）"
    return text


def edtf_words(edtf: str, lang: str = "zh") -> str:
    """An EDTF date or interval in words: 1948~ → circa 1948 / 约1948年; 1920/1929 → 1920 to 1929."""
    if not edtf or not EDTF_RE.match(edtf):
        return edtf or ""
    en = lang == "en"
    if "/" not in edtf:
        return _edtf_part(edtf, en)
    start, end = edtf.split("/")
    if start in ("", "..") and end not in ("", ".."):
        return f"{_edtf_part(end, en)} or earlier" if en else f"{_edtf_part(end, en)}或更早"
    if end == "..":  # open: still going on
        return f"{_edtf_part(start, en)} or later" if en else f"{_edtf_part(start, en)}或更晚"
    if end == "":  # unknown end
        return f"from {_edtf_part(start, en)} (end unknown)" if en else f"{_edtf_part(start, en)}起（止年不详）"
    return f"{_edtf_part(start, en)} to {_edtf_part(end, en)}" if en else f"{_edtf_part(start, en)}至{_edtf_part(end, en)}"


def date_text(date) -> Shown:
    """A record's date ({"edtf", "display"}) for the reader: Chinese readers the display form
    (民国二十五年, in their script) or the EDTF date in words; English readers the EDTF date in words
    (the Chinese display form only when there is no EDTF date)."""
    date = date or {}
    if isinstance(date, str):
        date = {"edtf": date}
    en = locale() == "en"
    if date.get("edtf") and (en or not date.get("display")):
        words = edtf_words(date["edtf"], "en" if en else "zh")
        return Shown(words if en else in_script(words)[0], page_lang())
    return shown(date.get("display") or "")


def role_label(role: str) -> str:
    """What an agent did (author, 摄影, a MARC relator code) in the reader's language."""
    from alliance.mods import RELATORS, ROLE_CODES

    code = role if role in RELATORS else ROLE_CODES.get(role.strip().lower())
    if code is None:
        return str(shown(role))
    return RELATORS[code][0 if locale() == "en" else 1]


# Punctuation around interface text: full-width in Chinese, ASCII with spaces in English.
PUNCTUATION = {"colon": ("：", ": "), "semicolon": ("；", "; "), "enum": ("、", ", "), "open": ("（", " ("),
               "close": ("）", ")"), "comma": ("，", ", ")}


def punct(name: str) -> str:
    return PUNCTUATION[name][1 if locale() == "en" else 0]


def init_app(app) -> None:
    app.register_blueprint(bp)
    app.add_template_global(shown)
    app.add_template_global(date_text)
    app.add_template_global(punct)
    app.add_template_global(lang_attr)
    app.add_template_global(role_label)
    app.add_template_filter(script_filter, "script")
    app.add_template_filter(edtf_words, "edtf_words")

    @app.context_processor
    def display_globals():
        return {"page_lang": page_lang(), "locale": locale(), "display_mode": display_mode()}

