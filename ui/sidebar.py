"""The frame every page shares: page settings, the sidebar's navigation, the reviewer's name, the database.

Streamlit runs each page file on its own (its `pages/` folder mechanism: app.py is the Inbox at `/`,
pages/*.py are `/new_run`, `/thread`, `/audit`, `/insights`), so every page calls `page_frame(title)` first; a
page opened straight from its URL gets the same sidebar as one reached by a link. Streamlit's own
sidebar list (file names, the main page labelled "app") is hidden in .streamlit/config.toml
(`client.showSidebarNavigation = false`) and `NAVIGATION` is drawn instead: one button per page,
each with a keyboard shortcut (Alt+1..5; `st.page_link` takes none).

The reviewer's name is also kept in the URL (`?reviewer=`), so a reload or a bookmark keeps it
until sign-in replaces the name box; nothing else about the reviewer is stored in the browser.
"""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

import streamlit as st

from ui import auth, keys, page_style
from ui.console import REVIEWER_KEY, db_label_or_problem, get_console, reviewer_name
from ui.format import md_escape

APP_TITLE = "Review console"
NEW_DATABASE_NOTE = "No database was at this path: a new, empty one was created."
SIDEBAR_PX = 220  # narrow: a 1024 px laptop keeps ~640 px for the Inbox table
REVIEWER_PARAM = "reviewer"
# The links the Inbox followed on this visit (`?row=`, `?thread=`): forgotten on another page, so that coming back
# through a link (the Thread page's) follows it. (A submit's banner stays until dismissed.)
INBOX_ONLY_STATE = ("inbox_card_link", "inbox_thread_link")


class NavLink(NamedTuple):
    """One page of the console in the sidebar: its script (relative to app.py), label, icon and shortcut."""

    page: str
    label: str
    icon: str
    shortcut: str


NAVIGATION = (
    NavLink("app.py", "Inbox", ":material/inbox:", keys.PAGES[0]),
    NavLink("pages/new_run.py", "New run", ":material/play_circle:", keys.PAGES[1]),
    NavLink("pages/thread.py", "Thread", ":material/timeline:", keys.PAGES[2]),
    NavLink("pages/audit.py", "Audit", ":material/history:", keys.PAGES[3]),
    NavLink("pages/insights.py", "Insights", ":material/insights:", keys.PAGES[4]),
)
INBOX, NEW_RUN, THREAD = (link.page for link in NAVIGATION[:3])  # the pages others link to


FAVICON = str(Path(__file__).with_name("favicon.png"))


def page_frame(title: str) -> None:
    """Set up the page called `title` and draw the shared sidebar; stops the page when the database fails.

    Call it first in every page file, before anything is drawn.
    """
    st.set_page_config(
        page_title=f"{title} · {APP_TITLE}",
        page_icon=FAVICON,  # a file: a ":material/...:" icon is fetched from fonts.gstatic.com by the browser
        layout="wide",
        initial_sidebar_state=SIDEBAR_PX,
    )
    auth.require_sign_in()  # with sign-in configured, nothing else shows to a visitor who is not signed in
    state = st.session_state
    if title != "Inbox":
        for key in INBOX_ONLY_STATE:
            state.pop(key, None)
    with st.sidebar:
        target = None
        for link in NAVIGATION:
            here = link.label == title
            if st.button(
                link.label,
                key=f"nav_{link.label.lower().replace(' ', '_')}",
                icon=link.icon,
                type="secondary" if here else "tertiary",
                shortcut=link.shortcut,
                help=keys.with_key(f"Go to {link.label}", link.shortcut),
                width="stretch",
            ):
                target = link.page
        if target is not None and target != _page_of(title):
            st.switch_page(target)
        if auth.auth_configured():
            auth.sidebar_identity()  # the signed-in identity and a sign-out button; no name box
        else:
            # The name typed on one page stays for the next ("session"), and in the URL for a reload.
            wanted = st.query_params.get(REVIEWER_PARAM)
            if wanted and not state.get(REVIEWER_KEY):
                state[REVIEWER_KEY] = wanted
            st.text_input("Reviewer name", key=REVIEWER_KEY, placeholder="Your name", persist_state="session")
            name = reviewer_name()
            if name and st.query_params.get(REVIEWER_PARAM) != name:
                st.query_params[REVIEWER_PARAM] = name
            elif not name and REVIEWER_PARAM in st.query_params:
                del st.query_params[REVIEWER_PARAM]
            st.caption("Required before decisions are sent; stored with every decision, marked unverified.")
            st.caption("Sign-in is not configured (see .streamlit/secrets.example.toml).")
        st.caption(f"Database: {md_escape(db_label_or_problem())}")  # never a password
        page_style.mount()
    console = get_console()  # a database that cannot be opened stops the page here, with the reason
    graphs = console.graphs.ids
    st.sidebar.caption(f"{'Graphs' if len(graphs) > 1 else 'Graph'}: {md_escape(', '.join(graphs))}")
    if console.created and not console.threads(limit=1):
        st.sidebar.info(NEW_DATABASE_NOTE)
    # A failing heartbeat or recovery sweep, a read-only database; an Agent Server's trouble is drawn by the Inbox
    # body beside its rows, which redraws when it changes (the sidebar does not).
    for problem in console.health(sources=False):
        st.sidebar.warning(md_escape(problem))


def _page_of(title: str) -> str | None:
    return next((link.page for link in NAVIGATION if link.label == title), None)
