"""The Inbox's detail pane under AppTest: context before a decision, the preview of its effect, one shared draft."""

from __future__ import annotations

import re
import time

from streamlit.testing.v1 import AppTest

from review import ReviewConsole
from tests.app.conftest import alerts, click, editor_frame, run, set_edits, shown_text, submit
from tests.conftest import CLEAR, THREE_SHAPES
from ui import inbox, inbox_view, keys


def seed(console: ReviewConsole, prompt: str = THREE_SHAPES) -> str:
    return console.start_run(prompt).result(timeout=30).thread_id


def pick(at: AppTest, tool: str) -> str:
    """Show the row of `tool` in the pane (its picker lists the shown rows, by row key); that key."""
    rendered = at.session_state[inbox.STATE_RENDERED]
    key = rendered[editor_frame(at)["tool"].tolist().index(tool)]
    at.selectbox(key=inbox_view.PANE_PICK).set_value(key)
    run(at)
    return key


def texts(at: AppTest) -> list[str]:
    return [t.value for t in at.text]


def preview(at: AppTest) -> str:
    [canvas] = [h.value for h in at.html if 'aria-label="Preview' in h.value]
    return canvas


def test_the_pane_gives_the_request_history_description_and_json_arguments(
    app: AppTest, console: ReviewConsole
) -> None:
    thread_id = seed(console)
    run(app)
    assert [s.value for s in app.subheader] == ["Details"]
    pick(app, "create_square")
    assert THREE_SHAPES in texts(app)  # the thread's request
    assert any(t.startswith("Agent planned 3 tool call(s): ") for t in texts(app))  # a short history
    assert "Draw a blue square 's1' on the canvas." in texts(app)  # the interrupt's description
    assert [c.value for c in app.code] == ['{\n  "shape_id": "s1",\n  "color": "blue"\n}']
    heading = next(m for m in app.markdown if "create\\_square" in m.value)
    assert shown_text(heading.help) == f"Thread {thread_id}, interrupt {console.pending(thread_id)[1].interrupt_id}"


def test_an_edit_in_the_table_shows_its_diff_and_the_preview_ghosts_new_shapes(
    app: AppTest, console: ReviewConsole
) -> None:
    seed(console)
    run(app)
    set_edits(app, {0: {"decision": "approve"}, 1: {"edited arguments": "color=yellow"}, 2: {"decision": "reject"}})
    run(app)
    # The pane follows the row edited last... pick the square to see its diff.
    pick(app, "create_square")
    [diff, arguments] = [c.value for c in app.code]  # the edit first, then the arguments as they are
    assert arguments == '{\n  "shape_id": "s1",\n  "color": "blue"\n}'
    assert '-  "color": "blue"' in diff and '+  "color": "yellow"' in diff
    canvas = preview(app)
    # Approved and edited shapes drawn, ghosted (dashed, "new"); the rejected triangle absent.
    assert re.search(r'data-shape-id="c1" data-kind="circle" data-fill="red" data-preview="new"', canvas)
    assert re.search(r'data-shape-id="s1" data-kind="square" data-fill="yellow" data-preview="new"', canvas)
    assert "t1" not in canvas and "dashed" in canvas


def test_a_decision_made_in_the_pane_is_the_tables_and_is_sent(app: AppTest, console: ReviewConsole) -> None:
    thread_id = seed(console)
    run(app)
    app.session_state["reviewer"] = "pam"
    key = pick(app, "create_triangle")
    [form] = app.get("form")
    form.radio[0].set_value("reject")
    form.text_input(key=next(w.key for w in form.text_input if w.label == "Message (with reject)")).input(
        "no triangles"
    )
    form.button[0].click()  # "Use this decision"
    run(app)
    assert app.session_state[inbox.STATE_DRAFT][key]["decision"] == "reject"
    assert editor_frame(app)["decision"].tolist() == [None, None, "reject"]
    assert editor_frame(app)["message"].tolist()[2] == "no triangles"
    # ...and an edit typed in the table shows in the pane's form.
    set_edits(app, {1: {"edited arguments": "color=green"}})
    run(app)
    pick(app, "create_square")
    [form] = app.get("form")
    assert form.radio[0].value == "edit"
    assert [w.value for w in form.text_input if w.label == "Edited arguments"] == ["color=green"]

    submit(app)
    assert alerts(app, "success") == ["Applied 2 · conflicts 0 · refused 0 · new interrupts 0 (1 thread)"]
    assert {(e.tool, e.decision, e.message) for e in console.audit(thread_id=thread_id)} == {
        ("create_triangle", "reject", "no triangles"),
        ("create_square", "edit", None),
    }


