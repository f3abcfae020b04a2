"""The pages on a team's own graph: a create_agent graph in a file, loaded with REVIEW_GRAPH (as `-- --graph`)."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from review import ReviewConsole, Settings
from tests.app.conftest import APP, click, editor_frame, run, set_edits
from tests.cli.test_cli import ROOT
from ui.console import close_consoles

TARGET = str(ROOT / "tests/agents/langchain_per_call.py") + ":graph"


@pytest.fixture
def own_graph(app_db: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("REVIEW_GRAPH", TARGET)
    close_consoles()
    return TARGET


def test_the_inbox_lists_and_decides_a_create_agent_graphs_calls(own_graph: str, app_db: Path) -> None:
    console = ReviewConsole.open(settings=Settings.from_env(db=str(app_db)))
    try:
        console.start_run("tidy up").result(timeout=30)
    finally:
        console.close()
    at = run(AppTest.from_file(APP, default_timeout=30))
    frame = editor_frame(at)
    assert sorted(frame["tool"].tolist()) == ["delete_file", "send_email"]
    statuses = dict(zip(frame["tool"], frame["status"], strict=True))
    assert statuses["delete_file"] == "allowed: approve, reject"  # from its $ref response_schema
    at.session_state["reviewer"] = "kim"
    rows = frame["tool"].tolist()
    set_edits(
        at, {rows.index("send_email"): {"decision": "approve"}, rows.index("delete_file"): {"decision": "reject"}}
    )
    click(at, "inbox_submit")
    after = ReviewConsole.open(settings=Settings.from_env(db=str(app_db)))
    try:
        entries = after.audit()
        assert sorted((e.tool, e.decision) for e in entries) == [("delete_file", "reject"), ("send_email", "approve")]
    finally:
        after.close()
