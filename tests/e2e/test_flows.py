"""The console's reviewer flows in a real browser (Debian Chromium against `streamlit run`).

The flows share one server and one database; each works in threads of its own and filters the Inbox to them,
so none sees another's rows. What a page shows is checked against what was saved: the checkpoint (through
`python -m review show`, another process) and the console's own tables.
"""

from __future__ import annotations

import csv
import io
import json
import re
import sqlite3
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from review.editing import format_args
from tests.e2e.conftest import ARTIFACTS, Server
from tests.e2e.helpers import ROOT, TIMEOUT_MS, App, Grid, review_cli, start_thread, thread_cell
from tests.e2e.xss_agent import COLOUR, DESCRIPTION, IMG, PROMPT, SCRIPT, SHAPE_ID
from tests.helpers import store_query
from ui.format import request_words
from ui.threads import PENDING_COLUMNS as THREAD_PENDING_COLUMNS

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
SavedState = Callable[[str], Any]  # thread id -> LangGraph StateSnapshot

THREE_SHAPES = "Create a red circle c1, a blue square s1 and a green triangle t1"
THEN_SEQUENCE = "Draw a red circle c1, then a blue square s1"
AUDIT_COLUMNS = ("pick", "time", "reviewer", "thread", "tool", "decision", "status")  # "pick": row selection
PENDING_COLUMNS = THREAD_PENDING_COLUMNS  # the Thread page's pending table, as ui/threads.py orders it
CSS_COLOURS = {"red": "rgb(255, 0, 0)", "yellow": "rgb(255, 255, 0)", "blue": "rgb(0, 0, 255)"}
# Rows raised by another process must show within 2 s; the bound leaves room for a machine under load.
OTHER_PROCESS_ROW_S = 5.0


# --- reading what was saved ---------------------------------------------------------------------


def decisions(server: Server, thread_id: str) -> list[sqlite3.Row]:
    with closing(sqlite3.connect(server.db, timeout=30)) as conn:
        conn.row_factory = sqlite3.Row
        return conn.execute(
            "SELECT * FROM review_decisions WHERE thread_id = ? ORDER BY decided_at, tool", (thread_id,)
        ).fetchall()


def shapes_saved(saved_state: SavedState, thread_id: str) -> dict[str, tuple[str, str]]:
    """The thread's canvas in its latest checkpoint: shape id -> (kind, colour)."""
    return {s["shape_id"]: (s["kind"], s["color"]) for s in saved_state(thread_id).values.get("canvas", [])}


def pending_ids(saved_state: SavedState, thread_id: str) -> list[str]:
    """The interrupts still pending in the thread's latest checkpoint."""
    return sorted(item.id for item in saved_state(thread_id).interrupts)


# --- reading what the pages show ----------------------------------------------------------------


def reviewer(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:6]}"


def summary(applied: int, conflicts: int, new: int, threads: int = 1, refused: int = 0) -> str:
    """The total line a banner starts with: `Applied 1 · conflicts 0 · refused 0 · new interrupts 1 (1 thread)`."""
    return (
        f"Applied {applied} · conflicts {conflicts} · refused {refused} · new interrupts {new} "
        f"({threads} thread{'s' if threads != 1 else ''})"
    )


def expect_banner(app: App, total: str) -> None:
    """The submit's banner, starting with its total line."""
    expect(app.page.get_by_test_id("stAlertContainer").filter(has_text=total).first).to_be_visible(timeout=TIMEOUT_MS)


def filter_thread(app: App, *prompts: str) -> Grid:
    """Show only the threads started with these prompts (the Thread filter names a thread by its request)."""
    for prompt in prompts:
        app.multiselect("Thread", request_words(prompt), prefix=True)
    return Grid(app)


def expect_rows(grid: Grid, count: int) -> None:
    """Wait until the grid holds exactly `count` data rows (aria-rowcount counts the header too)."""
    expect(grid.root.locator("table[role=grid]")).to_have_attribute("aria-rowcount", str(count + 1), timeout=TIMEOUT_MS)


