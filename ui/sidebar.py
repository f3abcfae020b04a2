"""The frame every page shares: page settings, the sidebar's navigation, the reviewer's name, the database.

Streamlit runs each page file on its own (its `pages/` folder mechanism: app.py is the Inbox at `/`,
pages/*.py are `/new_run`, `/thread`, `/audit`), so every page calls `page_frame(title)` first; a
page opened straight from its URL gets the same sidebar as one reached by a link. Streamlit's own
sidebar list (file names, the main page labelled "app") is hidden in .streamlit/config.toml
(`client.showSidebarNavigation = false`) and `NAVIGATION` is drawn instead.
"""

from __future__ import annotations

from typing import NamedTuple

import streamlit as st

from ui.console import REVIEWER_KEY, db_label_setting, get_console
from ui.format import md_escape

APP_TITLE = "Review console"
NEW_DATABASE_NOTE = "No database was at this path: a new, empty one was created."


class NavLink(NamedTuple):
    """One page of the console in the sidebar: its script (relative to app.py), label and icon."""

    page: str
    label: str
    icon: str


NAVIGATION = (
    NavLink("app.py", "Inbox", ":material/inbox:"),
    NavLink("pages/new_run.py", "New run", ":material/play_circle:"),
    NavLink("pages/thread.py", "Thread", ":material/timeline:"),
    NavLink("pages/audit.py", "Audit", ":material/history:"),
)
INBOX, NEW_RUN, THREAD, AUDIT = (link.page for link in NAVIGATION)


def page_frame(title: str) -> None:
    """Set up the page called `title` and draw the shared sidebar; stops the page when the database fails.

    Call it first in every page file, before anything is drawn.
    """
    st.set_page_config(page_title=f"{title} · {APP_TITLE}", page_icon=":material/fact_check:", layout="wide")
    with st.sidebar:
        for link in NAVIGATION:
            st.page_link(link.page, label=link.label, icon=link.icon)
        # Each page draws its own name box (a widget belongs to its page): "session" keeps the name typed
        # on one page for the next.
        st.text_input("Reviewer name", key=REVIEWER_KEY, placeholder="Your name", persist_state="session")
        st.caption("Required before decisions are sent; stored with every decision.")
        st.caption(f"Database: {md_escape(db_label_setting())}")  # never a password
    console = get_console()  # a database that cannot be opened stops the page here, with the reason
    if console.created and not console.threads(limit=1):
        st.sidebar.info(NEW_DATABASE_NOTE)
    for problem in console.health():  # a failing heartbeat or recovery sweep, a read-only database
        st.sidebar.warning(md_escape(problem))
