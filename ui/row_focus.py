"""Which row of which Inbox table the reviewer clicked: the review card follows it.

The server cannot see a click in a grid; the browser can. This hidden component's script sends the clicked row,
with its first cells' text from the grid's accessibility table (`glide-cell-<col>-<row>`), and `focused_row` finds
the row's key. It tells the row at once, from the click's place in the grid (rows ROW_PX high); only when the
click cannot say (its row's cells not drawn yet), from the focus the grid moves to that row's cell ~200 ms later.
The component sits in the card's own fragment (app.py), so the click reruns only the card: the tables are not sent
again, no grid is redrawn, and a cell editor the same click opens is not disturbed.

Keys do not move the card (arrows walk the cells to type into; Alt+Up / Alt+Down walk the cards), and neither
does the focus glide moves by itself after an edit: only a focus that follows a pointer press within a second.
"""

from __future__ import annotations

import json
from typing import Any

import streamlit as st

from ui import inbox

FOCUS_KEY = "inbox_row_focus"
ROW_PX = 35  # st.data_editor's row and header height (the Inbox sets neither)
_JS = r"""
const ROW_PX = __ROW_PX__;
const FOCUS_MS = 60;
export default function (component) {
  const { setTriggerValue } = component;
  // The card's latest reporter (a rerun of the card mounts it again): a click is sent through it.
  window.__reviewFocusSend = (at) => setTriggerValue("focus", JSON.stringify(at));
  if (window.__reviewFocusWired) return;
  window.__reviewFocusWired = true;
  let pointer = 0;
  let clicked = 0;  // when a click was told from its place in the grid: the focus that follows it is not told
  let last = { said: "", at: 0 };
  const report = (grid, box, row) => {
    const table = [...box.classList].find((c) => c.startsWith("st-key-inbox_")).slice("st-key-".length);
    const text = (c) => grid.querySelector(`[data-testid="glide-cell-${c}-${row}"]`)?.textContent ?? "";
    const at = { table, row, cells: [text(0), text(1), text(2)] };
    const said = JSON.stringify(at);
    // one click is told twice (the click itself, then the focus the grid moves ~200 ms later): one report
    if (said === last.said && Date.now() - last.at < 1000) return;
    last = { said, at: Date.now() };
    window.__reviewFocusSend?.(at);
  };
  const tableOf = (element) =>
    element.closest('[class*="st-key-inbox_editor_"], [class*="st-key-inbox_table_"]');
  document.addEventListener("pointerdown", () => { pointer = Date.now(); }, true);
  // The click itself: the row under the pointer, from the grid's geometry (Streamlit's rows and header are ROW_PX
  // high), told at once only when the grid's accessibility table has that row's cells; the server checks them.
  document.addEventListener("click", (event) => {
    const grid = event.target?.closest?.('[data-testid="stDataFrame"]');
    const box = grid && tableOf(grid);
    const canvas = grid?.querySelector('[data-testid="data-grid-canvas"]');
    if (!box || !canvas) return;
    const top = canvas.getBoundingClientRect().top;
    const scrolled = grid.querySelector(".dvn-scroller")?.scrollTop ?? 0;
    const y = event.clientY - top - ROW_PX;  // below the header
    if (y < 0) return;
    const row = Math.floor((y + scrolled) / ROW_PX);
    if (grid.querySelector(`[data-testid="glide-cell-0-${row}"]`)) {
      clicked = Date.now();
      report(grid, box, row);
    }
  }, true);
  // Else the focus the grid gives a cell of its accessibility table after the click, once it rested FOCUS_MS
  // (the grid moves it through the last row's cell first).
  let resting = null;
  document.addEventListener("focusin", (event) => {
    const cell = event.target?.closest?.('[data-testid^="glide-cell-"]');
    const match = cell && /^glide-cell-(\d+)-(\d+)$/.exec(cell.getAttribute("data-testid"));
    const box = cell && tableOf(cell);
    if (!match || !box || Date.now() - pointer > 1000 || Date.now() - clicked < 1000) return;
    clearTimeout(resting);
    resting = setTimeout(() => report(cell.closest('[data-testid="stDataFrame"]'), box, Number(match[2])), FOCUS_MS);
  }, true);
}
"""
_component: Any = None


def _focused() -> None:
    """The reviewer clicked a row: that row's card (`focused_row` finds it)."""
    raw = (st.session_state.get(FOCUS_KEY) or {}).get("focus")
    try:
        said = json.loads(raw) if isinstance(raw, str) else None
    except ValueError:
        return
    if isinstance(said, dict):
        key = focused_row(st.session_state.get(inbox.STATE_TABLES) or {}, said)
        if key is not None:
            st.session_state[inbox.STATE_CARD] = key
            st.session_state[inbox.STATE_CARD_MOVED] = True


def focused_row(tables: dict[str, list[tuple[str, tuple[str, ...]]]], said: dict[str, Any]) -> str | None:
    """The row key of the row the browser says has the grid's focus: `tables` maps each table's widget key to
    its rows (key and first cells, in the frame's order). The position is checked against the cells' text (a
    sorted grid shows another order): where they differ, the row whose cells match, if only one does."""
    rows = tables.get(str(said.get("table")))
    position = said.get("row")
    if not rows or not isinstance(position, int):
        return None
    cells = tuple(str(c) for c in said.get("cells") or ())
    if 0 <= position < len(rows) and rows[position][1][: len(cells)] == cells:
        return rows[position][0]
    matching = [key for key, shown in rows if shown[: len(cells)] == cells]
    return matching[0] if len(matching) == 1 else None


def mount() -> None:
    """Mount the reporter in the card's fragment (its trigger reruns that fragment only)."""
    global _component
    if _component is None:
        _component = st.components.v2.component(
            "review_row_focus", js=_JS.replace("__ROW_PX__", str(ROW_PX)), html="<span></span>"
        )
    _component(key=FOCUS_KEY, data={}, on_focus_change=_focused, height=0)
