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

Which row the reviewer clicked is told by another component, in the review card's fragment (ui/row_focus.py).
"""

from __future__ import annotations

from typing import Any

import streamlit as st

from ui import inbox

GATE_KEY = "inbox_idle_gate"
GATE_ALIVE = "inbox_gate_alive"
GATE_HELD = "inbox_gate_held"
IDLE_MS = 1500
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
        },
        on_alive_change=_gate_alive,
        on_idle_change=_reviewer_paused,
        height=0,
    )
