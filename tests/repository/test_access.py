"""The access policy, case by case, and its SQL form checked against it."""
from datetime import date, timedelta
from itertools import product

import pytest

from repository.access import ANONYMOUS, User, can_view_file, can_view_item
from repository.model import File, Item
from tests.helpers import photo_item

TODAY = date(2026, 11, 25)
USERS = {"anonymous": ANONYMOUS, **{r: User(r, frozenset({r})) for r in
                                      ("researcher", "member", "curator", "archivist", "admin",
                                       "staff-reader", "writer")}}  # the last two: API tokens' roles
# visibility → roles that may see it (anonymous included where listed)
EVERYONE = {"anonymous", "researcher", "member", "curator", "archivist", "admin", "staff-reader", "writer"}
EXPECTED = {
    "public": EVERYONE,
    "alliance": {"member", "curator", "archivist", "admin", "staff-reader"},
    "staff": {"archivist", "admin", "staff-reader"},
    "embargoed-future": {"archivist", "admin", "staff-reader"},
    "embargoed-past": EVERYONE,
    "embargoed-today": EVERYONE,
    "private": {"admin"},
}


def make_item(case: str, **extra) -> Item:
    visibility, _, when = case.partition("-")
    embargo = {"future": TODAY + timedelta(days=1), "past": TODAY - timedelta(days=1), "today": TODAY}.get(when)
    return Item.from_dict(photo_item(id="x1", visibility=visibility,
                                     embargo_until=embargo.isoformat() if embargo else None, **extra))


@pytest.mark.parametrize("case,role", list(product(EXPECTED, USERS)))
def test_item_visibility(case, role):
    assert can_view_item(USERS[role], make_item(case), today=TODAY) == (role in EXPECTED[case])


def test_embargo_lifts_by_itself_on_its_date():
    item = make_item("embargoed-future")
    assert not can_view_item(ANONYMOUS, item, today=TODAY)
    assert can_view_item(ANONYMOUS, item, today=TODAY + timedelta(days=1))


@pytest.mark.parametrize("role", USERS)
def test_withdrawn_items_only_for_managers(role):
    item = make_item("public", withdrawn={"at": "2026-01-01", "by": "admin", "reason": "duplicate"})
    assert can_view_item(USERS[role], item, today=TODAY) == (role in ("archivist", "admin", "staff-reader"))


@pytest.mark.parametrize("access,role", list(product([None, "alliance", "staff", "private"], USERS)))
def test_file_restriction_narrows_the_item(access, role):
    item = make_item("public")
    f = File(id="f1", path="originals/a.jpg", media_type="image/jpeg", size=1, sha256="a" * 64, access=access)
    expected = role in EXPECTED[access or "public"]
    assert can_view_file(USERS[role], item, f, today=TODAY) == expected
    staff_item = make_item("staff")
    assert can_view_file(USERS[role], staff_item, f, today=TODAY) == (expected and role in EXPECTED["staff"])


@pytest.mark.parametrize("access,role", list(product([None, "alliance", "staff", "private"], USERS)))
def test_derivatives_are_as_restricted_as_their_original(access, role):
    original = File(id="f1", path="originals/a.jpg", media_type="image/jpeg", size=1, sha256="a" * 64, access=access)
    thumb = File(id="f2", path="derivatives/f1/thumbnail.jpg", media_type="image/jpeg", size=1, sha256="b" * 64,
                 role="derivative", derived_from="f1", purpose="thumbnail")
    item = make_item("public", files=[original.__dict__, thumb.__dict__])
    assert can_view_file(USERS[role], item, thumb, today=TODAY) == (role in EXPECTED[access or "public"])


@pytest.mark.parametrize("access,role", list(product([None, "alliance"], USERS)))
def test_a_recording_with_redacted_copies_is_for_staff_its_redacted_copies_are_not(access, role):
    def f(fid, path, **kw):
        return File(id=fid, path=path, media_type="audio/webm", size=1, sha256=fid[-1] * 64, **kw)

    recording = f("f1", "originals/a.wav", access=access)
    full = f("f2", "derivatives/f1/access.webm", role="derivative", derived_from="f1", purpose="access")
    wave = f("f3", "derivatives/f1/waveform.json", role="derivative", derived_from="f1", purpose="waveform")
    redacted = f("f4", "derivatives/f1/access.redacted.webm", role="derivative", derived_from="f1", purpose="access",
                 tech={"redacted": True, "spans": [[4, 8]]})
    item = make_item("public", files=[x.__dict__ for x in (recording, full, wave, redacted)])
    for file in (recording, full, wave):
        assert can_view_file(USERS[role], item, file, today=TODAY) == (role in EXPECTED["staff"])
    assert can_view_file(USERS[role], item, redacted, today=TODAY) == (role in EXPECTED[access or "public"])
    without = make_item("public", files=[x.__dict__ for x in (recording, full, wave)])
    assert can_view_file(USERS[role], without, full, today=TODAY) == (role in EXPECTED[access or "public"])


@pytest.mark.parametrize("supplements,closed", [
    ([], False),
    ([("transcript-source", {})], True),  # transcripts not read yet: they may restrict passages
    ([("transcript-source", {}), ("interview", {"redactions": 0})], False),
    ([("transcript-source", {}), ("interview", {"redactions": 2})], True),  # redacted copies not made yet
])
def test_a_recording_is_closed_while_its_restricted_passages_are_not_silenced(supplements, closed):
    recording = File(id="f1", path="originals/a.wav", media_type="audio/wav", size=1, sha256="a" * 64)
    extra = [File(id=f"s{n}", path=f"supplements/{purpose}", media_type="application/json", size=1,
                  sha256=str(n) * 64, role="supplement", purpose=purpose, access="staff", tech=tech).__dict__
             for n, (purpose, tech) in enumerate(supplements, 2)]
    item = make_item("public", files=[recording.__dict__, *extra])
    assert can_view_file(ANONYMOUS, item, recording, today=TODAY) == (not closed)
    assert can_view_file(USERS["archivist"], item, recording, today=TODAY)


def test_multiple_roles_combine():
    user = User("li", frozenset({"researcher", "member"}))
    assert can_view_item(user, make_item("alliance"), today=TODAY)
    assert not can_view_item(user, make_item("staff"), today=TODAY)


def test_catalog_query_applies_the_same_rule(archive):
    """The catalog's SQL filter lists exactly the items can_view_item allows, for every case."""
    from tests.repository.conftest import ADMIN

    archive.today = lambda: TODAY
    items = {}
    for case in EXPECTED:
        for withdrawn in (False, True):
            visibility, _, when = case.partition("-")
            record = archive.create_item(make_item(case).to_dict() | {"id": f"{case}-{int(withdrawn)}"}, user=ADMIN)
            if withdrawn:
                record = archive.withdraw_item(record.value.id, user=ADMIN, reason="test")
            items[record.value.id] = record.value
    for name, user in USERS.items():
        listed, total = archive.list_items(user=user, limit=100)
        expected = {i for i, item in items.items() if can_view_item(user, item, today=TODAY)}
        assert {i.id for i in listed} == expected, name
        assert total == len(expected)
