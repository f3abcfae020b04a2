"""First rows at once, exact rows behind (issue 23): an Agent Server's rows are listed from `threads.search` before
any thread state is read, marked unverified; the states read in the background replace them. A row from the search
alone is never decided: a stale one is refused at submit and corrected in the listing. Busy threads are listed too.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from langgraph_sdk import get_sync_client

from review import ReviewConsole, Settings
from review.sources import ServerSource
from review.sources.server import SELECT, ServerTarget
from scripts.agent_server import AgentServer
from tests.conftest import THREE_SHAPES
from tests.helpers import store_query
from tests.server.test_server_source import start

GRAPH = "canvas-shapes"


class ReadGate:
    """Holds the background readers' `get_state` calls until opened; counts the reads that completed."""

    def __init__(self, source: ServerSource) -> None:
        self.opened = threading.Event()
        self.completed = 0
        self._get_state: Callable[..., Any] = source.client.threads.get_state
        source.client.threads.get_state = self._gated

    def _gated(self, *args: Any, **kwargs: Any) -> Any:
        if threading.current_thread().name == "review-server-reader":  # a submit's own read is never held
            assert self.opened.wait(60), "the gate was never opened"
        state = self._get_state(*args, **kwargs)
        self.completed += 1
        return state

    def open(self) -> None:
        self.opened.set()


@pytest.fixture
def client(agent_server: AgentServer) -> Any:
    return get_sync_client(url=agent_server.url, api_key=None)


@pytest.fixture
def source(agent_server: AgentServer) -> Iterator[ServerSource]:
    made = ServerSource(ServerTarget(agent_server.url))
    yield made
    made.close()


def interrupt_ids(client: Any, thread_id: str) -> list[str]:
    """The thread's pending interrupt ids as its state lists them (the truth)."""
    state = client.threads.get_state(thread_id)
    return [item["id"] for task in state["tasks"] for item in task.get("interrupts") or []]


def test_first_rows_are_listed_before_any_state_is_read(
    agent_server: AgentServer, client: Any, source: ServerSource
) -> None:
    threads = [start(agent_server, THREE_SHAPES) for _ in range(3)]
    gate = ReadGate(source)

    rows = source.refresh(full=True)  # returns while every state read is held at the gate
    mine = [r for r in rows if r.thread_id in threads]
    assert gate.completed == 0
    assert len(mine) == 9 and all(r.unverified for r in mine)
    assert {r.thread_id for r in mine} == set(threads)
    for thread_id in threads:  # the search's rows are the state's rows, only not confirmed yet
        assert [r.interrupt_id for r in mine if r.thread_id == thread_id] == interrupt_ids(client, thread_id)
    assert sorted(str(r.tool) for r in mine if r.thread_id == threads[0]) == [
        "create_circle",
        "create_square",
        "create_triangle",
    ]
    assert source.owns(threads[0]) and source.request(threads[0]) is None  # named once its state is read
    version = source.version

    gate.open()
    assert source.wait_verified(60)
    verified = [r for r in source.rows() if r.thread_id in threads]
    assert gate.completed >= 3 and not any(r.unverified for r in verified)
    assert [r.row_id for r in verified] == [r.row_id for r in mine]
    assert source.request(threads[0]) == THREE_SHAPES
    assert source.version > version  # the marks changed: an open Inbox redraws
    assert source.stats.verified_seconds is not None and source.stats.verified_seconds >= source.stats.seconds


