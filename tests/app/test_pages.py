"""Every page under AppTest: renders on an empty and a seeded database; New run, Thread and Audit behave."""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import streamlit.runtime.memory_media_file_storage as media
from streamlit.testing.v1 import AppTest
from streamlit.testing.v1.element_tree import Block, Node

from review import ReviewConsole, Settings
from tests.app import html_agent
from tests.app.conftest import APP, alerts, details, editor_frame, run, set_edits, shown_text, submit, threads_shown
from tests.conftest import THEN_SEQUENCE, THREE_SHAPES
from tests.helpers import APPROVE, batch, edit, reject
from ui.console import close_consoles

PAGES = {
    "app.py": "Inbox",  # the main script is the landing page
    "pages/new_run.py": "New run",
    "pages/thread.py": "Thread",
    "pages/audit.py": "Audit",
    "pages/insights.py": "Insights",
}


def open_page(at: AppTest, page: str) -> AppTest:
    run(at)
    if page != "app.py":
        at.switch_page(page)
        run(at)
    return at


def decided_thread(console: ReviewConsole) -> str:
    """A thread where alice approved the circle, edited the square to yellow and rejected the triangle."""
    thread_id = console.start_run(THREE_SHAPES).result(timeout=30).thread_id
    decisions = {
        "create_circle": APPROVE,
        "create_square": edit("create_square", shape_id="s1", color="yellow"),
        "create_triangle": reject("no triangles today"),
    }
    assert console.submit(batch(console.pending(thread_id), decisions), reviewer="alice").exit_code == 0
    return thread_id


def nodes(block: Block | Node) -> Iterator[Any]:
    yield block
    for child in getattr(block, "children", {}).values():
        yield from nodes(child)


NAV = ["Inbox", "New run", "Thread", "Audit", "Insights"]


def assert_sidebar(at: AppTest) -> None:
    """The shared sidebar: the five pages once each, in order, with their shortcuts, then the reviewer's name."""
    assert [button.label for button in at.sidebar.button] == NAV
    assert [button.help for button in at.sidebar.button] == [
        f"Go to {label} (Alt+{number})" for number, label in enumerate(NAV, start=1)
    ]
    assert [w.label for w in at.sidebar.text_input] == ["Reviewer name"]


@pytest.mark.parametrize("page", list(PAGES))
@pytest.mark.parametrize("seeded", [False, True], ids=["empty", "seeded"])
def test_every_page_renders_with_the_sidebar(
    app: AppTest, console: ReviewConsole, app_db: Path, page: str, seeded: bool
) -> None:
    if seeded:
        decided_thread(console)
        console.start_run(THEN_SEQUENCE).result(timeout=30)
    open_page(app, page)
    assert [t.value for t in app.title] == [PAGES[page]]
    assert_sidebar(app)
    captions = [shown_text(caption.value) for caption in app.sidebar.caption]
    assert f"Database: {app_db.resolve()}" in captions and captions[-1].startswith("Graph: "), captions


