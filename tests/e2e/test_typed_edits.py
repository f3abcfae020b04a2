"""Nothing typed into the Inbox grid is lost (issue 20 item 3), in Chromium.

The issue measured 2 of 12 typed cell edits silently lost, and 2 cell editors that never opened, each 0.4-1.5 s
after a value was chosen in a select cell, while other threads' rows came and went. The cause: a rerun drew the
table with other rows, which is a new grid in the browser (a new editor key, another row count), so the cell
editor open in the old one closed, and an edit committed into it was sent for a widget that no longer existed.

Here a reviewer types 40 cell edits in quick succession, most right after choosing a decision and without waiting
for that choice's rerun, while another process keeps starting runs whose rows join the Inbox. Every edit must
reach the draft the store keeps for the reviewer, on its own row; the new rows join the table once the reviewer
pauses.
"""

from __future__ import annotations

import json
import random
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import ARTIFACTS, Server
from tests.e2e.helpers import ROOT, TIMEOUT_MS, App, Grid
from tests.e2e.test_flows import expect_rows, reviewer
from tests.helpers import store_query

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
THREADS = 14  # paused at 3 rows each: 42 rows, 40 of them typed into
EDITS = 40
DESKTOP = {"width": 1280, "height": 800}


def prepare_test_forty_quick_edits_all_reach_the_draft_while_rows_come_and_go(db: Path) -> None:
    from bench.seed import seed

    seed(db, threads=THREADS, paused=THREADS, templates=2)


class Churn:
    """Another process starting runs, one after the other, until stopped: their rows join the Inbox."""

    def __init__(self, server: Server) -> None:
        self.server = server
        self.started = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            done = subprocess.run(
                [sys.executable, "-m", "review", "--db", str(self.server.db), "start", "Draw a red circle z9"],
                cwd=ROOT,
                env=self.server.env,
                capture_output=True,
                timeout=120,
            )
            self.started += done.returncode == 0

    def __enter__(self) -> Churn:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=120)


def committed(grid: Grid, col: str, row: int) -> None:
    """Enter commits the open cell editor; glide then moves the selection one row down (about 0.2 s later, before
    and whatever the rerun the edit causes): a reviewer sees it move before going on, and so does the test."""
    grid.page.keyboard.press("Enter")
    expect(grid.cell(col, row + 1)).to_have_attribute("aria-selected", "true", timeout=3_000)


def choose_fast(grid: Grid, col: str, row: int, option: str) -> None:
    """A select cell, as a quick reviewer sets it: Enter, the option, Enter; no wait for the rerun it causes."""
    overlay = grid.page.get_by_test_id("portal").locator("[id^=gdg-overlay]")
    grid.focus(col, row)
    grid.page.keyboard.press("Enter")
    combobox = overlay.get_by_role("combobox")
    expect(combobox).to_be_visible(timeout=3_000)  # the editor opened (the issue saw some that never did)
    combobox.press_sequentially(option, delay=25)
    committed(grid, col, row)


def type_fast(grid: Grid, col: str, row: int, text: str) -> None:
    """A text cell, typed key by key at a quick typist's pace (25 ms a key), committed with Enter; no wait for
    the rerun. (Keys sent with no delay at all can reach glide's editor after the Enter that commits it.)"""
    grid.focus(col, row)
    grid.page.keyboard.press("Enter")
    expect(grid.page.get_by_test_id("portal").locator("[id^=gdg-overlay] textarea")).to_be_visible(timeout=3_000)
    grid.page.keyboard.type(text, delay=25)
    committed(grid, col, row)


def stored_draft(server: Server, name: str) -> dict[str, dict[str, object]]:
    rows = store_query(server.db, "SELECT row_key, entry FROM review_drafts WHERE reviewer = ?", (name,))
    return {key: json.loads(entry) for key, entry in rows}


@pytest.mark.timeout(600)  # 40 edits by keyboard while another process starts runs: ~3 min on a loaded machine
def test_forty_quick_edits_all_reach_the_draft_while_rows_come_and_go(
    fresh_server: Server, new_app: Callable[..., App]
) -> None:
    name = reviewer("quick")
    app = new_app(f"?reviewer={name}", on=fresh_server, viewport=DESKTOP)
    grid = Grid(app)
    expect_rows(grid, 3 * THREADS)
    pace = random.Random(20)
    typed: dict[str, tuple[str | None, str, str]] = {}  # text -> (decision chosen, draft field, table column)
    unopened: list[str] = []  # edits whose cell editor did not open or lost its cell (the issue saw 2 of 12)
    with Churn(fresh_server) as churn:
        for number in range(EDITS):
            kind = number % 4
            text = f"color=blue, note={number:02d}" if kind == 2 else f"note {number:02d}"
            try:
                if kind in (0, 1):  # reject, then its message at once
                    choose_fast(grid, "decision", number, "reject")
                    time.sleep(pace.uniform(0.0, 1.5))  # the window: 0.4-1.5 s after the choice
                    typed[text] = ("reject", "message", "message")
                    type_fast(grid, "message", number, text)
                elif kind == 2:  # edit, then the new arguments at once
                    choose_fast(grid, "decision", number, "edit")
                    time.sleep(pace.uniform(0.0, 1.5))
                    typed[text] = ("edit", "edited", "edited arguments")
                    type_fast(grid, "edited arguments", number, text)
                else:  # a message with no decision: kept in the draft, refused on its row until one is chosen
                    typed[text] = (None, "message", "message")
                    type_fast(grid, "message", number, text)
            except AssertionError as exc:  # go on like a reviewer would, and count it
                unopened.append(f"{text}: {str(exc).splitlines()[0]}")
                app.page.keyboard.press("Escape")
        joined = churn.started
    assert joined >= 1, "no run started during the edits: the test did not exercise rows coming and going"

    # Every edit reached the stored draft, on the row it was typed into (by position in the table the reviewer saw).
    def draft_holds_all() -> bool:
        held = {
            str(entry.get(field))
            for entry in stored_draft(fresh_server, name).values()
            for field in ("message", "edited")
        }
        return set(typed) <= held

    deadline = time.monotonic() + TIMEOUT_MS / 1000
    while not draft_holds_all() and time.monotonic() < deadline:
        time.sleep(0.2)  # polling the store another process writes, not the page
    entries = stored_draft(fresh_server, name)
    by_text = {
        str(entry.get(field)): entry
        for entry in entries.values()
        for field in ("message", "edited")
        if entry.get(field)
    }
    lost = sorted(set(typed) - set(by_text))
    assert not unopened and not lost, (
        f"{len(unopened)} of {EDITS} cell editors did not open or lost their cell: {unopened}; "
        f"{len(lost)} typed edits never reached the draft: {lost}"
    )
    assert len(by_text) == EDITS and len(entries) == EDITS  # one entry per typed row, none on another row
    for text, (decision, field, _) in typed.items():
        assert by_text[text][field] == text and by_text[text]["decision"] == decision, by_text[text]

    # Once the reviewer pauses, the rows started meanwhile join the table, and each typed text is still on its row.
    expect(grid.root.locator("table[role=grid]")).not_to_have_attribute(
        "aria-rowcount", str(3 * THREADS + 1), timeout=TIMEOUT_MS
    )
    for number, (text, (_, _, column)) in enumerate(list(typed.items())[:8]):  # the rows on screen (older first)
        expect(grid.cell(column, number)).to_have_text(text)
    app.screenshot(ARTIFACTS / "typed-edits-1280x800.png")
    if app.retries:
        print(f"retried steps: {app.retries}")
