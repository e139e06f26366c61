"""The leak matrix: every visibility × every role × every read route gives exactly the allowed answer.

A route added to the app must be listed in ROUTES (checked here) or in EXEMPT with a reason,
or test_every_route_is_in_the_matrix fails.
"""
import re
import time
from datetime import date, timedelta

import pytest

from repository.access import SYSTEM
from repository.services import NewFile
from tests.helpers import photo_item
from tests.web.auth_helpers import add_users, login

ROLES = ("anonymous", "researcher", "member", "curator", "archivist", "admin")
# API tokens: their scopes, and the role whose material they read (hand-written, not from SCOPES).
# Writing never widens what a token reads.
TOKENS = {"token-read": (["read"], "researcher"), "token-read-alliance": (["read-alliance"], "member"),
          "token-write": (["write"], "researcher"), "token-read-staff": (["read-staff"], "archivist"),
          "token-write-read-alliance": (["write", "read-alliance"], "member")}
EVERYONE = set(ROLES)
# Hand-written expectations (not computed by the policy under test).
CASES = {
    "public": EVERYONE,
    "alliance": {"member", "curator", "archivist", "admin"},
    "staff": {"archivist", "admin"},
    "embargoed": {"archivist", "admin"},  # until tomorrow
    "private": {"admin"},
    "withdrawn": {"archivist", "admin"},
    "restricted-file": EVERYONE,  # the item; its second file is staff-only
}
STAFF_FILE = {"archivist", "admin"}


def title(case):
    return f"泄露测试{case}"


def item_id(case):
    return f"leak-{case}"


# Each route: (case, client) -> whether the item (or file) was shown. Each asserts the exact
# status for a hidden item so that an error page is not mistaken for hiding.
def _status(client, url, hidden=(404, 410)):
    response = client.get(url)
    assert response.status_code in (200, *hidden), (url, response.status_code)
    return response


def item_page(client, case):
    r = _status(client, f"/items/{item_id(case)}")
    return r.status_code == 200 and title(case) in r.get_data(as_text=True)


def api_item(client, case):
    r = _status(client, f"/api/items/{item_id(case)}")
    return r.status_code == 200 and r.json["id"] == item_id(case)


def api_versions(client, case):
    return _status(client, f"/api/items/{item_id(case)}/versions").status_code == 200


def file_download(client, case):
    r = _status(client, f"/items/{item_id(case)}/files/f1")
    return r.status_code == 200 and r.data == f"{case} scan".encode()


def api_list(client, case):
    return item_id(case) in {i["id"] for i in client.get("/api/items?per_page=100").json["items"]}


def api_collection(client, case):
    data = client.get("/api/collections/leaks?per_page=100").json
    return item_id(case) in {i["id"] for i in data["items"]["items"]}


def home_page(client, case):
    return title(case) in client.get("/").get_data(as_text=True)


def collection_page(client, case):
    return title(case) in client.get("/collections/leaks").get_data(as_text=True)


def search_page(client, case):
    html = client.get(f"/search?q=泄露测试&per_page=50&subject={case}").get_data(as_text=True)
    return f'href="/items/{item_id(case)}"' in html


def api_search(client, case):
    data = client.get(f"/api/search?q={title(case)}&per_page=50").json
    facets = client.get("/api/search?q=泄露测试&per_page=1").json["facets"]
    counted = case in {f["value"] for f in facets["subject"]}
    shown = item_id(case) in {h["id"] for h in data["hits"]}
    assert counted == shown, "facets must count exactly what the hits show"
    return shown


def api_suggest(client, case):
    return title(case) in client.get("/api/suggest?q=泄露测试").json["suggestions"]


def iiif_base(client, case):
    r = client.get(f"/iiif/3/{item_id(case)}")
    assert r.status_code in (303, 404, 410), r.status_code
    return r.status_code == 303


def iiif_info(client, case):
    r = _status(client, f"/iiif/3/{item_id(case)}/info.json")
    return r.status_code == 200 and r.json["id"].endswith(f"/iiif/3/{item_id(case)}")


def iiif_image(client, case):
    r = _status(client, f"/iiif/3/{item_id(case)}/full/max/0/default.jpg")
    return r.status_code == 200 and r.mimetype == "image/jpeg"


def tiny_pyramid() -> bytes:
    """A small tiled, JPEG-compressed pyramidal TIFF, as ingest makes them, for the IIIF routes."""
    from iiif.imaging import pyvips

    return (pyvips.Image.black(64, 48) + 128).cast("uchar").tiffsave_buffer(tile=True, pyramid=True,
                                                                             compression="jpeg")


def manifest_url(case):
    return f"http://localhost/iiif/3/manifest/{item_id(case)}"


def iiif_manifest(client, case):
    r = _status(client, f"/iiif/3/manifest/{item_id(case)}")
    if r.status_code != 200:
        return False
    if case == "restricted-file":  # the staff-only scan of the release form (f2) and its OCR
        assert ("/canvas/f2" in r.get_data(as_text=True)) == (client.role in STAFF_FILE)
    return r.json["label"] == {"zh": [title(case)]}


def iiif_collection(client, case):
    return manifest_url(case) in {i["id"] for i in client.get("/iiif/3/collection/leaks").json["items"]}


def iiif_search(client, case):
    r = _status(client, f"/iiif/3/search/{item_id(case)}?q=文字记录")
    if case == "restricted-file":  # text of the staff-only file is found by staff only
        secret = client.get(f"/iiif/3/search/{item_id(case)}?q=同意书").json["items"]
        assert bool(secret) == (client.role in STAFF_FILE)
    return r.status_code == 200 and any(case in a["body"]["value"] for a in r.json["items"])


def iiif_search1(client, case):
    r = _status(client, f"/iiif/search/1/{item_id(case)}?q=文字记录")
    return r.status_code == 200 and r.json["within"]["total"] == 1


def iiif_autocomplete(client, case):
    r = _status(client, f"/iiif/3/autocomplete/{item_id(case)}?q={case[:3]}")
    if case == "restricted-file":
        secret = client.get(f"/iiif/3/autocomplete/{item_id(case)}?q=同意").json["items"]
        assert bool(secret) == (client.role in STAFF_FILE)
    return r.status_code == 200 and bool(r.json["items"])