def test_a_database_that_cannot_be_opened_stops_with_the_reason(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:

    monkeypatch.setenv("REVIEW_DB", str(tmp_path))  # a directory
    close_consoles()
    at = AppTest.from_file(APP, default_timeout=30)
    run(at)
    [error] = alerts(at, "error")
    assert "it is a directory" in error and str(tmp_path) in error
    assert [t.value for t in at.title] == []  # no page ran


def test_a_missing_database_file_is_created_and_the_sidebar_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:

    missing = tmp_path / "not-there-yet" / "review.sqlite"
    monkeypatch.setenv("REVIEW_DB", str(missing))
    close_consoles()
    at = AppTest.from_file(APP, default_timeout=30)
    run(at)
    assert [t.value for t in at.title] == ["Inbox"]
    assert [shown_text(i.value) for i in at.sidebar.info] == [
        "No database was at this path: a new, empty one was created."
    ]
    assert missing.exists()
    close_consoles()  # close it before tmp_path goes


@pytest.mark.parametrize("page", [page for page in PAGES if page != "app.py"])
def test_a_first_request_for_a_page_url_runs_that_page_with_the_shared_sidebar(app: AppTest, page: str) -> None:
    """As the server does for a first request to /audit: the page runs, framed by ui.sidebar, without app.py."""
    app.switch_page(page)  # before any run
    run(app)
    assert [t.value for t in app.title] == [PAGES[page]]
    assert_sidebar(app)


def test_the_sidebar_buttons_go_to_each_page_and_the_reviewer_name_stays(app: AppTest) -> None:
    run(app)
    app.sidebar.text_input[0].input("alice")
    run(app)
    assert app.query_params["reviewer"] == ["alice"] or app.query_params["reviewer"] == "alice"
    order = [*PAGES, "app.py"]  # every page, and back to the Inbox
    for page in order[1:]:
        label = PAGES[page]
        app.sidebar.button(key=f"nav_{label.lower().replace(' ', '_')}").click()
        run(app)
        assert [t.value for t in app.title] == [label]
        assert app.sidebar.text_input[0].value == "alice"
        assert app.session_state["reviewer"] == "alice"


def test_the_reviewer_name_comes_back_from_the_url_after_a_reload(app_db: Path) -> None:
    """A reload is a new session: the name is taken from `?reviewer=` (the page keeps it there)."""
    at = AppTest.from_file(APP, default_timeout=30)
    at.query_params["reviewer"] = "bea"
    run(at)
    assert at.sidebar.text_input[0].value == "bea" and at.session_state["reviewer"] == "bea"


# --- New run ------------------------------------------------------------------------------


def test_an_example_fills_the_prompt_and_start_run_follows_the_run_until_it_pauses(
    app: AppTest, app_console: ReviewConsole
) -> None:
    open_page(app, "pages/new_run.py")
    assert [b.label for b in app.button][:3] == ["Three parallel shapes", "A 'then' sequence", "Clear the canvas"]
    app.button[0].click()
    run(app)
    assert app.text_area[0].label == "Prompt" and app.text_area[0].value == THREE_SHAPES

    next(b for b in app.button if b.label == "Start run").click()
    run(app)
    [status] = app.status
    assert (status.label, status.state) == ("Paused: 3 interrupt(s) waiting for review", "complete")
    progress = [t.value for t in status.children.values() if t.type == "text"]
    assert progress[0] == "start: run started"
    assert any("planned 3 tool calls" in line for line in progress)
    thread_id = app.session_state["thread_id"]
    assert len(app_console.pending(thread_id)) == 3
    links = {link.value: link.proto for link in app.main.page_link}
    assert set(links) == {"Review in Inbox", "Open the thread"}
    inbox_hash = next(h for h, page in app._registered_pages.items() if str(page["script_path"]).endswith("app.py"))
    assert links["Review in Inbox"].page_script_hash == inbox_hash
    assert links["Open the thread"].query_string == f"thread={thread_id}"

    app.switch_page("app.py")
    run(app)
    assert set(threads_shown(app)) == {thread_id}


@pytest.mark.parametrize(
    ("button", "label"),
    [("Clear the canvas", "Paused: 1 interrupt(s) waiting for review"), (None, "Finished")],
)
def test_a_run_that_pauses_once_or_finishes_says_so(app: AppTest, button: str | None, label: str) -> None:
    open_page(app, "pages/new_run.py")
    if button:
        next(b for b in app.button if b.label == button).click()
    else:
        app.text_area[0].input("hello there")
    run(app)
    next(b for b in app.button if b.label == "Start run").click()
    run(app)
    assert app.status[0].label == label


def test_an_empty_prompt_starts_nothing(app: AppTest, app_console: ReviewConsole) -> None:
    open_page(app, "pages/new_run.py")
    next(b for b in app.button if b.label == "Start run").click()
    run(app)
    assert alerts(app, "warning") == ["Nothing started: the prompt is empty"]
    assert app_console.threads() == [] and len(app.status) == 0


# --- Thread --------------------------------------------------------------------------------


def test_thread_page_draws_the_canvas_and_shows_the_conversation(app: AppTest, console: ReviewConsole) -> None:
    thread_id = decided_thread(console)
    other = console.start_run(THEN_SEQUENCE).result(timeout=30).thread_id
    app.query_params["thread"] = thread_id
    open_page(app, "pages/thread.py")
    assert app.selectbox[0].label == "Thread" and app.selectbox[0].value == thread_id
    # Threads named by their request's first words and their age (the id below the picker).
    assert {re.sub(r" · \d+s$", "", o) for o in app.selectbox[0].options} == {
        "Create a red circle c1, a blue…",
        "Draw a red circle c1, then a…",
    }
    assert f"Thread id: {thread_id}" in [shown_text(c.value) for c in app.caption]

    [canvas] = [h.value for h in app.html]
    assert 'data-shape-id="c1" data-kind="circle" data-fill="red"' in canvas
    assert 'data-shape-id="s1" data-kind="square" data-fill="yellow"' in canvas
    assert 'data-kind="triangle"' not in canvas and ">c1</figcaption>" in canvas and ">s1</figcaption>" in canvas
    shapes = app.dataframe[0].value
    assert shapes.to_dict("records") == [
        {"shape_id": "c1", "kind": "circle", "color": "red"},
        {"shape_id": "s1", "kind": "square", "color": "yellow"},
    ]
    headers = [h.value for h in app.subheader]
    assert {"Canvas", "Conversation", "Checkpoint timeline", "Pending"} <= set(headers)
    texts = [t.value for message in app.chat_message for t in nodes(message) if getattr(t, "type", "") == "text"]
    assert texts[0] == THREE_SHAPES
    assert "Rejected by the reviewer: no triangles today" in texts
    assert "Drew a yellow square 's1'." in texts
    # Each decision where it happened: just before the tool message it led to, with who and what.
    assert texts.index("alice approved create_circle") == texts.index("Drew a red circle 'c1'.") - 1
    assert (
        texts.index("alice edited create_square: color blue → yellow") == texts.index("Drew a yellow square 's1'.") - 1
    )
    assert (
        texts.index("alice rejected create_triangle: “no triangles today”")
        == texts.index("Rejected by the reviewer: no triangles today") - 1
    )
    captions = [shown_text(c.value) for m in app.chat_message for c in nodes(m) if getattr(c, "type", "") == "caption"]
    assert sum(c.startswith("Review · 20") and c.endswith(" UTC") for c in captions) == 3
    timeline = app.dataframe[-1].value
    assert (
        list(timeline.columns) == ["time", "step", "source", "next", "interrupts", "checkpoint"] and len(timeline) >= 3
    )

    # Another thread, chosen in the box, shows its own pending row; the choice goes to the URL.
    app.selectbox[0].select(other)
    run(app)
    assert app.query_params["thread"] == other
    pending = app.dataframe[1].value
    assert pending["tool"].tolist() == ["create_circle"]
    assert "The canvas is empty" in app.html[0].value


def test_thread_page_preselects_the_thread_the_new_run_page_started(app: AppTest, console: ReviewConsole) -> None:
    first = console.start_run(THREE_SHAPES).result(timeout=30).thread_id
    console.start_run(THEN_SEQUENCE).result(timeout=30)
    app.session_state["thread_id"] = first
    open_page(app, "pages/thread.py")
    assert app.selectbox[0].value == first


# --- Audit ---------------------------------------------------------------------------------


def test_audit_lists_decisions_filters_by_reviewer_and_downloads_csv(
    app: AppTest, console: ReviewConsole, monkeypatch: pytest.MonkeyPatch
) -> None:
    thread_id = decided_thread(console)
    other = console.start_run(THEN_SEQUENCE).result(timeout=30).thread_id
    assert console.submit(batch(console.pending(other), {"create_circle": APPROVE}), reviewer="bob").exit_code == 0
    served: list[tuple[bytes, str, str | None]] = []
    original = media.MemoryMediaFileStorage.load_and_get_id

    def load_and_get_id(self: Any, data: Any, mimetype: str, kind: Any, filename: str | None = None) -> str:
        served.append((bytes(data), mimetype, filename))
        return original(self, data, mimetype, kind, filename)

    monkeypatch.setattr(media.MemoryMediaFileStorage, "load_and_get_id", load_and_get_id)

    open_page(app, "pages/audit.py")
    log = app.dataframe[0].value
    assert list(log.columns) == ["time", "reviewer", "thread", "tool", "decision", "status"]  # the key columns
    assert sorted(zip(log["reviewer"], log["tool"], log["decision"], strict=True)) == [
        ("alice", "create_circle", "approve"),
        ("alice", "create_square", "edit"),
        ("alice", "create_triangle", "reject"),
        ("bob", "create_circle", "approve"),
    ]
    assert {re.sub(r" · \d+s$", "", t) for t in log["thread"]} == {
        "Create a red circle c1, a blue…",
        "Draw a red circle c1, then a…",
    }
    assert len(app.get("vega_lite_chart")) == 3  # decisions over time by type, by reviewer; waits

    # The rest of a row, once picked: arguments before and after, the change, the message, how long it waited.
    square = int(log.index[log["tool"] == "create_square"][0])
    app.session_state["audit_table"] = {"selection": {"rows": [square], "columns": [], "cells": []}}
    run(app)
    shown = [t.value for t in app.text]
    assert "color=blue, shape_id=s1" in shown or "shape_id=s1, color=blue" in shown
    assert "color blue → yellow" in shown
    assert any(re.fullmatch(r"\d+\.\d s before the decision", t) for t in shown)
    assert app.download_button[0].label == "Download CSV"
    data, mimetype, filename = served[-1]
    assert (mimetype, filename) == ("text/csv", "review-audit.csv")
    rows = list(csv.DictReader(io.StringIO(data.decode())))
    assert len(rows) == 4 and {r["thread_id"] for r in rows} == {thread_id, other}

    assert app.selectbox[0].label == "Reviewer" and app.selectbox[0].options == ["All reviewers", "alice", "bob"]
    app.selectbox[0].select("bob")
    run(app)
    assert app.dataframe[0].value["reviewer"].tolist() == ["bob"]
    rows = list(csv.DictReader(io.StringIO(served[-1][0].decode())))
    assert [(r["reviewer"], r["tool"], r["status"]) for r in rows] == [("bob", "create_circle", "applied")]


# --- Nothing from the agent is rendered as HTML ---------------------------------------------


def test_html_in_payloads_messages_and_state_is_shown_as_text(app_db: Path, monkeypatch: pytest.MonkeyPatch) -> None:

    monkeypatch.setenv("REVIEW_AGENT", "tests.app.html_agent:AGENT")
    close_consoles()
    hostile = ReviewConsole.open(app_db, agent="tests.app.html_agent:AGENT")
    try:
        thread_id = hostile.start_run(f"hello {html_agent.IMG}").result(timeout=30).thread_id
        at = AppTest.from_file(APP, default_timeout=30)
        at.session_state["reviewer"] = html_agent.SCRIPT
        run(at)
        frame = editor_frame(at)
        assert frame["tool"].tolist() == [html_agent.IMG]  # as text, in a canvas-drawn grid cell
        assert html_agent.SCRIPT in frame["arguments"][0]
        _assert_no_markup(at)

        set_edits(at, {0: {"decision": "reject", "message": html_agent.IMG}})
        run(at)
        submit(at)
        assert alerts(at, "success") == ["Applied 1 · conflicts 0 · refused 0 · new interrupts 0 (1 thread)"]
        assert details(at)[0].endswith(f"({thread_id[:8]}): 1 applied, 0 conflicts, 0 new interrupts")
        _assert_no_markup(at)

        for page in ("pages/thread.py", "pages/audit.py", "pages/new_run.py"):
            at.switch_page(page)
            run(at)
            _assert_no_markup(at)
        at.switch_page("pages/thread.py")
        run(at)
        [canvas] = [h.value for h in at.html]
        assert "<img" not in canvas and "<script" not in canvas and "javascript" not in canvas
        assert 'data-shape-id="&lt;img src=x onerror=alert(1)&gt;"' in canvas and 'data-fill="gray"' in canvas
        texts = [t.value for message in at.chat_message for t in nodes(message) if getattr(t, "type", "") == "text"]
        assert f"hello {html_agent.IMG}" in texts and f"{html_agent.SCRIPT} planned" in texts
        assert f"{html_agent.IMG} {html_agent.IMG}" in texts  # the tool result carrying the rejection message
    finally:
        close_consoles()
        hostile.close()


def _assert_no_markup(at: AppTest) -> None:
    """No element may carry the payload as live HTML: markdown never allows HTML, st.html only escaped text."""
    for node in nodes(at._tree):
        proto = getattr(node, "proto", None)
        if getattr(node, "type", "") == "markdown" or hasattr(proto, "allow_html"):
            assert not getattr(proto, "allow_html", False), node
            body = getattr(proto, "body", "")
            assert "<img" not in body and "<script" not in body, body
        if getattr(node, "type", "") == "html":
            assert "<img" not in node.value and "<script" not in node.value


def test_thread_page_shows_any_graphs_thread_state_as_json_and_no_canvas(
    app_db: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A functional-API thread (an `@entrypoint` taking and returning a string): pending, next, state; no canvas."""

    monkeypatch.setenv("REVIEW_GRAPH", str(Path(__file__).parents[1] / "agents/functional.py") + ":review_essay")
    close_consoles()
    console = ReviewConsole.open(settings=Settings.from_env(db=str(app_db)))
    try:
        thread_id = console.start_run("", run_input="cats").result(timeout=30).thread_id
        at = AppTest.from_file(APP, default_timeout=30)
        at.query_params["thread"] = thread_id
        open_page(at, "pages/thread.py")
        headers = [h.value for h in at.subheader]
        assert headers == ["Pending", "Next", "State", "Checkpoint timeline"]  # no canvas, no conversation yet
        assert len(at.html) == 0 and len(at.chat_message) == 0
        assert at.dataframe[0].value["description"].tolist() == ["Please provide a review"]
        assert [t.value for t in at.text] == ["review_essay — waiting for 1 pending review(s)"]
        assert "No values yet" in " ".join(shown_text(c.value) for c in at.caption)

        [row] = console.pending(thread_id)
        decision = {"type": "respond", "message": "well argued"}
        console.submit([{"thread_id": thread_id, "row_id": row.row_id, "decision": decision}], "kim")
        run(at)
        assert [h.value for h in at.subheader] == ["Pending", "Next", "Conversation", "State", "Checkpoint timeline"]
        assert json.loads(at.code[0].value) == "An essay about cats | review: well argued"
        assert "Nothing: the run has finished." in [t.value for t in at.text]
        assert len(at.dataframe[-1].value) == 2  # the timeline: input, then the entrypoint's return
    finally:
        console.close()
        close_consoles()


def test_thread_page_shows_the_demo_state_as_json_beside_its_canvas(app: AppTest, console: ReviewConsole) -> None:
    thread_id = console.start_run(THEN_SEQUENCE).result(timeout=30).thread_id
    app.query_params["thread"] = thread_id
    open_page(app, "pages/thread.py")
    assert [h.value for h in app.subheader][:4] == ["Canvas", "Shapes", "Pending", "Next"]
    [state] = [j.value for j in app.json]
    assert json.loads(state)["canvas"] == [] and [m["type"] for m in json.loads(state)["messages"]] == ["human", "ai"]
    assert app.text[0].value == "tools — waiting for 1 pending review(s)"
