"""The one `ReviewConsole` of this server process, shared by every session, and the reviewer's name.

The database is `streamlit run app.py -- --db PATH`, else $REVIEW_DB, else data/review.sqlite.
The console is cached per resolved path (`st.cache_resource`): it owns the worker threads that
apply decisions, so a rerun or a closed tab never cuts a resume short. It is closed when the
cache releases it.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

import streamlit as st
from streamlit.runtime.pages_manager import PagesManager

from review import ReviewConsole, StoreError, resolve_db_path
from ui.format import md_escape

REVIEWER_KEY = "reviewer"
APP_RAN_KEY = "_review_console_app_ran"


def db_path_setting(argv: Sequence[str] | None = None) -> Path:
    """The database this server uses: `--db` after `--`, else REVIEW_DB, else the default; absolute."""
    parser = argparse.ArgumentParser(add_help=False, allow_abbrev=False)
    parser.add_argument("--db")
    known, _ = parser.parse_known_args(list(sys.argv[1:] if argv is None else argv))
    return resolve_db_path(known.db).expanduser().resolve()


def _close(console: ReviewConsole) -> None:
    console.close()


@st.cache_resource(show_spinner=False, on_release=_close)
def open_console(path: str) -> ReviewConsole:
    """The console of `path`, opened once per process (recovering decisions a killed process left)."""
    return ReviewConsole.open(path)


def mark_app_ran() -> None:
    """Called by app.py on every run, before the page runs."""
    st.session_state[APP_RAN_KEY] = True


def get_console() -> ReviewConsole:
    """The console for this server's database; shows the error and stops the page when it cannot open."""
    if not st.session_state.get(APP_RAN_KEY):
        _leave_pages_folder_mode()
    path = db_path_setting()
    try:
        return open_console(str(path))
    except (StoreError, ValueError) as exc:
        st.error(md_escape(f"Cannot open the review database: {exc}"))
        st.stop()
        raise  # st.stop() raises; this keeps type checkers content


def _leave_pages_folder_mode() -> None:
    """Rerun through app.py when a page was run without it.

    Until app.py first calls st.navigation, Streamlit treats the `pages/` folder next to it the old
    way: a first request for a page URL (e.g. /audit right after the server starts) runs that page
    file alone, without app.py's navigation and sidebar, and keeps doing so. Turning that mode off is
    exactly what st.navigation does; the rerun then goes through app.py to the same URL.
    """
    attempts = st.session_state.get("_review_console_reruns", 0)
    if attempts >= 2:  # never loop: show the page as it is
        return
    st.session_state["_review_console_reruns"] = attempts + 1
    PagesManager.uses_pages_directory = False
    st.rerun()


def reviewer_name() -> str:
    """The name typed in the sidebar, trimmed ('' when none)."""
    return str(st.session_state.get(REVIEWER_KEY) or "").strip()
