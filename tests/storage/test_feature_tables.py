"""The features' tables on both dialects (storage.authorities, storage.lists; the migration
0003_features up and down), and a data folder from before DATABASE_URL: each feature's old SQLite
file, written here with the old schema, opens with every row (primary state adopted) or record
(derived tables rebuilt from storage)."""
import sqlite3

import pytest
from alembic import command
from sqlalchemy import inspect

from alliance import members as member_tables
from alliance.members import Member
from corrections import store as proposal_tables
from repository.access import SYSTEM, User
from search import queries as query_tables
from storage import lists as list_tables, mentions as mention_tables
from storage.adopt import adopt_sqlite_file
from storage.authorities import AuthorityTable
from storage.database import alembic_config
from storage.lists import ListStore
from storage.mentions import MentionStore
from tests.helpers import build_on, together

FEATURE_TABLES = {"authorities", "authority_names", "authority_links", "mentions", "lists", "list_entries", "members",
                  "proposals", "zero_results", "exhibitions"}


def test_the_features_migration_goes_down_and_up_again(database):
    with database.begin() as db:
        command.downgrade(alembic_config(db), "0002_jobs")
    assert not FEATURE_TABLES & set(inspect(database.engine).get_table_names())
    database.upgrade()
    assert FEATURE_TABLES <= set(inspect(database.engine).get_table_names())


# --- the authority lookup table ----------------------------------------------------------------------

def record(rid, name, *, merged_into=None, initial="Q", surname=None, version=1, updated="2026-01-01T00:00:00Z"):
    kind = rid.split("-")[0]
    return {"id": rid, "kind": kind, "preferred": name, "merged_into": merged_into, "initial": initial,
            "surname": surname, "number": int(rid.split("-")[1]), "version": version, "created": "2026-01-01T00:00:00Z",
            "updated": updated, "record": {"id": rid, "name": name}}


def test_authority_table_matches_keys_prefixes_and_links(database):
    table = AuthorityTable(database)
    table.put(record("person-1", "钱穆", surname="钱"), [("钱穆", "preferred", "钱穆"), ("钱穆", "preferred", "qianmu"),
                                                        ("宾四", "字", "宾四")], [("place-1", "native_place")])
    table.put(record("person-2", "钱宾四", merged_into="person-1"), [("钱宾四", "preferred", "钱宾四")], [])
    table.put(record("person-3", "钱基博", surname="钱"), [("钱基博", "preferred", "钱基博"), ("a%_\\b", "别名", "a%_\\b")],
              [("place-1", "native_place"), ("person-1", "relation")])
    table.put(record("place-1", "无锡县", initial="W"), [("无锡县", "preferred", "无锡县")], [])
    assert [r["id"] for r in table.with_key("宾四")] == ["person-1"]
    assert table.with_key("钱宾四") == [] and table.with_key("宾四", "place") == []  # merged; another kind
    assert table.get("person-1")["record"] == {"id": "person-1", "name": "钱穆"}
    assert [r["id"] for r in table.with_prefix("钱")] == ["person-1", "person-3"]  # shortest name first
    assert [r["id"] for r in table.with_prefix("a%_")] == ["person-3"] and table.with_prefix("%") == []  # literal
    assert table.with_prefix("a_") == [] and [r["id"] for r in table.containing("_\\")[0]] == ["person-3"]
    assert [r["id"] for r in table.containing("四")[0]] == ["person-1"] and table.containing("四")[1] == 1
    rows, total = table.listing("person", surname="钱", limit=1)
    assert [r["id"] for r in rows] == ["person-3"] and total == 2  # 钱基博 before 钱穆 (code points)
    assert table.facets("person", "surname") == [("钱", 2)] and table.facets("place", "initial") == [("W", 1)]
    assert [(r["id"], how) for r, how in table.pointing_at("place-1")] == [("person-1", "native_place"),
                                                                          ("person-3", "native_place")]
    assert table.merged_into("person-1") == ["person-2"] and table.merges() == {"person-1": ["person-2"]}
    assert table.next_number("person") == 4 and table.next_number("family") == 1
    assert table.count("person") == 2 and [r["id"] for r in table.current("place")] == ["place-1"]
    assert table.stamp() == "4:4:2026-01-01T00:00:00Z"
    table.put(record("person-3", "钱基博", version=2, updated="2026-02-01T00:00:00Z"), [("钱基博", "preferred", "钱基博")], [])
    assert table.with_prefix("a%") == [] and [r["id"] for r, _ in table.pointing_at("person-1")] == []  # replaced
    assert table.stamp() == "4:5:2026-02-01T00:00:00Z"
    table.clear()
    assert table.current() == [] and table.stamp() == "0:0:"