def iiif_autocomplete1(client, case):
    r = _status(client, f"/iiif/search/1/autocomplete/{item_id(case)}?q={case[:3]}")
    return r.status_code == 200 and bool(r.json["terms"])


def changes(client) -> list[dict]:
    found, url = [], "/iiif/discovery/changes/page/0"
    while url:
        page = client.get(url).json
        found += page["orderedItems"]
        url = page.get("next", {}).get("id", "").removeprefix("http://localhost")
    return found


def discovery(client, case):
    """Change Discovery lists what anonymous readers see, whoever asks (PUBLIC_ONLY): never an item
    that was never public; a withdrawn one ends with a Delete."""
    found = [a["type"] for a in changes(client) if a["object"]["id"] == manifest_url(case)]
    if case in ("alliance", "staff", "embargoed", "private"):
        assert found == []
    return bool(found) and found[-1] != "Delete"


def discovery_collection(client, case):
    assert client.get("/iiif/discovery/changes").json["totalItems"] == len(changes(client))
    return discovery(client, case)


def ocr_files(case) -> list:
    """OCR text for the IIIF search routes; the restricted file's page has its own (staff-only) text."""
    from tests.iiif.builders import ocr

    files = [NewFile("pyramid.ocr.json", ocr([f"{case}文字记录"]), "application/json", role="derivative",
                     derived_from="f1", purpose="ocr")]
    if case == "restricted-file":
        files += [NewFile("pyramid.tif", tiny_pyramid(), "image/tiff", role="derivative", derived_from="f2",
                          purpose="pyramid", tech={"width": 64, "height": 48}),
                  NewFile("pyramid.ocr.json", ocr(["同意书签名"]), "application/json", role="derivative",
                          derived_from="f2", purpose="ocr")]
    return files


# An interview beside each case's item, with the same access; its restricted segment's words are for staff.
INTERVIEW = {"transcripts": [{"language": "zh", "cues": [{"start": 0, "end": 4, "text": "住在南长街。"},
                                                         {"start": 5, "end": 9, "text": "隔壁的秘密。"}]}],
             "segments": [{"start": 0, "title": "童年"}, {"start": 5, "title": "秘密", "restricted": True}]}


def interview_id(case):
    return f"leak-{case}-oh"


def add_interview(archive, case, **fields):
    from oral_history.model import Interview
    from oral_history.redaction import spans
    from oral_history.service import save_interview

    record = archive.create_item({"id": interview_id(case), "kind": "audio", "title": {"zh": f"访谈{case}"}, **fields},
                                 [NewFile("interview.wav", f"{case} wav".encode(), "audio/wav", 1)], user=SYSTEM)
    interview = Interview.from_dict(INTERVIEW)
    silenced = NewFile("access.redacted.webm", f"{case} redacted".encode(), "audio/webm", role="derivative",
                       derived_from="f1", purpose="access",  # as oral_history.redaction makes it
                       tech={"redacted": True, "spans": spans(interview, 60.0)})
    save_interview(archive, interview_id(case), interview, user=SYSTEM, expected_version=record.version,
                   add_files=[silenced])
    if case == "withdrawn":
        archive.withdraw_item(interview_id(case), user=SYSTEM, reason="test")


# An interview whose second passage was restricted later (as oral_history.redaction.save does it: the
# copies silencing passage A replaced by copies silencing A and B, in a later version).
TWICE = "leak-twice-oh"
B_AUDIBLE = b"passage B audible"


def add_twice_restricted(archive):
    from oral_history.model import Interview
    from oral_history.redaction import spans
    from oral_history.service import save_interview
    from tests.iiif.builders import derivative

    record = archive.create_item({"id": TWICE, "kind": "audio", "title": {"zh": "两次限制的访谈"}},
                                 [NewFile("interview.wav", b"wav: " + B_AUDIBLE, "audio/wav", 1)], user=SYSTEM)
    record = archive.update_item(TWICE, {}, expected_version=record.version, user=SYSTEM, add_files=[
        derivative("f1", "access.webm", b"webm: " + B_AUDIBLE, "audio/webm", "access"),
        derivative("f1", "access.m4a", b"m4a: " + B_AUDIBLE, "audio/mp4", "access")])
    segments = [{"start": 0, "title": "童年"}, {"start": 5, "title": "甲", "restricted": True}, {"start": 7, "title": "乙"}]
    for restricted in ({"甲"}, {"甲", "乙"}):
        interview = Interview.from_dict({"segments": [{**s, "restricted": s["title"] in restricted} for s in segments]})
        silenced = spans(interview, 12.0)  # as oral_history.redaction makes them
        made = [f.id for f in archive.get_item(TWICE, user=SYSTEM).value.files if f.tech.get("redacted")]
        quiet = b"A silenced" if restricted == {"甲"} else b"A and B silenced"
        record = save_interview(archive, TWICE, interview, user=SYSTEM, expected_version=record.version, remove_files=made,
                                add_files=[derivative("f1", f"access.redacted.{ext}",
                                                      quiet + (b", " + B_AUDIBLE if "乙" not in restricted else b"")
                                                      + ext.encode(), media, "access", redacted=True, spans=silenced)
                                           for ext, media in (("webm", "audio/webm"), ("m4a", "audio/mp4"))])


# Interviews of public items whose recording is restricted (or not): their interviewee, interviewer,
# place and language are shown as facets and found by filters exactly to those who may hear the
# recording (and so read the interview). case → (recording's access, restricted passage without
# redacted copies, who may read the interview).
FACET_CASES = {"open": (None, False, EVERYONE), "alliance": ("alliance", False, {"member", "curator", "archivist", "admin"}),
               "staff": ("staff", False, STAFF_FILE), "closed": (None, True, STAFF_FILE)}
FACET_LANGUAGES = {"open": "hak", "alliance": "nan", "staff": "gan", "closed": "hsn"}


def facet_values(case) -> dict:
    return {"interviewee": f"受访者{case}", "person": f"采访者{case}", "place": f"村庄{case}",
            "language": FACET_LANGUAGES[case]}


