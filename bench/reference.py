"""The plain listing the console is measured and checked against: `get_state` on every thread.

No cache, no triggers, no prefilter: every thread id in the checkpoint table, each read with
`graph.get_state`, mapped to rows by the review contract and ordered like the inbox (oldest
thread first, then by thread id; a thread's rows in the order its checkpoint lists them).
"""

from __future__ import annotations

from typing import Any

from review.contract import PendingInterrupt
from review.inbox import read_state

_THREADS = "SELECT DISTINCT thread_id FROM checkpoints WHERE checkpoint_ns = ''"


def thread_ids(source: Any) -> list[str]:
    """Every thread with a root checkpoint; `source` is a sqlite3 connection or a console's storage."""
    rows = source.query(_THREADS) if hasattr(source, "query") else source.execute(_THREADS).fetchall()
    return [row[0] for row in rows]


def thread_rows(graph: Any, thread_id: str) -> list[PendingInterrupt]:
    """One thread's rows by `get_state`, always decoded: the baseline and the truth."""
    return read_state(graph, thread_id)


def listing(graph: Any, source: Any) -> list[PendingInterrupt]:
    """Every pending row of every thread, read with `get_state` one thread at a time."""
    threads = [rows for rows in (thread_rows(graph, thread_id) for thread_id in thread_ids(source)) if rows]
    threads.sort(key=lambda rows: (rows[0].raised_at or "", rows[0].thread_id))
    return [row for rows in threads for row in rows]
