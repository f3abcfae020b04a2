"""The Inbox page under AppTest: the batch it sends for given editor state, checked against the database."""

from __future__ import annotations

import re
from typing import Any

import pytest
from streamlit.testing.v1 import AppTest

from review import ReviewConsole
from tests.app.conftest import alerts, click, details, editor_frame, run, set_edits, submit, threads_shown
from tests.conftest import THEN_SEQUENCE, THREE_SHAPES
from tests.helpers import APPROVE, batch
from ui import inbox, inbox_view

SUBMIT = "inbox_submit"


def seed(console: ReviewConsole, prompt: str = THREE_SHAPES) -> str:
    return console.start_run(prompt).result(timeout=30).thread_id


def decisions(console: ReviewConsole) -> dict[tuple[str | None, str], dict[str, Any]]:
    """Recorded decisions by (tool, shape id before), from the audit table."""
    return {
        (e.tool, (e.args_before or {}).get("shape_id")): {
            "reviewer": e.reviewer,
            "decision": e.decision,
            "args_after": e.args_after,
            "message": e.message,
            "status": e.status,
        }
        for e in console.audit()
    }


def spy_submit(monkeypatch: pytest.MonkeyPatch, console: ReviewConsole) -> list[list[dict[str, Any]]]:
    calls: list[list[dict[str, Any]]] = []
    original = console.submit_batch

    def submit_batch(items: Any, reviewer: str) -> Any:
        items = list(items)
        calls.append(items)
        return original(items, reviewer)

    monkeypatch.setattr(console, "submit_batch", submit_batch)
    return calls


def test_rows_show_every_pending_tool_call_readably(app: AppTest, console: ReviewConsole) -> None:
    thread_id = seed(console)
    frame = editor_frame(run(app))
    assert list(frame.columns) == list(inbox.COLUMNS)
    assert frame["tool"].tolist() == ["create_circle", "create_square", "create_triangle"]
    assert frame["arguments"].tolist() == [
        "shape_id=c1, color=red",
        "shape_id=s1, color=blue",
        "shape_id=t1, color=green",
    ]
    assert frame["thread"].tolist() == ["Create a red circle…"] * 3  # its request, short
    assert threads_shown(app) == [thread_id] * 3
    assert all(re.fullmatch(r"<1m|\d+m", w) for w in frame["waiting"])  # minutes: the page ticks every 20 s
    assert frame["decision"].isna().all()


def test_one_submit_sends_each_rows_decision_for_its_own_interrupt(
    app: AppTest, app_console: ReviewConsole, console: ReviewConsole, monkeypatch: pytest.MonkeyPatch
) -> None:
    thread_id = seed(console)
    calls = spy_submit(monkeypatch, app_console)
    run(app)
    assert app.button(key=SUBMIT).proto.type == "secondary"  # nothing decided: nothing to send
    app.session_state["reviewer"] = "alice"
    set_edits(
        app,
        {
            0: {"decision": "approve"},
            1: {"edited arguments": "color=yellow"},  # no decision + edited arguments = edit
            2: {"decision": "reject", "message": "no triangles today"},
        },
    )
    run(app)
    assert app.button(key=SUBMIT).proto.type == "primary"  # now the page's main action
    submit(app)

    assert len(calls) == 1 and len(calls[0]) == 3  # the whole batch in ONE call
    assert decisions(console) == {
        ("create_circle", "c1"): {
            "reviewer": "alice",
            "decision": "approve",
            "args_after": None,
            "message": None,
            "status": "applied",
        },
        ("create_square", "s1"): {
            "reviewer": "alice",
            "decision": "edit",
            "args_after": {"shape_id": "s1", "color": "yellow"},
            "message": None,
            "status": "applied",
        },
        ("create_triangle", "t1"): {
            "reviewer": "alice",
            "decision": "reject",
            "args_after": None,
            "message": "no triangles today",
            "status": "applied",
        },
    }
    assert console.thread(thread_id).canvas == [
        {"shape_id": "c1", "kind": "circle", "color": "red"},
        {"shape_id": "s1", "kind": "square", "color": "yellow"},
    ]
    assert alerts(app, "success") == ["Applied 3 · conflicts 0 · refused 0 · new interrupts 0 (1 thread)"]
    [line] = details(app)
    assert re.fullmatch(
        rf"«Create a red circle c1, a blue… · \d+s» \({thread_id[:8]}\): 3 applied, 0 conflicts, 0 new interrupts", line
    )
    assert len(app.data_editor) == 0 and "No interrupts are waiting for review." in alerts(app, "info")
    assert app.session_state[inbox.STATE_DRAFT] == {}


