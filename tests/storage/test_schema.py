"""The migrations make exactly the tables the stores declare (storage.database.metadata), on SQLite
and on a real PostgreSQL: a store's new column without its migration fails here."""
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

import fangzhi.bootstrap  # noqa: F401 - imports every store, which declares its tables on metadata
from storage.database import Database, metadata


def test_the_migrations_make_the_schema_the_stores_declare(database_url):
    db = Database(database_url)
    with db.connect() as conn:
        differences = compare_metadata(MigrationContext.configure(conn), metadata)
    db.dispose()
    assert {"items", "accounts", "jobs", "bulk_jobs", "authorities", "members", "proposals", "lists"} <= set(metadata.tables)
    assert differences == []
