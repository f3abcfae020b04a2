"""New runs on an Agent Server (issue 23 items 4, 5): `start --server URL --graph-id ID` and the New run page start a
thread on the server, follow it, and list its interrupts like a local run's; a run the console starts carries a
webhook to the console, so its end is seen without waiting for a poll."""

from __future__ import annotations

import json
import os
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import streamlit as st
from langgraph_sdk import get_sync_client
from streamlit.testing.v1 import AppTest

from review.cli import main
from review.sources import ServerSet, ServerSource
from review.sources.server import RUN_ENDED_ROUTE, ServerTarget, run_ended, serve_webhook, stop_webhook
from scripts.agent_server import AgentServer
from tests.conftest import THEN_SEQUENCE, THREE_SHAPES
from tests.server.test_server_source import start
from ui.console import close_consoles, open_console

GRAPH = "canvas-shapes"
APP = "../../app.py"  # AppTest resolves it against this file


def pending_on_server(url: str, thread_id: str) -> list[str]:
    state = get_sync_client(url=url, api_key=None).threads.get_state(thread_id)
    return [item["id"] for task in state["tasks"] for item in task.get("interrupts") or []]


def test_start_on_a_server_from_the_cli_pauses_there_and_lists_its_rows(
    agent_server: AgentServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = str(tmp_path / "r.sqlite")
    capsys.readouterr()
    assert main(["--db", db, "start", "--server", agent_server.url, "--graph-id", GRAPH, THREE_SHAPES]) == 0
    started = json.loads(capsys.readouterr().out)
    thread_id = started["thread_id"]
    rows = started["pending"]
    assert sorted(r["tool"] for r in rows) == ["create_circle", "create_square", "create_triangle"]
    assert {r["source"] for r in rows} == {f"server:{agent_server.url}"} and not any(r["unverified"] for r in rows)
    assert [r["interrupt_id"] for r in rows] == pending_on_server(agent_server.url, thread_id)  # it runs THERE
    assert [json.loads(e) for e in agent_server.effects() if thread_id in e] == []  # paused before any tool ran

    assert main(["--db", db, "--server", agent_server.url, "pending", "--thread", thread_id]) == 0
    assert [r["row_id"] for r in json.loads(capsys.readouterr().out)] == [r["row_id"] for r in rows]

    # Decided like any row of the server: the run resumes there.
    batch = tmp_path / "batch.json"
    batch.write_text(json.dumps([{"thread_id": thread_id, "row_id": r["row_id"], "decision": {"type": "approve"}}
                                 for r in rows]))  # fmt: skip
    assert main(["--db", db, "--server", agent_server.url, "decide", str(batch)]) == 0
    assert pending_on_server(agent_server.url, thread_id) == []
    assert len([e for e in agent_server.effects() if thread_id in e]) == 3


def test_start_on_a_server_names_what_it_serves_when_the_graph_id_is_unknown(
    agent_server: AgentServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = str(tmp_path / "r.sqlite")
    capsys.readouterr()
    assert main(["--db", db, "start", "--server", agent_server.url, "--graph-id", "canvas-shapez", "hi"]) == 2
    error = json.loads(capsys.readouterr().out)["error"]
    assert error == f"no Agent Server serves graph id canvas-shapez ({agent_server.url}: {GRAPH})"
    # Without --graph-id: the only graph it serves.
    assert main(["--db", db, "--server", agent_server.url, "start", THEN_SEQUENCE]) == 0
    [row] = json.loads(capsys.readouterr().out)["pending"]
    assert row["tool"] == "create_circle" and row["source"] == f"server:{agent_server.url}"


@pytest.fixture
def server_app(agent_server: AgentServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[AppTest]:
    """The app on a fresh database, reviewing the Agent Server (REVIEW_SERVER, as `-- --server URL` gives it)."""
    monkeypatch.setenv("REVIEW_DB", str(tmp_path / "app.sqlite"))
    monkeypatch.setenv("REVIEW_SERVER", agent_server.url)
    monkeypatch.delenv("REVIEW_AGENT", raising=False)
    st.cache_resource.clear()
    st.cache_data.clear()
    close_consoles()
    yield AppTest.from_file(APP, default_timeout=60)
    close_consoles()
    st.cache_resource.clear()
    st.cache_data.clear()


def run(at: AppTest) -> AppTest:
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_the_new_run_page_starts_a_run_on_the_server_and_its_rows_appear(
    agent_server: AgentServer, server_app: AppTest
) -> None:
    at = run(server_app)
    at.switch_page("pages/new_run.py")
    run(at)
    [graph] = at.selectbox
    assert graph.options == [f"{GRAPH} on {agent_server.url}", GRAPH]  # the server's first, then the console's own
    assert graph.value == f"{GRAPH} on {agent_server.url}"
    at.text_area[0].input(THREE_SHAPES)
    next(b for b in at.button if b.label == "Start run").click()
    run(at)
    [status] = at.status
    assert (status.label, status.state) == ("Paused: 3 interrupt(s) waiting for review", "complete")
    progress = [t.value for t in status.children.values() if t.type == "text"]
    assert progress[0] == f"start: run started on {agent_server.url} ({GRAPH})"
    assert progress[-1] == "end: paused: 3 interrupts waiting for review"
    thread_id = at.session_state["thread_id"]
    assert len(pending_on_server(agent_server.url, thread_id)) == 3  # the run is the server's

    # The Inbox's console (the app's own) lists them as the server's rows.
    rows = open_console(str(Path(os.environ["REVIEW_DB"]).resolve())).pending(thread_id)
    assert sorted(str(r.tool) for r in rows) == ["create_circle", "create_square", "create_triangle"]
    assert {r.source for r in rows} == {f"server:{agent_server.url}"}


# --- the webhook ----------------------------------------------------------------------------------------------


class _Route(BaseHTTPRequestHandler):
    """Stands for serve.py's RUN_ENDED_ROUTE: hands what the server posts to `run_ended`, as the route does."""

    answered: list[tuple[str, bool]] = []

    def do_POST(self) -> None:
        parts = urlsplit(self.path)
        body = json.loads(self.rfile.read(int(self.headers.get("content-length") or 0)) or b"null")
        ok = parts.path == RUN_ENDED_ROUTE and run_ended(body, (parse_qs(parts.query).get("key") or [None])[0])
        type(self).answered.append((str(body.get("thread_id") if isinstance(body, dict) else ""), bool(ok)))
        self.send_response(204 if ok else 403)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def route() -> Iterator[str]:
    """The console's run-ended route on a free port; runs started meanwhile carry a webhook to it."""
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Route)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    _Route.answered = []
    try:
        yield serve_webhook(f"http://127.0.0.1:{httpd.server_address[1]}")
    finally:
        stop_webhook()
        httpd.shutdown()
        httpd.server_close()


def test_a_run_the_console_starts_is_seen_finished_without_waiting_for_a_poll(
    webhook_server: AgentServer, route: str
) -> None:
    """Nothing polls (the poller is not started) and the stream the console follows breaks at once, as a dropped
    connection would: the run goes on on the server, and its end reaches the console through the webhook."""
    source = ServerSource(ServerTarget(webhook_server.url))
    servers = ServerSet([source], poll_seconds=3600.0)
    servers.start()  # a running console's set (the route finds it), polling once an hour
    try:
        source.refresh(full=True)
        version = source.version

        def dropped(*args: Any, **kwargs: Any) -> Any:
            raise ConnectionError("the stream was cut")

        source.client.runs.join_stream = dropped
        job = servers.start_run(source, GRAPH, THREE_SHAPES)
        with pytest.raises(Exception, match="the stream was cut"):
            job.result(60)
        deadline = time.monotonic() + 30
        while not any(r.thread_id == job.thread_id for r in source.rows()) and time.monotonic() < deadline:
            time.sleep(0.05)
        rows = [r for r in source.rows() if r.thread_id == job.thread_id]
        assert len(rows) == 3 and not any(r.unverified for r in rows)  # read from its state, no poll in between
        assert source.version > version and source.stats.kind == "full"  # no refresh since the first one
        assert (job.thread_id, True) in _Route.answered

        # The control: the same run without a webhook is not seen until a poll.
        stop_webhook()
        quiet = servers.start_run(source, GRAPH, THREE_SHAPES)
        with pytest.raises(Exception, match="the stream was cut"):
            quiet.result(60)
        client = get_sync_client(url=webhook_server.url, api_key=None)
        for run in client.runs.list(quiet.thread_id):
            client.runs.join(quiet.thread_id, run["run_id"])
        time.sleep(1.0)
        assert not any(r.thread_id == quiet.thread_id for r in source.rows())
        assert [t for t, _ in _Route.answered] == [job.thread_id]
    finally:
        servers.stop()


def test_the_route_refuses_a_call_without_the_consoles_key(route: str) -> None:
    assert run_ended({"thread_id": "t"}, "not-the-key") is False
    assert run_ended({"thread_id": "t"}, None) is False
    key = parse_qs(urlsplit(route).query)["key"][0]
    assert run_ended({"no": "thread"}, key) is False
    assert run_ended({"thread_id": "t"}, key) is True  # nobody listed it: nothing to read, but a good call


def test_a_server_that_refuses_the_webhook_still_runs_the_start_without_it(
    agent_server: AgentServer, route: str
) -> None:
    """`langgraph dev` refuses loopback webhooks by default (422, nothing started): the run starts without one."""
    source = ServerSource(ServerTarget(agent_server.url))
    servers = ServerSet([source])
    try:
        outcome = servers.start_run(source, GRAPH, THEN_SEQUENCE).result(60)
        assert [r.tool for r in outcome.new_pending] == ["create_circle"]
        assert source._webhook_refused  # remembered: the next run does not ask again
        assert _Route.answered == []
    finally:
        servers.stop()


AUTO_CIRCLES = '[[auto_approve]]\nname = "circles"\ntool = "create_circle"\nargs = { color = "*" }\n'


def test_serve_py_route_hears_the_end_of_a_run_its_console_started(webhook_server: AgentServer, tmp_path: Path) -> None:
    """The real route of `streamlit run serve.py`: its console resumes a server thread by itself (an auto-approve
    rule), the run carries the webhook, and the Agent Server's call to the route is answered 2xx (a refused or
    unreachable webhook is logged by the server as "failed to call webhook")."""
    from tests.e2e.conftest import serve

    policy = tmp_path / "policy.toml"
    policy.write_text(AUTO_CIRCLES)
    args = ["--", "--server", webhook_server.url, "--policy", str(policy)]
    with serve(tmp_path, tmp_path / "serve.log", args=args) as console:
        route = f"127.0.0.1:{urlsplit(console.url).port}{RUN_ENDED_ROUTE}?key="
        thread_id = start(webhook_server, THEN_SEQUENCE)  # another client's run: seen by polling

        def circles() -> list[str]:
            return [json.loads(e)["shape_id"] for e in webhook_server.effects() if thread_id in e]

        deadline = time.monotonic() + 60
        while not (circles() and _webhook_calls(webhook_server, route)) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert circles() == ["c1"]  # resumed by the console's rule, on the server
        assert _webhook_calls(webhook_server, route), webhook_server.tail(30)
        assert not _webhook_calls(webhook_server, route, "failed to call webhook")
        with pytest.raises(urllib.error.HTTPError) as refused:  # nobody without the key makes it read
            urllib.request.urlopen(urllib.request.Request(f"{console.url}{RUN_ENDED_ROUTE}?key=x", b"{}"))
        assert refused.value.code == 403


def _webhook_calls(server: AgentServer, route: str, what: str = "called webhook") -> list[str]:
    """The Agent Server's log lines saying it called (or `what`) a webhook to `route`."""
    return [line for line in server.log_path.read_text().splitlines() if what in line and route in line]
