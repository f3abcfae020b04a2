"""Two `streamlit run` replicas on ONE PostgreSQL database, each in its own browser: a row decided in one
leaves the other's Inbox without a reload (its LISTEN thread wakes the page's change watcher).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest
from playwright.sync_api import expect

from scripts.pg_cluster import Cluster
from tests.e2e.conftest import ARTIFACTS, serve
from tests.e2e.helpers import TIMEOUT_MS, App
from tests.e2e.test_flows import expect_rows, filter_thread, reviewer, summary
from tests.helpers import store_query

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
# Pushed changes redraw a replica's Inbox within ~0.2 s; the bound leaves room for a loaded machine.
OTHER_REPLICA_S = 5.0


def test_a_row_decided_in_one_replica_leaves_the_other_replicas_inbox_without_a_reload(
    pg_cluster: Cluster, tmp_path: Path, new_app: Callable[..., App]
) -> None:
    from tests.core.crash_harness import paused_thread

    url = pg_cluster.create_database(f"e2e_{uuid.uuid4().hex[:12]}")
    prompt = "Create a purple circle k3, a blue square q3"
    thread_id, pending = paused_thread(url, prompt)
    assert len(pending) == 2
    with (
        serve(tmp_path, ARTIFACTS / "replica-1.log", db=url) as first,
        serve(tmp_path, ARTIFACTS / "replica-2.log", db=url) as second,
    ):
        a, b = new_app(on=first), new_app(on=second)
        sidebar = a.page.get_by_test_id("stSidebar").inner_text().replace("\u2060", "")  # shown unlinked
        assert "postgresql://postgres@127.0.0.1" in sidebar
        name = reviewer("cat")
        a.set_reviewer(name)
        grid_a, grid_b = filter_thread(a, prompt), filter_thread(b, prompt)
        expect_rows(grid_a, 2)
        expect_rows(grid_b, 2)
        b.page.evaluate("window.__not_reloaded = true")  # gone if the page were reloaded

        row = grid_a.find_row("tool", "create_circle")
        grid_a.choose("decision", row, "approve")
        a.click("Submit decisions")
        expect(a.page.get_by_text(summary(1, 0, 0))).to_be_visible(timeout=TIMEOUT_MS)
        decided = time.monotonic()
        expect_rows(grid_b, 1)  # the circle left the other replica's table, the square stays
        elapsed = time.monotonic() - decided
        assert grid_b.texts("tool") == ["create_square"]
        assert b.page.evaluate("window.__not_reloaded === true")
        assert elapsed < OTHER_REPLICA_S, elapsed
        print(f"the other replica's Inbox dropped the row {elapsed * 1000:.0f} ms after the submit was shown")

    saved = store_query(url, "SELECT reviewer, status FROM review_decisions WHERE thread_id = ?", (thread_id,))
    assert [tuple(r) for r in saved] == [(name, "applied")]
