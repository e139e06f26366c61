"""Simple Dublin Core for OAI-PMH (``oai_dc``, §Appendix: every repository offers it).

What an item maps to: title, creator and contributor (each name in each language, the role in
MODS only), subject, coverage (places), description, date (the EDTF date, then its display
string), type (DCMI Type Vocabulary), format (the media types of the files a harvester may see,
the extent), identifier (the item page's URL, then its call numbers), language, rights (the
rights statement's URI), publisher (the holding library), relation (the IIIF manifest's URL).
"""
from __future__ import annotations

from lxml import etree

from repository.model import Item

NS = "http://www.openarchives.org/OAI/2.0/oai_dc/"
SCHEMA = "http://www.openarchives.org/OAI/2.0/oai_dc.xsd"
DC = "http://purl.org/dc/elements/1.1/"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
# DCMI Type Vocabulary (http://purl.org/dc/dcmitype/)
TYPES = {"photo": "StillImage", "manuscript": "Text", "book": "Text", "audio": "Sound", "video": "MovingImage",
         "ebook": "Text", "object": "PhysicalObject"}


def _root():
    root = etree.Element(f"{{{NS}}}dc", nsmap={"oai_dc": NS, "dc": DC, "xsi": XSI})
    root.set(f"{{{XSI}}}schemaLocation", f"{NS} {SCHEMA}")
    return root


def _add(root, name: str, text: str | None, lang: str | None = None) -> None:
    if text:
        node = etree.SubElement(root, f"{{{DC}}}{name}")
        node.text = text
        if lang and lang != "none":
            node.set(XML_LANG, lang)


def zh_first(values: dict) -> list[tuple[str, str]]:
    """A language map's (language, text) pairs, Chinese first (the archive's first language)."""
    return sorted(values.items(), key=lambda pair: not pair[0].startswith("zh"))


def _langmap(root, name: str, values: dict) -> None:
    for lang, text in zh_first(values):
        _add(root, name, text, lang)


def describe(title: dict, description: dict):
    """A set's description (ListSets setDescription): its title and description in each language."""
    root = _root()
    _langmap(root, "title", title)
    _langmap(root, "description", description)
    return root


def record(item: Item, context) -> etree._Element:
    """``item`` as an oai_dc record (``context``: alliance.oai.Context)."""
    root = _root()
    _langmap(root, "title", item.title)
    for name, agents in (("creator", item.creators), ("contributor", item.contributors)):
        for agent in agents:
            _langmap(root, name, agent.name)
    for subject in item.subjects:
        _add(root, "subject", subject)
    for place in item.places:
        _langmap(root, "coverage", place.name)
    _langmap(root, "description", item.description)
    _add(root, "date", item.date.get("edtf"))
    _add(root, "date", item.date.get("display"))
    _add(root, "type", TYPES.get(item.kind))
    for media_type in dict.fromkeys(f.media_type for f in context.files if f.role == "original"):
        _add(root, "format", media_type)
    _add(root, "format", item.extent)
    _add(root, "identifier", context.page)
    for identifier in item.identifiers:
        _add(root, "identifier", identifier)
    for language in item.language:
        _add(root, "language", language)
    _add(root, "rights", item.rights)
    _add(root, "publisher", item.holding_library)
    _add(root, "relation", context.manifest)
    return root
