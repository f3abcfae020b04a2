"""Keyboard shortcuts of the console (Streamlit's `st.button(shortcut=...)`), named in one place.

Every shortcut uses a modifier: the Inbox grid takes plain keys for typing into cells. The keys
show in each button's help text; `with_key` writes that text. Submit's key is a page script
(`press_to_click`), so that button's accessible name stays exactly its label.
"""

from __future__ import annotations

from typing import Any

import streamlit as st

SUBMIT = "Ctrl+Enter"
APPROVE_ALL = "Alt+A"
REJECT_ALL = "Alt+X"
PREVIOUS_ROW = "Alt+Up"
NEXT_ROW = "Alt+Down"
PAGES = ("Alt+1", "Alt+2", "Alt+3", "Alt+4", "Alt+5")  # Inbox, New run, Thread, Audit, Insights (the sidebar's order)


def with_key(text: str, shortcut: str) -> str:
    """A help text that names its shortcut: `Send every decided row (Ctrl+Enter)`."""
    return f"{text} ({shortcut})"


# A button given Streamlit's `shortcut=` carries the key in its accessible name ("Submit decisions Shortcut Ctrl +
# Enter"); the send button's name must be exactly its label (screen readers and browser checks find it by it). So
# its key is this small page script instead: Ctrl+Enter (Cmd+Enter on a Mac) clicks the button with that label,
# unless a cell editor of a grid is open (Enter commits the cell first) or the focus is in a text area (Streamlit
# commits a text area on Ctrl+Enter: the card's answer or message).
_PRESS_JS = """
export default function (component) {
  const { data } = component;
  window.__reviewPress = data;
  if (window.__reviewPressOn) return;
  window.__reviewPressOn = true;
  document.addEventListener("keydown", (event) => {
    const { label } = window.__reviewPress || {};
    const chord = (event.ctrlKey || event.metaKey) && !event.altKey && !event.shiftKey;
    if (!label || event.key !== "Enter" || !chord) return;
    if (document.querySelector('[data-testid="portal"] [id^="gdg-overlay"]')) return;
    if (event.target?.closest?.("textarea")) return;  // a text area's own Ctrl+Enter commits what was typed
    const buttons = document.querySelectorAll('[data-testid="stButton"] button');
    const shows = (b) => b.querySelector('[data-testid="stMarkdownContainer"]')?.innerText.trim() === label;
    const button = [...buttons].find(shows);
    if (!button || button.disabled) return;
    event.preventDefault();
    button.click();
  }, true);
}
"""
_press: Any = None


def press_to_click(label: str) -> None:
    """Ctrl+Enter (Cmd+Enter) clicks the button labelled `label` on this page (its help names the key)."""
    global _press
    if _press is None:
        _press = st.components.v2.component("review_submit_key", js=_PRESS_JS, html="<span></span>")
    _press(key="review_submit_key", data={"label": label}, height=0)
