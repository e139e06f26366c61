"""Browse pages: counts from the search's facets under the access filter, links into search."""
import re

import pytest

from repository.access import SYSTEM
from tests.helpers import photo_item
from tests.web.auth_helpers import add_users, login


@pytest.fixture
def items(archive):
    archive.create_collection({"id": "canal", "title": {"zh": "运河文献", "en": "Canal papers"}}, user=SYSTEM)
    archive.create_item(photo_item(id="a", kind="book", title={"zh": "甲"}, places=[{"name": {"zh": "惠山"}}],
                                   creators=[{"name": {"zh": "张謇"}}], date={"edtf": "1936"},
                                   collections=["canal"]), user=SYSTEM)
    archive.create_item(photo_item(id="b", kind="photo", title={"zh": "乙"}, places=[{"name": {"zh": "惠山"}}],
                                   date={"edtf": "1948"}), user=SYSTEM)
    archive.create_item(photo_item(id="s", kind="manuscript", title={"zh": "丙"}, visibility="staff",
                                   places=[{"name": {"zh": "秘密地点"}}], creators=[{"name": {"zh": "内部人"}}],
                                   date={"edtf": "1912"}), user=SYSTEM)


def counts(html):
    return dict(re.findall(r'<li><a href="[^"]+">([^<]+)</a> <span class="count">(\d+)</span></li>', html))


def test_counts_only_what_the_reader_may_see(app, client, items):
    assert counts(client.get("/browse/place").get_data(as_text=True)) == {"惠山": "2"}
    assert counts(client.get("/browse/person").get_data(as_text=True)) == {"张謇": "1"}
    assert counts(client.get("/browse/kind").get_data(as_text=True)) == {"图书": "1", "照片": "1"}
    assert counts(client.get("/browse/decade").get_data(as_text=True)) == {"1930年代": "1", "1940年代": "1"}
    assert counts(client.get("/browse/collection").get_data(as_text=True)) == {"运河文献": "1"}
    add_users(app)
    login(client, "archivist")
    assert counts(client.get("/browse/place").get_data(as_text=True)) == {"惠山": "2", "秘密地点": "1"}
    assert "1910年代" in client.get("/browse/decade").get_data(as_text=True)


def test_values_link_into_search_with_the_facet(client, items):
    html = client.get("/browse/place").get_data(as_text=True)
    link = re.search(r'<li><a href="([^"]+)">惠山</a>', html).group(1).replace("&amp;", "&")
    assert link.startswith("/search?place=")
    found = client.get(link).get_data(as_text=True)
    assert 'href="/items/a"' in found and 'href="/items/b"' in found


def test_index_and_unknown_facets(client, items):
    html = client.get("/browse").get_data(as_text=True)
    assert all(f'href="/browse/{f}"' in html for f in ("collection", "kind", "place", "person", "decade", "era"))
    assert "秘密地点" not in html and "内部人" not in html
    assert client.get("/browse/format").status_code == 404  # a staff facet is not browsable
    assert client.get("/browse/nothing").status_code == 404
    assert 'href="/browse"' in client.get("/").get_data(as_text=True)


def test_english_labels(client, items):
    html = client.get("/browse/collection?lang=en").get_data(as_text=True)
    assert "Canal papers" in html
