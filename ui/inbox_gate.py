"""The Inbox's idle gate: when may the table change its rows under the reviewer?

A table whose rows change is a new grid in the browser (ui/inbox.py): a cell editor open in the old one closes and
its text is lost, and the selected cell is gone, so the next Enter opens nothing. The server cannot see typing; the
browser can. This hidden component's script watches the reviewer's input (keys, clicks, the wheel, an open cell
editor) and, while the page holds rows back (`mount(sheet)` with a held sheet), says when the reviewer paused: a
trigger that reruns the Inbox body, whose callback lets that run take the live rows (`inbox.STATE_ADOPT`).

A pause is IDLE_MS without input and no cell editor open; GRID_IDLE_MS when the last input was in a grid (the
reviewer works down the rows). Typing (a cell editor open, or a grid key less than TYPING_MS ago: Streamlit sends a
committed cell ~150 ms later) is also told to the page's change watcher (`window.__reviewTyping`, ui/live.py), which
holds its rerun meanwhile: a rerun that redrew the grid while a cell editor was open lost the typed text (no edit
ever reached the server; 2 of ~300 quick edits in tests/e2e/test_typed_edits.py).
The script reports once per page load that it runs (`alive`): until then (AppTest,
a page still loading) nothing holds rows but the run an edit caused.

The same script says two more things the server cannot see. Which row of which table the reviewer clicked: a click
moves the grid's focus to a cell of its accessibility table (`glide-cell-<col>-<row>`), and the row, with its first
cells' text, is sent (`focus`) once it rested FOCUS_MS, so the review card follows it (`focused_row`). Keys do not
move the card (arrows walk the cells to type into; Alt+Up / Alt+Down walk the cards), so typing in the grid never
causes a rerun of its own; where the card is under the tables (a window narrower than WIDE_PX: the script's style sheet
stacks the two columns, no rerun, no new grid). The page never scrolls by itself: a click that only enters the grid
must not carry the reviewer away from the cell they meant to type into.
"""

from __future__ import annotations

import json
from typing import Any

import streamlit as st

from ui import inbox

