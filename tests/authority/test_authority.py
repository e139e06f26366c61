"""The authority file: records' validation, versions, rebuild, merge, NameSource."""
import pytest

from authority.model import Authority
from authority.service import MergeRefused
from repository.access import ANONYMOUS, User
from repository.errors import Conflict, PermissionDenied, ValidationError

ARCHIVIST = User("wang", frozenset({"archivist"}))


def person(name, **kw):
    return {"kind": "person", "name": name, **kw}


def test_validation_names_each_field():
    with pytest.raises(ValidationError) as err:
        Authority.from_dict({"kind": "person", "id": "place-1", "name": "", "names": [{"name": "x", "type": "绰号"}],
                             "birth": {"edtf": "18x2"}, "native_place": "person-2",
                             "relations": [{"id": "person-9"}], "identifiers": {"cbdb": "abc", "isni": "1"},
                             "surname": "王"})
    fields = {f for f, _ in err.value.problems}
    assert {"id", "name", "names[0].type", "birth.edtf", "native_place", "relations[0].type", "identifiers.cbdb",
            "identifiers.isni", "surname"} <= fields
    with pytest.raises(ValidationError) as err:
        Authority.from_dict({"kind": "place", "id": "place-1", "name": "无锡县", "coordinates": [91, 0],
                             "parents": [{"id": "place-1"}]})
    assert {f for f, _ in err.value.problems} >= {"coordinates", "parents"}


def test_create_update_versions_and_rebuild(fangzhi):
    auth = fangzhi.authorities
    place = auth.create({"kind": "place", "name": "无锡县", "names": [{"name": "梁溪", "type": "别名"}],
                         "coordinates": [31.57, 120.3]}, user=ARCHIVIST, why="gazetteer")
    assert place.value.id == "place-1"
    p = auth.create(person("钱穆", names=[{"name": "宾四", "type": "字"}], native_place="place-1",
                           birth={"edtf": "1895", "display": "光绪二十一年"}), user=ARCHIVIST)
    assert p.value.id == "person-1" and p.version == 1
    p2 = auth.update("person-1", {"occupations": ["史学家"]}, expected_version=1, user=ARCHIVIST, why="occupation")
    assert p2.version == 2
    with pytest.raises(Conflict):
        auth.update("person-1", {"notes": "x"}, expected_version=1, user=ARCHIVIST)
    with pytest.raises(PermissionDenied):
        auth.create(person("某人"), user=ANONYMOUS)
    history = auth.history("person-1", user=ARCHIVIST)
    assert [v.user for v in history] == ["wang", "wang"] and history[1].message == "update: occupation"
    assert auth.history("person-1", user=ANONYMOUS)[1].user == ""
    assert auth.get("person-1", version=1).value.occupations == []
    assert auth.find("賓四") == ["person-1"]  # folded: 繁 → 简
    assert [s["id"] for s in auth.suggest("qian")] == ["person-1"] and auth.suggest("bs")[0]["id"] == "person-1"
    before = auth.table.dump() if hasattr(auth.table, "dump") else [r for r in auth.table.current()]
    auth.table.clear()
    assert auth.find("宾四") == []
    fangzhi.archive.rebuild()  # `fangzhi rebuild`: the lookup table from storage alone
    assert auth.find("宾四") == ["person-1"] and [r for r in auth.table.current()] == before
    assert [e["object_id"] for e in fangzhi.catalog.events("authority:person-1")] == ["authority:person-1"] * 2


def test_merge_keeps_both_ids_and_refuses_disagreeing_identifiers(fangzhi):
    auth = fangzhi.authorities
    a = auth.create(person("钱穆", identifiers={"cbdb": "3767"}), user=ARCHIVIST).value.id
    b = auth.create(person("钱宾四", names=[{"name": "素书楼主", "type": "室名"}], identifiers={"viaf": "12345"}),
                    user=ARCHIVIST).value.id
    c = auth.create(person("钱穆", identifiers={"cbdb": "9999"}), user=ARCHIVIST).value.id
    with pytest.raises(MergeRefused, match="cbdb: 3767 ≠ 9999"):
        auth.merge(a, c, user=ARCHIVIST)
    assert auth.get(c).version == 1 and auth.get(a).version == 1  # nothing written
    merged = auth.merge(a, b, user=ARCHIVIST, why="same scholar")
    assert {"钱宾四", "素书楼主"} <= set(merged.value.all_names())
    assert merged.value.identifiers == {"cbdb": "3767", "viaf": "12345"}
    assert auth.get(b).value.merged_into == a and auth.resolve(b) == a
    assert auth.get(b).version == 2 and auth.get(a).version == 2
    assert auth.history(b, user=ARCHIVIST)[-1].message.startswith("merge: merged into")
    assert auth.find("素书楼主") == [a] and auth.ids(a) == [a, b]
    groups = {g.id: g for g in auth.name_groups()}
    assert b not in groups and groups[a].merged_ids == (b,) and "钱宾四" in groups[a].names
    with pytest.raises(MergeRefused):
        auth.merge(a, b, user=ARCHIVIST)
    with pytest.raises(Conflict):  # a merged record is not edited
        auth.update(b, {"notes": "x"}, expected_version=2, user=ARCHIVIST)
    with pytest.raises(Conflict):  # its id is never given again
        auth.create(person("别人", id=b), user=ARCHIVIST)
    stamp = auth.stamp()
    auth.update(a, {"notes": "史学家"}, expected_version=2, user=ARCHIVIST)
    assert auth.stamp() != stamp


def test_merges_chain_and_never_loop(fangzhi):
    auth = fangzhi.authorities
    a, b, c = (auth.create(person(n), user=ARCHIVIST).value.id for n in ("甲", "乙", "丙"))
    auth.merge(b, a, user=ARCHIVIST)
    auth.merge(c, b, user=ARCHIVIST)
    assert auth.resolve(a) == c and sorted(auth.ids(c)) == sorted([a, b, c])
    assert {g.id: g.merged_ids for g in auth.name_groups()}[c] in ((b, a), (a, b))
    for x, y in ((a, c), (c, a), (c, c)):
        with pytest.raises(MergeRefused):
            auth.merge(x, y, user=ARCHIVIST)
    with pytest.raises(MergeRefused, match="only records of one kind"):
        auth.merge(c, auth.create({"kind": "place", "name": "丙村"}, user=ARCHIVIST).value.id, user=ARCHIVIST)
