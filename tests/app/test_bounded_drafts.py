"""A draft holding what no decision may carry (issue 18, M5): 5,000 nested `[` typed into "Edited arguments", or a
pasted 10 MB, is saved like any draft; every reload renders the Inbox, and that row says in one line why it cannot
be sent (before, the Inbox crashed with a RecursionError on every reload)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from streamlit.testing.v1 import AppTest

from review import ReviewConsole
from review.contract import MAX_INPUT_CHARS, MAX_TYPED_DEPTH
from tests.app.conftest import APP, click, editor_frame, run
from tests.conftest import THREE_SHAPES
from ui import inbox


def test_a_saved_draft_too_deep_or_too_long_renders_and_says_why_on_its_row(app_db: Path) -> None:
    console = ReviewConsole.open(app_db)
    try:
        rows = console.start_run(THREE_SHAPES).result(timeout=30).new_pending
        deep, huge = (inbox.row_key(row) for row in rows[:2])
        typed = ("[" * 5_000, '{"color": "' + "x" * 10_000_000 + '"}')  # a pasted 10 MB
        entries: dict[str, dict[str, Any] | None] = {
            inbox.row_key(row): {**inbox.new_entry(row), "decision": "edit", "edited": text}
            for row, text in zip(rows, typed, strict=False)
        }
        console.save_draft("rita", entries)
    finally:
        console.close()

    for _ in range(2):  # a reload, and another: the draft is still there, the page still renders
        at = AppTest.from_file(APP, default_timeout=60)
        at.query_params["reviewer"] = "rita"
        run(at)
        frame = editor_frame(at)
        status = dict(zip(at.session_state[inbox.STATE_RENDERED], frame["status"], strict=True))
        assert status[deep] == f"cannot be sent: the edited arguments: nested more than {MAX_TYPED_DEPTH} levels deep"
        assert status[huge].startswith(f"cannot be sent: the edited arguments: longer than {MAX_INPUT_CHARS:,}")
        assert max(len(cell or "") for cell in frame["edited arguments"]) <= MAX_INPUT_CHARS + 1
        # The detail pane shows the first row's edit: one line, no traceback.
        assert any("nested more than" in w.value for w in at.warning)

    click(at, "inbox_submit")  # Submit refuses the rows in one line each; nothing is sent
    assert not at.exception
    assert any("nested more than" in e.value for e in at.error)
