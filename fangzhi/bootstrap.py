"""The composition root: every backend and service of a process, built once from settings.

The Flask app (web.create_app), the `fangzhi` command, ingest worker processes, benchmarks and
tests all receive one ``Fangzhi`` made by ``build``; nothing else constructs a backend. Tests
replace single backends through ``build``'s keyword arguments (e.g. ``storage=MemoryStorage()``,
``index=TantivyIndex()`` in memory). Features plug in here, not by importing one another:
oral history contributes interview passages and facets to search documents and the transcript
step to ingest (``_contributors``, ``_after_steps``).
"""
from __future__ import annotations

import logging
import warnings
from dataclasses import dataclass, field
from datetime import timedelta
from functools import cached_property
from pathlib import Path

from alliance.discovery import Discovery
from alliance.federated import Federation
from alliance.harvest import Harvester, Limits as HarvestLimits
from alliance import members as member_tables
from alliance.members import Members
from alliance.oai import Provider
from alliance.union import UnionCatalogue
from corrections.service import Corrections
from corrections import store as proposal_tables
from corrections.store import ProposalStore
from exhibitions.listing import ExhibitionList
from exhibitions.service import Exhibitions
from authority.service import Authorities
from iiif.server import ImageServer
from ingest.jobs import TABLES as INGEST_TABLES
from ingest.jobs import JobStore
from ingest.pipeline import Context
from ingest.pronom import format_search
from ingest.runner import InlineRunner, PoolRunner
from ingest.safety import Limits
from ingest.steps import ocr
from ingest.uploads import Uploads
from oral_history import asr
from oral_history.player import clip
from oral_history.service import interview_search
from oral_history.transcript_files import TranscriptStep
from repository.access import SYSTEM, User
from repository.accounts import Accounts
from repository.bulk import Bulk, BulkError
from repository.lists import SavedLists
from repository.services import Archive
from search import analysis
from search.documents import UNION
from search.index import SearchIndex
from search.mentions import MentionReview
from search import queries as query_tables
from search.queries import ZeroResults
from search.service import Search
from storage import LocalStorage
from storage import accounts as account_tables
from storage import lists as list_tables, mentions as mention_tables
from storage.accounts import AccountStore
from storage.adopt import adopt_sqlite_file, rebuild_for_sqlite_file
from storage.authorities import AuthorityTable
from storage.base import Storage
from storage.bulk_jobs import TABLES as BULK_TABLES
from storage.bulk_jobs import BulkJobs
from storage.catalog import Catalog
from storage.database import Database, DatabaseError
from storage.harvested import HarvestStore
from storage.lists import ListStore
from storage.mentions import MentionStore
from storage.ocfl import OcflRoot

from . import settings as settings_table

log = logging.getLogger("fangzhi")


