"""Keyboard shortcuts of the console (Streamlit's `st.button(shortcut=...)`), named in one place.

Every shortcut uses a modifier: the Inbox grid takes plain keys for typing into cells. The keys
show in each button's help text; `with_key` writes that text.
"""

from __future__ import annotations

SUBMIT = "Ctrl+Enter"
APPROVE_ALL = "Alt+A"
REJECT_ALL = "Alt+X"
PREVIOUS_ROW = "Alt+Up"
NEXT_ROW = "Alt+Down"
PAGES = ("Alt+1", "Alt+2", "Alt+3", "Alt+4")  # Inbox, New run, Thread, Audit, in the sidebar's order


def with_key(text: str, shortcut: str) -> str:
    """A help text that names its shortcut: `Send every decided row (Ctrl+Enter)`."""
    return f"{text} ({shortcut})"
