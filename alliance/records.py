"""Harvested records: the safe XML parser every member answer goes through, and what a record says.

A member's answer is refused, never repaired: no DTD (so no entity expansion and no external
entity, the "billion laughs" and XXE attacks), no network access while parsing, libxml2's
size limits on (huge_tree off), and byte caps set by the harvester before parsing.
"""
from __future__ import annotations

import json
import re

from lxml import etree

from search.documents import RemoteRecord

OAI = "http://www.openarchives.org/OAI/2.0/"
DC = "http://purl.org/dc/elements/1.1/"
MODS = "http://www.loc.gov/mods/v3"
NS = {"oai": OAI, "dc": DC, "mods": MODS}


def N_(message: str) -> str:
    """Marks an interface message (Chinese source, English in web/translations) for extraction."""
    return message


class HarvestError(Exception):
    """Why a member's harvest failed, as an interface message (``message`` % ``args``) that the
    admin page shows in the reader's language and the command line in English."""

    def __init__(self, message: str, **args):
        self.message, self.args_ = message, args
        super().__init__(message % args)

    def as_json(self) -> str:
        return json.dumps({"message": self.message, "args": self.args_}, ensure_ascii=False)


def error_text(stored: str | None, gettext=lambda s: s) -> str:
    """A stored harvest error (``HarvestError.as_json``) in the language of ``gettext``."""
    if not stored:
        return ""
    try:
        data = json.loads(stored)
        return gettext(data["message"]) % data["args"]
    except (ValueError, KeyError, TypeError):
        return stored


class BadResponse(HarvestError):
    """A member's answer that cannot be used (it says why)."""


def _parser() -> etree.XMLParser:
    return etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False, load_dtd=False,
                           dtd_validation=False, remove_comments=True, remove_pis=True)


def parse_xml(data: bytes) -> etree._Element:
    """The root element of ``data``; BadResponse for a DTD (entities) or malformed XML."""
    if re.search(rb"<!(DOCTYPE|ENTITY)", data[:4096]) or b"<!ENTITY" in data:
        raise BadResponse(N_("应答声明了 DTD 或实体（OAI-PMH 不需要），已拒绝"))
    try:
        root = etree.fromstring(data, _parser())
    except etree.XMLSyntaxError as exc:
        raise BadResponse(N_("应答不是格式正确的 XML：%(detail)s"), detail=str(exc)[:200]) from None
    if root.getroottree().docinfo.internalDTD is not None:
        raise BadResponse(N_("应答声明了 DTD 或实体（OAI-PMH 不需要），已拒绝"))
    return root


XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
# Fangzhi's kinds from DCMI types (dc:type) and MODS typeOfResource, so the kind facet joins local and remote
DC_KINDS = {"stillimage": "photo", "image": "photo", "text": "book", "sound": "audio", "movingimage": "video",
            "physicalobject": "object"}
MODS_KINDS = {"still image": "photo", "text": "book", "sound recording": "audio", "sound recording-musical": "audio",
              "sound recording-nonmusical": "audio", "moving image": "video", "three dimensional object": "object",
              "cartographic": "photo"}
KINDS = ("photo", "manuscript", "book", "audio", "video", "ebook", "object")


def _kind(value: str, table: dict) -> str:
    folded = value.strip().lower()
    return folded if folded in KINDS else table.get(folded.replace(" ", "") if table is DC_KINDS else folded, value)


def _langs(meta, path: str) -> dict:
    """language → the first text of that language (xml:lang on the element or its parent; none: zh)."""
    found = {}
    for node in meta.xpath(path, namespaces=NS):
        text = (node.text or "").strip()
        lang = (node.get(XML_LANG) or node.getparent().get("lang") or node.getparent().get(XML_LANG) or "zh").split("-")[0]
        if text:
            found.setdefault(lang, text)
    return found


def _texts(meta, path: str) -> list[str]:
    return list(dict.fromkeys(t.strip() for t in meta.xpath(path, namespaces=NS) if t and t.strip()))


def _is_url(value: str) -> bool:
    return value.startswith(("http://", "https://"))