@dataclass
class Fangzhi:
    """The services of one process and the backends under them."""

    settings: dict
    storage: Storage
    objects: OcflRoot
    catalog: Catalog
    archive: Archive
    search: Search
    accounts: Accounts
    jobs: JobStore
    limits: Limits  # what ingest, uploads and the interview editor accept, how long tools may run
    images: ImageServer
    uploads: Uploads  # the browser's chunked uploads, under DATA_DIR/uploads
    after_steps: tuple  # what features do after ingest has stored an item's derivatives
    inline: bool = False  # ingest tasks run in this process (tests), not in a pool of workers
    _runner: object = field(default=None, repr=False)
    members: Members | None = None  # the alliance's member libraries and their harvest status
    harvester: Harvester | None = None  # harvests them into the union catalogue (.union) and IIIF (.discovery)
    corrections: Corrections | None = None  # reviewed corrections of OCR and transcripts (corrections.service)
    queries: ZeroResults | None = None  # searches that found nothing (search.queries)
    mentions: MentionReview | None = None  # proposed mentions of authority records, for staff review
    lists: SavedLists | None = None  # researchers' saved lists (in the database, beside the accounts)
    exhibitions: Exhibitions | None = None  # curators' exhibitions (exhibition:<id> objects) and their list
    authorities: Authorities | None = None  # the authority file: people, families, organisations, places
    database: Database | None = None  # the operational state's database (DATABASE_URL), every store's tables

    @property
    def data_dir(self) -> Path:
        return Path(self.settings["DATA_DIR"])

    @property
    def work_dir(self) -> Path:
        """Scratch space of ingest steps (WORK_DIR; each distributed worker's own)."""
        return work_dir(self.settings)

    @property
    def dictionary(self) -> Path:
        return dictionary_path(self.settings)

    def ingest_context(self, user: User = SYSTEM) -> Context:
        """What the ingest pipeline needs, acting as ``user``."""
        return Context(self.archive, self.jobs, self.work_dir, user=user, limits=self.limits,
                       after_steps=self.after_steps)

    @property
    def runner(self):
        """Where ingest tasks run: a pool of worker processes (INGEST_WORKERS), or with
        TASK_QUEUE=celery the workers of the Celery queue (``fangzhi worker``, anywhere), each
        building its own services from the same settings (``worker_context``)."""
        if self._runner is None:
            if self.inline:
                self._runner = InlineRunner(self.ingest_context())
            elif self.settings["TASK_QUEUE"] == "celery":
                from ingest.queue import CeleryRunner  # celery loads only when asked for

                self._runner = CeleryRunner(celery_app(self.settings), self.jobs, self.storage)
            else:
                self._runner = PoolRunner(worker_context, self.settings, processes=self.settings["INGEST_WORKERS"])
        return self._runner

    @cached_property
    def federation(self) -> Federation:
        """Live search of this archive and every member library at once (ALLIANCE_SEARCH_SECONDS)."""
        return Federation(self.search, self.members, timeout=self.settings["ALLIANCE_SEARCH_SECONDS"])

    @cached_property
    def recognizer(self) -> asr.SpeechRecognizer | None:
        """The speech recognizer for draft transcripts (setting SPEECH_RECOGNIZER), loaded once."""
        return asr.load_recognizer(self.settings["SPEECH_RECOGNIZER"])

    @cached_property
    def bulk(self) -> Bulk:
        """Bulk operations with preview, resumable jobs and undo (repository.bulk), their jobs beside
        the ingest jobs', items selected by this archive's search."""
        return Bulk(self.archive, BulkJobs(self.database), find=_finder(self.search))

    @cached_property
    def oai(self) -> Provider:
        """The OAI-PMH data provider (alliance.oai) on this archive."""
        s = self.settings
        return Provider(self.archive, name=s["SITE_NAME"], admin_email=s["OAI_ADMIN_EMAIL"],
                        page_size=s["OAI_PAGE_SIZE"], token_hours=s["OAI_TOKEN_HOURS"])


