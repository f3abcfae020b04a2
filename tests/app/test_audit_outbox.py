"""The outbox on the Audit page (issue 21 item 1): notifications, the delivery log, dead letters, and Retry for
whoever may decide a dead letter's rows; under AppTest, with the app's own notifier making a real dead letter."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from review import ReviewConsole
from review.notify import Outbox
from tests.app.conftest import APP, alerts, run, shown_text
from tests.conftest import THREE_SHAPES
from ui.console import open_console

POLICY = """
deciders = ["ann"]

[[notify]]
name = "ops hook"
channel = "webhook"
url_secret = "NO_SUCH_HOOK"
"""


@pytest.fixture
def notifying(app_db: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> ReviewConsole:
    """The app's console with a webhook route whose URL secret is not set: its first try is a dead letter."""
    policy = tmp_path / "review-policy.toml"
    policy.write_text(POLICY, encoding="utf-8")
    monkeypatch.setenv("REVIEW_POLICY", str(policy))
    monkeypatch.setenv("REVIEW_SECRETS_FILE", str(tmp_path / "no-secrets.toml"))
    monkeypatch.setenv("REVIEW_NOTIFY_ATTEMPTS", "1")
    monkeypatch.setenv("REVIEW_NOTIFY_SETTLE_SECONDS", "0.000001")
    monkeypatch.delenv("NO_SUCH_HOOK", raising=False)
    return open_console(str(app_db.resolve()))  # the app's console, its notifier started


def _until(check: Callable[[], bool], timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def audit_as(reviewer: str) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=30)
    at.session_state["reviewer"] = reviewer
    run(at)
    at.switch_page("pages/audit.py")
    return run(at)


def test_a_dead_letter_is_shown_and_only_a_decider_may_retry_it(notifying: ReviewConsole) -> None:
    outbox = Outbox(notifying.storage, notifying.policy, notifying.settings)
    thread_id = notifying.start_run(THREE_SHAPES).result(timeout=30).thread_id
    _until(lambda: len(outbox.dead_letters()) == 1)
    [letter] = outbox.dead_letters()
    assert letter.thread_id == thread_id

    bob = audit_as("bob")  # not a decider of these tools: sees it, may not send it again
    assert any(m.value == "**Dead letters (1)**" for m in bob.markdown)
    assert any("NO_SUCH_HOOK is not set" in t.value for t in bob.text)
    assert "1 notification, newest first: 1 dead." in [shown_text(c.value) for c in bob.caption]
    assert [e.label for e in bob.expander if e.label.startswith("Delivery log")] == ["Delivery log (1 try)"]
    [retry] = [b for b in bob.button if b.label == "Retry"]
    assert retry.disabled and "bob may not decide this" in (retry.help or "")

    ann = audit_as("ann")
    [retry] = [b for b in ann.button if b.label == "Retry"]
    assert not retry.disabled
    retry.click()
    run(ann)
    assert alerts(ann, "success") == [f"Queued again: notification {letter.notification_id[:8]}"]
    _until(lambda: len(outbox.deliveries(letter.notification_id)) == 2)  # the app's notifier tried it again
    _until(lambda: [n.status for n in outbox.notifications()] == ["dead"])  # the secret is still not set


def test_without_a_notify_route_the_section_says_notifications_are_off(app_db: Path) -> None:
    at = audit_as("ann")
    assert "Notifications are off: the policy has no [[notify]] route." in [shown_text(c.value) for c in at.caption]
    assert not [b for b in at.button if b.label == "Retry"]
