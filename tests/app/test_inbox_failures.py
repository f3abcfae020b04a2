"""A row whose last decision failed is shown so to every reviewer; deciding it again is an explicit retry;
and a submit never waits on the resume: st.status follows it."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from streamlit.testing.v1 import AppTest

from review import ReviewConsole
from tests.app.conftest import APP, alerts, click, editor_frame, run, set_edits, settle, shown_text, submit
from tests.app.test_card import click_row
from tests.conftest import THREE_SHAPES
from ui import inbox


def failing(console: ReviewConsole, monkeypatch: pytest.MonkeyPatch) -> None:
    """The tool raises during the resume (the run fails; the interrupt is pending again)."""

    def broken(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("the canvas service is down")

    monkeypatch.setattr(console.runner, "_stream", broken)


def test_a_failed_decision_shows_for_every_reviewer_and_is_retried_explicitly(
    app: AppTest, app_console: ReviewConsole, monkeypatch: pytest.MonkeyPatch
) -> None:
    thread_id = app_console.start_run(THREE_SHAPES).result(timeout=30).thread_id
    real = app_console.runner._stream
    failing(app_console, monkeypatch)
    app.session_state["reviewer"] = "ann"
    run(app)
    set_edits(app, {0: {"decision": "approve"}})
    run(app)
    submit(app)
    error, pane = alerts(app, "error")  # the banner, and the pane on the failed row
    assert pane.startswith("Last attempt failed: run failed: RuntimeError: the canvas service is down — approve by ann")
    assert error.startswith("Applied 0 · conflicts 0 · refused 0 · not applied 1 · new interrupts 0 (1 thread)")
    assert "run failed: RuntimeError: the canvas service is down" in error
    monkeypatch.setattr(app_console.runner, "_stream", real)

    bob = AppTest.from_file(APP, default_timeout=30)  # another reviewer sees it too
    bob.session_state["reviewer"] = "bob"
    run(bob)
    status = editor_frame(bob)["status"].tolist()
    assert status[0].startswith("failed: RuntimeError: the canvas service is down (ann, 20")
    assert status[1:] == ["", ""]

    bob.multiselect(key=inbox.STATE_FILTER).set_value([inbox.FAILED])
    run(bob)
    assert editor_frame(bob)["tool"].tolist() == ["create_circle"]
    bob.multiselect(key=inbox.STATE_FILTER).set_value([inbox.WAITING])
    run(bob)
    assert editor_frame(bob)["tool"].tolist() == ["create_square", "create_triangle"]
    bob.multiselect(key=inbox.STATE_FILTER).set_value([])
    run(bob)

    # Approving everything shown leaves the failed row alone: sending it again must be chosen.
    click(bob, "inbox_approve_all")
    assert editor_frame(bob)["decision"].tolist() == [None, "approve", "approve"]
    note = "Approve: 2 rows marked; 1 skipped: 1 whose last attempt failed (retry on its card)"
    assert any(note in shown_text(c.value) for c in bob.caption)
    # The pane says what failed, who decided it, and offers the retry.
    click_row(bob, bob.session_state[inbox.STATE_RENDERED][0])
    run(bob)
    [pane_error] = [e.value for e in bob.error if "Last attempt failed" in e.value]
    assert "approve by ann" in pane_error
    retry = next(b for b in bob.button if b.label == "Retry the same decision")
    retry.click()
    run(bob)
    assert editor_frame(bob)["decision"].tolist() == ["approve", "approve", "approve"]
    submit(bob)
    assert alerts(bob, "success") == ["Applied 3 · conflicts 0 · refused 0 · new interrupts 0 (1 thread) · 1 retry"]
    log = [(e.reviewer, e.tool, e.status) for e in reversed(app_console.audit(thread_id=thread_id))]
    assert log[0] == ("ann", "create_circle", "failed") and ("bob", "create_circle", "applied") in log


def test_submit_returns_at_once_and_st_status_follows_the_resume(
    app: AppTest, app_console: ReviewConsole, monkeypatch: pytest.MonkeyPatch
) -> None:
    app_console.start_run(THREE_SHAPES).result(timeout=30)
    real = app_console.runner._stream
    go = threading.Event()

    def held(*args: Any, **kwargs: Any) -> None:
        assert go.wait(30)
        real(*args, **kwargs)

    monkeypatch.setattr(app_console.runner, "_stream", held)
    app.session_state["reviewer"] = "cid"
    run(app)
    set_edits(app, {0: {"decision": "approve"}, 1: {"decision": "approve"}})
    run(app)
    click(app, "inbox_submit")  # returns while the resume is held
    [status] = app.status
    assert status.label.startswith("Applying 2 decisions: 0 of 1 thread resumed")
    assert editor_frame(app)["status"].tolist()[:2] == ["sending…", "sending…"]
    assert alerts(app, "success") == []
    click(app, "inbox_submit")  # nothing is sent twice meanwhile
    assert alerts(app, "info")[-1].startswith("Nothing sent yet: the last batch is still being applied")
    go.set()
    settle(app)
    assert alerts(app, "success") == ["Applied 2 · conflicts 0 · refused 0 · new interrupts 0 (1 thread)"]
    assert len(app.status) == 0 and editor_frame(app)["tool"].tolist() == ["create_triangle"]
