"""Keep any file: every format is stored byte for byte with its checksum and PRONOM identification,
text formats give their text to search, and the safety checks still refuse what is dangerous."""
import hashlib
import io
import os
import zipfile
from pathlib import Path

import pytest

from ingest.pipeline import plan_job
from ingest.safety import MACRO_REASON, UploadRefused, inspect_upload
from ingest.sources import plan
from ingest.steps import text as text_step
from repository.access import SYSTEM

DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
ODT = "application/vnd.oasis.opendocument.text"
W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"


def docx_bytes(paragraphs, *, document: bytes | None = None, extra=()) -> bytes:
    body = "".join(f"<w:p><w:r><w:t>{p}</w:t></w:r></w:p>" for p in paragraphs)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", '<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/'
                   'package/2006/content-types"><Override PartName="/word/document.xml" ContentType="application/'
                   'vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/></Types>')
        z.writestr("_rels/.rels", '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"/>')
        z.writestr("word/document.xml", document if document is not None else
                   f'<?xml version="1.0"?><w:document xmlns:w="{W}"><w:body>{body}</w:body></w:document>')
        for name, data in extra:
            z.writestr(name, data)
    return buf.getvalue()


def odt_bytes(paragraphs, *, content: bytes | None = None, extra=()) -> bytes:
    ns = 'xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" ' \
         'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0"'
    body = "".join(f"<text:p>{p}</text:p>" for p in paragraphs)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr(zipfile.ZipInfo("mimetype"), ODT)  # first and stored (ODF 1.2 Part 3 §3.3)
        z.writestr("content.xml", content if content is not None else
                   f'<?xml version="1.0"?><office:document-content {ns}><office:body><office:text>{body}'
                   f'</office:text></office:body></office:document-content>')
        z.writestr("META-INF/manifest.xml", '<manifest:manifest xmlns:manifest="urn:oasis:names:tc:opendocument:'
                   'xmlns:manifest:1.0"/>')
        for name, data in extra:
            z.writestr(name, data)
    return buf.getvalue()


def media_type(name, data):
    return inspect_upload(name, io.BytesIO(data))


def refused(name, data):
    with pytest.raises(UploadRefused) as exc:
        inspect_upload(name, io.BytesIO(data))
    return exc.value.reason


def ingest(fangzhi, source: Path):
    ctx = fangzhi.ingest_context()
    job = plan_job(ctx, str(source), plan(source))
    fangzhi.runner.run([(job, e.n) for e in ctx.jobs.entries(job, ("pending",))])
    entries = {Path(e.files[0]).name if e.files else e.label: e for e in ctx.jobs.entries(job)}
    return job, entries


# -- identification by content ------------------------------------------------------------------

def test_text_in_every_common_encoding_is_text():
    letter = "无锡县志，民国二十五年。惠山泉水，清名桥下。"
    for encoding in ("utf-8", "utf-8-sig", "utf-16", "gb18030"):
        assert media_type("letter.txt", (letter * 50).encode(encoding)) == "text/plain", encoding
    assert media_type("信.txt", ("臺灣的歷史文獻，鄉土志書。這是繁體中文的文字檔案。" * 50).encode("big5")) == "text/plain"
    assert media_type("family.csv", "姓名,生年\n张三,1901\n".encode("gb18030")) == "text/csv"
    assert media_type("tei.xml", b'<?xml version="1.0"?><TEI xmlns="http://www.tei-c.org/ns/1.0"/>') == "application/xml"
    # a cut-off character at the end of the 8 KiB head does not make a long UTF-8 file binary
    assert media_type("long.txt", ("一" * 5000).encode()) == "text/plain"


def test_office_documents_are_told_apart_by_their_parts():
    assert media_type("letter.docx", docx_bytes(["信"])) == DOCX
    assert media_type("letter.odt", odt_bytes(["信"])) == ODT
    assert media_type("photos.zip", _zip(("a.txt", b"x"))) == "application/zip"


