"""The API against its own OpenAPI document, driven by schemathesis (property-based)."""
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import (content_type_conformance, not_a_server_error, response_schema_conformance,
                                 status_code_conformance)

from repository.access import SYSTEM
from repository.services import NewFile
from tests.helpers import photo_item
from web import create_app

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


def make_app(tmp_path_factory):
    app = create_app({"DATA_DIR": str(tmp_path_factory.mktemp("openapi")), "SECRET_KEY": "t"})
    archive = app.extensions["fangzhi"].archive
    archive.create_collection({"id": "photos", "title": "照片"}, user=SYSTEM)
    for n, vis in enumerate(("public", "alliance", "public")):
        archive.create_item(photo_item(id=f"item-{n}", visibility=vis, collections=["photos"]),
                            [NewFile("a.jpg", b"jpeg", "image/jpeg", 1)], user=SYSTEM)
    archive.withdraw_item("item-2", user=SYSTEM, reason="test")
    from web.demo import demo_authorities

    demo_authorities(app.extensions["fangzhi"].authorities)
    secret, _ = app.extensions["fangzhi"].accounts.create_token("schemathesis", ["write"], by=SYSTEM)
    app.config["TEST_TOKEN"] = secret
    return app


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    return make_app(tmp_path_factory)


OPERATIONS = ["GET /api/items", "POST /api/items", "GET /api/items/{item_id}", "PATCH /api/items/{item_id}",
              "POST /api/items/{item_id}/withdraw", "GET /api/items/{item_id}/versions", "GET /api/collections",
              "GET /api/collections/{collection_id}", "GET /api/search", "GET /api/suggest", "GET /oai", "POST /oai",
              "POST /api/collections", "PATCH /api/collections/{collection_id}",
              "DELETE /api/collections/{collection_id}", "POST /api/collections/{collection_id}/move",
              "GET /api/authorities", "GET /api/authorities/suggest", "GET /api/authorities/{rid}",
              "GET /api/authorities/{rid}/items"]


@pytest.fixture(scope="module")
def operations(app):
    schema = schemathesis.openapi.from_wsgi("/api/openapi.json", app)
    return {op.ok().label: op.ok() for op in schema.get_all_operations()}


@pytest.mark.parametrize("auth", ["anonymous", "write-token"])
@pytest.mark.parametrize("label", OPERATIONS)
def test_operation_conforms(app, operations, label, auth):
    """Generated requests (valid and invalid) never give a server error and match the document."""
    headers = {"Authorization": f"Bearer {app.config['TEST_TOKEN']}"} if auth == "write-token" else {}

    @given(case=operations[label].as_strategy())
    @settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    def run(case):
        case.call_and_validate(checks=CHECKS, headers=headers)

    run()


def test_document_is_served(app):
    doc = app.test_client().get("/api/openapi.json").json
    assert doc["openapi"] == "3.1.0" and "/api/items/{item_id}" in doc["paths"]
    routes = {str(r) for r in app.url_map.iter_rules()
              if (str(r).startswith("/api/") and "openapi" not in str(r) and str(r) != "/api/docs")
              or str(r) == "/oai"}  # /api/docs: the page showing the document
    documented = {p.replace("{", "<").replace("}", ">") for p in doc["paths"]}
    assert routes == documented, "every API route is described in web/openapi.py"
    assert sorted(OPERATIONS) == sorted(operations_of(doc)), "every documented operation is tested"


def operations_of(doc):
    return [f"{method.upper()} {path}" for path, ops in doc["paths"].items() for method in ops]


def test_the_api_page_renders_the_document_locally(app):
    """/api/docs: Swagger UI from npm, served from this site (web.vendor), on /api/openapi.json."""
    client = app.test_client()
    html = client.get("/api/docs").get_data(as_text=True)
    assert 'data-url="/api/openapi.json"' in html
    scripts = __import__("re").findall(r'<script src="([^"]+)"', html)
    assert any(s.startswith("/vendor/swagger-ui-dist/swagger-ui-bundle.js?v=") for s in scripts)
    assert all(s.startswith("/") and not s.startswith("//") for s in scripts), "no script from elsewhere"
    for asset in scripts + __import__("re").findall(r'<link rel="stylesheet" href="([^"]+)"', html):
        assert client.get(asset).status_code == 200, asset
    assert "script-src 'self'" in client.get("/api/docs").headers["Content-Security-Policy"]
