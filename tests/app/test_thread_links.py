"""The Thread page and the Inbox, both ways (issue 20 items 5 and 6): the thread's pending rows link to the Inbox
(`/?thread=` for the thread, `/?row=` for each row), their ages are shown as the Inbox shows them, the page opens
on the thread a URL names, and a team's own graph gets no demo section (no Canvas, no Shapes)."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from review import PendingInterrupt, ReviewConsole, Settings
from tests.app.conftest import APP, run
from tests.cli.test_cli import ROOT
from tests.conftest import THEN_SEQUENCE, THREE_SHAPES
from ui.console import close_consoles
from ui.threads import pending_frame, row_link_label

SUPPORT = str(ROOT / "tests/agents/langchain_per_call.py") + ":graph"
AGE = re.compile(r"^(\d+s|\d+m \d+s)$")


def thread_page(thread_id: str | None = None, session_thread: str | None = None) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=30)
    if thread_id:
        at.query_params["thread"] = thread_id
    if session_thread:
        at.session_state["thread_id"] = session_thread
    run(at)
    at.switch_page("pages/thread.py")
    return run(at)


def inbox_links(at: AppTest) -> list[tuple[str, str]]:
    """(label, query string) of each link to the Inbox in the main area."""
    inbox = next(h for h, page in at._registered_pages.items() if str(page["script_path"]).endswith("app.py"))
    return [(link.value, link.proto.query_string) for link in at.main.page_link if link.proto.page_script_hash == inbox]


def test_pending_rows_link_to_the_inbox_by_thread_and_by_row(app: AppTest, console: ReviewConsole) -> None:
    thread_id = console.start_run(THREE_SHAPES).result(timeout=30).thread_id
    rows = console.pending(thread_id)
    at = thread_page(thread_id)
    links = inbox_links(at)
    assert links[0] == ("Review this thread in the Inbox (3 pending)", f"thread={thread_id}")
    assert sorted(links[1:]) == sorted(
        (f"Open {row.tool} in the Inbox", f"row={row.row_id}") for row in rows
    )  # one tool each: named by it
    frame = at.dataframe[1].value  # after the canvas's shapes
    assert list(frame.columns) == ["tool", "waiting", "arguments", "description", "interrupt"]
    assert all(AGE.match(age) for age in frame["waiting"]), frame["waiting"].tolist()


def test_a_thread_named_in_the_url_opens_whatever_was_open_before(app: AppTest, console: ReviewConsole) -> None:
    first = console.start_run(THREE_SHAPES).result(timeout=30).thread_id
    second = console.start_run(THEN_SEQUENCE).result(timeout=30).thread_id
    at = thread_page(first, session_thread=second)
    assert at.selectbox[0].value == first and at.query_params["thread"] == first
    assert inbox_links(at)[0][1] == f"thread={first}"


def test_a_thread_with_nothing_pending_has_no_inbox_links(app: AppTest, console: ReviewConsole) -> None:
    thread_id = console.start_run("hello there").result(timeout=30).thread_id
    at = thread_page(thread_id)
    assert inbox_links(at) == []
    assert "Nothing pending in this thread." in [c.value for c in at.caption]


@pytest.fixture
def support_and_demo(app_db: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A langgraph.json loading the demo beside a create_agent support graph."""
    config = tmp_path / "langgraph.json"
    graphs = {"canvas-shapes": str(ROOT / "graph/agent.py") + ":make_graph", "support": SUPPORT}
    config.write_text(json.dumps({"graphs": graphs}), encoding="utf-8")
    monkeypatch.setenv("REVIEW_CONFIG", str(config))
    close_consoles()
    return config


def test_an_own_graphs_thread_has_no_demo_section_even_beside_the_demo(app_db: Path, support_and_demo: Path) -> None:
    console = ReviewConsole.open(settings=Settings.from_env(db=str(app_db)))
    try:
        support = console.start_run("tidy up", graph_id="support").result(timeout=30).thread_id
        demo = console.start_run(THREE_SHAPES, graph_id="canvas-shapes").result(timeout=30).thread_id
        rows = console.pending(support)
    finally:
        console.close()
    at = thread_page(support)
    assert [h.value for h in at.subheader] == ["Pending", "Next", "Conversation", "State", "Checkpoint timeline"]
    assert len(at.html) == 0  # no canvas drawn
    assert at.dataframe[0].value["tool"].tolist() == [row.tool for row in rows]
    assert [label for label, _ in inbox_links(at)[1:]] == [f"Open {row.tool} in the Inbox" for row in rows]
    said = " ".join(c.value for c in at.main.caption).lower()
    assert "canvas" not in said and "shape" not in said

    at.selectbox[0].select(demo)
    run(at)
    assert [h.value for h in at.subheader][:2] == ["Canvas", "Shapes"]  # the demo's own thread keeps its picture


def test_own_graph_alone_no_demo_section(app_db: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REVIEW_GRAPH", SUPPORT)
    close_consoles()
    console = ReviewConsole.open(settings=Settings.from_env(db=str(app_db)))
    try:
        thread_id = console.start_run("tidy up").result(timeout=30).thread_id
    finally:
        console.close()
    at = thread_page(thread_id)
    assert "Canvas" not in [h.value for h in at.subheader] and "Shapes" not in [h.value for h in at.subheader]
    assert len(at.html) == 0


# --- the helpers ------------------------------------------------------------------------------------------


def _row(row_id: str, tool: str | None, raised_at: str | None, kind: str = "tool_approval") -> PendingInterrupt:
    return PendingInterrupt(
        thread_id="t",
        row_id=row_id,
        interrupt_id=row_id.partition("#")[0],
        tool_call_id=None,
        tool=tool,
        args={"to": "x"} if tool else {},
        description="",
        allowed_decisions=("approve",),
        raised_at=raised_at,
        payload_kind=kind,
    )


def test_ages_move_on_with_the_clock() -> None:
    raised = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
    rows = [_row("aaaaaaaa11", "send_email", raised.isoformat()), _row("bbbbbbbb22", None, None, "question")]
    assert pending_frame(rows, raised + timedelta(seconds=5))["waiting"].tolist() == ["5s", "?"]
    assert pending_frame(rows, raised + timedelta(minutes=3, seconds=4))["waiting"].tolist() == ["3m 4s", "?"]


def test_a_rows_link_names_its_tool_and_tells_apart_rows_of_the_same_tool() -> None:
    one, two = _row("aaaaaaaa11#0", "send_email", None), _row("aaaaaaaa11#1", "send_email", None)
    question = _row("cccccccc33", None, None, "question")
    rows = [one, two, question]
    assert row_link_label(question, rows) == "question"
    assert row_link_label(one, rows) == "send_email · aaaaaaaa (part 0)"
    assert row_link_label(two, rows) == "send_email · aaaaaaaa (part 1)"
    assert row_link_label(one, [one]) == "send_email"
