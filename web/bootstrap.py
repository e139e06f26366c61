"""The one wiring place: build the storage, object store, catalog and services from settings."""
from __future__ import annotations

from pathlib import Path

import warnings
from datetime import timedelta

from repository.accounts import Accounts
from repository.services import Archive
from storage.accounts import SQLiteAccountStore
from storage import LocalStorage
from storage.catalog import SQLiteCatalog
from storage.ocfl import OcflRoot


def build_storage(settings: dict):
    if settings["STORAGE"] == "local":
        return LocalStorage(Path(settings["DATA_DIR"]) / "storage")
    if settings["STORAGE"] == "s3":
        from storage.s3 import S3Storage

        return S3Storage(settings["S3_BUCKET"], endpoint_url=settings["S3_ENDPOINT"] or None,
                         region=settings["S3_REGION"], access_key=settings["S3_ACCESS_KEY"] or None,
                         secret_key=settings["S3_SECRET_KEY"] or None, prefix=settings["S3_PREFIX"],
                         create_bucket=True)
    raise SystemExit(f"FANGZHI_STORAGE={settings['STORAGE']!r}: choose local or s3")


def build_archive(settings: dict) -> Archive:
    storage = build_storage(settings)
    objects = OcflRoot(storage)
    objects.init()
    catalog = SQLiteCatalog(Path(settings["DATA_DIR"]) / "catalog.sqlite3")
    return Archive(objects, catalog, storage)


def build_accounts(settings: dict) -> Accounts:
    store = SQLiteAccountStore(Path(settings["DATA_DIR"]) / "accounts.sqlite3")
    return Accounts(store, max_failures=settings["LOGIN_ATTEMPTS"],
                    lockout=timedelta(minutes=settings["LOCKOUT_MINUTES"]))


def build_ingest_context(settings: dict):
    """Everything an ingest worker needs; called once in each worker process."""
    from ingest.jobs import JobStore
    from ingest.pipeline import Context
    from ingest.safety import Limits

    from PIL import Image

    Image.MAX_IMAGE_PIXELS = settings["MAX_PIXELS"]  # Pillow's own bomb guard: the same limit as ours,
    warnings.simplefilter("error", Image.DecompressionBombWarning)  # and an error, which ingest refuses
    data = Path(settings["DATA_DIR"])
    return Context(build_archive(settings), JobStore(data / "jobs.sqlite3"), data / "work",
                   limits=Limits(max_pixels=settings["MAX_PIXELS"]))