def shapes_on_page(app: App) -> dict[str, tuple[str, str]]:
    """The canvas as the Thread page paints it: shape id -> (kind, colour).

    The colour is the one the element is painted with (computed background, or fill for SVG), so a shape
    whose attributes name the right colour but which is painted otherwise does not pass.
    """
    drawn = app.page.locator("[data-shape-id]").evaluate_all(
        """els => els.map(e => {
            const style = getComputedStyle(e);
            const paint = e instanceof SVGElement ? style.fill : style.backgroundColor;
            return [e.dataset.shapeId, e.dataset.kind, paint];
        })"""
    )
    names = {rgb: name for name, rgb in CSS_COLOURS.items()}
    return {shape_id: (kind, names.get(paint, paint)) for shape_id, kind, paint in drawn}


def open_thread(app: App, thread_id: str, prompt: str) -> None:
    """The Thread page for this thread, from its URL; the picker names it by its request."""
    app.open(f"thread?thread={thread_id}", "Thread")
    picker = app.page.get_by_test_id("stSelectbox").get_by_role("combobox")
    expect(picker).to_have_value(re.compile("^" + re.escape(request_words(prompt))))
    expect(app.page.get_by_text(f"Thread id: {thread_id}")).to_be_visible()


def decide_three_shapes(grid: Grid, reject_message: str) -> tuple[int, int, int]:
    """The three-shape rows decided in the table: circle approved, square edited to yellow, triangle rejected."""
    expect_rows(grid, 3)
    circle = grid.find_row("tool", "create_circle")
    square = grid.find_row("tool", "create_square")
    triangle = grid.find_row("tool", "create_triangle")
    assert grid.cell("arguments", square).inner_text() == "shape_id=s1, color=blue"
    grid.choose("decision", circle, "approve")
    grid.choose("decision", square, "edit")
    grid.type_text("edited arguments", square, "color=yellow")
    grid.choose("decision", triangle, "reject")
    grid.type_text("message", triangle, reject_message)
    return circle, square, triangle


def shot(app: App, name: str) -> None:
    app.screenshot(ARTIFACTS / f"{name}.png")


# --- 1 ------------------------------------------------------------------------------------------


def test_three_parallel_shapes_from_new_run(
    server: Server, saved_state: SavedState, new_app: Callable[..., App]
) -> None:
    name = reviewer("ada")
    app = new_app()
    app.set_reviewer(name)
    app.go("New run")
    app.click("Three parallel shapes")
    expect(app.page.get_by_role("textbox", name="Prompt")).to_have_value(THREE_SHAPES)
    app.click("Start run")  # returns when the script run that follows the job has finished
    expect(app.page.get_by_text("Paused: 3 interrupt(s) waiting for review")).to_be_visible(timeout=TIMEOUT_MS)
    href = app.page.get_by_role("link", name="Open the thread").get_attribute("href") or ""
    thread_id = re.search(r"[?&]thread=([^&]+)", href)[1]  # type: ignore[index]
    assert len(pending_ids(saved_state, thread_id)) == 3
    shot(app, "flow1-new-run")

    app.go_link("Review in Inbox", "Inbox")  # its link names the thread (?thread=): the Inbox shows only its rows
    chip = app.page.get_by_role("button", name=re.compile("^Remove " + re.escape(request_words(THREE_SHAPES))))
    expect(chip).to_be_visible(timeout=TIMEOUT_MS)
    grid = Grid(app)
    expect_rows(grid, 3)
    decide_three_shapes(grid, "No triangles today")
    shot(app, "flow1-inbox-decided")
    app.click("Submit decisions")  # once, for all three rows
    expect_banner(app, summary(3, 0, 0))

    assert shapes_saved(saved_state, thread_id) == {"c1": ("circle", "red"), "s1": ("square", "yellow")}
    rows = decisions(server, thread_id)
    assert [(r["tool"], r["decision_type"], r["reviewer"], r["status"]) for r in rows] == [
        ("create_circle", "approve", name, "applied"),
        ("create_square", "edit", name, "applied"),
        ("create_triangle", "reject", name, "applied"),
    ]
    assert {r["decision_type"]: r["message"] for r in rows}["reject"] == "No triangles today"
    assert len({r["batch_id"] for r in rows}) == 1  # one submit, one batch

    open_thread(app, thread_id, THREE_SHAPES)
    expect(app.page.locator('[data-shape-id="s1"]')).to_be_visible(timeout=TIMEOUT_MS)
    assert shapes_on_page(app) == {"c1": ("circle", "red"), "s1": ("square", "yellow")}
    assert app.page.locator('[data-kind="triangle"], [data-shape-id="t1"]').count() == 0
    expect(app.page.get_by_text("No triangles today").first).to_be_visible()  # the rejection, in the chat
    shot(app, "flow1-thread")

    app.set_reviewer(name)  # loading a URL started a new session
    app.go("Audit")
    app.selectbox("Reviewer", name)
    audit = Grid.with_header(app, "decision", AUDIT_COLUMNS)
    expect_rows(audit, 3)
    assert audit.texts("reviewer") == [name] * 3
    assert sorted(audit.texts("decision")) == ["approve", "edit", "reject"]
    assert {re.sub(r" · \w+$", "", t) for t in audit.texts("thread")} == {request_words(THREE_SHAPES)}
    shot(app, "flow1-audit")
    with app.page.expect_download() as download:
        app.page.get_by_role("button", name="Download CSV").click()
    exported = csv.DictReader(io.StringIO(Path(download.value.path()).read_text(encoding="utf-8")))
    assert sorted((r["reviewer"], r["thread_id"], r["decision"]) for r in exported) == [
        (name, thread_id, "approve"),
        (name, thread_id, "edit"),
        (name, thread_id, "reject"),
    ]


