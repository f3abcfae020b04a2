"""The local source behind the `Source` protocol: start, read, view and resume a thread without the runner."""

from __future__ import annotations

import uuid
from typing import Any

from review import ReviewConsole
from review.contract import resume_value
from review.validation import validate_decision
from tests.conftest import THREE_SHAPES


def test_the_local_source_starts_reads_and_resumes_a_thread_through_the_protocol(console: ReviewConsole) -> None:
    source = console.sources.local
    graph = console.graphs.default
    thread_id = uuid.uuid4().hex
    assert console.sources.for_thread(thread_id) is source  # no server listed it
    token = console.leases.acquire(thread_id, "start")
    assert token is not None
    chunks: list[dict[str, Any]] = []
    source.start(
        thread_id,
        graph.start_input(THREE_SHAPES),
        graph_id=graph.graph_id,
        token=token,
        keys={},
        on_chunk=chunks.append,
    )
    assert any("__interrupt__" in chunk for chunk in chunks)
    rows, next_tasks, head = source.read_full(thread_id)
    assert sorted(str(r.tool) for r in rows) == ["create_circle", "create_square", "create_triangle"]
    assert next_tasks and head is not None
    assert source.read(thread_id) == rows and source.view(thread_id, timeline=False).pending == rows
    assert source.continues_runs and source.blocked(thread_id) is None and source.request(thread_id) is None
    tools = source.tools(graph.graph_id)
    assert {r.tool for r in rows} <= set(tools) and source.tools("no-such-graph") == {}
    decided = [(r, resume_value(r, validate_decision(r, {"type": "approve"}, tools))) for r in rows]
    source.resume(thread_id, decided, token=token, keys={}, on_chunk=chunks.append)
    assert source.read_full(thread_id)[0] == []  # the checkpoint says every interrupt was answered
    console.leases.release(thread_id, token)
    assert source.view(thread_id).exists