def test_a_file_named_to_look_like_something_else_is_what_its_bytes_are():
    assert media_type("report.docx", b"just words, no zip") == "text/plain"
    assert media_type("photo.jpg", docx_bytes(["信"])) == DOCX
    assert media_type("notes.txt", os.urandom(4096) + b"\x00") == "application/octet-stream"
    assert "can carry scripts" in refused("notes.txt", b"<html><script>alert(1)</script></html>")
    assert "can carry scripts" in refused("data.csv", b'<svg xmlns="http://www.w3.org/2000/svg" onload="x"/>')


# -- active content and bombs -----------------------------------------------------------------

@pytest.mark.parametrize("name, data", [
    ("macro.docx", docx_bytes(["信"], extra=[("word/vbaProject.bin", b"\xd0\xcf\x11\xe0 vba")])),
    ("macro.docm", docx_bytes(["信"], extra=[("word/VBAPROJECT.BIN", b"vba")])),
    ("macro.odt", odt_bytes(["信"], extra=[("Basic/Standard/Module1.xml", b"<script:module/>")])),
    ("script.odt", odt_bytes(["信"], extra=[("Scripts/python/run.py", b"import os")])),
])
def test_office_documents_with_macros_are_refused(name, data):
    assert refused(name, data) == MACRO_REASON


def test_ole_documents_with_macros_are_refused_and_others_kept():
    olefile = pytest.importorskip("olefile")
    assert olefile  # an OLE2 compound file with a "Macros" storage is made below
    plain, macro = _ole({"WordDocument": b"w" * 5000}), _ole({"WordDocument": b"w" * 5000, "Macros/VBA": b"v" * 5000})
    assert media_type("old.doc", plain) == "application/msword"
    assert refused("old.doc", macro) == MACRO_REASON


def test_docx_zip_bomb_is_refused():
    bomb = docx_bytes([], document=b"<w:document/>" + b" " * (300 << 20))
    assert len(bomb) < 2 << 20
    assert refused("bomb.docx", bomb).startswith("zip bomb")


def test_xml_bombs_give_no_expanded_text(tmp_path):
    laughs = b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">' + b"".join(
        b'<!ENTITY lol%d "%s">' % (i, (b"&lol%d;" % (i - 1) if i > 1 else b"&lol;") * 10) for i in range(1, 10)) + \
        b']><lolz>&lol9; words</lolz>'
    external = b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><x>&e; kept</x>'
    for name, data, mt in (("laughs.xml", laughs, "application/xml"), ("ext.xml", external, "application/xml")):
        (tmp_path / name).write_bytes(data)
        result = text_step.text(tmp_path / name, mt, tmp_path / f"work-{name}")
        words = result.derivatives[0].path.read_text()
        assert len(words) < 100 and "root:" not in words and "lol" not in words.replace("lolz", ""), words
    content = laughs.replace(b"<lolz>", b'<office:document-content xmlns:office="urn:oasis:names:tc:opendocument:'
                             b'xmlns:office:1.0" xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0">'
                             b'<text:p>').replace(b"</lolz>", b"</text:p></office:document-content>")
    (tmp_path / "laughs.odt").write_bytes(odt_bytes([], content=content))
    result = text_step.text(tmp_path / "laughs.odt", ODT, tmp_path / "work-odt")
    assert result.derivatives[0].path.read_text() == "" and "not well-formed XML" in result.tech["text_problem"]


def test_a_huge_text_file_is_kept_whole_and_its_text_cut(tmp_path, monkeypatch):
    monkeypatch.setattr(text_step, "MAX_TEXT_BYTES", 1 << 20)
    path = tmp_path / "huge.txt"
    path.write_bytes(("惠山" * 200_000).encode())  # 1.2 MB, cut inside a character
    result = text_step.text(path, "text/plain", tmp_path / "work")
    words = result.derivatives[0].path.read_text()
    assert result.tech["text_truncated"] and len(words.encode()) <= 1 << 20 and set(words) == {"惠", "山"}


