"""The review card's context under AppTest: the preview of the decisions' effect, one draft shared with the table."""

from __future__ import annotations

import re
import time

from streamlit.testing.v1 import AppTest

from review import ReviewConsole
from tests.app.conftest import alerts, click, editor_frame, run, set_edits, submit
from tests.app.test_card import click_row
from tests.conftest import CLEAR, THREE_SHAPES
from ui import card, inbox, keys


def field(key: str, group: str, name: str) -> str:
    """The widget key of a card's form field (`arg` or `answer`): ui/schema_form.py under the card's prefix."""
    return f"{card.widget_key(key, group)}.{name}"


def seed(console: ReviewConsole, prompt: str = THREE_SHAPES) -> str:
    return console.start_run(prompt).result(timeout=30).thread_id


def pick(at: AppTest, tool: str) -> str:
    """Show the card of `tool`'s row, as a click on it does; that key."""
    rendered = at.session_state[inbox.STATE_RENDERED]
    key = rendered[editor_frame(at)["tool"].tolist().index(tool)]
    click_row(at, key)
    run(at)
    return key


def texts(at: AppTest) -> list[str]:
    return [t.value for t in at.text]


def preview(at: AppTest) -> str:
    [canvas] = [h.value for h in at.html if 'aria-label="Preview' in h.value]
    return canvas


def test_an_edit_in_the_table_shows_its_diff_and_the_preview_ghosts_new_shapes(
    app: AppTest, console: ReviewConsole
) -> None:
    seed(console)
    run(app)
    set_edits(app, {0: {"decision": "approve"}, 1: {"edited arguments": "color=yellow"}, 2: {"decision": "reject"}})
    run(app)
    assert app.session_state[inbox.STATE_CARD] == app.session_state[inbox.STATE_RENDERED][2]  # the row edited last
    key = pick(app, "create_square")
    assert "color:\n    blue\n  → yellow" in texts(app)  # the edit, argument by argument
    assert app.text_input(key=field(key, "arg", "color")).value == "yellow"  # the table's edit, in its field
    canvas = preview(app)
    # Approved and edited shapes drawn, ghosted (dashed, "new"); the rejected triangle absent.
    assert re.search(r'data-shape-id="c1" data-kind="circle" data-fill="red" data-preview="new"', canvas)
    assert re.search(r'data-shape-id="s1" data-kind="square" data-fill="yellow" data-preview="new"', canvas)
    assert "t1" not in canvas and "dashed" in canvas


def test_a_decision_made_on_the_card_is_the_tables_and_the_tables_is_the_cards(
    app: AppTest, console: ReviewConsole
) -> None:
    thread_id = seed(console)
    run(app)
    app.session_state["reviewer"] = "pam"
    key = pick(app, "create_triangle")
    app.text_area(key=card.widget_key(key, "message")).input("no triangles")
    run(app)
    app.button(key=card.widget_key(key, "decide:reject")).click()
    run(app)
    assert app.session_state[inbox.STATE_DRAFT][key]["decision"] == "reject"
    assert editor_frame(app)["decision"].tolist() == [None, None, "reject"]
    assert editor_frame(app)["message"].tolist()[2] == "no triangles"
    # ...and an edit typed in the table shows in the card's fields, its Edit button chosen.
    set_edits(app, {1: {"edited arguments": "color=green"}})
    run(app)
    square = pick(app, "create_square")
    assert app.text_input(key=field(square, "arg", "color")).value == "green"
    assert app.button(key=card.widget_key(square, "decide:edit")).proto.type == "primary"

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
    assert shortcuts["Next"][1].endswith(f"({keys.NEXT_ROW})")
    assert {label for label in shortcuts} >= {"Inbox", "New run", "Thread", "Audit"}
    click(app, "card_next")
    assert app.session_state[inbox.STATE_CARD] == app.session_state[inbox.STATE_RENDERED][1]


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
