"""One bad thread stays one bad thread (issue 18, M4): a checkpoint value the console will not decode (a `pickle`
value, which an agent using langgraph's `pickle_fallback` writes legitimately) makes that thread read-only with the
reason; every other thread lists and is decided as usual, on both backends, in the console and in the CLI."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer
from langgraph.types import Interrupt

from review import ReviewConsole, StoreError
from review.inbox import UNREADABLE_KIND, unreadable_reason
from tests.conftest import THREE_SHAPES
from tests.helpers import APPROVE, batch, outside_saver

ROOT = Path(__file__).resolve().parents[2]
PICKLE = "will not decode (pickle)"


class Opaque:
    """What msgpack cannot encode and pickle can: langgraph's pickle_fallback then writes the value as `pickle`."""

    __slots__ = ("handle",)

    def __init__(self) -> None:
        self.handle = 1


def _pickled_write(db: Path | str, thread_id: str, *, channel: str = "__interrupt__") -> None:
    """What an agent's own deployment (a saver with pickle_fallback) writes at the thread's head: by default a
    new question whose value holds an object msgpack cannot encode; `channel="messages"`: a task's output."""
    serde = JsonPlusSerializer(pickle_fallback=True)
    value: object = [Interrupt(value={"report": Opaque()}, id="pickled")] if channel == "__interrupt__" else Opaque()
    assert serde.dumps_typed(value)[0] == "pickle"
    with outside_saver(db) as saver:
        saver.serde = serde
        head = saver.get_tuple({"configurable": {"thread_id": thread_id}})
        saver.put_writes(head.config, [(channel, value)], task_id="pickled-task", task_path="~__pregel_push, 9")


def _two_threads(db: Path | str) -> tuple[str, str]:
    console = ReviewConsole.open(db)
    try:
        good = console.start_run(THREE_SHAPES).result(timeout=30).thread_id
        bad = console.start_run(THREE_SHAPES).result(timeout=30).thread_id
    finally:
        console.close()
    return good, bad


def test_a_pickled_write_makes_only_its_thread_read_only(db_path: Path | str) -> None:
    good, bad = _two_threads(db_path)
    _pickled_write(db_path, bad)

    console = ReviewConsole.open(db_path)
    try:
        rows = console.pending()
        assert [r.thread_id for r in rows].count(good) == 3 and not any(r.blocked for r in rows if r.thread_id == good)
        [row] = [r for r in rows if r.thread_id == bad]
        assert (row.row_id, row.payload_kind, row.allowed_decisions) == (UNREADABLE_KIND, UNREADABLE_KIND, ())
        assert row.blocked is not None and PICKLE in row.blocked and "\n" not in row.blocked
        assert console.may_decide("kim", row) == row.blocked

        # Refused before anything is claimed, with the reason; the good thread is decided as usual.
        refused = console.submit([{"thread_id": bad, "row_id": row.row_id, "decision": APPROVE}], "kim")
        assert refused.exit_code == 2 and PICKLE in refused.invalid[0].error
        assert console.audit() == []
        done = console.submit(batch([r for r in rows if r.thread_id == good], {"create_circle": APPROVE}), "kim")
        assert done.exit_code == 0 and len(done.applied) == 1

        view = console.thread(bad)  # the thread's page: no traceback, its row says why
        assert view.values == {} and [p.blocked for p in view.pending] == [row.blocked]
    finally:
        console.close()


def test_an_open_console_keeps_the_rows_it_read_and_refuses_them_with_the_reason(db_path: Path | str) -> None:
    _, bad = _two_threads(db_path)
    console = ReviewConsole.open(db_path)
    try:
        before = console.pending(bad)
        _pickled_write(db_path, bad)
        rows = console.pending()
        assert len(rows) == 6 and {r.thread_id for r in rows if r.blocked} == {bad}
        assert [r.row_id for r in rows if r.thread_id == bad] == [r.row_id for r in before]
        # A decision the reviewer made on a row listed before the bad write: refused with the reason, not as stale.
        refused = console.submit(batch(before, {"create_circle": APPROVE}), "kim")
        assert refused.exit_code == 2 and PICKLE in refused.invalid[0].error
        assert console.audit() == []
    finally:
        console.close()


def test_an_unreadable_value_behind_readable_questions_is_found_by_the_threads_view(db_path: Path | str) -> None:
    """The listing reads only the questions of a head; the thread's view decodes all of it and tells the inbox."""
    _, bad = _two_threads(db_path)
    _pickled_write(db_path, bad, channel="messages")
    console = ReviewConsole.open(db_path)
    try:
        assert len(console.pending()) == 6
        view = console.thread(bad, timeline=False)  # the Inbox's detail pane asks for this
        assert len(view.pending) == 3 and all(PICKLE in (p.blocked or "") for p in view.pending)
        assert {r.thread_id for r in console.pending() if r.blocked} == {bad}
        refused = console.submit(batch(view.pending, {"create_circle": APPROVE}), "kim")
        assert refused.exit_code == 2 and PICKLE in refused.invalid[0].error and console.audit() == []
    finally:
        console.close()


def test_the_cli_lists_every_thread_and_says_it_in_one_line(db_path: Path | str) -> None:
    good, bad = _two_threads(db_path)
    _pickled_write(db_path, bad)
    ran = subprocess.run(
        [sys.executable, "-m", "review", "--db", str(db_path), "pending"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert ran.returncode == 0, ran.stderr
    rows = json.loads(ran.stdout)
    assert sorted(r["thread_id"] for r in rows) == sorted([good] * 3 + [bad])
    assert next(r["blocked"] for r in rows if r["thread_id"] == bad).startswith("its checkpoint holds a value")
    assert len(ran.stderr.strip().splitlines()) <= 1 and "Traceback" not in ran.stderr


def test_a_database_error_is_never_taken_for_one_bad_thread() -> None:
    assert unreadable_reason(StoreError("the database is locked")) is None
    assert unreadable_reason(sqlite3.OperationalError("disk I/O error")) is None
    assert unreadable_reason(OSError("gone"), (OSError,)) is None
    reason = unreadable_reason(NotImplementedError("Unknown serialization type: pickle"))
    assert reason is not None and PICKLE in reason
    other = unreadable_reason(ValueError("bad msgpack " + "x" * 10_000))
    assert other is not None and other.startswith("its checkpoint cannot be read here: ValueError") and len(other) < 200


@pytest.mark.parametrize("channel", ["__interrupt__", "messages"])
def test_a_refresh_after_the_bad_write_still_lists_the_good_thread(db_path: Path | str, channel: str) -> None:
    """The same long-lived console (the server's) across the bad write: nothing fails, the good rows stay."""
    good, bad = _two_threads(db_path)
    console = ReviewConsole.open(db_path)
    try:
        assert len(console.pending()) == 6
        _pickled_write(db_path, bad, channel=channel)
        console.thread(bad)
        rows = console.pending()
        assert [r.thread_id for r in rows if not r.blocked] == [good] * 3
        assert {r.thread_id for r in rows if r.blocked} == {bad}
    finally:
        console.close()
