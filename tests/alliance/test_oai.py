"""The OAI-PMH 2.0 provider (/oai): every verb's answers and errors validated against the official
XSDs (../shared/conformance/oai-pmh), a whole harvest by PyPI sickle against a real server through
resumption, deleted records, access, tokens and hostile requests."""
from __future__ import annotations

import time
from datetime import date, timedelta
from urllib.parse import quote

import pytest
from lxml import etree

from ingest.jobs import Entry
from repository.access import SYSTEM
from repository.services import NewFile
from tests.helpers import CONFORMANCE, conformance, serving

OAI = "{http://www.openarchives.org/OAI/2.0/}"
MODS = "{http://www.loc.gov/mods/v3}"
DC = "{http://purl.org/dc/elements/1.1/}"
OAI_DC = "{http://www.openarchives.org/OAI/2.0/oai_dc/}"
XLINK = "{http://www.w3.org/1999/xlink}"
REPO = "localhost"
TOMORROW = (date.today() + timedelta(days=1)).isoformat()
YESTERDAY = (date.today() - timedelta(days=1)).isoformat()

# Hand-written expectations: what each harvester sees live and as deleted records.
PUBLIC_LIVE = {"photo1", "book1", "book2", "book3", "book4", "book5", "book6", "emb-past", "staff-then-public"}
PUBLIC_DELETED = {"gone", "closed", "purged-pub"}
ALLIANCE_LIVE = PUBLIC_LIVE | {"ally1"}
ALLIANCE_DELETED = PUBLIC_DELETED | {"ally-gone"}
NEVER = {"staff1", "private1", "emb-future", "purged-staff", "unfinished"}

PHOTO = {
    "id": "photo1", "kind": "photo", "title": {"zh": "惠山古镇", "en": "Huishan old town"},
    "description": {"zh": "古镇街景"},
    "creators": [{"name": {"zh": "张三", "en": "Zhang San"}, "role": "摄影",
                  "aliases": [{"name": "伯仁", "type": "字"}]},
                 {"name": {"zh": "无锡县署"}, "type": "organization"}],
    "contributors": [{"name": {"zh": "李四"}, "role": "editor"}],
    "date": {"edtf": "1936~", "display": "民国二十五年"},
    "places": [{"name": {"zh": "惠山", "en": "Huishan"}, "coordinates": [31.58, 120.27]}],
    "subjects": ["古镇", "街景"], "language": ["zh"], "extent": "1 张",
    "rights": "http://rightsstatements.org/vocab/NoC-OKLR/1.0/", "holding_library": "区图书馆",
    "identifiers": ["ISBN 978-7-101-00001-2", "锡-001"], "collections": ["xs", "hidden"],
}


def make_item(archive, item_id, visibility="public", **fields):
    data = {"id": item_id, "kind": "book", "title": {"zh": f"书{item_id}"}, "visibility": visibility, **fields}
    return archive.create_item(data, [NewFile("scan.jpg", f"{item_id} scan".encode(), "image/jpeg", 1)], user=SYSTEM)


def change(archive, item_id, **changes):
    record = archive.get_item(item_id, user=SYSTEM)
    return archive.update_item(item_id, changes, expected_version=record.version, user=SYSTEM)


def populate(app):
    fz = app.extensions["fangzhi"]
    archive = fz.archive
    archive.create_collection({"id": "gaz", "title": {"zh": "方志", "en": "Gazetteers"}}, user=SYSTEM)
    archive.create_collection({"id": "xs", "title": {"zh": "锡山"}, "parent": "gaz"}, user=SYSTEM)
    archive.create_collection({"id": "hidden", "title": {"zh": "馆员专藏"}, "visibility": "staff"}, user=SYSTEM)
    archive.create_collection({"id": "allcol", "title": {"zh": "联盟专藏"}, "visibility": "alliance"}, user=SYSTEM)
    archive.create_item(PHOTO, [NewFile("scan.jpg", b"photo scan", "image/jpeg", 1),
                                NewFile("form.pdf", b"consent", "application/pdf", 2, access="staff")], user=SYSTEM)
    for n in range(1, 7):
        make_item(archive, f"book{n}", collections=["gaz"])
    make_item(archive, "ally1", "alliance", kind="photo", collections=["allcol"])
    make_item(archive, "staff1", "staff", collections=["gaz"])
    make_item(archive, "private1", "private")
    make_item(archive, "emb-future", "embargoed", embargo_until=TOMORROW)
    make_item(archive, "emb-past", "embargoed", embargo_until=YESTERDAY)
    make_item(archive, "gone", collections=["gaz"])
    archive.withdraw_item("gone", user=SYSTEM, reason="donor asked")
    make_item(archive, "ally-gone", "alliance")
    archive.withdraw_item("ally-gone", user=SYSTEM, reason="duplicate")
    make_item(archive, "closed", collections=["xs"])
    change(archive, "closed", visibility="staff")
    make_item(archive, "purged-pub", kind="manuscript", collections=["gaz"])
    archive.purge_item("purged-pub", user=SYSTEM, reason="stored by mistake")
    make_item(archive, "purged-staff", "staff")
    archive.purge_item("purged-staff", user=SYSTEM, reason="stored by mistake")
    make_item(archive, "staff-then-public", "staff")
    change(archive, "staff-then-public", visibility="public")
    make_item(archive, "unfinished")  # its ingest entry failed: not published until completed
    fz.jobs.create("test", [Entry("", 1, "unfinished", "unfinished", [], [], {}, state="failed", step="image")],
                   user="system")


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    from web import create_app

    app = create_app({"DATA_DIR": str(tmp_path_factory.mktemp("oai")), "SECRET_KEY": "oai-test",
                      "OAI_PAGE_SIZE": 3})
    populate(app)
    return app


