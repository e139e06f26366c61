"""IIIF Presentation 3.0 manifests and collections: every kind of item, checked against the
official schema (../shared/conformance) and against what the spec says each property holds."""
import json
import os
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest

from repository.access import SYSTEM
from repository.errors import ValidationError
from tests.helpers import conformance
from tests.iiif import builders
from tests.web.auth_helpers import add_users, login

PRESENTATION = "http://iiif.io/api/presentation/3/context.json"


def validator():
    schema = json.loads(conformance("iiif/presentation-3.0.schema.json").read_text())
    return jsonschema.Draft7Validator(schema, format_checker=jsonschema.Draft7Validator.FORMAT_CHECKER)


def assert_valid(document):
    errors = sorted(validator().iter_errors(document), key=lambda e: list(e.absolute_path))
    assert not errors, [f"{'/'.join(map(str, e.absolute_path))}: {e.message[:300]}" for e in errors[:5]]


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    from web import create_app

    app = create_app({"DATA_DIR": str(tmp_path_factory.mktemp("prezi")), "SECRET_KEY": "t",
                      "IIIF_PROVIDER": "测试图书馆", "IIIF_PROVIDER_EN": "Test Library",
                      "LOGIN_RATE_LIMIT": "1000 per minute"})
    archive = app.extensions["fangzhi"].archive
    archive.create_collection({"id": "town", "title": {"zh": "古镇", "en": "Old town"},
                               "description": {"zh": "古镇旧影"}}, user=SYSTEM)
    archive.create_collection({"id": "halls", "parent": "town", "title": {"zh": "祠堂"},
                               "holding_library": "惠山图书馆"}, user=SYSTEM)
    archive.create_collection({"id": "secret", "title": {"zh": "馆员专藏"}, "visibility": "staff"}, user=SYSTEM)
    for build in builders.KINDS.values():
        build(archive, collections=["town"])
    builders.photo(archive, "in-halls", collections=["halls", "secret"])
    builders.photo(archive, "staff-photo", visibility="staff", collections=["town"])
    builders.manuscript(archive, "ms-restricted", restricted_page=2)
    builders.photo(archive, "gone")
    archive.withdraw_item("gone", user=SYSTEM, reason="duplicate")
    add_users(app, ["archivist"])
    return app


@pytest.fixture
def client(site):
    return site.test_client()


def get(client, url, status=200):
    response = client.get(url)
    assert response.status_code == status, (url, response.status_code, response.get_data(as_text=True)[:300])
    return response.json


@pytest.mark.conformance
@pytest.mark.parametrize("kind", ["photo1", "ms1", "audio1", "video1", "epub1", "pdf1", "in-halls", "ms-restricted"])
def test_every_kind_validates(client, kind):
    assert_valid(get(client, f"/iiif/3/manifest/{kind}"))


@pytest.mark.conformance
@pytest.mark.parametrize("url", ["/iiif/3/collection/top", "/iiif/3/collection/town", "/iiif/3/collection/halls"])
def test_collections_validate(client, url):
    assert_valid(get(client, url))


def test_photo_manifest(client):
    m = get(client, "/iiif/3/manifest/photo1")
    base = "http://localhost"
    assert list(m)[0] == "@context" and m["@context"] == PRESENTATION  # §4.6: the context comes first
    assert m["id"] == f"{base}/iiif/3/manifest/photo1" and m["type"] == "Manifest"
    assert m["label"] == {"zh": ["测试photo"], "en": ["Test photo"]}
    assert m["summary"] == {"zh": ["惠山旧影。"], "en": ["Huishan, long ago."]}
    meta = {e["label"]["en"][0]: e["value"] for e in m["metadata"]}
    assert meta["Type"] == {"zh": ["照片"], "en": ["Photograph"]}
    assert meta["Creator"] == {"zh": ["佚名"], "en": ["Anonymous"]}
    assert meta["Date"] == {"zh": ["民国二十五年"], "none": ["1936"]} and meta["Place"]["en"] == ["Huishan"]
    assert meta["Language"] == {"zh": ["中文"], "en": ["Chinese"]} and meta["Identifier"] == {"none": ["P-001"]}
    assert m["rights"] == builders.RIGHTS and m["navDate"] == "1936-01-01T00:00:00Z"
    assert m["requiredStatement"] == {"label": {"zh": ["收藏单位"], "en": ["Holding library"]},
                                      "value": {"zh": ["惠山图书馆"]}}
    (provider,) = m["provider"]
    assert provider["type"] == "Agent" and provider["label"] == {"zh": ["测试图书馆"], "en": ["Test Library"]}
    assert m["seeAlso"][0]["id"] == f"{base}/api/items/photo1" and m["seeAlso"][0]["type"] == "Dataset"
    assert m["homepage"][0]["id"] == f"{base}/items/photo1"
    assert m["partOf"] == [{"id": f"{base}/iiif/3/collection/town", "type": "Collection", "label": {"zh": ["古镇"], "en": ["Old town"]}}]
    (canvas,) = m["items"]
    assert canvas["id"] == f"{base}/iiif/3/manifest/photo1/canvas/f1"
    assert (canvas["width"], canvas["height"]) == (960, 720)
    (page,) = canvas["items"]
    (anno,) = page["items"]
    assert anno["motivation"] == "painting" and anno["target"] == canvas["id"]
    service = f"{base}/iiif/3/photo1~f2"  # iiif.identifiers.image_identifier of the pyramid
    assert anno["body"]["service"] == [{"id": service, "type": "ImageService3", "profile": "level2"}]
    assert anno["body"]["id"] == f"{service}/full/max/0/default.jpg"
    assert m["thumbnail"][0]["id"] == f"{base}/items/photo1/files/f3"
    assert "service" not in m and "behavior" not in m  # no text to search; one canvas


