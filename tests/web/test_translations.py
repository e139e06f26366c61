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
