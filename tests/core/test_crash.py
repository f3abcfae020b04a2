"""Crash safety, tried as an operator would: kill -9, kill -STOP, a locked database, at the worst moment.

Each test stops a child (`python -m review` with tests/core/slow_agent.py) at a marker it writes when
it reaches the chosen point, then checks what matters: the tool's external effect happened once (the
effect log the test owns), the thread's history did not fork, the run went on to its next interrupt,
and the audit and the exit code say what the checkpoint shows.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from review import ReviewConsole
from tests.conftest import THEN_SEQUENCE, THREE_SHAPES, sqlite_only
from tests.core.crash_harness import Child, forks, paused_thread, read_lines, wait_for
from tests.helpers import APPROVE, batch, reject, store_query

LEASE = "1"  # the children's lease, seconds: a paused child loses it quickly


@pytest.fixture
def effect_log(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "effects.jsonl"
    monkeypatch.setenv("CANVAS_EFFECT_LOG", str(path))
    return path


@pytest.fixture
def child(db_path: Path | str | str, tmp_path: Path, effect_log: Path) -> Iterator[Callable[..., Child]]:
    started: list[Child] = []

    def start(args: list[str], *, name: str = "child", **env: str) -> Child:
        full = {"REVIEW_LEASE_SECONDS": LEASE, "CANVAS_EFFECT_LOG": str(effect_log), **env}
        started.append(Child(db_path, args, tmp_path, full, name=name))
        return started[-1]

    yield start
    for each in started:
        each.cleanup()


def _decide_args(tmp: Path, items: list[dict[str, Any]], reviewer: str = "kim") -> list[str]:
    path = tmp / f"batch-{reviewer}.json"
    path.write_text(json.dumps(items), encoding="utf-8")
    return ["decide", "--reviewer", reviewer, str(path)]


def _shapes(effects: list[dict[str, Any]]) -> list[str]:
    return sorted(e["shape_id"] for e in effects if e.get("op") == "add")


def _audit(console: ReviewConsole) -> list[tuple[str, str, bool, bool]]:
    """(tool, status, rerun, recovered) per attempt, by tool."""
    return sorted((e.tool or "", e.status, e.rerun, e.recovered_from is not None) for e in console.audit())


# --- 1. a paused owner that lost its lease cannot write --------------------------------------------


@pytest.mark.slow
def test_a_process_paused_past_its_lease_is_fenced_and_the_effect_happens_once(
    db_path: Path | str, tmp_path: Path, effect_log: Path, child: Callable[..., Child]
) -> None:
    thread_id, rows = paused_thread(db_path, THREE_SHAPES)
    decider = child(
        _decide_args(
            tmp_path, batch(rows, {t: APPROVE for t in ("create_circle", "create_square", "create_triangle")})
        ),
        SLOW_AGENT_ONLY="s1",
        SLOW_AGENT_STALL_S="3",
    )
    wait_for("the square's tool to stall with its decision", decider.stalled)
    wait_for("the circle and triangle to be drawn", lambda: _shapes(read_lines(effect_log)) == ["c1", "t1"])
    decider.stop_outside_a_transaction(db_path, effect_log)
    try:
        # Past the lease, another process opens the store: recovery takes the thread and applies the square.
        wait_for("the paused child's lease to expire", lambda: _lease_expired(db_path, thread_id), timeout=10)
        recovering = ReviewConsole.open(db_path)
        try:
            (recovered,) = recovering.recovered
            square = next(r.row_id for r in rows if r.tool == "create_square")
            # the circle and triangle were answered by the child's resume (or re-sent, if the pause came
            # between their effect and their saved write: their keys keep the effects once), the square is re-sent
            assert recovered.error is None and sorted(recovered.applied) == sorted(r.row_id for r in rows)
            assert square in recovered.rerun
            assert recovering.thread(thread_id).canvas and len(recovering.thread(thread_id).canvas) == 3
        finally:
            recovering.close()
    finally:
        decider.signal(signal.SIGCONT)
    # The child wakes up, finishes the square's tool (its effect is already there: skipped by key), and its
    # write is refused at the store: it reports the row as taken over, not applied, and exits 1.
    assert decider.wait() == 1, decider.stderr()
    report = decider.json()
    # all three: the circle and triangle outcomes, too, were recorded by recovery, not by this process
    assert [r["reason"] for r in report["not_applied"]] == ["taken over by recovery (this process lost its lease)"] * 3
    assert report["applied"] == []
    assert forks(db_path, thread_id) == 0
    effects = read_lines(effect_log)
    assert _shapes(effects) == ["c1", "s1", "t1"]  # each effect once
    assert {e["shape_id"]: e["pid"] for e in effects}["s1"] == os.getpid()  # drawn by recovery
    reopened = ReviewConsole.open(db_path)
    try:
        assert reopened.recovered == [] and reopened.pending() == []
        audit = {tool: (status, rerun, recovered) for tool, status, rerun, recovered in _audit(reopened)}
        assert {tool: entry[0] for tool, entry in audit.items()} == dict.fromkeys(
            ["create_circle", "create_square", "create_triangle"], "applied"
        )
        assert audit["create_square"][1:] == (True, True)  # re-sent by recovery after the child had started it
        assert len(reopened.thread(thread_id).canvas) == 3
    finally:
        reopened.close()


def _lease_expired(db: Path | str, thread_id: str) -> bool:
    rows = store_query(db, "SELECT lease_until FROM review_leases WHERE thread_id = ?", (thread_id,))
    return bool(rows) and rows[0][0] < time.time()


# --- 2. killed between the effect and the save of the task's write ---------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("trial", [1, 2])
def test_killed_right_after_the_effect_the_rerun_does_not_repeat_it(
    db_path: Path | str, tmp_path: Path, effect_log: Path, child: Callable[..., Child], trial: int
) -> None:
    thread_id, rows = paused_thread(db_path, "Draw a red circle c1")
    decider = child(_decide_args(tmp_path, batch(rows, {"create_circle": APPROVE})), SLOW_AGENT_STALL_AT="after_effect")
    wait_for("the effect, then the stall", decider.stalled)
    (effect,) = read_lines(effect_log)
    assert effect["pid"] == decider.proc.pid
    decider.kill()  # LangGraph never saved the task's write: the tool runs again on recovery

    reopened = ReviewConsole.open(db_path)
    try:
        (recovered,) = reopened.recovered
        assert recovered.applied == [rows[0].row_id] and recovered.rerun == [rows[0].row_id]
        assert reopened.thread(thread_id).canvas == [{"shape_id": "c1", "kind": "circle", "color": "red"}]
        assert _audit(reopened) == [("create_circle", "applied", True, True)]
    finally:
        reopened.close()
    assert read_lines(effect_log) == [effect]  # the re-run found its key: no second effect


# --- 3. no thread is left stuck -----------------------------------------------------------------------


@pytest.mark.slow
def test_killed_after_the_resumed_run_saved_a_checkpoint_the_run_continues_to_the_next_interrupt(
    db_path: Path | str, tmp_path: Path, effect_log: Path, child: Callable[..., Child]
) -> None:
    thread_id, rows = paused_thread(db_path, THEN_SEQUENCE)
    (circle,) = rows
    decider = child(
        _decide_args(tmp_path, batch(rows, {"create_circle": APPROVE})),
        SLOW_AGENT_STALL_AT="model",
        SLOW_AGENT_MODEL_TURN="2",
    )
    wait_for("the model's second turn to stall", decider.stalled)
    decider.kill()

    observer = ReviewConsole.open(db_path, recover=False)
    try:
        state = observer.graph.get_state({"configurable": {"thread_id": thread_id}})
        assert state.next == ("agent",) and not state.interrupts  # cut short, nothing pending
        assert [(r.thread_id, r.state) for r in observer.runs()] == [(thread_id, "interrupted")]
        assert [r.text for r in observer.runs()] == ["run interrupted, waiting for recovery"]
    finally:
        observer.close()

    reopened = ReviewConsole.open(db_path)
    try:
        (recovered,) = reopened.recovered
        assert recovered.applied == [circle.row_id] and recovered.error is None
        assert [r.tool for r in reopened.pending()] == ["create_square"]  # the run went on and asked again
        assert reopened.runs() == []
        assert _audit(reopened) == [("create_circle", "applied", False, True)]
    finally:
        reopened.close()
    assert _shapes(read_lines(effect_log)) == ["c1"]


@pytest.mark.slow
def test_a_killed_start_is_continued_once_and_asks_its_questions(
    db_path: Path | str, tmp_path: Path, child: Callable[..., Child]
) -> None:
    starter = child(["start", THREE_SHAPES], SLOW_AGENT_STALL_AT="model", SLOW_AGENT_MODEL_TURN="1")
    wait_for("the first plan to stall", starter.stalled)
    starter.kill()
    reopened = ReviewConsole.open(db_path)
    try:
        (recovered,) = reopened.recovered
        assert sorted(r.tool for r in recovered.new_pending) == ["create_circle", "create_square", "create_triangle"]
        assert len(reopened.pending()) == 3 and reopened.runs() == []
    finally:
        reopened.close()
    again = ReviewConsole.open(db_path)
    again.close()
    assert again.recovered == []  # continued once


# --- 4. the audit and the exit code agree with the checkpoint -------------------------------------------


@sqlite_only  # SQLite's file lock; PostgreSQL has no database-wide write lock to hold
@pytest.mark.slow
def test_a_database_locked_during_the_resume_ends_with_the_audit_equal_to_the_checkpoint(
    db_path: Path | str, tmp_path: Path, effect_log: Path, child: Callable[..., Child]
) -> None:
    thread_id, rows = paused_thread(db_path, THREE_SHAPES)
    items = batch(rows, {"create_circle": APPROVE, "create_square": APPROVE, "create_triangle": reject("no")})
    decider = child(
        _decide_args(tmp_path, items), SLOW_AGENT_ONLY="s1", SLOW_AGENT_STALL_S="0.5", REVIEW_BUSY_TIMEOUT_SECONDS="0.3"
    )
    wait_for("the square's tool to stall", decider.stalled)
    wait_for("the circle to be drawn", lambda: "c1" in _shapes(read_lines(effect_log)))
    locker = sqlite3.connect(db_path, isolation_level=None, timeout=30)
    locker.execute("BEGIN IMMEDIATE")  # another process holds the write lock for longer than the busy timeout
    try:
        code = decider.wait()
    finally:
        locker.execute("ROLLBACK")
        locker.close()
    report = decider.json()
    assert code == 1, decider.stderr()
    assert report["applied"] == [] and {r["row_id"] for r in report["not_applied"]} <= {r.row_id for r in rows}
    assert all("recovery" in r["reason"] or "run failed" in r["reason"] for r in report["not_applied"])

    reopened = ReviewConsole.open(db_path)
    try:
        view = reopened.thread(thread_id)
        pending = reopened.pending()
        audit = {e.tool: e for e in reopened.audit()}
    finally:
        reopened.close()
    # Whatever the lock cut, the log now says what the checkpoint shows: every decision applied, none twice.
    assert pending == [] and sorted(s["shape_id"] for s in view.canvas) == ["c1", "s1"]
    assert {tool: e.status for tool, e in audit.items()} == dict.fromkeys(
        ["create_circle", "create_square", "create_triangle"], "applied"
    )
    assert _shapes(read_lines(effect_log)) == ["c1", "s1"]
    assert forks(db_path, thread_id) == 0


@pytest.mark.slow
def test_killed_during_the_outcome_check_the_decisions_are_recovered_as_applied_once(
    db_path: Path | str, tmp_path: Path, effect_log: Path, child: Callable[..., Child]
) -> None:
    """The check runs before "applied" is recorded (they are recorded together): a process killed in it leaves
    claims whose resume started and whose rows are answered, which recovery records applied, as for a kill
    between the resume and its record."""
    thread_id, rows = paused_thread(db_path, THREE_SHAPES)
    decider = child(
        _decide_args(tmp_path, batch(rows, {r.tool or "": APPROVE for r in rows})), SLOW_AGENT_STALL_AT="check"
    )
    wait_for("the outcome check to stall", decider.stalled)
    assert {d[0] for d in store_query(db_path, "SELECT status FROM review_decisions")} == {"claimed"}
    decider.kill()

    reopened = ReviewConsole.open(db_path)
    try:
        (recovered,) = reopened.recovered
        assert sorted(recovered.applied) == sorted(r.row_id for r in rows) and recovered.failed == {}
        assert _audit(reopened) == [
            ("create_circle", "applied", False, True),
            ("create_square", "applied", False, True),
            ("create_triangle", "applied", False, True),
        ]
        assert reopened.pending() == [] and reopened.runs() == []
        assert forks(db_path, thread_id) == 0
    finally:
        reopened.close()
    assert _shapes(read_lines(effect_log)) == ["c1", "s1", "t1"]  # each effect once: nothing was sent again


@pytest.mark.slow
def test_a_batched_request_killed_after_its_checkpoint_is_recovered_as_applied(
    db_path: Path | str, tmp_path: Path, child: Callable[..., Child]
) -> None:
    """Recovery of langchain's batched request: the row ids (`<id>#n`) and the interrupt id stay apart."""
    from tests.agents.batched_hitl import AGENT as BATCHED

    console = ReviewConsole.open(db_path, agent=BATCHED)
    try:
        job = console.start_run("tidy up")
        job.result(timeout=30)
        rows = console.pending()
    finally:
        console.close()
    decisions = [{"type": "approve"}, {"type": "reject", "message": "keep it"}, {"type": "approve"}]
    items = [
        {"thread_id": r.thread_id, "row_id": r.row_id, "decision": d} for r, d in zip(rows, decisions, strict=True)
    ]
    decider = child(
        _decide_args(tmp_path, items),
        REVIEW_AGENT="tests.agents.batched_hitl:AGENT",
        SLOW_AGENT_STALL_AT="after_review",
    )
    wait_for("the node after the review to stall", decider.stalled)
    decider.kill()

    reopened = ReviewConsole.open(db_path, agent=BATCHED)
    try:
        (recovered,) = reopened.recovered
        assert sorted(recovered.applied) == sorted(r.row_id for r in rows) and recovered.failed == {}
        entries = sorted(reopened.audit(), key=lambda e: e.row_id)
        assert [(e.row_id, e.interrupt_id, e.status) for e in entries] == [
            (r.row_id, r.interrupt_id, "applied") for r in rows
        ]
        state = reopened.graph.get_state({"configurable": {"thread_id": job.thread_id}})
        assert state.values["decisions"] == decisions and state.values["followed_up"] is True  # continued
        assert state.next == ()
    finally:
        reopened.close()


