"""deploy/: the nginx site checked by `nginx -t` and run in front of `fangzhi serve` over HTTPS on
loopback (a self-signed certificate made with openssl), and the systemd units checked by
`systemd-analyze verify`."""
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import requests

from repository.access import SYSTEM
from tests.servers import REPO, _free_ports, nginx_binary, start_fangzhi, start_nginx
from tests.web.auth_helpers import PASSWORD
from tests.web.test_iiif_image import ingest, quadrants

DEPLOY = REPO / "deploy"
SITE = DEPLOY / "nginx" / "fangzhi.conf"
UNITS = sorted((DEPLOY / "systemd").iterdir())
MIB = 1024 * 1024


def certificate(folder: Path) -> tuple[Path, Path]:
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=localhost",
                    "-addext", "subjectAltName=DNS:localhost", "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True)
    return cert, key


def substitute(text: str, replacements: dict[str, str]) -> str:
    for old, new in replacements.items():
        assert old in text, f"{SITE} no longer has {old!r}: update this test"
        text = text.replace(old, new)
    return text


def nginx_conf(work: Path, *, https: int, http: int, upstream: str, static: Path) -> Path:
    """The site as Debian's nginx.conf includes it (in `http`), on loopback ports with the test's
    certificate, upstream and static folder; pid, logs and temporary files in ``work``."""
    cert, key = certificate(work)
    site = "\n".join(line for line in SITE.read_text().splitlines() if "listen [::]" not in line)  # IPv4 loopback only
    site = substitute(site, {
        "/etc/letsencrypt/live/archive.example.org/fullchain.pem": str(cert),
        "/etc/letsencrypt/live/archive.example.org/privkey.pem": str(key),
        "archive.example.org": "localhost", "listen 443": f"listen 127.0.0.1:{https}",
        "listen 80": f"listen 127.0.0.1:{http}", "server 127.0.0.1:8000": f"server {upstream}",
        "/srv/fangzhi/app/web/static/": f"{static}/"})
    (work / "fangzhi.conf").write_text(site)
    temp = " ".join(f"{kind}_temp_path {work / kind};" for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
    user = "user root;" if Path("/proc/self").owner() == "root" else ""  # the test's folders are the user's own
    conf = work / "nginx.conf"
    conf.write_text(f"""{user}
pid {work}/nginx.pid;
worker_processes 1;
events {{ worker_connections 64; }}
http {{
    include /etc/nginx/mime.types;
    default_type application/octet-stream;
    access_log {work}/access.log;
    {temp}
    include {work}/fangzhi.conf;
}}
""")
    return conf


def nginx_test(conf: Path, work: Path) -> subprocess.CompletedProcess:
    return subprocess.run([nginx_binary(), "-t", "-c", str(conf), "-p", str(work), "-e", str(work / "error.log")],
                          capture_output=True, text=True)


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """nginx on the deploy/ site in front of `fangzhi serve` (PROXY_HOPS=1, HTTPS, BASE_URL), with
    a public scan and an archivist; the static folder a copy of web/static with one file more."""
    from web import create_app

    folder = tmp_path_factory.mktemp("deploy")
    data, work, static = folder / "data", folder / "nginx", folder / "static"
    work.mkdir()
    shutil.copytree(REPO / "web" / "static", static)
    (static / "only-in-nginx.txt").write_text("served by nginx from disk")
    https, http = _free_ports(2)
    base = f"https://localhost:{https}"
    settings = {"SECRET_KEY": "a" * 64, "HTTPS": "true", "PROXY_HOPS": 1, "BASE_URL": base,
                "WEB_WORKERS": 1, "WEB_THREADS": 4}
    app = create_app({"DATA_DIR": str(data), **settings, "HTTPS": True})
    ingest(app, [{"id": "nginx-photo", "files": {"scan": quadrants(folder / "scan.png")}}])
    app.extensions["fangzhi"].accounts.add_user("archivist", PASSWORD, ["archivist"], by=SYSTEM)
    server = start_fangzhi(data, settings=settings)
    conf = nginx_conf(work, https=https, http=http, upstream=server.url.removeprefix("http://"), static=static)
    try:
        nginx = start_nginx(conf, work, https)
    except BaseException:
        server.stop()
        raise
    yield {"base": base, "http": f"http://localhost:{http}", "conf": conf, "work": work, "static": static,
           "cert": str(work / "cert.pem"), "app": app}
    nginx.stop()
    server.stop()


def test_nginx_accepts_the_site(site):
    checked = nginx_test(site["conf"], site["work"])
    assert checked.returncode == 0 and "test is successful" in checked.stderr, checked.stderr


def test_a_page_over_https_with_the_headers_of_https(site):
    answer = requests.get(f"{site['base']}/login", verify=site["cert"])
    assert answer.status_code == 200 and "text/html" in answer.headers["Content-Type"]
    assert answer.headers["Strict-Transport-Security"].startswith("max-age=")
    assert "Secure" in answer.headers["Set-Cookie"] and "nginx/" not in answer.headers.get("Server", "")
    plain = requests.get(f"{site['http']}/login", allow_redirects=False)
    assert plain.status_code == 301 and plain.headers["Location"].startswith("https://localhost")


def test_an_iiif_image_and_its_ids_from_the_base_url(site):
    image = requests.get(f"{site['base']}/iiif/3/nginx-photo/full/200,/0/default.jpg", verify=site["cert"])
    assert image.status_code == 200 and image.headers["Content-Type"] == "image/jpeg" and image.content[:2] == b"\xff\xd8"
    info = requests.get(f"{site['base']}/iiif/3/nginx-photo/info.json", verify=site["cert"],
                        headers={"X-Forwarded-Host": "evil.example"}).json()
    assert info["id"] == f"{site['base']}/iiif/3/nginx-photo"


def test_other_host_names_are_refused(site):
    with pytest.raises(requests.ConnectionError):  # nginx closes the connection (444)
        requests.get(f"{site['base']}/", headers={"Host": "evil.example"}, verify=site["cert"])
    with pytest.raises(requests.ConnectionError):
        requests.get(f"{site['http']}/", headers={"Host": "evil.example"})


def test_the_client_address_is_nginxs_view_of_it_not_a_header_it_sent(site):
    browser = requests.Session()
    token = re.search(r'name="csrf_token" value="([^"]+)"', browser.get(f"{site['base']}/login", verify=site["cert"]).text)
    answer = browser.post(f"{site['base']}/login", verify=site["cert"],
                          headers={"X-Forwarded-For": "203.0.113.9", "Referer": f"{site['base']}/login"},
                          data={"username": "archivist", "password": "wrong", "csrf_token": token.group(1)})
    assert answer.status_code == 401
    events = site["app"].extensions["fangzhi"].accounts.store.events()
    details = [e["detail"] for e in events if e["user"] == "archivist"]
    assert details and "127.0.0.1" in details[0] and "203.0.113.9" not in " ".join(details)


def test_a_large_upload_chunk_within_the_limit_and_other_large_bodies_refused(site):
    base, cert = site["base"], site["cert"]
    browser = requests.Session()
    browser.headers["Referer"] = f"{base}/login"  # Flask-WTF checks it on HTTPS
    token = re.search(r'name="csrf_token" value="([^"]+)"', browser.get(f"{base}/login", verify=cert).text).group(1)
    signed_in = browser.post(f"{base}/login", verify=cert, allow_redirects=False,
                             data={"username": "archivist", "password": PASSWORD, "csrf_token": token})
    assert signed_in.status_code == 302
    page = browser.get(f"{base}/admin/ingest", verify=cert).text
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    started = browser.post(f"{base}/admin/uploads", verify=cert, headers={"X-CSRFToken": token})
    assert started.status_code == 201, started.text
    body = bytes(range(256)) * (12 * MIB // 256)  # 12 MiB: over MAX_BODY_MB and nginx's default 1 MiB
    chunk = browser.put(f"{base}/admin/uploads/{started.json()['id']}/0", params={"name": "big.tif", "offset": 0},
                        data=body, verify=cert, headers={"X-CSRFToken": token})
    assert chunk.status_code == 200 and chunk.json() == {"size": len(body)}, chunk.text
    refused = browser.post(f"{base}/login", data=b"x" * (3 * MIB), verify=cert)
    assert refused.status_code == 413


def test_static_assets_are_served_from_disk_with_the_sites_headers(site):
    base, cert = site["base"], site["cert"]
    answer = requests.get(f"{base}/static/only-in-nginx.txt", verify=cert)
    assert answer.status_code == 200 and answer.text == "served by nginx from disk"
    css = requests.get(f"{base}/static/fangzhi.css", params={"v": "0123456789ab"}, verify=cert)
    assert css.content == (site["static"] / "fangzhi.css").read_bytes()
    assert css.headers["Content-Type"].startswith("text/css") and css.headers["X-Content-Type-Options"] == "nosniff"
    assert "immutable" in css.headers["Cache-Control"] and "sandbox" in css.headers["Content-Security-Policy"]
    assert requests.get(f"{base}/static/fangzhi.css", verify=cert).headers["Cache-Control"] == "public, no-cache"
    assert requests.get(f"{base}/static/../setup.cfg", verify=cert).status_code in (400, 404)


def test_every_upload_route_has_the_upload_limit_in_the_site(site):
    """The routes that take MAX_UPLOAD_MB (web.uploads.upload_route) lie in the site's two upload
    locations, and those give client_max_body_size as large as the upload limit."""
    app = site["app"]
    uploads = [rule.rule for rule in app.url_map.iter_rules()
               if getattr(app.view_functions[rule.endpoint], "fz_upload", None)]
    assert uploads and all(rule.startswith("/admin/") or rule == "/api/items" for rule in uploads), uploads
    text = SITE.read_text()
    for location in ("location /admin/ {", "location = /api/items {"):
        block = text[text.index(location):].split("}", 1)[0]
        size = re.search(r"client_max_body_size (\d+)m;", block)
        assert size and int(size.group(1)) >= app.config["FANGZHI"]["MAX_UPLOAD_MB"]


@pytest.mark.parametrize("unit", UNITS, ids=lambda p: p.name)
def test_systemd_units_verify(unit, tmp_path):
    """`systemd-analyze verify` on each unit, its paths pointed at this checkout (the programs must exist)."""
    analyze = shutil.which("systemd-analyze")
    assert analyze, "systemd-analyze is needed (Debian package systemd)"
    fangzhi = REPO / ".venv" / "bin" / "fangzhi"
    assert fangzhi.exists(), "the unit test runs the checkout's .venv/bin/fangzhi (make install)"
    for one in UNITS:  # the timer names its service: all of them side by side
        text = one.read_text().replace("/srv/fangzhi/app/.venv/bin/fangzhi", str(fangzhi))
        text = text.replace("/srv/fangzhi/app", str(REPO)).replace("/etc/fangzhi/fangzhi.env", str(DEPLOY / "fangzhi.env.example"))
        (tmp_path / one.name).write_text(text)
    name = unit.name.replace("@.service", "@1.service")
    if name != unit.name:
        (tmp_path / name).symlink_to(tmp_path / unit.name)
    checked = subprocess.run([analyze, "verify", "--man=no", str(tmp_path / name)], capture_output=True, text=True,
                             cwd=tmp_path)
    problems = [line for line in checked.stderr.splitlines() if "fangzhi" in line]
    assert checked.returncode == 0 and not problems, checked.stderr


def test_the_example_settings_are_settings_and_its_placeholder_key_is_refused(tmp_path):
    import shlex

    from fangzhi.settings import DEFAULTS, load
    from web.serving import worker_settings

    environ = {}
    for line in (DEPLOY / "fangzhi.env.example").read_text().splitlines():
        line = line.lstrip("#")
        if line.startswith("FANGZHI_"):
            name, _, value = line.partition("=")
            assert name.removeprefix("FANGZHI_") in DEFAULTS, f"{name} in deploy/fangzhi.env.example is no setting"
            environ[name] = shlex.split(value)[0] if value else ""
    settings = load({"DATA_DIR": str(tmp_path)}, environ=environ)  # every value of its type
    assert settings["SITE_NAME"] == "方志 · 地方文献数字档案" and settings["PROXY_HOPS"] == 1
    with pytest.raises(SystemExit, match="FANGZHI_SECRET_KEY is 10 characters long"):
        worker_settings(settings)
