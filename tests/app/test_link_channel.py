"""A decision confirmed from a notification's action link is recorded with channel "link", one sent with the
Inbox's Submit with "console"; the Audit page's row detail says which (issue 21 item 3)."""

from __future__ import annotations

import time
from urllib.parse import parse_qs, urlsplit

from streamlit.testing.v1 import AppTest

from review import ReviewConsole
from review.contract import PendingInterrupt
from tests.app.conftest import APP, alerts, run, set_edits, settle, submit
from tests.conftest import THREE_SHAPES
from ui import inbox


def open_link(console: ReviewConsole, row: PendingInterrupt, reviewer: str) -> AppTest:
    """The Inbox opened from an approve link for `row` sent to `reviewer` (minted as the worker mints it)."""
    url = console.action_links().mint(row, "approve", (reviewer,), time.time() + 600, nonce="test")
    at = AppTest.from_file(APP, default_timeout=30)
    at.query_params["row"] = row.row_id
    at.query_params["action"] = parse_qs(urlsplit(url).query)["action"][0]
    at.session_state["reviewer"] = reviewer
    return run(at)


def test_a_link_confirm_is_recorded_as_link_and_a_submit_as_console(app: AppTest, console: ReviewConsole) -> None:
    thread_id = console.start_run(THREE_SHAPES).result(timeout=30).thread_id
    at = open_link(console, console.pending(thread_id)[0], "pam")
    [confirm] = [b for b in at.button if b.label == "Confirm: Approve"]
    confirm.click()
    settle(run(at))
    assert alerts(at, "success") == ["Applied 1 · conflicts 0 · refused 0 · new interrupts 0 (1 thread)"]

    inbox_at = app  # kim, in the Inbox: Submit
    inbox_at.session_state["reviewer"] = "kim"
    run(inbox_at)
    assert len(inbox_at.session_state[inbox.STATE_RENDERED]) == 2
    set_edits(inbox_at, {0: {"decision": "approve"}})
    submit(inbox_at)
    assert {e.reviewer: e.channel for e in console.audit(thread_id=thread_id)} == {"pam": "link", "kim": "console"}

    inbox_at.switch_page("pages/audit.py")
    run(inbox_at)
    position = [e.reviewer for e in console.audit()].index("pam")
    inbox_at.session_state["audit_table"] = {"selection": {"rows": [position], "columns": [], "cells": []}}
    run(inbox_at)
    shown = [t.value for t in inbox_at.text]
    assert "link" in shown and "console" not in shown
