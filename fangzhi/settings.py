"""Every setting, declared once: (name, default, help). Each is overridable by the
environment variable FANGZHI_<NAME>; the README's settings table lists them all (a test checks)."""
from __future__ import annotations

import os
from dataclasses import dataclass


@dataclass(frozen=True)
class Setting:
    name: str
    default: object
    help: str


SETTINGS = [
    Setting("DATA_DIR", "data", "Folder for local storage, the SQLite catalog and caches."),
    Setting("STORAGE", "local", "Object storage backend: local (files under DATA_DIR/storage) or s3."),
    Setting("S3_ENDPOINT", "", "S3 endpoint URL (empty: AWS). Used when STORAGE=s3."),
    Setting("S3_BUCKET", "fangzhi", "S3 bucket holding the archive."),
    Setting("S3_REGION", "us-east-1", "S3 region."),
    Setting("S3_ACCESS_KEY", "", "S3 access key id (empty: boto3's usual credential chain)."),
    Setting("S3_SECRET_KEY", "", "S3 secret access key."),
    Setting("S3_PREFIX", "", "Key prefix inside the bucket, to share a bucket between archives."),
    Setting("HOST", "127.0.0.1", "Address `fangzhi serve` listens on."),
    Setting("PORT", 5000, "Port `fangzhi serve` listens on."),
    Setting("WEB_WORKERS", 2, "Processes of `fangzhi serve` (gunicorn workers): about one per CPU core; each builds its own services."),
    Setting("WEB_THREADS", 8, "Requests each `fangzhi serve` worker process answers at once (threads)."),
    Setting("WEB_TIMEOUT", 300, "Seconds a `fangzhi serve` worker may be silent before it is restarted, and the time requests in flight (a chunk of a large upload) get to finish when the server stops or reloads."),
    Setting("SECRET_KEY", "", "Secret for signing sessions (64 hex characters; the same on every web machine); empty: generated once and kept in DATA_DIR/secret_key, which serves one machine only. `fangzhi serve` refuses one shorter than 32 characters."),
    Setting("DEFAULT_LOCALE", "zh", "Interface language when the reader has not chosen one: zh (简体), zh_Hant (繁體) or en."),
    Setting("SITE_NAME", "方志 · 地方文献数字档案", "Name shown in the page header."),
    Setting("LIBRARY_NAME", "区图书馆", "This library's name: the holding library of the demo records and, in search's library facet, of local items that name none."),
    Setting("PAGE_SIZE", 24, "Items per page in lists and the API (the API allows up to 100)."),
    Setting("IIIF_PROVIDER", "区图书馆", "The library publishing the archive: the provider named in IIIF manifests and collections."),
    Setting("IIIF_PROVIDER_EN", "District Library", "The provider's name in English (empty: Chinese only)."),
    Setting("IIIF_PROVIDER_URL", "", "The provider's homepage in IIIF manifests (empty: this site's address)."),
    Setting("IIIF_SEARCH_PAGE_SIZE", 50, "Matching lines per page of an IIIF Content Search answer."),
    Setting("IIIF_DISCOVERY_PAGE_SIZE", 100, "Activities per page of the IIIF Change Discovery list."),
    Setting("VIEWER_ASSETS", "", "Folder holding the viewer's npm packages (empty: node_modules beside the code, from `npm ci`)."),
    Setting("HTTPS", False, "Served over HTTPS (behind a proxy): session cookies are Secure and HSTS is sent."),
    Setting("MAX_UPLOAD_MB", 4096, "Largest upload accepted from signed-in staff (one request, or one file sent in chunks), in MiB; larger ones get HTTP 413."),
    Setting("LOGIN_ATTEMPTS", 5, "Failed logins in a row from one client address that make it wait before trying that user name again."),
    Setting("LOCKOUT_MINUTES", 15, "Longest wait: 1 minute after LOGIN_ATTEMPTS failures, doubling with each further one up to this. Other addresses are not held up."),
    Setting("INGEST_WORKERS", 2, "Worker processes for ingest (one per core is a good start)."),
    Setting("MAX_PIXELS", 250_000_000, "Largest image (width × height) ingest accepts; larger ones are refused as bombs."),
    Setting("SEARCH_BACKEND", "tantivy", "Search index: tantivy (embedded, under DATA_DIR/index) or elasticsearch."),
    Setting("ELASTICSEARCH_URL", "http://127.0.0.1:9200", "Elasticsearch 8.x/9.x URL, with SEARCH_BACKEND=elasticsearch."),
    Setting("ELASTICSEARCH_INDEX", "fangzhi", "Elasticsearch alias searched; rebuilds make a new index behind it."),
    Setting("ELASTICSEARCH_SHARDS", 1, "Primary shards of a new Elasticsearch index (several: exact scores by dfs_query_then_fetch; takes effect at the next `fangzhi index rebuild`)."),
    Setting("ELASTICSEARCH_REPLICAS", 0, "Replicas of each shard of a new Elasticsearch index (takes effect at the next `fangzhi index rebuild`)."),
    Setting("DICTIONARY", "", "Archivists' extra words (jieba format, one per line); empty: DATA_DIR/dictionary.txt."),
    Setting("IIIF_MAX_WIDTH", 10000, "Widest image the IIIF Image API makes (maxWidth in info.json)."),
    Setting("IIIF_MAX_HEIGHT", 10000, "Tallest image the IIIF Image API makes (maxHeight in info.json)."),
    Setting("IIIF_MAX_AREA", 50_000_000, "Most pixels (width × height) of one IIIF image (maxArea in info.json)."),
    Setting("IIIF_MEMORY_MB", 64, "Decoded image tiles each web worker keeps in memory for the IIIF Image API, in MiB."),
    Setting("IIIF_CACHE_MB", 1024, "Size of the on-disk cache of generated IIIF images under DATA_DIR/cache/iiif, in MiB (0: none); the oldest go first."),
    Setting("LOGIN_RATE_LIMIT", "10 per minute", "Login attempts allowed per client address (Flask-Limiter syntax; behind a proxy set PROXY_HOPS)."),
    Setting("OHMS_SCHEMA", "", "Path of the OHMS XSD (ohms.xsd): OHMS files are checked against it on ingest and upload, each problem a warning with its line (empty: the reader's own checks only)."),
    Setting("SPEECH_RECOGNIZER", "", "Speech recognizer for draft transcripts, as module:Class (see oral_history/asr.py; empty: none)."),
    Setting("PROXY_HOPS", 0, "Reverse proxies in front of Fangzhi whose X-Forwarded-For and X-Forwarded-Proto are trusted: 1 behind the documented nginx (0: none, the headers are ignored)."),
    Setting("BASE_URL", "", "The archive's public address, e.g. https://archive.example.org: every absolute URL (IIIF ids, API links, media URLs) is built from it, never from the Host header (empty: from the request, within TRUSTED_HOSTS)."),
    Setting("TRUSTED_HOSTS", "", "Host names the archive answers to, comma-separated (.example.org: and its subdomains); other Host headers get HTTP 400. Empty: any with BASE_URL set, else localhost, 127.0.0.1 and [::1] only."),
    Setting("MAX_BODY_MB", 2, "Largest request body accepted, in MiB, except uploads from signed-in staff (MAX_UPLOAD_MB); larger ones get HTTP 413 unread."),
    Setting("IIIF_MAX_UPSCALE", 2.0, "How many times wider and higher than its region an IIIF image may be made (^ sizes): more is refused, ^max stops there."),
    Setting("IIIF_RENDERS", 2, "IIIF images each web worker process renders at once with libvips (stored tiles, tile copies and cached images need no turn); a request waiting over a second gets 503 with Retry-After."),
    Setting("IIIF_RENDER_SECONDS", 20.0, "Time budget of one IIIF image rendering, in seconds: a rendering unfinished by then is abandoned with 503 and Retry-After."),
    Setting("MAX_VIDEO_PIXELS", 8_847_360, "Largest video frame (width × height) ingest accepts, checked with ffprobe before encoding (default 4096 × 2160)."),
    Setting("MAX_MEDIA_SECONDS", 28_800, "Longest audio or video recording ingest accepts, in seconds (default 8 hours)."),
    Setting("TOOL_TIMEOUT", 600, "Seconds one run of an external tool (ffprobe, ffmpeg) may take; a decode or encode may take TOOL_TIMEOUT_RATIO more per second of media. A run past it is stopped and the file fails."),
    Setting("TOOL_TIMEOUT_RATIO", 2.0, "Seconds a decode or encode may take per second of the recording, beyond TOOL_TIMEOUT."),
    Setting("ALLIANCE_TIMEOUT", 30.0, "Seconds one request to an alliance member (OAI-PMH page, Change Discovery page) may take, answer included; a slower member fails on its own."),
    Setting("ALLIANCE_ATTEMPTS", 3, "Tries of a member request that failed on the network, timed out or got HTTP 5xx/429, waiting 1, 2, 4 … seconds between them."),
    Setting("ALLIANCE_MAX_RESPONSE_MB", 32, "Largest answer read from an alliance member, in MiB; a larger one is refused."),
    Setting("ALLIANCE_MAX_RECORD_KB", 1024, "Largest single harvested record, in KiB; a larger one is skipped and named in the member's status."),
    Setting("ALLIANCE_MAX_PAGES", 10000, "Most pages (resumption tokens, Change Discovery pages) one harvest of a member follows."),
    Setting("ALLIANCE_OVERLAP_SECONDS", 60, "An incremental harvest asks for records from the last harvest's responseDate minus this, so records changed meanwhile are not missed."),
    Setting("ALLIANCE_PARALLEL", 4, "Alliance members harvested at once (each in its own thread)."),
    Setting("ALLIANCE_SEARCH_SECONDS", 5.0, "Seconds a member library has to answer a live alliance search (scope=alliance); members not done by then are named as timed out and the others' results are shown."),
    Setting("OAI_PAGE_SIZE", 100, "Records (or headers) per OAI-PMH ListRecords/ListIdentifiers answer; the rest follow with a resumptionToken."),
    Setting("OAI_TOKEN_HOURS", 24.0, "Hours an OAI-PMH resumptionToken stays valid (its expirationDate); tokens are signed with SECRET_KEY, so they survive restarts."),
    Setting("OAI_REPOSITORY_IDENTIFIER", "", "The repositoryIdentifier of OAI-PMH identifiers (oai:<it>:<item id>); empty: the host of BASE_URL (else of the request). Set it (or BASE_URL) before harvesters come: identifiers must not change."),
    Setting("OAI_ADMIN_EMAIL", "", "The adminEmail an OAI-PMH Identify answer gives harvesters (empty: archive@ the repository's host name)."),
    Setting("OCR_ENGINE", "pp-ocrv6", "OCR engine for page images: pp-ocrv6 (PP-OCRv6 small, shipped in the rapidocr wheel), pp-ocrv4 (the former engine, if rapidocr-onnxruntime is installed), or module:Class (see ingest/steps/ocr_engine.py)."),
    Setting("OCR_LOW_CONFIDENCE", 0.8, "Recognised characters with a confidence below this (0–1) are marked uncertain in ocr.json, for review."),
    Setting("FIXITY_CYCLE_DAYS", 90, "`fangzhi fixity --schedule` (run nightly) checks a share of the archive each run so that every stored file is checked at least once in this many days."),
    Setting("CORRECTIONS_VOLUNTEERS", False, "Signed-in readers (members, researchers) may propose corrections of OCR lines and transcript cues of items they may see; an archivist or administrator reviews every proposal."),
    Setting("MAP_TILE_URL", "", "Map tiles for the maps of exhibitions and authority pages, a Leaflet URL template such as https://tile.example.org/{z}/{x}/{y}.png (https only: the pages' image policy); empty: no tiles, nothing fetched: the places are drawn on a plain background and listed."),
    Setting("MAP_ATTRIBUTION", "", "The attribution the map tile provider requires (e.g. © OpenStreetMap contributors), shown on the maps."),
    Setting("DATABASE_URL", "", "The database of operational state (catalog, accounts, tokens, audit events, jobs, features' tables): sqlite:///PATH or postgresql+psycopg://USER:PASSWORD@HOST/NAME; empty: the SQLite file DATA_DIR/fangzhi.sqlite3. Its schema is made by the migrations in storage/migrations."),
    Setting("TASK_QUEUE", "local", "Where ingest tasks run: local (a pool of INGEST_WORKERS processes on this machine) or celery (workers on any machine, `fangzhi worker`, with REDIS_URL as broker; needs PostgreSQL, S3 and Elasticsearch)."),
    Setting("WORK_DIR", "", "Scratch folder of ingest steps (empty: DATA_DIR/work). With TASK_QUEUE=celery each worker's own, on its own disk; an entry's scratch files there are removed when it finishes there."),
    Setting("INGEST_LEASE_SECONDS", 120, "With TASK_QUEUE=celery: how long a worker's claim on an ingest entry lasts unless renewed (it renews every third of it while it works). No other worker takes the entry meanwhile; a worker that dies leaves it to another after this."),
    Setting("CELERY_VISIBILITY_TIMEOUT", 3600, "With TASK_QUEUE=celery: seconds Redis waits for the worker that took an ingest task to acknowledge it (Celery's visibility_timeout) before giving it to another. Tasks are acknowledged when done, so a dead worker's task runs again after this; set it above the longest ingest of one item (a task given out twice waits for the first worker's claim)."),
    Setting("REDIS_URL", "", "Redis (redis://HOST:PORT/DB): the Celery broker with TASK_QUEUE=celery, and the rate limits' store shared by every web process (empty: each process counts on its own)."),
]
DEFAULTS = {s.name: s.default for s in SETTINGS}


def _parse(raw: str, kind: type):
    if kind is bool:
        if raw.lower() not in ("1", "true", "yes", "on", "0", "false", "no", "off", ""):
            raise ValueError(raw)
        return raw.lower() in ("1", "true", "yes", "on")
    return kind(raw)


def load(overrides: dict | None = None, environ=os.environ) -> dict:
    """Defaults, then FANGZHI_* environment variables, then ``overrides`` (e.g. from tests)."""
    values = dict(DEFAULTS)
    for s in SETTINGS:
        raw = environ.get(f"FANGZHI_{s.name}")
        if raw is not None:
            try:
                values[s.name] = _parse(raw, type(s.default))
            except ValueError:
                raise SystemExit(f"FANGZHI_{s.name}={raw!r} is not a valid {type(s.default).__name__}") from None
    for key, value in (overrides or {}).items():
        if key not in DEFAULTS:
            raise KeyError(f"unknown setting {key}")
        values[key] = value
    return values
