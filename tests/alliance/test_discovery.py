"""The Change Discovery 1.0 consumer (alliance.discovery) reading a real Fangzhi member on
127.0.0.1, incrementally, and the alliance Collection /iiif/3/collection/alliance built from it."""
import json
import time

import jsonschema
import pytest

from alliance.harvest import Limits
from alliance.members import Member
from repository.access import SYSTEM
from tests.helpers import conformance, photo_item, serving


@pytest.fixture
def member_site(tmp_path):
    from web import create_app

    return create_app({"DATA_DIR": str(tmp_path / "member"), "SECRET_KEY": "t", "IIIF_DISCOVERY_PAGE_SIZE": 3})


@pytest.fixture
def our_site(tmp_path):
    from web import create_app

    return create_app({"DATA_DIR": str(tmp_path / "us"), "SECRET_KEY": "t", "IIIF_PROVIDER": "区图书馆"})


def counting(app, paths: list):
    def wrapped(environ, start_response):
        paths.append(environ["PATH_INFO"])
        return app(environ, start_response)
    return wrapped


def test_reads_only_new_pages_and_builds_the_alliance_collection(member_site, our_site):
    archive = member_site.extensions["fangzhi"].archive
    for n in range(7):
        if n == 6:
            time.sleep(1.1)  # the newest activity seen (the cursor) is a second after the others
        archive.create_item(photo_item(id=f"p{n}"), user=SYSTEM)
    archive.create_item(photo_item(id="hidden", visibility="staff"), user=SYSTEM)
    us = our_site.extensions["fangzhi"]
    paths = []
    with serving(counting(member_site, paths)) as url:
        us.members.add(Member("west", f"{url}/oai", label_zh="西馆", label_en="West"))
        discovery = us.harvester.discovery
        time.sleep(1.1)
        assert discovery.harvest_member(us.members.get("west"), Limits(timeout=5)) == 7
        assert paths == ["/iiif/discovery/changes", *(f"/iiif/discovery/changes/page/{n}" for n in (2, 1, 0))]
        time.sleep(1.1)
        archive.create_item(photo_item(id="p7"), user=SYSTEM)
        archive.withdraw_item("p0", user=SYSTEM, reason="duplicate")
        paths.clear()
        # the two new activities, and the cursor's own again (a run may have ended within its second)
        assert discovery.harvest_member(us.members.get("west"), Limits(timeout=5)) == 3
    # 9 activities, 3 a page: the last page holds both new ones and the cursor's; page 1 is older, page 0 unread
    assert paths == ["/iiif/discovery/changes", "/iiif/discovery/changes/page/2", "/iiif/discovery/changes/page/1"]
    assert us.members.get("west").discovery_cursor
    body = our_site.test_client().get("/iiif/3/collection/alliance").json
    ids = sorted(m["id"].rsplit("/", 1)[1] for m in body["items"])
    assert ids == [f"p{n}" for n in range(1, 8)]  # p0 withdrawn, the staff item never public
    assert body["type"] == "Collection" and body["id"] == "http://localhost/iiif/3/collection/alliance"
    assert all(m["type"] == "Manifest" and m["label"] for m in body["items"])
    schema = json.loads(conformance("iiif/presentation-3.0.schema.json").read_text())
    errors = list(jsonschema.Draft7Validator(schema).iter_errors(body))
    assert not errors, [e.message[:200] for e in errors[:3]]
    # kept in storage: a new process derives the same Collection
    from web import create_app

    again = create_app({"DATA_DIR": us.settings["DATA_DIR"], "SECRET_KEY": "t"})
    assert again.test_client().get("/iiif/3/collection/alliance").json["items"] == body["items"]


def test_a_hostile_stream_is_refused(our_site):
    from werkzeug.wrappers import Response

    from alliance.records import HarvestError

    def loop(environ, start_response):  # a page whose prev is itself, and a page pointing off-site
        path = environ["PATH_INFO"]
        host = f"http://{environ['HTTP_HOST']}"
        if path == "/iiif/discovery/changes":
            body = {"type": "OrderedCollection", "totalItems": 1, "last": {"id": f"{host}/page/loop"}}
        elif path == "/page/loop":
            body = {"type": "OrderedCollectionPage", "orderedItems": [], "prev": {"id": f"{host}/page/loop"}}
        return Response(json.dumps(body), content_type="application/json")(environ, start_response)

    us = our_site.extensions["fangzhi"]
    with serving(loop) as url:
        us.members.add(Member("loopy", f"{url}/oai"))
        with pytest.raises(HarvestError, match="loop"):
            us.harvester.discovery.harvest_member(us.members.get("loopy"), Limits(timeout=2))