def test_undecided_rows_stay_pending_and_keep_their_ids(app: AppTest, console: ReviewConsole) -> None:
    thread_id = seed(console)
    before = {r.tool: r.interrupt_id for r in console.pending()}
    run(app)
    app.session_state["reviewer"] = "alice"
    set_edits(app, {1: {"decision": "approve"}})
    run(app)
    submit(app)
    assert alerts(app, "success") == ["Applied 1 · conflicts 0 · refused 0 · new interrupts 0 (1 thread)"]
    assert details(app)[0].endswith(f"({thread_id[:8]}): 1 applied, 0 conflicts, 0 new interrupts")
    assert {r.tool: r.interrupt_id for r in console.pending()} == {
        "create_circle": before["create_circle"],
        "create_triangle": before["create_triangle"],
    }
    assert editor_frame(app)["tool"].tolist() == ["create_circle", "create_triangle"]


def test_no_reviewer_name_sends_nothing_and_keeps_the_draft(app: AppTest, console: ReviewConsole) -> None:
    seed(console)
    run(app)
    set_edits(app, {0: {"decision": "approve"}})
    run(app)
    click(app, SUBMIT)
    assert alerts(app, "warning") == ["Enter your name in the sidebar before sending decisions"]
    assert console.audit() == []
    assert len(console.pending()) == 3
    assert editor_frame(app)["decision"].tolist() == ["approve", None, None]

    app.sidebar.text_input(key="reviewer").input("  carol  ")
    run(app)
    assert alerts(app, "warning") == []  # the gate message goes once a name is there
    submit(app)
    assert [(e.reviewer, e.tool, e.decision) for e in console.audit()] == [("carol", "create_circle", "approve")]


def test_a_bad_row_stays_drafted_with_its_reason_and_the_good_rows_are_applied(
    app: AppTest, console: ReviewConsole
) -> None:
    thread_id = seed(console)
    run(app)
    app.session_state["reviewer"] = "alice"
    bad = {"decision": "edit", "edited arguments": "color=not-a-colour"}
    set_edits(app, {0: {"decision": "approve"}, 1: bad, 2: {"decision": "reject", "message": "no triangles"}})
    run(app)
    submit(app)
    # The good rows are applied: recorded, and the checkpoint holds the approved circle (the triangle rejected).
    assert {(e.tool, e.decision, e.status) for e in console.audit()} == {
        ("create_circle", "approve", "applied"),
        ("create_triangle", "reject", "applied"),
    }
    assert console.thread(thread_id).canvas == [{"shape_id": "c1", "kind": "circle", "color": "red"}]
    # The bad one is still pending and still in the draft as typed, its reason on its row and in the banner.
    [square] = console.pending(thread_id)
    assert square.tool == "create_square"
    entry = app.session_state[inbox.STATE_DRAFT][inbox.row_key(square)]
    assert (entry["decision"], entry["edited"]) == ("edit", "color=not-a-colour")
    [warning] = [line for line in alerts(app, "warning") if line.startswith("Applied")]
    total, said, row = warning.split("\n")
    assert total == "Applied 2 · conflicts 0 · refused 1 · new interrupts 0 (1 thread)"
    assert said == "1 row not sent, still in your draft: fix and submit again"
    assert row.startswith("create_square(shape_id=s1, color=blue) in «Create a red circle c1, a blue… · ")
    assert "'not-a-colour' is not a colour" in row
    run(app)
    [status] = editor_frame(app)["status"].tolist()
    assert "not a colour" in status

    # Fixed, it is sent on its own.
    set_edits(app, {0: {"edited arguments": "color=#00aa00"}})
    run(app)
    submit(app)
    assert ("create_square", "edit", "applied") in {(e.tool, e.decision, e.status) for e in console.audit()}
    assert console.pending(thread_id) == []


