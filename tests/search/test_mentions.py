"""Mentions of authority records in items' texts (search/mentions.py, storage/mentions.py):
proposed with where they occur, reviewed by staff who may see the item, a confirmed one a new
version of the item's metadata, a rejected one never proposed again, restricted text never shown."""
import pytest

from repository.access import ANONYMOUS, SYSTEM, User
from repository.errors import NotFound, PermissionDenied
from search import name_index
from search.mentions import MentionReview
from search.names import NameGroup
from search.service import Search
from search.tantivy_index import TantivyIndex
from storage.mentions import MentionStore
from tests.search.test_names import Names
from tests.search.test_service import add, ids

ARCHIVIST, ADMIN = User("ann", frozenset({"archivist"})), User("root", frozenset({"admin"}))
GROUPS = (NameGroup("person-zy", "person", "周汝桐", ("周汝桐", "鹤樵居士")),
          NameGroup("place-ht", "place", "鸿声镇", ("鸿声镇", "延祥乡")))


@pytest.fixture
def review(archive, database):
    search = Search(TantivyIndex(None), archive, names=Names(*GROUPS))
    name_index.CHECK_SECONDS, saved = 0.0, name_index.CHECK_SECONDS
    made = MentionReview(search, archive, MentionStore(database))  # the store on each dialect
    archive.listeners += [search.item_changed, made.item_changed]
    yield made
    name_index.CHECK_SECONDS = saved


def test_names_in_titles_descriptions_and_pages_are_proposed_with_where(archive, review):
    add(archive, "i1", "鸿声镇图", description={"zh": "延祥乡旧图"}, pages=["无关", "是日过周汝桐宅，见鹤樵居士。"])
    queue = review.queue(ARCHIVIST)
    by_id = {p.authority_id: p for p in queue}
    assert set(by_id) == {"person-zy", "place-ht"}
    person = by_id["person-zy"]
    assert [(p["field"], p["page"], p["name"]) for p in person.places] == [("text", 2, "周汝桐"), ("text", 2, "鹤樵居士")]
    assert "周汝桐宅" in person.places[0]["excerpt"] and person.title == "鸿声镇图"
    assert [(p["field"], p["name"]) for p in by_id["place-ht"].places] == [("title", "鸿声镇"), ("description", "延祥乡")]


def test_a_confirmed_mention_is_a_new_version_of_the_item_and_is_searched_as_a_link(archive, review):
    add(archive, "i2", "乡里见闻", pages=["是日过周汝桐宅。"])
    add(archive, "i3", "他人日记", pages=["周汝桐来访"])
    before = archive.get_item("i2", user=SYSTEM).version
    proposal = next(p for p in review.queue(ARCHIVIST) if p.item_id == "i2")
    review.confirm(proposal.id, ARCHIVIST, why="checked against the genealogy")
    record = archive.get_item("i2", user=SYSTEM)
    assert record.version == before + 1
    assert record.value.mentions == [{"id": "person-zy", "name": "周汝桐", "where": record.value.originals[0].id + " p1"}]
    last = archive.history("i2", user=SYSTEM)[-1]
    assert last.user == "ann" and last.message.endswith("checked against the genealogy")
    assert ids(review.search.search("鹤樵居士", user=ANONYMOUS)) == ["i2", "i3"]  # the confirmed link first
    assert all(p.item_id != "i2" for p in review.queue(ARCHIVIST))  # linked now: not proposed again
    with pytest.raises(NotFound):
        review.confirm(proposal.id, ARCHIVIST)


def test_a_rejected_mention_is_not_proposed_again(archive, review):
    record = add(archive, "i4", "周汝桐同名者", pages=["另一人"])
    proposal = review.queue(ARCHIVIST)[0]
    review.reject(proposal.id, ARCHIVIST)
    archive.update_item("i4", {"title": {"zh": "周汝桐同名者札记"}}, expected_version=record.version, user=SYSTEM)
    assert review.queue(ARCHIVIST) == []
    assert [p.item_id for p in review.queue(ARCHIVIST, state="rejected")] == ["i4"]


def test_only_staff_who_may_see_the_item_review_and_restricted_text_is_not_shown(archive, review):
    add(archive, "i5", "私人信札", visibility="private", pages=["周汝桐亲笔"])
    add(archive, "i6", "公开册子", pages=["鸿声镇旧事", "周汝桐密札"], page_access="private")
    for user in (ANONYMOUS, User("r", frozenset({"researcher"})), User("c", frozenset({"curator"}))):
        with pytest.raises(PermissionDenied):
            review.queue(user)
    assert {p.item_id for p in review.queue(ARCHIVIST)} == {"i6"}  # the private item is the admin's
    assert {p.item_id for p in review.queue(ADMIN)} == {"i5", "i6"}
    seen = [pl for p in review.queue(ARCHIVIST) for pl in p.places]
    assert seen and all(pl["excerpt"] is None for pl in seen)  # private pages: where, not what
    assert all(pl["excerpt"] for p in review.queue(ADMIN) for pl in p.places)
    hidden = next(p for p in review.queue(ADMIN) if p.item_id == "i5")
    with pytest.raises(NotFound):
        review.confirm(hidden.id, ARCHIVIST)


def test_a_purged_or_rebuilt_item_keeps_decisions_only_while_it_exists(archive, review):
    add(archive, "i7", "延祥乡志", pages=["无"])
    proposal = review.queue(ARCHIVIST)[0]
    review.reject(proposal.id, ARCHIVIST)
    review.store.propose("i7", {})  # proposals made again: decisions stay
    assert review.rebuild() == 1 and review.queue(ARCHIVIST) == []  # as `fangzhi mentions` does
    review.item_changed("i7", None)
    assert review.store.of_item("i7") == []


def test_a_name_inside_ordinary_words_is_not_proposed(archive, tmp_path):
    from search.name_index import NameIndex

    index = NameIndex(Names(NameGroup("person-sr", "person", "山人", ("山人",)), *GROUPS))
    index.refresh()
    assert [name for *_, name, _ids in index.find("深山人家，山人独往。")] == ["山人"]
    assert [(a, b) for a, b, *_ in index.find("深山人家，山人独往。")] == [(5, 7)]


def test_a_name_in_a_transcript_cue_is_proposed_with_its_time(archive, database):
    from search.documents import Contribution, Passage

    def cues(archive_, item):
        return Contribution(passages=[Passage("那年周汝桐来村里", file_id="f1", time=75.5, access="staff")])

    search = Search(TantivyIndex(None), archive, contributors=(cues,), names=Names(*GROUPS))
    made = MentionReview(search, archive, MentionStore(database))
    archive.listeners.append(made.item_changed)
    add(archive, "v1", "口述访谈")
    place = made.queue(ARCHIVIST)[0].places[0]
    assert (place["time"], place["access"], place["name"]) == (75.5, "staff", "周汝桐") and place["excerpt"]
    made.confirm(made.queue(ARCHIVIST)[0].id, ARCHIVIST)
    assert archive.get_item("v1", user=SYSTEM).value.mentions[0]["where"] == "f1 t=75.5"
