"""The Thread page links a traced run to its LangSmith trace (REVIEW_TRACE_URL), under AppTest; no network."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from graph.agent import start_input
from tests.app.conftest import run
from tests.conftest import THREE_SHAPES
from tests.insights.test_traces import LANGSMITH, traced_run
from ui.console import open_console


@pytest.mark.parametrize("traced", [True, False], ids=["traced", "untraced"])
def test_the_thread_page_links_the_run_to_its_trace(
    app: AppTest, app_db: Path, monkeypatch: pytest.MonkeyPatch, traced: bool
) -> None:
    monkeypatch.setenv("REVIEW_TRACE_URL", LANGSMITH)
    console = open_console(str(app_db.resolve()))
    run_id = str(uuid.uuid4())
    if traced:
        traced_run(console, "t-traced", run_id)
    else:
        console.graph.invoke(start_input(THREE_SHAPES), {"configurable": {"thread_id": "t-traced"}})
    run(app)
    app.session_state["thread_id"] = "t-traced"
    app.switch_page("pages/thread.py")
    run(app)
    buttons = [(b.proto.label, b.proto.url) for b in app.get("link_button")]
    if traced:
        url = f"https://smith.langchain.com/o/org-1/projects/p/proj-1/r/{run_id}?trace_id={run_id}"
        assert buttons == [("LangSmith trace", url)]
    else:
        assert buttons == []