@pytest.fixture(scope="module")
def token(app):
    secret, _ = app.extensions["fangzhi"].accounts.create_token("member library", {"read-alliance"}, by=SYSTEM)
    return secret


@pytest.fixture(scope="module")
def schema():
    return etree.XMLSchema(etree.parse(str(conformance("oai-pmh/oai_all.xsd"))))


def mods_schema():
    """The MODS XSD where ../shared/conformance has one (any mods-3-*.xsd), else None."""
    found = sorted(CONFORMANCE.glob("**/mods*.xsd")) if CONFORMANCE.exists() else []
    return etree.XMLSchema(etree.parse(str(found[-1]))) if found else None


def validate(schema, data: bytes):
    """The answer against OAI-PMH.xsd (and oai_dc.xsd). Where no MODS XSD is at hand, each MODS
    record is checked by the MODS XSD (when present) and then stands in an oai_dc one for the
    envelope (the metadata element takes any element of a schema the validator knows)."""
    doc = etree.fromstring(data)
    mods = mods_schema()
    for record in doc.iter(f"{MODS}mods"):
        if mods is not None:
            mods.assertValid(record)
        parent = record.getparent()
        parent.replace(record, etree.fromstring(f'<oai_dc:dc xmlns:oai_dc="{OAI_DC[1:-1]}"/>'))
    schema.assertValid(doc)
    return etree.fromstring(data)


def get(client, query: str, schema, **kwargs):
    response = client.get(f"/oai?{query}", **kwargs)
    assert response.status_code == 200 and response.mimetype == "text/xml", (query, response.status_code)
    return validate(schema, response.data)


def error(doc) -> str | None:
    node = doc.find(f"{OAI}error")
    return None if node is None else node.get("code")


def ids(doc) -> list[str]:
    return [h.findtext(f"{OAI}identifier").rsplit(":", 1)[1] for h in doc.iter(f"{OAI}header")]


def token_of(doc) -> str | None:
    node = next(doc.iter(f"{OAI}resumptionToken"), None)
    return node.text if node is not None else None


def harvest(client, schema, first: str, **kwargs) -> tuple[dict, int]:
    """Every header of a list, following resumption: {item id: header} and the number of pages."""
    found, doc, pages = {}, get(client, first, schema, **kwargs), 1
    verb = first.split("&")[0]
    while True:
        assert error(doc) is None, etree.tostring(doc)
        for header in doc.iter(f"{OAI}header"):
            item_id = header.findtext(f"{OAI}identifier").rsplit(":", 1)[1]
            assert item_id not in found, f"{item_id} repeated"
            found[item_id] = header
        token = token_of(doc)
        if not token:
            return found, pages
        doc, pages = get(client, f"{verb}&resumptionToken={quote(token)}", schema, **kwargs), pages + 1


# --- every verb and error, validated ------------------------------------------------------

ANSWERS = {
    "verb=Identify": None,
    "verb=ListMetadataFormats": None,
    f"verb=ListMetadataFormats&identifier=oai:{REPO}:photo1": None,
    f"verb=ListMetadataFormats&identifier=oai:{REPO}:gone": None,  # a deleted record has its formats
    "verb=ListSets": None,
    f"verb=GetRecord&identifier=oai:{REPO}:photo1&metadataPrefix=oai_dc": None,
    f"verb=GetRecord&identifier=oai:{REPO}:photo1&metadataPrefix=mods": None,
    f"verb=GetRecord&identifier=oai:{REPO}:gone&metadataPrefix=mods": None,
    "verb=ListIdentifiers&metadataPrefix=oai_dc": None,
    "verb=ListRecords&metadataPrefix=oai_dc": None,
    "verb=ListRecords&metadataPrefix=mods": None,
    "verb=ListRecords&metadataPrefix=mods&set=gaz": None,
    "verb=ListRecords&metadataPrefix=oai_dc&from=2000-01-01&until=2999-12-31": None,
    "verb=ListIdentifiers&metadataPrefix=mods&from=2000-01-01T00:00:00Z": None,
    # errors (§3.6)
    "": "badVerb",
    "verb=Frobnicate": "badVerb",
    "verb=Identify&verb=Identify": "badVerb",
    "verb=Identify&extra=1": "badArgument",
    "verb=ListRecords": "badArgument",
    "verb=GetRecord&metadataPrefix=oai_dc": "badArgument",
    "verb=ListRecords&metadataPrefix=oai_dc&metadataPrefix=oai_dc": "badArgument",
    "verb=ListRecords&metadataPrefix=oai_dc&from=2020-13-01": "badArgument",
    "verb=ListRecords&metadataPrefix=oai_dc&from=yesterday": "badArgument",
    "verb=ListRecords&metadataPrefix=oai_dc&from=2020-01-01T00:00:00": "badArgument",
    "verb=ListRecords&metadataPrefix=oai_dc&from=2020-01-01T00:00:00.5Z": "badArgument",
    "verb=ListRecords&metadataPrefix=oai_dc&from=2021-01-01&until=2020-01-01": "badArgument",
    "verb=ListRecords&metadataPrefix=oai_dc&from=2020-01-01&until=2021-01-01T00:00:00Z": "badArgument",
    "verb=ListRecords&metadataPrefix=oai_dc&set=a%20b": "badArgument",
    "verb=ListRecords&metadataPrefix=oai%20dc": "badArgument",
    "verb=ListRecords&metadataPrefix=oai_dc&resumptionToken=x": "badArgument",  # exclusive (§3.5)
    "verb=ListRecords&metadataPrefix=oai_dc&set=%00": "badArgument",
    "verb=GetRecord&metadataPrefix=oai_dc&identifier=%25%25": "badArgument",  # identifierType is anyURI
    "verb=GetRecord&metadataPrefix=oai_dc&identifier=%23a%23": "badArgument",
    "verb=ListMetadataFormats&identifier=http://x:y:z": "badArgument",
    "verb=GetRecord&metadataPrefix=oai_dc&identifier=": "badArgument",
    "verb=ListRecords&resumptionToken=x": "badResumptionToken",
    "verb=ListIdentifiers&resumptionToken=" + "A" * 100_000: "badResumptionToken",
    "verb=ListSets&resumptionToken=x": "badResumptionToken",
    "verb=ListRecords&metadataPrefix=marc21": "cannotDisseminateFormat",
    f"verb=GetRecord&identifier=oai:{REPO}:photo1&metadataPrefix=marc21": "cannotDisseminateFormat",
    f"verb=GetRecord&identifier=oai:{REPO}:staff1&metadataPrefix=oai_dc": "idDoesNotExist",
    f"verb=GetRecord&identifier=oai:{REPO}:purged-staff&metadataPrefix=oai_dc": "idDoesNotExist",
    f"verb=GetRecord&identifier=oai:{REPO}:unfinished&metadataPrefix=oai_dc": "idDoesNotExist",
    "verb=GetRecord&identifier=oai:elsewhere.org:photo1&metadataPrefix=oai_dc": "idDoesNotExist",
    "verb=GetRecord&identifier=photo1&metadataPrefix=oai_dc": "idDoesNotExist",
    f"verb=ListMetadataFormats&identifier=oai:{REPO}:nothing": "idDoesNotExist",
    "verb=ListRecords&metadataPrefix=oai_dc&set=nosuchset": "noRecordsMatch",
    "verb=ListRecords&metadataPrefix=oai_dc&set=hidden": "noRecordsMatch",  # a staff collection is no set
    "verb=ListIdentifiers&metadataPrefix=oai_dc&until=1999-01-01": "noRecordsMatch",
}


