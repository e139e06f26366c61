import pytest

from repository.errors import ValidationError
from repository.model import Collection, Item, edtf_years
from tests.helpers import photo_item


def problems(data) -> dict:
    with pytest.raises(ValidationError) as exc:
        Item.from_dict(data)
    return dict(exc.value.problems)


def test_full_item_round_trips():
    data = photo_item(
        id="wx-1936-001", description={"zh": "惠山祠堂", "en": "Ancestral halls"},
        creators=[{"name": {"zh": "钱穆", "en": "Qian Mu"}, "role": "author",
                   "aliases": [{"name": "宾四", "type": "字"}]}],
        contributors=[{"name": "无锡县政府", "type": "organization", "role": "publisher"}],
        date={"edtf": "1936~", "display": "约民国二十五年"},
        places=[{"name": {"zh": "无锡"}, "aliases": ["梁溪"], "coordinates": [31.49, 120.31]}],
        subjects=["祠堂"], language=["zh", "wuu"], extent="1 幅", holding_library="区图书馆",
        identifiers=["DEMO-1"], visibility="embargoed", embargo_until="2030-01-01",
        files=[{"id": "f1", "path": "originals/a.jpg", "media_type": "image/jpeg", "size": 3,
                "sha256": "a" * 64, "sequence": 1, "access": "staff"}],
    )
    item = Item.from_dict(data)
    assert item.creators[0].aliases[0].type == "字"
    assert item.contributors[0].name == {"zh": "无锡县政府"}  # a bare string is Chinese
    assert Item.from_dict(item.to_dict()) == item


def test_every_problem_is_named_by_field():
    found = problems({"kind": "scroll", "title": {"zh": ""}, "date": {"edtf": "1936-13"},
                      "rights": "http://example.com/free", "creators": [{"role": "author"}],
                      "places": [{"name": "无锡", "coordinates": [200, 0]}],
                      "files": [{"id": "f 1", "path": "../x", "media_type": "jpeg", "size": -1, "sha256": "x"}],
                      "visibility": "secret", "colour": "red"})
    assert "must be one of" in found["kind"]
    assert "title.zh" in found
    assert "EDTF" in found["date.edtf"]
    assert "rights" in found
    assert found["creators[0].name"].startswith("is required")
    assert "latitude" in found["places[0].coordinates"]
    for field in ("files[0].id", "files[0].path", "files[0].media_type", "files[0].size", "files[0].sha256"):
        assert field in found, field
    assert "visibility" in found
    assert found["colour"] == "is not a field of an item"
    assert found["id"] == "is required"


def test_message_lists_field_and_problem():
    with pytest.raises(ValidationError, match=r"kind: is required"):
        Item.from_dict({"id": "x1", "title": "无题"})


@pytest.mark.parametrize("edtf", ["1936", "1936-05", "1936-05-04", "193X", "19XX", "1936?", "1936~", "1936%",
                                  "1911/1949", "1936-05/1937", "../1949", "1949/..", "/1949", "1936-21"])
def test_edtf_accepted(edtf):
    assert Item.from_dict(photo_item(id="x", date={"edtf": edtf})).date["edtf"] == edtf


@pytest.mark.parametrize("edtf", ["36", "1936-13", "1936-02-30", "民国二十五年", "1936/1937/1938", "/", "1936-5"])
def test_edtf_rejected(edtf):
    assert "date.edtf" in problems(photo_item(id="x", date={"edtf": edtf}))


def test_edtf_years():
    assert edtf_years("1936") == (1936, 1936)
    assert edtf_years("193X") == (1930, 1939)
    assert edtf_years("1911/1949~") == (1911, 1949)
    assert edtf_years("../1949") is None


@pytest.mark.parametrize("uri,ok", [
    ("http://rightsstatements.org/vocab/InC/1.0/", True),
    ("https://creativecommons.org/licenses/by-nc/4.0/", True),
    ("https://creativecommons.org/publicdomain/zero/1.0/", True),
    ("http://rightsstatements.org/vocab/Free/1.0/", False),
    ("https://creativecommons.org/licenses/by/4.0", False),
])
def test_rights_uri(uri, ok):
    data = photo_item(id="x", rights=uri)
    if ok:
        assert Item.from_dict(data).rights == uri
    else:
        assert "rights" in problems(data)


def test_embargo_needs_a_date():
    assert problems(photo_item(id="x", visibility="embargoed"))["embargo_until"].startswith("is required")
    assert "YYYY-MM-DD" in problems(photo_item(id="x", visibility="embargoed", embargo_until="明年"))["embargo_until"]


def test_duplicate_file_ids_and_paths():
    f = {"id": "f1", "path": "originals/a.jpg", "media_type": "image/jpeg", "size": 1, "sha256": "b" * 64}
    assert "used twice" in problems(photo_item(id="x", files=[f, dict(f)]))["files"]


def test_collection_validation():
    col = Collection.from_dict({"id": "photos", "title": {"zh": "老照片"}, "parent": "root"})
    assert col.label("en") == "老照片"
    with pytest.raises(ValidationError, match="parent: a collection cannot contain itself"):
        Collection.from_dict({"id": "a", "title": "甲", "parent": "a"})


def test_authority_links_on_items_and_places_are_checked():
    item = Item.from_dict({"id": "a1", "kind": "photo", "title": "x",
                           "places": [{"name": "无锡县", "id": "place-wuxi"}],
                           "about": ["person-1"], "mentions": [{"id": "person-2", "name": "荣德生", "where": "title"}]})
    assert item.places[0].id == "place-wuxi" and item.about == ["person-1"]
    assert Item.from_dict(item.to_dict()) == item
    with pytest.raises(ValidationError) as e:
        Item.from_dict({"id": "a1", "kind": "photo", "title": "x", "about": ["bad id"],
                        "places": [{"name": "p", "id": "../x"}], "mentions": [{"id": "p1"}, "x"]})
    fields = {f for f, _ in e.value.problems}
    assert {"about[0]", "places[0].id", "mentions[0]", "mentions[1]"} <= fields


def test_a_files_technical_facts_must_be_json_numbers():
    data = photo_item().to_dict() if hasattr(photo_item(), "to_dict") else dict(photo_item())
    data["files"] = [{"id": "f1", "path": "originals/a.wav", "media_type": "audio/wav", "size": 1, "sha256": "0" * 64,
                      "tech": {"redacted": True, "spans": [[5.0, float("inf")]]}}]
    with pytest.raises(ValidationError) as e:
        Item.from_dict(data)
    assert ("files[0].tech", "must not hold NaN or infinite numbers") in e.value.problems