def test_all_or_nothing_sends_nothing_when_a_row_is_refused(
    app: AppTest, app_console: ReviewConsole, console: ReviewConsole, monkeypatch: pytest.MonkeyPatch
) -> None:
    seed(console)
    calls = spy_submit(monkeypatch, app_console)
    run(app)
    app.session_state["reviewer"] = "alice"
    set_edits(app, {0: {"decision": "approve"}, 1: {"decision": "edit", "edited arguments": "color=not-a-colour"}})
    app.checkbox(key=inbox_view.ALL_OR_NOTHING).check()
    run(app)
    assert app.button(key=SUBMIT).proto.type == "secondary"  # nothing would be sent: not the primary action
    click(app, SUBMIT)
    [error] = alerts(app, "error")
    total, reason = error.split("\n")
    assert total == (
        "Applied 0 · conflicts 0 · refused 1 · new interrupts 0 — nothing was sent: fix the refused row(s) and "
        "submit again"
    )
    assert reason.startswith("create_square(shape_id=s1, color=blue) in «Create a red circle c1, a blue… · ")
    assert "'not-a-colour' is not a colour" in reason
    assert calls == [] and console.audit() == [] and len(console.pending()) == 3
    status = editor_frame(app)["status"].tolist()
    assert "not a colour" in status[1] and status[0] == "" and status[2] == ""


@pytest.mark.parametrize(
    ("edits", "error"),
    [
        ({"edited arguments": "color"}, "'color' is not key=value"),
        ({"decision": "edit"}, "an edit needs edited arguments"),
        ({"decision": "approve", "message": "why"}, "a message is only sent with reject"),
        ({"message": "just a note"}, "choose a decision"),
    ],
)
def test_a_row_the_page_cannot_turn_into_a_decision_is_not_sent_and_the_others_are(
    app: AppTest,
    app_console: ReviewConsole,
    console: ReviewConsole,
    monkeypatch: pytest.MonkeyPatch,
    edits: dict[str, str],
    error: str,
) -> None:
    seed(console)
    calls = spy_submit(monkeypatch, app_console)
    run(app)
    app.session_state["reviewer"] = "alice"
    set_edits(app, {0: {"decision": "approve"}, 1: edits})
    run(app)
    submit(app)
    assert [[item["decision"] for item in call] for call in calls] == [[{"type": "approve"}]]  # the circle alone
    [banner] = [line for line in alerts(app, "warning") if line.startswith("Applied")]
    lines = banner.split("\n")
    assert lines[0] == "Applied 1 · conflicts 0 · refused 1 · new interrupts 0 (1 thread)"
    assert error in lines[2] and lines[2].startswith("create_square(shape_id=s1, color=blue)")
    run(app)
    assert error in editor_frame(app)["status"][0]  # the square, first of the rows left


