"""A team's own graph in the browser: the console started with `-- --graph file.py:graph` on a create_agent graph
(HumanInTheLoopMiddleware per call), its two calls reviewed in the Inbox and applied."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import ARTIFACTS, Server, serve
from tests.e2e.helpers import INBOX_COLUMNS, NO_EDIT_COLUMNS, ROOT, TIMEOUT_MS, App, review_cli
from tests.e2e.test_flows import Grid, expect_rows, reviewer, summary
from tests.helpers import store_query

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
TARGET = str(ROOT / "tests/agents/langchain_per_call.py") + ":graph"


@pytest.fixture(scope="module")
def own_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    work = tmp_path_factory.mktemp("own-graph")
    with serve(work, ARTIFACTS / "server-own-graph.log", args=["--", "--graph", TARGET]) as server:
        yield server


def test_a_create_agent_graph_loaded_with_graph_is_reviewed_in_the_browser(
    own_server: Server, new_app: Callable[..., App]
) -> None:
    started = review_cli(own_server.db, "--graph", TARGET, "start", "tidy up")
    thread_id = started["thread_id"]
    assert sorted(r["tool"] for r in started["pending"]) == ["delete_file", "send_email"]
    app = new_app(on=own_server)
    app.set_reviewer(reviewer("tess"))
    # One table per set of decisions: send_email offers approve, edit or reject; delete_file approve or reject only.
    emails, deletes = Grid(app), Grid(app, 1, NO_EDIT_COLUMNS)
    expect_rows(emails, 1)
    expect_rows(deletes, 1)
    # (The grid lists the headers of the columns it draws: those in view beside the card, from the left.)
    shown, no_edit = emails.headers(), deletes.headers()
    assert len(shown) >= 5 and shown == list(INBOX_COLUMNS[: len(shown)])
    assert len(no_edit) >= 5 and no_edit == list(NO_EDIT_COLUMNS[: len(no_edit)])
    expect(app.page.get_by_text("Tool calls · approve or reject (1)")).to_be_visible()
    expect(deletes.cell("status", 0)).to_contain_text("allowed: approve, reject")
    emails.choose("decision", emails.find_row("tool", "send_email"), "approve")
    deletes.choose("decision", deletes.find_row("tool", "delete_file"), "reject")
    app.click("Submit decisions")
    expect(app.page.get_by_text(summary(2, 0, 0))).to_be_visible(timeout=TIMEOUT_MS)
    saved = store_query(
        own_server.db, "SELECT tool, decision_type, status FROM review_decisions WHERE thread_id = ?", (thread_id,)
    )
    assert sorted(tuple(r) for r in saved) == [
        ("delete_file", "reject", "applied"),
        ("send_email", "approve", "applied"),
    ]
