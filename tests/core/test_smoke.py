"""The three-shape scenario through the console, checked against what the checkpoint saved."""

from pathlib import Path

from review import ReviewConsole
from review.console import change_token_reader
from tests.conftest import THREE_SHAPES
from tests.helpers import APPROVE, batch, edit, reject


def test_three_parallel_rows_decided_in_one_batch(console: ReviewConsole) -> None:
    job = console.start_run(THREE_SHAPES)
    outcome = job.result(timeout=30)
    rows = console.pending()
    assert [r.tool for r in rows] == ["create_circle", "create_square", "create_triangle"]
    assert len({r.interrupt_id for r in rows}) == 3
    assert {r.interrupt_id for r in outcome.new_pending} == {r.interrupt_id for r in rows}

    result = console.submit(
        batch(
            rows,
            {
                "create_circle": APPROVE,
                "create_square": edit("create_square", shape_id="s1", color="yellow"),
                "create_triangle": reject("no triangles today"),
            },
        ),
        reviewer="alice",
    )
    assert result.exit_code == 0, result.to_dict()
    assert len(result.applied) == 3
    view = console.thread(job.thread_id)
    assert view.canvas == [
        {"shape_id": "c1", "kind": "circle", "color": "red"},
        {"shape_id": "s1", "kind": "square", "color": "yellow"},
    ]
    assert any("no triangles today" in m.content for m in view.messages if m.type == "tool")
    assert console.pending() == []
    assert {e.reviewer for e in console.audit()} == {"alice"}


def test_the_page_token_is_the_change_routes_token(db_path: Path) -> None:
    """The Inbox draws at `inbox_token()` and the browser waits on the change route's token: the two must be the
    same string when nothing moved (else every poll answers at once and the page reruns for ever)."""
    console = ReviewConsole.open(db_path)
    try:
        read = change_token_reader(console.settings)
        before = console.inbox_token()
        assert read() == before
        console.start_run(THREE_SHAPES).result(timeout=30)
        assert read() == console.inbox_token() != before
    finally:
        console.close()
