"""Logging in over HTTP the way a browser does (with the CSRF token from the form)."""
import re

PASSWORD = "correct horse battery"


def csrf_token(client, url="/login") -> str:
    html = client.get(url).get_data(as_text=True)
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def login(client, username, password=PASSWORD):
    return client.post("/login", data={"username": username, "password": password,
                                       "csrf_token": csrf_token(client)})


def add_users(app, roles=("admin", "archivist", "curator", "member", "researcher")):
    from repository.access import SYSTEM

    accounts = app.extensions["fangzhi"].accounts
    for role in roles:
        accounts.add_user(role, PASSWORD, [role], by=SYSTEM)