def build(settings: dict | None = None, *, storage: Storage | None = None, index: SearchIndex | None = None,
          inline: bool = False) -> Fangzhi:
    """Every backend and service from ``settings`` (a dict from fangzhi.settings.load; None: the
    defaults and FANGZHI_* variables). ``storage`` and ``index`` replace the configured backends."""
    settings = settings if settings is not None else settings_table.load()
    settings = {**settings, "DATA_DIR": str(Path(settings["DATA_DIR"]).resolve())}  # one folder, whatever the cwd later
    data = Path(settings["DATA_DIR"])
    data.mkdir(parents=True, exist_ok=True)
    check_task_queue(settings)
    _guard_images(settings)
    try:  # onnxruntime threads: the cores shared among the workers
        ocr.configure(engine=settings["OCR_ENGINE"], low_confidence=settings["OCR_LOW_CONFIDENCE"],
                      workers=settings["INGEST_WORKERS"])
    except ValueError as exc:
        raise SystemExit(f"FANGZHI_{exc}") from None
    database = open_database(settings)
    _adopt_old_files(data, database)
    storage = storage if storage is not None else _storage(settings)
    objects = OcflRoot(storage)
    objects.init()
    catalog = Catalog(database)
    archive = Archive(objects, catalog, storage)
    authorities = Authorities(archive, AuthorityTable(database))
    archive.rebuilders.append(authorities.rebuild)  # `fangzhi rebuild` recreates its lookup table too
    if dictionary_path(settings).exists():
        analysis.load_dictionary(dictionary_path(settings))
    search = Search(index if index is not None else _index(settings), archive, contributors=_contributors(),
                    library=settings["LIBRARY_NAME"], names=authorities)  # search sees the authority file (search.names)
    mentions = MentionReview(search, archive, MentionStore(database))
    members = Members(database)
    harvested = HarvestStore(storage)
    union = UnionCatalogue(harvested, members, search)
    search.sources.append(union.documents)  # the union catalogue is indexed again on every rebuild
    search.contributors += (union.contribute,)  # a local item in a duplicate group lists its holdings
    harvester = Harvester(members, harvested, union, HarvestLimits.from_settings(settings),
                          discovery=Discovery(harvested, members))
    archive.listeners.append(union.item_changed)  # a local item joins or leaves a duplicate group …
    archive.listeners.append(search.item_changed)  # the index follows every committed change
    archive.listeners.append(mentions.item_changed)  # names of authority records in its texts: proposals
    if hasattr(search.index, "recover"):  # changes a dead process had not committed to the index
        search.index.recover(lambda item_id: union.refresh(reindex_local=False) if item_id == UNION else
                             search.item_changed(item_id, archive.load_item(item_id)
                                                 if archive.objects.exists(f"item:{item_id}") else None))
    if getattr(search.index, "outdated", False):  # an upgrade changed the index's fields
        log.warning("the search index's fields have changed: rebuilding it from storage")
        search.rebuild()
    accounts = Accounts(AccountStore(database), max_failures=settings["LOGIN_ATTEMPTS"],
                        lockout=timedelta(minutes=settings["LOCKOUT_MINUTES"]))
    limits = Limits(max_pixels=settings["MAX_PIXELS"], max_video_pixels=settings["MAX_VIDEO_PIXELS"],
                    max_media_seconds=settings["MAX_MEDIA_SECONDS"], tool_timeout=settings["TOOL_TIMEOUT"],
                    tool_timeout_ratio=settings["TOOL_TIMEOUT_RATIO"])
    images = ImageServer.from_settings(settings, data / "cache" / "iiif")
    exhibitions = Exhibitions(archive, ExhibitionList(database), clips=clip)  # oral history's clips
    archive.rebuilders.append(exhibitions.rebuild)  # `fangzhi rebuild` lists the exhibitions again from storage
    # a data folder from before DATABASE_URL: the derived tables again from storage; the catalog's
    # rebuild runs the features' rebuilders too, and their old files are then only renamed
    caught_up = rebuild_for_sqlite_file(data / "catalog.sqlite3", archive.rebuild)
    if caught_up:
        log.warning("%s moved into the database: rebuilt from storage (renamed .adopted)", data / "catalog.sqlite3")
    for name, rebuild in (("authorities.sqlite3", authorities.rebuild), ("exhibitions.sqlite3", exhibitions.rebuild)):
        if rebuild_for_sqlite_file(data / name, lambda rebuild=rebuild: caught_up or rebuild(list(objects.list_objects()))):
            log.warning("%s moved into the database: rebuilt from storage (renamed .adopted)", data / name)
    return Fangzhi(settings, storage, objects, catalog, archive, search, accounts, JobStore(database),
                   limits, images, Uploads(data / "uploads", max_file_bytes=settings["MAX_UPLOAD_MB"] << 20),
                   _after_steps(settings), inline=inline, members=members, harvester=harvester,
                   corrections=Corrections(archive, ProposalStore(database), work=data / "work",
                                           volunteers=settings["CORRECTIONS_VOLUNTEERS"], limits=limits),
                   queries=ZeroResults(database), mentions=mentions,
                   lists=SavedLists(ListStore(database), archive),
                   exhibitions=exhibitions, authorities=authorities, database=database)