@pytest.mark.parametrize("query", ANSWERS)
def test_every_answer_validates_and_errors_are_the_specs(app, schema, query):
    doc = get(app.test_client(), query, schema)
    assert error(doc) == ANSWERS[query], etree.tostring(doc)[:600]
    request = doc.find(f"{OAI}request")
    assert request.text == "http://localhost/oai"
    if ANSWERS[query] in ("badVerb", "badArgument"):
        assert request.attrib == {}, "§3.6: no attributes after badVerb or badArgument"
    else:
        assert request.get("verb") == query.split("&")[0].removeprefix("verb=")
    if len(query) > 2000:
        assert len(etree.tostring(doc)) < 2000, "a huge token is not echoed"


def test_post_form_is_answered_like_get(app, schema):
    client = app.test_client()
    response = client.post("/oai", data={"verb": "ListIdentifiers", "metadataPrefix": "oai_dc"})
    assert response.status_code == 200
    assert ids(validate(schema, response.data)) == ids(get(client, "verb=ListIdentifiers&metadataPrefix=oai_dc", schema))
    repeated = client.post("/oai?verb=Identify", data={"verb": "Identify"})
    assert error(validate(schema, repeated.data)) == "badVerb"


def test_answers_are_gzipped_when_asked(app, schema):
    import gzip

    plain = app.test_client().get("/oai?verb=ListRecords&metadataPrefix=mods")
    packed = app.test_client().get("/oai?verb=ListRecords&metadataPrefix=mods", headers={"Accept-Encoding": "gzip"})
    assert packed.headers["Content-Encoding"] == "gzip" and "Content-Encoding" not in plain.headers
    assert ids(validate(schema, gzip.decompress(packed.data))) == ids(validate(schema, plain.data))
    assert len(packed.data) < len(plain.data) / 3


def test_identify(app, schema):
    doc = get(app.test_client(), "verb=Identify", schema).find(f"{OAI}Identify")
    assert doc.findtext(f"{OAI}compression") == "gzip"
    assert doc.findtext(f"{OAI}deletedRecord") == "persistent"
    assert doc.findtext(f"{OAI}granularity") == "YYYY-MM-DDThh:mm:ssZ"
    assert doc.findtext(f"{OAI}baseURL") == "http://localhost/oai"
    listed = [h.findtext(f"{OAI}datestamp") for h in harvest(app.test_client(), schema,
                                                              "verb=ListIdentifiers&metadataPrefix=oai_dc")[0].values()]
    assert doc.findtext(f"{OAI}earliestDatestamp") == min(listed)


# --- what harvesters see ----------------------------------------------------------------------

def split(headers: dict) -> tuple[set, set]:
    deleted = {i for i, h in headers.items() if h.get("status") == "deleted"}
    return set(headers) - deleted, deleted


