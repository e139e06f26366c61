"""The leak matrix: every visibility × every role × every read route gives exactly the allowed answer.

A route added to the app must be listed in ROUTES (checked here) or in EXEMPT with a reason,
or test_every_route_is_in_the_matrix fails.
"""
from datetime import date, timedelta

import pytest

from repository.access import SYSTEM
from repository.services import NewFile
from tests.helpers import photo_item
from tests.web.auth_helpers import add_users, login

ROLES = ("anonymous", "researcher", "member", "curator", "archivist", "admin")
EVERYONE = set(ROLES)
# Hand-written expectations (not computed by the policy under test).
CASES = {
    "public": EVERYONE,
    "alliance": {"member", "curator", "archivist", "admin"},
    "staff": {"archivist", "admin"},
    "embargoed": {"archivist", "admin"},  # until tomorrow
    "private": {"admin"},
    "withdrawn": {"archivist", "admin"},
    "restricted-file": EVERYONE,  # the item; its second file is staff-only
}
STAFF_FILE = {"archivist", "admin"}


def title(case):
    return f"泄露测试{case}"


def item_id(case):
    return f"leak-{case}"


# Each route: (case, client) -> whether the item (or file) was shown. Each asserts the exact
# status for a hidden item so that an error page is not mistaken for hiding.
def _status(client, url, hidden=(404, 410)):
    response = client.get(url)
    assert response.status_code in (200, *hidden), (url, response.status_code)
    return response


def item_page(client, case):
    r = _status(client, f"/items/{item_id(case)}")
    return r.status_code == 200 and title(case) in r.get_data(as_text=True)


def api_item(client, case):
    r = _status(client, f"/api/items/{item_id(case)}")
    return r.status_code == 200 and r.json["id"] == item_id(case)


def api_versions(client, case):
    return _status(client, f"/api/items/{item_id(case)}/versions").status_code == 200


def file_download(client, case):
    r = _status(client, f"/items/{item_id(case)}/files/f1")
    return r.status_code == 200 and r.data == f"{case} scan".encode()


def api_list(client, case):
    return item_id(case) in {i["id"] for i in client.get("/api/items?per_page=100").json["items"]}


def api_collection(client, case):
    data = client.get("/api/collections/leaks?per_page=100").json
    return item_id(case) in {i["id"] for i in data["items"]["items"]}


def home_page(client, case):
    return title(case) in client.get("/").get_data(as_text=True)


def collection_page(client, case):
    return title(case) in client.get("/collections/leaks").get_data(as_text=True)


ROUTES = {
    "public.item": item_page, "api.item": api_item, "api.versions": api_versions,
    "public.file": file_download, "api.items": api_list, "api.collection": api_collection,
    "public.home": home_page, "public.collection": collection_page,
}
EXEMPT = {
    "static": "stylesheets only", "healthz": "no data", "public.set_language": "sets a cookie",
    "api.collections": "collections only (collection visibility is tested in test_services)",
    "auth.login": "form", "auth.password": "own account", "admin.index": "staff area: test_admin_requires_roles",
    "admin.users": "admin only: test_admin_requires_roles", "admin.tokens": "admin only: test_admin_requires_roles",
    "admin.audit": "staff only: test_admin_requires_roles", "admin.new_item": "staff only: test_admin_requires_roles",
    "admin.edit_item": "staff only: test_admin_requires_roles",
    "api.openapi": "the API description",
    "ingest.upload_page": "staff only: test_ingest_web", "ingest.jobs": "staff only: test_ingest_web",
    "ingest.job": "staff only: test_ingest_web",
}


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    from web import create_app

    app = create_app({"DATA_DIR": str(tmp_path_factory.mktemp("leaks")), "SECRET_KEY": "t",
                      "LOGIN_RATE_LIMIT": "1000 per minute"})
    archive = app.extensions["fangzhi"]
    archive.create_collection({"id": "leaks", "title": "泄露测试馆藏"}, user=SYSTEM)
    tomorrow = (date.today() + timedelta(days=1)).isoformat()
    for case in CASES:
        visibility = case if case in ("alliance", "staff", "embargoed", "private") else "public"
        files = [NewFile("scan.jpg", f"{case} scan".encode(), "image/jpeg", 1)]
        if case == "restricted-file":
            files.append(NewFile("release-form.pdf", b"signed consent", "application/pdf", 2, access="staff"))
        archive.create_item(photo_item(id=item_id(case), title={"zh": title(case)}, visibility=visibility,
                                       embargo_until=tomorrow if case == "embargoed" else None,
                                       collections=["leaks"]), files, user=SYSTEM)
        if case == "withdrawn":
            archive.withdraw_item(item_id(case), user=SYSTEM, reason="test")
    add_users(app)
    return app


@pytest.fixture(scope="module", params=ROLES)
def client(request, site):
    client = site.test_client()
    if request.param != "anonymous":
        assert login(client, request.param).status_code == 302
    client.role = request.param
    return client


@pytest.mark.parametrize("route", ROUTES)
@pytest.mark.parametrize("case", CASES)
def test_matrix(client, route, case):
    assert ROUTES[route](client, case) == (client.role in CASES[case]), (client.role, route, case)


def test_restricted_file(client):
    allowed = client.role in STAFF_FILE
    r = client.get(f"/items/{item_id('restricted-file')}/files/f2")
    assert r.status_code == (200 if allowed else 403)
    assert (b"signed consent" in r.data) == allowed
    assert ("release-form.pdf" in client.get(f"/items/{item_id('restricted-file')}").get_data(as_text=True)) == allowed
    files = client.get(f"/api/items/{item_id('restricted-file')}").json["files"]
    assert ("f2" in {f["id"] for f in files}) == allowed


def test_token_scopes(site):
    """Harvesters' tokens: read sees public, read-alliance sees alliance, neither sees staff."""
    accounts = site.extensions["fangzhi.accounts"]
    for scope, sees in (("read", {"public", "restricted-file"}),
                        ("read-alliance", {"public", "restricted-file", "alliance"}),
                        ("write", {"public", "restricted-file", "alliance", "staff", "embargoed", "withdrawn"})):
        secret, _ = accounts.create_token(f"harvester-{scope}", [scope], by=SYSTEM)
        client = site.test_client()
        headers = {"Authorization": f"Bearer {secret}"}
        shown = {case for case in CASES if client.get(f"/api/items/{item_id(case)}", headers=headers).status_code == 200}
        assert shown == sees, scope


def test_every_route_is_in_the_matrix(site):
    rules = {rule.endpoint for rule in site.url_map.iter_rules() if "GET" in rule.methods}
    missing = rules - set(ROUTES) - set(EXEMPT)
    assert not missing, f"add these routes to the leak matrix (ROUTES) or EXEMPT: {sorted(missing)}"
