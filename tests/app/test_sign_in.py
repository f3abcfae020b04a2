"""Sign-in and permissions on the pages (AppTest with `st.user` mocked; tests/e2e/test_sign_in.py signs in for real).

Sign-in fails closed (issue 18, H2): secrets that cannot be read, or an `[auth]` section sign-in cannot work with,
stop every page with one error and never fall back to the typed name; with sign-in on, only signed-in identities
decide (the policy requires it), and an e-mail the provider has not verified is not an identity.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from review import ReviewConsole
from review.identity import Reviewer
from tests.app.conftest import APP, alerts, click, editor_frame, run, set_edits, shown_text
from tests.conftest import CLEAR, THREE_SHAPES
from ui import inbox
from ui.auth import session_may_watch
from ui.console import open_console

AUTH = {
    "redirect_uri": "http://127.0.0.1:8501/oauth2callback",
    "cookie_secret": "test-secret",
    "client_id": "review-console",
    "client_secret": "x",
    "server_metadata_url": "http://127.0.0.1:1/.well-known/openid-configuration",
}
ANA = {"is_logged_in": True, "email": "ana@example.org", "sub": "ana", "iss": "http://id.test", "groups": ["ops"]}


PAGES = ("app.py", "pages/new_run.py", "pages/thread.py", "pages/audit.py", "pages/insights.py")


def _sidebar_text(at: AppTest) -> str:
    return " ".join(str(c.value) for c in [*at.sidebar.caption, *at.sidebar.text])


def _assert_closed_with(at: AppTest, reason: str) -> None:
    """The page is the one error: no name box, no sign-in button, no sidebar, nothing of the console."""
    [error] = alerts(at, "error")
    assert error.startswith("Sign-in is not available: ") and reason in error, error
    assert not at.text_input and not at.button and not at.data_editor and not at.sidebar.children
    assert [t.value for t in at.title] == ["Review console"]


@pytest.fixture
def broken_secrets(tmp_path: Path) -> Iterator[Path]:
    """A secrets file (the only one Streamlit reads) with an [auth] section and a TOML error further down."""
    from streamlit import config
    from streamlit.runtime.secrets import secrets_singleton

    path = tmp_path / "secrets.toml"
    path.write_text(
        '[auth]\nredirect_uri = "http://127.0.0.1:8501/oauth2callback"\ncookie_secret = "s"\n'
        'client_id = "c"\nclient_secret = "x"\nserver_metadata_url = "http://127.0.0.1:1/.well-known/x"\n\n'
        '[smtp]\npassword = "unterminated\n',
        encoding="utf-8",
    )
    before = config.get_option("secrets.files")
    config.set_option("secrets.files", [str(path)])
    secrets_singleton._reset()
    try:
        yield path
    finally:
        config.set_option("secrets.files", before)
        secrets_singleton._reset()


def test_a_secrets_file_that_cannot_be_read_closes_every_page_with_one_error(
    app: AppTest, broken_secrets: Path
) -> None:
    for page in PAGES:
        at = AppTest.from_file(APP, default_timeout=30)
        at.query_params["reviewer"] = "lead@example.org"  # a typed name must not get in either
        if page != "app.py":
            at.switch_page(page)
        run(at)
        _assert_closed_with(at, "The secrets file cannot be read")
    assert not session_may_watch({})  # the Inbox's change route refuses everybody too


def test_an_auth_section_sign_in_cannot_work_with_closes_the_app(app: AppTest) -> None:
    app.secrets["auth"] = {"redirect_uri": AUTH["redirect_uri"], "cookie_secret": "s"}
    run(app)
    _assert_closed_with(app, "[auth] in the secrets file lacks client_id, client_secret, server_metadata_url")
    app.secrets["auth"] = "on"
    run(app)
    _assert_closed_with(app, "[auth] in the secrets file must be a table")


def test_without_a_secrets_file_the_typed_name_is_used() -> None:
    from streamlit import config
    from streamlit.runtime.secrets import secrets_singleton

    assert not any(Path(p).exists() for p in config.get_option("secrets.files"))
    secrets_singleton._reset()
    assert session_may_watch({})  # no sign-in: the change route answers anyone, like the pages


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
    # No decision can even be chosen: the row is in the read-only table, not an editor.
    assert len(app.data_editor) == 0 and app.session_state[inbox.STATE_EDITORS] == {}
    assert any(shown_text(c.value).startswith("Read-only (1)") for c in app.caption)
    click(app, "inbox_approve_all")
    assert any("Approve: 0 rows marked; 1 skipped: 1 read-only" in shown_text(c.value) for c in app.caption)
    assert not any(entry.get("decision") for entry in app.session_state[inbox.STATE_DRAFT].values())


def test_an_email_the_provider_has_not_verified_is_not_the_identity(app: AppTest, app_console: ReviewConsole) -> None:
    app_console.start_run(THREE_SHAPES).result(timeout=30)
    app.secrets["auth"] = AUTH
    app.user = {**ANA, "email": "lead@example.org", "email_verified": False, "sub": "u-8841"}
    run(app)
    assert "Signed in as u-8841 · http://id.test" in _sidebar_text(app)
    set_edits(app, {0: {"decision": "approve"}})
    click(app, "inbox_submit")
    (entry,) = [e for e in app_console.audit() if e.status in ("claimed", "applied")]
    assert (entry.identity, entry.issuer, entry.verification) == ("u-8841", "http://id.test", "signed-in")


def test_with_sign_in_configured_only_signed_in_identities_may_decide(app: AppTest, app_db: Path) -> None:
    app.secrets["auth"] = AUTH
    app.user = ANA
    run(app)  # the app opens its console, knowing sign-in is on
    console = open_console(str(app_db.resolve()))
    thread_id = console.start_run(CLEAR).result(timeout=30).thread_id
    [row] = console.pending(thread_id)
    item = {"thread_id": thread_id, "row_id": row.row_id, "decision": {"type": "approve"}}
    for impostor in ("ana@example.org", Reviewer.cli()):  # a typed name, the CLI's identity
        why = console.may_decide(impostor, row) or ""
        assert "requires a verified identity (signed-in)" in why, why
        refused = console.submit([item], impostor)
        assert [e.error for e in refused.invalid] == [why] and not refused.applied
    signed = Reviewer.signed_in({"email": "ana@example.org", "sub": "ana", "iss": "http://id.test"})
    assert console.may_decide(signed, row) is None
    assert not [e for e in console.audit() if e.status in ("claimed", "applied")]


def test_the_signed_in_identity_is_plain_text_never_a_link(app: AppTest) -> None:
    app.secrets["auth"] = AUTH
    app.user = {**ANA, "iss": "https://id.example.org/realms/ops"}
    run(app)
    [shown] = [t.value for t in app.sidebar.text if t.value.startswith("Signed in as")]
    assert shown == "Signed in as ana@example.org · https://id.example.org/realms/ops"  # st.text: no Markdown
    assert not [c for c in app.sidebar.caption if "ana@" in c.value]
