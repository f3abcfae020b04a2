"""Issue 10's flows in Chromium: the review card and its preview on a laptop and a wide screen (issue 20: a click
on a row opens its card, the card's fields edit, its buttons decide), a keyboard-only review, and a 300-thread
submit whose banner starts with the totals while the table keeps refreshing.

Every step waits on what the page shows (Streamlit's own websocket messages, a locator's state), never on a
fixed time; screenshots land in tests/e2e/artifacts/.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Callable
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import ARTIFACTS, Server
from tests.e2e.helpers import HEADER_PX, ROW_PX, TIMEOUT_MS, App, Grid, start_thread
from tests.e2e.test_flows import expect_banner, expect_rows, filter_thread, reviewer, shapes_saved, summary
from ui.inbox_view import COLUMN_CONFIG

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
SavedState = Callable[[str], Any]
LAPTOP = {"width": 1024, "height": 768}
WIDE = {"width": 1600, "height": 1000}
# What a row is, where, and its decision and message: must fit a laptop's table without scrolling sideways.
DECIDING = ("tool", "arguments", "thread", "decision", "message")


def shot(app: App, name: str) -> None:
    app.screenshot(ARTIFACTS / f"{name}.png")


def preview_shapes(app: App) -> dict[str, str | None]:
    """The pane's preview canvas: shape id -> its preview mark ("new", "removed" or None)."""
    canvas = app.page.locator('[data-testid="canvas"][aria-label^="Preview"]')
    marks = canvas.locator("[data-shape-id]").evaluate_all(
        "els => els.map(e => [e.dataset.shapeId, e.dataset.preview || null])"
    )
    return dict(marks)


def open_card(app: App, grid: Grid, row: int, tool: str) -> None:
    """Click a row's tool cell (read-only: nothing to type into) and wait for its card."""
    grid.root.scroll_into_view_if_needed()
    box = grid.root.get_by_test_id("data-grid-canvas").bounding_box()
    assert box is not None
    x, y = box["x"] + 12, box["y"] + HEADER_PX + ROW_PX * row + ROW_PX / 2
    app.page.mouse.move(x - 4, y)
    with app.clock.rerun():  # the page script says which row was clicked: the card's rerun
        app.page.mouse.click(x, y, delay=50)
    heading = app.page.locator(".st-key-inbox_card").get_by_role("heading", name=re.compile(f"^{tool} · "))
    expect(heading).to_be_visible(timeout=TIMEOUT_MS)


def test_a_card_the_grid_moved_away_from_shows_its_fields_when_clicked_again(
    server: Server, new_app: Callable[..., App]
) -> None:
    """Edits in the grid move the card to the row last edited (the page's run draws it); a click back on an earlier
    row shows its card with its fields as the draft has them, never empty (they were, once a card came back)."""
    prompt = "Create a red circle g1, a blue square g2 and a green triangle g3"
    start_thread(server.db, prompt)
    app = new_app(viewport=WIDE)
    app.set_reviewer(reviewer("gus"))
    grid = filter_thread(app, prompt)
    expect_rows(grid, 3)
    square = grid.find_row("tool", "create_square")
    grid.type_text("edited arguments", square, "color=yellow")  # the card follows: the square's, in the page's run
    circle = grid.find_row("tool", "create_circle")
    grid.choose("decision", circle, "approve")  # ... then the circle's
    card = app.page.locator(".st-key-inbox_card")
    expect(card.get_by_role("heading", name=re.compile("^create_circle · "))).to_be_visible(timeout=TIMEOUT_MS)
    app.page.keyboard.press("Escape")
    open_card(app, grid, square, "create_square")
    expect(card.get_by_role("textbox", name="color", exact=True)).to_have_value("yellow")
    expect(card.get_by_role("textbox", name="shape_id", exact=True)).to_have_value("g2")
    shot(app, "card-back-to-a-row")


def labels_fit(app: App, *names: str) -> None:
    """Each button shows its whole label (no ellipsis)."""
    for name in names:
        label = app.button(name).get_by_test_id("stMarkdownContainer")
        fits = label.evaluate("e => e.scrollWidth <= e.clientWidth + 1")
        assert fits, f"the label of {name!r} is cut"