def test_tool_and_thread_filters_and_bulk_approve_touch_only_shown_rows(app: AppTest, console: ReviewConsole) -> None:
    three = seed(console)
    sequence = seed(console, THEN_SEQUENCE)
    run(app)
    assert len(editor_frame(app)) == 4

    app.multiselect(key=inbox.TOOL_FILTER).set_value(["create_circle"])
    run(app)
    assert editor_frame(app)["tool"].tolist() == ["create_circle", "create_circle"]
    app.multiselect(key=inbox.THREAD_FILTER).set_value([sequence])
    run(app)
    assert threads_shown(app) == [sequence]
    assert editor_frame(app)["thread"][0] == "Draw a red circle…"
    app.multiselect(key=inbox.THREAD_FILTER).set_value([])
    run(app)

    click(app, "inbox_approve_all")
    assert editor_frame(app)["decision"].tolist() == ["approve", "approve"]
    app.multiselect(key=inbox.TOOL_FILTER).set_value([])
    run(app)
    assert editor_frame(app)["decision"].tolist() == ["approve", None, None, "approve"]

    app.session_state["reviewer"] = "dave"
    submit(app)
    assert {(e.thread_id, e.tool, e.decision) for e in console.audit()} == {
        (three, "create_circle", "approve"),
        (sequence, "create_circle", "approve"),
    }
    assert alerts(app, "success") == ["Applied 2 · conflicts 0 · refused 0 · new interrupts 1 (2 threads)"]
    assert sorted(line.split(" (", 1)[1] for line in details(app)) == sorted(
        [
            f"{three[:8]}): 1 applied, 0 conflicts, 0 new interrupts",
            f"{sequence[:8]}): 1 applied, 0 conflicts, 1 new interrupt",
        ]
    )
    # The resumed "then" run raised its next step: it is in the table already, undecided.
    frame = editor_frame(app)
    assert sorted(zip(threads_shown(app), frame["tool"], strict=True)) == sorted(
        [(three, "create_square"), (three, "create_triangle"), (sequence, "create_square")]
    )
    assert frame["decision"].isna().all()


def test_reject_all_shown_in_one_thread(app: AppTest, console: ReviewConsole) -> None:
    three = seed(console)
    other = seed(console)
    run(app)
    app.multiselect(key=inbox.THREAD_FILTER).set_value([three])
    run(app)
    click(app, "inbox_reject_all")
    app.session_state["reviewer"] = "erin"
    submit(app)
    assert {(e.thread_id, e.decision) for e in console.audit()} == {(three, "reject")}
    assert console.thread(three).canvas == []
    tool_messages = [m.content for m in console.thread(three).messages if m.type == "tool"]
    assert len(tool_messages) == 3 and all(t.startswith("Rejected by the reviewer") for t in tool_messages)
    assert len(console.pending(other)) == 3


def test_rows_raised_by_another_process_appear_on_the_next_refresh(app: AppTest, console: ReviewConsole) -> None:
    run(app)
    assert len(app.data_editor) == 0
    seed(console)  # another console on the same database, like another process
    run(app)
    assert len(editor_frame(app)) == 3


def test_a_row_decided_first_by_someone_else_is_reported_as_a_conflict_naming_them(
    app: AppTest, console: ReviewConsole
) -> None:
    thread_id = seed(console)
    run(app)
    app.session_state["reviewer"] = "alice"
    set_edits(app, {0: {"decision": "approve"}, 1: {"decision": "approve"}})
    run(app)
    # bob decides the circle first, from elsewhere; alice's table drops the row on its next refresh
    circle = [r for r in console.pending() if r.tool == "create_circle"]
    assert console.submit(batch(circle, {"create_circle": APPROVE}), reviewer="bob").exit_code == 0
    run(app)
    assert editor_frame(app)["tool"].tolist() == ["create_square", "create_triangle"]
    assert editor_frame(app)["decision"].tolist() == ["approve", None]

    submit(app)
    [warning] = alerts(app, "warning")
    assert warning.startswith("Applied 1 · conflicts 1 · refused 0 · new interrupts 0 (1 thread)\n")
    assert re.search(
        r"create_circle\(shape_id=c1, color=red\) in «Create a red circle c1, a blue… · \w+»: "
        r"already decided by bob at \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC",
        warning,
    )
    assert {(e.tool, e.reviewer) for e in console.audit()} == {("create_circle", "bob"), ("create_square", "alice")}
    assert [s["shape_id"] for s in console.thread(thread_id).canvas] == ["c1", "s1"]  # the circle drawn once