def test_the_merge_index_holds_merged_records_only(database):
    # an index of every row's merged_into is taken for the current records' lookups (IS NULL), and scanned
    (index,) = [i for i in inspect(database.engine).get_indexes("authorities") if i["name"] == "authorities_by_merge"]
    assert "merged_into IS NOT NULL" in str(index["dialect_options"][f"{database.dialect}_where"])


# --- saved lists ----------------------------------------------------------------------------------

def test_lists_keep_entries_in_the_order_added_and_notes_replaced(database):
    store = ListStore(database)
    first = store.create("ann", "运河", "笔记")
    other = store.create("ann", "族谱", "")
    for item in ("z9", "a1", "m5"):
        store.put_entry(first.id, item, f"note {item}")
    store.put_entry(first.id, "z9", "再看")  # saved again: its note, not its place
    got = store.get(first.id)
    assert [(i, n) for i, n, _ in got.entries] == [("z9", "再看"), ("a1", "note a1"), ("m5", "note m5")]
    store.update(other.id, name="族谱", note="新", share="s3cret")
    assert store.by_share("s3cret").id == other.id and store.by_share("nope") is None
    assert [x.id for x in store.lists("ann")] == [first.id, other.id] and store.lists("bob") == []
    assert store.get(2 ** 62) is None  # an id from a URL, beyond PostgreSQL's integer
    store.delete_entry(first.id, "a1")
    store.delete(other.id)
    assert [i for i, *_ in store.get(first.id).entries] == ["z9", "m5"] and store.get(other.id) is None
    store.delete(first.id)
    with database.connect() as db:  # the entries went with their list
        assert db.execute(list_tables.list_entries.select()).all() == []


def test_two_processes_saving_the_same_entry_at_once_keep_one(database):
    store = ListStore(database)
    saved = store.create("ann", "运河", "")

    def save(n):
        for i in range(20):
            store.put_entry(saved.id, f"item{i}", f"by {n}")
    assert together(save, range(3)) == [] and [i for i, *_ in store.get(saved.id).entries] == [f"item{i}" for i in range(20)]


# --- a data folder from before DATABASE_URL ----------------------------------------------------------

OLD = {  # each store's file and schema as the code before DATABASE_URL made them, with its rows
    "alliance.sqlite3": ("""CREATE TABLE members (
        name TEXT PRIMARY KEY, oai_url TEXT NOT NULL, api_url TEXT, token TEXT, label_zh TEXT NOT NULL,
        label_en TEXT NOT NULL, added TEXT NOT NULL, last_attempt TEXT, last_success TEXT,
        records INTEGER NOT NULL DEFAULT 0, error TEXT, harvest_from TEXT, discovery_cursor TEXT);
        INSERT INTO members VALUES ('west', 'http://west.example/oai', 'http://west.example', 'fzt_w', '西区', 'West',
            '2025-01-01T00:00:00Z', NULL, '2025-02-01T00:00:00Z', 12, NULL, '2025-02-01T00:00:00Z', NULL);"""),
    "corrections.sqlite3": ("""CREATE TABLE proposals (
        id INTEGER PRIMARY KEY AUTOINCREMENT, item_id TEXT NOT NULL, target TEXT NOT NULL, file_id TEXT NOT NULL,
        place TEXT NOT NULL, before TEXT NOT NULL, after TEXT NOT NULL, note TEXT NOT NULL, version INTEGER NOT NULL,
        sha256 TEXT NOT NULL, proposer TEXT NOT NULL, proposed TEXT NOT NULL, state TEXT NOT NULL, reviewer TEXT,
        reviewed TEXT, reason TEXT, result_version INTEGER);
        CREATE INDEX proposals_by_state ON proposals(state, id);
        INSERT INTO proposals VALUES (7, 'book1', 'ocr', 'f2', '3', '元', '无', '', 2, 'ab', 'ann', '2025-01-01T00:00:00Z',
            'accepted', 'bob', '2025-01-02T00:00:00Z', '', 3);"""),
    "queries.sqlite3": ("""CREATE TABLE zero_results (query TEXT PRIMARY KEY, count INTEGER NOT NULL, last TEXT NOT NULL);
        INSERT INTO zero_results VALUES ('惠山泥人', 4, '2025-03-01T00:00:00Z');"""),
    "lists.sqlite3": ("""CREATE TABLE lists (id INTEGER PRIMARY KEY, owner TEXT NOT NULL, name TEXT NOT NULL,
        note TEXT NOT NULL DEFAULT '', share TEXT UNIQUE, created TEXT NOT NULL);
        CREATE TABLE list_entries (list_id INTEGER NOT NULL REFERENCES lists(id) ON DELETE CASCADE,
        item_id TEXT NOT NULL, note TEXT NOT NULL DEFAULT '', added TEXT NOT NULL, PRIMARY KEY (list_id, item_id));
        INSERT INTO lists VALUES (5, 'ann', '运河', '笔记', 'shh', '2025-01-01T00:00:00+00:00');
        INSERT INTO list_entries VALUES (5, 'zz', '先', '2025-01-01T00:00:00+00:00');
        INSERT INTO list_entries VALUES (5, 'aa', '后', '2025-01-01T00:00:00+00:00');"""),
    "mentions.sqlite3": ("""CREATE TABLE mentions (id INTEGER PRIMARY KEY, item_id TEXT NOT NULL,
        authority_id TEXT NOT NULL, name TEXT NOT NULL, places TEXT NOT NULL, state TEXT NOT NULL DEFAULT 'proposed',
        decided_by TEXT, decided_at TEXT, UNIQUE (item_id, authority_id));
        INSERT INTO mentions VALUES (3, 'i1', 'person-1', '钱穆', '[{"field": "title"}]', 'rejected', 'bob',
            '2025-01-03T00:00:00+00:00');"""),
}


