"""The Agent Server behind the `Source` protocol: a run started through it, and the console routing by thread."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

from review import ReviewConsole, Settings
from review.sources import ServerSource
from scripts.agent_server import AgentServer
from tests.conftest import THREE_SHAPES


def test_a_run_started_through_the_source_pauses_on_the_server_and_is_its_thread(
    agent_server: AgentServer, tmp_path: Path
) -> None:
    console = ReviewConsole.open(settings=Settings.from_env(db=str(tmp_path / "r.sqlite"), servers=(agent_server.url,)))
    try:
        [source] = console.servers.sources
        thread_id = str(uuid.uuid4())
        chunks: list[dict[str, Any]] = []
        run_input = {"messages": [{"role": "human", "content": THREE_SHAPES}]}
        source.start(thread_id, run_input, graph_id="canvas-shapes", token="", keys={}, on_chunk=chunks.append)
        assert any("__interrupt__" in chunk for chunk in chunks)  # progress streamed up to the pause
        assert console.sources.for_thread(thread_id) is source
        assert console.sources.for_thread(str(uuid.uuid4())) is console.sources.local  # nobody listed it
        rows = console.runner.read(thread_id)
        assert sorted(str(r.tool) for r in rows) == ["create_circle", "create_square", "create_triangle"]
        assert {r.source for r in rows} == {source.source}
        assert not source.continues_runs and source.blocked(thread_id) is None and source.tools("canvas-shapes") == {}
        # Resumed through the console like any listed thread: the same claims, one run on the server.
        items = [{"thread_id": thread_id, "row_id": r.row_id, "decision": {"type": "approve"}} for r in rows]
        result = console.submit(items, "ann")
        assert result.exit_code == 0 and len(result.applied) == 3
        assert console.runner.read(thread_id) == []
        assert sorted(str(e.tool) for e in console.audit(thread_id=thread_id)) == sorted(str(r.tool) for r in rows)
        assert isinstance(source, ServerSource)
    finally:
        console.close()
