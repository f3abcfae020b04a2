"""Sign-in for real: Chromium, the console, and a local OpenID Connect provider (oidc-provider-mock on 127.0.0.1).

Two people sign in through the provider's own page and each decides a row; the audit names their signed-in
identities with the provider as issuer. A browser that has not signed in sees only the sign-in page.
"""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterator

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import ARTIFACTS, Server, serve
from tests.e2e.helpers import TIMEOUT_MS, App, start_thread
from tests.e2e.test_flows import Grid, expect_rows, filter_thread, summary
from tests.helpers import store_query

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def provider() -> Iterator[str]:
    """A local OpenID provider with two users; its issuer URL."""
    from oidc_provider_mock import User, run_server_in_thread

    users = [
        User(sub="ana", claims={"email": "ana@example.org", "name": "Ana"}),
        User(sub="bob", claims={"email": "bob@example.org", "name": "Bob"}),
    ]
    with run_server_in_thread(port=_free_port(), user_claims=users) as server:
        yield f"http://localhost:{server.server_port}"


@pytest.fixture(scope="module")
def signed_server(provider: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """The console with an [auth] section pointing at the provider."""
    work = tmp_path_factory.mktemp("sign-in")
    port = _free_port()
    secrets = work / "secrets.toml"
    secrets.write_text(
        "[auth]\n"
        f'redirect_uri = "http://127.0.0.1:{port}/oauth2callback"\n'
        'cookie_secret = "an-e2e-cookie-secret-that-is-long-enough"\n'
        'client_id = "review-console"\n'
        'client_secret = "anything"\n'
        f'server_metadata_url = "{provider}/.well-known/openid-configuration"\n',
        encoding="utf-8",
    )
    with serve(work, ARTIFACTS / "server-sign-in.log", port=port, args=["--secrets.files", str(secrets)]) as server:
        yield server


def _sign_in(app: App, user: str) -> None:
    """Through the provider's page: the Sign in button, then the user's button there, then back to the Inbox."""
    app.page.get_by_role("button", name="Sign in").click()
    app.page.get_by_role("button", name=user, exact=True).click()  # the provider's predefined user
    app.expect_title("Inbox")
    sidebar = app.page.get_by_test_id("stSidebar")
    expect(sidebar).to_contain_text(f"Signed in as {user}@example.org", timeout=TIMEOUT_MS)
    expect(sidebar.get_by_role("textbox", name="Reviewer name")).to_have_count(0)


def _approve_first(app: App, prompt: str) -> None:
    grid: Grid = filter_thread(app, prompt)
    expect_rows(grid, 1)
    grid.choose("decision", 0, "approve")
    app.click("Submit decisions")
    expect(app.page.get_by_text(summary(1, 0, 0))).to_be_visible(timeout=TIMEOUT_MS)


def test_two_people_sign_in_and_the_audit_names_their_identities(
    signed_server: Server, provider: str, new_app: Callable[..., App]
) -> None:
    stranger = new_app(on=signed_server, title="Review console")  # not signed in: the sign-in page only
    expect(stranger.page.get_by_role("button", name="Sign in")).to_be_visible()
    expect(stranger.page.get_by_test_id("stDataFrame")).to_have_count(0)

    prompts = {"ana": "Draw a red circle ana1", "bob": "Draw a blue circle bob1"}
    threads = {user: start_thread(signed_server.db, prompt)[0] for user, prompt in prompts.items()}
    for user, prompt in prompts.items():
        app = new_app(on=signed_server, title="Review console")
        _sign_in(app, user)
        _approve_first(app, prompt)

    for user, thread_id in threads.items():
        rows = store_query(
            signed_server.db,
            "SELECT reviewer, identity, issuer, verification FROM review_decisions WHERE thread_id = ?",
            (thread_id,),
        )
        # the name shown is the token's name claim; the identity the policy checks is the email, with its issuer
        assert [tuple(r) for r in rows] == [(user.title(), f"{user}@example.org", provider, "signed-in")]
