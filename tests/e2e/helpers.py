"""Driving the console in Chromium: Streamlit's websocket as a clock, and the glide grid by keyboard.

What held up under load on these machines (see ../shared/docs/testing.md):
- wait for Streamlit's own messages (a rerun the browser asked for, then that run's `script_finished`),
  never for a fixed time;
- read `st.data_editor` cells from the grid's hidden accessibility table (`glide-cell-{col}-{row}`);
- reach a cell with the keyboard from the first cell (a scroller covers the canvas, so clicks are refused);
  select cells take Enter, the option's text, Enter; text cells take Enter, the portal's textarea, Enter.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import Locator, Page, WebSocket, expect
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError
from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

from ui.format import request_words
from ui.inbox import CELL_WORDS

ROOT = Path(__file__).resolve().parents[2]
TIMEOUT_MS = 30_000  # generous: both cores may be busy with the server, the agent and Chromium

# The Inbox editor's columns for tool calls (approve, edit or reject), in the order the page gives them: what a row
# is and where first (a laptop shows them with the decision and message), then the decision; ui/inbox.py COLUMNS.
INBOX_COLUMNS = ("tool", "arguments", "thread", "decision", "message", "edited arguments", "status", "waiting")
# A group without edit (approve or reject), or questions (respond: its message column is called "answer").
NO_EDIT_COLUMNS = ("tool", "arguments", "thread", "decision", "message", "status", "waiting")

HEADER_PX = ROW_PX = 35  # st.data_editor's default header and row heights
# After an edit glide moves the focus to a cell of its accessibility table, inside the canvas.
_GRID_HAS_FOCUS = """(nth) => {
    const grid = document.querySelectorAll('[data-testid="stDataFrame"]')[nth];
    const canvas = grid && grid.querySelector('[data-testid="data-grid-canvas"]');
    return !!canvas && canvas.contains(document.activeElement);
}"""
_FINISHED = {ForwardMsg.FINISHED_SUCCESSFULLY, ForwardMsg.FINISHED_FRAGMENT_RUN_SUCCESSFULLY}


def thread_cell(prompt: str) -> str:
    """What the Inbox's thread column shows of a thread started with `prompt` (its short id may come before)."""
    return request_words(prompt, CELL_WORDS)


# --- the review core's CLI, in another process ------------------------------------------------


def review_cli(db: Path, *args: str, stdin: str | None = None, check: bool = True) -> Any:
    """Run `python -m review --db DB ...` in another process and return its JSON output."""
    done = subprocess.run(
        [sys.executable, "-m", "review", "--db", str(db), *args],
        cwd=ROOT,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
    )
    if check and done.returncode != 0:
        raise AssertionError(f"review {' '.join(args)} exited {done.returncode}: {done.stdout}{done.stderr}")
    return json.loads(done.stdout) if done.stdout.strip() else None


def start_thread(db: Path, prompt: str) -> tuple[str, list[dict[str, Any]]]:
    """Start the demo agent on `prompt` from another process; its thread id and pending rows."""
    out = review_cli(db, "start", prompt)
    return out["thread_id"], out["pending"]


# --- Streamlit's websocket as the clock ---------------------------------------------------------