# --- 2 ------------------------------------------------------------------------------------------


def test_then_sequence_next_row_appears_without_reload(
    server: Server, saved_state: SavedState, new_app: Callable[..., App]
) -> None:
    app = new_app()
    app.set_reviewer(reviewer("bea"))
    thread_id, pending = start_thread(server.db, THEN_SEQUENCE)  # another process
    started = time.monotonic()
    assert [row["tool"] for row in pending] == ["create_circle"]
    # The open Inbox picks the other process's row up by itself (its refresh timer): no reload, no click.
    Grid(app).find_row("thread", thread_cell(THEN_SEQUENCE), timeout_ms=OTHER_PROCESS_ROW_S * 1000, part=True)
    appeared = time.monotonic() - started
    grid = filter_thread(app, THEN_SEQUENCE)
    expect_rows(grid, 1)
    grid.choose("decision", grid.find_row("tool", "create_circle"), "approve")
    app.click("Submit decisions")
    expect_banner(app, summary(1, 0, 1))
    # The resumed run's next interrupt is already in the table, in the same page load.
    square = grid.find_row("tool", "create_square")
    expect_rows(grid, 1)
    assert grid.cell("arguments", square).inner_text() == "shape_id=s1, color=blue"
    assert grid.cell("decision", square).inner_text() == ""  # the circle's decision did not carry over
    shot(app, "flow2-next-row")
    grid.choose("decision", square, "approve")
    app.click("Submit decisions")
    expect_banner(app, summary(1, 0, 0))

    assert shapes_saved(saved_state, thread_id) == {"c1": ("circle", "red"), "s1": ("square", "blue")}
    assert pending_ids(saved_state, thread_id) == []
    open_thread(app, thread_id, THEN_SEQUENCE)
    expect(app.page.locator('[data-shape-id="s1"]')).to_be_visible(timeout=TIMEOUT_MS)
    assert shapes_on_page(app) == {"c1": ("circle", "red"), "s1": ("square", "blue")}
    shot(app, "flow2-thread")
    print(f"a row raised by another process showed after {appeared:.2f} s")


# --- 3 ------------------------------------------------------------------------------------------