def add_facet_interview(archive, case):
    from oral_history.model import Interview
    from oral_history.service import save_interview
    from tests.iiif.builders import derivative

    item_id, (recording_access, closed, _) = f"leak-facets-{case}", FACET_CASES[case]
    record = archive.create_item({"id": item_id, "kind": "audio", "title": {"zh": f"访谈面{case}"},
                                  "subjects": [f"面{case}"]},
                                 [NewFile("interview.wav", f"{case} wav".encode(), "audio/wav", 1, access=recording_access)],
                                 user=SYSTEM)
    record = archive.update_item(item_id, {}, expected_version=record.version, user=SYSTEM, add_files=[
        derivative("f1", "access.webm", f"{case} webm".encode(), "audio/webm", "access", duration=10.0)])
    names = facet_values(case)
    interview = Interview.from_dict({
        "interviewees": [{"name": {"zh": names["interviewee"]}}], "interviewers": [{"name": {"zh": names["person"]}}],
        "place": {"name": {"zh": names["place"]}}, "languages": [names["language"]],
        "transcripts": [{"language": names["language"], "cues": [{"start": 0, "end": 4, "text": "住在南长街。"}]}],
        "segments": [{"start": 0, "title": "童年"}] + ([{"start": 5, "title": "秘密", "restricted": True}] if closed else [])})
    save_interview(archive, item_id, interview, user=SYSTEM, expected_version=record.version)


def interview_export(client, case, name):
    r = _status(client, f"/items/{interview_id(case)}/interview.{name}")
    if r.status_code != 200:
        return False
    assert ("秘密" in r.get_data(as_text=True)) == (client.role in STAFF_FILE), "restricted words are for staff"
    return "南长街" in r.get_data(as_text=True)


def interview_vtt(client, case):
    return interview_export(client, case, "vtt")


def interview_ohms(client, case):
    return interview_export(client, case, "xml")


def api_search_alliance(client, case):
    """scope=alliance: this archive's hits and, live, those of the member "self" (this same site on
    loopback, whose token we hold): the local part as the reader may see, the member's only up to
    alliance material, and that only for readers who may see alliance material here."""
    data = client.get(f"/api/search?scope=alliance&q={title(case)}&per_page=50").json
    assert {m["name"]: m["status"] for m in data["members"]} == {"self": "ok"}
    remote = item_id(case) in {h["id"] for h in data["hits"] if h["member"] == "self"}
    assert not remote or case in ("public", "restricted-file", "alliance"), "only public and alliance cross"
    assert remote == (case in ("public", "restricted-file") or (case == "alliance" and client.role in CASES["alliance"]))
    page = client.get(f"/search?scope=alliance&q={title(case)}").get_data(as_text=True)
    assert (f'/items/{item_id(case)}"' in page) == (item_id(case) in {h["id"] for h in data["hits"]})
    return item_id(case) in {h["id"] for h in data["hits"]}


# a collection per case, for the alliance member page (collections have no withdrawal: a staff one)
COLLECTION_VISIBILITY = {"public": "public", "alliance": "alliance", "staff": "staff", "embargoed": "embargoed",
                         "private": "private", "withdrawn": "staff", "restricted-file": "public"}


def alliance_member_page(client, case):
    """A member's collections, as its token crosses: public ones for all, alliance ones for
    readers who may see alliance material here, nothing else whoever asks."""
    r = _status(client, "/alliance/self")
    assert r.status_code == 200
    return f"泄露馆藏{case}" in r.get_data(as_text=True)


PRONOM = {"puid": "fmt/43", "format": "JPEG File Interchange Format", "version": "1.01", "basis": "signature"}
PUBLIC_ONLY = {"iiif_presentation.changes", "iiif_presentation.changes_page"}
CROSSES = {"alliance.member"}  # what crosses to another member: public, and alliance material for members
def oai(client, case):
    """OAI-PMH: a record with metadata, in GetRecord and in the list. Harvesters see public
    material, alliance tokens also alliance material (HARVESTERS); an item once public and then
    withdrawn is a deleted header; the staff-only file of a public item is never linked."""
    from lxml import etree

    ns = {"o": "http://www.openarchives.org/OAI/2.0/"}
    identifier = f"oai:localhost:{item_id(case)}"
    record = etree.fromstring(_status(client, f"/oai?verb=GetRecord&metadataPrefix=mods&identifier={identifier}").data)
    listed = etree.fromstring(_status(client, "/oai?verb=ListRecords&metadataPrefix=oai_dc").data)
    headers = {h.findtext("o:identifier", namespaces=ns): h for h in listed.iterfind(".//o:header", ns)}
    shown = record.find(".//o:metadata", ns) is not None
    assert shown == (identifier in headers and headers[identifier].get("status") != "deleted")
    if case == "withdrawn":  # persistent deleted records: it was public
        assert record.find(".//o:header", ns).get("status") == "deleted" == headers[identifier].get("status")
    elif not shown:
        assert record.find("o:error", ns).get("code") == "idDoesNotExist" and identifier not in headers
    text = etree.tostring(record).decode() + etree.tostring(listed).decode()
    assert "release-form" not in text and "/files/f2" not in text and "application/pdf" not in text
    return shown


def correct_ocr(client, case):
    """The OCR correction page: staff who may see the item (never a token, nor a reader while
    CORRECTIONS_VOLUNTEERS is off), with the page's OCR text."""
    archive = client.application.extensions["fangzhi"].archive
    ocr_id = next(f.id for f in archive.get_item(item_id(case), user=SYSTEM).value.files
                  if f.purpose == "ocr" and f.derived_from == "f1")
    r = _status(client, f"/items/{item_id(case)}/corrections/ocr/{ocr_id}", hidden=(302, 403, 404, 410))
    return r.status_code == 200 and f"{case}文字记录" in r.get_data(as_text=True)


def correct_transcript(client, case):
    """The transcript correction page: the cues as the user may read them (the restricted cue only
    for those cleared for it)."""
    r = _status(client, f"/items/{interview_id(case)}/corrections/transcript", hidden=(302, 403, 404, 410))
    text = r.get_data(as_text=True)
    assert "隔壁的秘密" not in text or client.role in STAFF_FILE, (client.role, case)
    return r.status_code == 200 and "住在南长街" in text


CORRECTORS = {"corrections.ocr", "corrections.transcript"}  # staff sessions only (volunteers off by default)
def exhibition_id(case):
    return f"leak-ex-{case}"


