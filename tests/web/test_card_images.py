"""Card and search-hit images: lazy-loaded, sized, with a srcset from the IIIF Image API (3.0 §4.2
``w,`` sizes, never wider than the image) — and no IIIF address of an image the reader may not see."""
import re
from urllib.parse import urlsplit

import pytest

from repository.access import SYSTEM
from repository.services import NewFile
from tests.helpers import photo_item
from tests.web.auth_helpers import add_users, login


def pyramid(width, height) -> bytes:
    from iiif.imaging import pyvips

    return (pyvips.Image.black(width, height) + 128).cast("uchar").tiffsave_buffer(tile=True, pyramid=True,
                                                                                   compression="jpeg")


def scanned(archive, item_id, title, *, pyramid_access=None, **fields):
    archive.create_item(photo_item(id=item_id, title={"zh": title}, **fields), [
        NewFile("scan.tif", b"II*\x00tiff", "image/tiff", 1),
        NewFile("scan.pyramid.tif", pyramid(1000, 750), "image/tiff", role="derivative", derived_from="f1",
                purpose="pyramid", tech={"width": 1000, "height": 750}, access=pyramid_access),
        NewFile("thumbnail.jpg", b"jpeg", "image/jpeg", role="derivative", derived_from="f1", purpose="thumbnail")],
        user=SYSTEM)


@pytest.fixture
def cards(archive):
    scanned(archive, "open-1", "运河码头")
    scanned(archive, "closed-pyramid", "运河货栈", pyramid_access="staff")  # its thumbnail public, its scan not
    scanned(archive, "staff-1", "运河秘档", visibility="staff")


def imgs(html):
    return {m.group(1): m.group(0) for m in re.finditer(r'<a[^>]*href="/items/([^"]+)"[^>]*>\s*(?:<img[^>]*>)', html)}


def srcset(tag):
    found = re.search(r'srcset="([^"]*)"', tag)
    # HTML's srcset: a URL runs to the next space (IIIF's "200," keeps its comma), then its width
    return re.findall(r"(\S+) (\d+w)(?:, |$)", found.group(1)) if found else []


def hit_imgs(html):
    return {m.group(2): m.group(1) for m in re.finditer(
        r'<li class="hit">\s*(<img[^>]*>)\s*<div>\s*<a class="title" href="/items/([^"]+)"', html)}


def check_served(client, tag, item_id):
    candidates = srcset(tag)
    assert [w for _, w in candidates] == ["200w", "400w", "800w"]  # the 1000 px image: none wider than 800
    for url, width in candidates:
        assert f"/iiif/3/{item_id}~" in url
        answer = client.get(urlsplit(url).path)
        assert answer.status_code == 200 and answer.mimetype == "image/jpeg", url
        from iiif.imaging import pyvips
        assert pyvips.Image.new_from_buffer(answer.data, "").width == int(width[:-1])
    assert re.search(r'src="[^"]*/iiif/3/' + re.escape(item_id) + r'~[^"]*/full/400,/0/default\.jpg"', tag)
    assert 'width="400" height="300"' in tag and "sizes=" in tag


def test_home_cards_have_an_iiif_srcset_and_load_lazily(client, cards):
    html = client.get("/").get_data(as_text=True)
    found = imgs(html)
    check_served(client, found["open-1"], "open-1")
    assert 'loading="lazy"' in found["open-1"]
    # the scan is staff-only: the card keeps its public thumbnail, with no IIIF address
    assert "srcset" not in found["closed-pyramid"] and "/items/closed-pyramid/files/f3" in found["closed-pyramid"]
    assert "/iiif/3/closed-pyramid" not in html and "staff-1" not in html
    assert client.get("/iiif/3/closed-pyramid~f2/full/200,/0/default.jpg").status_code in (401, 403, 404)


def test_search_hits_have_an_iiif_srcset_first_ones_eager(client, cards):
    html = client.get("/search?q=运河").get_data(as_text=True)
    found = hit_imgs(html)
    assert set(found) == {"open-1", "closed-pyramid"}
    check_served(client, found["open-1"], "open-1")
    assert 'loading="eager"' in found["open-1"]  # among the first hits: above the fold
    assert "srcset" not in found["closed-pyramid"] and "/iiif/3/closed-pyramid" not in html


def test_staff_see_the_restricted_scan_in_cards(app, client, cards):
    add_users(app)
    login(client, "archivist")
    html = client.get("/search?q=运河").get_data(as_text=True)
    found = hit_imgs(html)
    assert set(found) == {"open-1", "closed-pyramid", "staff-1"}
    assert "/iiif/3/closed-pyramid~f2/" in found["closed-pyramid"]
    assert "/iiif/3/staff-1~f2/" in imgs(client.get("/").get_data(as_text=True))["staff-1"]
