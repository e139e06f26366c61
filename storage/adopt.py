"""Data folders from before DATABASE_URL, where each store kept its own SQLite file in DATA_DIR
(accounts.sqlite3, jobs.sqlite3, …): their rows move into the database once, and the old file is
renamed ``<name>.adopted`` (kept, never deleted), so nothing an archive had is lost by upgrading.
And a whole database copied into a new one (``copy_database``: SQLite → PostgreSQL)."""
from __future__ import annotations

import fcntl
import sqlite3
import zlib
from pathlib import Path
from typing import Callable

from sqlalchemy import Boolean, Integer, func, select, text

from .database import Database, DatabaseError, metadata

BATCH = 1000


def adopt_sqlite_file(database: Database, path: Path, tables: list) -> bool:
    """Copy the rows of ``tables`` (SQLAlchemy tables, parents before children) from the old SQLite
    file ``path`` into ``database``, the columns both have, then rename the file. Processes starting
    together adopt it once (the copy runs in one write transaction). True when rows were copied."""
    path = Path(path)
    if not path.exists():
        return False
    with database.begin() as db:
        if database.dialect == "postgresql":
            db.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": zlib.crc32(path.name.encode())})
        if not path.exists():  # another process adopted it while this one waited
            return False
        if any(db.execute(select(func.count()).select_from(t)).scalar() for t in tables):
            _retire(path)  # copied by a process that stopped before renaming it
            return False
        try:
            old = sqlite3.connect(path)  # (not read-only: its journal is folded in on closing)
            old.row_factory = sqlite3.Row
            for table in tables:
                _copy(old, db, table)
            old.close()
        except sqlite3.Error as exc:
            raise DatabaseError(f"{path}: the old database file cannot be read ({exc}); it is left as it was") from None
        _retire(path)
    return True


def rebuild_for_sqlite_file(path: Path, rebuild: Callable[[], object]) -> bool:
    """A DERIVED table's old file (``catalog.sqlite3``, …): while it is there, ``rebuild()`` the
    table from storage, then rename the file; processes on this host take turns (a lock on the
    file), so it is rebuilt once. A process stopped halfway leaves the file, and the next one
    rebuilds again. True when this process rebuilt."""
    path = Path(path)
    try:
        lock = open(path, "rb")
    except FileNotFoundError:
        return False
    with lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not path.exists():  # another process rebuilt while this one waited
            return False
        rebuild()
        _retire(path)
    return True


def _copy(old: sqlite3.Connection, db, table) -> None:
    present = {row[1] for row in old.execute(f'PRAGMA table_info("{table.name}")')}
    columns = [c for c in table.columns if c.name in present]
    if not columns:
        return
    names = ", ".join(f'"{c.name}"' for c in columns)
    cursor = old.execute(f'SELECT {names} FROM "{table.name}" ORDER BY rowid')  # the order rows were added in
    while rows := cursor.fetchmany(BATCH):
        db.execute(table.insert(), [{c.name: _value(c, row[c.name]) for c in columns} for row in rows])
    _advance_sequences(db, table, columns)


def copy_database(source: Database, target: Database) -> dict[str, int]:
    """Every table of ``source`` (one snapshot) into ``target``, parents before children
    (``metadata.sorted_tables``), in one transaction; the row count of each table. A target
    with rows anywhere is refused, naming its tables: nothing is merged or overwritten."""
    counts = {}
    with target.begin() as out:
        filled = [t.name for t in metadata.sorted_tables if out.execute(select(t).limit(1)).first() is not None]
        if filled:
            raise DatabaseError(f"{target.url.render_as_string()} is not empty (rows in {', '.join(filled)}): "
                                "copy into a new, empty database")
        with source.connect() as db:
            for table in metadata.sorted_tables:
                counts[table.name] = 0
                rows = db.execution_options(yield_per=BATCH).execute(select(table).order_by(*table.primary_key))
                for part in rows.partitions():
                    out.execute(table.insert(), [dict(r._mapping) for r in part])
                    counts[table.name] += len(part)
                _advance_sequences(out, table, table.columns)
    return counts


def _advance_sequences(db, table, columns) -> None:
    """Explicit ids do not move PostgreSQL's sequences: the next new row's id follows the copied ones."""
    if db.dialect.name != "postgresql":
        return
    for c in columns:
        if c.primary_key and isinstance(c.type, Integer) and c.autoincrement in (True, "auto"):
            db.execute(text(f"SELECT setval(pg_get_serial_sequence('{table.name}', '{c.name}'), "
                            f"COALESCE((SELECT MAX(\"{c.name}\") FROM \"{table.name}\"), 0) + 1, false)"))


def _value(column, value):
    return bool(value) if value is not None and isinstance(column.type, Boolean) else value


def _retire(path: Path) -> None:
    for suffix in ("", "-wal", "-shm"):
        part = Path(f"{path}{suffix}")
        if part.exists():
            part.rename(f"{path}.adopted{suffix}")
