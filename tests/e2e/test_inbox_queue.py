"""The Inbox table as a fast queue (issue 20 item 2), in Chromium at 1280x800, 1024x768 and 390x844.

Two graphs are loaded (the demo's shapes and a docs question) under a policy that leaves clear_canvas to @ops, so
one Inbox holds the three kinds of rows: tool calls (approve, edit or reject), a question (respond) and a row this
reviewer may not decide. Each kind is its own table whose decision column offers exactly what its rows allow; the
bulk button marks only rows that allow its decision and says how many it skipped and why; at 1024 px the arguments
and the thread are readable beside the decision and the message; two threads with the same request are told apart.
Screenshots of each size land in tests/e2e/artifacts/inbox-queue-*.png.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import ARTIFACTS, Server, serve
from tests.e2e.helpers import INBOX_COLUMNS, NO_EDIT_COLUMNS, ROOT, App, Grid, review_cli
from tests.e2e.test_flows import expect_banner, expect_rows, reviewer, summary
from ui.inbox_view import COLUMN_CONFIG

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
THREE = "Create a red circle c1, a blue square s1 and a green triangle t1"
QUESTION_COLUMNS = NO_EDIT_COLUMNS  # its message column is headed "answer"
READ_ONLY_COLUMNS = ("tool", "arguments", "thread", "status", "waiting")
SIZES = {"1280x800": (1280, 800), "1024x768": (1024, 768), "390x844": (390, 844)}
DECIDING = ("tool", "arguments", "thread", "decision", "message")


@pytest.fixture(scope="module")
def queue_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    work = tmp_path_factory.mktemp("queue")
    config = work / "langgraph.json"
    graphs = {
        "shapes": str(ROOT / "graph/agent.py") + ":make_graph",
        "questions": str(ROOT / "tests/agents/docs_questions.py") + ":approval",
    }
    config.write_text(json.dumps({"dependencies": [str(ROOT)], "graphs": graphs}), encoding="utf-8")
    policy = work / "review-policy.toml"
    policy.write_text('[tools.clear_canvas]\ndeciders = ["@ops"]\n', encoding="utf-8")
    db = work / "review.sqlite"
    cli = ("--config", str(config))
    for prompt in (THREE, THREE, "Clear the canvas"):  # the same request twice: two threads told apart
        review_cli(db, *cli, "start", prompt)
    review_cli(db, *cli, "start", "--graph-id", "questions", "--input", json.dumps({"action_details": "drop it"}))
    with serve(
        work, ARTIFACTS / "server-queue.log", args=["--", "--config", str(config), "--policy", str(policy)]
    ) as s:
        yield s


def tables(app: App) -> tuple[Grid, Grid, Grid]:
    """The Inbox's three tables, top to bottom: tool calls, the question, the read-only row."""
    expect(app.page.get_by_test_id("stDataFrame")).to_have_count(3)
    return Grid(app, 0, INBOX_COLUMNS), Grid(app, 1, QUESTION_COLUMNS), Grid(app, 2, READ_ONLY_COLUMNS)


def starts(headers: list[str], first: tuple[str, ...]) -> bool:
    """The table's headers begin with `first`, and every header after them is one of its known columns."""
    return tuple(headers[: len(first)]) == first and len(headers) >= len(first)


def options_offered(grid: Grid, row: int) -> list[str]:
    """The options a decision cell's editor lists (opened with Enter, closed with Escape)."""
    grid.focus("decision", row)
    grid.page.keyboard.press("Enter")
    listed = grid.page.get_by_test_id("portal").get_by_role("listbox").get_by_role("option")
    expect(listed.first).to_be_visible()
    offered = [text.strip() for text in listed.all_inner_texts() if text.strip()]  # the blank one: undecided
    grid.page.keyboard.press("Escape")
    return offered


@pytest.mark.parametrize("size", list(SIZES), ids=list(SIZES))
def test_the_queue_reads_at_each_size(queue_server: Server, new_app: Callable[..., App], size: str) -> None:
    width, height = SIZES[size]
    app = new_app(f"?reviewer={reviewer('ida')}", on=queue_server, viewport={"width": width, "height": height})
    calls, _, _ = tables(app)
    expect_rows(calls, 6)
    if width >= 1024:
        # What a row is, where, and its decision and message fit side by side: nothing to scroll sideways to decide.
        box = calls.root.bounding_box()
        assert box is not None and box["x"] + box["width"] <= width
        assert sum(COLUMN_CONFIG[name]["width"] for name in DECIDING) <= box["width"], box
        assert calls.headers()[: len(DECIDING)] == list(DECIDING)
        assert calls.cell("arguments", 0).inner_text() == "shape_id=c1, color=red"  # within its 180 px
    calls.root.scroll_into_view_if_needed()
    app.page.screenshot(path=str(ARTIFACTS / f"inbox-queue-{size}.png"))


def test_each_row_offers_only_its_decisions_and_bulk_approve_says_what_it_skipped(
    queue_server: Server, new_app: Callable[..., App]
) -> None:
    name = reviewer("una")
    app = new_app(f"?reviewer={name}", on=queue_server, viewport={"width": 1280, "height": 800})
    calls, question, read_only = tables(app)
    expect_rows(calls, 6)
    expect_rows(question, 1)
    expect_rows(read_only, 1)
    # (The grid lists the headers of the columns it draws: those in view, from the left.)
    assert starts(calls.headers(), INBOX_COLUMNS[:5])
    assert starts(question.headers(), ("tool", "arguments", "thread", "decision", "answer"))
    assert starts(read_only.headers(), READ_ONLY_COLUMNS[:4])  # no decision column at all
    # One table per graph and set of decisions, named by both (the tool cells name the tool alone).
    for title in ("shapes · Tool calls · approve, edit or reject (6)", "questions · Questions · respond (1)"):
        expect(app.page.get_by_text(title)).to_be_visible()
    expect(app.page.get_by_text(re.compile(r"^shapes · Read-only \(1\)"))).to_be_visible()
    assert calls.cell("tool", 0).inner_text() == "create_circle"
    expect(read_only.cell("status", 0)).to_contain_text("may not decide this: clear_canvas is decided by @ops")

    # The wrong choice is impossible: each decision cell lists its row's decisions and no other.
    assert options_offered(calls, 0) == ["approve", "edit", "reject"]
    assert options_offered(question, 0) == ["respond"]

    # Two threads with the same request: the thread cells differ where a cut cell still shows it, at the start.
    threads = {calls.cell("thread", row).inner_text() for row in range(6)}
    assert len(threads) == 2 and all(re.match(r"#[0-9a-f]{6} · Create a red circle", t) for t in threads), threads

    app.click("Approve all shown")
    note = "Approve: 6 rows marked; 2 skipped: 1 question, 1 read-only"
    expect(app.page.get_by_text(note)).to_be_visible()
    for row in range(6):
        expect(calls.cell("decision", row)).to_have_text("approve")
    expect(question.cell("decision", 0)).to_have_text("")

    # The send button's accessible name is exactly its label (its key, Ctrl+Enter, is in its help).
    send = app.page.get_by_role("button", name="Submit decisions", exact=True)
    expect(send).to_be_visible()
    app.page.screenshot(path=str(ARTIFACTS / "inbox-queue-bulk-1280x800.png"))
    with app.clock.rerun():
        send.click()
    expect_banner(app, summary(6, 0, 0, threads=2))
