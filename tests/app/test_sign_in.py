"""Sign-in and permissions on the pages (AppTest with `st.user` mocked; tests/e2e/test_sign_in.py signs in for real)."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from review import ReviewConsole
from tests.app.conftest import alerts, click, editor_frame, run, set_edits
from tests.conftest import CLEAR, THREE_SHAPES

AUTH = {
    "redirect_uri": "http://127.0.0.1:8501/oauth2callback",
    "cookie_secret": "test-secret",
    "client_id": "review-console",
    "client_secret": "x",
    "server_metadata_url": "http://127.0.0.1:1/.well-known/openid-configuration",
}
ANA = {"is_logged_in": True, "email": "ana@example.org", "sub": "ana", "iss": "http://id.test", "groups": ["ops"]}


def _sidebar_text(at: AppTest) -> str:
    return " ".join(str(c.value) for c in at.sidebar.caption)


def test_with_sign_in_configured_a_visitor_sees_only_the_sign_in_page(app: AppTest) -> None:
    app.secrets["auth"] = AUTH
    app.user = {"is_logged_in": False}
    run(app)
    assert [b.label for b in app.button] == ["Sign in"]
    assert not app.data_editor and not [t for t in app.title if t.value == "Inbox"]


def test_a_signed_in_reviewer_decides_as_their_identity(app: AppTest, app_console: ReviewConsole) -> None:
    app_console.start_run(THREE_SHAPES).result(timeout=30)
    app.secrets["auth"] = AUTH
    app.user = ANA
    run(app)
    assert "Signed in as ana@example.org · http://id.test" in _sidebar_text(app)
    assert not [t for t in app.sidebar.text_input if t.label == "Reviewer name"]  # the name box is gone
    assert "Sign out" in [b.label for b in app.sidebar.button]
    set_edits(app, {0: {"decision": "approve"}})
    click(app, "inbox_submit")
    (entry,) = [e for e in app_console.audit() if e.status in ("claimed", "applied")]
    assert (entry.reviewer, entry.identity, entry.issuer, entry.verification) == (
        "ana@example.org",
        "ana@example.org",
        "http://id.test",
        "signed-in",
    )


def test_without_sign_in_typed_names_are_recorded_as_unverified(app: AppTest, app_console: ReviewConsole) -> None:
    app_console.start_run(THREE_SHAPES).result(timeout=30)
    run(app)
    assert "Sign-in is not configured" in _sidebar_text(app)
    app.session_state["reviewer"] = "kim"
    set_edits(app, {0: {"decision": "approve"}})
    click(app, "inbox_submit")
    (entry,) = [e for e in app_console.audit() if e.status in ("claimed", "applied")]
    assert (entry.reviewer, entry.verification) == ("kim", "unverified")


def test_a_row_the_reviewer_may_not_decide_is_read_only_with_the_reason(
    app: AppTest, app_db: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    policy = tmp_path / "review-policy.toml"
    policy.write_text('[tools.clear_canvas]\ndeciders = ["@ops"]\napprovals = 2\n', encoding="utf-8")
    monkeypatch.setenv("REVIEW_POLICY", str(policy))
    console = ReviewConsole.open(app_db)
    try:
        console.start_run(CLEAR).result(timeout=30)
    finally:
        console.close()
    app.secrets["auth"] = AUTH
    app.user = {**ANA, "email": "eve@example.org", "groups": ["design"]}
    run(app)
    (status,) = editor_frame(app)["status"].tolist()
    assert status.startswith("read-only: eve@example.org may not decide this: clear_canvas is decided by @ops")
    set_edits(app, {0: {"decision": "approve"}})
    click(app, "inbox_submit")
    assert any("clear_canvas is decided by @ops" in line for line in alerts(app, "error"))
