"""How an open Inbox learns that something changed, without a script run every 0.2 s per tab.

`streamlit run serve.py` (see serve.py) adds one route to Streamlit's server, `/review/changes?since=TOKEN`:
a long poll that answers as soon as the Inbox's change token (the store's `inbox_token`, a few index reads,
plus the Agent Servers' part, read by `review.console.InboxWatch`) differs from TOKEN, or after
`HOLD_SECONDS` with the same token. ONE task per server process reads the token every `CHECK_SECONDS`,
whatever the number of tabs, so ten idle tabs cost the server ten parked HTTP requests, not fifty script runs
a second. Between two looks the task waits for a checkpoint write (`review.console.InboxWatch.wait`: PostgreSQL's
LISTEN connection; on SQLite the feed's top, every 10 ms), so an interrupt does not wait for the next look.
With sign-in configured it answers only a browser holding Streamlit's signed sign-in cookie
(`ui.auth.session_may_watch`), 401 to anyone else.

In the page, `watch(token)` mounts a tiny component (no visible element) whose script keeps that
request open and, when the token moved, sets a trigger value: Streamlit reruns the fragment the
component sits in (the Inbox body), which draws the table again; with no change for AGE_TICK_SECONDS it does
too (not while the reviewer types into a grid), so the ages the table shows move on. The script asks with the token the
page was last drawn at, so a rerun that got lost is asked for again (RETRY_SECONDS) rather than
leaving the tab on a stale table. Served by plain `streamlit run
app.py` (or AppTest), the route does not exist: `ROUTE_SERVED` is False and the page falls back to a
fragment that checks the token every 0.2 s itself.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import streamlit as st

from ui.format import AGE_TICK_SECONDS

ROUTE = "/review/changes"
CHECK_SECONDS = 0.05  # the server's look at the store (one query, shared by every tab)
# A long poll answers at the latest after this (the browser then asks again): short, because a server
# stopping (Ctrl+C) waits for open requests to end.
HOLD_SECONDS = 5.0
_SLICE_SECONDS = 0.5  # how often a parked request looks whether its tab went away
# A tab whose drawn token still differs from the route's this long after it asked for a rerun asks again.
RETRY_SECONDS = 1.0
ROUTE_SERVED = False  # set by serve.py when it adds ROUTE to the server

log = logging.getLogger(__name__)

# The page asks the route with the token it was last DRAWN at (every rerun hands it in again), not the last
# token it saw: a rerun that got lost (a trigger swallowed while another run of the page was starting)
# then shows as "the route's token still differs from the drawn one", and the trigger is sent again
# after RETRY_MS instead of the tab waiting for ever on a token it never drew. In sync, it costs nothing.
_JS = """
export default function (component) {
  const { parentElement, data, setTriggerValue } = component;
  const live = parentElement.__reviewLive ||
    (parentElement.__reviewLive = { loop: null, asked: null, askedAt: 0, sent: 0 });
  live.drawn = data.token;  // the token the page was drawn at (updated on every rerun)
  live.drawnAt = Date.now();
  if (live.loop) return;
  const RETRY_MS = %(retry_ms)d;
  const TICK_MS = %(tick_ms)d;
  const pause = (ms) => new Promise((done) => setTimeout(done, ms));
  live.loop = (async () => {
    while (parentElement.isConnected) {
      try {
        const url = new URL(data.route.replace(/^\\//, ""), document.baseURI);
        url.searchParams.set("since", live.drawn);
        const response = await fetch(url, { cache: "no-store" });
        if (!parentElement.isConnected) break;
        if (!response.ok) { await pause(1000); continue; }
        const token = (await response.text()).trim();
        if (!token || token === live.drawn) {
          // Nothing changed: the ages the page shows (in minutes) still move on, every TICK_MS, not while the
          // reviewer types into a grid.
          if (Date.now() - live.drawnAt >= TICK_MS && !window.__reviewTyping?.()) {
            live.drawnAt = Date.now();
            live.sent += 1;
            setTriggerValue("changed", "tick#" + live.sent);
          }
          continue;
        }
        // Not while the reviewer types into an Inbox grid (ui/inbox_gate.py): a redraw can lose an open cell's
        // text. A run drawn meanwhile (the edit's own) asks the route again with its token.
        const waited = live.drawn;
        while (parentElement.isConnected && window.__reviewTyping?.()) await pause(50);
        if (live.drawn !== waited) continue;
        if (token !== live.asked || Date.now() - live.askedAt >= RETRY_MS) {
          live.asked = token;
          live.askedAt = Date.now();
          live.sent += 1;
          setTriggerValue("changed", token + "#" + live.sent);  // unique: a repeat is a new trigger
        }
        // The route answers at once while the drawn token is behind: wait for the rerun to hand in
        // the new one (or for RETRY_MS) instead of asking in a tight loop.
        const drawn = live.drawn;
        while (parentElement.isConnected && live.drawn === drawn && Date.now() - live.askedAt < RETRY_MS) {
          await pause(25);
        }
      } catch (error) {
        await pause(1000);
      }
    }
    live.loop = null;
  })();
}
"""

_component: Callable[..., Any] | None = None


def watch(token: str) -> None:
    """Mount the change watcher (once per page run, inside the fragment it should rerun)."""
    global _component
    if _component is None:
        _component = st.components.v2.component(
            "review_change_watcher",
            js=_JS % {"retry_ms": int(RETRY_SECONDS * 1000), "tick_ms": int(AGE_TICK_SECONDS * 1000)},
            html="<span></span>",
        )
    _component(data={"token": token, "route": ROUTE}, key="review_change_watcher", on_changed_change=lambda: None)


class ChangeFeed:
    """The store's change token as one asyncio task sees it; waiters wake when it moves.

    `pause(seconds)` (blocking, run in a worker thread) is how the task waits between two looks: a store that
    pushes changes ends it early; without one, a plain sleep.
    """

    def __init__(self, read_token: Callable[[], str | None], pause: Callable[[float], None] | None = None) -> None:
        self._read = read_token
        self._pause = pause
        self.token: str | None = None
        self._moved = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Start watching the token on the running event loop (again, if the last watch ended)."""
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._run())

    async def _run(self) -> None:
        while True:
            try:
                token = self._read()
            except Exception as exc:  # a store being created or moved: look again shortly
                log.debug("change token unreadable: %s", exc)
                token = None
            if token is not None and token != self.token:
                self.token = token
                self._moved.set()
                self._moved = asyncio.Event()
            if self._pause is None:
                await asyncio.sleep(CHECK_SECONDS)
            else:
                try:
                    await asyncio.to_thread(self._pause, CHECK_SECONDS)
                except Exception as exc:  # a store closing under the wait: look again after the usual pause
                    log.debug("change wait failed: %s", exc)
                    await asyncio.sleep(CHECK_SECONDS)

    async def wait(
        self, since: str | None, hold: float = HOLD_SECONDS, gone: Callable[[], Awaitable[bool]] | None = None
    ) -> str:
        """The token once it differs from `since` (at once if it does already), else after `hold` seconds,
        or as soon as `gone()` says the browser closed the request."""
        self.start()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + hold
        while self.token is None or self.token == since:
            left = deadline - loop.time()
            if left <= 0 or (gone is not None and await gone()):
                break
            moved = self._moved
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(moved.wait(), min(left, _SLICE_SECONDS))
        return self.token or ""
