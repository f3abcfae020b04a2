"""Pending interrupts across all threads, read from checkpoint state.

The checkpoint is the source of truth: a thread's rows always come from `get_state().interrupts`.
What keeps it fast is choosing WHICH threads to read: the store's triggers bump a thread's `seq`
on every checkpoint or write, so a refresh re-reads only threads changed since the last one, and
skips at once those whose latest checkpoint holds no interrupt write (they cannot be paused).
"""

from __future__ import annotations

import threading
from typing import Any

from review.contract import PendingInterrupt, rows_from_interrupt
from review.store import Store

# Threads whose head checkpoint carries an interrupt write; the rest have nothing pending.
_PAUSED_SINCE = """
SELECT DISTINCT h.thread_id FROM review_thread_heads AS h
JOIN writes AS w ON w.thread_id = h.thread_id AND w.checkpoint_ns = ''
    AND w.checkpoint_id = h.checkpoint_id AND w.channel = '__interrupt__'
WHERE h.seq > ? AND h.seq <= ?
"""


def read_thread(graph: Any, thread_id: str) -> list[PendingInterrupt]:
    """The pending rows of one thread, straight from its latest checkpoint."""
    snapshot = graph.get_state({"configurable": {"thread_id": thread_id}})
    return [
        rows_from_interrupt(thread_id, item.id, item.value, item.response_schema, snapshot.created_at)
        for item in snapshot.interrupts
    ]


class Inbox:
    """Per-process cache of pending rows, kept equal to checkpoint state by `refresh()`."""

    def __init__(self, store: Store, graph: Any) -> None:
        self._store = store
        self._graph = graph
        self._lock = threading.Lock()
        self._seq = 0
        self._rows: dict[str, list[PendingInterrupt]] = {}
        self.last_reread = 0  # threads re-read by the last refresh (for benchmarks and tests)

    def refresh(self) -> int:
        """Re-read the threads changed since the last refresh; return how many were re-read."""
        with self._lock:
            with self._store.lock:
                conn = self._store.conn
                conn.execute("BEGIN")  # one read snapshot for both queries
                try:
                    changed = conn.execute(
                        "SELECT thread_id, seq FROM review_thread_heads WHERE seq > ?", (self._seq,)
                    ).fetchall()
                    top = max((row["seq"] for row in changed), default=self._seq)
                    paused = {row[0] for row in conn.execute(_PAUSED_SINCE, (self._seq, top))} if changed else set()
                finally:
                    conn.execute("COMMIT")
            for row in changed:
                thread_id = row["thread_id"]
                rows = read_thread(self._graph, thread_id) if thread_id in paused else []
                if rows:
                    self._rows[thread_id] = rows
                else:
                    self._rows.pop(thread_id, None)
            self._seq = top
            self.last_reread = len(changed)
            return len(changed)

    def rows(self, thread_id: str | None = None, *, refresh: bool = True) -> list[PendingInterrupt]:
        """Pending rows, oldest first; of one thread when `thread_id` is given."""
        if refresh:
            self.refresh()
        with self._lock:
            if thread_id is not None:
                return list(self._rows.get(thread_id, ()))
            threads = sorted(self._rows.values(), key=lambda rows: (rows[0].raised_at or "", rows[0].thread_id))
        return [row for rows in threads for row in rows]

    def forget(self) -> None:
        """Drop the cache: the next refresh re-reads every thread (a cold start)."""
        with self._lock:
            self._seq = 0
            self._rows.clear()
