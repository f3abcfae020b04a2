"""What goes wrong with an Agent Server, as the reviewer sees it: one clear line, the rest of the Inbox keeps working.

A server killed in the middle of a listing, a server that refuses the key, a graph id it does not serve, and a
thread deleted on the server between the listing and the submit.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from langgraph_sdk import get_sync_client

from review import ReviewConsole, Settings
from review.sources import ServerSource
from review.sources.server import ServerTarget
from scripts.agent_server import AgentServer
from tests.conftest import THEN_SEQUENCE, THREE_SHAPES
from tests.helpers import store_query
from tests.server.test_server_source import start


class _Refusing(BaseHTTPRequestHandler):
    """Every request answered 401, as an Agent Server behind auth answers a missing or wrong key."""

    seen_keys: list[str | None] = []

    def _refuse(self) -> None:
        type(self).seen_keys.append(self.headers.get("x-api-key"))
        body = json.dumps({"detail": "Invalid API key"}).encode()
        self.send_response(401)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = _refuse

    def log_message(self, *args: Any) -> None:  # keep the test output quiet
        pass


@pytest.fixture
def refusing_server() -> Iterator[str]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Refusing)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()


def test_a_server_refusing_the_key_is_one_line_naming_the_fix(refusing_server: str, tmp_path: Path) -> None:
    settings = Settings.from_env(db=str(tmp_path / "r.sqlite"), servers=(refusing_server,), api_key="wrong-key")
    console = ReviewConsole.open(settings=settings)
    try:
        console.start_run(THEN_SEQUENCE).result(60)
        assert [r.tool for r in console.pending()] == ["create_circle"]  # the local rows still list
        [line] = console.health()
        assert line == f"the Agent Server at {refusing_server} refused the API key (401): check the API key"
        assert "wrong-key" not in line
        assert "wrong-key" in _Refusing.seen_keys  # the key was sent, as x-api-key
    finally:
        console.close()
    # Without a key, the hint says where one goes.
    source = ServerSource(ServerTarget(refusing_server))
    source.refresh()
    assert source.error is not None and source.error.endswith("set --api-key or LANGGRAPH_API_KEY")


def test_an_unknown_graph_id_is_one_line_listing_what_the_server_serves(
    agent_server: AgentServer, tmp_path: Path
) -> None:
    config = tmp_path / "review.json"
    config.write_text(
        json.dumps({"graphs": {}, "servers": [{"url": agent_server.url, "graph_ids": ["canvas-shapez"]}]})
    )
    start(agent_server, THREE_SHAPES)  # a paused thread of another graph id: not listed under the wrong one
    console = ReviewConsole.open(settings=Settings.from_env(db=str(tmp_path / "r.sqlite"), config=str(config)))
    try:
        assert [r for r in console.pending() if r.source.startswith("server:")] == []
        [line] = console.health()
        assert line == (
            f"graph id canvas-shapez unknown on the Agent Server at {agent_server.url} (it serves: canvas-shapes)"
        )
    finally:
        console.close()


def test_a_server_killed_mid_listing_keeps_the_last_rows_and_says_so(tmp_path: Path) -> None:
    """The listing pages through `threads.search`; the server dies between two pages."""
    server = AgentServer(tmp_path / "dying").start()
    try:
        threads = [start(server, THEN_SEQUENCE) for _ in range(3)]
        source = ServerSource(ServerTarget(server.url), page=1, timeout=5)
        assert sorted(r.thread_id for r in source.refresh()) == sorted(threads)
        assert source.wait_verified(30)  # the states read behind the listing, before the server dies
        version = source.version

        search = source.client.threads.search
        calls = {"n": 0}

        def search_then_die(*args: Any, **kwargs: Any) -> Any:
            calls["n"] += 1
            if calls["n"] == 3:  # the first page read (after the newest-thread probe): kill the server
                assert server.process is not None
                server.process.kill()
                server.process.wait(10)
            return search(*args, **kwargs)

        source.client.threads.search = search_then_die
        rows = source.refresh(full=True)
        assert calls["n"] == 3  # it died mid-listing: the page after the kill was the last asked for
        assert sorted(r.thread_id for r in rows) == sorted(threads)  # the last good rows stay
        assert source.version == version  # nothing redrawn as if the rows had changed
        assert source.error == f"cannot reach the Agent Server at {server.url}: ConnectError"
    finally:
        server.stop()


def test_a_thread_deleted_on_the_server_is_reported_and_nothing_is_recorded_applied(
    agent_server: AgentServer, tmp_path: Path
) -> None:
    db = tmp_path / "r.sqlite"
    console = ReviewConsole.open(settings=Settings.from_env(db=str(db), servers=(agent_server.url,)))
    try:
        gone = start(agent_server, THEN_SEQUENCE)
        kept = start(agent_server, THEN_SEQUENCE)
        [gone_row] = console.pending(gone)
        [kept_row] = console.pending(kept)
        get_sync_client(url=agent_server.url, api_key=None).threads.delete(gone)

        items = [
            {"thread_id": t, "row_id": r.row_id, "decision": {"type": "approve"}}
            for t, r in ((gone, gone_row), (kept, kept_row))
        ]
        result = console.submit(items, "ana")
        # A batch with a row that cannot be decided is refused whole, saying which and why: nothing was sent.
        assert result.exit_code == 2 and not result.applied
        [refused] = result.invalid
        assert (refused.thread_id, refused.row_id) == (gone, gone_row.row_id)
        where = f"the Agent Server at {agent_server.url}"
        assert refused.error == f"not pending: thread {gone} is not found on {where} (deleted?)"
        assert store_query(db, "SELECT count(*) FROM review_decisions")[0][0] == 0
        listed = {r.thread_id for r in console.pending()}
        assert kept in listed and gone not in listed  # gone from the Inbox; the other row stays

        # The rest of the batch, sent again without the deleted thread's row, goes through.
        again = console.submit(items[1:], "ana")
        assert again.exit_code == 0 and [t for t, _ in again.applied] == [kept]
        saved = store_query(db, "SELECT thread_id, status FROM review_decisions")
        assert [tuple(r) for r in saved] == [(kept, "applied")]
        assert [json.loads(e)["shape_id"] for e in agent_server.effects() if gone in e] == []
    finally:
        console.close()


def test_a_batch_for_a_server_that_went_away_is_refused_with_the_reason_and_nothing_is_lost(tmp_path: Path) -> None:
    server = AgentServer(tmp_path / "leaving").start()
    db = tmp_path / "r.sqlite"
    console = ReviewConsole.open(settings=Settings.from_env(db=str(db), servers=(server.url,)))
    try:
        thread_id = start(server, THEN_SEQUENCE)
        [circle] = console.pending(thread_id)
        server.stop()
        console.servers.refresh()
        assert [r.row_id for r in console.pending(thread_id)] == [circle.row_id]  # the last rows stay listed
        [line] = console.source_health()
        assert line.startswith(f"cannot reach the Agent Server at {server.url}")
        assert console.health(sources=False) == []

        item = {"thread_id": thread_id, "row_id": circle.row_id, "decision": {"type": "approve"}}
        result = console.submit([item], "ana")
        assert result.exit_code == 2 and not result.applied
        [refused] = result.invalid
        assert refused.error.startswith(f"not sent: cannot reach the Agent Server at {server.url}")
        assert store_query(db, "SELECT count(*) FROM review_decisions")[0][0] == 0  # no claim left behind
    finally:
        console.close()
        server.stop()