def write_old_files(folder):
    folder.mkdir(parents=True, exist_ok=True)
    for name, schema in OLD.items():
        old = sqlite3.connect(folder / name)
        old.executescript(schema)
        old.close()


def assert_old_rows_there(members, corrections, queries, lists, mentions):
    west = members.get("west")
    assert (west.token, west.records, west.label_en) == ("fzt_w", 12, "West")
    (p,) = corrections.list(state="accepted")
    assert (p.id, p.before, p.after, p.reviewer, p.result_version) == (7, "元", "无", "bob", 3)
    assert queries.top() == [("惠山泥人", 4, "2025-03-01T00:00:00Z")]
    saved = lists.get(5)
    assert (saved.owner, saved.share, [(i, n) for i, n, _ in saved.entries]) == ("ann", "shh", [("zz", "先"), ("aa", "后")])
    assert [(m.id, m.state, m.decided_by, m.places) for m in mentions.of_item("i1")] == [
        (3, "rejected", "bob", [{"field": "title"}])]
    # new rows after the adopted ones: ids go on from theirs (PostgreSQL's sequences moved too)
    assert lists.create("ann", "新", "").id == 6
    lists.put_entry(5, "mm", "")
    assert [i for i, *_ in lists.get(5).entries] == ["zz", "aa", "mm"]


def test_old_files_are_adopted_into_either_database(database, tmp_path):
    from corrections.store import ProposalStore
    from alliance.members import Members
    from search.queries import ZeroResults

    write_old_files(tmp_path / "old")
    for name, module in (("alliance.sqlite3", member_tables), ("corrections.sqlite3", proposal_tables),
                         ("queries.sqlite3", query_tables), ("lists.sqlite3", list_tables),
                         ("mentions.sqlite3", mention_tables)):
        assert adopt_sqlite_file(database, tmp_path / "old" / name, module.TABLES)
    assert_old_rows_there(Members(database), ProposalStore(database), ZeroResults(database), ListStore(database),
                          MentionStore(database))


def test_an_old_data_folder_opens_with_every_row_and_record(tmp_path):
    data = tmp_path / "data"
    fz = build_on(data)
    archivist = User("wang", frozenset({"archivist"}))
    fz.authorities.create({"kind": "person", "name": "钱穆", "names": [{"name": "宾四", "type": "字"}]}, user=archivist)
    fz.exhibitions.save({"id": "canal", "title": {"zh": "运河记忆"}}, user=SYSTEM, expected_version=0)
    fz.exhibitions.publish("canal", user=SYSTEM, expected_version=1)
    fz.authorities.table.clear()  # as if they were still in their old files: the database's tables empty
    fz.exhibitions.listing.clear()
    fz.database.dispose()
    write_old_files(data)
    for derived in ("authorities.sqlite3", "exhibitions.sqlite3"):  # (their rows do not matter: rebuilt from storage)
        sqlite3.connect(data / derived).close()
    again = build_on(data)
    assert_old_rows_there(again.members, again.corrections.store, again.queries, again.lists.store,
                          again.mentions.store)
    assert again.authorities.find("宾四") == ["person-1"]
    assert [e.id for e, _ in again.exhibitions.published()] == ["canal"]
    for name in [*OLD, "authorities.sqlite3", "exhibitions.sqlite3"]:
        assert not (data / name).exists() and (data / f"{name}.adopted").exists()
    build_on(data).members.add(Member("east", "http://east.example/oai"))  # opened again: nothing adopted twice
    assert [m.name for m in build_on(data).members.list()] == ["east", "west"]