def add_exhibition(fz, case):
    """A published exhibition per case: its cover and every kind of block on the case's item (its
    interview for the clip), made before the item was restricted as much as it is now."""
    item = item_id(case)
    blocks = [{"kind": "item", "item": item}, {"kind": "region", "item": item, "region": "0,0,32,24"},
              {"kind": "gallery", "items": [item]}, {"kind": "clip", "item": interview_id(case), "start": 0, "end": 9},
              {"kind": "quote", "item": item, "page": 1, "text": f"{case}文字记录"}, {"kind": "timeline"}, {"kind": "map"}]
    if case == "restricted-file":  # the staff-only page's words
        blocks.append({"kind": "quote", "item": item, "page": 2, "text": "同意书签名"})
    fz.exhibitions.save({"id": exhibition_id(case), "title": {"zh": f"展览{case}"}, "cover": item,
                         "sections": [{"heading": "展品", "blocks": blocks}]}, user=SYSTEM, expected_version=0)
    fz.exhibitions.publish(exhibition_id(case), user=SYSTEM, expected_version=1)


def exhibition_page(client, case):
    """The page shows each block of an item only to those who may see it; the clip's restricted
    passage is for staff, and so is the quotation from the staff-only page."""
    r = _status(client, f"/exhibitions/{exhibition_id(case)}")
    assert r.status_code == 200
    html = r.get_data(as_text=True)
    shown = title(case) in html
    assert (f'/items/{item_id(case)}"' in html) == shown == (f"/iiif/3/{item_id(case)}~" in html)
    assert ("南长街" in html) == (f"访谈{case}" in html) == shown
    assert "秘密" not in html or client.role in STAFF_FILE
    if case == "restricted-file":
        assert ("同意书签名" in html) == (client.role in STAFF_FILE)
    assert (f"{case}文字记录" in html) == shown
    return shown


def exhibition_list(client, case):
    html = _status(client, "/exhibitions").get_data(as_text=True)
    assert f"/exhibitions/{exhibition_id(case)}" in html  # published: listed for all, its cover as allowed
    return f"/iiif/3/{item_id(case)}~" in html


def exhibition_iiif(client, case):
    r = _status(client, f"/exhibitions/{exhibition_id(case)}/iiif")
    return manifest_url(case) in {i["id"] for i in r.json["items"]}
LEAK_AUTHORITIES = {"person": "person-1", "family": "family-1", "organization": "org-1", "place": "place-1"}


def authority_page(kind):
    """An authority record's page lists the items about it that the reader may see, no other."""
    path = {"person": "people", "family": "families", "organization": "organizations", "place": "places"}[kind]

    def shown(client, case):
        r = _status(client, f"/{path}/{LEAK_AUTHORITIES[kind]}")
        assert r.status_code == 200
        return title(case) in r.get_data(as_text=True)
    return shown


def api_authority_items(client, case):
    r = _status(client, f"/api/authorities/{LEAK_AUTHORITIES['family']}/items?per_page=100")
    assert r.status_code == 200
    return item_id(case) in {i["id"] for i in r.json["items"]}


HARVESTERS = {"oai.endpoint"}  # public material; alliance material for alliance tokens, not sessions
def cite_bibtex(client, case):
    r = _status(client, f"/items/{item_id(case)}/cite.bib")
    return r.status_code == 200 and title(case) in r.get_data(as_text=True)


def cite_ris(client, case):
    r = _status(client, f"/items/{item_id(case)}/cite.ris")
    return r.status_code == 200 and f"TI  - {title(case)}" in r.get_data(as_text=True)


def page_text(client, case):
    """The OCR text page (web.reader): the staff-only scan's text for staff alone."""
    r = _status(client, f"/items/{item_id(case)}/text")
    if r.status_code != 200:
        return False
    html = r.get_data(as_text=True)
    if case == "restricted-file":
        assert ("同意书签名" in html) == (client.role in STAFF_FILE)
    return f"{case}文字记录" in html


_shared = {}


def shared_list(client, case):
    """A list the admin shared with every case's item (web.lists): each item as the viewer may see it."""
    app = client.application
    if app not in _shared:
        from repository.access import User

        admin = User("admin", frozenset({"admin"}))
        lists = app.extensions["fangzhi"].lists
        saved = lists.create("泄露测试列表", user=admin)
        for c in CASES:
            lists.add(saved.id, item_id(c), user=admin)
        _shared[app] = lists.share(saved.id, True, user=admin)
    html = _status(client, f"/shared/{_shared[app]}").get_data(as_text=True)
    return title(case) in html


