"""Take the README's screenshots: `python docs/screenshots.py` (Debian's Chromium, 1280x800, its own server and store).

docs/inbox.png         the Inbox on a 1280x800 laptop: decisions in the table, a failed last attempt, the filters
docs/detail-pane.png   the detail pane: request, history, the edit's diff, the canvas preview (new shapes ghosted)
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
from review import ReviewConsole  # noqa: E402
from tests.e2e.helpers import App, Grid  # noqa: E402

FOUR = "Create a red circle c1, a blue square s1, a green triangle t1 and a purple circle c2"
STEPS = "Draw an orange square q1, then a pink circle p1"
VIEW = {"width": 1280, "height": 800}


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


def main() -> None:
    """Serve the seeded store, open it in Chromium at 1280x800 and save each screenshot in docs/."""
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
            expect(grid.root.locator("table[role=grid]")).to_have_attribute("aria-rowcount", "8")
            grid.choose("decision", grid.find_row("arguments", "shape_id=c1, color=red"), "approve")
            square = grid.find_row("arguments", "shape_id=s1, color=blue")
            grid.type_text("edited arguments", square, "color=yellow")
            triangle = grid.find_row("arguments", "shape_id=t1, color=green")
            grid.choose("decision", triangle, "reject")
            grid.type_text("message", triangle, "No triangles on this canvas")
            grid.choose("decision", grid.find_row("arguments", "shape_id=c2, color=purple"), "approve")
            page.keyboard.press("Escape")
            page.mouse.move(5, 5)
            time.sleep(0.5)  # let the last redraw settle before the picture (not a test: nothing is asserted)
            page.screenshot(path=str(out / "inbox.png"))

            app.selectbox("Row", "create_square · shape_id=s1, color=blue", prefix=True)
            details = page.get_by_role("heading", name="Details")
            details.scroll_into_view_if_needed()
            page.mouse.move(640, 400)
            page.mouse.wheel(0, 330)
            expect(page.locator('[aria-label^="Preview"] [data-shape-id="s1"]')).to_be_visible()
            time.sleep(0.5)
            page.screenshot(path=str(out / "detail-pane.png"))

            with app.clock.rerun():
                page.get_by_role("button", name=re.compile("^Submit decisions")).first.click()
            page.get_by_test_id("stAlertContainer").filter(has_text="Applied ").first.wait_for()
            app.open(f"thread?thread={thread_id}&reviewer=alice", "Thread")
            expect(page.locator('[data-shape-id="c2"]')).to_be_visible()
            page.mouse.move(640, 400)
            page.mouse.wheel(0, 420)
            time.sleep(0.5)
            page.screenshot(path=str(out / "thread-canvas.png"))
            browser.close()
    print("written:", ", ".join(f"docs/{name}" for name in ("inbox.png", "detail-pane.png", "thread-canvas.png")))


if __name__ == "__main__":
    os.chdir(ROOT)
    main()
