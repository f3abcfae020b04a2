"""Racing reviewers: two OS processes submit the same batch at once; every tool effect happens once.

A bare double resume runs every tool twice and forks the checkpoint history while the final state
can look right, so these tests count effects in CANVAS_EFFECT_LOG (written by whichever process ran
the tool) and check the history, besides what each reviewer was told.
"""

from __future__ import annotations

import json
import os
import threading
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from review import ReviewConsole
from tests.conftest import THREE_SHAPES
from tests.core.crash_harness import Worker
from tests.helpers import APPROVE, batch, edit, reject

ROUNDS = 20


def _effects(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def _three_shape_batch(console: ReviewConsole, tag: str) -> tuple[str, list[dict[str, Any]]]:
    job = console.start_run(THREE_SHAPES)
    rows = job.result(timeout=30).new_pending
    assert len(rows) == 3
    return job.thread_id, batch(
        rows,
        {
            "create_circle": APPROVE,
            "create_square": edit("create_square", shape_id=f"s-{tag}", color="yellow"),
            "create_triangle": reject(f"not in {tag}"),
        },
    )


def _assert_history_not_forked(console: ReviewConsole, thread_id: str) -> None:
    history = list(console.graph.get_state_history({"configurable": {"thread_id": thread_id}}))
    parents = [s.parent_config["configurable"]["checkpoint_id"] for s in history if s.parent_config]
    assert len(parents) == len(set(parents)), f"forked history in {thread_id}"


@pytest.fixture
def effect_log(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "effects.jsonl"
    monkeypatch.setenv("CANVAS_EFFECT_LOG", str(path))
    return path


@pytest.fixture
def workers(db_path: Path, effect_log: Path, tmp_path: Path, console: ReviewConsole) -> Iterator[list[Worker]]:
    env = {**os.environ, "CANVAS_EFFECT_LOG": str(effect_log), "CANVAS_TOOL_JITTER_MS": "5"}
    env.pop("REVIEW_DB", None)
    started = [Worker(db_path, name, env, tmp_path) for name in ("ann", "ben")]
    yield started
    for worker in started:
        worker.stop()


def _submit_at(
    barrier: threading.Barrier, results: dict[str, Any], who: str, target: ReviewConsole, items: list[dict[str, Any]]
) -> None:
    barrier.wait()
    results[who] = target.submit(items, reviewer=who)


@pytest.mark.slow
def test_two_processes_submit_the_same_batch_each_effect_happens_once(
    console: ReviewConsole, workers: list[Worker], effect_log: Path, tmp_path: Path
) -> None:
    winners: Counter[str] = Counter()
    rounds: list[tuple[str, list[dict[str, Any]], str]] = []
    for round_no in range(ROUNDS):
        thread_id, items = _three_shape_batch(console, f"r{round_no}")
        go = tmp_path / f"go-{round_no}"
        for worker in workers:
            worker.send({"batch": items, "go": str(go)})
        assert [w.reply() for w in workers] == [{"ready": True}, {"ready": True}]
        go.touch()  # both processes are spinning on this file: they submit together
        replies = {w.reviewer: w.reply() for w in workers}

        won = [name for name, r in replies.items() if r["exit_code"] == 0]
        assert len(won) == 1, f"round {round_no}: {replies}"
        winner = won[0]
        (loser,) = set(replies) - {winner}
        winners[winner] += 1
        rounds.append((thread_id, items, winner))
        keys = sorted((i["thread_id"], i["row_id"]) for i in items)
        assert sorted((a["thread_id"], a["row_id"]) for a in replies[winner]["applied"]) == keys
        assert replies[winner]["conflicts"] == [] and replies[winner]["invalid"] == []
        lost = replies[loser]
        assert lost["exit_code"] == 3, f"round {round_no}: the loser was told {lost}"
        assert lost["applied"] == [] and lost["invalid"] == [] and lost["errors"] == []
        assert sorted((c["thread_id"], c["row_id"]) for c in lost["conflicts"]) == keys
        assert {c["reviewer"] for c in lost["conflicts"]} == {winner}
        assert all(c["message"].startswith(f"already decided by {winner} at ") for c in lost["conflicts"])

        # what was saved: one decision per row, by the winner, applied; one shape each; no fork
        saved = console.storage.query("SELECT reviewer, status FROM review_decisions WHERE thread_id = ?", (thread_id,))
        assert sorted(tuple(r) for r in saved) == [(winner, "applied")] * 3
        canvas = console.thread(thread_id).canvas
        assert sorted(s["shape_id"] for s in canvas) == sorted(["c1", f"s-r{round_no}"])
        _assert_history_not_forked(console, thread_id)

    effects = _effects(effect_log)
    assert len(effects) == 2 * ROUNDS, Counter(e["tool_call_id"] for e in effects).most_common(3)
    assert len({e["tool_call_id"] for e in effects}) == 2 * ROUNDS
    assert {e["pid"] for e in effects} <= {w.proc.pid for w in workers}
    assert console.pending() == []

    # a repeated submit of a finished batch is a conflict naming who decided, not a re-run
    thread_id, items, winner = rounds[0]
    head = console.graph.get_state({"configurable": {"thread_id": thread_id}}).config
    again = console.submit(items, reviewer="carl")
    assert again.exit_code == 3 and again.applied == [] and again.invalid == []
    assert {c.reviewer for c in again.conflicts} == {winner} and len(again.conflicts) == 3
    assert console.graph.get_state({"configurable": {"thread_id": thread_id}}).config == head
    assert len(_effects(effect_log)) == 2 * ROUNDS
    assert not console.storage.query("SELECT 1 FROM review_decisions WHERE reviewer = 'carl'")


def test_a_repeated_submit_of_a_done_batch_is_a_conflict(console: ReviewConsole, effect_log: Path) -> None:
    thread_id, items = _three_shape_batch(console, "twice")
    first = console.submit(items, reviewer="alice")
    assert first.exit_code == 0 and len(first.applied) == 3
    head = console.graph.get_state({"configurable": {"thread_id": thread_id}}).config
    decided = console.audit()

    second = console.submit(items, reviewer="bob")
    assert second.exit_code == 3
    assert [(c.row_id, c.reviewer, c.decision_type) for c in second.conflicts] == [
        (i["row_id"], "alice", i["decision"]["type"]) for i in items
    ]
    assert {c.decided_at for c in second.conflicts} == {e.decided_at for e in decided}
    assert second.applied == [] and second.invalid == []
    assert console.graph.get_state({"configurable": {"thread_id": thread_id}}).config == head
    assert console.audit() == decided
    assert len(_effects(effect_log)) == 2


def test_a_row_decided_while_the_batch_is_being_validated_is_a_conflict_not_stale(
    console: ReviewConsole, db_path: Path, effect_log: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The other reviewer claims AND finishes between our conflict check and our read of the thread."""
    thread_id, items = _three_shape_batch(console, "interleaved")
    other = ReviewConsole.open(db_path)
    real_read = console.inbox.read
    raced: list[Any] = []

    def read_after_the_other_reviewer(tid: str) -> Any:
        if not raced:  # once, and not again from inside the other reviewer's own submit
            raced.append(None)
            raced[0] = other.submit(items, reviewer="olga")
        return real_read(tid)

    monkeypatch.setattr(console.inbox, "read", read_after_the_other_reviewer)
    try:
        mine = console.submit(items, reviewer="me")
    finally:
        other.close()
    assert raced[0].exit_code == 0 and len(raced[0].applied) == 3
    assert mine.invalid == [], "a row decided by someone else must be a conflict naming them, not 'stale'"
    assert mine.exit_code == 3
    assert {c.reviewer for c in mine.conflicts} == {"olga"} and len(mine.conflicts) == 3
    assert len(_effects(effect_log)) == 2
    _assert_history_not_forked(console, thread_id)


def test_two_batches_never_split_a_thread(console: ReviewConsole, db_path: Path, effect_log: Path) -> None:
    """Overlapping batches from two consoles in threads of one process: each thread goes to one of them."""
    other = ReviewConsole.open(db_path)
    try:
        for round_no in range(5):
            thread_id, items = _three_shape_batch(console, f"split{round_no}")
            barrier = threading.Barrier(2)
            results: dict[str, Any] = {}
            racers = [
                threading.Thread(target=_submit_at, args=(barrier, results, "x", console, items)),
                # the other batch lists the rows in the other order: claims must still not interleave
                threading.Thread(target=_submit_at, args=(barrier, results, "y", other, items[::-1])),
            ]
            for racer in racers:
                racer.start()
            for racer in racers:
                racer.join(timeout=60)
            reviewers = {
                r["reviewer"]
                for r in console.storage.query(
                    "SELECT reviewer FROM review_decisions WHERE thread_id = ?", (thread_id,)
                )
            }
            assert len(reviewers) == 1, f"round {round_no}: the thread was split between {reviewers}"
            (winner,) = reviewers
            loser = "y" if winner == "x" else "x"
            assert len(results[winner].applied) == 3 and results[loser].applied == []
            assert {c.reviewer for c in results[loser].conflicts} == {winner}
    finally:
        other.close()
    assert len(_effects(effect_log)) == 2 * 5