def test_a_second_click_on_submit_sends_nothing_again(
    app: AppTest, app_console: ReviewConsole, console: ReviewConsole, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A double click: the first submit took the batch; the second finds nothing decided to send."""
    thread_id = seed(console)
    calls = spy_submit(monkeypatch, app_console)
    run(app)
    app.session_state["reviewer"] = "alice"
    set_edits(app, {0: {"decision": "approve"}})
    run(app)
    submit(app)
    submit(app)

    assert len(calls) == 1 and len(calls[0]) == 1
    assert any("Nothing to send" in text for text in alerts(app, "info"))
    assert [(key[0], value["status"]) for key, value in decisions(console).items()] == [("create_circle", "applied")]
    assert console.thread(thread_id).canvas == [{"shape_id": "c1", "kind": "circle", "color": "red"}]
    assert sorted(row.tool for row in console.pending(thread_id)) == ["create_square", "create_triangle"]


def test_the_banner_belongs_to_the_inbox(app: AppTest, console: ReviewConsole) -> None:
    """A submit's banner shows on the Inbox after the submit, not on other pages, and again when coming back (until
    it is dismissed)."""
    seed(console)
    run(app)
    app.session_state["reviewer"] = "uma"
    set_edits(app, {0: {"decision": "approve"}})
    run(app)
    submit(app)
    assert alerts(app, "success")
    app.switch_page("pages/audit.py")
    run(app)
    assert alerts(app, "success") == [] and alerts(app, "error") == []
    app.switch_page("app.py")
    run(app)
    assert alerts(app, "success")
    app.button(key="inbox_dismiss").click()
    run(app)
    assert alerts(app, "success") == []


def test_a_chosen_thread_keeps_its_filter_label_while_it_has_no_rows(app: AppTest, console: ReviewConsole) -> None:
    """Streamlit keeps a multiselect's value as the option's text: a chosen thread with no rows for a moment (its
    last row answered, its next not raised yet) must keep the label it was chosen by, or the choice is lost."""
    three = seed(console)
    seed(console)
    run(app)
    app.multiselect(key=inbox.THREAD_FILTER).set_value([three])
    run(app)
    picker = app.multiselect(key=inbox.THREAD_FILTER)
    chosen_label = picker.format_func(three)
    console.submit(
        batch(console.pending(three), dict.fromkeys(["create_circle", "create_square", "create_triangle"], APPROVE)),
        "ana",
    )
    run(app)
    picker = app.multiselect(key=inbox.THREAD_FILTER)
    assert picker.value == [three]
    assert picker.format_func(three) == chosen_label


def _look_script() -> None:
    """The fallback watcher's look (no serve.py route) with the store unchanged: it reruns only for the ages."""
    import time

    import streamlit as st

    from ui import inbox_view

    class Unchanged:
        def inbox_token(self) -> str:
            return "same"

    state = st.session_state
    state["runs"] = state.get("runs", 0) + 1
    inbox_view.init_state()
    state[inbox_view.STATE_TOKEN] = "same"
    drawn_ago = state.get("drawn_ago", 0.0) if state["runs"] == 1 else 0.0
    state[inbox_view.STATE_DRAWN] = time.monotonic() - drawn_ago
    inbox_view.look(Unchanged())  # type: ignore[arg-type]


@pytest.mark.parametrize(("drawn_ago", "runs"), [(5.0, 1), (25.0, 2)])
def test_an_unchanged_inbox_is_drawn_again_only_when_its_ages_are_due(drawn_ago: float, runs: int) -> None:
    """Ages in the table are in minutes and move on every AGE_TICK_SECONDS (20 s) when nothing else redrew it."""
    at = AppTest.from_function(_look_script)
    at.session_state["drawn_ago"] = drawn_ago
    at.run()
    assert not at.exception
    assert at.session_state["runs"] == runs