def test_a_failed_decision_decided_again_keeps_both_records(
    console: ReviewConsole, monkeypatch: pytest.MonkeyPatch
) -> None:
    rows = console.start_run(THREE_SHAPES).result(timeout=30).new_pending
    circle = [r for r in rows if r.tool == "create_circle"]
    real_stream = console.runner._stream

    def broken(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("the agent's model endpoint is down")

    monkeypatch.setattr(console.runner, "_stream", broken)
    first = console.submit(batch(circle, {"create_circle": APPROVE}), "ann")
    assert first.exit_code == 1
    assert next(iter(first.threads.values())).failed == {
        circle[0].row_id: "run failed: RuntimeError: the agent's model endpoint is down"
    }
    assert [r.row_id for r in console.pending()] == [r.row_id for r in rows]  # still pending, free to decide
    monkeypatch.setattr(console.runner, "_stream", real_stream)
    second = console.submit(batch(circle, {"create_circle": reject("not now")}), "bob")
    assert second.exit_code == 0
    log = [(e.reviewer, e.decision, e.status, e.error) for e in reversed(console.audit())]
    assert log == [
        ("ann", "approve", "failed", "run failed: RuntimeError: the agent's model endpoint is down"),
        ("bob", "reject", "applied", None),
    ]


@sqlite_only  # test_postgres.py has PostgreSQL's own (its tables differ)
def test_the_checkpointer_refuses_a_run_whose_lease_token_was_taken_over(console: ReviewConsole) -> None:
    """The fence itself: the token reaches the saver through the run config, and a stale one is refused."""
    from langgraph.types import Command

    from review import LeaseLost
    from review.storage import LEASE_TOKEN_KEY

    rows = console.start_run("Draw a red circle c1").result(timeout=30).new_pending
    thread_id = rows[0].thread_id
    token = console.leases.acquire(thread_id, "resume")
    assert token is not None
    with console.storage.transaction() as conn:  # recovery elsewhere took the thread: a new token
        conn.execute("UPDATE review_leases SET token = 'someone-else' WHERE thread_id = ?", (thread_id,))
    config = {"configurable": {"thread_id": thread_id, LEASE_TOKEN_KEY: token}}
    before = console.storage.query("SELECT COUNT(*) FROM writes WHERE thread_id = ?", (thread_id,))[0][0]
    with pytest.raises(LeaseLost):
        console.graph.invoke(Command(resume={rows[0].interrupt_id: APPROVE}), config, durability="sync")
    after = console.storage.query("SELECT COUNT(*) FROM writes WHERE thread_id = ?", (thread_id,))[0][0]
    assert after == before and [r.row_id for r in console.pending()] == [rows[0].row_id]
    meta = console.storage.query("SELECT metadata FROM checkpoints WHERE thread_id = ?", (thread_id,))
    assert not [m for (m,) in meta if b"lease_token" in m]  # the token is not written into checkpoint metadata
    console.leases.release(thread_id, token)
