"""The ``text`` step: the words of a text original for search, as a ``text`` derivative (UTF-8).

Plain text (UTF-8/16, GB18030, Big5: ``oral_history.formats.decode_text``), XML, Word (DOCX,
ECMA-376 WordprocessingML ``w:p``/``w:t``) and OpenDocument text (ODF 1.2 ``text:p``/``text:h``).
Hostile input is bounded: at most ``MAX_TEXT_BYTES`` of a text file is read (a longer one is
cut, ``tech["text_truncated"]``), a document's XML part is read only up to ``MAX_XML_BYTES``
whatever its zip entry claims, and XML is parsed without DTDs, entity expansion or network
access (no "billion laughs", no external entities). The original is kept byte for byte either way.
"""
from __future__ import annotations

import re
import zipfile
from pathlib import Path

from lxml import etree

from oral_history.formats import decode_text
from oral_history.timecodes import OralHistoryError

from . import Derivative, StepError, StepResult
from .common import Outputs

VERSION = 1
MAX_TEXT_BYTES = 16 << 20
MAX_XML_BYTES = 64 << 20
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
ODT = "application/vnd.oasis.opendocument.text"
TEXT_TYPES = {"application/xml", DOCX, ODT}  # and every text/* type
W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
ODF_TEXT = "{urn:oasis:names:tc:opendocument:xmlns:text:1.0}"
MARKUP = re.compile(r"<!DOCTYPE[^\[>]*(\[.*?\]\s*)?>|<!--.*?-->|<[^>]*>|&[#\w.:-]+;", re.S)


def has_text(media_type: str) -> bool:
    return media_type.startswith("text/") or media_type in TEXT_TYPES


def text(original: Path, media_type: str, work: Path) -> StepResult:
    out = Outputs(work, "text", VERSION)
    done = out.finished()
    if done:
        return done
    tech = {}
    try:
        words = _words(original, media_type, tech)
    except StepError as exc:  # the original is kept whatever its text: the item is not failed for it
        words, tech["text_problem"] = "", str(exc)
    path = out.write_text("text.txt", words)
    return out.save(StepResult([Derivative("text.txt", path, "text/plain", "text")], tech))


def _words(original: Path, media_type: str, tech: dict) -> str:
    if media_type == DOCX:
        return _paragraphs(_xml_part(original, "word/document.xml"), (f"{W}p",), {f"{W}tab": "\t", f"{W}br": "\n"})
    if media_type == ODT:
        return _paragraphs(_xml_part(original, "content.xml"), (f"{ODF_TEXT}p", f"{ODF_TEXT}h"),
                           {f"{ODF_TEXT}tab": "\t", f"{ODF_TEXT}line-break": "\n", f"{ODF_TEXT}s": " "})
    with open(original, "rb") as f:
        data = f.read(MAX_TEXT_BYTES + 1)
    if len(data) > MAX_TEXT_BYTES:
        data = data[:MAX_TEXT_BYTES]
        tech["text_truncated"] = True
    if media_type == "application/xml" and not tech:
        try:
            return " ".join(" ".join(_parse(data).itertext()).split())
        except StepError as exc:
            tech["text_problem"] = str(exc)  # e.g. libxml2's entity amplification limit: read as text
    words, tech["encoding"] = _decode(original.name, data, cut=bool(tech.get("text_truncated")))
    if media_type == "application/xml":  # the words between the tags, entity references left out
        words = " ".join(MARKUP.sub(" ", words).split())
    return words


def _decode(name: str, data: bytes, *, cut: bool) -> tuple[str, str]:
    """The text of ``data``; a cut file may end inside a character: up to 3 bytes more are cut
    (decode_text reads a damaged UTF-8 sequence as U+FFFD rather than refusing it)."""
    problem = decoded = None
    for trim in range(4 if cut else 1):
        try:
            decoded = decode_text(name, data[:len(data) - trim] if trim else data)
        except OralHistoryError as exc:
            problem = problem or exc
            continue
        if not (cut and decoded[0].endswith("\ufffd")):
            return decoded
    if decoded is None:
        raise StepError(str(problem))
    return decoded


def _xml_part(original: Path, member: str) -> bytes:
    """One XML part of a ZIP-based document, at most MAX_XML_BYTES (its declared size may lie)."""
    try:
        with zipfile.ZipFile(original) as archive, archive.open(member) as f:
            data = f.read(MAX_XML_BYTES + 1)
    except KeyError:
        raise StepError(f"the document has no {member}") from None
    except (zipfile.BadZipFile, OSError, ValueError, NotImplementedError) as exc:
        raise StepError(f"cannot read {member} in the document: {exc}") from exc
    if len(data) > MAX_XML_BYTES:
        raise StepError(f"{member} expands to more than {MAX_XML_BYTES >> 20} MiB")
    return data


def _parse(data: bytes):
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False,
                             remove_comments=True, remove_pis=True)
    try:
        return etree.fromstring(data, parser)
    except etree.XMLSyntaxError as exc:
        raise StepError(f"not well-formed XML: {exc}") from exc


def _paragraphs(data: bytes, tags: tuple[str, ...], breaks: dict[str, str]) -> str:
    """The text of every paragraph element, one per line; ``breaks``: elements standing for text."""
    def walk(node, parts):
        if node.tag in breaks:
            count = node.get(f"{ODF_TEXT}c", "1")  # text:s c="3": three spaces
            parts.append(breaks[node.tag] * (min(int(count), 100) if count.isdigit() else 1))
        elif node.text and node.tag != f"{W}instrText":  # a field's code is not text
            parts.append(node.text)
        for child in node:
            walk(child, parts)
            if child.tail:
                parts.append(child.tail)
        return parts

    lines = ["".join(walk(p, [])).strip() for p in _parse(data).iter(*tags)]
    return "\n".join(line for line in lines if line)
