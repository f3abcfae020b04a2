"""The Inbox asks the core's validator as the reviewer types: a drafted decision a submit would refuse says why on
its row (the status cell) and on its card BEFORE Submit, in the words a submit and the CLI give
(tests/cli/test_one_validator.py holds the CLI side of the same words).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from streamlit.testing.v1 import AppTest

from review import ReviewConsole
from tests.app.conftest import alerts, click, editor_frame, run, set_edits
from tests.conftest import THREE_SHAPES

SUBMIT = "inbox_submit"
APPROVE_WITH_MESSAGE = "a message is only sent with reject or respond: clear it or choose one (not approve)"


def seed(console: ReviewConsole) -> None:
    console.start_run(THREE_SHAPES).result(timeout=30)


def spy_submit(monkeypatch: pytest.MonkeyPatch, console: ReviewConsole) -> list[Any]:
    """The batches the page hands to the console's submit."""
    calls: list[Any] = []
    original = console.submit_batch

    def submit_batch(items: Any, reviewer: Any) -> Any:
        calls.append(list(items))
        return original(calls[-1], reviewer)

    monkeypatch.setattr(console, "submit_batch", submit_batch)
    return calls


def test_a_refused_draft_says_why_on_its_row_and_in_details_before_submit(
    app: AppTest, app_console: ReviewConsole, console: ReviewConsole, monkeypatch: pytest.MonkeyPatch
) -> None:
    seed(console)
    calls = spy_submit(monkeypatch, app_console)
    run(app)
    app.session_state["reviewer"] = "alice"
    set_edits(app, {0: {"decision": "approve", "message": "looks fine"}})
    run(app)
    # Before any click: the core's words on the row and on its card (which follows the row edited last).
    circle = console.pending()[0]
    said = app_console.check_decision(
        circle.thread_id, circle.row_id, {"type": "approve", "message": "looks fine"}, "alice"
    )
    assert said == APPROVE_WITH_MESSAGE
    status = editor_frame(app)["status"].tolist()
    assert status == [f"cannot be sent: {APPROVE_WITH_MESSAGE}", "", ""]
    listed, pane = alerts(app, "warning")  # under the tables (whatever the width shows of the row), and on its card
    assert re.fullmatch(
        r"1 row cannot be sent as decided:\ncreate_circle\(shape_id=c1, color=red\) in «Create a red circle c1, "
        rf"a blue… · \d+s»: {re.escape(APPROVE_WITH_MESSAGE)}",
        listed,
    )
    assert pane == f"Cannot be sent: {APPROVE_WITH_MESSAGE}"
    assert calls == [] and console.audit() == []

    # Submit refuses the batch in the same words, without handing it to the console.
    click(app, SUBMIT)
    [banner] = alerts(app, "error")
    assert banner.split("\n")[1].endswith(f": {APPROVE_WITH_MESSAGE}")
    assert calls == [] and console.audit() == []

    # Cleared, the row is fine again at once: no word from the core, none left from the refused submit.
    set_edits(app, {0: {"message": ""}})
    run(app)
    assert editor_frame(app)["status"].tolist() == ["", "", ""]
    assert alerts(app, "warning") == []


@pytest.fixture
def no_edits_of_circles(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A policy under which create_circle is approved or rejected, never edited (before the app's console opens)."""
    policy = tmp_path / "review-policy.toml"
    policy.write_text('[tools.create_circle]\ndecisions = ["approve", "reject"]\n', encoding="utf-8")
    monkeypatch.setenv("REVIEW_POLICY", str(policy))
    return policy


def test_the_policy_is_asked_before_submit_once_the_reviewer_is_named(
    no_edits_of_circles: Path, app: AppTest, app_console: ReviewConsole
) -> None:
    seed(app_console)
    run(app)
    set_edits(app, {0: {"edited arguments": "color=yellow"}})
    run(app)
    assert editor_frame(app)["status"][0] == ""  # nobody named yet: the policy is not asked (Submit asks a name)

    app.session_state["reviewer"] = "alice"
    run(app)
    refusal = "edit is not allowed for create_circle by the policy (allowed: approve, reject)"
    assert editor_frame(app)["status"][0] == f"cannot be sent: {refusal}"
    click(app, SUBMIT)
    [banner] = alerts(app, "error")
    assert banner.split("\n")[1].endswith(f": {refusal}")
    assert app_console.audit() == []
