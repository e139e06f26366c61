"""The English catalogue translates every interface string (Chinese is the source language)."""
import subprocess
import sys
from pathlib import Path

from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[2]


def test_every_message_has_an_english_translation(tmp_path):
    pot = tmp_path / "messages.pot"
    subprocess.run([str(Path(sys.executable).parent / "pybabel"), "extract", "-F", str(ROOT / "babel.cfg"),
                    "-o", str(pot), str(ROOT)], check=True, capture_output=True, cwd=ROOT)
    used = {m.id for m in read_po(pot.open("rb")) if m.id}
    with (ROOT / "web/translations/en/LC_MESSAGES/messages.po").open("rb") as f:
        catalog = {m.id: m for m in read_po(f) if m.id}
    missing = sorted(m for m in used if m not in catalog or not catalog[m].string or catalog[m].fuzzy)
    assert not missing, f"translate these in web/translations/en/LC_MESSAGES/messages.po (make messages): {missing}"


def test_the_traditional_catalogue_translates_every_message_and_is_current():
    """web/translations/zh_Hant is scripts/make_zh_hant.py's output for today's messages (OpenCC
    s2twp, then the reviewed corrections): every message translated, placeholders kept, and
    nothing left from strings that changed. Regenerate it with that script."""
    import re
    import runpy

    script = runpy.run_path(str(ROOT / "scripts/make_zh_hant.py"))
    path = ROOT / "web/translations/zh_Hant/LC_MESSAGES/messages.po"
    assert path.exists(), "run scripts/make_zh_hant.py"
    with path.open("rb") as f:
        catalog = {m.id: m.string for m in read_po(f) if m.id}
    expected = script["catalogue"]()
    with __import__("io").BytesIO(expected) as f:
        wanted = {m.id: m.string for m in read_po(f) if m.id}
    missing = sorted(set(wanted) - set(catalog))
    assert not missing, f"run scripts/make_zh_hant.py: untranslated {missing[:10]}"
    for msgid, string in catalog.items():
        assert string, msgid
        assert sorted(re.findall(r"%\((\w+)\)s", str(string))) == sorted(re.findall(r"%\((\w+)\)s", str(msgid))), msgid
    assert path.read_bytes() == expected, "the 繁體 catalogue is out of date: run scripts/make_zh_hant.py"
    assert catalog["登录"] == "登入" and catalog["方志 — 地方文献数字档案"].startswith("方志")


def test_every_notice_has_a_message_with_the_same_values_in_both_languages():
    """Each notice code a reader or ingest step makes has a message (web/notices.py), and its
    English names the same values, so a notice always renders in either language."""
    import re

    from web.notices import MESSAGES, catalog

    codes = set()
    for package in ("oral_history", "ingest", "repository"):
        for path in (ROOT / package).rglob("*.py"):
            codes |= set(re.findall(r'"((?:vtt|srt|text|ohms|timing|asr|ingest)\.[a-z_]+)"', path.read_text("utf-8")))
    codes -= {"text.txt"}  # a file name, not a code
    assert codes and not codes - set(MESSAGES), sorted(codes - set(MESSAGES))
    english = catalog("en")
    for code, message in MESSAGES.items():
        names = sorted(re.findall(r"%\((\w+)\)s", message))
        assert english.gettext(message) != message or code.startswith("where."), code
        assert sorted(re.findall(r"%\((\w+)\)s", english.gettext(message))) == names, code
