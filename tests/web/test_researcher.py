"""The item page's researcher tools: citation box, BibTeX/RIS downloads, permalink, IIIF
drag-and-drop link, share; downloads only of what the user may see."""
import re

from repository.access import SYSTEM
from repository.services import NewFile
from tests.helpers import photo_item
from tests.web.auth_helpers import add_users, login


def make(archive):
    archive.create_item(photo_item(id="b1", kind="book", title={"zh": "南通县图志"},
                                   creators=[{"name": {"zh": "张謇"}}], date={"edtf": "1922"},
                                   rights="http://rightsstatements.org/vocab/InC/1.0/"),
                        [NewFile("p1.jpg", b"page one", "image/jpeg", 1),
                         NewFile("p2.jpg", b"secret page", "image/jpeg", 2, access="staff")], user=SYSTEM)


def test_item_page_has_the_tools(client, archive):
    make(archive)
    html = client.get("/items/b1").get_data(as_text=True)
    assert re.search(r"张謇\. 南通县图志\[M/OL\]\. 1922\[\d{4}-\d\d-\d\d\]\. http://localhost/items/b1\.", html)
    assert 'href="/items/b1/cite.bib"' in html and 'href="/items/b1/cite.ris"' in html
    assert 'value="http://localhost/items/b1"' in html  # the permalink
    manifest = "http://localhost/iiif/3/manifest/b1"
    assert f'href="{manifest}?manifest=http%3A//localhost/iiif/3/manifest/b1"' in html
    assert "/static/iiif.svg?v=" in html and "mailto:?subject=" in html
    assert "仅供个人学习研究使用" in html  # In Copyright
    downloads = re.search(r'<ul class="downloads">(.*?)</ul>', html, re.S).group(1)
    assert "p1.jpg" in downloads and "p2.jpg" not in downloads


def test_staff_download_what_they_may_see(app, client, archive):
    make(archive)
    add_users(app)
    login(client, "archivist")
    downloads = re.search(r'<ul class="downloads">(.*?)</ul>', client.get("/items/b1").get_data(as_text=True), re.S)
    assert "p2.jpg" in downloads.group(1)


def test_exports_are_downloads(client, archive):
    make(archive)
    bib = client.get("/items/b1/cite.bib")
    assert bib.headers["Content-Type"] == "application/x-bibtex; charset=utf-8"
    assert bib.headers["Content-Disposition"] == "attachment; filename*=UTF-8''b1.bib"
    assert bib.get_data(as_text=True).startswith("@book{b1,\n  author = {{张謇}},")
    ris = client.get("/items/b1/cite.ris")
    assert ris.headers["Content-Type"] == "application/x-research-info-systems; charset=utf-8"
    assert ris.get_data(as_text=True).startswith("TY  - BOOK\r\nAU  - 张謇\r\n")
    assert client.get("/items/nothing/cite.bib").status_code == 404


def test_a_hidden_item_gives_no_citation(client, archive):
    archive.create_item(photo_item(id="s1", title={"zh": "馆员档案"}, visibility="staff"), user=SYSTEM)
    for url in ("/items/s1/cite.bib", "/items/s1/cite.ris"):
        r = client.get(url)
        assert r.status_code == 404 and "馆员档案" not in r.get_data(as_text=True)
