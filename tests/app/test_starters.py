"""Who may start runs (issue 18, M6) on the pages: New run and the Inbox's demo button go through the core's
`starters` check as whoever is at the keyboard, so a viewer (or somebody who gave no name, under a policy that
names its starters) starts nothing.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from review import ReviewConsole
from tests.app.conftest import APP, alerts, run, shown_text
from tests.conftest import THREE_SHAPES
from ui.inbox_view import STATE_DEMO

POLICY = """
viewers = ["*@partner.example.com"]
deciders = ["*@example.org"]
"""


@pytest.fixture
def policy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "review-policy.toml"
    path.write_text(POLICY, encoding="utf-8")
    monkeypatch.setenv("REVIEW_POLICY", str(path))
    return path


def _new_run(reviewer: str | None) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=30)
    if reviewer:
        at.query_params["reviewer"] = reviewer
    run(at)
    at.switch_page("pages/new_run.py")
    run(at)
    at.text_area[0].input(THREE_SHAPES)
    run(at)
    next(b for b in at.button if b.label == "Start run").click()
    return run(at)


@pytest.mark.parametrize(
    ("reviewer", "refusal"),
    [
        ("gus@partner.example.com", "gus@partner.example.com may view but not start runs (a viewer in "),
        (None, "say who you are (sign in, or enter your name in the sidebar) before starting a run"),
        ("oz@elsewhere.example.net", "oz@elsewhere.example.net may not start runs: runs are started by *@example.org"),
    ],
    ids=["viewer", "nameless", "not a decider"],
)
def test_new_run_refuses_who_may_not_start(
    app_db: Path, policy: Path, app_console: ReviewConsole, reviewer: str | None, refusal: str
) -> None:
    at = _new_run(reviewer)
    (warning,) = alerts(at, "warning")
    assert warning.replace("\u2060", "").startswith(f"Nothing started: {refusal}")  # shown unlinked
    assert app_console.threads() == [] and len(at.status) == 0


def test_new_run_starts_for_a_decider(app_db: Path, policy: Path, app_console: ReviewConsole) -> None:
    at = _new_run("ana@example.org")
    assert alerts(at, "warning") == []
    assert at.status[0].label == "Paused: 3 interrupt(s) waiting for review"
    assert len(app_console.threads()) == 1


def test_the_demo_button_refuses_a_viewer(app_db: Path, policy: Path, app_console: ReviewConsole) -> None:
    at = AppTest.from_file(APP, default_timeout=30)
    at.query_params["reviewer"] = "gus@partner.example.com"
    run(at)
    at.button(key="inbox_demo").click()
    run(at)
    assert _demo_note(at).startswith("Nothing started: gus@partner.example.com may view but not start runs")
    assert app_console.threads() == []


def test_the_demo_button_starts_for_a_decider(app_db: Path, policy: Path, app_console: ReviewConsole) -> None:
    at = AppTest.from_file(APP, default_timeout=30)
    at.query_params["reviewer"] = "ana@example.org"
    run(at)
    at.button(key="inbox_demo").click()
    run(at)
    # Only the note the click left: once the runs pause, the Inbox lists their rows instead of the empty state.
    assert str(at.session_state[STATE_DEMO]).startswith("Started 3 example runs")
    deadline = time.monotonic() + 30
    while len(app_console.threads()) < 3:  # the runs go on in the console's worker
        assert time.monotonic() < deadline, app_console.threads()
        time.sleep(0.05)


def _demo_note(at: AppTest) -> str:
    """The note under the demo button, as shown (the page keeps it in the session, then renders it escaped)."""
    note = str(at.session_state[STATE_DEMO])
    assert any(shown_text(c.value).replace("\u2060", "") == note for c in at.caption)
    return note