def _is_image(url: str) -> bool:
    return bool(re.search(r"(thumbnail|/full/[^/]+/0/default\.|\.(jpe?g|png|gif|webp)$)", url, re.I))


def _is_manifest(url: str) -> bool:
    return "manifest" in url.lower()


def read_record(record: etree._Element, member: str, visibility: str) -> RemoteRecord:
    """A ``<record>`` element (with a metadata part in oai_dc or MODS) as a RemoteRecord."""
    oai_id = "".join(record.xpath("oai:header/oai:identifier/text()", namespaces=NS)).strip()
    r = RemoteRecord(member, oai_id, visibility,
                     datestamp="".join(record.xpath("oai:header/oai:datestamp/text()", namespaces=NS)).strip())
    meta = record.find(f"{{{OAI}}}metadata")
    if meta is None:
        return r
    if meta.xpath("mods:mods", namespaces=NS):
        m = "mods:mods/"
        r.title = _texts(meta, f"{m}mods:titleInfo/mods:title/text()")
        r.creator = _texts(meta, f"{m}mods:name/mods:namePart/text()")
        r.subject = _texts(meta, f"{m}mods:subject/mods:topic/text()")
        r.place = _texts(meta, f"{m}mods:subject/mods:geographic/text()|{m}mods:originInfo/mods:place/mods:placeTerm/text()")
        r.description = _texts(meta, f"{m}mods:abstract/text()|{m}mods:note/text()")
        r.date = (_texts(meta, f"{m}mods:originInfo/mods:dateCreated/text()|{m}mods:originInfo/mods:dateIssued/text()")
                  or [""])[0]
        r.title_lang = _langs(meta, f"{m}mods:titleInfo/mods:title")
        resource = meta.xpath(f"{m}mods:typeOfResource", namespaces=NS)
        r.kind = ("manuscript" if resource and resource[0].get("manuscript") == "yes" else
                  _kind((_texts(meta, f"{m}mods:genre/text()|{m}mods:typeOfResource/text()") or [""])[0], MODS_KINDS))
        r.language = _texts(meta, f"{m}mods:language/mods:languageTerm/text()")
        r.rights = (_texts(meta, f"{m}mods:accessCondition/@xlink:href|{m}mods:accessCondition/text()".replace(
            "@xlink:href", "@*[local-name()='href']")) or [""])[0]
        ids = _texts(meta, f"{m}mods:identifier/text()|{m}mods:location/mods:shelfLocator/text()")
        urls = _texts(meta, f"{m}mods:location/mods:url/text()|{m}mods:relatedItem/mods:location/mods:url/text()")
        r.thumbnail = next(iter(_texts(meta, f"{m}mods:location/mods:url[@access='preview']/text()")), None)
    else:
        d = "*/dc:"
        r.title, r.creator = _texts(meta, f"{d}title/text()"), _texts(meta, f"{d}creator/text()|{d}contributor/text()")
        r.subject, r.description = _texts(meta, f"{d}subject/text()"), _texts(meta, f"{d}description/text()")
        r.place, r.language = _texts(meta, f"{d}coverage/text()"), _texts(meta, f"{d}language/text()")
        r.title_lang = _langs(meta, f"{d}title")
        r.date, r.kind = (_texts(meta, f"{d}date/text()") or [""])[0], _kind((_texts(meta, f"{d}type/text()") or [""])[0], DC_KINDS)
        r.rights = (_texts(meta, f"{d}rights/text()") or [""])[0]
        ids = _texts(meta, f"{d}identifier/text()")
        urls = [u for u in _texts(meta, f"{d}relation/text()|{d}source/text()") if _is_url(u)]
    urls = [u for u in [*ids, *urls] if _is_url(u)]  # links go on pages: http(s) only, never javascript: or data:
    r.identifiers = [i for i in ids if not _is_url(i)]  # indexed and compared, never shown as links
    r.manifest = next((u for u in urls if _is_manifest(u)), None)
    r.thumbnail = r.thumbnail if r.thumbnail and _is_url(r.thumbnail) else next((u for u in urls if _is_image(u)), None)
    r.link = next((u for u in urls if not _is_manifest(u) and not _is_image(u)), None)
    return r