ROUTES = {
    "search.api?scope=alliance": api_search_alliance, "alliance.member": alliance_member_page,
    "iiif_presentation.manifest": iiif_manifest, "iiif_presentation.collection": iiif_collection,
    "iiif_presentation.search": iiif_search, "iiif_presentation.search1": iiif_search1,
    "iiif_presentation.autocomplete": iiif_autocomplete, "iiif_presentation.autocomplete1": iiif_autocomplete1,
    "iiif_presentation.changes_page": discovery, "iiif_presentation.changes": discovery_collection,
    "search.page": search_page, "search.api": api_search, "search.suggest": api_suggest,
    "public.item": item_page, "api.item": api_item, "api.versions": api_versions,
    "public.file": file_download, "api.items": api_list, "api.collection": api_collection,
    "public.home": home_page, "public.collection": collection_page,
    "iiif_image.base": iiif_base, "iiif_image.info": iiif_info, "iiif_image.image": iiif_image,
    "public.interview_vtt": interview_vtt, "public.interview_ohms": interview_ohms,
    "oai.endpoint": oai,
    "corrections.ocr": correct_ocr, "corrections.transcript": correct_transcript,
    "researcher.bibtex": cite_bibtex, "researcher.ris": cite_ris, "reader.text": page_text,
    "lists.shared": shared_list,
    "exhibitions.page": exhibition_page, "exhibitions.index": exhibition_list, "exhibitions.iiif": exhibition_iiif,
    "authority.person": authority_page("person"), "authority.family": authority_page("family"),
    "authority.organization": authority_page("organization"), "authority.place": authority_page("place"),
    "authority.api_items": api_authority_items,
}
EXEMPT = {
    "static": "stylesheets only", "healthz": "no data", "public.set_language": "sets a cookie",
    "api.collections": "collections only (collection visibility is tested in test_services)",
    "auth.login": "form", "auth.password": "own account", "admin.index": "staff area: test_admin_requires_roles",
    "admin.users": "admin only: test_admin_requires_roles", "admin.tokens": "admin only: test_admin_requires_roles",
    "admin.audit": "staff only: test_admin_requires_roles", "admin.new_item": "staff only: test_admin_requires_roles",
    "admin.edit_item": "staff only: test_admin_requires_roles",
    "admin.items": "staff only (items the user may see): test_staff_list_preview_and_export_show_what_the_user_may_see",
    "interviews.edit": "staff only: test_interview_page_is_for_managers_only",
    "api.openapi": "the API description",
    "ingest.upload_page": "staff only: test_ingest_web", "ingest.jobs": "staff only: test_ingest_web",
    "ingest.job": "staff only: test_ingest_web",
    "admin.preservation": "staff who may see the item: test_preservation_pages_are_for_staff_who_may_see_the_item",
    "admin.premis": "staff who may see the item: test_preservation_pages_are_for_staff_who_may_see_the_item",
    "iiif_presentation.top_collection": "collections only (visibility of collections: tests/iiif/test_presentation)",
    "iiif_presentation.mirador": "the viewer's script",
    "vendor.asset": "listed browser libraries from npm (tests/web/test_site.py::test_vendor_libraries_*)",
    "alliance.portal": "member names and counts of collections (tests/alliance/test_federated.py::test_portal_*)",
    "admin.alliance": "admin only: tests/alliance/test_web.py::test_admin_page_lists_members_with_status_in_the_readers_language",
    "iiif_presentation.alliance_collection": "alliance members' manifests from their public Change Discovery streams, "
                                            "no local item: tests/alliance/test_discovery.py",
    "iiif_presentation.viewer": "a page naming a same-site or member IIIF URL, no record: "
                                "tests/alliance/test_browser_viewer.py::test_the_viewer_opens_only_this_site_or_members",
    "batch.page": "a form, archivists only: tests/web/test_batch_ingest.py::test_batch_routes_need_an_archivist_and_csrf",
    "staff.collections": "collections the user may see, staff only: "
                         "tests/web/test_collections_admin.py::test_collection_writes_need_an_archivist_and_csrf",
    "staff.new_collection": "a form, archivists only: tests/web/test_collections_admin.py",
    "staff.edit_collection": "a collection the user may see, archivists only: tests/web/test_collections_admin.py",
    "staff.purge": "admins only: tests/web/test_collections_admin.py::"
                   "test_purge_from_the_staff_area_is_for_admins_with_a_reason_and_the_id_typed",
    "staff.edtf": "checks a date typed in a form, no record: "
                  "tests/web/test_item_form_full.py::test_the_live_date_check_gives_the_problem_and_the_reign_year",
    "bulk.preview": "managers, items they may see: test_staff_list_preview_and_export_show_what_the_user_may_see",
    "bulk.export": "managers, items they may see: test_staff_list_preview_and_export_show_what_the_user_may_see",
    "bulk.jobs": "managers, job names only: test_staff_list_preview_and_export_show_what_the_user_may_see",
    "bulk.job": "managers, entries of items they may see: test_staff_list_preview_and_export_show_what_the_user_may_see",
    "bulk.update": "an upload form: tests/web/test_bulk_web.py::test_export_edit_and_update_by_excel",
    "bulk.update_preview": "the uploader's sheet, rows of items they may see: "
                           "tests/ingest/test_update_sheet.py::test_rows_of_items_the_user_cannot_see",
    "corrections.queue": "archivists and admins, proposals of items they may see: "
                         "tests/corrections/test_corrections.py::test_volunteers_propose_only_when_enabled_and_never_accept",
    "dashboard.figures_json": "staff or read-staff tokens, counts of what they may see: "
                              "tests/web/test_dashboard.py::test_counts_follow_the_access_policy_of_the_one_asking",
    "dashboard.metrics": "read-staff tokens or staff: "
                         "tests/web/test_dashboard.py::test_readers_and_anonymous_get_no_figures_and_tokens_are_scoped",
    "mentions.queue": "archivists and admins, items they may see, restricted passages without their text: "
                      "tests/web/test_mention_views.py",
    "browse.index": "facet counts under the search's access filter: tests/web/test_browse.py::test_index_and_unknown_facets",
    "lists.mine": "the reader's own lists: tests/web/test_lists.py::test_a_reader_keeps_a_private_list_with_notes",
    "lists.view": "the owner's list, items under the policy: tests/web/test_lists.py::test_an_item_restricted_later_disappears",
    "reader.read": "an e-book's chapters and search within, from the files the user may see: "
                   "tests/web/test_ebook_reader.py::test_a_book_the_reader_may_not_see",
    "api_docs.page": "the API description's page, no record: tests/web/test_openapi.py",
    "browse.facet": "facet counts under the search's access filter: "
                    "tests/web/test_browse.py::test_counts_only_what_the_reader_may_see",
    "display.set_mode": "sets a cookie (tests/web/test_display.py::test_large_type_mode_is_remembered_and_painted_by_the_server)",
    "exhibitions.new": "curators only: tests/exhibitions/test_exhibitions.py::test_the_editor_is_for_curators_and_saves_the_form",
    "exhibitions.edit": "curators only: tests/exhibitions/test_exhibitions.py::test_the_editor_is_for_curators_and_saves_the_form",
    "authority.people": "authority records only, no item (tests/web/test_authority_pages.py::test_place_page_and_hierarchy)",
    "authority.families": "authority records only, no item "
                          "(tests/web/test_authority_pages.py::test_family_page_lists_the_genealogies_a_reader_may_see)",
    "authority.organizations": "authority records only, no item (tests/web/test_authority_pages.py)",
    "authority.places": "authority records only, no item (tests/web/test_authority_pages.py::test_place_page_and_hierarchy)",
    "authority.api_list": "authority records only, no item (tests/web/test_authority_pages.py::test_api_and_suggest)",
    "authority.api_suggest": "authority records only, no item (tests/web/test_authority_pages.py::test_api_and_suggest)",
    "authority.api_get": "an authority record, no item (tests/web/test_authority_pages.py::test_api_and_suggest)",
}


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    from alliance.members import Member
    from tests.helpers import serving
    from web import create_app

    app = create_app({"DATA_DIR": str(tmp_path_factory.mktemp("leaks")), "SECRET_KEY": "t",
                      "LOGIN_RATE_LIMIT": "1000 per minute"})
    archive = app.extensions["fangzhi"].archive
    archive.create_collection({"id": "leaks", "title": "泄露测试馆藏"}, user=SYSTEM)
    for kind, rid in LEAK_AUTHORITIES.items():  # every case's item is about each of them
        app.extensions["fangzhi"].authorities.create({"kind": kind, "name": f"泄露{kind}", "id": rid}, user=SYSTEM)
    tomorrow = (date.today() + timedelta(days=1)).isoformat()
    for case in CASES:  # first, so that the items of the cases are the newest (the home page shows 12)
        add_interview(archive, case, visibility=case if case in ("alliance", "staff", "embargoed", "private")
                      else "public", embargo_until=tomorrow if case == "embargoed" else None)
    add_twice_restricted(archive)
    for case in FACET_CASES:
        add_facet_interview(archive, case)
    time.sleep(1.1)  # version times have whole seconds: make the cases' items strictly newer
    for case in CASES:
        visibility = case if case in ("alliance", "staff", "embargoed", "private") else "public"
        files = [NewFile("scan.jpg", f"{case} scan".encode(), "image/jpeg", 1, tech={"pronom": PRONOM})]
        if case == "restricted-file":
            files.append(NewFile("release-form.pdf", b"signed consent", "application/pdf", 2, access="staff"))
        files.append(NewFile("pyramid.tif", tiny_pyramid(), "image/tiff", role="derivative",
                             derived_from="f1", purpose="pyramid"))  # for the IIIF routes
        files += ocr_files(case)
        archive.create_item(photo_item(id=item_id(case), title={"zh": title(case)}, visibility=visibility,
                                       subjects=[case], about=list(LEAK_AUTHORITIES.values()),
                                       embargo_until=tomorrow if case == "embargoed" else None,
                                       collections=["leaks"]), files, user=SYSTEM)
        if case == "withdrawn":
            archive.withdraw_item(item_id(case), user=SYSTEM, reason="test")
    for case, visibility in COLLECTION_VISIBILITY.items():
        archive.create_collection({"id": f"leak-col-{case}", "title": f"泄露馆藏{case}", "visibility": visibility,
                                   "embargo_until": tomorrow if visibility == "embargoed" else None}, user=SYSTEM)
    add_users(app)
    fz = app.extensions["fangzhi"]
    for case in CASES:
        add_exhibition(fz, case)
    fz.exhibitions.save({"id": "leak-ex-draft", "title": "展览草稿"}, user=SYSTEM, expected_version=0)
    with serving(app) as url:  # the site is its own alliance member "self", through loopback
        secret, _ = fz.accounts.create_token("alliance-self", ["read-alliance"], by=SYSTEM)
        fz.members.add(Member("self", f"{url}/oai", token=secret, label_zh="本站"))
        yield app


