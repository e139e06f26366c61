"""Preservation events in the manner of PREMIS 3 (Library of Congress, PREMIS Data Dictionary
3.0 §2.4 "Event entity"): what happened to an object, when, with what outcome and by whom.

An event is a plain dict, stored with the object (``events/v<n>.json`` in the version that made
it, so ``fangzhi rebuild`` and any copy of the OCFL root keep them) or, for fixity checks, in the
fixity log outside the OCFL root (one check of every object each cycle must not make a version):

    {"id": "urn:uuid:…", "type": "format identification", "at": "2026-…Z",
     "detail": "…", "outcome": "success" | "warning" | "failure", "outcome_detail": "…",
     "agents": [{"role": "executing program" | "implementer", "name": "fido 1.6.1"}],
     "files": ["f1"]}

``premis_xml`` writes an object's events as a PREMIS 3.0 XML document (``premis:premis`` with one
``object`` and its ``event``s and ``agent``s).
"""
from __future__ import annotations

import uuid
from datetime import datetime, timezone

from lxml import etree

# PREMIS event types used, with their id.loc.gov preservation vocabulary codes (eventType scheme).
TYPES = {
    "ingestion": "ing", "message digest calculation": "mes", "format identification": "for",
    "virus check": "vir", "creation": "cre", "fixity check": "fix", "migration": "mig",
    "deletion": "del", "modification": "mod",
}
OUTCOMES = ("success", "warning", "failure")
NS = "http://www.loc.gov/premis/v3"
VOCABULARY = "http://id.loc.gov/vocabulary/preservation/eventType"


FIXITY_LOG = "audit/fixity/objects/"  # outside the OCFL root: each object's fixity checks (storage.fixity)


def fixity_log_key(object_id: str) -> str:
    """Where the fixity log keeps an object's checks ("item:x" → audit/fixity/objects/item/x.json)."""
    kind, _, name = object_id.partition(":")
    return f"{FIXITY_LOG}{kind}/{name}.json"


def now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")


def event(type: str, detail: str, *, outcome: str = "success", outcome_detail: str = "",
          program: str | None = None, user: str | None = None, files=(), at: str | None = None) -> dict:
    """A new event (``program``: the executing program with its version; ``user``: who made it happen)."""
    assert type in TYPES and outcome in OUTCOMES, (type, outcome)
    agents = ([{"role": "executing program", "name": program}] if program else []) + \
             ([{"role": "implementer", "name": user}] if user else [])
    return {"id": f"urn:uuid:{uuid.uuid4()}", "type": type, "at": at or now(), "detail": detail,
            "outcome": outcome, "outcome_detail": outcome_detail, "agents": agents, "files": list(files)}


def identification(pronom: dict, media_type: str, *, user: str | None = None, files=()) -> dict:
    """The format identification event of a file's ``tech["pronom"]`` (ingest.pronom.identify)."""
    if pronom.get("puid"):
        found = (f"{pronom['puid']} {pronom.get('format') or ''}" + (f" {pronom['version']}" if pronom.get("version") else "")
                 + f" (by {pronom.get('basis')}); media type {media_type}")
    else:
        found = f"no PRONOM signature matched; media type {media_type} (by its first bytes)"
    return event("format identification", "PRONOM format identification", program=pronom.get("tool"), user=user,
                 outcome="success" if pronom.get("puid") else "warning", outcome_detail=found, files=files)


def premis_file(file) -> dict:
    """What ``premis_xml`` says of a stored file (a repository.model.File)."""
    return {"id": file.id, "path": file.path, "sha256": file.sha256, "size": file.size,
            "media_type": file.media_type, "pronom": file.tech.get("pronom")}


def premis_xml(object_id: str, files: list[dict], events: list[dict]) -> bytes:
    """A PREMIS 3.0 document: the intellectual entity ``object_id``, its files (``{"id", "path",
    "sha256", "size", "media_type", "pronom"}``) as file objects, and the events linked to them."""
    P = f"{{{NS}}}"
    root = etree.Element(P + "premis", nsmap={"premis": NS}, version="3.0")

    def sub(parent, tag, text=None, **attrs):
        element = etree.SubElement(parent, P + tag, **attrs)
        if text is not None:
            element.text = str(text)
        return element

    def identifier(parent, kind, type_, value):
        ident = sub(parent, f"{kind}Identifier")
        sub(ident, f"{kind}IdentifierType", type_)
        sub(ident, f"{kind}IdentifierValue", value)

    entity = sub(root, "object", **{"{http://www.w3.org/2001/XMLSchema-instance}type": "premis:intellectualEntity"})
    identifier(entity, "object", "local", object_id)
    for f in files:
        obj = sub(root, "object", **{"{http://www.w3.org/2001/XMLSchema-instance}type": "premis:file"})
        identifier(obj, "object", "local", f"{object_id}/{f['id']}")
        characteristics = sub(obj, "objectCharacteristics")
        fixity = sub(characteristics, "fixity")
        sub(fixity, "messageDigestAlgorithm", "SHA-256")
        sub(fixity, "messageDigest", f["sha256"])
        sub(characteristics, "size", f["size"])
        fmt = sub(characteristics, "format")
        pronom = f.get("pronom") or {}
        designation = sub(fmt, "formatDesignation")
        sub(designation, "formatName", pronom.get("format") or f["media_type"])
        if pronom.get("version"):
            sub(designation, "formatVersion", pronom["version"])
        if pronom.get("puid"):
            registry = sub(fmt, "formatRegistry")
            sub(registry, "formatRegistryName", "PRONOM")
            sub(registry, "formatRegistryKey", pronom["puid"])
        sub(obj, "originalName", f["path"].rsplit("/", 1)[-1])
    agents: dict[str, str] = {}
    for e in events:
        ev = sub(root, "event")
        identifier(ev, "event", "UUID", e["id"].removeprefix("urn:uuid:"))
        sub(ev, "eventType", e["type"], authority="eventType", authorityURI=VOCABULARY,
            valueURI=f"{VOCABULARY}/{TYPES[e['type']]}")
        sub(ev, "eventDateTime", e["at"])
        if e.get("detail"):
            sub(sub(ev, "eventDetailInformation"), "eventDetail", e["detail"])
        outcome = sub(ev, "eventOutcomeInformation")
        sub(outcome, "eventOutcome", e["outcome"])
        if e.get("outcome_detail"):
            sub(sub(outcome, "eventOutcomeDetail"), "eventOutcomeDetailNote", e["outcome_detail"])
        for agent in e.get("agents", []):
            key = agents.setdefault(f"{agent['role']}\0{agent['name']}", f"agent-{len(agents) + 1}")
            link = sub(ev, "linkingAgentIdentifier")
            sub(link, "linkingAgentIdentifierType", "local")
            sub(link, "linkingAgentIdentifierValue", key)
            sub(link, "linkingAgentRole", agent["role"])
        for file_id in e.get("files") or [None]:
            link = sub(ev, "linkingObjectIdentifier")
            sub(link, "linkingObjectIdentifierType", "local")
            sub(link, "linkingObjectIdentifierValue", f"{object_id}/{file_id}" if file_id else object_id)
    for name_role, key in agents.items():
        role, name = name_role.split("\0", 1)
        agent = sub(root, "agent")
        identifier(agent, "agent", "local", key)
        sub(agent, "agentName", name)
        sub(agent, "agentType", "software" if role == "executing program" else "person")
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)
