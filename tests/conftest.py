"""Shared fixtures. The S3 ones run a real SeaweedFS, the Elasticsearch one noida-db (tests/servers.py),
for the whole session."""
import uuid

import pytest

from search.tantivy_index import TantivyIndex
from storage.database import Database
from storage.s3 import S3Storage
from tests.helpers import build_on
from tests.servers import start_elasticsearch, start_postgres, start_redis, start_seaweedfs


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory):
    """A SeaweedFS S3 endpoint (or the one named by FANGZHI_TEST_S3_ENDPOINT)."""
    server = start_seaweedfs(tmp_path_factory.mktemp("seaweedfs"))
    yield server
    server.stop()


@pytest.fixture(scope="session")
def elasticsearch_url(tmp_path_factory):
    """FANGZHI_ELASTICSEARCH_URL (a real cluster), else a noida-db started for the session."""
    server = start_elasticsearch(tmp_path_factory.mktemp("noida-db"))
    yield server.url
    server.stop()


@pytest.fixture(scope="session")
def postgres_server():
    """A throwaway PostgreSQL cluster (initdb + postgres on a loopback port) for the session."""
    server = start_postgres()
    yield server
    server.stop()


@pytest.fixture
def postgres_url(postgres_server):
    """A new, empty PostgreSQL database for one test, dropped after it."""
    url = postgres_server.create_database()
    yield url
    postgres_server.drop_database(url)


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request, tmp_path):
    """The contract suite's database: a SQLite file, then a real PostgreSQL database."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'fangzhi.sqlite3'}"
    return request.getfixturevalue("postgres_url")


@pytest.fixture
def database(database_url):
    """A migrated ``Database`` on ``database_url``: a store's contract tests run on both dialects."""
    db = Database(database_url)
    yield db
    db.dispose()


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory):
    """A redis-server on a loopback port for the session (the Celery broker, Flask-Limiter's store)."""
    server = start_redis(tmp_path_factory.mktemp("redis"))
    yield server.url
    server.stop()


@pytest.fixture
def s3_storage(s3_server):
    """An S3Storage on a new, uniquely named bucket, emptied and removed after the test."""
    storage = S3Storage(
        f"test-{uuid.uuid4().hex[:16]}",
        endpoint_url=s3_server.endpoint,
        access_key=s3_server.access_key,
        secret_key=s3_server.secret_key,
        create_bucket=True,
    )
    yield storage
    for key in storage.list():
        storage.delete(key)
    storage.client.delete_bucket(Bucket=storage.bucket)


@pytest.fixture
def fangzhi(tmp_path):
    """Every service on a temp data folder, from the composition root: the search index in
    memory, ingest tasks run in this process."""
    return build_on(tmp_path, index=TantivyIndex(None), inline=True)


@pytest.fixture
def archive(fangzhi):
    """The archive on a local OCFL root and SQLite catalog in a temp folder."""
    return fangzhi.archive
