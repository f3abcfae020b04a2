"""The console on a LangGraph Agent Server: rows from thread state, one resume per thread, errors as one line."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from langgraph_sdk import get_sync_client

from review import ReviewConsole, Settings
from review.console import change_token_reader
from scripts.agent_server import AgentServer
from scripts.pg_cluster import free_port
from tests.conftest import THEN_SEQUENCE, THREE_SHAPES


def start(server: AgentServer, prompt: str) -> str:
    client = get_sync_client(url=server.url, api_key=None)
    thread_id = str(client.threads.create()["thread_id"])
    client.runs.wait(thread_id, "canvas-shapes", input={"messages": [{"role": "human", "content": prompt}]})
    return thread_id


@pytest.fixture
def remote(agent_server: AgentServer, tmp_path: Path) -> Iterator[ReviewConsole]:
    console = ReviewConsole.open(settings=Settings.from_env(db=str(tmp_path / "r.sqlite"), servers=(agent_server.url,)))
    yield console
    console.close()


def comparable(row: Any) -> tuple[Any, ...]:
    return (row.tool, row.args, row.description, row.allowed_decisions, row.payload_kind, row.graph_id)


def test_three_parallel_shapes_are_three_rows_decided_in_one_batch(
    agent_server: AgentServer, remote: ReviewConsole, tmp_path: Path
) -> None:
    thread_id = start(agent_server, THREE_SHAPES)
    rows = remote.pending(thread_id)
    assert [r.tool for r in rows] == ["create_circle", "create_square", "create_triangle"]
    assert {r.source for r in rows} == {f"server:{agent_server.url}"}
    assert len({r.interrupt_id for r in rows}) == 3

    # The same scenario on the local graph lists the same rows.
    local = ReviewConsole.open(tmp_path / "local.sqlite")
    try:
        job = local.start_run(THREE_SHAPES)
        local_rows = job.result(60).new_pending
        assert [comparable(r) for r in local_rows] == [comparable(r) for r in rows]
    finally:
        local.close()

    by_tool = {r.tool: r for r in rows}
    items = [
        {"thread_id": thread_id, "row_id": by_tool["create_circle"].row_id, "decision": {"type": "approve"}},
        {
            "thread_id": thread_id,
            "row_id": by_tool["create_square"].row_id,
            "decision": {
                "type": "edit",
                "edited_action": {"name": "create_square", "args": {"shape_id": "s1", "color": "green"}},
            },
        },
        {
            "thread_id": thread_id,
            "row_id": by_tool["create_triangle"].row_id,
            "decision": {"type": "reject", "message": "no"},
        },
    ]
    result = remote.submit(items, "ana")
    assert len(result.applied) == 3 and not result.conflicts and not result.errors
    effects = [json.loads(line) for line in agent_server.effects() if thread_id in line]
    assert sorted((e["shape_id"], e["color"]) for e in effects) == [("c1", "red"), ("s1", "green")]
    assert all(e["key"].startswith(f"{thread_id}/") for e in effects)  # the idempotency keys reached the tools
    audit = {e.tool: (e.decision, e.status) for e in remote.audit(thread_id=thread_id)}
    assert audit == {
        "create_circle": ("approve", "applied"),
        "create_square": ("edit", "applied"),
        "create_triangle": ("reject", "applied"),
    }
    assert remote.pending(thread_id) == []


def test_the_next_interrupt_appears_after_approving(agent_server: AgentServer, remote: ReviewConsole) -> None:
    thread_id = start(agent_server, THEN_SEQUENCE)
    [circle] = remote.pending(thread_id)
    result = remote.submit([{"thread_id": thread_id, "row_id": circle.row_id, "decision": {"type": "approve"}}], "ana")
    assert [r.tool for r in result.new_pending] == ["create_square"]
    [square] = remote.pending(thread_id)
    assert square.tool == "create_square"

    # Its last row answered, the thread is still the server's: its Thread page reads the server's state.
    done = remote.submit([{"thread_id": thread_id, "row_id": square.row_id, "decision": {"type": "approve"}}], "ana")
    assert done.exit_code == 0 and remote.pending(thread_id) == []
    view = remote.thread(thread_id)
    assert view.exists and [(s["shape_id"], s["kind"]) for s in view.canvas] == [("c1", "circle"), ("s1", "square")]


def test_a_second_resume_of_the_same_rows_is_a_conflict_not_a_second_run(
    agent_server: AgentServer, remote: ReviewConsole, tmp_path: Path
) -> None:
    thread_id = start(agent_server, THEN_SEQUENCE)
    [circle] = remote.pending(thread_id)
    other = ReviewConsole.open(settings=Settings.from_env(db=str(tmp_path / "o.sqlite"), servers=(agent_server.url,)))
    try:
        item = {"thread_id": thread_id, "row_id": circle.row_id, "decision": {"type": "approve"}}
        first = remote.submit([item], "ana")
        second = other.submit([item], "bo")  # its own store: only the server can tell it someone answered
    finally:
        other.close()
    assert len(first.applied) == 1
    assert not second.applied
    effects = [line for line in agent_server.effects() if thread_id in line and '"c1"' in line]
    assert len(effects) == 1


def test_an_unreachable_server_is_one_line_and_local_rows_still_list(tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    console = ReviewConsole.open(settings=Settings.from_env(db=str(tmp_path / "r.sqlite"), servers=(url,)))
    try:
        job = console.start_run(THEN_SEQUENCE)
        job.result(60)
        assert [r.tool for r in console.pending()] == ["create_circle"]
        [line] = console.health()
        assert line.startswith(f"cannot reach the Agent Server at {url}")
    finally:
        console.close()


def test_the_page_token_is_the_change_routes_token_with_a_server(agent_server: AgentServer, tmp_path: Path) -> None:
    """With a polling server set, the route adds the servers' versions; the page's token must add the same."""
    settings = Settings.from_env(db=str(tmp_path / "t.sqlite"), servers=(agent_server.url,))
    console = ReviewConsole.open(settings=settings, watch=True)
    try:
        read = change_token_reader(settings)
        before = console.inbox_token()
        assert "|servers=" in before and read() == before
        start(agent_server, THREE_SHAPES)
        console.servers.refresh()
        # The server's background readers may move its version once more between two reads: both settle on it.
        deadline = time.monotonic() + 30
        while read() != console.inbox_token() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert read() == console.inbox_token() != before
    finally:
        console.close()


def test_an_edit_of_a_server_row_is_checked_against_the_schema_its_interrupt_carries(
    agent_server: AgentServer, tmp_path: Path
) -> None:
    """A server row is checked with the JSON Schema its interrupt carries, not with a local graph's tools, even
    one of the same graph id (the demo graph is loaded here too; a pydantic check would word errors otherwise)."""
    db = tmp_path / "r.sqlite"
    config = tmp_path / "servers.json"
    config.write_text(json.dumps({"servers": [{"url": agent_server.url}]}))
    console = ReviewConsole.open(settings=Settings.from_env(db=str(db), config=str(config)))
    try:
        assert console.graphs.ids == ["canvas-shapes"]
        thread_id = start(agent_server, THEN_SEQUENCE)
        [circle] = console.pending(thread_id)
        assert circle.args_schema is not None and circle.args_schema["required"] == ["shape_id", "color"]

        def edit(**args: Any) -> Any:
            decision = {"type": "edit", "edited_action": {"name": "create_circle", "args": args}}
            return console.submit([{"thread_id": thread_id, "row_id": circle.row_id, "decision": decision}], "ana")

        for args, reason in [
            ({"shape_id": "c 1", "color": "red"}, "shape_id: 'c 1' does not match"),
            ({"color": "red"}, "shape_id is a required property"),
            ({"shape_id": "c1", "color": "red", "size": 3}, "unknown argument(s) size"),
        ]:
            refused = edit(**args)
            assert refused.exit_code == 2, refused.to_dict()
            assert reason in refused.invalid[0].error
        assert [r.row_id for r in console.pending(thread_id)] == [circle.row_id]  # nothing was sent
        assert [e for e in agent_server.effects() if thread_id in e] == []

        assert edit(shape_id="c9", color="green").exit_code == 0
        [effect] = [json.loads(e) for e in agent_server.effects() if thread_id in e]
        assert (effect["shape_id"], effect["color"]) == ("c9", "green")
    finally:
        console.close()


def test_the_periodic_check_drops_deleted_threads_without_reading_every_state(
    agent_server: AgentServer, tmp_path: Path
) -> None:
    from review.sources import ServerSource
    from review.sources.server import ServerTarget

    threads = [start(agent_server, THEN_SEQUENCE) for _ in range(3)]
    source = ServerSource(ServerTarget(agent_server.url), full_every=0.0)  # every refresh after the first checks
    source.refresh(full=True)
    assert source.wait_verified(30)
    assert set(threads) <= {r.thread_id for r in source.rows()}
    get_sync_client(url=agent_server.url, api_key=None).threads.delete(threads[0])
    source.refresh()
    assert source.wait_verified(30)
    assert source.stats.kind == "reconcile"
    assert source.stats.states_read == 0  # nothing new or changed: no get_state at all
    listed = {r.thread_id for r in source.rows()}
    assert threads[0] not in listed and set(threads[1:]) <= listed
    new = start(agent_server, THEN_SEQUENCE)
    source.refresh()
    assert source.wait_verified(30)
    assert source.stats.states_read == 1 and new in {r.thread_id for r in source.rows()}
    source.close()


def test_a_server_only_console_works_from_its_first_command(
    agent_server: AgentServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`python -m review --server URL pending` on an empty folder: the local store (claims, audit) is created and
    named on stderr, and the server's rows are listed (it used to say "no review database: start a run first")."""
    from review.cli import main

    thread_id = start(agent_server, THEN_SEQUENCE)
    db = tmp_path / "fresh" / "review.sqlite"
    capsys.readouterr()
    assert main(["--db", str(db), "--server", agent_server.url, "pending", "--thread", thread_id]) == 0
    out, err = capsys.readouterr()
    assert [row["tool"] for row in json.loads(out)] == ["create_circle"]
    assert err.strip() == f"created the console's store (claims, audit) at {db}"
    assert db.exists()
    assert main(["--db", str(tmp_path / "typo.sqlite"), "pending"]) == 2  # no server named: still never created
    assert not (tmp_path / "typo.sqlite").exists()
