"""Who is at the keyboard: Streamlit's OpenID Connect sign-in when it is configured, else a typed name.

Sign-in is configured by an `[auth]` section in `.streamlit/secrets.toml` (see
.streamlit/secrets.example.toml): then every page requires it and the reviewer of every decision is the
signed-in identity (`email`, else `sub`, with the issuer). Without it (a local `make run`), the sidebar's
typed name is used and recorded as `unverified`. The policy itself lives in review/; this module only
says who is here.
"""

from __future__ import annotations

from typing import Any

import streamlit as st

from review.identity import Reviewer

REVIEWER_KEY = "reviewer"
GROUPS_CLAIM = "groups"


def auth_configured() -> bool:
    """True when `.streamlit/secrets.toml` has an `[auth]` section."""
    try:
        return "auth" in st.secrets
    except Exception:  # no secrets file at all: Streamlit raises rather than answering "no"
        return False


def signed_in() -> bool:
    try:
        return bool(st.user.is_logged_in)
    except Exception:  # AppTest without a mocked user, or no auth configured
        return False


def user_claims() -> dict[str, Any]:
    try:
        return dict(st.user.to_dict())
    except Exception:
        return {}


def current_reviewer() -> Reviewer | None:
    """The signed-in identity, else the typed name (unverified); None when there is neither (or it is invalid)."""
    if auth_configured():
        if not signed_in():
            return None
        try:
            return Reviewer.signed_in(user_claims(), GROUPS_CLAIM)
        except ValueError:
            return None
    name = str(st.session_state.get(REVIEWER_KEY) or "").strip()
    if not name:
        return None
    try:
        return Reviewer.typed(name)
    except ValueError:
        return None


def reviewer_problem() -> str | None:
    """Why no decision can be sent as whoever is here, for the Inbox's gate; None when one can."""
    if current_reviewer() is not None:
        return None
    if auth_configured():
        return "Sign in before sending decisions"
    name = str(st.session_state.get(REVIEWER_KEY) or "").strip()
    if not name:
        return "Enter your name in the sidebar before sending decisions"
    try:
        Reviewer.typed(name)
    except ValueError as exc:
        return f"Your name cannot be used: {exc}"
    return None


def require_sign_in() -> None:
    """With sign-in configured, a visitor who is not signed in sees only the sign-in page."""
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
        st.caption(f"Signed in as {reviewer.identity}" + (f" · {reviewer.issuer}" if reviewer.issuer else ""))
    st.button("Sign out", key="auth_sign_out", on_click=st.logout)