def test_manuscript_is_paged_right_to_left_and_searchable(client):
    m = get(client, "/iiif/3/manifest/ms1")
    assert m["behavior"] == ["paged"] and m["viewingDirection"] == "right-to-left"
    assert [c["id"].rsplit("/", 1)[1] for c in m["items"]] == ["f1", "f2", "f3"]
    assert [c["label"]["en"] for c in m["items"]] == [["Page 1"], ["Page 2"], ["Page 3"]]
    search, search1 = m["service"]
    assert search["type"] == "SearchService2" and search["id"] == "http://localhost/iiif/3/search/ms1"
    assert search["service"] == [{"id": "http://localhost/iiif/3/autocomplete/ms1", "type": "AutoCompleteService2"}]
    assert search1["profile"] == "http://iiif.io/api/search/1/search"


def test_audio_and_video_canvases_have_durations_and_access_copies(client):
    a = get(client, "/iiif/3/manifest/audio1")["items"][0]
    assert a["duration"] == 20.008 and "width" not in a  # the longest access copy
    body = a["items"][0]["items"][0]["body"]
    assert body["type"] == "Choice"
    assert [(b["type"], b["format"]) for b in body["items"]] == [("Sound", "audio/webm"), ("Sound", "audio/mp4")]
    v = get(client, "/iiif/3/manifest/video1")["items"][0]
    assert (v["duration"], v["width"], v["height"]) == (8.0, 640, 360)
    body = v["items"][0]["items"][0]["body"]
    assert (body["type"], body["format"], body["id"]) == ("Video", "video/mp4", "http://localhost/items/video1/files/f2")
    assert v["placeholderCanvas"]["items"][0]["items"][0]["body"]["id"] == "http://localhost/items/video1/files/f3"


def test_epub_chapters_and_table_of_contents(client):
    m = get(client, "/iiif/3/manifest/epub1")
    assert [c["label"]["zh"] for c in m["items"]] == [["第一章 惠山"], ["第二章 运河"]]
    body = m["items"][0]["items"][0]["items"][0]["body"]
    assert body["type"] == "TextualBody" and body["value"].startswith("惠山在城西") and body["language"] == "zh"
    (toc,) = m["structures"]
    assert toc["label"] == {"zh": ["目录"], "en": ["Contents"]}
    first, second = toc["items"]
    assert first["items"] == [{"id": m["items"][0]["id"], "type": "Canvas"}]
    assert second["items"][0] == {"id": m["items"][1]["id"], "type": "Canvas"}  # fragment #top ignored
    assert second["items"][1]["type"] == "Range" and second["items"][1]["label"] == {"zh": ["码头"]}
    assert m["rendering"] == [{"id": "http://localhost/items/epub1/files/f1", "type": "Text",
                               "format": "application/epub+zip", "label": {"none": ["book.epub"]}}]


def test_pdf_pages(client):
    m = get(client, "/iiif/3/manifest/pdf1")
    assert [c["id"].rsplit("/", 1)[1] for c in m["items"]] == ["f1-p1", "f1-p2"]
    assert m["behavior"] == ["paged"] and m["items"][0]["thumbnail"] and "thumbnail" not in m["items"][1]
    assert m["service"][0]["type"] == "SearchService2"


def test_restricted_page_is_left_out_for_those_who_may_not_see_it(site):
    item = site.extensions["fangzhi"].archive.get_item("ms-restricted", user=SYSTEM).value
    hidden = [f.id for f in item.derivatives("f2")]  # pyramid, thumbnail, OCR and text of page 2
    anonymous = get(site.test_client(), "/iiif/3/manifest/ms-restricted")
    assert [c["id"].rsplit("/", 1)[1] for c in anonymous["items"]] == ["f1", "f3"]
    text = json.dumps(anonymous)
    assert len(hidden) == 4 and not any(f"~{f}/" in text or f"/files/{f}\"" in text for f in hidden)
    staff = site.test_client()
    login(staff, "archivist")
    assert len(get(staff, "/iiif/3/manifest/ms-restricted")["items"]) == 3


