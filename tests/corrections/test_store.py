"""The proposals' store (corrections.store) on both dialects: what is kept and read back, and two
reviewers deciding one proposal at once: exactly one decision is recorded."""
import threading

from corrections.store import Proposal, ProposalStore


def proposal(item="book1", proposer="ann", place="3"):
    return Proposal(item, "ocr", "f2", place, "元", "无", 2, "ab" * 32, proposer, note="第三行")


def test_proposals_are_kept_listed_counted_and_credited(database):
    store = ProposalStore(database)
    first = store.add(proposal())
    second = store.add(proposal(place="4"))
    other = store.add(proposal(item="book2", proposer="bob"))
    assert (first.id, second.id, other.id) == (1, 2, 3) and first.proposed.endswith("Z")
    assert store.get(first.id) == first and store.get(99) is None and store.get(2 ** 62) is None
    assert [p.id for p in store.list()] == [1, 2, 3] and [p.id for p in store.list(item_id="book1", limit=1, offset=1)] == [2]
    assert store.count(proposer="ann") == 2 and store.count() == 3
    assert store.decide(first, state="accepted", reviewer="cai", result_version=3)
    assert store.decide(second, state="accepted", reviewer="cai", result_version=4)
    assert store.decide(other, state="rejected", reviewer="cai", reason="原文如此")
    assert not store.decide(first, state="rejected", reviewer="dai")  # decided already
    got = store.get(first.id)
    assert (got.state, got.reviewer, got.result_version, got.reason) == ("accepted", "cai", 3, "")
    assert [p.id for p in store.list(state=None, proposer="bob")] == [3] and store.count() == 0
    assert store.credits("book1") == [("ann", 2)] and store.credits("book2") == []


def test_two_reviewers_deciding_at_once_record_one_decision(database):
    store = ProposalStore(database)
    for _ in range(10):
        p = store.add(proposal())
        start, won = threading.Barrier(2), {}

        def review(name, p=p, start=start, won=won):
            start.wait()
            won[name] = store.decide(p, state="accepted" if name == "cai" else "rejected", reviewer=name)
        threads = [threading.Thread(target=review, args=(name,)) for name in ("cai", "dai")]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert sorted(won.values()) == [False, True]
        winner = next(name for name, ok in won.items() if ok)
        assert store.get(p.id).reviewer == winner
