"""AppTest fixtures: a fresh database per test, the app's own cached console, helpers to drive the editor."""

from __future__ import annotations

import html
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from review import ReviewConsole
from ui import inbox
from ui.console import close_consoles, open_console

APP = "../../app.py"  # AppTest resolves it against this file


@pytest.fixture(autouse=True)
def _close_app_consoles() -> Iterator[None]:
    """Every console a test's pages opened is closed after it (the app keeps one per process, ui/console.py)."""
    yield
    close_consoles()


@pytest.fixture
def app_db(db_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A fresh database for the app (REVIEW_DB); the app's console is closed afterwards."""
    monkeypatch.setenv("REVIEW_DB", str(db_path))
    monkeypatch.delenv("REVIEW_AGENT", raising=False)
    st.cache_resource.clear()
    close_consoles()
    yield db_path
    st.cache_resource.clear()
    close_consoles()


@pytest.fixture
def app(app_db: Path) -> AppTest:
    return AppTest.from_file(APP, default_timeout=30)


@pytest.fixture
def app_console(app: AppTest, app_db: Path) -> ReviewConsole:
    """The very console object the app's pages use (one per process and database)."""
    return open_console(str(app_db.resolve()))


def run(at: AppTest) -> AppTest:
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def editor_frame(at: AppTest, nth: int | None = None) -> pd.DataFrame:
    """The frames the Inbox tables were rendered with (the draft merged in), one below the other in page order
    (the editors, one per set of decisions the rows offer, then the read-only rows' table); or the `nth` editor's."""
    tables = list(at.dataframe) if nth is None else [at.data_editor[nth]]  # at.dataframe holds the editors too
    assert tables, "no Inbox table was rendered"
    frame = pd.concat([table.value for table in tables], ignore_index=True).astype(object)
    return frame.where(frame.notna(), None)  # empty cells as None, as the page built them


def editor_key(at: AppTest, nth: int = 0) -> str:
    """The widget key of the `nth` editor the Inbox rendered last (top to bottom)."""
    return list(at.session_state[inbox.STATE_EDITORS])[nth]


def set_edits(at: AppTest, edited_rows: dict[int, dict[str, Any]]) -> str:
    """Write edits the way the browser reports them: by position in each editor, under that editor's key.

    `edited_rows` is keyed by position in the whole Inbox (its tables one below the other, as `editor_frame`
    gives them); each edit goes to the editor that shows that row. The key of the first editor written."""
    shown = list(at.session_state[inbox.STATE_RENDERED])
    by_editor: dict[str, dict[int, dict[str, Any]]] = {}
    for position, changes in edited_rows.items():
        row = shown[position]
        key = next(k for k, keys in at.session_state[inbox.STATE_EDITORS].items() if row in keys)
        by_editor.setdefault(key, {})[at.session_state[inbox.STATE_EDITORS][key].index(row)] = changes
    for key, rows in by_editor.items():
        at.session_state[key] = {"edited_rows": rows, "added_rows": [], "deleted_rows": []}
    return next(iter(by_editor))


def click(at: AppTest, key: str) -> AppTest:
    at.button(key=key).click()
    return run(at)


def settle(at: AppTest, timeout: float = 60.0) -> AppTest:
    """Run again until this session's batch has finished resuming (its banner is shown).

    The click handler only starts the resumes; in the browser a 0.2 s fragment follows them, in
    AppTest each `run()` is one look.
    """
    deadline = time.monotonic() + timeout
    while inbox.STATE_BATCH in at.session_state:
        assert time.monotonic() < deadline, "the batch did not finish resuming"
        time.sleep(0.05)
        run(at)
    return at


def submit(at: AppTest) -> AppTest:
    """Click Submit decisions and wait for the batch's banner."""
    return settle(click(at, "inbox_submit"))


def threads_shown(at: AppTest) -> list[str]:
    """The thread id of each row the editor shows, in order (the table names threads by their request)."""
    return [key.split(":", 1)[0] for key in at.session_state[inbox.STATE_RENDERED]]


def details(at: AppTest) -> list[str]:
    """The per-thread lines of the last banner (folded in an expander)."""
    banner = [e for e in at.expander if e.label.startswith("Per thread")]
    return [line for e in banner for t in e.text for line in t.value.split("\n")]


def shown_text(markdown: str) -> str:
    """What a Markdown body escaped with ui.format.md_escape shows in the browser."""
    return html.unescape(re.sub(r"\\(.)", r"\1", markdown))


def alerts(at: AppTest, kind: str) -> list[str]:
    """The shown text of each st.success / st.warning / st.error / st.info, one line per line."""
    return ["\n".join(line.strip() for line in shown_text(e.value).split("\n")) for e in getattr(at, kind)]
