"""Security defaults and the inbox's self-check: a crafted checkpoint row cannot run code, CSV cells cannot
run as formulas, reviewer names are clean, errors never echo a huge input, and dropped triggers are noticed."""

from __future__ import annotations

import csv
import io
import logging
import sqlite3
from pathlib import Path

import ormsgpack
import pytest
from langgraph.checkpoint.sqlite import SqliteSaver

from graph import build_graph
from review import ReviewConsole
from review.audit import csv_cell
from review.contract import check_reviewer
from tests.bench.test_listing_equality import get_state_listing
from tests.conftest import CLEAR, THEN_SEQUENCE, THREE_SHAPES, sqlite_only
from tests.helpers import APPROVE, batch, edit, is_postgres, outside_saver, reject

EXT_CONSTRUCTOR_POS_ARGS = 1  # langgraph-checkpoint's msgpack extension: (module, name, args) -> module.name(*args)


def _crafted_row(db: Path, thread_id: str, target: Path) -> None:
    """A `writes` row whose value asks the deserializer to call os.makedirs(target)."""
    call = ormsgpack.packb(["os", "makedirs", [str(target)]])
    payload = ormsgpack.packb(ormsgpack.Ext(EXT_CONSTRUCTOR_POS_ARGS, call))
    conn = sqlite3.connect(db)
    try:
        (checkpoint_id,) = conn.execute(
            "SELECT MAX(checkpoint_id) FROM checkpoints WHERE thread_id = ? AND checkpoint_ns = ''", (thread_id,)
        ).fetchone()
        conn.execute(
            "INSERT INTO writes (thread_id, checkpoint_ns, checkpoint_id, task_id, task_path, idx, channel, type, "
            "value) VALUES (?, '', ?, 'crafted-task', '', 0, 'messages', 'msgpack', ?)",
            (thread_id, checkpoint_id, payload),
        )
        conn.commit()
    finally:
        conn.close()


@sqlite_only  # writes the crafted row with SQLite's own table layout (the serializer is the same for both)
def test_a_crafted_checkpoint_row_cannot_run_code_when_the_inbox_reads_it(db_path: Path, tmp_path: Path) -> None:
    console = ReviewConsole.open(db_path)
    try:
        thread_id = console.start_run(THREE_SHAPES).result(timeout=30).thread_id
    finally:
        console.close()
    target = tmp_path / "made-by-a-crafted-row"
    _crafted_row(db_path, thread_id, target)

    reopened = ReviewConsole.open(db_path)
    try:
        assert len(reopened.pending()) == 3  # the inbox still reads the thread
        reopened.thread(thread_id)
    finally:
        reopened.close()
    assert not target.exists()

    # The control: LangGraph's default serializer does run it, so the check above can fail.
    conn = sqlite3.connect(db_path, check_same_thread=False)
    try:
        build_graph(SqliteSaver(conn)).get_state({"configurable": {"thread_id": thread_id}})
    finally:
        conn.close()
    assert target.is_dir()


def test_the_demo_flow_runs_without_serializer_warnings(db_path: Path | str, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING)
    console = ReviewConsole.open(db_path)
    try:
        rows = console.start_run(THREE_SHAPES).result(timeout=30).new_pending
        decisions = {"create_circle": APPROVE, "create_square": edit("create_square", shape_id="s1", color="red")}
        assert console.submit(batch(rows, {**decisions, "create_triangle": reject("no")}), "kim").exit_code == 0
        rows = console.start_run(THEN_SEQUENCE).result(timeout=30).new_pending
        console.submit(batch(rows, {"create_circle": APPROVE}), "kim")
        (clear,) = console.start_run(CLEAR).result(timeout=30).new_pending
        (confirm,) = console.submit(batch([clear], {"clear_canvas": APPROVE}), "kim").new_pending
        assert console.submit(batch([confirm], {"clear_canvas": APPROVE}), "kim").exit_code == 0
        for thread_id in console.threads():
            console.thread(thread_id)
    finally:
        console.close()
    serde = [r.getMessage() for r in caplog.records if "serial" in r.getMessage().lower() or "msgpack" in r.name]
    assert serde == [] and not [r for r in caplog.records if "Blocked deserialization" in r.getMessage()]


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        ('=HYPERLINK("http://x")', '\'=HYPERLINK("http://x")'),
        ("+1+1", "'+1+1"),
        ("-2", "'-2"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tcmd", "'\tcmd"),
        ("plain", "plain"),
        (None, ""),
    ],
)
def test_csv_cells_that_start_like_formulas_are_neutralised(value: str | None, shown: str) -> None:
    assert csv_cell(value) == shown


