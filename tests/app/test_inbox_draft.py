"""Unsent decisions survive a reload and a server restart (kept in the store per reviewer, cleared on submit)."""

from __future__ import annotations

from pathlib import Path

from streamlit.testing.v1 import AppTest

from review import ReviewConsole
from tests.app.conftest import APP, alerts, editor_frame, run, set_edits, submit
from tests.conftest import THREE_SHAPES
from ui import inbox
from ui.console import close_consoles


def reload(reviewer: str | None) -> AppTest:
    """A new browser session on the same server: a reload keeps only the URL (`?reviewer=`)."""
    at = AppTest.from_file(APP, default_timeout=30)
    if reviewer:
        at.query_params["reviewer"] = reviewer
    return run(at)


def test_a_reload_and_a_restart_keep_a_reviewers_unsent_decisions(app: AppTest, app_db: Path) -> None:
    console = ReviewConsole.open(app_db)
    try:
        thread_id = console.start_run(THREE_SHAPES).result(timeout=30).thread_id
    finally:
        console.close()
    app.query_params["reviewer"] = "rita"
    run(app)
    set_edits(app, {0: {"decision": "approve"}, 2: {"decision": "reject", "message": "not today"}})
    run(app)

    again = reload("rita")  # the same reviewer, a new session
    frame = editor_frame(again)
    assert frame["decision"].tolist() == ["approve", None, "reject"]
    assert frame["message"].tolist() == ["", "", "not today"]

    close_consoles()  # the server restarts: a new console process-wide
    after = reload("rita")
    assert editor_frame(after)["decision"].tolist() == ["approve", None, "reject"]
    assert editor_frame(reload("sam"))["decision"].isna().all()  # another reviewer's draft is theirs

    submit(after)  # sending clears what was sent
    assert alerts(after, "success") == ["Applied 2 · conflicts 0 · refused 0 · new interrupts 0 (1 thread)"]
    later = reload("rita")
    assert editor_frame(later)["decision"].isna().all()
    assert later.session_state[inbox.STATE_DRAFT] and not any(
        inbox.has_intent(entry) for entry in later.session_state[inbox.STATE_DRAFT].values()
    )
    stored = ReviewConsole.open(app_db, recover=False)
    try:
        assert stored.draft("rita") == {}
        assert [r.tool for r in stored.pending(thread_id)] == ["create_square"]
    finally:
        stored.close()


def test_decisions_made_before_the_name_is_typed_are_kept_once_it_is(app: AppTest, app_console: ReviewConsole) -> None:
    app_console.start_run(THREE_SHAPES).result(timeout=30)
    run(app)
    set_edits(app, {1: {"edited arguments": "color=yellow"}})
    run(app)
    assert app_console.draft("tom") == {}
    app.sidebar.text_input(key="reviewer").input("tom")
    run(app)
    [(key, entry)] = app_console.draft("tom").items()
    assert entry["edited"] == "color=yellow" and key == app.session_state[inbox.STATE_RENDERED][1]
    assert editor_frame(reload("tom"))["edited arguments"].tolist() == ["", "color=yellow", ""]