GATE_KEY = "inbox_idle_gate"
GATE_ALIVE = "inbox_gate_alive"
GATE_HELD = "inbox_gate_held"
IDLE_MS = 1500
FOCUS_MS = 120  # a clicked row the grid's focus rested on this long is the card's
GRID_IDLE_MS = 5000
TYPING_MS = 600  # after a grid key, the reviewer counts as typing this long (ui/live.py's watcher waits)
_GATE_JS = r"""
const TYPING_MS = __TYPING_MS__;
export default function (component) {
  const { parentElement, data, setStateValue, setTriggerValue } = component;
  if (!window.__reviewInput) {
    const input = (window.__reviewInput = { last: Date.now(), inGrid: false });
    // where the reviewer acted last: a grid's cells or its cell editor (drawn in the page's portal)
    const grids = '[data-testid="stDataFrame"], [data-testid="portal"]';
    const mark = (event) => {
      input.last = Date.now();
      input.inGrid = !!event.target?.closest?.(grids);
    };
    for (const type of ["keydown", "pointerdown", "input", "paste", "compositionstart", "wheel"]) {
      document.addEventListener(type, mark, true);
    }
    // Typing into a grid: a cell editor is open, or was committed a moment ago (Streamlit sends the edit
    // ~150 ms later). A redraw of the page then can lose the typed text: ui/live.py's watcher waits meanwhile.
    window.__reviewTyping = () =>
      document.querySelector('[data-testid="portal"] [id^="gdg-overlay"]') !== null ||
      (input.inGrid && Date.now() - input.last < TYPING_MS);
  }
  if (!window.__reviewFocus) {
    // the row the reviewer is on: the grid focuses a cell of its accessibility table on a click or an arrow key
    const focus = (window.__reviewFocus = { at: null, since: 0, pointer: 0 });
    document.addEventListener("pointerdown", () => { focus.pointer = Date.now(); }, true);
    document.addEventListener("focusin", (event) => {
      const cell = event.target?.closest?.('[data-testid^="glide-cell-"]');
      const match = cell && /^glide-cell-(\d+)-(\d+)$/.exec(cell.getAttribute("data-testid"));
      const box = cell && cell.closest('[class*="st-key-inbox_editor_"], [class*="st-key-inbox_table_"]');
      // a click on a row, not the keys: arrows walk the cells to type into, and glide moves its focus after an edit
      if (!match || !box || Date.now() - focus.pointer > 1000) return;
      const table = [...box.classList].find((c) => c.startsWith("st-key-inbox_")).slice("st-key-".length);
      const row = Number(match[2]);
      const grid = cell.closest('[data-testid="stDataFrame"]');
      const text = (c) => grid.querySelector(`[data-testid="glide-cell-${c}-${row}"]`)?.textContent ?? "";
      focus.at = { table, row, cells: [text(0), text(1), text(2)] };
      focus.since = Date.now();
    }, true);
  }
  const gate = parentElement.__reviewGate || (parentElement.__reviewGate = { loop: null, asked: 0, sent: 0 });
  gate.data = data;
  if (!data.alive && !gate.told) {
    gate.told = true;
    setStateValue("alive", true);
  }
  if (gate.loop) return;
  const pause = (ms) => new Promise((done) => setTimeout(done, ms));
  // glide's cell editor is drawn in an overlay outside the grid while it is open
  const editing = () => document.querySelector('[data-testid="portal"] [id^="gdg-overlay"]') !== null;
  gate.loop = (async () => {
    while (parentElement.isConnected) {
      const d = gate.data;
      const input = window.__reviewInput;
      const idle = !editing() && Date.now() - input.last >= (input.inGrid ? d.grid_idle_ms : d.idle_ms);
      if (d.held && idle && (gate.asked !== d.held || Date.now() - gate.askedAt >= d.retry_ms)) {
        gate.asked = d.held;
        gate.askedAt = Date.now();
        gate.sent += 1;
        setTriggerValue("idle", d.held + "#" + gate.sent);
      }
      const focus = window.__reviewFocus;
      const at = focus.at;
      if (at && !editing() && Date.now() - focus.since >= d.focus_ms) {
        const said = JSON.stringify([at.table, at.row]);
        if (said !== gate.focused) {
          gate.focused = said;
          setTriggerValue("focus", JSON.stringify(at));
        }
      }
      await pause(100);
    }
    gate.loop = null;
  })();
}
"""
_gate: Any = None


def _gate_alive() -> None:
    st.session_state[GATE_ALIVE] = True


def _reviewer_paused() -> None:
    st.session_state[inbox.STATE_ADOPT] = True


def _focused() -> None:
    """The grid's focus rested on a row: that row's card (`focused_row` finds it)."""
    raw = (st.session_state.get(GATE_KEY) or {}).get("focus")
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


def alive() -> bool:
    """The gate reported from this session's page: held rows wait for it to say the reviewer paused."""
    return bool(st.session_state.get(GATE_ALIVE))


def held_again() -> None:
    """The table was drawn held once more: a new number, so the gate asks again at the reviewer's next pause."""
    st.session_state[GATE_HELD] = st.session_state.get(GATE_HELD, 0) + 1


def mount(sheet: inbox.Sheet) -> None:
    """Mount the idle gate (inside the Inbox body, which its trigger reruns); it acts only while rows are held."""
    global _gate
    if _gate is None:
        _gate = st.components.v2.component(
            "review_idle_gate", js=_GATE_JS.replace("__TYPING_MS__", str(TYPING_MS)), html="<span></span>"
        )
    state = st.session_state
    _gate(
        key=GATE_KEY,
        data={
            "held": state.get(GATE_HELD, 0) if sheet.held else 0,
            "alive": bool(state.get(GATE_ALIVE)),
            "idle_ms": IDLE_MS,
            "grid_idle_ms": GRID_IDLE_MS,
            "retry_ms": 1000,
            "focus_ms": FOCUS_MS,
        },
        on_alive_change=_gate_alive,
        on_idle_change=_reviewer_paused,
        on_focus_change=_focused,
        height=0,
    )