@dataclass
class ScriptClock:
    """Counts Streamlit's own websocket messages for one page.

    Events, in arrival order: "connect" (a new websocket: a page load), "ask" (the browser asked for a
    rerun because the user did something), "auto" (a fragment timer asked), "start" (`new_session`: a
    run began), "done" (`script_finished`: a full or fragment run completed), "early" (a run cut short).
    """

    page: Page
    events: list[str] = field(default_factory=list)
    socket: WebSocket | None = None

    def __post_init__(self) -> None:
        self.page.on("websocket", self._attach)

    def _attach(self, ws: WebSocket) -> None:
        if "_stcore/stream" not in ws.url:
            return
        self.socket = ws
        self.events.append("connect")
        ws.on("framesent", self._sent)
        ws.on("framereceived", self._received)

    def _sent(self, payload: bytes | str) -> None:
        if isinstance(payload, str):
            return
        msg = BackMsg.FromString(payload)
        if msg.WhichOneof("type") == "rerun_script":
            self.events.append("auto" if msg.rerun_script.is_auto_rerun else "ask")

    def _received(self, payload: bytes | str) -> None:
        if isinstance(payload, str):
            return
        msg = ForwardMsg.FromString(payload)
        kind = msg.WhichOneof("type")
        if kind == "new_session":
            self.events.append("start")
        elif kind == "script_finished":
            self.events.append("done" if msg.script_finished in _FINISHED else "early")

    def mark(self) -> int:
        return len(self.events)

    def settled_since(self, mark: int) -> bool:
        """True once a rerun asked for after `mark` has started and finished."""
        tail = self.events[mark:]
        if "ask" not in tail:
            return False
        last_ask = len(tail) - 1 - tail[::-1].index("ask")
        after = tail[last_ask + 1 :]
        return "start" in after and "done" in after[after.index("start") :]

    def wait_rerun(self, mark: int, timeout_ms: float = TIMEOUT_MS) -> None:
        """Block until a rerun the user asked for after `mark` has run to the end."""
        self.wait_for(lambda: self.settled_since(mark), f"a finished rerun after event {mark}", timeout_ms)

    def wait_loaded(self, mark: int, timeout_ms: float = TIMEOUT_MS) -> None:
        """Block until the first run on a websocket opened after `mark` has finished."""

        def loaded() -> bool:
            tail = self.events[mark:]
            if "connect" not in tail:
                return False
            last = len(tail) - 1 - tail[::-1].index("connect")
            return "done" in tail[last:]

        self.wait_for(loaded, "the first run of the loaded page", timeout_ms)

    def wait_for(self, condition: Callable[[], bool], what: str, timeout_ms: float = TIMEOUT_MS) -> None:
        """Wait for a condition on the event log, woken by each frame Streamlit sends (no polling)."""
        deadline = time.monotonic() + timeout_ms / 1000
        while not condition():
            remaining = (deadline - time.monotonic()) * 1000
            if remaining <= 0:
                raise AssertionError(f"timed out waiting for {what}; websocket events: {self.events[-30:]}")
            assert self.socket is not None, "no Streamlit websocket yet"
            try:  # our listeners run before this returns, so `condition` sees the frame
                self.socket.wait_for_event("framereceived", timeout=remaining)
            except PlaywrightTimeoutError:
                continue

    @contextmanager
    def rerun(self, timeout_ms: float = TIMEOUT_MS) -> Iterator[None]:
        """`with clock.rerun(): <action>` returns once the rerun that the action asked for has finished."""
        mark = self.mark()
        yield
        self.wait_rerun(mark, timeout_ms)


# --- one reviewer's browser tab ----------------------------------------------------------------


