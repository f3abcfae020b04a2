"""The few style rules the console needs that Streamlit has no option for, put in the page by a tiny script.

- Less blank above a page's title: Streamlit's wide layout leaves ~110 px (its header bar takes ~60 px of them).
- Narrower side margins from tablet widths up, so the Inbox's tables and the review card fit side by side at
  1280 px with every column a decision needs.
- Below WIDE_PX the Inbox's two columns (tables, card) stack: the card goes under the tables. Only the columns'
  layout changes (no rerun, no new grid), so nothing being typed is lost when a window is resized.

A component with no visible element, mounted once per page in the sidebar (`mount`); its script adds one style
element to the page, once. The sheet is plain text in this module: nothing is fetched.
"""

from __future__ import annotations

from typing import Any

import streamlit as st

WIDE_PX = 1200  # narrower windows show the Inbox's card under its tables
SPLIT_KEY = "inbox_split"  # the container of the Inbox's two columns
CSS = f"""
[data-testid="stMainBlockContainer"] {{ padding-top: 3.5rem; }}
@media (min-width: 768px) {{
  [data-testid="stMainBlockContainer"] {{ padding-left: 2rem; padding-right: 2rem; }}
}}
@media (max-width: {WIDE_PX - 1}px) {{
  .st-key-{SPLIT_KEY} [data-testid="stHorizontalBlock"]:has(> [data-testid="stColumn"]) {{ flex-direction: column; }}
  .st-key-{SPLIT_KEY} [data-testid="stColumn"] {{ width: 100% !important; flex: 1 1 100% !important; }}
}}
"""
_JS = """
export default function (component) {
  const { data } = component;
  let style = document.getElementById("review-page-css");
  if (!style) {
    style = document.createElement("style");
    style.id = "review-page-css";
    document.head.appendChild(style);
  }
  if (style.textContent !== data.css) style.textContent = data.css;
}
"""
_component: Any = None


def mount() -> None:
    """Put the console's style sheet in the page (call it in the sidebar: no gap in the page body)."""
    global _component
    if _component is None:
        _component = st.components.v2.component("review_page_style", js=_JS, html="<span></span>")
    _component(key="review_page_style", data={"css": CSS}, height=0)
