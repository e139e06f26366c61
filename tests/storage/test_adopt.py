"""Old data folders (one SQLite file per store) adopted into the database once, on SQLite and on
PostgreSQL: every row copied, the old file kept beside as <name>.adopted, ids continuing."""
import sqlite3
import threading

from sqlalchemy import Boolean, Column, Integer, MetaData, Table, select

from storage.adopt import adopt_sqlite_file
from storage.database import TEXT, Database

schema = MetaData()
people = Table("adopt_people", schema, Column("id", Integer, primary_key=True), Column("name", TEXT),
               Column("active", Boolean))


def old_file(path, rows):
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE adopt_people (id INTEGER PRIMARY KEY, name TEXT, active INTEGER, gone TEXT)")
    db.executemany("INSERT INTO adopt_people (id, name, active, gone) VALUES (?, ?, ?, 'x')", rows)
    db.commit()
    db.close()


def test_an_old_file_is_copied_once_and_kept_beside(database_url, tmp_path):
    db = Database(database_url)
    schema.create_all(db.engine)
    path = tmp_path / "people.sqlite3"
    old_file(path, [(1, "錢穆", 1), (7, "顧毓琇", 0)])
    results = []
    threads = [threading.Thread(target=lambda: results.append(adopt_sqlite_file(db, path, [people])))
               for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == [False, False, True]
    assert not path.exists() and (tmp_path / "people.sqlite3.adopted").exists()
    with db.begin() as conn:
        conn.execute(people.insert().values(name="華羅庚", active=True))
        rows = conn.execute(select(people).order_by(people.c.id)).all()
    assert [tuple(r) for r in rows] == [(1, "錢穆", True), (7, "顧毓琇", False), (8, "華羅庚", True)]
    assert adopt_sqlite_file(db, path, [people]) is False  # nothing left to adopt
    schema.drop_all(db.engine)
    db.dispose()