def test_the_audit_csv_never_holds_a_formula_cell(console: ReviewConsole) -> None:
    rows = console.start_run(THREE_SHAPES).result(timeout=30).new_pending
    console.submit(batch(rows, {"create_circle": reject("=cmd|' /C calc'!A0")}), "@mallory")
    table = list(csv.reader(io.StringIO(console.audit_csv())))
    assert table[0][0] == "decided_at"
    cells = [cell for row in table[1:] for cell in row]
    assert "'@mallory" in cells and "'=cmd|' /C calc'!A0" in cells
    assert not [cell for cell in cells if cell[:1] in ("=", "+", "-", "@")]


@pytest.mark.parametrize(
    ("name", "error"),
    [
        ("ana\nroot", "control characters"),
        ("ana\troot", "control characters"),
        ("ana\u202eroot", "control characters"),
        ("x" * 100_000, "longer than 120 characters"),
        ("   ", "reviewer name is required"),
        (42, "must be text"),
    ],
)
def test_reviewer_names_are_refused_when_they_cannot_be_shown_as_one_line(name: object, error: str) -> None:
    with pytest.raises(ValueError, match=error):
        check_reviewer(name)


def test_reviewer_names_are_trimmed_and_refused_ones_record_nothing(console: ReviewConsole) -> None:
    rows = console.start_run(THREE_SHAPES).result(timeout=30).new_pending
    with pytest.raises(ValueError, match="control characters"):
        console.submit(batch(rows, {"create_circle": APPROVE}), "ana\nroot")
    assert console.audit() == []
    assert console.submit(batch(rows, {"create_circle": APPROVE}), "  ana  ").exit_code == 0
    assert [e.reviewer for e in console.audit()] == ["ana"]


def test_a_huge_value_is_not_echoed_back_whole(console: ReviewConsole) -> None:
    rows = console.start_run(THREE_SHAPES).result(timeout=30).new_pending
    huge = "x" * 10_000_000
    result = console.submit(batch(rows, {"create_circle": edit("create_circle", shape_id="c1", color=huge)}), "kim")
    (error,) = result.invalid
    assert len(error.error) < 400 and "color" in error.error
    result = console.submit(batch(rows, {"create_circle": {"type": huge}}), "kim")
    assert len(result.invalid[0].error) < 400
    with pytest.raises(ValueError) as raised:
        console.submit([{"thread_id": rows[0].thread_id, "row_id": rows[0].row_id, "decision": APPROVE, huge: 1}], "k")
    assert len(str(raised.value)) < 400 and "item 1" in str(raised.value)


def test_a_deeply_nested_decision_is_refused_before_anything_recurses_on_it(console: ReviewConsole) -> None:
    rows = console.start_run(THREE_SHAPES).result(timeout=30).new_pending
    deep: object = "bottom"
    for _ in range(100_000):
        deep = [deep]
    with pytest.raises(ValueError, match="nested more than 32 levels") as raised:
        console.submit([{"thread_id": rows[0].thread_id, "row_id": rows[0].row_id, "decision": deep}], "kim")
    assert "item 1" in str(raised.value) and rows[0].row_id[:20] in str(raised.value)
    assert console.audit() == []


# --- the inbox notices a change feed it cannot trust --------------------------------------------------


def _drop_feed_triggers(db: Path | str) -> None:
    """What an operator's careless migration might do: the change feed goes blind."""
    if is_postgres(db):
        import psycopg

        with psycopg.connect(str(db), autocommit=True) as conn:
            conn.execute("DROP TRIGGER review_heads_on_checkpoint ON checkpoints")
            conn.execute("ALTER TABLE checkpoint_writes DISABLE TRIGGER review_heads_on_write")
        return
    outside = sqlite3.connect(db)
    for name in ("review_heads_on_checkpoint", "review_heads_on_write"):
        outside.execute(f"DROP TRIGGER {name}")
    outside.commit()
    outside.close()


def _feed_triggers(console: ReviewConsole) -> int:
    if is_postgres(console.settings.db):
        sql = "SELECT COUNT(*) FROM pg_trigger WHERE tgname LIKE 'review_heads_%' AND tgenabled <> 'D'"
    else:
        sql = "SELECT COUNT(*) FROM sqlite_master WHERE type = 'trigger'"
    return int(console.storage.query(sql)[0][0])


def test_dropped_triggers_under_a_running_console_never_serve_a_stale_list(db_path: Path | str) -> None:
    console = ReviewConsole.open(db_path)
    try:
        console.start_run(THREE_SHAPES).result(timeout=30)
        assert len(console.pending()) == 3
        _drop_feed_triggers(db_path)
        # an agent process writes while the feed is blind: a new paused thread
        with outside_saver(db_path) as saver:
            build_graph(saver).invoke(
                {"messages": [("human", THEN_SEQUENCE)], "canvas": []}, {"configurable": {"thread_id": "written-blind"}}
            )
        listed = console.pending()
        assert [r.key for r in listed] == [r.key for r in get_state_listing(db_path)]
        assert "written-blind" in {r.thread_id for r in listed}
        assert _feed_triggers(console) == 4  # re-installed by the check
    finally:
        console.close()
