"""The Inbox beside its rows: runs recovery is continuing, runs that failed, and submits the store refuses."""

from __future__ import annotations

import os
import socket
import time

from streamlit.testing.v1 import AppTest

from review import ReviewConsole
from tests.app.conftest import alerts, click, run, set_edits
from tests.conftest import THREE_SHAPES


def _lease(console: ReviewConsole, thread_id: str, *, kind: str, state: str, error: str | None = None) -> None:
    """A lease row as a run of another live console of this host would leave it (test-only SQL)."""
    owner = f"{socket.gethostname()}:{os.getpid()}:elsewhere"
    with console.storage.transaction() as conn:
        conn.execute(
            "INSERT INTO review_leases (thread_id, owner, token, lease_until, kind, state, since, error) "
            "VALUES (?, ?, 'tok', ?, ?, ?, '2026-12-02T10:00:00+00:00', ?)",
            (thread_id, owner if state == "running" else "", time.time() + 600, kind, state, error),
        )


def test_a_thread_recovery_is_continuing_and_a_failed_run_show_beside_the_rows(
    app: AppTest, app_console: ReviewConsole
) -> None:
    _lease(app_console, "a" * 32, kind="recover", state="running")
    _lease(app_console, "b" * 32, kind="continue", state="failed", error="ValueError: the model refused")
    run(app)
    assert "Thread aaaaaaaa: run interrupted, continuing" in alerts(app, "info")
    assert "Thread bbbbbbbb: run failed: ValueError: the model refused" in alerts(app, "error")


def test_a_reviewer_name_with_a_line_break_is_refused_with_a_message(app: AppTest, app_console: ReviewConsole) -> None:
    app_console.start_run(THREE_SHAPES).result(timeout=30)
    run(app)
    app.session_state["reviewer"] = "ana\nroot"
    set_edits(app, {0: {"decision": "approve"}})
    click(app, "inbox_submit")
    (error,) = alerts(app, "error")
    assert error.startswith("Nothing was sent: the reviewer name contains control characters")
    assert app_console.audit() == []