@pytest.fixture(scope="module", params=ROLES + tuple(TOKENS))
def client(request, site):
    client = site.test_client()
    if request.param in TOKENS:
        scopes, client.role = TOKENS[request.param]
        secret, _ = site.extensions["fangzhi"].accounts.create_token(request.param, scopes, by=SYSTEM)
        client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {secret}"
        client.token = True
    else:
        client.token = False
        if request.param != "anonymous":
            assert login(client, request.param).status_code == 302
        client.role = request.param
    return client


@pytest.mark.parametrize("route", ROUTES)
@pytest.mark.parametrize("case", CASES)
def test_matrix(client, route, case):
    allowed = EVERYONE if case in ("public", "restricted-file") else set() if route in PUBLIC_ONLY else CASES[case]
    if route in CROSSES:
        allowed = CASES["alliance"] if case == "alliance" else allowed if case in ("public", "restricted-file") else set()
    if route in HARVESTERS and not (case == "alliance" and client.token):
        allowed = allowed if case in ("public", "restricted-file") else set()
    if route in CORRECTORS:
        allowed = set() if client.token else allowed & {"curator", "archivist", "admin"}
    assert ROUTES[route](client, case) == (client.role in allowed), (client.role, route, case)


CURATING = {"curator", "archivist", "admin"}  # hand-written: who make exhibitions and preview drafts


def test_exhibition_drafts_are_for_curators(client):
    """A draft is seen (previewed) by curators, archivists and admins signed in, by nobody else:
    not its page, not its IIIF Collection, not in the list; no token opens the editor."""
    allowed = client.role in CURATING and not client.token
    assert client.get("/exhibitions/leak-ex-draft").status_code == (200 if allowed else 404)
    assert client.get("/exhibitions/leak-ex-draft/iiif").status_code == (200 if allowed else 404)
    assert ("leak-ex-draft" in client.get("/exhibitions").get_data(as_text=True)) == allowed
    assert client.get("/exhibitions/leak-ex-draft/edit").status_code == (200 if allowed else 302 if
                                                                        client.role == "anonymous" and not client.token else 403)


def test_restricted_file(client):
    allowed = client.role in STAFF_FILE
    r = client.get(f"/items/{item_id('restricted-file')}/files/f2")
    assert r.status_code == (200 if allowed else 403)
    assert (b"signed consent" in r.data) == allowed
    assert ("release-form.pdf" in client.get(f"/items/{item_id('restricted-file')}").get_data(as_text=True)) == allowed
    files = client.get(f"/api/items/{item_id('restricted-file')}").json["files"]
    assert ("f2" in {f["id"] for f in files}) == allowed


