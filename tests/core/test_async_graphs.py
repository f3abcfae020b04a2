"""The same review flows for a sync and an async build of the demo agent."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from graph import AGENT as SYNC_DEMO
from review import ReviewConsole
from tests.agents.async_demo import AGENT as ASYNC_DEMO
from tests.conftest import THEN_SEQUENCE, THREE_SHAPES
from tests.helpers import APPROVE, batch, edit, reject


@pytest.fixture(params=["sync", "async"])
def any_console(request: pytest.FixtureRequest, db_path: Path) -> Iterator[ReviewConsole]:
    console = ReviewConsole.open(db_path, agent=SYNC_DEMO if request.param == "sync" else ASYNC_DEMO)
    assert console.graphs.default.is_async_only is (request.param == "async")
    yield console
    console.close()


def test_three_parallel_shapes_each_get_their_own_decision(any_console: ReviewConsole) -> None:
    rows = any_console.start_run(THREE_SHAPES).result(timeout=30).new_pending
    assert sorted(r.tool for r in rows) == ["create_circle", "create_square", "create_triangle"]
    decisions = {
        "create_circle": APPROVE,
        "create_square": edit("create_square", shape_id="s1", color="yellow"),
        "create_triangle": reject("not today"),
    }
    result = any_console.submit(batch(rows, decisions), "kim")
    assert result.exit_code == 0, result.to_dict()
    canvas = any_console.thread(rows[0].thread_id).canvas
    assert sorted((s["shape_id"], s["color"]) for s in canvas) == [("c1", "red"), ("s1", "yellow")]


def test_a_then_sequence_asks_again_after_each_step(any_console: ReviewConsole) -> None:
    (circle,) = any_console.start_run(THEN_SEQUENCE).result(timeout=30).new_pending
    result = any_console.submit(batch([circle], {"create_circle": APPROVE}), "kim")
    (square,) = result.new_pending
    assert square.tool == "create_square"
    assert any_console.submit(batch([square], {"create_square": APPROVE}), "kim").exit_code == 0
    assert [s["shape_id"] for s in any_console.thread(circle.thread_id).canvas] == ["c1", "s1"]
    assert any_console.pending() == []