class App:
    """One browser tab on the console, with its websocket clock."""

    def __init__(self, page: Page, base_url: str) -> None:
        self.page = page
        self.base_url = base_url
        self.clock = ScriptClock(page)
        self.dialogs: list[str] = []  # messages of any alert/confirm/prompt (none may ever open)
        self.page_errors: list[str] = []
        self.retries: list[str] = []  # UI steps that had to start over (reported, to watch flakiness)

    def open(self, path: str = "", title: str = "Inbox") -> None:
        """Load a page from its URL (a new Streamlit session) and wait for its title and first run."""
        mark = self.clock.mark()
        self.page.goto(f"{self.base_url}/{path}")
        self.expect_title(title)
        self.clock.wait_loaded(mark)

    def expect_title(self, title: str) -> None:
        expect(self.page.get_by_role("heading", name=title, exact=True).first).to_be_visible(timeout=TIMEOUT_MS)

    def nav_buttons(self) -> Locator:
        """The sidebar's page buttons (ui/sidebar.py draws them; Streamlit's own page list is hidden)."""
        return self.page.get_by_test_id("stSidebar").get_by_test_id("stButton").get_by_role("button")

    def go(self, title: str) -> None:
        """Switch pages through the sidebar navigation (the session, and the reviewer's name, stay)."""
        with self.clock.rerun():
            self.nav_buttons().filter(has=self.page.get_by_text(title, exact=True)).click()
        self.expect_title(title)

    def set_reviewer(self, name: str, label: str = "Reviewer name") -> None:
        box = self.page.get_by_test_id("stSidebar").get_by_role("textbox", name=label)
        with self.clock.rerun():
            box.fill(name)
            box.press("Enter")
        expect(box).to_have_value(name)

    def go_link(self, label: str, title: str) -> None:
        """Follow an `st.page_link` in the page body (client-side: the session stays)."""
        link = self.page.get_by_test_id("stPageLink").get_by_role("link", name=label)
        with self.clock.rerun():
            link.first.click()
        self.expect_title(title)

    def button(self, name: str) -> Locator:
        """A button by its label (its accessible name also holds its keyboard shortcut, e.g. `Alt + A`)."""
        return self.page.get_by_role("button", name=re.compile(rf"^(\S+ )?{re.escape(name)}( |$)")).filter(
            has=self.page.get_by_text(name, exact=True)
        )

    def click(self, name: str) -> None:
        """Click a button and wait for the rerun it causes."""
        button = self.button(name)
        expect(button).to_be_enabled(timeout=TIMEOUT_MS)
        with self.clock.rerun():
            button.click()

    def press(self, keys: str) -> None:
        """Press a keyboard shortcut and wait for the rerun it causes."""
        with self.clock.rerun():
            self.page.keyboard.press(keys)

    def multiselect(self, label: str, option: str, *, prefix: bool = False) -> None:
        """Add `option` (its shown text, or the start of it with `prefix`) to the multiselect labelled `label`."""
        widget = self.page.get_by_test_id("stMultiSelect").filter(has=self.page.get_by_text(label, exact=True))
        name: str | re.Pattern[str] = re.compile("^" + re.escape(option)) if prefix else option
        chip = widget.get_by_role(
            "button", name=re.compile("^Remove " + re.escape(option)) if prefix else f"Remove {option}"
        )
        if chip.count():
            return

        def attempt() -> None:
            if chip.count():  # an earlier attempt got through after all
                return
            widget.get_by_role("combobox").click()
            self.page.get_by_role("option", name=name, exact=not prefix).click()
            # Close the list: it covers the grid, and while open it hides the chosen chips from roles.
            self.page.keyboard.press("Escape")
            expect(chip).to_be_visible(timeout=5_000)

        self._retry(attempt)

    def selectbox(self, label: str, option: str, *, prefix: bool = False) -> None:
        """Pick `option` (its shown text, or the start of it with `prefix`) in the selectbox labelled `label`."""
        widget = self.page.get_by_test_id("stSelectbox").filter(has=self.page.get_by_text(label, exact=True))
        box = widget.get_by_role("combobox")
        name: str | re.Pattern[str] = re.compile("^" + re.escape(option)) if prefix else option

        def attempt() -> None:
            box.scroll_into_view_if_needed()  # a list opened while the page scrolls to it closes again
            box.click(timeout=5_000)
            self.page.get_by_role("option", name=name, exact=not prefix).click(timeout=5_000)
            expect(box).to_have_value(name, timeout=5_000)

        self._retry(attempt)

    def _retry(self, attempt: Callable[[], None], tries: int = 3) -> None:
        """Run a UI step until it verifies itself, then wait for the rerun it asked for.

        A page refresh (the Inbox redraws every second) can close a list or an editor half-way; the
        step then starts over. Each attempt checks its own visible result before it counts.
        """
        mark = self.clock.mark()
        for number in range(1, tries + 1):
            try:
                attempt()
                break
            except (AssertionError, PlaywrightError) as exc:
                self.retries.append(f"{attempt.__qualname__}: {str(exc).splitlines()[0]}")
                if os.environ.get("REVIEW_E2E_DEBUG"):  # the whole error of a retried step, when asked
                    print(str(exc)[:3000])
                if number == tries:
                    raise AssertionError(f"gave up after {tries} attempts: {self.retries[-tries:]}") from exc
                self.page.keyboard.press("Escape")  # close whatever is half open, then start over
        self.clock.wait_rerun(mark)

    def screenshot(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.page.screenshot(path=str(path), full_page=True)


# --- st.data_editor / st.dataframe --------------------------------------------------------------


class Grid:
    """A glide data grid (`st.data_editor`), read through its accessibility table, driven by keyboard."""

    def __init__(self, app: App, nth: int = 0, columns: tuple[str, ...] = INBOX_COLUMNS) -> None:
        self.app = app
        self.page = app.page
        self.nth = nth  # which `st.dataframe` / `st.data_editor` of the page, top to bottom
        self.root = self.page.get_by_test_id("stDataFrame").nth(nth)
        self.columns = columns

    @classmethod
    def with_header(cls, app: App, header: str, columns: tuple[str, ...]) -> Grid:
        """The first grid of the page that has a column called `header` (waits for it)."""
        found = app.page.wait_for_function(
            """(header) => {
                const grids = [...document.querySelectorAll('[data-testid="stDataFrame"]')];
                const nth = grids.findIndex((g) =>
                    [...g.querySelectorAll("th[role=columnheader]")].some((th) => th.textContent.trim() === header));
                return nth + 1;
            }""",
            arg=header,
            timeout=TIMEOUT_MS,
        )
        return cls(app, int(found.json_value()) - 1, columns)

    def col(self, name: str) -> int:
        return self.columns.index(name)

    def cell(self, col: int | str, row: int) -> Locator:
        index = self.col(col) if isinstance(col, str) else col
        return self.root.get_by_test_id(f"glide-cell-{index}-{row}")

    def row_count(self) -> int:
        """Data rows, from the table's aria-rowcount (which counts the header row)."""
        table = self.root.locator("table[role=grid]")
        if table.count() == 0:
            return 0
        return int(table.get_attribute("aria-rowcount") or "1") - 1

    def texts(self, col: int | str) -> list[str]:
        """The shown text of one column, row by row (the rows are few: no virtual scrolling)."""
        index = self.col(col) if isinstance(col, str) else col
        return [self.cell(index, row).inner_text() for row in range(self.row_count())]

    def find_row(
        self, col: int | str, text: str, timeout_ms: float = TIMEOUT_MS, *, prefix: bool = False, part: bool = False
    ) -> int:
        """The index of the one row whose `col` shows exactly `text` (or starts with it, `prefix`; or holds it,
        `part`); waits for one."""
        index = self.col(col) if isinstance(col, str) else col
        mode = "part" if part else "prefix" if prefix else "exact"
        handle = self.page.wait_for_function(
            """([nth, index, text, mode]) => {
                const root = document.querySelectorAll('[data-testid="stDataFrame"]')[nth];
                if (!root) return 0;
                const cells = root.querySelectorAll(`[data-testid^="glide-cell-${index}-"]`);
                const shows = (c) => mode === "part" ? c.textContent.includes(text)
                    : mode === "prefix" ? c.textContent.startsWith(text) : c.textContent === text;
                const hits = [...cells].filter(shows);
                return hits.length === 1 ? Number(hits[0].dataset.testid.split("-").pop()) + 1 : 0;
            }""",
            arg=[self.nth, index, text, mode],
            timeout=timeout_ms,
        )
        return int(handle.json_value()) - 1

    def headers(self) -> list[str]:
        return [h.strip() for h in self.root.locator("th[role=columnheader]").all_inner_texts()]

    def focus(self, col: int | str, row: int) -> None:
        """Select a cell by keyboard, pressing on the grid first when the focus is elsewhere.

        A scroller covers the canvas, so the press goes to the top-left cell by coordinates (a read-only
        column: a press that lands late cannot edit anything). Glide takes the selection a moment after
        the press and ignores keys sent before, so each step waits for the selection it made; Ctrl+Home
        then goes to the first cell (also in a scrolled grid) and arrows to the wanted one.
        """
        index = self.col(col) if isinstance(col, str) else col
        selected = self.root.locator('[role="gridcell"][aria-selected="true"]')
        if not (self._has_focus() and selected.count() == 1):  # keys move a selection, they do not make one
            canvas = self.root.get_by_test_id("data-grid-canvas")
            for press in range(1, 4):  # a press that glide did not answer is made again
                box = canvas.bounding_box()
                assert box is not None, "the grid is not on screen"
                x, y = box["x"] + 12, box["y"] + HEADER_PX + ROW_PX / 2
                # Hover first: a press with no pointer move over a freshly drawn grid often selected nothing.
                self.page.mouse.move(x - 4, y)
                self.page.mouse.move(x, y, steps=2)
                self.page.mouse.click(x, y, delay=50)
                try:
                    expect(selected).to_have_count(1, timeout=2_500)
                    break
                except AssertionError:
                    if press == 3:
                        raise
                    self.app.retries.append("Grid.focus: the press made no selection")
            self.page.wait_for_function(_GRID_HAS_FOCUS, arg=self.nth, timeout=5_000)
        keyboard = self.page.keyboard
        keyboard.press("Control+Home")
        expect(self.cell(0, 0)).to_have_attribute("aria-selected", "true", timeout=5_000)
        for _ in range(index):
            keyboard.press("ArrowRight")
        for _ in range(row):
            keyboard.press("ArrowDown")
        expect(self.cell(index, row)).to_have_attribute("aria-selected", "true", timeout=5_000)

    def _has_focus(self) -> bool:
        return bool(self.page.evaluate(_GRID_HAS_FOCUS, self.nth))

    def choose(self, col: int | str, row: int, option: str) -> None:
        """Set a select cell: Enter, type the option, Enter; wait for the rerun the edit causes.

        A refresh of the page can redraw the grid while its editor is open and close it; then the
        steps are taken again from the start (setting the same value twice is harmless).
        """
        overlay = self.page.get_by_test_id("portal").locator("[id^=gdg-overlay]")
        combobox = overlay.get_by_role("combobox")
        options = self.page.get_by_test_id("portal").get_by_role("listbox").get_by_role("option")

        def attempt() -> None:
            self.focus(col, row)
            self.page.keyboard.press("Enter")
            expect(combobox).to_be_visible(timeout=5_000)
            combobox.press_sequentially(option)
            expect(options).to_have_text([option], timeout=5_000)
            combobox.press("Enter")
            expect(self.cell(col, row)).to_have_text(option, timeout=5_000)

        self.app._retry(attempt)

    def type_text(self, col: int | str, row: int, text: str) -> None:
        """Set a text cell: Enter, fill the overlay's textarea, Enter; wait for the rerun."""
        editor = self.page.get_by_test_id("portal").locator("[id^=gdg-overlay] textarea")

        def attempt() -> None:
            self.focus(col, row)
            self.page.keyboard.press("Enter")
            expect(editor).to_be_visible(timeout=5_000)
            editor.fill(text)
            editor.press("Enter")
            expect(self.cell(col, row)).to_have_text(text, timeout=5_000)

        self.app._retry(attempt)