def test_a_stale_search_row_is_refused_at_submit_and_corrected_in_the_listing(
    agent_server: AgentServer, client: Any, tmp_path: Path
) -> None:
    """A search taken before another client's split resume still names the answered interrupt: it is listed
    unverified, refused when submitted (the submit reads the state), and replaced by the state's rows."""
    db = tmp_path / "r.sqlite"
    console = ReviewConsole.open(settings=Settings.from_env(db=str(db), servers=(agent_server.url,)))
    try:
        submitted, corrected = start(agent_server, THREE_SHAPES), start(agent_server, THREE_SHAPES)
        stale = client.threads.search(status="interrupted", limit=1000, select=SELECT)
        answered = {}
        for thread_id in (submitted, corrected):  # another client answers the first call (a split resume)
            first = interrupt_ids(client, thread_id)[0]
            client.runs.wait(thread_id, GRAPH, command={"resume": {first: {"type": "approve"}}})
            answered[thread_id] = first
        [source] = console.servers.sources
        assert source.wait_verified(60)  # what the console read as it opened, before the search goes stale
        source.client.threads.search = _answering_stale(source.client.threads.search, stale)
        gate = ReadGate(source)

        source.refresh(full=True)
        listed = {(r.thread_id, r.interrupt_id): r for r in source.rows()}
        for thread_id, interrupt_id in answered.items():
            assert listed[(thread_id, interrupt_id)].unverified  # the stale row, shown as not yet read

        stale_row = listed[(submitted, answered[submitted])]
        item = {"thread_id": submitted, "row_id": stale_row.row_id, "decision": {"type": "approve"}}
        result = console.submit([item], "ana")
        assert result.exit_code == 2 and not result.applied
        [refused] = result.invalid
        assert refused.error == "not pending: unknown interrupt id, or already answered (stale)"
        assert store_query(db, "SELECT count(*) FROM review_decisions")[0][0] == 0  # nothing claimed
        circles = [e for e in agent_server.effects() if submitted in e and '"c1"' in e]
        assert len(circles) == 1  # the other client's approval only: nothing ran twice
        # The submit's read corrected that thread at once; the other one waits for its background read.
        assert _listed(source, submitted) == (interrupt_ids(client, submitted), False)
        assert _listed(source, corrected)[0] == [answered[corrected], *interrupt_ids(client, corrected)]

        gate.open()
        assert source.wait_verified(60)
        assert _listed(source, corrected) == (interrupt_ids(client, corrected), False)
        assert _listed(source, submitted) == (interrupt_ids(client, submitted), False)
    finally:
        console.close()


def test_a_busy_thread_with_a_run_queued_behind_its_interrupt_is_listed(
    agent_server: AgentServer, client: Any, source: ServerSource
) -> None:
    thread_id = start(agent_server, THREE_SHAPES)
    pending = interrupt_ids(client, thread_id)
    queued = client.runs.create(  # a run that waits 10 minutes before it starts: the thread is "busy" meanwhile
        thread_id, GRAPH, command={"resume": {pending[0]: {"type": "approve"}}}, after_seconds=600
    )
    try:
        assert client.threads.get(thread_id)["status"] == "busy"
        interrupted = client.threads.search(status="interrupted", limit=1000, select=["thread_id"])
        assert thread_id not in {t["thread_id"] for t in interrupted}  # what a search for paused threads misses

        source.refresh(full=True)
        assert source.wait_verified(60)
        rows = [r for r in source.rows() if r.thread_id == thread_id]
        assert [r.interrupt_id for r in rows] == pending and not any(r.unverified for r in rows)
    finally:
        client.runs.cancel(thread_id, queued["run_id"])


def _answering_stale(search: Callable[..., Any], stale: list[dict[str, Any]]) -> Callable[..., Any]:
    """`threads.search` that answers the paused-thread listing with a page taken earlier (now stale)."""

    def searching(*args: Any, **kwargs: Any) -> Any:
        if kwargs.get("status") == "interrupted":
            return stale if kwargs.get("offset", 0) == 0 else []
        if kwargs.get("status") == "busy":
            return []
        return search(*args, **kwargs)

    return searching


def _listed(source: ServerSource, thread_id: str) -> tuple[list[str], bool]:
    """The thread's listed interrupt ids, and whether any of its rows is unverified."""
    rows = [r for r in source.rows() if r.thread_id == thread_id]
    return [r.interrupt_id for r in rows], any(r.unverified for r in rows)
