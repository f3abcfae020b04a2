"""The plain listing the console is measured and checked against: `get_state` on every thread.

No cache, no triggers, no prefilter: every thread id in the checkpoint table, each read with
`graph.get_state`, mapped to rows by the review contract and ordered like the inbox (oldest
thread first, then by thread id; a thread's rows in the order its checkpoint lists them).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from review.contract import PendingInterrupt, rows_from_interrupt
from review.layout import last_tool_calls, layout_warnings

DEMO_GRAPH_ID = "canvas-shapes"
_THREADS = "SELECT DISTINCT thread_id FROM checkpoints WHERE checkpoint_ns = ''"


def thread_ids(source: Any) -> list[str]:
    """Every thread with a root checkpoint; `source` is a sqlite3 connection or a console's storage."""
    rows = source.query(_THREADS) if hasattr(source, "query") else source.execute(_THREADS).fetchall()
    return [row[0] for row in rows]


def thread_rows(graph: Any, thread_id: str, graph_id: str = DEMO_GRAPH_ID) -> list[PendingInterrupt]:
    """One thread's rows by `get_state`, always decoded: the baseline and the truth.

    The thread's graph is the one its latest checkpoint's metadata names (a console of one graph,
    `graph_id`, claims threads that name none); rows of a thread another graph started are blocked.
    """
    snapshot = graph.get_state({"configurable": {"thread_id": thread_id}})
    named = (snapshot.metadata or {}).get("graph_id")
    blocked = None if named in (None, graph_id) else f"started by graph {named!r}, which this console has not loaded"
    calls = last_tool_calls(snapshot.values)
    warnings = layout_warnings(snapshot, {"tools"})
    return [
        replace(row, graph_id=graph_id if blocked is None else named, blocked=blocked, warning=warnings.get(item.id))
        for item in snapshot.interrupts
        for row in rows_from_interrupt(thread_id, item.id, item.value, item.response_schema, snapshot.created_at, calls)
    ]


def listing(graph: Any, source: Any, graph_id: str = DEMO_GRAPH_ID) -> list[PendingInterrupt]:
    """Every pending row of every thread, read with `get_state` one thread at a time."""
    rows_by_thread = (thread_rows(graph, thread_id, graph_id) for thread_id in thread_ids(source))
    threads = [rows for rows in rows_by_thread if rows]
    threads.sort(key=lambda rows: (rows[0].raised_at or "", rows[0].thread_id))
    return [row for rows in threads for row in rows]
