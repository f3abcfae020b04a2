"""Nothing typed into the review card is lost (issue 20 item 3), in Chromium.

A reviewer goes down 40 rows with the card alone: on each, a decision button and a message typed at a quick
typist's pace, half of them typed right after the click on Reject (before its rerun came back), the other half
typed first and Reject clicked after; then Next, clicked without waiting for anything. Meanwhile another process
starts runs whose rows join the Inbox. Every message must reach the draft the store keeps for the reviewer, on its
own row, with its decision.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from playwright.sync_api import Error as PlaywrightError

from tests.e2e.conftest import ARTIFACTS, Server
from tests.e2e.helpers import TIMEOUT_MS, App, Grid
from tests.e2e.test_flows import expect_rows, reviewer
from tests.e2e.test_typed_edits import Churn, stored_draft

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
THREADS = 14  # paused at 3 rows each: 42 rows, 40 of them decided on the card
EDITS = 40
DESKTOP = {"width": 1280, "height": 800}


def prepare_test_forty_messages_typed_on_the_card_all_reach_the_draft(db: Path) -> None:
    from bench.seed import seed

    seed(db, threads=THREADS, paused=THREADS, templates=2)


@pytest.mark.timeout(600)
def test_forty_messages_typed_on_the_card_all_reach_the_draft(
    fresh_server: Server, new_app: Callable[..., App]
) -> None:
    name = reviewer("carder")
    app = new_app(f"?reviewer={name}", on=fresh_server, viewport=DESKTOP)
    expect_rows(Grid(app), 3 * THREADS)
    card = app.page.locator(".st-key-inbox_card")
    heading = card.get_by_role("heading", level=4)
    message = card.get_by_role("textbox", name="Message", exact=True)
    reject = card.get_by_role("button", name="Reject", exact=True)
    following = app.page.get_by_role("button", name=re.compile(r"^(\S+ )?Next( |$)"))
    typed: dict[str, str] = {}  # text -> the card's heading it was typed on
    rows_typed: list[str] = []  # the row each text was typed on ("Thread … · interrupt …")
    clicked_again = 0  # Next clicks that did not move the card (the page was redrawing): the reviewer clicks again

    # Which row the card shows: its "Thread <id> · interrupt <id>" line, not its heading, whose thread name changes
    # when another thread with the same request arrives (its short id is put first); the heading is drawn last,
    # so the card is whole when it is there.
    shown_js = (
        "() => { const card = document.querySelector('.st-key-inbox_card'); const h = card?.querySelector('h4');"
        " if (!h || h.textContent.trim() === '') return null;"
        " return [...card.querySelectorAll('[data-testid=stCaptionContainer]')].map((e) => e.textContent)"
        "   .find((t) => t.startsWith('Thread ') && t.includes(' · interrupt ')) ?? null; }"
    )

    def shown() -> str:
        app.page.wait_for_function(shown_js, timeout=10_000)
        return str(app.page.evaluate(shown_js))

    def moved_from(before: str) -> bool:
        try:
            app.page.wait_for_function(
                f"(before) => {{ const now = ({shown_js})(); return !!now && now !== before; }}",
                arg=before,
                timeout=10_000,
            )
        except PlaywrightError:
            return False
        return True

    with Churn(fresh_server) as churn:
        for number in range(EDITS):
            text = f"card note {number:02d}"
            if rows_typed and not moved_from(rows_typed[-1]):
                clicked_again += 1
                following.click()
                assert moved_from(rows_typed[-1]), "Next did not move the card, twice"
            rows_typed.append(shown())
            typed[text] = heading.inner_text()
            if number % 2 == 0:  # the decision first, then the message at once (its rerun still on the way)
                reject.click()
                message.click()
                app.page.keyboard.type(text, delay=25)
            else:  # the message first, then the decision (the click commits the text as it leaves the box)
                message.click()
                app.page.keyboard.type(text, delay=25)
                reject.click()
            following.click()  # on to the next row's card, no wait
        joined = churn.started
    assert joined >= 1, "no run started meanwhile: the test did not exercise rows coming and going"

    def messages() -> dict[str, dict[str, object]]:
        return {str(e.get("message")): e for e in stored_draft(fresh_server, name).values() if e.get("message")}

    deadline = time.monotonic() + TIMEOUT_MS / 1000
    while not set(typed) <= set(messages()) and time.monotonic() < deadline:
        time.sleep(0.2)  # polling the store another process writes, not the page
    held = messages()
    lost = sorted(set(typed) - set(held))
    stored = stored_draft(fresh_server, name)
    where = {text: typed[text] for text in lost}
    assert not lost, (
        f"{len(lost)} of {EDITS} messages typed on the card never reached the draft: {where}; the draft: "
        + "; ".join(f"{k[-12:]}={e.get('decision')}/{e.get('message')}" for k, e in stored.items())
    )
    assert len(held) == EDITS  # each on a row of its own
    assert {str(entry["decision"]) for entry in held.values()} == {"reject"}
    rows = {(str(entry["thread_id"]), str(entry["row_id"])) for entry in held.values()}
    assert len(rows) == EDITS
    app.screenshot(ARTIFACTS / "card-typing-1280x800.png")
    print(f"Next clicked again {clicked_again} time(s) (the card had not moved)")
