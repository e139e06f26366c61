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
    return build_services(settings)[0]


def build_services(settings: dict):
    """The archive and its search, which is kept current after every committed change."""
    storage = build_storage(settings)
    objects = OcflRoot(storage)
    objects.init()
    catalog = SQLiteCatalog(Path(settings["DATA_DIR"]) / "catalog.sqlite3")
    archive = Archive(objects, catalog, storage)
    search = build_search(settings, archive)
    archive.listeners.append(search.item_changed)
    return archive, search


def build_search(settings: dict, archive: Archive):
    from search import analysis
    from search.service import Search

    dictionary = dictionary_path(settings)
    if dictionary.exists():
        analysis.load_dictionary(dictionary)
    if settings["SEARCH_BACKEND"] == "tantivy":
        from search.tantivy_index import TantivyIndex

        index = TantivyIndex(Path(settings["DATA_DIR"]) / "index")
    elif settings["SEARCH_BACKEND"] == "elasticsearch":
        from search.elasticsearch_index import ElasticsearchIndex

        index = ElasticsearchIndex(settings["ELASTICSEARCH_URL"], name=settings["ELASTICSEARCH_INDEX"])
    else:
        raise SystemExit(f"FANGZHI_SEARCH_BACKEND={settings['SEARCH_BACKEND']!r}: choose tantivy or elasticsearch")
    from oral_history.service import interview_search

    return Search(index, archive, contributors=(interview_search,))  # registered in the composition root


def dictionary_path(settings: dict) -> Path:
    return Path(settings["DICTIONARY"] or Path(settings["DATA_DIR"]) / "dictionary.txt")


def build_accounts(settings: dict) -> Accounts:
    store = SQLiteAccountStore(Path(settings["DATA_DIR"]) / "accounts.sqlite3")
    return Accounts(store, max_failures=settings["LOGIN_ATTEMPTS"],
                    lockout=timedelta(minutes=settings["LOCKOUT_MINUTES"]))


def build_ingest_context(settings: dict):
    """Everything an ingest worker needs; called once in each worker process."""
    from ingest.jobs import JobStore
    from ingest.pipeline import Context

    from PIL import Image

    Image.MAX_IMAGE_PIXELS = settings["MAX_PIXELS"]  # Pillow's own bomb guard: the same limit as ours,
    warnings.simplefilter("error", Image.DecompressionBombWarning)  # and an error, which ingest refuses
    data = Path(settings["DATA_DIR"])
    from oral_history.transcript_files import TranscriptStep

    return Context(build_archive(settings), JobStore(data / "jobs.sqlite3"), data / "work",
                   limits=build_limits(settings),  # the after-steps: registered in the composition root
                   after_steps=(TranscriptStep(ohms_schema=settings["OHMS_SCHEMA"] or None),))


def build_limits(settings: dict):
    """What ingest, uploads and the interview editor accept, and how long their tools may run."""
    from ingest.safety import Limits

    return Limits(max_pixels=settings["MAX_PIXELS"], max_video_pixels=settings["MAX_VIDEO_PIXELS"],
                  max_media_seconds=settings["MAX_MEDIA_SECONDS"], tool_timeout=settings["TOOL_TIMEOUT"],
                  tool_timeout_ratio=settings["TOOL_TIMEOUT_RATIO"])
