"""Restarts: the store is the memory. Another process sees the pending rows; a decision recorded by a
process that was killed while applying it is finished, once, when the store is opened again; and a
claim whose owner is alive and heartbeating is never taken over.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from review import ReviewConsole
from tests.conftest import THEN_SEQUENCE, THREE_SHAPES
from tests.core.crash_harness import paused_thread, read_lines, wait_for
from tests.helpers import APPROVE, batch, reject

ROOT = Path(__file__).resolve().parents[2]
LEASE_S = 1.0

_LIST = """
import json, sys
from review import ReviewConsole
console = ReviewConsole.open(sys.argv[1])
print(json.dumps([row.to_dict() for row in console.pending()]))
console.close()
"""

_START = """
import json, sys
from review import ReviewConsole
console = ReviewConsole.open(sys.argv[1])
job = console.start_run(sys.argv[2])
print(json.dumps({"thread_id": job.thread_id, "pending": [r.to_dict() for r in job.result(60).new_pending]}))
console.close()
"""


def _python(script: str, *args: str, env: dict[str, str] | None = None) -> Any:
    done = subprocess.run(
        [sys.executable, "-c", script, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def _decisions(console: ReviewConsole) -> list[dict[str, Any]]:
    return [
        dict(row)
        for row in console.storage.query(
            "SELECT interrupt_id, reviewer, status, owner, error FROM review_decisions ORDER BY interrupt_id"
        )
    ]


@pytest.fixture
def effect_log(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "effects.jsonl"
    monkeypatch.setenv("CANVAS_EFFECT_LOG", str(path))
    return path


# --- other processes see the file --------------------------------------------------------------


@pytest.mark.slow
def test_a_second_process_lists_the_first_ones_pending_rows(console: ReviewConsole) -> None:
    console.start_run(THREE_SHAPES).result(timeout=30)
    console.start_run(THEN_SEQUENCE).result(timeout=30)
    mine = [row.to_dict() for row in console.pending()]
    assert len(mine) == 4
    assert _python(_LIST, console.settings.db) == mine


@pytest.mark.slow
def test_rows_another_process_raised_appear_and_only_its_thread_is_reread(console: ReviewConsole) -> None:
    console.start_run(THREE_SHAPES).result(timeout=30)
    before = console.pending()
    assert console.inbox.refresh() == 0  # nothing changed: nothing re-read

    started = _python(_START, console.settings.db, THEN_SEQUENCE)
    rows = console.pending()
    assert console.inbox.last_reread == 1  # only the other process's thread
    assert rows[: len(before)] == before
    assert [r.to_dict() for r in rows[len(before) :]] == started["pending"]
    assert [r.tool for r in console.pending(started["thread_id"])] == ["create_circle"]


# --- killed while applying -------------------------------------------------------------------------


class SlowDecider:
    """`python -m review decide` in a child whose tools stall after the decision (tests.core.slow_agent)."""

    def __init__(
        self, db: Path | str, items: list[dict[str, Any]], tmp: Path, effect_log: Path, only: str | None
    ) -> None:
        self.marker = tmp / "stalling.jsonl"
        batch_file = tmp / "batch.json"
        batch_file.write_text(json.dumps(items), encoding="utf-8")
        env = {
            **os.environ,
            "REVIEW_AGENT": "tests.core.slow_agent:AGENT",
            "SLOW_AGENT_MARKER": str(self.marker),
            "SLOW_AGENT_STALL_S": "300",
            "REVIEW_LEASE_SECONDS": str(LEASE_S),
            "CANVAS_EFFECT_LOG": str(effect_log),
        }
        if only:
            env["SLOW_AGENT_ONLY"] = only
        self.stderr = (tmp / "decider.stderr").open("w")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "review", "--db", str(db), "decide", "--reviewer", "kim", str(batch_file)],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=self.stderr,
        )

    def stalling(self) -> list[dict[str, Any]]:
        assert self.proc.poll() is None, "the decider exited early"
        return read_lines(self.marker)

    def kill(self) -> None:
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=30)  # reaped: the pid is gone, not a zombie
        self.stderr.close()


@pytest.fixture
def decider_factory() -> Iterator[Callable[..., SlowDecider]]:
    started: list[SlowDecider] = []

    def start(*args: Any, **kwargs: Any) -> SlowDecider:
        started.append(SlowDecider(*args, **kwargs))
        return started[-1]

    yield start
    for decider in started:
        decider.kill()


@pytest.mark.slow
def test_killed_while_applying_is_finished_once_on_the_next_open(
    db_path: Path | str, tmp_path: Path, effect_log: Path, decider_factory: Callable[..., SlowDecider]
) -> None:
    thread_id, rows = paused_thread(db_path, "Draw a red circle c1")
    (row,) = rows
    decider = decider_factory(db_path, batch(rows, {"create_circle": APPROVE}), tmp_path, effect_log, None)

    # the child claimed the row, resumed, and its tool has the decision: it stalls before drawing
    (stall,) = wait_for("the tool to receive the decision", decider.stalling)
    assert stall["shape_id"] == "c1" and stall["pid"] == decider.proc.pid
    claimed_at = time.time()

    # a live owner holding a fresh lease is left alone, even after its first lease would have expired
    time.sleep(LEASE_S * 1.5)
    observer = ReviewConsole.open(db_path)
    try:
        assert observer.recovered == []
        (held,) = _decisions(observer)
        assert held["status"] == "claimed" and held["owner"].split(":")[1] == str(decider.proc.pid)
        lease_until = observer.storage.query("SELECT lease_until FROM review_decisions")[0][0]
        assert lease_until > claimed_at + LEASE_S  # the heartbeat renewed it
        assert [r.interrupt_id for r in observer.pending()] == [row.interrupt_id]
    finally:
        observer.close()
    assert read_lines(effect_log) == []

    decider.kill()

    reopened = ReviewConsole.open(db_path)
    try:
        (recovered,) = reopened.recovered
        assert (recovered.thread_id, recovered.applied, recovered.error) == (thread_id, [row.interrupt_id], None)
        assert recovered.new_pending == []
        (done,) = _decisions(reopened)
        assert (done["status"], done["reviewer"], done["error"]) == ("applied", "kim", None)
        assert reopened.thread(thread_id).canvas == [{"shape_id": "c1", "kind": "circle", "color": "red"}]
        assert reopened.pending() == []
        audit = reopened.audit()
    finally:
        reopened.close()
    (effect,) = read_lines(effect_log)
    assert effect["shape_id"] == "c1" and effect["pid"] == os.getpid()

    third = ReviewConsole.open(db_path)
    try:
        assert third.recovered == []
        assert third.audit() == audit
    finally:
        third.close()
    assert len(read_lines(effect_log)) == 1


@pytest.mark.slow
def test_killed_mid_batch_finishes_the_rest_and_marks_every_row_applied(
    db_path: Path | str, tmp_path: Path, effect_log: Path, decider_factory: Callable[..., SlowDecider]
) -> None:
    """Circle and triangle finish in the child; the square stalls; the child dies mid-superstep."""
    thread_id, rows = paused_thread(db_path, THREE_SHAPES)
    items = batch(rows, {"create_circle": APPROVE, "create_square": APPROVE, "create_triangle": reject("no")})
    decider = decider_factory(db_path, items, tmp_path, effect_log, "s1")
    wait_for("the square to stall", decider.stalling)
    wait_for("the circle to be drawn", lambda: [e for e in read_lines(effect_log) if e["shape_id"] == "c1"])
    observer = ReviewConsole.open(db_path, recover=False)
    try:  # the finished tasks' results are saved (pending writes of the paused checkpoint)
        wait_for(
            "the finished tasks' writes",
            lambda: (
                observer.storage.query(
                    f"SELECT COUNT(DISTINCT task_id) FROM {observer.storage.writes_table} "
                    "WHERE thread_id = ? AND channel = 'messages' "
                    "AND checkpoint_id = (SELECT MAX(checkpoint_id) FROM checkpoints WHERE thread_id = ?)",
                    (thread_id, thread_id),
                )[0][0]
                == 2
            ),
        )
    finally:
        observer.close()
    decider.kill()

    reopened = ReviewConsole.open(db_path)
    try:
        (recovered,) = reopened.recovered
        assert sorted(recovered.applied) == sorted(r.interrupt_id for r in rows)
        assert recovered.error is None
        assert [(d["status"], d["error"]) for d in _decisions(reopened)] == [("applied", None)] * 3
        view = reopened.thread(thread_id)
        assert sorted(s["shape_id"] for s in view.canvas) == ["c1", "s1"]
        assert sum(1 for m in view.messages if m.type == "tool") == 3
        assert reopened.pending() == []
    finally:
        reopened.close()
    effects = read_lines(effect_log)
    assert sorted(e["shape_id"] for e in effects) == ["c1", "s1"]  # the circle was not drawn again
    assert {e["shape_id"]: e["pid"] for e in effects}["s1"] == os.getpid()

    third = ReviewConsole.open(db_path)
    third.close()
    assert third.recovered == [] and len(read_lines(effect_log)) == 2


@pytest.mark.slow
def test_a_claim_left_by_a_closed_console_of_this_process_waits_for_its_lease(
    db_path: Path | str, effect_log: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Same pid, so only the lease tells: recovery takes the claim over once it has expired, not before."""
    lease = 2.0
    monkeypatch.setenv("REVIEW_LEASE_SECONDS", str(lease))
    first = ReviewConsole.open(db_path)
    rows = first.start_run(THREE_SHAPES).result(timeout=30).new_pending
    # the worker never gets to resume: as if the process stopped right after recording the claims
    monkeypatch.setattr(first.runner, "apply", lambda thread_id, batch_id: None)
    claimed_at = time.time()
    handle = first.submit_batch(batch(rows, {"create_circle": APPROVE, "create_square": APPROVE}), reviewer="lee")
    handle.jobs = []
    first.close()

    early = ReviewConsole.open(db_path)
    try:
        assert time.time() < claimed_at + lease, "too slow to check the fresh lease"
        assert early.recovered == []  # its lease is still fresh
        assert [d["status"] for d in _decisions(early)] == ["claimed"] * 2
    finally:
        early.close()
    time.sleep(max(0.0, claimed_at + lease + 0.2 - time.time()))
    late = ReviewConsole.open(db_path)
    try:
        (recovered,) = late.recovered
        assert len(recovered.applied) == 2 and recovered.error is None
        assert [(d["status"], d["reviewer"]) for d in _decisions(late)] == [("applied", "lee")] * 2
        assert [r.tool for r in late.pending()] == ["create_triangle"]
    finally:
        late.close()
    assert sorted(e["shape_id"] for e in read_lines(effect_log)) == ["c1", "s1"]
