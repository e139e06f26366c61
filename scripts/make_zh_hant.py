"""Regenerate the 繁體 interface catalogue (web/translations/zh_Hant) from the Chinese source strings.

Each message is converted with OpenCC s2twp (characters and Taiwan phrasing: 登录 → 登入, 视频 → 影片),
then REVIEWED overrides what a reviewer corrected. Run it after adding or changing interface text
(tests/web/test_translations.py fails while the catalogue is out of date), then compile:

    python scripts/make_zh_hant.py && pybabel compile -d web/translations
"""
from __future__ import annotations

import io
import subprocess
import sys
import tempfile
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po, write_po

ROOT = Path(__file__).resolve().parents[1]
TARGET = ROOT / "web/translations/zh_Hant/LC_MESSAGES/messages.po"

# Reviewed: where s2twp's Taiwan phrasing is wrong for an archive's interface, the reviewer's words.
REVIEWED = {
    "方志": "方志",  # the project's name (a local gazetteer, 方志 in Taiwan too), not 方誌
    "地方志": "地方志",
    "简体": "簡體",
    "繁体": "繁體",
}
# Words inside longer messages that s2twp renders wrongly, replaced after conversion.
REPLACE = [("方誌", "方志"), ("地方誌", "地方志"), ("鄉土誌", "鄉土志"),
           ("型別", "類型"),  # media type: 媒體類型 (型別 is a programming language's type)
           ("識別符號", "識別碼"), ("後臺", "後台"), ("程式碼", "代碼")]  # language codes: 語言代碼


def extract() -> Catalog:
    """The interface's messages, as `make messages` extracts them."""
    with tempfile.TemporaryDirectory() as tmp:
        pot = Path(tmp) / "messages.pot"
        subprocess.run([str(Path(sys.executable).parent / "pybabel"), "extract", "-F", str(ROOT / "babel.cfg"),
                        "-k", "_l", "-o", str(pot), str(ROOT)], check=True, capture_output=True, cwd=ROOT)
        with pot.open("rb") as f:
            return read_po(f)


def convert(text: str) -> str:
    import opencc

    if text in REVIEWED:
        return REVIEWED[text]
    out = opencc.OpenCC("s2twp").convert(text)
    for wrong, right in REPLACE:
        out = out.replace(wrong, right)
    return out


def catalogue() -> bytes:
    """The 繁體 catalogue's bytes: every extracted message, converted (locations left out, so the
    file changes only when the messages do)."""
    source = extract()
    out = Catalog(locale="zh_Hant", project="Fangzhi", fuzzy=False)
    for message in source:
        if not message.id:
            continue
        if isinstance(message.id, tuple):
            out.add(message.id, tuple(convert(part) for part in message.id), context=message.context)
        else:
            out.add(message.id, convert(message.id), context=message.context, flags=message.flags - {"fuzzy"})
    buffer = io.BytesIO()
    write_po(buffer, out, omit_header=False, no_location=True, sort_output=True, width=0)
    lines = [line for line in buffer.getvalue().decode("utf-8").splitlines(keepends=True)
             if not line.startswith(('"POT-Creation-Date', '"PO-Revision-Date', '"Generated-By'))]
    return "".join(lines).encode("utf-8")


def main() -> None:
    TARGET.parent.mkdir(parents=True, exist_ok=True)
    TARGET.write_bytes(catalogue())
    print(f"{TARGET.relative_to(ROOT)}: written")


if __name__ == "__main__":
    main()