def test_no_version_serves_a_passage_restricted_later(site, client):
    """Every file of every version of an interview restricted twice, through the page, the API and
    the file route: readers never get the copies in which the later passage can be heard, and the
    version pages and the API list exactly the files the file route serves to the one asking."""
    archive = site.extensions["fangzhi"].archive
    head = archive.get_item(TWICE, user=SYSTEM).version
    assert head >= 4
    for version in range(1, head + 1):
        served = set()
        for f in archive.get_item(TWICE, user=SYSTEM, version=version).value.files:
            r = client.get(f"/items/{TWICE}/files/{f.id}?version={version}")
            assert r.status_code in (200, 403), (version, f.id, r.status_code)
            if r.status_code == 200:
                served.add(f.id)
                assert client.role in STAFF_FILE or B_AUDIBLE not in r.data, (client.role, version, f.path)
        page = client.get(f"/items/{TWICE}?version={version}").get_data(as_text=True)
        linked = set(re.findall(rf"/items/{TWICE}/files/(\w+)\?version={version}", page))
        listed = client.get(f"/api/items/{TWICE}?version={version}").json["files"]
        assert linked == {f["id"] for f in listed} == served, (client.role, version)
        for f in listed:  # the API's links open this version's files
            assert client.get(f["url"].removeprefix("http://localhost")).status_code == 200, f["url"]


@pytest.mark.parametrize("case", FACET_CASES)
def test_interview_facets_follow_the_recording(client, case):
    """Facet values read from an interview follow its recording's access, as its page and exports
    do: shown, counted and filtered on for those who may hear it, and for nobody else."""
    item, allowed = f"leak-facets-{case}", client.role in FACET_CASES[case][2]
    assert (client.get(f"/items/{item}/interview.vtt").status_code == 200) == allowed
    data = client.get(f"/api/search?subject=面{case}&per_page=10").json
    assert [h["id"] for h in data["hits"]] == [item]  # the item itself is public
    for facet, value in facet_values(case).items():
        counted = {f["value"]: f["count"] for f in data["facets"][facet]}
        assert (counted.get(value) == 1) == allowed and (value in counted) == allowed, (client.role, facet)
        found = client.get(f"/api/search?{facet}={value}&per_page=10").json
        assert [h["id"] for h in found["hits"]] == ([item] if allowed else []), (client.role, facet)
        assert found["total"] == (1 if allowed else 0)
        page = client.get(f"/search?{facet}={value}").get_data(as_text=True)
        assert (f'href="/items/{item}"' in page) == allowed, (client.role, facet)
        assert all(value not in s for s in client.get(f"/api/suggest?q={value[:3]}").json["suggestions"]) or allowed


def test_token_scopes(site):
    """Harvesters' tokens: read sees public, read-alliance sees alliance, neither sees staff."""
    accounts = site.extensions["fangzhi"].accounts
    for scopes, sees in ((["read"], {"public", "restricted-file"}),
                         (["read-alliance"], {"public", "restricted-file", "alliance"}),
                         (["write"], {"public", "restricted-file"}),
                         (["read-staff"], {"public", "restricted-file", "alliance", "staff", "embargoed", "withdrawn"}),
                         (["read-staff", "write"], {"public", "restricted-file", "alliance", "staff", "embargoed",
                                                    "withdrawn"})):
        secret, _ = accounts.create_token(f"harvester-{'+'.join(scopes)}", scopes, by=SYSTEM)
        client = site.test_client()
        headers = {"Authorization": f"Bearer {secret}"}
        shown = {case for case in CASES if client.get(f"/api/items/{item_id(case)}", headers=headers).status_code == 200}
        assert shown == sees, scopes


def test_every_route_is_in_the_matrix(site):
    rules = {rule.endpoint for rule in site.url_map.iter_rules() if "GET" in rule.methods}
    missing = rules - set(ROUTES) - set(EXEMPT)
    assert not missing, f"add these routes to the leak matrix (ROUTES) or EXEMPT: {sorted(missing)}"


CHANGES_FOR_STAFF = {"curator", "archivist", "admin"}  # hand-written: the roles of the staff area


def test_version_history_names_and_reasons_are_for_staff(site, client):
    """Who changed an item and why (a staff member's or a token's name, the internal reason) is
    for staff; readers see version numbers and dates, on the item page, a past version's page and
    in the API."""
    from repository.access import User

    archive = site.extensions["fangzhi"].archive
    if not archive.objects.exists("item:leak-history"):
        editor = User("馆员王小明", frozenset({"archivist"}))
        made = archive.create_item(photo_item(id="leak-history", title={"zh": "版本历史"}), user=editor,
                                   why="捐赠者要求匿名")
        archive.update_item("leak-history", {"subjects": ["运河"]}, expected_version=made.version,
                            user=User("token:harvest-bot", frozenset({"archivist"})), why="内部备注：待核对")
    secrets = ("馆员王小明", "捐赠者要求匿名", "harvest-bot", "内部备注")
    staff = client.role in CHANGES_FOR_STAFF
    versions = client.get("/api/items/leak-history/versions").json["versions"]
    assert [v["version"] for v in versions] == [1, 2] and all(v["created"] for v in versions)
    assert all(("user" in v and "message" in v) == staff for v in versions)
    for url in ("/api/items/leak-history/versions", "/items/leak-history", "/items/leak-history?version=1"):
        text = client.get(url).get_data(as_text=True)
        assert "版本历史" in text or url.startswith("/api")
        for secret in secrets:
            assert (secret in text) == staff, (client.role, url, secret)


def test_tokens_never_open_the_staff_area(site):
    """A token of every scope is refused by every /admin route, whatever it asks, even sent with
    the CSRF token of a signed-in reader's session."""
    from repository.accounts import SCOPES
    from tests.web.auth_helpers import csrf_token

    secret, _ = site.extensions["fangzhi"].accounts.create_token("every-scope", list(SCOPES), by=SYSTEM)
    client = site.test_client()
    login(client, "researcher")
    headers = {"Authorization": f"Bearer {secret}", "X-CSRFToken": csrf_token(client, "/")}
    rules = [r for r in site.url_map.iter_rules() if r.rule.startswith("/admin")]
    assert len(rules) > 10
    for rule in rules:
        url = re.sub(r"<any\(([^,)]+)[^>]*>", r"\1", rule.rule)  # an any() converter: its first choice
        for arg in rule.arguments:
            url = url.replace(f"<{arg}>", item_id("public")).replace(f"<int:{arg}>", "1")
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            response = client.open(url, method=method, headers=headers)
            assert response.status_code == 403, (method, url, response.status_code)


