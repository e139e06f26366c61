"""The member registry (alliance.members) on both dialects: validation, duplicates, status; the
database file that holds the members' tokens is its owner's only."""
import stat

import pytest

from alliance.members import Member, Members
from repository.errors import Conflict, NotFound, ValidationError
from tests.helpers import build_on


def test_members_add_get_list_remove_and_status(database):
    members = Members(database)
    members.add(Member("west", "http://127.0.0.1:5001/oai", token="fzt_x", label_zh="西区图书馆", label_en="West"))
    west = members.get("west")
    assert west.api_url == "http://127.0.0.1:5001" and west.token == "fzt_x" and west.label("en") == "West"
    assert "token" not in west.public
    with pytest.raises(Conflict):
        members.add(Member("west", "http://example.org/oai"))
    members.add(Member("other", "https://repo.example.org/cgi/oai2", api_url=None))
    assert [m.name for m in members.list()] == ["other", "west"]
    assert members.get("other").api_url is None and members.get("other").label_zh == "other"
    updated = members.update_status("west", records=3, error="timeout", harvest_from="2026-01-01T00:00:00Z")
    assert (updated.records, updated.error, updated.harvest_from) == (3, "timeout", "2026-01-01T00:00:00Z")
    with pytest.raises(ValueError):
        members.update_status("west", token="stolen")  # only status fields
    members.remove("west")
    with pytest.raises(NotFound):
        members.get("west")
    with pytest.raises(NotFound):
        members.remove("west")


@pytest.mark.parametrize("name", ["", "West", "a/b", "../x", "x" * 64, "-x"])
def test_member_names_are_slugs(name):
    with pytest.raises(ValidationError):
        Member(name, "http://example.org/oai")


@pytest.mark.parametrize("url", ["", "ftp://x/oai", "file:///etc/passwd", "javascript:alert(1)", "http://"])
def test_member_addresses_are_http(url):
    with pytest.raises(ValidationError):
        Member("m", url)


def test_composition_root_builds_members(tmp_path):
    fz = build_on(tmp_path)
    fz.members.add(Member("east", "http://127.0.0.1:9/oai"))
    assert build_on(tmp_path).members.get("east").oai_url == "http://127.0.0.1:9/oai"
    assert stat.S_IMODE((tmp_path / "fangzhi.sqlite3").stat().st_mode) == 0o600  # it holds the tokens
