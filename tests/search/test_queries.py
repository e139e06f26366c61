"""Searches that found nothing (search.queries) on both dialects, asked by many at once: every
asking counted, the table still bounded."""
import threading

from search.queries import ZeroResults


def test_the_same_query_asked_at_once_is_counted_every_time(database):
    queries, errors = ZeroResults(database, keep=3), []

    def ask(n):
        try:
            for i in range(25):
                queries.record("惠山泥人")
                queries.record(f"other {n} {i}")
        except Exception as exc:  # noqa: BLE001 - the test reports it
            errors.append(exc)
    threads = [threading.Thread(target=ask, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == [] and queries.top(1)[0][:2] == ("惠山泥人", 100)
    assert queries.total()[0] <= 3
