"""The database foundation on SQLite and on a real PostgreSQL: migrations applied at open, once,
however many processes open it together; bad URLs refused by name."""
import threading

import pytest
from sqlalchemy import text

from storage.database import Database, DatabaseError


def test_opening_applies_every_migration(database_url):
    db = Database(database_url)
    from alembic.script import ScriptDirectory
    from storage.database import alembic_config

    with db.connect() as conn:
        head = ScriptDirectory.from_config(alembic_config(conn)).get_current_head()
    assert db.revision() == head
    with db.begin() as conn:
        assert conn.execute(text("SELECT 1")).scalar() == 1
    db.dispose()


def test_many_openers_at_once_migrate_once(database_url):
    errors = []

    def open_it():
        try:
            Database(database_url).dispose()
        except Exception as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=open_it) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []


@pytest.mark.parametrize("url", ["mysql://x@h/db", "not a url", "postgres"])
def test_a_url_that_is_not_sqlite_or_postgresql_is_refused_by_name(url):
    with pytest.raises(DatabaseError, match="DATABASE_URL"):
        Database(url)


@pytest.mark.parametrize("url", ["postgresql+psycopg://fz:s3cret@db:notaport/fz", "mysql://fz:s3cret@db/fz",
                                 "postgresql+psycopg//fz:s3cret@db/fz"])
def test_a_refused_url_never_shows_its_password(url):
    with pytest.raises(DatabaseError) as refused:
        Database(url)
    assert "s3cret" not in str(refused.value) and "DATABASE_URL" in str(refused.value)
