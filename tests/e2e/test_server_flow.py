"""Threads on a LangGraph Agent Server reviewed in the browser: the console started with `-- --server URL` on a real
`langgraph dev`, three parallel rows decided in one submit, and what the server, its tools and the console's store
saved checked from outside; a row the server raises while the page is open shows without a reload."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from langgraph_sdk import get_sync_client
from playwright.sync_api import expect

from scripts.agent_server import AgentServer
from tests.e2e.conftest import ARTIFACTS, Server, serve
from tests.e2e.helpers import TIMEOUT_MS, App, thread_cell
from tests.e2e.test_flows import (
    OTHER_PROCESS_ROW_S,
    THEN_SEQUENCE,
    THREE_SHAPES,
    Grid,
    decide_three_shapes,
    expect_banner,
    expect_rows,
    reviewer,
    shot,
    summary,
)
from tests.helpers import store_query

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
GRAPH = "canvas-shapes"  # langgraph.json's name for the demo graph


@pytest.fixture(scope="module")
def agent(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AgentServer]:
    started = AgentServer(tmp_path_factory.mktemp("agent-server")).start()
    try:
        yield started
    finally:
        started.stop()


@pytest.fixture(scope="module")
def console(agent: AgentServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    work = tmp_path_factory.mktemp("server-console")
    with serve(work, ARTIFACTS / "server-agent-server.log", args=["--", "--server", agent.url]) as running:
        yield running


def start_on(agent: AgentServer, prompt: str) -> str:
    """A new thread on the Agent Server, run until it pauses; its id."""
    client = get_sync_client(url=agent.url, api_key=None)
    thread_id = str(client.threads.create()["thread_id"])
    client.runs.wait(thread_id, GRAPH, input={"messages": [{"role": "human", "content": prompt}]})
    return thread_id


def server_state(agent: AgentServer, thread_id: str) -> Any:
    return get_sync_client(url=agent.url, api_key=None).threads.get_state(thread_id)


def pending_on_server(state: Any) -> list[str]:
    return [item["id"] for task in state.get("tasks") or [] for item in task.get("interrupts") or []]


def effects_of(agent: AgentServer, thread_id: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in agent.effects() if thread_id in line]


def test_server_threads_are_reviewed_in_the_browser(
    agent: AgentServer, console: Server, new_app: Callable[..., App]
) -> None:
    thread_id = start_on(agent, THREE_SHAPES)
    assert len(pending_on_server(server_state(agent, thread_id))) == 3
    assert effects_of(agent, thread_id) == []  # nothing drawn before a review

    name = reviewer("sam")
    app = new_app(on=console)
    app.set_reviewer(name)
    grid = Grid(app)
    circle, _, _ = decide_three_shapes(grid, "No triangles on the server")
    assert thread_cell(THREE_SHAPES) in grid.cell("thread", circle).inner_text()
    shot(app, "server-inbox-decided")
    app.click("Submit decisions")
    expect_banner(app, summary(3, 0, 0))
    expect(app.page.get_by_text("No interrupts are waiting for review.")).to_be_visible(timeout=TIMEOUT_MS)

    # The server: resumed once, nothing pending, the approved and the edited shape drawn, no triangle.
    state = server_state(agent, thread_id)
    assert pending_on_server(state) == []
    drawn = {s["shape_id"]: (s["kind"], s["color"]) for s in state["values"].get("canvas", [])}
    assert drawn == {"c1": ("circle", "red"), "s1": ("square", "yellow")}
    # The tools: one effect per approved or edited call, with the edited arguments.
    effects = effects_of(agent, thread_id)
    assert sorted((e["shape_id"], e["color"]) for e in effects) == [("c1", "red"), ("s1", "yellow")]
    # The console's store: the three decisions, applied, in one batch.
    saved = store_query(
        console.db,
        "SELECT tool, decision_type, status, reviewer, message, batch_id FROM review_decisions WHERE thread_id = ?",
        (thread_id,),
    )
    assert sorted((r[0], r[1], r[2], r[3]) for r in saved) == [
        ("create_circle", "approve", "applied", name),
        ("create_square", "edit", "applied", name),
        ("create_triangle", "reject", "applied", name),
    ]
    assert {r[1]: r[4] for r in saved}["reject"] == "No triangles on the server"
    assert len({r[5] for r in saved}) == 1

    # A thread the server pauses while the page is open: its row shows by itself, no reload, no click.
    connects = app.clock.events.count("connect")
    started = time.monotonic()
    second = start_on(agent, THEN_SEQUENCE)
    row = grid.find_row("thread", thread_cell(THEN_SEQUENCE), timeout_ms=OTHER_PROCESS_ROW_S * 1000, part=True)
    appeared = time.monotonic() - started
    expect_rows(grid, 1)
    assert grid.cell("tool", row).inner_text() == "create_circle"
    assert app.clock.events.count("connect") == connects  # the same page load
    assert effects_of(agent, second) == []
    expect(app.page.get_by_text("cannot reach the Agent Server")).to_have_count(0)
    shot(app, "server-inbox-live-row")
    print(f"a row raised on the Agent Server showed after {appeared:.2f} s (run included)")

    # The server goes away while the page is open: one line says so, above the rows it listed last.
    agent.stop()
    # Shown unlinked: a word joiner (U+2060) after "http:" keeps Markdown from making the URL a link.
    unlinked = agent.url.replace("://", ":\u2060//")
    expect(app.page.get_by_text(f"cannot reach the Agent Server at {unlinked}")).to_be_visible(timeout=TIMEOUT_MS)
    expect_rows(grid, 1)
    expect(app.page.get_by_test_id("stException")).to_have_count(0)  # the pane shows the last view it read
    assert app.clock.events.count("connect") == connects
    shot(app, "server-inbox-server-down")