def _adopt_old_files(data: Path, database: Database) -> None:
    """A data folder from before DATABASE_URL: the primary state in the stores' old SQLite files in
    DATA_DIR, copied into the database once (storage.adopt); derived tables are rebuilt in build."""
    for name, tables in (("accounts.sqlite3", account_tables.TABLES), ("jobs.sqlite3", [*INGEST_TABLES, *BULK_TABLES]),
                         ("alliance.sqlite3", member_tables.TABLES), ("corrections.sqlite3", proposal_tables.TABLES),
                         ("queries.sqlite3", query_tables.TABLES), ("lists.sqlite3", list_tables.TABLES),
                         ("mentions.sqlite3", mention_tables.TABLES)):
        if adopt_sqlite_file(database, data / name, tables):
            log.warning("%s moved into the database (renamed .adopted)", data / name)


# --- how features plug in ---------------------------------------------------------------------

def _finder(search: Search):
    """Bulk work's selection by a search: every item id it finds for the user (any query, facets
    and ``date``), as far as a search may page (search.service.MAX_RESULTS)."""
    from search.query import QueryError, date_range
    from search.service import MAX_PER_PAGE, MAX_RESULTS

    def find(query: str, filters: dict, user: User) -> list[str]:
        filters = dict(filters)
        years = None
        if filters.get("date"):
            years = date_range((filters.pop("date") or [""])[0])
            if years is None:
                raise BulkError("date", "the date is not a year, a range (1930..1939), an EDTF date or a reign title")
        filters.pop("date", None)
        ids, page = [], 1
        try:
            while True:
                found = search.search(query, user=user, filters=filters, years=years, page=page,
                                      per_page=MAX_PER_PAGE, facets=[], sort="date")
                ids += [h.item_id for h in found.hits if not h.remote]
                if page >= found.pages or page * MAX_PER_PAGE >= MAX_RESULTS:
                    return list(dict.fromkeys(ids))
                page += 1
        except QueryError as exc:
            raise BulkError("query", str(exc), reason=str(exc)) from None
    return find


def _contributors() -> tuple:
    """What features add to an item's search documents (search.documents.Contribution)."""
    # oral history: an interview's passages and facets, at its recording's level; ingest: formats, for staff
    return (interview_search, format_search)


def _after_steps(settings: dict) -> tuple:
    """What features do in ingest once an item's derivatives are stored (ingest.pipeline.AfterStep)."""
    return (TranscriptStep(ohms_schema=settings["OHMS_SCHEMA"] or None),)  # oral history: transcripts → interview


def dictionary_path(settings: dict) -> Path:
    """Archivists' extra words for the segmenter (setting DICTIONARY)."""
    return Path(settings["DICTIONARY"] or Path(settings["DATA_DIR"]) / "dictionary.txt")


def work_dir(settings: dict) -> Path:
    """Scratch space of ingest steps: WORK_DIR, else DATA_DIR/work."""
    return Path(settings["WORK_DIR"] or Path(settings["DATA_DIR"]) / "work").resolve()


def worker_context(settings: dict) -> Context:
    """An ingest worker process's context: its own services, built once when the worker starts."""
    return build(settings).ingest_context()


def celery_app(settings: dict):
    """The Celery application of the distributed ingest queue (TASK_QUEUE=celery): its workers
    (``fangzhi worker``) build their services with ``worker_context``; settings it cannot work
    with are refused first."""
    if settings["TASK_QUEUE"] != "celery":
        raise SystemExit(f"FANGZHI_TASK_QUEUE={settings['TASK_QUEUE']!r}: the Celery queue needs FANGZHI_TASK_QUEUE=celery")
    check_task_queue(settings)
    from ingest.queue import make_app

    return make_app({**settings, "DATA_DIR": str(Path(settings["DATA_DIR"]).resolve())}, worker_context)


TASK_QUEUES = ("local", "celery")