def test_a_document_whose_xml_part_lies_about_its_size_is_cut_off(tmp_path, monkeypatch):
    monkeypatch.setattr(text_step, "MAX_XML_BYTES", 1 << 16)
    path = tmp_path / "big.docx"
    path.write_bytes(docx_bytes(["字" * 50_000]))
    result = text_step.text(path, DOCX, tmp_path / "work")
    assert "expands to more than" in result.tech["text_problem"] and result.derivatives[0].path.read_text() == ""


# -- ingest end to end --------------------------------------------------------------------------

def donation(root: Path) -> Path:
    root.mkdir()
    (root / "家书.txt").write_bytes("先父手书：惠山泉水甘冽。".encode("gb18030") * 40)
    (root / "回忆录.docx").write_bytes(docx_bytes(["第一章 童年", "荣巷老宅的天井"]))
    (root / "族谱.odt").write_bytes(odt_bytes(["族谱序", "华氏始迁祖"]))
    (root / "户口.csv").write_bytes("姓名,生年\n华阿大,1901\n".encode("utf-8-sig"))
    (root / "程序.bin").write_bytes(b"MZ\x90\x00" + bytes(range(256)) * 4)
    (root / "照片.zip").write_bytes(_zip(("a/1.txt", b"x"), ("a/2.txt", b"y")))
    return root


def test_any_file_is_kept_with_its_checksum_identification_and_text(fangzhi, tmp_path):
    source = donation(tmp_path / "donation")
    _, entries = ingest(fangzhi, source)
    assert {n: e.state for n, e in entries.items()} == dict.fromkeys(entries, "done"), \
        {n: e.reason for n, e in entries.items()}
    archive = fangzhi.archive
    items = {Path(e.files[0]).name: archive.load_item(e.item_id) for e in entries.values()}
    for name, item in items.items():
        original = item.originals[0]
        data = archive.open_file(item.id, original.id, user=SYSTEM).read()
        assert data == (source / name).read_bytes() and original.sha256 == hashlib.sha256(data).hexdigest()
        assert "pronom" in original.tech, name
    kinds = {n: i.kind for n, i in items.items()}
    assert kinds == {"家书.txt": "document", "回忆录.docx": "document", "族谱.odt": "document",
                     "户口.csv": "dataset", "程序.bin": "document", "照片.zip": "document"}
    pronom = {n: i.originals[0].tech["pronom"]["puid"] for n, i in items.items()}
    assert pronom["回忆录.docx"] == "fmt/412" and pronom["族谱.odt"].startswith("fmt/")
    assert pronom["户口.csv"] == "x-fmt/18" and pronom["照片.zip"] == "x-fmt/263"
    assert pronom["家书.txt"] == "x-fmt/111" and items["家书.txt"].originals[0].tech["pronom"]["basis"] == "extension"
    for name, words in (("家书.txt", "惠山泉水"), ("回忆录.docx", "荣巷老宅"), ("族谱.odt", "华氏始迁祖")):
        assert fangzhi.search.search(words, user=SYSTEM).total >= 1, name
        item = items[name]
        assert [d.purpose for d in item.derivatives(item.originals[0].id)] == ["text"]
    assert items["家书.txt"].originals[0].tech["encoding"] == "gb18030"
    assert not items["程序.bin"].derivatives(items["程序.bin"].originals[0].id)


def _zip(*members) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for name, data in members:
            z.writestr(name, data)
    return buf.getvalue()


