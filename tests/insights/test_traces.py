"""Trace links (both backends): a row's run in LangSmith from the run's own metadata, an Agent Server's thread in
Studio, the settings that shape them; no network."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from graph.agent import start_input
from review import PendingInterrupt, ReviewConsole, Settings
from review.settings import parse_arguments
from review.traces import TraceLink, links
from tests.conftest import THREE_SHAPES

LANGSMITH = "https://smith.langchain.com/o/org-1/projects/p/proj-1/r/{run_id}?trace_id={run_id}"


def traced_run(console: ReviewConsole, thread_id: str, run_id: str) -> None:
    """A run as a traced caller (or an Agent Server) makes it: its ids in the run's metadata, which LangGraph keeps in
    every checkpoint of the run."""
    config = {"configurable": {"thread_id": thread_id}, "metadata": {"run_id": run_id, "thread_id": thread_id}}
    console.graph.invoke(start_input(THREE_SHAPES), config)


def test_a_row_links_to_its_runs_langsmith_trace(db_path: Path | str) -> None:
    console = ReviewConsole.open(db_path, settings=Settings(trace_url=LANGSMITH))
    try:
        run_id = str(uuid.uuid4())
        traced_run(console, "traced", run_id)
        untraced = console.start_run(THREE_SHAPES).result(timeout=30).thread_id
        [row, *_] = console.pending("traced")
        url = f"https://smith.langchain.com/o/org-1/projects/p/proj-1/r/{run_id}?trace_id={run_id}"
        assert console.row_links(row) == [TraceLink("LangSmith trace", url)]
        assert console.trace_links(untraced) == []  # its run left no run id: no link rather than a wrong one
    finally:
        console.close()
    plain = ReviewConsole.open(db_path)  # REVIEW_TRACE_URL unset: trace links are off
    try:
        assert plain.trace_links("traced") == []
    finally:
        plain.close()


def test_a_thread_template_needs_no_run_id(db_path: Path | str) -> None:
    template = "https://smith.langchain.com/o/org-1/projects/p/proj-1/t/{thread_id}"
    console = ReviewConsole.open(db_path, settings=Settings(trace_url=template))
    try:
        thread_id = console.start_run(THREE_SHAPES).result(timeout=30).thread_id
        [link] = console.trace_links(thread_id)
        assert link.url == f"https://smith.langchain.com/o/org-1/projects/p/proj-1/t/{thread_id}"
    finally:
        console.close()


def test_an_agent_server_thread_opens_in_studio() -> None:
    row = PendingInterrupt(
        "t 1", "r", "r", None, "create_circle", {}, "", ("approve",), None, source="server:http://127.0.0.1:2024"
    )
    settings = Settings()
    [studio] = links(settings.trace_url, settings.studio_url, row.thread_id, None, row.source)
    assert studio == TraceLink(
        "Studio", "https://smith.langchain.com/studio/thread/t%201?baseUrl=http%3A%2F%2F127.0.0.1%3A2024"
    )
    assert links(None, settings.studio_url, "t", None, None) == []  # a local graph's thread has no Studio view


def test_ids_cannot_reshape_the_url() -> None:
    [link] = links(LANGSMITH, None, "t", {"run_id": "../../x?y=1#z"}, None)
    assert link.url.endswith("/r/..%2F..%2Fx%3Fy%3D1%23z?trace_id=..%2F..%2Fx%3Fy%3D1%23z")


def test_the_templates_are_settings_with_a_variable_and_a_flag() -> None:
    chosen = parse_arguments(["--trace-url", LANGSMITH], prog="t", env={})
    assert chosen.trace_url == LANGSMITH
    studio = "https://studio.internal/thread/{thread_id}?base={server_url}"
    assert Settings.from_env({"REVIEW_STUDIO_URL": studio}).studio_url == studio
    with pytest.raises(ValueError, match=r"names \{project\}: a template may name \{run_id\}, \{thread_id\}"):
        parse_arguments(["--trace-url", "https://x/{project}/{run_id}"], prog="t", env={})
    with pytest.raises(ValueError, match="is not a link template"):
        Settings.from_env({"REVIEW_TRACE_URL": "javascript:alert(1)"})
