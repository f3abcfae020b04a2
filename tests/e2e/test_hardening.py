"""Hardening against a running `streamlit run serve.py` (issue 18, M7 / item 9), over plain HTTP.

With sign-in configured, the Inbox's change route (`/review/changes`, serve.py) answers only a browser that may
see the Inbox: one holding Streamlit's signed sign-in cookie. Anonymous clients, forged or expired cookies and
cookies signed with another secret get 401 and learn nothing (not even the change token). The cookie is made here
the way Streamlit makes it after a sign-in (itsdangerous, salted with the cookie's name); tests/e2e/test_sign_in.py
signs in through a real provider.
"""

from __future__ import annotations

import json
import socket
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from itsdangerous import URLSafeTimedSerializer

from tests.e2e.conftest import ARTIFACTS, Server, serve

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

COOKIE_SECRET = "an-e2e-cookie-secret-that-is-long-enough"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def signed_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """The console with an [auth] section (its provider is never contacted: nobody signs in through it here)."""
    work = tmp_path_factory.mktemp("hardening")
    port = _free_port()
    secrets = work / "secrets.toml"
    secrets.write_text(
        "[auth]\n"
        f'redirect_uri = "http://127.0.0.1:{port}/oauth2callback"\n'
        f'cookie_secret = "{COOKIE_SECRET}"\n'
        'client_id = "review-console"\n'
        'client_secret = "anything"\n'
        'server_metadata_url = "http://127.0.0.1:9/.well-known/openid-configuration"\n',
        encoding="utf-8",
    )
    with serve(work, ARTIFACTS / "server-hardening.log", port=port, args=["--secrets.files", str(secrets)]) as server:
        yield server


def _user_cookie(server: Server, secret: str = COOKIE_SECRET, **claims: object) -> str:
    payload = {
        "email": "ana@example.org",
        "sub": "ana",
        "iss": "http://id.test",
        "origin": server.url,
        "is_logged_in": True,
        "provider": "default",
        **claims,
    }
    return URLSafeTimedSerializer(secret, salt="_streamlit_user").dumps(json.dumps(payload))


def _changes(server: Server, cookie: str | None = None) -> tuple[int, str]:
    request = urllib.request.Request(f"{server.url}/review/changes?since=nothing-yet")
    if cookie is not None:
        request.add_header("Cookie", f"_streamlit_user={cookie}")
    try:
        with urllib.request.urlopen(request, timeout=15) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def test_the_change_route_answers_only_signed_in_browsers(signed_server: Server) -> None:
    refused = {
        "anonymous": None,
        "garbage": "not-a-cookie",
        "another secret": _user_cookie(signed_server, secret="somebody-elses-secret-of-enough-length"),
        "signed out": _user_cookie(signed_server, is_logged_in=False),
        "nobody": _user_cookie(signed_server, email=None, sub=None),
    }
    for name, cookie in refused.items():
        status, body = _changes(signed_server, cookie)
        assert (status, body) == (401, "Sign in first."), name
    status, token = _changes(signed_server, _user_cookie(signed_server))
    assert status == 200 and token and token != "nothing-yet"


def test_without_sign_in_the_change_route_answers_anyone(tmp_path: Path) -> None:
    with serve(tmp_path, ARTIFACTS / "server-hardening-open.log") as server:
        status, token = _changes(server)
    assert status == 200 and token
