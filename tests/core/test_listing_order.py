"""The Inbox's listing is kept in order by splicing the threads that changed (review/inbox.py): whatever the
sequence of changes, it equals the listing sorted anew, and splicing K threads never re-sorts the rest."""

from __future__ import annotations

import random
from unittest import mock

import pytest

from review.contract import PendingInterrupt
from review.inbox import SPLICE_LIMIT, Inbox, _Known, sort_listing


def _rows(thread_id: str, raised_at: str, count: int) -> tuple[PendingInterrupt, ...]:
    return tuple(
        PendingInterrupt(thread_id, f"{thread_id}-{n}", f"{thread_id}-{n}", None, "t", {}, "", ("approve",), raised_at)
        for n in range(count)
    )


def _inbox() -> Inbox:
    inbox = Inbox.__new__(Inbox)  # the listing's bookkeeping only: no store, no graphs
    storage = mock.MagicMock(read_only=True)
    graphs = mock.MagicMock()
    graphs.__iter__.return_value = iter(())
    Inbox.__init__(inbox, storage, graphs)
    return inbox


@pytest.mark.parametrize("seed", range(8))
def test_the_spliced_listing_equals_a_fresh_sort_after_any_changes(seed: int) -> None:
    rnd = random.Random(seed)
    inbox = _inbox()
    seq = 0
    for round_ in range(60):
        changed = rnd.choice([1, 2, 5, SPLICE_LIMIT + 5]) if round_ else 300
        with inbox._lock:
            for _ in range(changed):
                seq += 1
                thread_id = f"t{rnd.randrange(400):03d}"
                # the same thread may come back with another raised_at (a new pause), fewer rows, or none
                rows = _rows(thread_id, f"2026-12-05T0{rnd.randrange(10)}", rnd.choice([0, 1, 3]))
                inbox._remember(thread_id, _Known(seq, rows, True))
            listed = list(inbox._current_listing())
            expected = sort_listing(inbox._rows.values())
        assert listed == expected


def test_a_few_changes_are_spliced_not_sorted_anew() -> None:
    inbox = _inbox()
    with inbox._lock:
        for n in range(1000):
            inbox._remember(f"t{n:04d}", _Known(1, _rows(f"t{n:04d}", f"2026-{n:04d}", 3), True))
        inbox._current_listing()
        with mock.patch("review.inbox.sorted", side_effect=AssertionError("sorted anew"), create=True):
            for n in (5, 500, 999):
                inbox._remember(f"t{n:04d}", _Known(2, _rows(f"t{n:04d}", "2027", 1), True))
            listing = inbox._current_listing()
    assert [row.thread_id for row in listing[-3:]] == ["t0005", "t0500", "t0999"]
    assert len(listing) == 997 * 3 + 3
