"""The relational database of Fangzhi's operational state: catalog, accounts, tokens, audit
events, jobs and the features' tables.

One SQLAlchemy Core engine per process, on ``DATABASE_URL``: a SQLite file under DATA_DIR by
default (nothing to install), PostgreSQL in production (``postgresql+psycopg://…``). The schema is
the same on both and is made only by the Alembic migrations in ``storage/migrations``, which
``Database`` applies when it opens (once, under a lock, however many processes start together).
"""
from __future__ import annotations

import re
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import BigInteger, Integer, MetaData, String, create_engine, event, func, select, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Engine, make_url

MIGRATIONS = Path(__file__).with_name("migrations")
UPGRADE_LOCK = 0x46616E677A6869  # PostgreSQL advisory lock held while migrating ("Fangzhi")

# Every store's tables, on one MetaData: the migrations make exactly this schema (tests/storage/test_schema.py).
metadata = MetaData(naming_convention={
    "ix": "ix_%(column_0_label)s", "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s", "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s"})

# Text compared and sorted byte by byte, as SQLite does, whatever the PostgreSQL cluster's locale.
TEXT = String().with_variant(String(collation="C"), "postgresql")
# Ids that come from URLs (/lists/<id>): 64 bits on both, as SQLite's INTEGER PRIMARY KEY.
ID = Integer().with_variant(BigInteger(), "postgresql")


class DatabaseError(Exception):
    """A DATABASE_URL that cannot be used; the message names it."""


class Database:
    """The engine on ``url`` and the schema brought up to the newest migration."""

    def __init__(self, url: str, *, upgrade: bool = True):
        try:
            parsed = make_url(url)
        except Exception as exc:  # noqa: BLE001 - sqlalchemy raises ArgumentError and ValueError
            hide = lambda text: re.sub(r"//[^/@]*@", "//***@", text)  # noqa: E731 - never a password, even malformed
            raise DatabaseError(f"DATABASE_URL {hide(url)!r} is not a database URL: {hide(str(exc))}") from None
        if parsed.get_backend_name() not in ("sqlite", "postgresql"):
            raise DatabaseError(f"DATABASE_URL {parsed.render_as_string()!r}: choose sqlite:///PATH or "
                                "postgresql+psycopg://USER@HOST/NAME")
        self.url = parsed
        self.engine: Engine = _engine(parsed)
        self._writer = self.engine.execution_options(fangzhi_write=True)
        if upgrade:
            self.upgrade()

    @property
    def dialect(self) -> str:
        """``sqlite`` or ``postgresql``."""
        return self.engine.dialect.name

    def begin(self):
        """A connection in a write transaction, committed on leaving the block (rolled back on
        error). On SQLite it takes the write lock at once, so writers queue instead of failing."""
        return self._writer.begin()

    def connect(self):
        """A connection for reading (its transaction sees one snapshot until it ends)."""
        return self.engine.connect()

    def insert(self, table):
        """An INSERT for this dialect, with ``.on_conflict_do_nothing()`` / ``.on_conflict_do_update()``."""
        return (postgresql if self.dialect == "postgresql" else sqlite).insert(table)

    def upgrade(self, revision: str = "head") -> None:
        """Apply the migrations up to ``revision``; processes starting together migrate once."""
        with self.begin() as db:
            if self.dialect == "postgresql":
                db.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": UPGRADE_LOCK})
            command.upgrade(alembic_config(db), revision)

    def revision(self) -> str | None:
        """The schema's current migration."""
        from alembic.runtime.migration import MigrationContext

        with self.engine.connect() as db:
            return MigrationContext.configure(db).get_current_revision()

    def dispose(self) -> None:
        """Close the pool's connections (a forked worker, a test's end)."""
        self.engine.dispose()


def alembic_config(connection: Connection) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


def _engine(url) -> Engine:
    if url.get_backend_name() == "postgresql":
        return create_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=10)
    if url.database and url.database != ":memory:":
        Path(url.database).parent.mkdir(parents=True, exist_ok=True)
        Path(url.database).touch(mode=0o600, exist_ok=True)  # a new file: its owner's only (tokens, hashes)
    engine = create_engine(url, connect_args={"timeout": 60})

    @event.listens_for(engine, "connect")
    def _pragmas(dbapi, _record):  # every connection: WAL (readers beside one writer), foreign keys
        dbapi.isolation_level = None  # SQLAlchemy's BEGIN, not the driver's own
        cursor = dbapi.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=60000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(conn):  # writers queue at BEGIN instead of failing at their first write
        begin = "BEGIN IMMEDIATE" if conn.get_execution_options().get("fangzhi_write") else "BEGIN"
        conn.connection.driver_connection.execute(begin)  # (the driver's own: SQLAlchemy's costs more than SQLite's BEGIN)

    return engine


def counts_by_state(conn: Connection, entries, job_ids) -> dict[str, dict[str, int]]:
    """{job id: {state: entries}} for ``job_ids``, in one query (``entries`` has job_id and state)."""
    counts = {job_id: {} for job_id in job_ids}
    c = entries.c
    for job_id, state, count in conn.execute(select(c.job_id, c.state, func.count())
                                             .where(c.job_id.in_(counts)).group_by(c.job_id, c.state)):
        counts[job_id][state] = count
    return counts
