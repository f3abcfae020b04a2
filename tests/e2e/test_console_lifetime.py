"""The console's life is the server process's (issue 18, H3): no client message closes or rebuilds it.

Any browser, signed in or not, can send Streamlit's `clear_cache` message on the websocket; it clears every
`st.cache_resource` of the process. The console used to live there, so the message closed it (sweeper, store,
and a close that waited for running resumes ON the server's event loop, so health stalled). Here a resume is
held in its tool (the test holds the effect log's lock), `clear_cache` is sent on a raw websocket, and: health
answers at once, the held resume finishes and is shown, the server opened one console, at start, and never
closed or opened another.
"""

from __future__ import annotations

import fcntl
import re
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from playwright.sync_api import expect
from streamlit.proto.BackMsg_pb2 import BackMsg

from tests.e2e.conftest import ARTIFACTS, VIEWPORT, serve
from tests.e2e.helpers import TIMEOUT_MS, App, start_thread
from tests.e2e.test_flows import expect_banner, expect_rows, filter_thread, summary

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

PROMPT = "Create a red circle c1"
OPENED = re.compile(r"review console opened on .* \(console ([0-9a-f]+)\)")
CLOSED = "review console closed"


def _wait_until(check: Callable[[], bool], what: str, timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while not check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)  # polling a log file another process writes


def _opened(log: Path) -> list[str]:
    return OPENED.findall(log.read_text(errors="replace")) if log.exists() else []


def _health_seconds(url: str) -> float:
    started = time.monotonic()
    with urllib.request.urlopen(f"{url}/_stcore/health", timeout=15) as response:
        assert response.read().decode().strip() == "ok"
    return time.monotonic() - started


@contextmanager
def clear_cache_sent(url: str) -> Iterator[None]:
    """What any client may send, signed in or not: Streamlit's `clear_cache` BackMsg, on a websocket of its own
    that stays open for the block (closing it needs the server's event loop, which is what is measured)."""
    from websockets.sync.client import connect

    ws_url = url.replace("http://", "ws://") + "/_stcore/stream"
    with connect(ws_url, subprotocols=["streamlit"], close_timeout=1) as ws:  # type: ignore[list-item]
        ws.send(BackMsg(clear_cache=True).SerializeToString())
        time.sleep(0.3)  # the server takes the message
        yield


def test_a_clear_cache_message_neither_closes_nor_rebuilds_the_console(
    browser: object, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The tool waits for the effect log's lock while the test holds it: long enough for a loaded machine.
    monkeypatch.setenv("CANVAS_EFFECT_LOCK_SECONDS", "120")
    log = ARTIFACTS / "server-console-lifetime.log"
    ARTIFACTS.mkdir(exist_ok=True)
    with serve(tmp_path, log) as server:
        # Opened as the server started, before any page was asked for (recovery does not wait for a visitor).
        _wait_until(lambda: len(_opened(log)) == 1, "the console to open at start")
        [console_id] = _opened(log)
        start_thread(server.db, PROMPT)
        context = browser.new_context(viewport=VIEWPORT)  # type: ignore[attr-defined]
        context.set_default_timeout(TIMEOUT_MS)
        app = App(context.new_page(), server.url)
        try:
            app.open("", "Inbox")
            app.set_reviewer("kim")
            grid = filter_thread(app, PROMPT)
            expect_rows(grid, 1)
            grid.choose("decision", 0, "approve")
            with server.effect_log.open("a+") as held:
                fcntl.flock(held, fcntl.LOCK_EX)  # the tool waits for this lock: its resume is held mid-run
                app.click("Submit decisions")
                expect(app.page.get_by_text(re.compile(r"1 being applied"))).to_be_visible(timeout=TIMEOUT_MS)
                with clear_cache_sent(server.url):
                    slowest = max(_health_seconds(server.url) for _ in range(3))
                assert slowest < 1.0, f"health took {slowest:.1f} s while a resume was running"
            # The lock is released: the held resume finishes, in the console that started it.
            expect_banner(app, summary(1, 0, 0))
            assert len(server.effects()) == 1

            app.open("", "Inbox")  # the next page view: still the console opened at start
            expect(app.page.get_by_text("No interrupts are waiting for review.")).to_be_visible(timeout=TIMEOUT_MS)
        finally:
            app.screenshot(ARTIFACTS / "console-lifetime.png")
            context.close()
        text = log.read_text(errors="replace")
        assert _opened(log) == [console_id], "a client message made the server open another console"
        assert CLOSED not in text, "a client message closed the console"