@pytest.mark.parametrize("viewport", [LAPTOP, WIDE], ids=["1024x768", "1600x1000"])
def test_four_shapes_decided_with_the_detail_pane_and_its_preview(
    server: Server, saved_state: SavedState, new_app: Callable[..., App], viewport: dict[str, int]
) -> None:
    tag = "n" if viewport is LAPTOP else "w"
    prompt = f"Create an orange circle {tag}1, a blue square {tag}2, a green triangle {tag}3 and a pink circle {tag}4"
    thread_id, pending = start_thread(server.db, prompt)
    assert len(pending) == 4
    app = new_app(viewport=viewport)
    app.set_reviewer(reviewer("lea"))
    grid = filter_thread(app, prompt)
    expect_rows(grid, 4)

    # Fits the screen: the columns a decision needs are inside the table's box, the buttons' labels whole.
    box = grid.root.bounding_box()
    assert box is not None and box["x"] + box["width"] <= viewport["width"]
    assert sum(COLUMN_CONFIG[name]["width"] for name in DECIDING) <= box["width"], box
    assert grid.headers()[: len(DECIDING)] == list(DECIDING)
    labels_fit(app, "Approve all shown", "Reject all shown", "Submit decisions")

    # Decide in the table and on the card: one draft. A click on a row opens its card.
    first = grid.find_row("arguments", f"shape_id={tag}1, color=orange")
    grid.choose("decision", first, "approve")
    triangle = grid.find_row("tool", "create_triangle")
    grid.choose("decision", triangle, "reject")
    grid.type_text("message", triangle, "No triangles on this canvas")
    card = app.page.locator(".st-key-inbox_card")
    square = grid.find_row("tool", "create_square")
    open_card(app, grid, square, "create_square")
    color = card.get_by_role("textbox", name="color", exact=True)
    expect(color).to_have_value("blue")
    color.fill("yellow")
    with app.clock.rerun():
        color.press("Enter")
    expect(grid.cell("decision", square)).to_have_text("edit")
    expect(grid.cell("edited arguments", square)).to_have_text('{"color": "yellow"}')
    expect(card.get_by_text("→ yellow")).to_be_visible()  # the edit, argument by argument
    pink = grid.find_row("arguments", f"shape_id={tag}4, color=pink")
    open_card(app, grid, pink, "create_circle")
    with app.clock.rerun():
        card.get_by_role("button", name="Approve", exact=True).click()
    expect(grid.cell("decision", pink)).to_have_text("approve")
    # Back on the square's card: its fields hold the edit (they were drawn empty once the card came back to a row).
    open_card(app, grid, square, "create_square")
    expect(color).to_have_value("yellow")
    expect(card.get_by_role("textbox", name="shape_id", exact=True)).to_have_value(f"{tag}2")

    # The preview: the canvas as it would be, new shapes ghosted, the rejected triangle absent.
    expect(app.page.locator(f'[aria-label^="Preview"] [data-shape-id="{tag}4"]')).to_be_visible()
    assert preview_shapes(app) == {f"{tag}1": "new", f"{tag}2": "new", f"{tag}4": "new"}
    ghost = app.page.locator(f'[aria-label^="Preview"] [data-shape-id="{tag}2"]')
    assert ghost.evaluate("e => getComputedStyle(e).outlineStyle") == "dashed"
    assert ghost.evaluate("e => getComputedStyle(e).backgroundColor") == "rgb(255, 255, 0)"  # the edit's colour
    app.page.locator('[aria-label^="Preview"]').scroll_into_view_if_needed()
    shot(app, f"card-preview-{viewport['width']}x{viewport['height']}")

    app.click("Submit decisions")
    expect_banner(app, summary(4, 0, 0))
    assert shapes_saved(saved_state, thread_id) == {
        f"{tag}1": ("circle", "orange"),
        f"{tag}2": ("square", "yellow"),
        f"{tag}4": ("circle", "pink"),
    }


