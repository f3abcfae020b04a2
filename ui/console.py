"""The one `ReviewConsole` of this server process, shared by every session, and the reviewer's name.

The database is `streamlit run app.py -- --db PATH|postgresql://...`, else $REVIEW_DB, else
data/review.sqlite; the graphs `-- --graph file.py:ATTR` or `-- --config langgraph.json` (the `--`
arguments fill the same `review.Settings` the CLI's flags do). The console owns the worker threads
that apply decisions and the recovery sweep that finishes what a stopped process left, so a rerun or a
closed tab never cuts a resume short.

Its life is the process's, not a cache entry's: one console per resolved path or URL, opened once under a
lock (by serve.py when the server starts, else by the first page), closed at interpreter exit. It is
deliberately NOT an `st.cache_resource`: any browser can send Streamlit's `clear_cache` message, without
signing in, and that clears every resource cache of the process.
"""

from __future__ import annotations

import atexit
import functools
import os
import sys
import threading
from collections.abc import Sequence
from dataclasses import replace

import streamlit as st
from streamlit.logger import get_logger

from review import ReviewConsole, Settings, StoreError
from review.console import InboxWatch
from review.notify import NotifyService, start_notifications
from review.settings import parse_arguments
from review.storage import redact_url
from ui.auth import REVIEWER_KEY, auth_configured, current_reviewer
from ui.format import md_escape

__all__ = ["REVIEWER_KEY", "close_consoles", "get_console", "open_console", "reviewer_name", "settings"]

log = get_logger(__name__)  # Streamlit's handler: the server's log shows it
_consoles: dict[str, ReviewConsole] = {}
_notifiers: dict[str, NotifyService] = {}  # the notifier of each console that has [[notify]] routes
_consoles_lock = threading.Lock()  # held while a console opens: a second caller waits for that one


def settings(argv: Sequence[str] | None = None) -> Settings:
    """This server's settings: the `--` arguments of `streamlit run app.py -- ...` over the environment, read by
    the CLI's own parser (review/settings.py); an unknown argument is a ValueError naming it, never ignored."""
    return _parsed(tuple(sys.argv[1:] if argv is None else argv), tuple(sorted(os.environ.items())))


@functools.lru_cache(maxsize=8)
def _parsed(argv: tuple[str, ...], env: tuple[tuple[str, str], ...]) -> Settings:
    # Every page run asks (a few times): building the parser is ~3 ms; the same arguments and environment
    # give the same settings.
    return parse_arguments(list(argv), prog="streamlit run app.py --", env=dict(env))


def db_setting(argv: Sequence[str] | None = None) -> str:
    """The database this server uses: an absolute file path, or a postgresql:// URL as given."""
    chosen = settings(argv)
    return chosen.db if chosen.is_url else str(chosen.db_path.resolve())


def db_label_setting(argv: Sequence[str] | None = None) -> str:
    """The database as users may see it: the path, or the URL without its password."""
    return redact_url(db_setting(argv))


def open_console(path: str) -> ReviewConsole:
    """The console of `path`, opened once per process; it keeps sweeping for work a stopped process left.

    No client message can close or replace it (see the module docstring); `close_consoles()` at exit does.
    """
    with _consoles_lock:
        console = _consoles.get(path)
        if console is None:
            console = ReviewConsole.open(path, settings=settings(), watch=True)
            if auth_configured():  # sign-in is on: here only a signed-in identity may decide or start runs
                console.policy = console.policy.requiring("signed-in")
            _consoles[path] = console
            # The policy's [[notify]] routes: every replica runs a notifier, the store sends each message once.
            service = start_notifications(console)
            if service is not None:
                _notifiers[path] = service
            log.info("review console opened on %s (console %x)", redact_url(path), id(console))
        return console


def close_consoles() -> None:
    """Close every console this process opened (at interpreter exit, or a test's teardown)."""
    with _consoles_lock:
        opened = list(_consoles.values())
        notifiers = list(_notifiers.values())
        _consoles.clear()
        _notifiers.clear()
    for service in notifiers:  # before their consoles: a delivery in flight finishes or is left to a retry
        try:
            service.stop()
        except Exception:
            log.exception("stopping a notifier failed")
    for console in opened:
        log.info("review console closed (console %x)", id(console))
        try:
            console.close()
        except Exception:  # one console failing to close must not keep the others open
            log.exception("closing a review console failed")


atexit.register(close_consoles)


def get_console() -> ReviewConsole:
    """The console for this server's database; shows the error and stops the page when it cannot open."""
    try:
        path = db_setting()
    except ValueError as exc:  # a bad `--` argument: the server was started wrongly, say so on every page
        st.error(md_escape(f"Cannot start the console: {exc}"))
        st.stop()
        raise
    try:
        return open_console(path)
    except (StoreError, ValueError) as exc:
        st.error(md_escape(f"Cannot open the review database: {exc}"))
        st.stop()
        raise  # st.stop() raises; this keeps type checkers content


def db_label_or_problem() -> str:
    """The database as the sidebar names it, or what is wrong with the server's arguments."""
    try:
        return db_label_setting()
    except ValueError:
        return "(not opened: see the error)"


def inbox_watch() -> InboxWatch | None:
    """The change token of this server's database, read outside any script run (serve.py's route); None when the
    server's arguments are wrong (every page says why)."""
    try:
        chosen = replace(settings(), db=db_setting())
    except ValueError as exc:
        log.error("the review console cannot start: %s", exc)
        return None
    return InboxWatch(chosen)


def reviewer_name() -> str:
    """Who decides, as drafts and gates name them: the signed-in identity, else the typed name ('' when none)."""
    if auth_configured():
        reviewer = current_reviewer()
        return reviewer.identity if reviewer is not None else ""
    return str(st.session_state.get(REVIEWER_KEY) or "").strip()
