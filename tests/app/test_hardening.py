"""Hardening defaults (issue 18, M7 / item 9): what any session can make the server hold or show.

- Streamlit's upload route takes at most 1 MB (the console has no uploader); an error shows no details (the
  server logs them).
- Text escaped for Markdown never becomes a link: Streamlit's Markdown (remark-gfm) links bare URLs, `www.`
  names and e-mail addresses after escapes are resolved, so a reviewer could be shown a link the agent chose.
- Bidi control characters in agent-provided text are shown by name (`⟨U+202E⟩`), never applied.
(The change route's sign-in check runs against a real server: tests/e2e/test_hardening.py.)
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from review import ReviewConsole
from tests.app.conftest import run, shown_text
from tests.app.test_pages import nodes
from ui.format import clip_text, md_escape, request_words, show_controls, thread_label

ROOT = Path(__file__).resolve().parents[2]
# What remark-gfm links in a text node (mdast-util-gfm-autolink-literal's two patterns), after escapes.
GFM_URL = re.compile(r"(https?://|www(?=\.))([-.\w]+)", re.IGNORECASE | re.ASCII)
GFM_EMAIL = re.compile(r"([-.\w+]+)@([-\w]+(?:\.[-\w]+)+)", re.ASCII)
BIDI = "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f"

LINKY = [
    "Cannot reach http://10.0.0.5:8123/api: refused",
    "see HTTPS://evil.example.org/login?next=/ or www.evil.example.org",
    "ask lead@example.org (or ops+pager@corp.example.com.)",
    "mailto:ana@example.org, <https://x.example.org>",
]


@pytest.mark.parametrize("text", LINKY)
def test_escaped_text_shows_as_written_and_links_nothing(text: str) -> None:
    shown = shown_text(md_escape(text))  # what the browser's Markdown text node holds
    assert shown.replace("\u2060", "") == text  # only invisible word joiners were added
    assert not GFM_URL.search(shown) and not GFM_EMAIL.search(shown), shown


def test_a_group_or_a_plain_at_sign_is_left_alone() -> None:
    assert shown_text(md_escape("decided by @ops at 10:00")) == "decided by @ops at 10:00"


def test_bidi_controls_are_named_wherever_agent_text_is_formatted() -> None:
    tricky = "invoice_\u202egnp.exe and \u2066x\u2069 \u200f"
    named = "invoice_⟨U+202E⟩gnp.exe and ⟨U+2066⟩x⟨U+2069⟩ ⟨U+200F⟩"
    assert show_controls(tricky) == named
    assert shown_text(md_escape(tricky)) == named
    assert clip_text(tricky, 200) == named
    assert request_words("Create \u202ea circle", 80) == "Create ⟨U+202E⟩a circle"
    assert thread_label("t1", "Draw \u202ethis", None, datetime.now(UTC)) == "Draw ⟨U+202E⟩this"
    assert not set(BIDI) & set(show_controls("".join(BIDI)))


def test_a_thread_named_with_bidi_controls_shows_them_by_name_on_the_inbox(
    app: AppTest, app_console: ReviewConsole
) -> None:
    app_console.start_run("Create a red circle \u202ec1 see http://evil.example.org").result(timeout=30)
    app.session_state["reviewer"] = "kim"
    run(app)
    bodies = [getattr(node.proto, "body", "") for node in nodes(app._tree) if getattr(node, "type", "") == "markdown"]
    labels = [o for m in app.multiselect for o in m.options]
    assert any("⟨U+202E⟩" in label for label in labels), labels
    assert not [b for b in bodies if set(BIDI) & set(b)]
    assert not [b for b in bodies if GFM_URL.search(shown_text(b))]


def test_streamlit_takes_the_hardened_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    from streamlit import config

    monkeypatch.chdir(ROOT)
    for name in ("STREAMLIT_SERVER_MAX_UPLOAD_SIZE", "STREAMLIT_CLIENT_SHOW_ERROR_DETAILS"):
        monkeypatch.delenv(name, raising=False)
    config.get_config_options(force_reparse=True)
    try:
        assert config.get_option("server.maxUploadSize") == 1  # MB: the console has no uploader
        # "none": no message, type or traceback reaches the browser ("false" would still send the traceback).
        assert config.get_option("client.showErrorDetails") == "none"
    finally:
        config.get_config_options(force_reparse=True)