def test_token_writes_stay_within_what_the_token_reads(site):
    """write creates and changes items, but only those its read scopes let it see."""
    archive, accounts = site.extensions["fangzhi"].archive, site.extensions["fangzhi"].accounts
    archive.create_collection({"id": "staff-only", "title": "内部", "visibility": "staff"}, user=SYSTEM)
    archive.create_item(photo_item(id="tok-public"), user=SYSTEM)
    archive.create_item(photo_item(id="tok-staff", visibility="staff", title={"zh": "内部记录"}), user=SYSTEM)
    archive.create_item(photo_item(id="tok-private", visibility="private"), user=SYSTEM)
    client = site.test_client()

    def token(*scopes):
        return {"Authorization": f"Bearer {accounts.create_token('+'.join(scopes), scopes, by=SYSTEM)[0]}"}

    def patch(item, headers, **changes):
        return client.patch(f"/api/items/{item}", json=changes or {"subjects": ["改"]},
                            headers={**headers, "If-Match": f'"{archive.get_item(item, user=SYSTEM).version}"'})

    write, write_staff, read_staff = token("write"), token("write", "read-staff"), token("read-staff")
    assert client.post("/api/items", json={"kind": "photo", "title": "新"}, headers=write).status_code == 201
    assert patch("tok-public", write).status_code == 200
    for item in ("tok-staff", "tok-private", item_id("withdrawn")):
        before = archive.get_item(item, user=SYSTEM).version
        response = patch(item, write)
        assert response.status_code == 404 and "内部记录" not in response.get_data(as_text=True), item
        withdrawn = client.post(f"/api/items/{item}/withdraw", json={"reason": "x"}, headers=write)
        assert withdrawn.status_code == 404, item
        assert archive.get_item(item, user=SYSTEM).version == before, item
    into = client.post("/api/items", json={"kind": "photo", "title": "新", "collections": ["staff-only"]}, headers=write)
    assert into.status_code == 400 and "no collection staff-only" in into.json["message"] + str(into.json["problems"])
    assert patch("tok-public", write, collections=["staff-only"]).status_code == 400
    assert patch("tok-staff", write_staff).status_code == 200  # with read-staff, as an archivist
    assert patch("tok-public", read_staff).status_code == 403  # reading is not writing


STAFF_AREA = {"curator", "archivist", "admin"}


@pytest.mark.parametrize("case", CASES)
def test_preservation_pages_are_for_staff_who_may_see_the_item(client, case):
    """An item's preservation record (technical metadata, events, PREMIS XML) is for the staff
    area's roles, and only for items they may see."""
    token = "HTTP_AUTHORIZATION" in client.environ_base  # the staff area refuses every token
    allowed = client.role in STAFF_AREA & CASES[case] and not token
    for url in (f"/admin/items/{item_id(case)}/preservation", f"/admin/items/{item_id(case)}/premis.xml"):
        r = client.get(url)
        if allowed:
            assert r.status_code == 200, (client.role, url)
            assert item_id(case) in r.get_data(as_text=True)
        else:
            assert r.status_code == (302 if client.role == "anonymous" else 403 if token or client.role not in STAFF_AREA
                                     else 410 if case == "withdrawn" else 404), (client.role, url, r.status_code)
    if allowed:
        page = client.get(f"/admin/items/{item_id(case)}/preservation").get_data(as_text=True)
        assert "fmt/43" in page and "JPEG File Interchange Format" in page
        restricted = client.get(f"/admin/items/{item_id('restricted-file')}/preservation").get_data(as_text=True)
        assert ("release-form.pdf" in restricted) == (client.role in STAFF_FILE)


def test_the_format_facet_is_for_staff_only(client):
    """PRONOM formats are staff facts: counted and filtered on for those cleared for staff files,
    and neither shown nor usable as a filter (no oracle) for anyone else."""
    cleared = client.role in STAFF_FILE
    everything = client.get("/api/search?per_page=100").json
    assert ("format" in everything["facets"]) == cleared
    found = client.get("/api/search?format=fmt/43&per_page=100").json
    if cleared:
        counted = {f["value"]: f["count"] for f in everything["facets"]["format"]}
        assert counted.get("fmt/43") == found["total"] >= 1
        assert {h["id"] for h in found["hits"]} >= {item_id("public"), item_id("staff")}
    else:  # the filter is ignored, as an unknown parameter: the same answer as without it
        assert found["total"] == everything["total"]
    assert ("文件格式" in client.get("/search?q=泄露测试").get_data(as_text=True)) == cleared


BULK_EDITORS = {"archivist", "admin"}  # hand-written: who may open the bulk pages


@pytest.mark.parametrize("case", CASES)
def test_staff_list_preview_and_export_show_what_the_user_may_see(site, client, case):
    """The staff item list, a bulk preview, a spreadsheet export and a bulk job's page show an
    item only to the staff-area roles that may see it; tokens never open them."""
    if client.role in BULK_EDITORS and not client.token and not getattr(site, "bulk_job", None):
        from repository.bulk import Operation

        bulk = site.extensions["fangzhi"].bulk  # an administrator's job over every case
        plan = bulk.plan([item_id(c) for c in CASES if c != "withdrawn"], [Operation("add", "identifiers", "泄露编号")],
                         user=SYSTEM)
        site.bulk_job = bulk.start(plan, user=SYSTEM, why="leak matrix")
    pages = {"/admin/items?q=泄露测试&per_page=100": STAFF_AREA,
             f"/admin/bulk/preview?op=add&field=subjects&value=x&id={item_id(case)}": BULK_EDITORS,
             f"/admin/bulk/export.csv?id={item_id(case)}": BULK_EDITORS}
    if getattr(site, "bulk_job", None):
        pages[f"/admin/bulk/jobs/{site.bulk_job}"] = BULK_EDITORS
    for url, roles in pages.items():
        r = client.get(url)
        if client.token or client.role not in roles:
            assert r.status_code == (302 if client.role == "anonymous" and not client.token else 403), (client.role, url)
            continue
        assert r.status_code == 200, (client.role, url)
        text = r.get_data(as_text=True) if "export" not in url else r.data.decode("utf-8-sig")
        sees = set() if case == "withdrawn" and "/bulk/" in url and "export" not in url else CASES[case]  # not changed
        assert (title(case) in text) == (client.role in sees), (client.role, url, case)