def _ole(streams: dict) -> bytes:
    """A small OLE2 compound file (MS-CFB version 3, 512-byte sectors, streams of 4096 bytes or more
    so no mini stream is needed) holding ``streams``; "A/B" makes stream B in storage A."""
    import struct

    free, end, fat_sect, none = 0xFFFFFFFF, 0xFFFFFFFE, 0xFFFFFFFD, 0xFFFFFFFF
    entries = [["Root Entry", 5, b""]]  # name, type, data; tree links filled below
    for path, data in streams.items():
        *storage, name = path.split("/")
        if storage and not any(e[0] == storage[0] for e in entries):
            entries.append([storage[0], 1, b""])
        assert len(data) >= 4096
        entries.append([name, 2, data, storage[0] if storage else None])
    fat, body, sector = [fat_sect, end], b"", 2
    starts = []
    for e in entries:
        if e[1] != 2:
            starts.append(end)
            continue
        count = -(-len(e[2]) // 512)
        starts.append(sector)
        fat += [sector + i + 1 for i in range(count - 1)] + [end]
        body += e[2].ljust(count * 512, b"\0")
        sector += count
    fat += [free] * (128 - len(fat))
    # each parent's children as a chain of right siblings
    children: dict = {}
    for n, e in enumerate(entries[1:], 1):
        parent = 0 if e[1] == 1 or len(e) < 4 or e[3] is None else next(
            i for i, x in enumerate(entries) if x[0] == e[3] and x[1] == 1)
        children.setdefault(parent, []).append(n)
    directory = b""
    for n, e in enumerate(entries):
        siblings = next((c for c in children.values() if n in c), [])
        right = siblings[siblings.index(n) + 1] if n in siblings and siblings.index(n) + 1 < len(siblings) else none
        child = children.get(n, [none])[0]
        name = e[0].encode("utf-16-le") + b"\0\0"
        directory += (name.ljust(64, b"\0") + struct.pack("<HBBLLL", len(name), e[1], 1, none, right, child)
                      + b"\0" * 36 + struct.pack("<LQ", starts[n], len(e[2])))
    directory = directory.ljust(512, b"\0")
    for n in range(len(entries), 4):  # unused entries: no siblings, no child
        directory = directory[:n * 128 + 68] + struct.pack("<LLL", none, none, none) + directory[n * 128 + 80:]
    header = (bytes.fromhex("d0cf11e0a1b11ae1") + b"\0" * 16 + struct.pack("<HHHHH", 0x3E, 3, 0xFFFE, 9, 6)
              + b"\0" * 6 + struct.pack("<LLLLLLLLL", 0, 1, 1, 0, 4096, end, 0, end, 0)
              + struct.pack("<L", 0) + struct.pack("<L", free) * 108)
    return header + struct.pack("<128L", *fat) + directory + body


# -- preservation events -------------------------------------------------------------------------

def test_preservation_events_are_kept_with_the_object_and_survive_a_rebuild(fangzhi, tmp_path):
    from ingest.pipeline import make_derivatives
    from repository.access import ANONYMOUS, User
    from repository.errors import PermissionDenied
    from storage.fixity import check

    source = tmp_path / "donation"
    source.mkdir()
    (source / "回忆录.docx").write_bytes(docx_bytes(["荣巷老宅"]))
    _, entries = ingest(fangzhi, source)
    item_id = entries["回忆录.docx"].item_id
    archive = fangzhi.archive
    original = archive.load_item(item_id).originals[0]
    events = archive.preservation_events(item_id, user=SYSTEM)
    kinds = [e["type"] for e in events]
    for kind in ("ingestion", "message digest calculation", "format identification", "virus check", "creation"):
        assert kind in kinds, kind
    identified = next(e for e in events if e["type"] == "format identification")
    assert identified["files"] == [original.id] and "fmt/412" in identified["outcome_detail"]
    assert identified["agents"][0] == {"role": "executing program", "name": "fido 1.6.1 (formats-v109)"}
    digest = next(e for e in events if e["type"] == "message digest calculation")
    assert digest["outcome_detail"] == f"sha256:{original.sha256}"
    made = next(e for e in events if e["type"] == "creation")
    assert made["agents"][0]["name"].startswith("lxml ") and made["outcome_detail"] == "text"

    make_derivatives(fangzhi.ingest_context(), item_id, {}, why="regenerate derivatives", replace=True)
    check(archive.objects, [f"item:{item_id}"])
    archive.rebuild()  # the catalog is made again from storage: the events never depended on it
    after = archive.preservation_events(item_id, user=SYSTEM)
    assert [e["id"] for e in after[:len(events)]] == [e["id"] for e in events]  # kept with the object
    assert [e["type"] for e in after[len(events):]] == ["migration", "fixity check"]
    assert after[-1]["outcome"] == "success"

    for reader in (ANONYMOUS, User("r", frozenset({"researcher"}))):
        with pytest.raises(PermissionDenied):
            archive.preservation_events(item_id, user=reader)
    archive.purge_item(item_id, user=SYSTEM, reason="donor asked")
    gone = archive.preservation_events(item_id, user=SYSTEM)
    assert gone[-1]["type"] == "deletion" and "donor asked" in gone[-1]["detail"]


# What PREMIS 3.0's XML schema (premis-v3-0.xsd, www.loc.gov/standards/premis) requires of the elements
# premis_xml writes: each element's children in schema order, as (name, fewest, most) — a name missing
# from a list is not allowed there. No Python package ships that schema, and the tests need no file beside
# the repository, so this is the schema's content model for those elements, written out.
MANY = 1 << 30
PREMIS_3 = {
    "premis": [("object", 1, MANY), ("event", 0, MANY), ("agent", 0, MANY), ("rightsStatement", 0, MANY)],
    "object:intellectualEntity": [("objectIdentifier", 1, MANY), ("preservationLevel", 0, MANY),
                                  ("significantProperties", 0, MANY), ("originalName", 0, 1)],
    "object:file": [("objectIdentifier", 1, MANY), ("preservationLevel", 0, MANY),
                    ("significantProperties", 0, MANY), ("objectCharacteristics", 1, MANY), ("originalName", 0, 1)],
    "objectIdentifier": [("objectIdentifierType", 1, 1), ("objectIdentifierValue", 1, 1)],
    "objectCharacteristics": [("compositionLevel", 0, 1), ("fixity", 0, MANY), ("size", 0, 1), ("format", 1, MANY)],
    "fixity": [("messageDigestAlgorithm", 1, 1), ("messageDigest", 1, 1), ("messageDigestOriginator", 0, 1)],
    "format": [("formatDesignation", 0, 1), ("formatRegistry", 0, 1), ("formatNote", 0, MANY)],
    "formatDesignation": [("formatName", 1, 1), ("formatVersion", 0, 1)],
    "formatRegistry": [("formatRegistryName", 1, 1), ("formatRegistryKey", 1, 1), ("formatRegistryRole", 0, 1)],
    "event": [("eventIdentifier", 1, 1), ("eventType", 1, 1), ("eventDateTime", 1, 1),
              ("eventDetailInformation", 0, MANY), ("eventOutcomeInformation", 0, MANY),
              ("linkingAgentIdentifier", 0, MANY), ("linkingObjectIdentifier", 0, MANY)],
    "eventIdentifier": [("eventIdentifierType", 1, 1), ("eventIdentifierValue", 1, 1)],
    "eventDetailInformation": [("eventDetail", 0, 1)],
    "eventOutcomeInformation": [("eventOutcome", 0, 1), ("eventOutcomeDetail", 0, MANY)],
    "eventOutcomeDetail": [("eventOutcomeDetailNote", 0, 1)],
    "linkingAgentIdentifier": [("linkingAgentIdentifierType", 1, 1), ("linkingAgentIdentifierValue", 1, 1),
                               ("linkingAgentRole", 0, MANY)],
    "linkingObjectIdentifier": [("linkingObjectIdentifierType", 1, 1), ("linkingObjectIdentifierValue", 1, 1),
                                ("linkingObjectRole", 0, MANY)],
    "agent": [("agentIdentifier", 1, MANY), ("agentName", 0, MANY), ("agentType", 0, 1), ("agentVersion", 0, 1)],
    "agentIdentifier": [("agentIdentifierType", 1, 1), ("agentIdentifierValue", 1, 1)],
}


def premis_3_errors(element, ns="http://www.loc.gov/premis/v3") -> list[str]:
    """Where ``element`` and what it holds break PREMIS_3 (wrong namespace, a child out of order,
    missing, repeated or not allowed; text inside a container; an empty leaf)."""
    from lxml import etree

    qname = etree.QName(element)
    if qname.namespace != ns:
        return [f"{qname}: not in the PREMIS 3 namespace"]
    name = qname.localname
    if name == "object":  # PREMIS 3 names an object's category by xsi:type (premis:file, …)
        name += ":" + (element.get("{http://www.w3.org/2001/XMLSchema-instance}type") or "").removeprefix("premis:")
    children = [c for c in element if isinstance(c.tag, str)]
    if name not in PREMIS_3:
        if name.startswith("object:"):
            return [f"{name}: not an object category premis_xml may write"]
        return [] if not children and (element.text or "").strip() else [f"{name}: must be a leaf with text"]
    errors, i = [], 0
    for allowed, fewest, most in PREMIS_3[name]:
        n = 0
        while i < len(children) and etree.QName(children[i]).localname == allowed:
            n, i = n + 1, i + 1
        if not fewest <= n <= most:
            errors.append(f"{name}: {n} {allowed} (PREMIS 3 allows {fewest} to {most})")
    errors += [f"{name}: {etree.QName(c).localname} not allowed here (or out of order)" for c in children[i:]]
    if (element.text or "").strip():
        errors.append(f"{name}: text in a container")
    return errors + [e for c in children for e in premis_3_errors(c, ns)]


def test_premis_xml_of_an_item_is_premis_3(fangzhi, tmp_path):
    """The PREMIS of an exported item is PREMIS 3.0: its namespace and version, every object, event
    and agent with its mandatory children in the order PREMIS 3.0's schema gives (PREMIS_3 above; the
    schema itself is in no package, so no file from ../shared/conformance is needed)."""
    from lxml import etree

    from ingest.sources.export import export_bag
    from repository.access import User

    source = tmp_path / "donation"
    source.mkdir()
    (source / "族谱.odt").write_bytes(odt_bytes(["华氏始迁祖"]))
    _, entries = ingest(fangzhi, source)
    item_id = entries["族谱.odt"].item_id
    fangzhi.archive.update_item(item_id, {"visibility": "public"}, expected_version=2, user=SYSTEM)
    bag = export_bag(fangzhi.archive, [item_id], tmp_path / "bag", user=SYSTEM)
    xml = etree.parse(str(bag / "data" / "premis" / f"{item_id}.xml"))
    ns = {"p": "http://www.loc.gov/premis/v3"}
    assert xml.getroot().get("version") == "3.0"
    assert xml.xpath("//p:formatRegistryKey/text()", namespaces=ns)[0].startswith("fmt/")
    types = xml.xpath("//p:event/p:eventType/@valueURI", namespaces=ns)
    assert "http://id.loc.gov/vocabulary/preservation/eventType/ing" in types
    assert {a for a in xml.xpath("//p:agent/p:agentName/text()", namespaces=ns)} >= {"fido 1.6.1 (formats-v109)"}
    # a reader's export has no preservation events (they are for staff)
    reader = export_bag(fangzhi.archive, [item_id], tmp_path / "reader-bag", user=User("r", frozenset({"researcher"})))
    assert not (reader / "data" / "premis").exists()
    assert premis_3_errors(xml.getroot()) == []
    assert {etree.QName(o).localname for o in xml.getroot()} == {"object", "event", "agent"}
    assert [o.get("{http://www.w3.org/2001/XMLSchema-instance}type") for o in xml.xpath("p:object", namespaces=ns)] \
        == ["premis:intellectualEntity", "premis:file"]
    assert xml.xpath("//p:fixity/p:messageDigest/text()", namespaces=ns)[0] == fangzhi.archive.load_item(item_id).originals[0].sha256
    # the check itself finds what the schema refuses: an event without its date, a file without a format
    broken = etree.fromstring(etree.tostring(xml))
    for path in ("//p:event[1]/p:eventDateTime", "//p:objectCharacteristics/p:format"):
        bad = etree.fromstring(etree.tostring(xml))
        gone = bad.xpath(path, namespaces=ns)[0]
        gone.getparent().remove(gone)
        assert premis_3_errors(bad), path
    broken.insert(0, broken[-1])  # an agent before the objects
    assert any("not allowed here" in e or "0 object" in e for e in premis_3_errors(broken))


def test_an_item_with_some_files_already_kept_is_stored_whole(fangzhi, tmp_path):
    """A donation's folder holding a file already in the archive beside new ones: every file of it
    is kept (the new ones are not lost as a "duplicate"), with a note naming the earlier item."""
    first, second = tmp_path / "first", tmp_path / "second"
    first.mkdir()
    (first / "信.txt").write_bytes("惠山泉水".encode() * 20)
    _, done = ingest(fangzhi, first)
    earlier = done["信.txt"].item_id
    (second / "box").mkdir(parents=True)
    (second / "box" / "信.txt").write_bytes((first / "信.txt").read_bytes())
    (second / "box" / "表.csv").write_bytes("姓名\n华阿大\n".encode())
    _, entries = ingest(fangzhi, second)
    entry = next(iter(entries.values()))
    from web.notices import render

    assert entry.state == "done" and [render(n, "en") for n in entry.notes] == \
        [f"信.txt: the same file is also in item {earlier} (file {fangzhi.archive.load_item(earlier).originals[0].id})"]
    kept = fangzhi.archive.load_item(entry.item_id)
    assert sorted(f.path for f in kept.originals) == ["originals/信.txt", "originals/表.csv"]


def test_originals_stored_without_identification_are_identified_later(fangzhi):
    """Files stored without identification (by an archive older than it, or a caller of the
    archive that does not identify): `fangzhi formats --identify` adds it, with its event."""
    from ingest.pipeline import identify_missing
    from repository.services import NewFile

    record = fangzhi.archive.create_item({"kind": "document", "title": "信"}, [
        NewFile("letter.docx", docx_bytes(["荣巷"]), DOCX)], user=SYSTEM)
    item_id = record.value.id
    assert "pronom" not in fangzhi.archive.load_item(item_id).originals[0].tech
    assert identify_missing(fangzhi.ingest_context(), [item_id]) == 1
    original = fangzhi.archive.load_item(item_id).originals[0]
    assert original.tech["pronom"]["puid"] == "fmt/412"
    events = fangzhi.archive.preservation_events(item_id, user=SYSTEM)
    assert events[-1]["type"] == "format identification" and events[-1]["files"] == [original.id]
    assert identify_missing(fangzhi.ingest_context(), [item_id]) == 0  # nothing left: no new version
    assert fangzhi.archive.get_item(item_id, user=SYSTEM).version == 2


def test_threads_identifying_at_once_in_a_new_process_make_fido_once(tmp_path):
    """Upload threads identify their first files together: FIDO's import and set-up are not
    thread-safe ("dictionary changed size during iteration" under load), so they happen once."""
    import subprocess
    import sys

    (tmp_path / "a.txt").write_text("惠山泥人\n", encoding="utf-8")
    script = f"""
import threading
from ingest import pronom
results, errors = [], []
def work():
    try:
        results.append(pronom.identify({str(tmp_path / "a.txt")!r})["puid"])
    except Exception as exc:
        errors.append(repr(exc))
threads = [threading.Thread(target=work) for _ in range(8)]
[t.start() for t in threads]; [t.join() for t in threads]
assert not errors, errors
assert len(results) == 8 and len(set(results)) == 1, results
print(results[0])
"""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120,
                          cwd=Path(__file__).resolve().parents[2])
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().startswith("x-fmt/")