def check_task_queue(settings: dict) -> None:
    """Refuse TASK_QUEUE values and combinations that cannot work: a distributed queue's workers on
    other machines share one object store, database and search index, never files of one machine."""
    queue = settings["TASK_QUEUE"]
    if queue not in TASK_QUEUES:
        raise SystemExit(f"FANGZHI_TASK_QUEUE={queue!r}: choose local or celery")
    if queue == "local":
        return
    url = settings["DATABASE_URL"]
    for wrong, problem in (
            (settings["STORAGE"] == "local", "FANGZHI_STORAGE=local is this machine's disk: use STORAGE=s3"),
            (settings["SEARCH_BACKEND"] == "tantivy", "FANGZHI_SEARCH_BACKEND=tantivy is an embedded index of one "
                                                      "machine: use SEARCH_BACKEND=elasticsearch"),
            (not settings["REDIS_URL"], "FANGZHI_REDIS_URL, the broker, is empty: set it to redis://HOST:PORT/DB"),
            (not url or url.startswith("sqlite"), f"FANGZHI_DATABASE_URL={url!r} is a SQLite file of one machine: "
                                                  "use PostgreSQL (postgresql+psycopg://USER:PASSWORD@HOST/NAME)")):
        if wrong:
            raise SystemExit(f"FANGZHI_TASK_QUEUE=celery needs what workers on every machine can share: {problem}")
    for name, least in (("INGEST_LEASE_SECONDS", 3), ("CELERY_VISIBILITY_TIMEOUT", 1)):  # a lease renews every third
        if settings[name] < least:
            raise SystemExit(f"FANGZHI_{name}={settings[name]!r}: at least {least} seconds")


def open_database(settings: dict) -> Database:
    """The database on DATABASE_URL (empty: DATA_DIR/fangzhi.sqlite3), migrated to the newest schema."""
    url = settings["DATABASE_URL"] or f"sqlite:///{Path(settings['DATA_DIR']) / 'fangzhi.sqlite3'}"
    try:
        return Database(url)
    except DatabaseError as exc:
        raise SystemExit(f"FANGZHI_{exc}") from None


def _storage(settings: dict) -> Storage:
    if settings["STORAGE"] == "local":
        return LocalStorage(Path(settings["DATA_DIR"]) / "storage")
    if settings["STORAGE"] == "s3":
        from storage.s3 import S3Storage  # boto3 loads only when asked for

        return S3Storage(settings["S3_BUCKET"], endpoint_url=settings["S3_ENDPOINT"] or None,
                         region=settings["S3_REGION"], access_key=settings["S3_ACCESS_KEY"] or None,
                         secret_key=settings["S3_SECRET_KEY"] or None, prefix=settings["S3_PREFIX"],
                         create_bucket=True)
    raise SystemExit(f"FANGZHI_STORAGE={settings['STORAGE']!r}: choose local or s3")


def _index(settings: dict) -> SearchIndex:
    if settings["SEARCH_BACKEND"] == "tantivy":
        from search.tantivy_index import TantivyIndex

        return TantivyIndex(Path(settings["DATA_DIR"]) / "index")
    if settings["SEARCH_BACKEND"] == "elasticsearch":
        from search.elasticsearch_index import ElasticsearchIndex  # the client loads only when asked for

        return ElasticsearchIndex(settings["ELASTICSEARCH_URL"], name=settings["ELASTICSEARCH_INDEX"],
                                  shards=settings["ELASTICSEARCH_SHARDS"], replicas=settings["ELASTICSEARCH_REPLICAS"])
    raise SystemExit(f"FANGZHI_SEARCH_BACKEND={settings['SEARCH_BACKEND']!r}: choose tantivy or elasticsearch")


def _guard_images(settings: dict) -> None:
    """Pillow's own bomb guard: the same pixel limit as ingest's, and an error, which ingest refuses."""
    from PIL import Image

    Image.MAX_IMAGE_PIXELS = settings["MAX_PIXELS"]
    warnings.simplefilter("error", Image.DecompressionBombWarning)
