"""Reading harvested records (alliance.records): oai_dc and MODS, links, and hostile values."""
import pytest

from alliance.records import BadResponse, parse_xml, read_record

MODS_RECORD = """<record xmlns="http://www.openarchives.org/OAI/2.0/"><header><identifier>oai:m:1</identifier>
<datestamp>2026-01-01T00:00:00Z</datestamp></header><metadata><mods xmlns="http://www.loc.gov/mods/v3"
xmlns:xlink="http://www.w3.org/1999/xlink"><titleInfo><title>荣氏家谱</title></titleInfo>
<name><namePart>荣德生</namePart></name><subject><topic>家谱</topic><geographic>无锡</geographic></subject>
<originInfo><dateCreated>1935</dateCreated></originInfo><genre>manuscript</genre>
<identifier type="isbn">9787501300006</identifier><location><shelfLocator>GJ-12</shelfLocator>
<url usage="primary display">https://east.example.org/items/r1</url>
<url access="preview">javascript:alert(1)</url></location>
<relatedItem><location><url>https://east.example.org/iiif/3/manifest/r1</url></location></relatedItem>
<accessCondition xlink:href="http://rightsstatements.org/vocab/InC/1.0/">In copyright</accessCondition></mods>
</metadata></record>""".encode()


def test_reads_mods_and_keeps_only_http_links():
    r = read_record(parse_xml(MODS_RECORD), "east", "public")
    assert (r.oai_id, r.title, r.creator, r.date, r.kind) == ("oai:m:1", ["荣氏家谱"], ["荣德生"], "1935", "manuscript")
    assert r.place == ["无锡"] and r.subject == ["家谱"] and r.identifiers == ["9787501300006", "GJ-12"]
    assert r.link == "https://east.example.org/items/r1" and r.manifest.endswith("/manifest/r1")
    assert r.thumbnail is None  # javascript: is never a link or an image source
    assert r.rights == "http://rightsstatements.org/vocab/InC/1.0/"


def test_dc_identifiers_that_are_links_or_scripts():
    data = (b'<record xmlns="http://www.openarchives.org/OAI/2.0/"><header><identifier>oai:d:1</identifier></header>'
            b'<metadata><oai_dc:dc xmlns:oai_dc="http://www.openarchives.org/OAI/2.0/oai_dc/" '
            b'xmlns:dc="http://purl.org/dc/elements/1.1/"><dc:title>t</dc:title>'
            b'<dc:identifier>javascript:alert(1)</dc:identifier><dc:identifier>urn:isbn:9787501300006</dc:identifier>'
            b'<dc:identifier>data:text/html,x</dc:identifier><dc:relation>vbscript:x</dc:relation></oai_dc:dc></metadata></record>')
    r = read_record(parse_xml(data), "m", "public")
    assert r.link is None and r.manifest is None and r.thumbnail is None
    assert "urn:isbn:9787501300006" in r.identifiers  # identifiers are indexed, never shown as links


@pytest.mark.parametrize("data", [
    b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY a "aaaa">]><r>&a;</r>',
    b'<?xml version="1.0"?><!DOCTYPE r SYSTEM "http://127.0.0.1:9/evil.dtd"><r/>',
    b'<r><x></r>',
    b'',
])
def test_the_parser_refuses_dtds_and_malformed_xml(data):
    with pytest.raises(BadResponse):
        parse_xml(data)