def test_two_reviewers_same_row_one_conflict(
    server: Server, saved_state: SavedState, new_app: Callable[..., App]
) -> None:
    prompt = "Create a purple circle k3"
    thread_id, pending = start_thread(server.db, prompt)
    assert len(pending) == 1
    first, second = reviewer("cat"), reviewer("dan")
    apps = []
    for name in (first, second):  # two browser contexts: two sessions, two reviewers
        app = new_app()
        app.set_reviewer(name)
        grid = filter_thread(app, prompt)
        expect_rows(grid, 1)
        grid.choose("decision", 0, "approve")
        apps.append(app)
    a, b = apps

    a.click("Submit decisions")
    expect_banner(a, summary(1, 0, 0))
    # The row leaves the second reviewer's table on its next refresh; the decision is kept and still sent.
    expect(b.page.get_by_test_id("stDataFrame")).to_have_count(0, timeout=TIMEOUT_MS)
    b.click("Submit decisions")
    expect_banner(b, summary(0, 1, 0))
    expect(
        b.page.get_by_text(
            re.compile(
                rf"create_circle\(shape_id=k3, color=purple\) in «Create a purple circle k3 · \w+»: "
                rf"already decided by {first} at \d{{4}}-\d\d-\d\d \d\d:\d\d:\d\d UTC: approve$"
            )
        )
    ).to_be_visible()
    shot(b, "flow3-conflict")

    rows = decisions(server, thread_id)
    assert [(r["reviewer"], r["decision_type"], r["status"]) for r in rows] == [(first, "approve", "applied")]
    assert shapes_saved(saved_state, thread_id) == {"k3": ("circle", "purple")}
    drawn = [line for line in server.effects() if '"shape_id": "k3"' in line]
    assert len(drawn) == 1, drawn  # the tool's effect ran once, not once per reviewer


# --- 4 ------------------------------------------------------------------------------------------


def test_html_in_payload_renders_as_text(server: Server, new_app: Callable[..., App]) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "tests.e2e.xss_agent", str(server.db)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    thread_id = done.stdout.strip()
    app = new_app()
    grid = filter_thread(app, PROMPT)
    expect_rows(grid, 1)
    # The grid draws on a canvas; its accessibility table holds exactly the text drawn.
    assert grid.cell("arguments", 0).inner_text() == format_args({"shape_id": SHAPE_ID, "color": COLOUR})
    shot(app, "flow4-inbox")

    open_thread(app, thread_id, PROMPT)
    expect(app.page.get_by_text(PROMPT, exact=True)).to_be_visible(timeout=TIMEOUT_MS)  # the conversation
    pending = Grid.with_header(app, "description", PENDING_COLUMNS)
    expect(pending.cell("description", 0)).to_have_text(DESCRIPTION)
    shot(app, "flow4-thread")
    # Nothing became markup: no element from the payload, no script from it, and no dialog (the fixture
    # also fails the test if `page.on("dialog")` ever fires).
    assert app.page.locator('img[src="x"]').count() == 0
    assert app.page.locator("b", has_text="bold").count() == 0
    scripts = app.page.locator("script").evaluate_all("els => els.map(e => e.textContent)")
    assert not any("alert(1)" in text for text in scripts)
    assert app.dialogs == []
    assert IMG in PROMPT and SCRIPT in PROMPT


# --- 5 ------------------------------------------------------------------------------------------


