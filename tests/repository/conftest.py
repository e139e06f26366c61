import pytest

from repository.access import User
from repository.services import Archive
from storage import LocalStorage
from storage.catalog import SQLiteCatalog
from storage.ocfl import OcflRoot

ADMIN = User("admin", frozenset({"admin"}))
ARCHIVIST = User("wang", frozenset({"archivist"}))


@pytest.fixture
def archive(tmp_path):
    storage = LocalStorage(tmp_path / "storage")
    objects = OcflRoot(storage)
    objects.init()
    return Archive(objects, SQLiteCatalog(tmp_path / "catalog.sqlite3"), storage)
