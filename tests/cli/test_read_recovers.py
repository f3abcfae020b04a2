"""`pending` recovers: a claim left by a killed `decide` is finished by a plain `pending` from another process,
while a claim a live process is applying right now leaves `pending` on its fast path (no graph, no recovery)."""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from review import ReviewConsole
from tests.cli.test_cli import cli
from tests.core.crash_harness import Child, paused_thread, read_lines, wait_for
from tests.helpers import APPROVE, batch


@pytest.fixture
def effect_log(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "effects.jsonl"
    monkeypatch.setenv("CANVAS_EFFECT_LOG", str(path))
    return path


@pytest.fixture
def decider(db_path: Path, tmp_path: Path, effect_log: Path) -> Iterator[tuple[Child, list[Any]]]:
    """A `decide` child stalled in the circle's tool (its decision claimed, its effect not made yet)."""
    _, rows = paused_thread(db_path, "Draw a red circle c1")
    assert cli("pending", db=db_path).code == 0  # the full way lists, and saves the listing the fast path reads
    batch_file = tmp_path / "batch.json"
    batch_file.write_text(json.dumps(batch(rows, {"create_circle": APPROVE})), encoding="utf-8")
    child = Child(
        db_path,
        ["decide", "--reviewer", "kim", str(batch_file)],
        tmp_path,
        {"REVIEW_LEASE_SECONDS": "30", "CANVAS_EFFECT_LOG": str(effect_log), "SLOW_AGENT_STALL_AT": "before_effect"},
    )
    try:
        wait_for("the circle's tool to stall with its decision", child.stalled)
        yield child, rows
    finally:
        child.cleanup()


def _claims(db: Path) -> list[tuple[str, str | None]]:
    conn = sqlite3.connect(db)
    try:
        return conn.execute("SELECT status, recovered_from FROM review_decisions ORDER BY attempt_id").fetchall()
    finally:
        conn.close()


def test_a_claim_a_live_process_applies_keeps_pendings_fast_path(
    decider: tuple[Child, list[Any]], db_path: Path, run_main: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    child, rows = decider

    def no_full_path(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("pending opened a console (and would have run recovery) though nothing was left")

    monkeypatch.setattr(ReviewConsole, "open", no_full_path)
    listed = run_main("--db", str(db_path), "pending")
    assert listed.code == 0 and [r["row_id"] for r in listed.json] == [rows[0].row_id]  # from the saved listing
    assert [status for status, _ in _claims(db_path)] == ["claimed"]  # the live owner's: not taken
    assert child.proc.poll() is None


def test_a_claim_left_by_a_killed_decide_is_finished_by_a_plain_pending(
    decider: tuple[Child, list[Any]], db_path: Path, effect_log: Path
) -> None:
    child, rows = decider
    assert read_lines(effect_log) == []
    child.kill()
    assert [status for status, _ in _claims(db_path)] == ["claimed"]

    listed = cli("pending", db=db_path, env={"CANVAS_EFFECT_LOG": str(effect_log)})
    assert listed.code == 0 and listed.err == "", listed.out + listed.err
    assert listed.json == []  # the circle was drawn, and the model's next turn asked nothing more
    [(status, recovered_from)] = _claims(db_path)
    assert status == "applied" and recovered_from is not None and f":{child.proc.pid}:" in recovered_from
    effects = read_lines(effect_log)
    assert [(e["shape_id"], e["pid"]) for e in effects] == [("c1", effects[0]["pid"])] and effects[0]["pid"] not in (
        child.proc.pid,
        os.getpid(),
    )  # drawn once, by the `pending` process
    console = ReviewConsole.open(db_path)
    try:
        assert console.recovered == []  # nothing left for the next process
        assert console.thread(rows[0].thread_id).field("canvas") == [
            {"shape_id": "c1", "kind": "circle", "color": "red"}
        ]
    finally:
        console.close()
