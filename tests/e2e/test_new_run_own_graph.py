"""A team's own graph started from New run in Chromium (issue 20 item 5): the console runs with
`-- --graph tests/agents/plan_execute.py:graph` (a StateGraph whose input is a prompt, a pydantic plan, a list and an
enum; no `messages`), New run draws a form from its input schema and nothing of the demo; bad JSON starts nothing
and says why in one line; a good form starts the run, and its Thread page links the pending row to the Inbox
(`?thread=`, `?row=`) while its age ticks, and drops the row by itself once another process answered it.
Screenshots at 1024x768 and 390x844 go to tests/e2e/artifacts/."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from urllib.parse import urlparse

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import ARTIFACTS, Server, serve
from tests.e2e.helpers import ROOT, TIMEOUT_MS, App, review_cli
from tests.helpers import store_query

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
TARGET = str(ROOT / "tests/agents/plan_execute.py") + ":graph"
DEMO_WORDS = ("demo", "shape", "canvas", "circle", "square", "triangle", "color", "colour")
SIZES = {"1024x768": {"width": 1024, "height": 768}, "390x844": {"width": 390, "height": 844}}


@pytest.fixture(scope="module")
def plan_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    work = tmp_path_factory.mktemp("own-graph-new-run")
    with serve(work, ARTIFACTS / "server-new-run-own-graph.log", args=["--", "--graph", TARGET]) as server:
        yield server


def main_text(app: App) -> str:
    return app.page.get_by_test_id("stMain").inner_text().lower()


def fill(app: App, label: str, text: str, *, area: bool = False) -> None:
    """Type into the text box labelled `label` and commit it (Enter; Ctrl+Enter in a text area)."""
    box = app.page.get_by_test_id("stMain").get_by_role("textbox", name=label, exact=True)
    with app.clock.rerun():
        box.fill(text)
        box.press("Control+Enter" if area else "Enter")
    expect(box).to_have_value(text)


def threads(server: Server) -> int:
    return int(store_query(server.db, "SELECT COUNT(DISTINCT thread_id) FROM checkpoints")[0][0])


def test_an_own_graph_starts_from_a_schema_form_with_no_demo_wording(
    plan_server: Server, new_app: Callable[..., App]
) -> None:
    app = new_app("new_run", "New run", on=plan_server, viewport=SIZES["1024x768"])
    main = app.page.get_by_test_id("stMain")
    for label in ("prompt", "approval", "plan", "done"):
        expect(main.get_by_role("textbox", name=label, exact=True)).to_be_visible()
    expect(main.get_by_test_id("stSelectbox").filter(has=app.page.get_by_text("outcome", exact=True))).to_be_visible()
    said = main_text(app)
    assert not [word for word in DEMO_WORDS if word in said], said
    assert "e.g." not in said

    # Bad JSON: one line, nothing started.
    fill(app, "done", "[1,", area=True)
    app.click("Start run")
    warning = main.get_by_test_id("stAlertContentWarning")
    expect(warning).to_have_text(re.compile(r"^Nothing started: done: not JSON: Expecting value \(line 1, column 4\)$"))
    assert threads(plan_server) == 0

    # A value of the wrong type: the schema says which.
    fill(app, "done", "[1]", area=True)
    app.click("Start run")
    expect(warning).to_have_text(
        "Nothing started: the graph's input schema refuses it: done.0: 1 is not of type 'string'"
    )
    assert threads(plan_server) == 0

    fill(app, "done", "", area=True)
    fill(app, "prompt", "scan, report")
    app.click("Start run")
    expect(app.page.get_by_text("Paused: 1 interrupt(s) waiting for review")).to_be_visible(timeout=TIMEOUT_MS)
    expect(warning).to_have_count(0)
    assert threads(plan_server) == 1
    said = main_text(app)
    assert not [word for word in DEMO_WORDS if word in said], said
    app.screenshot(ARTIFACTS / "new-run-own-graph-1024x768.png")

    # Its Thread page: no demo section, the row linked to the Inbox both ways, its age ticking.
    href = main.get_by_role("link", name="Open the thread").get_attribute("href") or ""
    thread_id = re.search(r"[?&]thread=([^&]+)", href)[1]  # type: ignore[index]
    app.go_link("Open the thread", "Thread")
    expect(main.get_by_text(f"Thread id: {thread_id}")).to_be_visible()
    expect(main.get_by_role("heading", name="Canvas")).to_have_count(0)
    whole = main.get_by_role("link", name="Review this thread in the Inbox (1 pending)")
    assert urlparse(whole.get_attribute("href") or "").query == f"thread={thread_id}"
    row_link = main.get_by_role("link", name="Open question in the Inbox")
    assert re.fullmatch(r"row=[0-9a-f]+", urlparse(row_link.get_attribute("href") or "").query)
    age = main.get_by_test_id("stDataFrame").first.locator('[data-testid^="glide-cell-1-0"]')
    first = age.inner_text()
    assert re.fullmatch(r"\d+s", first), first
    expect(age).not_to_have_text(first, timeout=5_000)  # the age moved on without any click
    said = main_text(app)
    assert "canvas" not in said and "shape" not in said
    app.screenshot(ARTIFACTS / "thread-own-graph-1024x768.png")

    phone = new_app("new_run", "New run", on=plan_server, viewport=SIZES["390x844"])
    expect(phone.page.get_by_test_id("stMain").get_by_role("textbox", name="prompt", exact=True)).to_be_visible()
    phone.screenshot(ARTIFACTS / "new-run-own-graph-390x844.png")
    phone.open(f"thread?thread={thread_id}", "Thread")
    expect(phone.page.get_by_role("link", name="Open question in the Inbox")).to_be_visible()
    phone.screenshot(ARTIFACTS / "thread-own-graph-390x844.png")
    phone.go_link("Review this thread in the Inbox (1 pending)", "Inbox")  # in the same session

    # Answered from another process: the open Thread page drops the row by itself.
    [row] = review_cli(plan_server.db, "--graph", TARGET, "pending")
    item = {"thread_id": thread_id, "row_id": row["row_id"], "decision": {"type": "respond", "message": "no"}}
    review_cli(plan_server.db, "--graph", TARGET, "decide", "--reviewer", "cli-ann", "-", stdin=json.dumps([item]))
    expect(main.get_by_text("Nothing pending in this thread.")).to_be_visible(timeout=TIMEOUT_MS)
    expect(main.get_by_text("Nothing: the run has finished.")).to_be_visible(timeout=TIMEOUT_MS)
    expect(main.get_by_role("link", name="Open question in the Inbox")).to_have_count(0)
