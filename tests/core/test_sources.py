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
    assert source.read_head(thread_id) == (rows, head)
    assert source.continues_runs and source.blocked(thread_id) is None and source.request(thread_id) is None
    tools = source.tools(graph.graph_id)
    assert {r.tool for r in rows} <= set(tools) and source.tools("no-such-graph") == {}
    decided = [(r, resume_value(r, validate_decision(r, {"type": "approve"}, tools))) for r in rows]
    source.resume(thread_id, decided, token=token, keys={}, on_chunk=chunks.append)
    assert source.read_full(thread_id)[0] == []  # the checkpoint says every interrupt was answered
    console.leases.release(thread_id, token)
    assert source.view(thread_id).exists


def test_read_head_serves_the_rows_read_at_the_current_seq_and_decodes_a_changed_thread(
    console: ReviewConsole, monkeypatch: Any
) -> None:
    import review.inbox

    source = console.sources.local
    graph = console.graphs.default
    thread_id = uuid.uuid4().hex
    token = console.leases.acquire(thread_id, "start")
    assert token is not None
    source.start(
        thread_id, graph.start_input(THREE_SHAPES), graph_id=graph.graph_id, token=token, keys={}, on_chunk=print
    )
    rows, _, head = source.read_full(thread_id)
    decoded: list[str] = []
    real = review.inbox.read_snapshot

    def counted(graphs: Any, read_id: str, *args: Any, **kwargs: Any) -> Any:
        decoded.append(read_id)
        return real(graphs, read_id, *args, **kwargs)

    monkeypatch.setattr(review.inbox, "read_snapshot", counted)
    assert source.read_head(thread_id) == (rows, head) and decoded == []  # what the submit's check read
    tools = source.tools(graph.graph_id)
    first = rows[0]
    source.resume(
        thread_id,
        [(first, resume_value(first, validate_decision(first, {"type": "approve"}, tools)))],
        token=token,
        keys={},
        on_chunk=print,
    )
    after, moved = source.read_head(thread_id)  # the thread changed (its writes, or its head): read afresh
    assert decoded == [thread_id] and first.row_id not in {r.row_id for r in after}
    assert (after, moved) == (source.read_full(thread_id)[0], source.read_full(thread_id)[2])
    console.leases.release(thread_id, token)