def test_a_refused_edit_stays_drafted_and_the_valid_row_is_applied(
    server: Server, saved_state: SavedState, new_app: Callable[..., App]
) -> None:
    prompt = "Create an orange square q5 and a pink circle p5"
    thread_id, pending = start_thread(server.db, prompt)
    assert len(pending) == 2
    name = reviewer("eve")
    app = new_app()
    app.set_reviewer(name)
    grid = filter_thread(app, prompt)
    expect_rows(grid, 2)
    square = grid.find_row("tool", "create_square")
    grid.choose("decision", grid.find_row("tool", "create_circle"), "approve")  # a valid row in the same batch
    grid.choose("decision", square, "edit")
    grid.type_text("edited arguments", square, "color=not-a-colour")
    # Refused at once, under the table, before any submit (whatever the width shows of the row's status cell).
    refused = app.page.get_by_test_id("stAlertContainer").filter(has_text="1 row cannot be sent as decided")
    expect(refused).to_contain_text("not-a-colour")
    app.click("Submit decisions")
    # The banner says both: the circle applied, the square refused and still in the draft, with its reason.
    expect_banner(app, summary(1, 0, 0, refused=1))
    banner = app.page.get_by_test_id("stAlertContainer").filter(has_text="Applied 1").first
    expect(banner).to_contain_text("1 row not sent, still in your draft: fix and submit again")
    expect(banner).to_contain_text(
        re.compile(r"create_square\(shape_id=q5, color=orange\) in «Create an orange.*not-a-colour")
    )
    grid = Grid(app)
    square = grid.find_row("tool", "create_square")
    expect(grid.cell("status", square)).to_contain_text("not-a-colour")
    expect(grid.cell("edited arguments", square)).to_have_text("color=not-a-colour")  # as typed, to fix
    shot(app, "flow5-partial")

    rows = decisions(server, thread_id)
    assert [(r["tool"], r["decision_type"], r["reviewer"], r["status"]) for r in rows] == [
        ("create_circle", "approve", name, "applied")
    ]
    assert shapes_saved(saved_state, thread_id) == {"p5": ("circle", "pink")}
    assert len(pending_ids(saved_state, thread_id)) == 1  # the square waits, undecided in the checkpoint
    stored = store_query(server.db, "SELECT entry FROM review_drafts WHERE reviewer = ?", (name,))
    assert [json.loads(entry)["edited"] for (entry,) in stored] == ["color=not-a-colour"]


# --- 6 ------------------------------------------------------------------------------------------


def test_unsent_decision_stays_with_its_interrupt_when_rows_move(
    server: Server, saved_state: SavedState, new_app: Callable[..., App]
) -> None:
    """A refresh that removes, adds and reorders rows never moves a decision onto another row."""
    moving_prompt, staying_prompt = "Draw a gray circle g6, then a pink square h6", "Create a brown square b6"
    moving, pending_moving = start_thread(server.db, moving_prompt)
    staying, pending_staying = start_thread(server.db, staying_prompt)
    name = reviewer("fay")
    app = new_app()
    app.set_reviewer(name)
    grid = filter_thread(app, moving_prompt, staying_prompt)
    expect_rows(grid, 2)
    square = grid.find_row("arguments", "shape_id=b6, color=brown")
    grid.choose("decision", square, "reject")
    grid.type_text("message", square, "not this one")

    # Another process answers the other thread: its row goes, its next row comes, and the order changes.
    item = {"thread_id": moving, "interrupt_id": pending_moving[0]["interrupt_id"], "decision": {"type": "approve"}}
    review_cli(server.db, "decide", "--reviewer", "cli-reviewer", "-", stdin=json.dumps([item]))
    h6 = grid.find_row("arguments", "shape_id=h6, color=pink")
    expect_rows(grid, 2)
    b6 = grid.find_row("arguments", "shape_id=b6, color=brown")
    assert h6 == square, "the scenario needs the new row where the decided row was"
    expect(grid.cell("decision", b6)).to_have_text("reject")
    expect(grid.cell("message", b6)).to_have_text("not this one")
    expect(grid.cell("decision", h6)).to_have_text("")
    expect(grid.cell("message", h6)).to_have_text("")
    shot(app, "flow6-rows-moved")

    app.click("Submit decisions")
    expect_banner(app, summary(1, 0, 0))
    assert [
        (r["interrupt_id"], r["decision_type"], r["message"], r["reviewer"]) for r in decisions(server, staying)
    ] == [(pending_staying[0]["interrupt_id"], "reject", "not this one", name)]
    assert [(r["decision_type"], r["reviewer"]) for r in decisions(server, moving)] == [("approve", "cli-reviewer")]
    assert len(pending_ids(saved_state, moving)) == 1  # h6 is still waiting: nothing was sent for it
    assert shapes_saved(saved_state, moving) == {"g6": ("circle", "gray")}
    assert shapes_saved(saved_state, staying) == {}
