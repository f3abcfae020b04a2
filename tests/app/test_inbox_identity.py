"""A decision belongs to an interrupt id, never to a row position, whatever the live refresh does to the rows."""

from __future__ import annotations

from streamlit.testing.v1 import AppTest

from review import ReviewConsole
from tests.app.conftest import alerts, details, editor_frame, editor_key, run, set_edits, submit, threads_shown
from tests.conftest import THEN_SEQUENCE, THREE_SHAPES
from tests.helpers import APPROVE, batch
from ui import inbox


def seed(console: ReviewConsole, prompt: str = THREE_SHAPES) -> str:
    return console.start_run(prompt).result(timeout=30).thread_id


def rerun_as_the_browser_would(at: AppTest, key: str, edited_rows: dict[int, dict[str, str]]) -> None:
    """Run again, re-sending `edited_rows` if the editor kept its key `key`.

    The browser keeps an editor's edits for as long as the editor keeps its identity and re-sends
    them, by position, with every rerun; AppTest forgets them after one run. This puts them back.
    """
    if key in at.session_state[inbox.STATE_EDITORS]:
        at.session_state[key] = {"edited_rows": edited_rows, "added_rows": [], "deleted_rows": []}
    run(at)


def table(at: AppTest) -> list[tuple[str, str, str | None]]:
    """(thread id prefix, tool, decision) of each row shown."""
    frame = editor_frame(at)
    return list(zip([t[:8] for t in threads_shown(at)], frame["tool"], frame["decision"], strict=True))


def test_decisions_follow_their_rows_when_rows_are_removed_reordered_and_added(
    app: AppTest, console: ReviewConsole
) -> None:
    s = seed(console, THEN_SEQUENCE)
    a = seed(console)
    run(app)
    assert [(t, tool) for t, tool, _ in table(app)] == [
        (s[:8], "create_circle"),
        (a[:8], "create_circle"),
        (a[:8], "create_square"),
        (a[:8], "create_triangle"),
    ]
    set_edits(app, {1: {"decision": "approve"}, 2: {"decision": "reject", "message": "not this square"}})
    run(app)
    first_key = editor_key(app)

    # Elsewhere: bob approves the sequence's circle, so that thread moves behind A with its next step,
    # and a new thread C starts.
    assert console.submit(batch(console.pending(s), {"create_circle": APPROVE}), reviewer="bob").exit_code == 0
    c = seed(console)
    # A late edit from the browser, made on the frame it still showed: position 3 was A's triangle there.
    set_edits(
        app,
        {
            1: {"decision": "approve"},
            2: {"decision": "reject", "message": "not this square"},
            3: {"decision": "approve"},
        },
    )
    run(app)

    # The run the edit caused keeps the rows it was typed into (other rows would be a new grid in the browser,
    # closing the cell the reviewer may be typing into next); the answered circle says it left.
    assert editor_key(app) == first_key
    assert table(app) == [
        (s[:8], "create_circle", None),
        (a[:8], "create_circle", "approve"),
        (a[:8], "create_square", "reject"),
        (a[:8], "create_triangle", "approve"),
    ]
    assert editor_frame(app)["status"].tolist()[0] == inbox.GONE
    run(app)  # no edit in this run (no idle gate in AppTest): the live rows

    assert editor_key(app) != first_key  # other rows, new editor: nothing carried by position
    assert table(app) == [
        (a[:8], "create_circle", "approve"),
        (a[:8], "create_square", "reject"),
        (a[:8], "create_triangle", "approve"),
        (s[:8], "create_square", None),
        (c[:8], "create_circle", None),
        (c[:8], "create_square", None),
        (c[:8], "create_triangle", None),
    ]
    assert editor_frame(app)["message"].tolist()[1] == "not this square"

    set_edits(app, {4: {"decision": "approve"}})
    run(app)
    app.session_state["reviewer"] = "alice"
    submit(app)
    decided = {(e.thread_id, e.tool): (e.reviewer, e.decision, e.message) for e in console.audit()}
    assert decided == {
        (s, "create_circle"): ("bob", "approve", None),
        (a, "create_circle"): ("alice", "approve", None),
        (a, "create_square"): ("alice", "reject", "not this square"),
        (a, "create_triangle"): ("alice", "approve", None),
        (c, "create_circle"): ("alice", "approve", None),
    }
    assert [shape["shape_id"] for shape in console.thread(a).canvas] == ["c1", "t1"]
    assert {(r.thread_id, r.tool) for r in console.pending()} == {
        (s, "create_square"),
        (c, "create_square"),
        (c, "create_triangle"),
    }
    assert alerts(app, "success") == ["Applied 4 · conflicts 0 · refused 0 · new interrupts 0 (2 threads)"]
    assert sorted(line.split(" (", 1)[1] for line in details(app)) == sorted(
        [
            f"{a[:8]}): 3 applied, 0 conflicts, 0 new interrupts",
            f"{c[:8]}): 1 applied, 0 conflicts, 0 new interrupts",
        ]
    )


def test_a_new_row_in_the_position_of_a_decided_one_starts_undecided(app: AppTest, console: ReviewConsole) -> None:
    """Same row count, different row at the same position: the case Streamlit's own widget identity misses."""
    a = seed(console)
    s = seed(console, THEN_SEQUENCE)
    run(app)
    assert [tool for _, tool, _ in table(app)] == ["create_circle", "create_square", "create_triangle", "create_circle"]
    rejected = {3: {"decision": "reject", "message": "no circles in s"}}
    key = set_edits(app, rejected)
    run(app)

    # bob approves the sequence's circle first; its run raises the square in the same table position.
    assert console.submit(batch(console.pending(s), {"create_circle": APPROVE}), reviewer="bob").exit_code == 0
    rerun_as_the_browser_would(app, key, rejected)
    rerun_as_the_browser_would(app, key, rejected)
    assert table(app) == [
        (a[:8], "create_circle", None),
        (a[:8], "create_square", None),
        (a[:8], "create_triangle", None),
        (s[:8], "create_square", None),
    ]
    assert editor_frame(app)["message"].tolist()[3] == ""

    app.session_state["reviewer"] = "alice"
    submit(app)
    [warning] = alerts(app, "warning")
    assert warning.startswith("Applied 0 · conflicts 1 · refused 0 · new interrupts 0 (1 thread)")
    assert "create_circle(shape_id=c1, color=red) in «Draw a red circle c1, then a… · " in warning
    assert ": already decided by bob" in warning
    assert [(e.reviewer, e.tool, e.decision) for e in console.audit()] == [("bob", "create_circle", "approve")]
    assert [r.tool for r in console.pending(s)] == ["create_square"]


def test_filters_change_the_rows_but_not_whose_decision_is_whose(app: AppTest, console: ReviewConsole) -> None:
    a = seed(console)
    run(app)
    triangle = {2: {"decision": "reject"}}
    key = set_edits(app, triangle)
    run(app)
    app.multiselect(key=inbox.TOOL_FILTER).set_value(["create_square", "create_triangle"])
    rerun_as_the_browser_would(app, key, triangle)
    assert table(app) == [(a[:8], "create_square", None), (a[:8], "create_triangle", "reject")]
    square = {0: {"decision": "approve"}}  # position 0 of the filtered frame
    key = set_edits(app, square)
    run(app)
    app.multiselect(key=inbox.TOOL_FILTER).set_value([])
    rerun_as_the_browser_would(app, key, square)
    assert table(app) == [
        (a[:8], "create_circle", None),
        (a[:8], "create_square", "approve"),
        (a[:8], "create_triangle", "reject"),
    ]
