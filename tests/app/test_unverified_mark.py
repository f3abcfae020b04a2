"""An Agent Server's row listed from the thread search, its state not read yet, says so in the Inbox's status
column (issue 23, item 1); once its state is read (`unverified` false) the mark is gone."""

from __future__ import annotations

from dataclasses import replace

from review.contract import PendingInterrupt
from ui.inbox import UNVERIFIED, RowContext, status_text

ROW = PendingInterrupt(
    "t1", "i1", "i1", "call-1", "refund_order", {"order": "A1"}, "", ("approve", "reject"), None, unverified=True
)


def test_a_row_from_the_search_is_marked_until_its_state_is_read() -> None:
    assert status_text(ROW, {}, RowContext()).startswith(UNVERIFIED)
    assert UNVERIFIED not in status_text(replace(ROW, unverified=False), {}, RowContext())
