"""Who is at the keyboard: Streamlit's OpenID Connect sign-in when it is configured, else a typed name.

Sign-in is configured by an `[auth]` section in `.streamlit/secrets.toml` (see
.streamlit/secrets.example.toml): then every page requires it and the reviewer of every decision is the
signed-in identity (`email`, else `sub`, with the issuer; an e-mail the provider says is not verified is
not used). Without it (a local `make run`), the sidebar's typed name is used and recorded as `unverified`.
The policy itself lives in review/; this module only says who is here.

Sign-in fails closed: a secrets file that exists but cannot be read, or an `[auth]` section that lacks what
sign-in needs, stops every page with one error (`auth_problem`); it never falls back to the typed name.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from typing import Any

import streamlit as st
from streamlit.logger import get_logger

from review.identity import Reviewer
from ui.format import md_escape, show_controls

REVIEWER_KEY = "reviewer"
GROUPS_CLAIM = "groups"
# What `st.login()` (the default provider) needs in `[auth]`.
AUTH_KEYS = ("redirect_uri", "cookie_secret", "client_id", "client_secret", "server_metadata_url")
USER_COOKIE = "_streamlit_user"  # Streamlit's signed sign-in cookie (streamlit.web.server.server_util)

log = get_logger(__name__)  # Streamlit's handler: the server's log shows it


def auth_problem() -> str | None:
    """Why sign-in cannot be used as configured, in one line; None when it is fine or not configured at all.

    A secrets file that exists but cannot be parsed counts: it may hold the `[auth]` section, so whether
    sign-in was meant cannot be told, and the console must not guess "no".
    """
    try:
        secrets = st.secrets
        present = "auth" in secrets
    except Exception as exc:  # Streamlit raises the same error for "no file" and "a file it cannot parse"
        if not _secrets_files_exist():
            return None
        return f"The secrets file cannot be read, so sign-in cannot be set up: {exc}"
    if not present:
        return None
    section = secrets["auth"]
    if not isinstance(section, Mapping):
        return "[auth] in the secrets file must be a table (a section), not a single value"
    missing = [key for key in AUTH_KEYS if not str(section.get(key) or "").strip()]
    if missing:
        return f"[auth] in the secrets file lacks {', '.join(missing)}: sign-in cannot work without them"
    return None


def _secrets_files_exist() -> bool:
    from streamlit import config

    paths = config.get_option("secrets.files") or []
    return any(os.path.exists(path) for path in paths)


def auth_configured() -> bool:
    """True when sign-in is required: an `[auth]` section, or secrets that cannot be read (fail closed)."""
    try:
        if "auth" in st.secrets:
            return True
    except Exception:  # no secrets file at all: Streamlit raises rather than answering "no"
        pass
    return auth_problem() is not None


def signed_in() -> bool:
    """True when the browser session has signed in through the configured identity provider."""
    try:
        return bool(st.user.is_logged_in)
    except Exception:  # AppTest without a mocked user, or no auth configured
        return False


def user_claims() -> dict[str, Any]:
    """The signed-in user's claims from the identity provider ({} when nobody is signed in)."""
    try:
        return dict(st.user.to_dict())
    except Exception:
        return {}


def reviewer_from_claims(claims: Mapping[str, Any]) -> Reviewer | None:
    """The signed-in reviewer an ID token's claims name; None when they name nobody usable.

    An e-mail the provider marks unverified (`email_verified` false) names nobody: the identity is then the
    subject, with the issuer, as if no e-mail had been sent.
    """
    usable = dict(claims)
    if usable.get("email_verified") is False or str(usable.get("email_verified")).lower() == "false":
        usable.pop("email", None)
    try:
        return Reviewer.signed_in(usable, GROUPS_CLAIM)
    except ValueError:
        return None


def current_reviewer() -> Reviewer | None:
    """The signed-in identity, else the typed name (unverified); None when there is neither (or it is invalid)."""
    if auth_configured():
        if auth_problem() is not None or not signed_in():
            return None
        return reviewer_from_claims(user_claims())
    name = str(st.session_state.get(REVIEWER_KEY) or "").strip()
    if not name:
        return None
    try:
        return Reviewer.typed(name)
    except ValueError:
        return None


def require_sign_in() -> None:
    """With sign-in configured, a visitor who is not signed in sees only the sign-in page; with sign-in
    configured but unreadable, everybody sees only the error."""
    problem = auth_problem()
    if problem is not None:
        log.error("sign-in is configured but cannot be used: %s", problem)
        st.title("Review console")
        st.error(md_escape(f"Sign-in is not available: {problem}"), icon=":material/lock:")
        st.write("The console stays closed until the administrator fixes the secrets file and restarts it.")
        st.stop()
    if not auth_configured() or signed_in():
        return
    st.title("Review console")
    st.write("Sign in to review what your agents are waiting for.")
    st.button("Sign in", type="primary", on_click=st.login, key="auth_sign_in")
    st.stop()


def sidebar_identity() -> None:
    """The sidebar's reviewer block with sign-in configured: who is signed in, and a sign-out button."""
    reviewer = current_reviewer()
    if reviewer is not None:
        # Plain text: an address or an issuer URL must not become a link (nor markup).
        st.text(
            show_controls(f"Signed in as {reviewer.identity}" + (f" · {reviewer.issuer}" if reviewer.issuer else ""))
        )
    st.button("Sign out", key="auth_sign_out", on_click=st.logout)


def session_may_watch(cookies: Mapping[str, str]) -> bool:
    """For serve.py's change route, outside any script run: may the browser sending `cookies` see the Inbox?

    Without sign-in everyone may. With it, only a browser holding Streamlit's signed sign-in cookie (valid
    signature, not expired) for a usable identity; sign-in that cannot be read answers no to everybody.
    """
    if not auth_configured():
        return True
    if auth_problem() is not None:
        return False
    try:
        from streamlit.auth_util import get_cookie_with_chunks, get_signing_secret
        from streamlit.web.server.starlette.starlette_app_utils import decode_signed_value

        secret = get_signing_secret()

        def one(name: str) -> bytes | None:
            raw = cookies.get(name)
            return None if raw is None else decode_signed_value(secret, name, raw.encode("latin-1"))

        value = get_cookie_with_chunks(one, USER_COOKIE)
        claims = json.loads(value) if value else None
    except Exception as exc:  # a Streamlit that moved these, a forged or broken cookie: no
        log.warning("change route: sign-in cookie not accepted: %s", exc)
        return False
    if not isinstance(claims, dict) or claims.get("is_logged_in") is not True:
        return False
    return reviewer_from_claims(claims) is not None