def test_items_others_may_not_see_have_no_manifest(site):
    client = site.test_client()
    get(client, "/iiif/3/manifest/staff-photo", 404)
    get(client, "/iiif/3/manifest/gone", 410)
    get(client, "/iiif/3/manifest/no-such-item", 404)
    login(client, "archivist")
    assert get(client, "/iiif/3/manifest/staff-photo")["id"].endswith("/staff-photo")


def test_collections(site):
    client = site.test_client()
    top = get(client, "/iiif/3/collection/top")
    assert [i["id"].rsplit("/", 1)[1] for i in top["items"]] == ["town"]  # halls is inside town; secret is staff
    assert top["label"] == {"zh": ["测试图书馆"], "en": ["Test Library"]}
    town = get(client, "/iiif/3/collection/town")
    refs = [(i["type"], i["id"].rsplit("/", 1)[1]) for i in town["items"]]
    assert refs[0] == ("Collection", "halls")
    assert {r for t, r in refs if t == "Manifest"} == {"photo1", "ms1", "audio1", "video1", "epub1", "pdf1"}
    assert all(i["label"] for i in town["items"]) and town["summary"] == {"zh": ["古镇旧影"]}
    halls = get(client, "/iiif/3/collection/halls")
    assert halls["partOf"][0]["id"].endswith("/iiif/3/collection/town")
    assert halls["requiredStatement"]["value"] == {"zh": ["惠山图书馆"]}
    get(client, "/iiif/3/collection/secret", 404)
    assert "partOf" not in get(client, "/iiif/3/manifest/in-halls") or \
        [p["id"].rsplit("/", 1)[1] for p in get(client, "/iiif/3/manifest/in-halls")["partOf"]] == ["halls"]
    login(client, "archivist")
    assert "secret" in [i["id"].rsplit("/", 1)[1] for i in get(client, "/iiif/3/collection/top")["items"]]


def test_cors_and_json_ld(client):
    response = client.get("/iiif/3/manifest/photo1", headers={"Accept": "application/ld+json"})
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert response.headers["Content-Type"] == f'application/ld+json;profile="{PRESENTATION}"'
    plain = client.get("/iiif/3/collection/top")
    assert plain.headers["Content-Type"] == "application/json" and plain.headers["Access-Control-Allow-Origin"] == "*"


def test_item_page_and_api_link_the_manifest(client):
    html = client.get("/items/photo1").get_data(as_text=True)
    assert 'href="/iiif/3/manifest/photo1"' in html
    assert client.get("/api/items/photo1").json["links"]["iiif_manifest"] == "http://localhost/iiif/3/manifest/photo1"


def test_viewer_only_where_there_are_page_images(client):
    page = client.get("/items/ms1")
    assert 'id="viewer"' in page.get_data(as_text=True) and "mirador.min.js" in page.get_data(as_text=True)
    csp = page.headers["Content-Security-Policy"]
    assert "style-src 'self' 'unsafe-inline'" in csp and "script-src 'self';" in csp  # scripts stay self-hosted
    audio = client.get("/items/audio1")
    assert 'id="viewer"' not in audio.get_data(as_text=True)
    assert "'unsafe-inline'" not in audio.headers["Content-Security-Policy"]


def test_viewing_direction_is_validated(site):
    archive = site.extensions["fangzhi"].archive
    with pytest.raises(ValidationError) as err:
        builders.photo(archive, "bad-direction", viewing_direction="upside-down")
    assert err.value.problems[0][0] == "viewing_direction"


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    """The `make run` demo, ingested through the real pipeline."""
    data = tmp_path_factory.mktemp("demo")
    result = subprocess.run([sys.executable, "-m", "web.cli", "demo"], capture_output=True, text=True, timeout=600,
                            env={**os.environ, "FANGZHI_DATA_DIR": str(data)}, cwd=Path(__file__).resolve().parents[2])
    assert result.returncode == 0, result.stderr
    from web import create_app

    return create_app({"DATA_DIR": str(data), "SECRET_KEY": "t"})


@pytest.mark.conformance
def test_demo_manifests_and_collections_validate(demo):
    client = demo.test_client()
    items = get(client, "/api/items?per_page=100")["items"]
    assert {i["kind"] for i in items} >= {"photo", "manuscript", "audio", "video", "ebook"}
    for item in items:
        manifest = get(client, f"/iiif/3/manifest/{item['id']}")
        assert_valid(manifest)
        assert manifest["items"], f"{item['id']} ({item['kind']}) has no canvas"
    urls = ["/iiif/3/collection/top"] + [f"/iiif/3/collection/{c['id']}" for c in get(client, "/api/collections")["collections"]]
    for url in urls:
        assert_valid(get(client, url))
    manuscript = next(i for i in items if i["kind"] == "manuscript")
    assert get(client, f"/iiif/3/manifest/{manuscript['id']}")["viewingDirection"] == "right-to-left"