@pytest.mark.parametrize("verb", ["ListIdentifiers", "ListRecords"])
@pytest.mark.parametrize("prefix", ["oai_dc", "mods"])
def test_anonymous_harvest_is_public_with_deleted_records(app, schema, verb, prefix):
    headers, pages = harvest(app.test_client(), schema, f"verb={verb}&metadataPrefix={prefix}")
    assert split(headers) == (PUBLIC_LIVE, PUBLIC_DELETED)
    assert pages == -(-len(headers) // 3)


def test_alliance_token_also_harvests_alliance_material(app, schema, token):
    auth = {"headers": {"Authorization": f"Bearer {token}"}}
    headers, _ = harvest(app.test_client(), schema, "verb=ListRecords&metadataPrefix=mods", **auth)
    assert split(headers) == (ALLIANCE_LIVE, ALLIANCE_DELETED)
    sets = get(app.test_client(), "verb=ListSets", schema, **auth)
    assert "allcol" in {s.text for s in sets.iter(f"{OAI}setSpec")}


@pytest.mark.parametrize("scopes", [{"read"}, {"read-staff"}, {"write"}, {"read-staff", "read-alliance"}])
def test_no_token_harvests_more_than_alliance_material(app, schema, scopes):
    secret, _ = app.extensions["fangzhi"].accounts.create_token(f"t-{sorted(scopes)}", scopes, by=SYSTEM)
    headers, _ = harvest(app.test_client(), schema, "verb=ListIdentifiers&metadataPrefix=oai_dc",
                         headers={"Authorization": f"Bearer {secret}"})
    assert not set(headers) & NEVER
    assert split(headers) == ((ALLIANCE_LIVE, ALLIANCE_DELETED) if "read-staff" in scopes
                              else (PUBLIC_LIVE, PUBLIC_DELETED))


def test_signed_in_staff_harvest_as_anonymous(app, schema):
    from tests.web.auth_helpers import add_users, login

    add_users(app, roles=("admin",))
    client = app.test_client()
    assert login(client, "admin").status_code == 302
    headers, _ = harvest(client, schema, "verb=ListIdentifiers&metadataPrefix=oai_dc")
    assert split(headers) == (PUBLIC_LIVE, PUBLIC_DELETED)


def test_a_refused_token_is_refused(app):
    assert app.test_client().get("/oai?verb=Identify", headers={"Authorization": "Bearer fzt_nope"}).status_code == 401


def test_sets_nest_and_hide_restricted_collections(app, schema):
    client = app.test_client()
    specs = {s.findtext(f"{OAI}setSpec"): s.findtext(f"{OAI}setName")
             for s in get(client, "verb=ListSets", schema).iter(f"{OAI}set")}
    assert {"gaz", "gaz:xs", "kind", "kind:photo", "kind:book"} <= set(specs)
    assert not {"hidden", "allcol"} & set(specs)
    assert specs["gaz:xs"] == "锡山"
    in_gaz, _ = harvest(client, schema, "verb=ListIdentifiers&metadataPrefix=oai_dc&set=gaz")
    # §2.7.2: set gaz holds what its subset gaz:xs holds
    assert split(in_gaz) == ({f"book{n}" for n in range(1, 7)} | {"photo1"}, {"gone", "closed", "purged-pub"})
    in_xs, _ = harvest(client, schema, "verb=ListIdentifiers&metadataPrefix=oai_dc&set=gaz:xs")
    assert set(in_xs) == {"photo1", "closed"}
    photos, _ = harvest(client, schema, "verb=ListIdentifiers&metadataPrefix=oai_dc&set=kind:photo")
    assert set(photos) == {"photo1"}
    headers = get(client, f"verb=GetRecord&identifier=oai:{REPO}:photo1&metadataPrefix=oai_dc", schema)
    assert [s.text for s in headers.iter(f"{OAI}setSpec")] == ["gaz:xs", "kind:photo"]  # never "hidden"


def test_mods_record(app, schema):
    doc = get(app.test_client(), f"verb=GetRecord&identifier=oai:{REPO}:photo1&metadataPrefix=mods", schema)
    mods = next(doc.iter(f"{MODS}mods"))
    titles = mods.findall(f"{MODS}titleInfo")
    assert [(t.get("usage"), t.get("type"), t.findtext(f"{MODS}title")) for t in titles] == [
        ("primary", None, "惠山古镇"), (None, "translated", "Huishan old town")]
    names = mods.findall(f"{MODS}name")
    assert [n.get("type") for n in names] == ["personal", "corporate", "personal"]
    assert [p.text for p in names[0].findall(f"{MODS}namePart")] == ["张三", "Zhang San"]
    assert [(r.get("type"), r.text) for r in names[0].iter(f"{MODS}roleTerm")] == [("code", "pht"), ("text", "摄影")]
    assert names[0].find(f"{MODS}alternativeName").get("altType") == "字"
    assert [(r.get("type"), r.text) for r in names[2].iter(f"{MODS}roleTerm")] == [("code", "edt"), ("text", "editor")]
    dates = mods.find(f"{MODS}originInfo").findall(f"{MODS}dateCreated")
    assert [(d.get("encoding"), d.text) for d in dates] == [("edtf", "1936~"), (None, "民国二十五年")]
    assert mods.findtext(f"{MODS}typeOfResource") == "still image"
    place = mods.find(f"{MODS}subject[{MODS}geographic]")
    assert place.findtext(f"{MODS}geographic") == "惠山"
    assert place.findtext(f"{MODS}cartographics/{MODS}coordinates") == "31.58, 120.27"
    assert [t.text for t in mods.iter(f"{MODS}topic")] == ["古镇", "街景"]
    location = mods.find(f"{MODS}location")
    assert location.findtext(f"{MODS}physicalLocation") == "区图书馆"
    urls = {u.get("access") or u.get("displayLabel"): u.text for u in location.findall(f"{MODS}url")}
    assert urls == {"object in context": "http://localhost/items/photo1",
                    "IIIF manifest": "http://localhost/iiif/3/manifest/photo1",
                    "preview": "http://localhost/items/photo1/files/f1"}
    assert "form.pdf" not in etree.tostring(mods).decode() and "application/pdf" not in etree.tostring(mods).decode()
    rights = mods.find(f"{MODS}accessCondition")
    assert rights.get(f"{XLINK}href") == PHOTO["rights"] and rights.get("type") == "use and reproduction"
    assert {(i.get("type"), i.text) for i in mods.findall(f"{MODS}identifier")} == {
        ("isbn", "9787101000012"), ("local", "锡-001"), ("uri", "http://localhost/items/photo1")}
    hosts = [h.findtext(f"{MODS}identifier") for h in mods.findall(f"{MODS}relatedItem")]
    assert hosts == ["xs"]  # not the staff collection


def test_dc_record(app, schema):
    doc = get(app.test_client(), f"verb=GetRecord&identifier=oai:{REPO}:photo1&metadataPrefix=oai_dc", schema)
    dc = next(doc.iter(f"{OAI_DC}dc"))

    def values(name):
        return [e.text for e in dc.findall(f"{DC}{name}")]
    assert values("title") == ["惠山古镇", "Huishan old town"]
    assert values("creator") == ["张三", "Zhang San", "无锡县署"]
    assert values("date") == ["1936~", "民国二十五年"]
    assert values("type") == ["StillImage"]
    assert values("rights") == [PHOTO["rights"]]
    assert values("identifier")[0] == "http://localhost/items/photo1"
    assert values("relation") == ["http://localhost/iiif/3/manifest/photo1"]
    assert values("format") == ["image/jpeg", "1 张"]


def test_deleted_records_are_headers_only(app, schema):
    doc = get(app.test_client(), f"verb=GetRecord&identifier=oai:{REPO}:purged-pub&metadataPrefix=mods", schema)
    header = next(doc.iter(f"{OAI}header"))
    assert header.get("status") == "deleted" and doc.find(f".//{OAI}metadata") is None
    assert [s.text for s in header.iter(f"{OAI}setSpec")] == ["gaz", "kind:manuscript"]


# --- datestamps, from/until -------------------------------------------------------------------

def test_from_and_until_select_by_datestamp(app, schema):
    client = app.test_client()
    everything, _ = harvest(client, schema, "verb=ListIdentifiers&metadataPrefix=oai_dc")
    stamps = sorted({h.findtext(f"{OAI}datestamp") for h in everything.values()})
    assert all(len(s) == 20 and s.endswith("Z") for s in stamps)
    middle = stamps[len(stamps) // 2]
    later, _ = harvest(client, schema, f"verb=ListIdentifiers&metadataPrefix=oai_dc&from={middle}")
    earlier, _ = harvest(client, schema, f"verb=ListIdentifiers&metadataPrefix=oai_dc&until={middle}")
    assert set(later) == {i for i, h in everything.items() if h.findtext(f"{OAI}datestamp") >= middle}
    assert set(earlier) == {i for i, h in everything.items() if h.findtext(f"{OAI}datestamp") <= middle}
    today = date.today().isoformat()
    day, _ = harvest(client, schema, f"verb=ListIdentifiers&metadataPrefix=oai_dc&from={today}&until={today}")
    assert set(day) == set(everything)  # days count whole (their first to their last second)


# --- resumption tokens ----------------------------------------------------------------------

def first_token(client, schema, query="verb=ListRecords&metadataPrefix=oai_dc", **kwargs) -> str:
    doc = get(client, query, schema, **kwargs)
    node = next(doc.iter(f"{OAI}resumptionToken"))
    assert node.get("cursor") == "0" and int(node.get("completeListSize")) == len(PUBLIC_LIVE | PUBLIC_DELETED)
    assert node.get("expirationDate").endswith("Z")
    return node.text


def test_tokens_survive_a_restart(app, schema, tmp_path):
    from web import create_app

    token = first_token(app.test_client(), schema)
    settings = app.extensions["fangzhi"].settings
    again = create_app({"DATA_DIR": settings["DATA_DIR"], "SECRET_KEY": "oai-test", "OAI_PAGE_SIZE": 3})
    doc = get(again.test_client(), f"verb=ListRecords&resumptionToken={quote(token)}", schema)
    assert error(doc) is None and next(doc.iter(f"{OAI}resumptionToken")).get("cursor") == "3"
    other = create_app({"DATA_DIR": settings["DATA_DIR"], "SECRET_KEY": "another", "OAI_PAGE_SIZE": 3})
    assert error(get(other.test_client(), f"verb=ListRecords&resumptionToken={quote(token)}", schema)) == \
        "badResumptionToken"


def test_tokens_expire(app, schema):
    from web import create_app

    settings = app.extensions["fangzhi"].settings
    short = create_app({"DATA_DIR": settings["DATA_DIR"], "SECRET_KEY": "oai-test", "OAI_PAGE_SIZE": 3,
                        "OAI_TOKEN_HOURS": 1 / 3600})
    doc = get(short.test_client(), "verb=ListIdentifiers&metadataPrefix=oai_dc", schema)
    token = token_of(doc)
    time.sleep(2.1)
    assert error(get(short.test_client(), f"verb=ListIdentifiers&resumptionToken={quote(token)}", schema)) == \
        "badResumptionToken"


def test_tampered_tokens_are_refused(app, schema):
    import base64
    import json

    client = app.test_client()
    token = first_token(client, schema)
    body, _, signature = token.partition(".")
    payload = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    for changed in ({**payload, "l": "alliance"}, {**payload, "c": 0, "k": None}, {**payload, "e": payload["e"] + 9e9}):
        forged = base64.urlsafe_b64encode(json.dumps(changed).encode()).decode().rstrip("=") + "." + signature
        assert error(get(client, f"verb=ListRecords&resumptionToken={quote(forged)}", schema)) == "badResumptionToken"
    for bad in (token[:-2], token + "x", "." + signature, body + ".", token.replace(".", ""), "\u00e9" * 50):
        assert error(get(client, f"verb=ListRecords&resumptionToken={quote(bad)}", schema)) == "badResumptionToken"
    # a ListRecords token does not continue ListIdentifiers
    assert error(get(client, f"verb=ListIdentifiers&resumptionToken={quote(token)}", schema)) == "badResumptionToken"


def test_an_alliance_token_does_not_continue_anonymously(app, schema, token):
    auth = {"headers": {"Authorization": f"Bearer {token}"}}
    client = app.test_client()
    resumption = token_of(get(client, "verb=ListIdentifiers&metadataPrefix=oai_dc", schema, **auth))
    doc = get(client, f"verb=ListIdentifiers&resumptionToken={quote(resumption)}", schema)
    assert error(doc) == "badResumptionToken" and not ids(doc)
    public = token_of(get(client, "verb=ListIdentifiers&metadataPrefix=oai_dc", schema))
    assert error(get(client, f"verb=ListIdentifiers&resumptionToken={quote(public)}", schema, **auth)) == \
        "badResumptionToken"


def test_paging_neither_skips_nor_repeats_while_items_change(tmp_path, schema):
    """Records changed during a harvest leave it (their datestamp is past its start) and come in the
    next incremental harvest; the others are all sent once."""
    from web import create_app

    app = create_app({"DATA_DIR": str(tmp_path), "SECRET_KEY": "t", "OAI_PAGE_SIZE": 4})
    archive = app.extensions["fangzhi"].archive
    for n in range(12):
        make_item(archive, f"i{n:02d}")
    client = app.test_client()
    first = get(client, "verb=ListIdentifiers&metadataPrefix=oai_dc", schema)
    started = first.findtext(f"{OAI}responseDate")
    seen = ids(first)
    time.sleep(1.1)  # the changes get later datestamps than the harvest's start
    unseen = sorted({f"i{n:02d}" for n in range(12)} - set(seen))
    change(archive, seen[0], title={"zh": "改过"})  # already sent
    change(archive, unseen[0], title={"zh": "改过"})  # not yet sent
    make_item(archive, "new")
    archive.withdraw_item(unseen[1], user=SYSTEM, reason="x")
    doc = first
    while token_of(doc):
        doc = get(client, f"verb=ListIdentifiers&resumptionToken={quote(token_of(doc))}", schema)
        seen += ids(doc)
    assert len(seen) == len(set(seen)), "nothing repeated"
    assert set(seen) == {f"i{n:02d}" for n in range(12)} - {unseen[0], unseen[1]}
    later, _ = harvest(client, schema, f"verb=ListIdentifiers&metadataPrefix=oai_dc&from={started}")
    assert {seen[0], unseen[0], unseen[1], "new"} <= set(later)
    assert later[unseen[1]].get("status") == "deleted"


def test_an_item_restricted_later_is_deleted_for_its_harvesters(tmp_path, schema):
    from web import create_app

    app = create_app({"DATA_DIR": str(tmp_path), "SECRET_KEY": "t"})
    archive = app.extensions["fangzhi"].archive
    secret, _ = app.extensions["fangzhi"].accounts.create_token("member", {"read-alliance"}, by=SYSTEM)
    auth = {"headers": {"Authorization": f"Bearer {secret}"}}
    make_item(archive, "x")
    client = app.test_client()
    assert split(harvest(client, schema, "verb=ListIdentifiers&metadataPrefix=oai_dc")[0]) == ({"x"}, set())
    change(archive, "x", visibility="alliance")
    assert split(harvest(client, schema, "verb=ListIdentifiers&metadataPrefix=oai_dc")[0]) == (set(), {"x"})
    assert split(harvest(client, schema, "verb=ListIdentifiers&metadataPrefix=oai_dc", **auth)[0]) == ({"x"}, set())
    change(archive, "x", visibility="staff")
    assert split(harvest(client, schema, "verb=ListIdentifiers&metadataPrefix=oai_dc", **auth)[0]) == (set(), {"x"})
    archive.purge_item("x", user=SYSTEM, reason="x")
    assert split(harvest(client, schema, "verb=ListIdentifiers&metadataPrefix=oai_dc", **auth)[0]) == (set(), {"x"})
    assert split(harvest(client, schema, "verb=ListIdentifiers&metadataPrefix=oai_dc")[0]) == (set(), {"x"})


def test_a_collection_named_kind_is_no_set(tmp_path, schema):
    from web import create_app

    app = create_app({"DATA_DIR": str(tmp_path), "SECRET_KEY": "t"})
    archive = app.extensions["fangzhi"].archive
    archive.create_collection({"id": "kind", "title": "类型馆藏"}, user=SYSTEM)
    archive.create_collection({"id": "photo", "title": "照片馆藏", "parent": "kind"}, user=SYSTEM)
    make_item(archive, "b", collections=["photo"])
    specs = [s.text for s in get(app.test_client(), "verb=ListSets", schema).iter(f"{OAI}setSpec")]
    assert len(specs) == len(set(specs)) and specs.count("kind:photo") == 1
    doc = get(app.test_client(), "verb=ListIdentifiers&metadataPrefix=oai_dc&set=kind:photo", schema)
    assert error(doc) == "noRecordsMatch"  # b is a book, whatever its collection is called


def test_an_ended_embargo_dates_the_record_by_its_end(tmp_path, schema):
    """An embargo ending makes a record appear: its datestamp is that day, so incremental
    harvests from before it see it (§2.7.1)."""
    from web import create_app

    app = create_app({"DATA_DIR": str(tmp_path), "SECRET_KEY": "t"})
    archive = app.extensions["fangzhi"].archive
    make_item(archive, "e", "embargoed", embargo_until=TOMORROW)
    client = app.test_client()
    assert error(get(client, "verb=ListIdentifiers&metadataPrefix=oai_dc", schema)) == "noRecordsMatch"
    archive.today = lambda: date.today() + timedelta(days=2)  # the day after tomorrow
    doc = get(client, f"verb=GetRecord&metadataPrefix=oai_dc&identifier=oai:{REPO}:e", schema)
    assert ids(doc) == ["e"] and doc.findtext(f".//{OAI}datestamp") == f"{TOMORROW}T00:00:00Z"


# --- the address ------------------------------------------------------------------------------

def test_identifiers_and_urls_follow_base_url_never_the_host_header(tmp_path, schema):
    from web import create_app

    app = create_app({"DATA_DIR": str(tmp_path), "SECRET_KEY": "t", "BASE_URL": "https://archive.example.org"})
    make_item(app.extensions["fangzhi"].archive, "x")
    doc = get(app.test_client(), "verb=ListRecords&metadataPrefix=mods", schema, headers={"Host": "evil.example"})
    text = etree.tostring(doc).decode()
    assert "evil" not in text
    assert doc.findtext(f"{OAI}request") == "https://archive.example.org/oai"
    assert ids(doc) == ["x"] and doc.findtext(f".//{OAI}identifier") == "oai:archive.example.org:x"
    assert "https://archive.example.org/iiif/3/manifest/x" in text
    named = create_app({"DATA_DIR": str(tmp_path), "SECRET_KEY": "t", "OAI_REPOSITORY_IDENTIFIER": "lib.example.cn",
                        "OAI_ADMIN_EMAIL": "oai@lib.example.cn"})
    doc = get(named.test_client(), "verb=Identify", schema)
    assert doc.findtext(f".//{OAI}adminEmail") == "oai@lib.example.cn"
    assert ids(get(named.test_client(), "verb=ListIdentifiers&metadataPrefix=oai_dc", schema)) == ["x"]
    assert get(named.test_client(), "verb=GetRecord&metadataPrefix=oai_dc&identifier=oai:lib.example.cn:x",
               schema).find(f".//{OAI}record") is not None
    untrusted = create_app({"DATA_DIR": str(tmp_path), "SECRET_KEY": "t"})
    assert untrusted.test_client().get("/oai?verb=Identify", headers={"Host": "evil.example"}).status_code == 400


# --- a real harvester ---------------------------------------------------------------------------

def test_sickle_harvests_everything_through_resumption(app, schema, token):
    """PyPI sickle, a real harvester, against the app served over HTTP: every record in both
    formats, deleted ones included, across pages of OAI_PAGE_SIZE=3; sets; one record."""
    from sickle import Sickle

    with serving(app) as url:
        for auth, live, deleted in ((None, PUBLIC_LIVE, PUBLIC_DELETED),
                                    (f"Bearer {token}", ALLIANCE_LIVE, ALLIANCE_DELETED)):
            sickle = Sickle(f"{url}/oai", max_retries=0, headers={"Authorization": auth} if auth else {})
            assert sickle.Identify().deletedRecord == "persistent"
            for prefix in ("oai_dc", "mods"):
                records = list(sickle.ListRecords(metadataPrefix=prefix, ignore_deleted=False))
                found = {r.header.identifier.rsplit(":", 1)[1]: r for r in records}
                assert len(found) == len(records)
                assert {i for i, r in found.items() if not r.deleted} == live
                assert {i for i, r in found.items() if r.deleted} == deleted
                assert all(r.metadata for i, r in found.items() if not r.deleted)
                validate(schema, sickle.harvest(verb="GetRecord", identifier=records[0].header.identifier,
                                                metadataPrefix=prefix).raw.encode())
            assert found["photo1"].metadata["title"][:2] == ["惠山古镇", "Huishan old town"]  # MODS (then its host's)
            headers = list(sickle.ListIdentifiers(metadataPrefix="oai_dc", set="gaz", ignore_deleted=True))
            assert {h.identifier.rsplit(":", 1)[1] for h in headers} == {f"book{n}" for n in range(1, 7)} | {"photo1"}
            assert {s.setSpec for s in sickle.ListSets()} >= {"gaz", "gaz:xs", "kind:photo"}
            assert {f.metadataPrefix for f in sickle.ListMetadataFormats()} == {"oai_dc", "mods"}


def test_hostile_requests_get_protocol_errors_quickly(app, schema):
    client = app.test_client()
    started = time.monotonic()
    many = "&".join(f"a{n}=1" for n in range(2000))
    assert error(get(client, f"verb=ListRecords&metadataPrefix=oai_dc&{many}", schema)) == "badArgument"
    assert error(get(client, "verb=GetRecord&metadataPrefix=oai_dc&identifier=" + "x" * 200_000, schema)) == \
        "idDoesNotExist"
    assert error(get(client, "verb=ListRecords&metadataPrefix=oai_dc&set=" + "a:" * 20_000 + "a", schema)) == \
        "noRecordsMatch"
    for bad in ("0000-01-01", "2020-02-30", "99999-01-01", "2020-01-01T25:00:00Z", "２０２０-01-01"):
        assert error(get(client, f"verb=ListRecords&metadataPrefix=oai_dc&from={quote(bad)}", schema)) == "badArgument"
    assert error(get(client, "verb=ListRecords&metadataPrefix=oai_dc&identifier=oai:localhost:photo1", schema)) == \
        "badArgument"
    assert time.monotonic() - started < 10
    big = client.post("/oai", data={"verb": "Identify", "x": "y" * (3 << 20)})
    assert big.status_code == 413  # MAX_BODY_MB, refused unread


def test_any_arguments_get_a_valid_answer(app, schema):
    """Property: whatever a client sends (known and unknown names, any text, repeated), the
    answer is 200 and valid against the XSDs — no echo of what the schema cannot carry."""
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    names = st.sampled_from(["verb", "identifier", "metadataPrefix", "from", "until", "set", "resumptionToken", "x"])
    values = st.one_of(st.sampled_from(["ListRecords", "ListIdentifiers", "GetRecord", "ListSets", "Identify",
                                        "ListMetadataFormats", "oai_dc", "mods", "gaz", "kind:photo", "2026-01-01",
                                        "2026-01-01T00:00:00Z", f"oai:{REPO}:photo1"]),
                       st.text(max_size=40))
    client = app.test_client()

    @given(st.lists(st.tuples(names, values), max_size=6))
    @settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    def run(pairs):
        query = "&".join(f"{quote(n)}={quote(v)}" for n, v in pairs)
        doc = get(client, query, schema)
        # §3.6: the request's arguments are echoed unless they were the error
        assert (doc.find(f"{OAI}request").attrib == {}) == (error(doc) in ("badVerb", "badArgument"))

    run()


def test_seen_levels_are_every_versions_levels(archive):
    """Archive.seen_levels: whom some version of an item was shown to (deleted records, purge records)."""
    make_item(archive, "a")
    change(archive, "a", visibility="alliance")
    change(archive, "a", visibility="staff")
    assert archive.seen_levels("a") == {"public", "alliance", "staff"}
    make_item(archive, "w", "alliance")
    archive.withdraw_item("w", user=SYSTEM, reason="x")
    archive.reinstate_item("w", user=SYSTEM)
    change(archive, "w", visibility="private")
    assert archive.seen_levels("w") == {"alliance", "private"}  # the withdrawn version: nobody's
    make_item(archive, "e", "embargoed", embargo_until=TOMORROW)
    change(archive, "e", visibility="staff")  # before the embargo ended: never public
    assert archive.seen_levels("e") == {"embargoed", "staff"}
    make_item(archive, "l", "embargoed", embargo_until=YESTERDAY)
    assert archive.seen_levels("l") == {"public"}
    archive.purge_item("a", user=SYSTEM, reason="x")
    record = next(r for r in archive.purge_records() if r["object_id"] == "item:a")
    assert (record["seen"], record["kind"], record["collections"]) == (["alliance", "public", "staff"], "book", [])


def test_sickle_harvests_the_demo_collection(tmp_path, schema):
    """The demo collection (web/demo.py) as a member library would publish it: sickle gets every
    public item in both formats through resumption (2 a page); each page validates."""
    from sickle import Sickle

    from tests.web.test_admin import demo_records
    from web import create_app

    app = create_app({"DATA_DIR": str(tmp_path / "data"), "SECRET_KEY": "t", "OAI_PAGE_SIZE": 2})
    archive = app.extensions["fangzhi"].archive
    archive.create_collection({"id": "demo", "title": {"zh": "示例馆藏", "en": "Demo collection"}}, user=SYSTEM)
    for cid in ("demo-photos", "demo-manuscripts", "demo-oral-history"):
        archive.create_collection({"id": cid, "parent": "demo", "title": {"zh": cid}}, user=SYSTEM)
    made = [archive.create_item(data, files, user=SYSTEM).value for data, files in demo_records(tmp_path / "demo")]
    public = {i.id for i in made if i.visibility == "public"}
    assert len(public) == len(made) - 1  # the staff-only letter
    for prefix in ("oai_dc", "mods"):
        headers, pages = harvest(app.test_client(), schema, f"verb=ListRecords&metadataPrefix={prefix}")
        assert set(headers) == public and pages == -(-len(public) // 2)
    with serving(app) as url:
        sickle = Sickle(f"{url}/oai", max_retries=0)
        for prefix in ("oai_dc", "mods"):
            records = {r.header.identifier.rsplit(":", 1)[1]: r for r in sickle.ListRecords(metadataPrefix=prefix)}
            assert set(records) == public
        sets = {h.identifier.rsplit(":", 1)[1] for h in sickle.ListIdentifiers(metadataPrefix="mods", set="demo")}
        assert sets == public  # every demo item is in demo or one of its sub-collections
        manuscript = next(i for i in made if "DEMO-M001" in i.identifiers)
        mods = sickle.GetRecord(identifier=f"oai:{url.removeprefix('http://')}:{manuscript.id}", metadataPrefix="mods")
        assert mods.metadata["namePart"][:1] == ["秦毓钧"] and "1920/1929" in mods.metadata["dateCreated"]
