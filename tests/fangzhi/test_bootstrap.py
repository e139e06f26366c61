"""The composition root: every backend and service built once, and handed to every entry point."""
import re
import shutil

import pytest

from fangzhi import bootstrap
from fangzhi.settings import load
from repository.access import SYSTEM
from search.tantivy_index import TantivyIndex
from tests.helpers import build_on, photo_item
from tests.web.auth_helpers import add_users, login


def test_build_wires_every_service_to_the_same_backends(tmp_path):
    fangzhi = build_on(tmp_path)
    assert fangzhi.archive.storage is fangzhi.storage and fangzhi.archive.objects is fangzhi.objects
    assert fangzhi.archive.catalog is fangzhi.catalog and fangzhi.search.archive is fangzhi.archive
    assert fangzhi.search.item_changed in fangzhi.archive.listeners  # the index follows every commit
    ctx = fangzhi.ingest_context()
    assert ctx.archive is fangzhi.archive and ctx.jobs is fangzhi.jobs and ctx.limits is fangzhi.limits
    assert fangzhi.runner is fangzhi.runner  # one pool of workers per process
    assert fangzhi.recognizer is None  # no SPEECH_RECOGNIZER set


def test_overrides_replace_single_backends(tmp_path):
    index = TantivyIndex(None)
    fangzhi = build_on(tmp_path, index=index, inline=True)
    fangzhi.archive.create_item(photo_item(id="p1", title={"zh": "惠山"}), user=SYSTEM)
    assert fangzhi.search.index is index and index.count() == 1
    assert not (tmp_path / "index").exists()  # the configured index was never opened


def test_unknown_backends_are_refused_by_setting_name(tmp_path):
    for name, value in (("STORAGE", "floppy"), ("SEARCH_BACKEND", "grep")):
        with pytest.raises(SystemExit, match=f"FANGZHI_{name}='{value}'"):
            bootstrap.build(load({"DATA_DIR": str(tmp_path), name: value}, environ={}))


DISTRIBUTED = {"TASK_QUEUE": "celery", "STORAGE": "s3", "SEARCH_BACKEND": "elasticsearch",
               "REDIS_URL": "redis://127.0.0.1:6379/0", "DATABASE_URL": "postgresql+psycopg://fz@db/fz"}


@pytest.mark.parametrize("name, value, problem", [
    ("STORAGE", "local", "FANGZHI_STORAGE=local is this machine's disk: use STORAGE=s3"),
    ("SEARCH_BACKEND", "tantivy", "FANGZHI_SEARCH_BACKEND=tantivy is an embedded index of one machine"),
    ("REDIS_URL", "", "FANGZHI_REDIS_URL, the broker, is empty"),
    ("DATABASE_URL", "", "FANGZHI_DATABASE_URL='' is a SQLite file of one machine: use PostgreSQL"),
    ("DATABASE_URL", "sqlite:////srv/fz.sqlite3", "FANGZHI_DATABASE_URL='sqlite:////srv/fz.sqlite3' is a SQLite file")])
def test_a_distributed_queue_refuses_what_workers_cannot_share(tmp_path, name, value, problem):
    settings = load({"DATA_DIR": str(tmp_path), **DISTRIBUTED, name: value}, environ={})
    for start in (bootstrap.build, bootstrap.celery_app):  # the web, the CLI, and `fangzhi worker`
        with pytest.raises(SystemExit, match=re.escape(f"FANGZHI_TASK_QUEUE=celery needs what workers on every "
                                                       f"machine can share: {problem}")):
            start(settings)
    assert not (tmp_path / "catalog.sqlite3").exists()  # refused before anything is made


def test_unknown_task_queues_and_too_short_leases_are_refused_and_the_worker_needs_celery(tmp_path):
    for name, value, least in (("INGEST_LEASE_SECONDS", 0, 3), ("CELERY_VISIBILITY_TIMEOUT", -1, 1)):
        with pytest.raises(SystemExit, match=re.escape(f"FANGZHI_{name}={value}: at least {least} seconds")):
            bootstrap.build(load({"DATA_DIR": str(tmp_path), **DISTRIBUTED, name: value}, environ={}))
    with pytest.raises(SystemExit, match=re.escape("FANGZHI_TASK_QUEUE='rq': choose local or celery")):
        bootstrap.build(load({"DATA_DIR": str(tmp_path), "TASK_QUEUE": "rq"}, environ={}))
    with pytest.raises(SystemExit, match=re.escape("FANGZHI_TASK_QUEUE='local': the Celery queue needs "
                                                   "FANGZHI_TASK_QUEUE=celery")):
        bootstrap.celery_app(load({"DATA_DIR": str(tmp_path)}, environ={}))


def test_the_celery_app_sends_json_only_acknowledges_late_and_takes_one_task_at_a_time(tmp_path):
    app = bootstrap.celery_app(load({"DATA_DIR": str(tmp_path), **DISTRIBUTED, "CELERY_VISIBILITY_TIMEOUT": 900},
                                    environ={}))
    conf = app.conf
    assert (conf.task_serializer, conf.accept_content) == ("json", ["json"])  # never pickle
    assert conf.task_acks_late and conf.task_reject_on_worker_lost and conf.worker_prefetch_multiplier == 1
    assert conf.broker_url == DISTRIBUTED["REDIS_URL"] and conf.broker_transport_options["visibility_timeout"] == 900
    assert "fangzhi.ingest.entry" in app.tasks


def test_the_app_serves_the_services_it_is_given(tmp_path, monkeypatch):
    """create_app receives the services; no request builds a backend again (the ingest pages
    rebuilt storage, catalog, a search index and the dictionary on every request)."""
    from web import create_app

    fangzhi = build_on(tmp_path, inline=True)
    app = create_app(fangzhi=fangzhi)
    assert app.extensions["fangzhi"] is fangzhi and app.config["FANGZHI"] is fangzhi.settings
    add_users(app, ["admin"])
    client = app.test_client()
    login(client, "admin")

    def no_building(*args, **kwargs):
        raise AssertionError("a request built services")

    monkeypatch.setattr(bootstrap, "build", no_building)
    for url in ("/", "/admin/jobs", "/admin/ingest", "/admin/items", "/search?q=惠山", "/admin/audit"):
        assert client.get(url).status_code == 200, url


def test_worker_processes_build_their_own_services(tmp_path):
    settings = load({"DATA_DIR": str(tmp_path)}, environ={})
    ctx = bootstrap.worker_context(settings)
    assert ctx.work == tmp_path / "work" and ctx.jobs.db.url.database == str(tmp_path / "fangzhi.sqlite3")


def test_an_index_of_older_fields_is_rebuilt_from_storage(tmp_path):
    """After an upgrade that changes the search fields the index opens empty; the services
    rebuild it from storage, so readers still find everything."""
    build_on(tmp_path).archive.create_item(photo_item(id="p1", title={"zh": "惠山泥人"}), user=SYSTEM)
    (tmp_path / "index" / "fields-000000000000").mkdir()  # as an older layout left it
    for folder in (tmp_path / "index").glob("fields-*"):
        if folder.name != "fields-000000000000":
            shutil.rmtree(folder)
    fangzhi = build_on(tmp_path)
    assert [h.item_id for h in fangzhi.search.search("泥人", user=SYSTEM).hits] == ["p1"]
    assert [f.name for f in (tmp_path / "index").glob("fields-*")] == [fangzhi.search.index.folder.name]