def test_clear_canvas_previews_what_its_confirmation_removes(app: AppTest, console: ReviewConsole) -> None:
    thread_id = seed(console, "Draw a red circle c1, then clear the canvas")
    for _ in range(2):  # the circle drawn, then clear_canvas's first question approved
        rows = console.pending(thread_id)
        items = [{"thread_id": r.thread_id, "row_id": r.row_id, "decision": {"type": "approve"}} for r in rows]
        assert console.submit(items, "x").exit_code == 0
    [confirm] = console.pending(thread_id)
    assert confirm.description.startswith("Confirm: remove 1 shape")
    run(app)
    assert 'data-shape-id="c1" data-kind="circle" data-fill="red" style' in preview(app)  # as it is
    set_edits(app, {0: {"decision": "approve"}})
    run(app)
    assert 'data-shape-id="c1" data-kind="circle" data-fill="red" data-preview="removed"' in preview(app)


def test_the_first_clear_question_says_it_asks_again(app: AppTest, console: ReviewConsole) -> None:
    seed(console, CLEAR)
    run(app)
    set_edits(app, {0: {"decision": "approve"}})
    run(app)
    assert "clear\\_canvas asks again before it removes anything" in [c.value for c in app.caption]


def test_the_rows_buttons_and_pages_have_keyboard_shortcuts_named_in_their_help(
    app: AppTest, console: ReviewConsole
) -> None:
    seed(console)
    run(app)
    shortcuts = {b.label: (b.proto.shortcut, b.help) for b in app.button if b.proto.shortcut}
    # Submit's key is a page script (ui/keys.py), not Streamlit's shortcut, whose text would join its accessible
    # name: the name stays exactly "Submit decisions"; its help still names the key (the browser test presses it).
    send = app.button(key="inbox_submit")
    assert "Submit decisions" not in shortcuts and send.label == "Submit decisions"
    assert send.help.endswith(f"({keys.SUBMIT})")
    assert shortcuts["Approve all shown"][1].endswith(f"({keys.APPROVE_ALL})")
    assert shortcuts["Reject all shown"][1].endswith(f"({keys.REJECT_ALL})")
    assert shortcuts["Next row"][1].endswith(f"({keys.NEXT_ROW})")
    assert {label for label in shortcuts} >= {"Inbox", "New run", "Thread", "Audit"}
    click(app, "pane_next")
    assert app.session_state[inbox_view.PANE_PICK] == app.session_state[inbox.STATE_RENDERED][1]


def test_an_empty_inbox_starts_the_demo_scenarios_in_one_click(app: AppTest, app_console: ReviewConsole) -> None:
    run(app)
    assert "No interrupts are waiting for review." in alerts(app, "info")
    assert [link.label for link in app.main.get("page_link")] == ["Or start a run of your own"]
    click(app, "inbox_demo")  # starts three runs in the worker and returns
    deadline = time.monotonic() + 30
    while len(app_console.pending()) < 5:
        assert time.monotonic() < deadline, "the demo runs did not pause"
        time.sleep(0.05)
    run(app)
    assert sorted(editor_frame(app)["tool"]) == sorted(
        ["create_circle", "create_square", "create_triangle", "create_circle", "clear_canvas"]
    )  # three parallel shapes, the first step of a 'then' sequence, clear_canvas's first question
    assert len(app_console.threads()) == 3