def test_a_keyboard_only_review(fresh_server: Server, new_app: Callable[..., App]) -> None:
    """Shortcuts only: reject all, approve all, submit, then the Thread, Audit and Inbox pages."""
    prompt = "Create a red circle k1, a blue square k2 and a green triangle k3"
    thread_id, _ = start_thread(fresh_server.db, prompt)
    name = reviewer("kim")
    app = new_app(f"?reviewer={name}", on=fresh_server, viewport={"width": 1280, "height": 800})
    grid = Grid(app)
    expect_rows(grid, 3)
    app.press("Alt+X")  # Reject all shown
    expect(grid.cell("decision", 2)).to_have_text("reject")
    app.press("Alt+A")  # Approve all shown
    for row in range(3):
        expect(grid.cell("decision", row)).to_have_text("approve")
    app.press("Alt+ArrowDown")  # the next row's card
    card_heading = app.page.locator(".st-key-inbox_card").get_by_role("heading", name=re.compile("^create_square · "))
    expect(card_heading).to_be_visible()
    app.press("Control+Enter")  # Submit decisions
    expect_banner(app, summary(3, 0, 0))
    shot(app, "keyboard-submitted")
    app.press("Alt+3")
    app.expect_title("Thread")
    expect(app.page.locator('[data-shape-id="k3"]')).to_be_visible(timeout=TIMEOUT_MS)
    app.press("Alt+4")
    app.expect_title("Audit")
    expect(app.page.get_by_test_id("stVegaLiteChart")).to_have_count(3, timeout=TIMEOUT_MS)
    shot(app, "keyboard-audit")
    app.press("Alt+1")
    app.expect_title("Inbox")
    expect(app.page.get_by_text("No interrupts are waiting for review.")).to_be_visible()
    with closing(sqlite3.connect(fresh_server.db)) as conn:
        assert (
            conn.execute(
                "SELECT COUNT(*) FROM review_decisions WHERE thread_id = ? AND reviewer = ? AND status = 'applied'",
                (thread_id, name),
            ).fetchone()[0]
            == 3
        )


BULK_THREADS = 300


def prepare_test_a_300_thread_submit_reports_totals_first_while_the_table_refreshes(db: Path) -> None:
    """300 paused threads (3 interrupts each) before the server starts (bench.seed's copies)."""
    from bench.seed import seed

    seed(db, threads=BULK_THREADS, paused=BULK_THREADS, templates=2)


def test_a_300_thread_submit_reports_totals_first_while_the_table_refreshes(
    fresh_server: Server, new_app: Callable[..., App]
) -> None:
    app = new_app(f"?reviewer={reviewer('max')}", on=fresh_server, viewport={"width": 1280, "height": 800})
    rows = 3 * BULK_THREADS
    caption = app.page.get_by_text(re.compile(r"[\d,]+ rows? pending"))
    expect(caption).to_contain_text(f"{rows:,} rows pending" if rows >= 1000 else f"{rows} rows pending")
    app.click("Approve all shown")
    expect(app.page.get_by_text(f"{rows} decided")).to_be_visible()
    app.click("Submit decisions")  # returns at once; st.status follows the resumes
    status = (
        app.page.get_by_test_id("stStatusWidget")
        .or_(app.page.get_by_test_id("stExpander"))
        .filter(has_text=re.compile(rf"Applying {rows} decisions: \d+ of {BULK_THREADS} threads resumed"))
    )
    expect(status.first).to_be_visible(timeout=TIMEOUT_MS)
    # The table keeps refreshing while the batch resumes: rows leave it before the banner comes.
    app.page.wait_for_function(
        """(total) => {
            const captions = document.querySelectorAll('[data-testid=stCaptionContainer]');
            const text = [...captions].map(e => e.textContent).join(' ');
            const found = text.match(/([\\d,]+) rows? pending/);
            return found && Number(found[1].replace(/,/g, '')) < total;
        }""",
        arg=rows,
        timeout=120_000,
    )
    assert app.page.get_by_test_id("stAlertContainer").filter(has_text="Applied ").count() == 0
    shot(app, "bulk-progress")
    banner = app.page.get_by_test_id("stAlertContainer").filter(has_text="Applied ")
    expect(banner.first).to_be_visible(timeout=180_000)
    text = banner.first.inner_text().strip()
    assert text.splitlines()[0] == summary(rows, 0, 0, threads=BULK_THREADS), text  # the total line first
    assert len(text.splitlines()) == 1  # nothing else to read: the per-thread lines are folded
    details = app.page.get_by_test_id("stExpander").filter(has_text=f"Per thread ({BULK_THREADS})")
    expect(details).to_be_visible()
    expect(app.page.get_by_text("No interrupts are waiting for review.")).to_be_visible(timeout=TIMEOUT_MS)
    shot(app, "bulk-banner")
