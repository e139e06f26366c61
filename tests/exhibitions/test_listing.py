"""The derived list of exhibitions (exhibitions.listing) on both dialects."""
from exhibitions.listing import ExhibitionList


def test_the_list_keeps_each_exhibitions_head_and_published_version(database):
    listing = ExhibitionList(database)
    listing.put("canal", status="draft", head=1, updated="2026-01-01T00:00:00Z", published_version=None,
                published_at=None, published=None, title={"zh": "运河"})
    listing.put("tea", status="published", head=2, updated="2026-01-03T00:00:00Z", published_version=2,
                published_at="2026-01-03T00:00:00Z", published={"id": "tea", "title": {"zh": "茶"}}, title={"zh": "茶"})
    assert listing.published() == [({"id": "tea", "title": {"zh": "茶"}}, "2026-01-03T00:00:00Z")]
    listing.put("canal", status="published", head=3, updated="2026-01-05T00:00:00Z", published_version=3,
                published_at="2026-01-05T00:00:00Z", published={"id": "canal"}, title={"zh": "运河记忆"})  # replaced
    assert [e["id"] for e, _ in listing.published()] == ["canal", "tea"] and len(listing.published(limit=1)) == 1
    assert listing.all() == [
        {"id": "canal", "status": "published", "head": 3, "updated": "2026-01-05T00:00:00Z", "published_version": 3,
         "title": {"zh": "运河记忆"}},
        {"id": "tea", "status": "published", "head": 2, "updated": "2026-01-03T00:00:00Z", "published_version": 2,
         "title": {"zh": "茶"}}]
    listing.clear()
    assert listing.all() == [] and listing.published() == []
