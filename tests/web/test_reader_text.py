"""The OCR text beside the page image: numbered by page and line, selectable, in the reader's
script (OpenCC at display time), and only the text of pages the reader may see."""
import re

import pytest

from repository.access import SYSTEM
from repository.services import NewFile
from tests.helpers import photo_item
from tests.iiif.builders import ocr
from tests.web.auth_helpers import add_users, login
from tests.web.test_leaks import tiny_pyramid


@pytest.fixture
def book(archive):
    files = [NewFile("p1.tif", b"one", "image/tiff", 1), NewFile("p2.tif", b"two", "image/tiff", 2, access="staff")]
    for n, lines in ((1, ["無錫縣志卷一", "山川"]), (2, ["同意书签名"])):
        files += [NewFile(f"p{n}.pyramid.tif", tiny_pyramid(), "image/tiff", role="derivative", derived_from=f"f{n}",
                          purpose="pyramid", tech={"width": 64, "height": 48}),
                  NewFile(f"p{n}.ocr.json", ocr(lines), "application/json", role="derivative", derived_from=f"f{n}",
                          purpose="ocr")]
    archive.create_item(photo_item(id="xz", kind="book", title={"zh": "县志"}), files, user=SYSTEM)
    return "xz"


def lines(html):
    return re.findall(r'<li id="(p\d+-l\d+)" value="\d+"><span class="ln" aria-hidden="true">[\d.]+</span> '
                      r'<span class="line">([^<]*)</span>', html)


def test_the_text_is_beside_the_page_in_the_readers_script(client, book):
    html = client.get("/items/xz").get_data(as_text=True)
    assert 'class="reading"' in html and 'class="text-panel"' in html
    assert lines(html) == [("p1-l1", "无锡县志卷一"), ("p1-l2", "山川")]  # simplified for the 简体 interface
    assert "同意书签名" not in html  # the staff-only page's text


def test_the_original_script_and_english_readers(client, book):
    assert lines(client.get("/items/xz/text?script=original").get_data(as_text=True))[0] == ("p1-l1", "無錫縣志卷一")
    assert lines(client.get("/items/xz/text?lang=en").get_data(as_text=True))[0] == ("p1-l1", "無錫縣志卷一")


def test_traditional_readers_get_traditional_script(client, archive, book):
    # the one display function (web.display |script) decides by the interface: 繁體 readers see s2t
    archive.create_item(photo_item(id="jt", kind="book", title={"zh": "简本"}), [
        NewFile("p1.tif", b"j", "image/tiff", 1),
        NewFile("p1.pyramid.tif", tiny_pyramid(), "image/tiff", role="derivative", derived_from="f1",
                purpose="pyramid", tech={"width": 64, "height": 48}),
        NewFile("p1.ocr.json", ocr(["无锡县志"]), "application/json", role="derivative", derived_from="f1",
                purpose="ocr")], user=SYSTEM)
    assert lines(client.get("/items/jt/text?lang=zh_Hant").get_data(as_text=True)) == [("p1-l1", "無錫縣誌")]
    assert lines(client.get("/items/jt/text?lang=zh").get_data(as_text=True)) == [("p1-l1", "无锡县志")]
    assert lines(client.get("/items/xz/text?lang=zh_Hant").get_data(as_text=True))[0][1].startswith("無錫縣")


def test_staff_read_every_page(app, client, book):
    add_users(app)
    login(client, "archivist")
    found = lines(client.get("/items/xz/text").get_data(as_text=True))
    assert ("p2-l1", "同意书签名") in found


def test_text_page_of_a_hidden_or_textless_item(client, archive, book):
    archive.create_item(photo_item(id="hidden", title={"zh": "秘"}, visibility="staff"),
                        [NewFile("a.jpg", b"x", "image/jpeg")], user=SYSTEM)
    archive.create_item(photo_item(id="plain", title={"zh": "无字"}), [NewFile("a.jpg", b"x", "image/jpeg")], user=SYSTEM)
    assert client.get("/items/hidden/text").status_code == 404
    assert client.get("/items/plain/text").status_code == 404
    assert client.get("/items/xz/text?page=9").status_code == 200


def test_hostile_text_parameters(client, book):
    for query in ("page=-1", "page=abc", "page=999999999999999999999", "script=%3Cscript%3E"):
        r = client.get(f"/items/xz/text?{query}")
        assert r.status_code == 200 and "<script>" not in r.get_data(as_text=True), query
