"""Take the README's screenshots: `python docs/screenshots.py` (Debian's Chromium, its own servers and stores).

docs/inbox.png         the Inbox on a 1280x800 laptop: decisions in the tables, the review card of a clicked row beside
docs/card-preview.png  the card further down: the edit argument by argument, the canvas preview (new shapes ghosted)
docs/own-graph.png     a team's create_agent support agent: its email's card, the multi-line body in a text area
docs/card-phone.png    the card on a phone (390x844), opened by its link `/?row=<row_id>`
docs/thread-canvas.png a thread after the batch: the canvas, and the conversation with each decision where it happened
"""

from __future__ import annotations

import os
import re
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from playwright.sync_api import expect, sync_playwright  # noqa: E402

from bench.browser import CHROMIUM, CHROMIUM_ARGS, server  # noqa: E402
from review import ReviewConsole, Settings  # noqa: E402
from tests.e2e.helpers import HEADER_PX, ROW_PX, App, Grid  # noqa: E402

FOUR = "Create a red circle c1, a blue square s1, a green triangle t1 and a purple circle c2"
STEPS = "Draw an orange square q1, then a pink circle p1"
VIEW = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}
SHOTS = ("inbox.png", "card-preview.png", "own-graph.png", "card-phone.png", "thread-canvas.png")
SUPPORT = str(ROOT / "tests/agents/support_agent.py") + ":graph"


def seed(db: Path) -> str:
    """Fill a store with the threads the screenshots show (one whose last attempt failed); the four-shape thread."""
    console = ReviewConsole.open(db)
    try:
        broken = console.start_run("Create a black triangle b1").result(timeout=60).new_pending
        real = console.runner._stream

        def down(*args: Any, **kwargs: Any) -> None:
            raise RuntimeError("the canvas service timed out")

        console.runner._stream = down  # type: ignore[method-assign]  # one decision fails, for the picture
        approve = [{"thread_id": r.thread_id, "row_id": r.row_id, "decision": {"type": "approve"}} for r in broken]
        console.submit(approve, "bob")
        console.runner._stream = real  # type: ignore[method-assign]
        thread_id = console.start_run(FOUR).result(timeout=60).thread_id
        console.start_run(STEPS).result(timeout=60)
        console.start_run("Clear the canvas").result(timeout=60)
        return thread_id
    finally:
        console.close()


def click_row(app: App, grid: Grid, row: int, tool: str) -> None:
    """A click on a row's tool cell, until its card shows (a click the page was redrawing under is made again)."""
    heading = app.page.locator(".st-key-inbox_card").get_by_role("heading", name=re.compile(f"^{tool} · "))
    for _ in range(3):
        box = grid.root.get_by_test_id("data-grid-canvas").bounding_box()
        assert box is not None
        app.page.mouse.click(box["x"] + 12, box["y"] + HEADER_PX + ROW_PX * row + ROW_PX / 2, delay=50)
        try:
            expect(heading).to_be_visible(timeout=10_000)
            return
        except AssertionError:
            continue
    raise AssertionError(f"the card of {tool} did not show")


def main() -> None:
    """Serve the seeded stores, open them in Chromium and save each screenshot in docs/."""
    out = ROOT / "docs"
    with tempfile.TemporaryDirectory(prefix="review-shots-") as tmp:
        db = Path(tmp) / "review.sqlite"
        thread_id = seed(db)
        with server(db, Path(tmp) / "server.log") as (url, _pid), sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            page = browser.new_context(viewport=VIEW).new_page()
            app = App(page, url)
            app.open("?reviewer=alice")
            grid = Grid(app)
            grid.find_row("arguments", "shape_id=c2, color=purple")  # waits until the four-shape thread is listed
            grid.choose("decision", grid.find_row("arguments", "shape_id=c1, color=red"), "approve")
            square = grid.find_row("arguments", "shape_id=s1, color=blue")
            grid.type_text("edited arguments", square, "color=yellow")
            triangle = grid.find_row("arguments", "shape_id=t1, color=green")
            grid.choose("decision", triangle, "reject")
            grid.type_text("message", triangle, "No triangles on this canvas")
            grid.choose("decision", grid.find_row("arguments", "shape_id=c2, color=purple"), "approve")
            page.keyboard.press("Escape")
            click_row(app, grid, square, "create_square")
            card = page.locator(".st-key-inbox_card")
            page.mouse.move(5, 5)
            time.sleep(0.5)  # let the last redraw settle before the picture (not a test: nothing is asserted)
            page.screenshot(path=str(out / "inbox.png"))

            preview = page.locator('[aria-label^="Preview"]')
            expect(preview.locator('[data-shape-id="s1"]')).to_be_visible()
            card.get_by_text("The edit: before → after").scroll_into_view_if_needed()
            page.mouse.move(1100, 400)
            time.sleep(0.5)
            page.screenshot(path=str(out / "card-preview.png"))

            with app.clock.rerun():
                page.get_by_role("button", name=re.compile("^Submit decisions")).first.click()
            page.get_by_test_id("stAlertContainer").filter(has_text="Applied ").first.wait_for()
            reader = ReviewConsole.open(db)
            rows = reader.pending()
            row = next((r for r in rows if r.tool == "clear_canvas"), rows[0])
            reader.close()
            phone = browser.new_context(viewport=PHONE).new_page()
            App(phone, url).open(f"?row={row.row_id}&reviewer=alice")
            expect(phone.locator(".st-key-inbox_card").get_by_role("heading", level=4)).to_be_visible()
            phone.locator(".st-key-inbox_card").scroll_into_view_if_needed()
            time.sleep(0.5)
            phone.screenshot(path=str(out / "card-phone.png"))

            app.open(f"thread?thread={thread_id}&reviewer=alice", "Thread")
            expect(page.locator('[data-shape-id="c2"]')).to_be_visible()
            page.mouse.move(640, 400)
            page.mouse.wheel(0, 420)
            time.sleep(0.5)
            page.screenshot(path=str(out / "thread-canvas.png"))
            browser.close()
        own_graph(Path(tmp), out)
    print("written:", ", ".join(f"docs/{name}" for name in SHOTS))


def own_graph(tmp: Path, out: Path) -> None:
    """docs/own-graph.png: a create_agent support agent's email card (its body over several lines)."""
    os.environ["REVIEW_GRAPH"] = SUPPORT
    db = tmp / "support.sqlite"
    console = ReviewConsole.open(settings=Settings.from_env(db=str(db)))
    try:
        console.start_run("Refund order 1042 and tell Ana").result(timeout=60)
    finally:
        console.close()
    with server(db, tmp / "support.log") as (url, _pid), sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_context(viewport=VIEW).new_page()
        app = App(page, url)
        app.open("?reviewer=alice")
        grid = Grid(app)
        expect(page.get_by_test_id("stDataFrame")).to_have_count(2)  # refund_order and email_customer allow different
        for nth in (0, 1):
            grid = Grid(app, nth)
            if "email_customer" in grid.texts("tool"):
                break
        click_row(app, grid, grid.find_row("tool", "email_customer"), "email_customer")
        body = page.locator(".st-key-inbox_card").get_by_role("textbox", name="body")
        expect(body).to_be_visible()
        page.mouse.move(1100, 400)
        page.mouse.wheel(0, 330)  # the card's fields: the body in a text area, newlines and all
        time.sleep(0.5)
        page.screenshot(path=str(out / "own-graph.png"))
        browser.close()


if __name__ == "__main__":
    os.chdir(ROOT)
    main()
