"""MODS 3.7 (https://www.loc.gov/standards/mods/) for OAI-PMH (``mods``).

What an item maps to: titleInfo (the first language primary, the others translated), name
(personal or corporate, each name in each language, aliases as alternativeName, the role as
text and, when known, as a MARC relator code), typeOfResource, originInfo/dateCreated (the EDTF
date with encoding="edtf", then the display string), language (RFC 5646 codes), physicalDescription
(media types, extent), abstract, subject (topics; places as geographic with coordinates),
relatedItem type="host" (the collections), identifier (call numbers; ISBNs as isbn; the item
page as uri), location (the holding library, the item page, the IIIF manifest, the thumbnail),
accessCondition (the rights statement's URI and label), recordInfo (id, change date, source).
"""
from __future__ import annotations

import re

from lxml import etree

from repository.model import Item, best
from repository.vocab import rights_label

from .dc import zh_first

NS = "http://www.loc.gov/mods/v3"
SCHEMA = "http://www.loc.gov/standards/mods/v3/mods-3-7.xsd"
XLINK = "http://www.w3.org/1999/xlink"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
RESOURCE_TYPES = {"photo": "still image", "manuscript": "text", "book": "text", "audio": "sound recording",
                  "video": "moving image", "ebook": "text", "object": "three dimensional object"}
# MARC code list for relators (https://id.loc.gov/vocabulary/relators), by the roles archivists write
RELATORS = {
    "aut": ("author", "作者", "著", "著者", "撰", "撰者"), "pht": ("photographer", "摄影", "摄影者", "摄影师"),
    "edt": ("editor", "编", "编者", "主编"), "trl": ("translator", "译", "译者"), "ill": ("illustrator", "绘", "绘者", "插图"),
    "cll": ("calligrapher", "书", "书法", "书写"), "ivr": ("interviewer", "采访者", "采访人", "访谈者"),
    "ive": ("interviewee", "受访者", "受访人", "口述者"), "pbl": ("publisher", "出版者", "出版"),
    "dnr": ("donor", "捐赠者", "捐赠人", "捐赠"), "com": ("compiler", "辑", "辑者", "编纂"), "cre": ("creator", "创作者"),
    "ctb": ("contributor", "贡献者"), "nrt": ("narrator", "讲述者"), "spk": ("speaker", "讲者"), "art": ("artist", "艺术家"),
    "cmp": ("composer", "作曲"), "prf": ("performer", "表演者"), "egr": ("engraver", "刻工", "刻"), "prt": ("printer", "印刷者", "刊刻"),
}
ROLE_CODES = {name: code for code, names in RELATORS.items() for name in names}
ISBN = re.compile(r"^(?:ISBN[:\s]*)?((?:97[89][-\s]?)?(?:\d[-\s]?){9}[\dXx])$", re.IGNORECASE)


def _el(parent, name: str, text: str | None = None, lang: str | None = None, **attributes):
    node = etree.SubElement(parent, f"{{{NS}}}{name}", {k: v for k, v in attributes.items() if v})
    if text is not None:
        node.text = text
    if lang and lang != "none":
        node.set(XML_LANG, lang)
    return node


def _names(root, agents, default_role: str, primary: bool) -> None:
    for n, agent in enumerate(agents):
        node = _el(root, "name", type="corporate" if agent.type == "organization" else "personal",
                   usage="primary" if primary and n == 0 else None)
        for lang, text in zh_first(agent.name):
            _el(node, "namePart", text, lang)
        role = _el(node, "role")
        text = agent.role or default_role
        code = ROLE_CODES.get(text.strip().lower(), ROLE_CODES.get(default_role) if not agent.role else None)
        if code:
            _el(role, "roleTerm", code, type="code", authority="marcrelator")
        _el(role, "roleTerm", text, type="text")
        for alias in agent.aliases:
            _el(_el(node, "alternativeName", altType=alias.type), "namePart", alias.name)


def record(item: Item, context) -> etree._Element:
    """``item`` as a MODS record (``context``: alliance.oai.Context)."""
    root = etree.Element(f"{{{NS}}}mods", nsmap={None: NS, "xlink": XLINK, "xsi": XSI}, version="3.7")
    root.set(f"{{{XSI}}}schemaLocation", f"{NS} {SCHEMA}")
    for n, (lang, text) in enumerate(zh_first(item.title)):
        _el(_el(root, "titleInfo", lang=lang, usage="primary" if n == 0 else None,
                type="translated" if n else None), "title", text)
    _names(root, item.creators, "creator", True)
    _names(root, item.contributors, "contributor", False)
    _el(root, "typeOfResource", RESOURCE_TYPES[item.kind], manuscript="yes" if item.kind == "manuscript" else None)
    if item.date:
        origin = _el(root, "originInfo", eventType="production")
        if item.date.get("edtf"):
            _el(origin, "dateCreated", item.date["edtf"], encoding="edtf", keyDate="yes")
        if item.date.get("display"):
            _el(origin, "dateCreated", item.date["display"])
    for code in item.language:
        if code != "none":
            _el(_el(root, "language"), "languageTerm", code, type="code", authority="rfc5646")
    media_types = list(dict.fromkeys(f.media_type for f in context.files if f.role == "original"))
    if media_types or item.extent:
        physical = _el(root, "physicalDescription")
        for media_type in media_types:
            _el(physical, "internetMediaType", media_type)
        if item.extent:
            _el(physical, "extent", item.extent)
    for lang, text in zh_first(item.description):
        _el(root, "abstract", text, lang)
    for subject in item.subjects:
        _el(_el(root, "subject"), "topic", subject)
    for place in item.places:
        for n, (lang, text) in enumerate(zh_first(place.name)):
            node = _el(root, "subject", lang=lang)
            _el(node, "geographic", text)
            if n == 0 and place.coordinates:
                _el(_el(node, "cartographics"), "coordinates", f"{place.coordinates[0]}, {place.coordinates[1]}")
    for collection in context.collections:
        host = _el(root, "relatedItem", type="host")
        for lang, text in zh_first(collection.title):
            _el(_el(host, "titleInfo", lang=lang), "title", text)
        _el(host, "identifier", collection.id, type="local")
    for identifier in item.identifiers:
        isbn = ISBN.match(identifier.strip())
        _el(root, "identifier", re.sub(r"[-\s]", "", isbn.group(1)) if isbn else identifier,
            type="isbn" if isbn else "local")
    _el(root, "identifier", context.page, type="uri")
    location = _el(root, "location")
    if item.holding_library:
        _el(location, "physicalLocation", item.holding_library)
    _el(location, "url", context.page, usage="primary display", access="object in context")
    _el(location, "url", context.manifest, displayLabel="IIIF manifest",
        note="http://iiif.io/api/presentation/3/context.json")
    if context.thumbnail:
        _el(location, "url", context.thumbnail, access="preview")
    if item.rights:
        condition = _el(root, "accessCondition", rights_label(item.rights, "en"), type="use and reproduction")
        condition.set(f"{{{XLINK}}}href", item.rights)
    info = _el(root, "recordInfo")
    _el(info, "recordContentSource", item.holding_library or context.source)
    _el(info, "recordChangeDate", context.datestamp, encoding="iso8601")
    _el(info, "recordIdentifier", context.identifier, source=best({"zh": context.source}))
    return root
