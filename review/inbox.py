"""Pending interrupts across all threads, read from checkpoint state.

The checkpoint is the source of truth: a thread's rows always come from `get_state().interrupts`.
What keeps it fast is choosing WHICH threads to read: the store's triggers bump a thread's `seq`
on every checkpoint or write, so a refresh re-reads only threads changed since the last one, and
skips at once those whose latest checkpoint holds no interrupt write (they cannot be paused).

Every read is remembered with the thread's `seq` taken BEFORE it, so a later read of an unchanged
thread (the submit's validation, the resume's "still pending?" check, the thread page) is served
without decoding the checkpoint again, and a refresh does not re-read a thread that this process
already read at its current `seq` (the rows a resume left pending). A remembered read is never
newer truth than a fresh one could be: any write to the thread bumps `seq`, which forces a re-read.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, replace

from review.contract import PendingInterrupt, rows_from_interrupt
from review.graphs import GraphSet
from review.layout import last_tool_calls, layout_warnings
from review.storage import Storage


def read_state(graphs: GraphSet, thread_id: str) -> list[PendingInterrupt]:
    """The pending rows of one thread, straight from its latest checkpoint (always decodes it)."""
    return read_snapshot(graphs, thread_id)[0]


def read_snapshot(graphs: GraphSet, thread_id: str) -> tuple[list[PendingInterrupt], tuple[str, ...], str | None]:
    """Pending rows, next tasks and head checkpoint id of one thread, from one `get_state` of its graph."""
    loaded, blocked = graphs.for_thread(thread_id)
    snapshot = loaded.graph.get_state({"configurable": {"thread_id": thread_id}})
    graph_id = loaded.graph_id if blocked is None else graphs.named(thread_id)
    calls = last_tool_calls(snapshot.values)
    warnings = layout_warnings(snapshot, loaded.tool_nodes) if snapshot.interrupts else {}
    rows = [
        replace(row, graph_id=graph_id, blocked=blocked, warning=warnings.get(item.id))
        for item in snapshot.interrupts
        for row in rows_from_interrupt(thread_id, item.id, item.value, item.response_schema, snapshot.created_at, calls)
    ]
    head = (snapshot.config or {}).get("configurable", {}).get("checkpoint_id") if snapshot.created_at else None
    return rows, tuple(snapshot.next), head


@dataclass(frozen=True, slots=True)
class _Known:
    """What the inbox knows of one thread: read at `seq`; `from_state` unless only the prefilter decided."""

    seq: int
    rows: tuple[PendingInterrupt, ...]
    from_state: bool


class Inbox:
    """Per-process cache of pending rows, kept equal to checkpoint state by `refresh()`."""

    def __init__(self, storage: Storage, graphs: GraphSet) -> None:
        self._storage = storage
        self._graphs = graphs
        self._refreshing = threading.Lock()  # one refresh at a time; reads never wait for one
        self._lock = threading.Lock()  # guards the fields below; held only briefly
        self._seq = 0
        self._generation: int | None = None  # of the store's change feed; a new one means a possible gap
        self._known: dict[str, _Known] = {}
        self._rows: dict[str, tuple[PendingInterrupt, ...]] = {}  # paused threads only
        self._listing: list[PendingInterrupt] | None = None  # `_rows` flattened, oldest first
        self.last_reread = 0  # changed threads seen by the last refresh (for benchmarks and tests)
        self.last_state_reads = 0  # of which decoded with get_state (the rest: prefilter or already read)

    def refresh(self) -> int:
        """Re-read the threads changed since the last refresh; return how many changed."""
        with self._refreshing:
            changes = self._storage.changes_since(self._seq)
            if self._generation is not None and changes.generation != self._generation:
                # The feed's triggers were missing or re-installed: writes may have gone unseen. Re-read all.
                with self._lock:
                    self._clear()
                changes = self._storage.changes_since(0)
            self._generation = changes.generation
            changed, paused, top = changes.changed, changes.paused, changes.top
            found: list[tuple[str, _Known]] = []
            reads = 0
            with self._lock:
                known = [(thread_id, seq, self._known.get(thread_id)) for thread_id, seq in changed]
            for thread_id, seq, before in known:
                if before is not None and before.seq >= seq and (before.from_state or thread_id not in paused):
                    continue  # read already at this seq (or later) by `read`
                if thread_id in paused:
                    reads += 1
                    found.append((thread_id, _Known(seq, tuple(read_state(self._graphs, thread_id)), True)))
                else:
                    found.append((thread_id, _Known(seq, (), False)))
            with self._lock:
                for thread_id, entry in found:
                    self._remember(thread_id, entry)
                self._seq = top
            self.last_reread = len(changed)
            self.last_state_reads = reads
            return len(changed)

    def read(self, thread_id: str) -> list[PendingInterrupt]:
        """One thread's rows from its latest checkpoint; decoded only if it changed since this inbox read it."""
        seq = self._head_seq(thread_id)
        if seq is not None:
            with self._lock:
                entry = self._known.get(thread_id)
                if entry is not None and entry.seq == seq and entry.from_state:
                    return list(entry.rows)
        rows = read_state(self._graphs, thread_id)
        if seq is not None:
            with self._lock:
                self._remember(thread_id, _Known(seq, tuple(rows), True))
        return rows

    def read_full(self, thread_id: str) -> tuple[list[PendingInterrupt], tuple[str, ...], str | None]:
        """Rows, next tasks and head checkpoint, always decoded fresh (after a run); the rows are remembered."""
        seq = self._head_seq(thread_id)
        rows, next_tasks, head = read_snapshot(self._graphs, thread_id)
        if seq is not None:
            with self._lock:
                self._remember(thread_id, _Known(seq, tuple(rows), True))
        return rows, next_tasks, head

    def rows(self, thread_id: str | None = None, *, refresh: bool = True) -> list[PendingInterrupt]:
        """Pending rows, oldest first; of one thread when `thread_id` is given."""
        if refresh:
            self.refresh()
        with self._lock:
            if thread_id is not None:
                return list(self._rows.get(thread_id, ()))
            if self._listing is None:
                threads = sorted(self._rows.values(), key=lambda rows: (rows[0].raised_at or "", rows[0].thread_id))
                self._listing = [row for rows in threads for row in rows]
            return list(self._listing)

    def forget(self) -> None:
        """Drop the cache: the next refresh re-reads every thread (a cold start)."""
        with self._refreshing, self._lock:
            self._clear()

    def _clear(self) -> None:
        """Caller holds `_lock`."""
        self._seq = 0
        self._known.clear()
        self._rows.clear()
        self._listing = None

    # --- internals (callers hold `_lock` where noted) -------------------------------------------

    def _remember(self, thread_id: str, entry: _Known) -> None:
        """Keep `entry` unless a read at a later seq is already kept. Caller holds `_lock`."""
        current = self._known.get(thread_id)
        if current is not None and (current.seq > entry.seq or (current.seq == entry.seq and current.from_state)):
            return
        self._known[thread_id] = entry
        if entry.rows:
            if self._rows.get(thread_id) != entry.rows:
                self._rows[thread_id] = entry.rows
                self._listing = None
        elif self._rows.pop(thread_id, None) is not None:
            self._listing = None

    def _head_seq(self, thread_id: str) -> int | None:
        return self._storage.head_seq(thread_id)
