"""Searches that found nothing (search.queries) on both dialects, asked by many at once: every
asking counted, the table still bounded."""
from search.queries import ZeroResults
from tests.helpers import together


def test_the_same_query_asked_at_once_is_counted_every_time(database):
    queries = ZeroResults(database, keep=3)

    def ask(n):
        for i in range(25):
            queries.record("惠山泥人")
            queries.record(f"other {n} {i}")
    assert together(ask, range(4)) == [] and queries.top(1)[0][:2] == ("惠山泥人", 100)
    assert queries.total()[0] <= 3
