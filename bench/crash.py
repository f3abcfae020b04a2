"""`python -m bench.crash` (`make bench-crash`): the crash-safety figures, trial by trial, side by side.

Each trial starts a real child (`python -m review` with tests/core/slow_agent.py), stops it at a worst
moment (a marker it writes, never a timer, except the random-kill scenario), then lets recovery run
and counts what matters from outside: external effects per tool call (the effect log), forked
histories (two checkpoints with one parent), threads left stuck (tasks to run, nothing pending, no
owner), and decisions whose audit status disagrees with the checkpoint.

    python -m bench.crash [--trials 10] [--out bench/results/crash.md]

Scenarios (the first two side by side with a tool that ignores its idempotency key):
  kill-after-effect   SIGKILL after the tool's effect, before its write was saved
  stop-past-lease     SIGSTOP while the tool works, past the lease; recovery runs; SIGCONT
  kill-after-checkpoint  SIGKILL after a resume saved its checkpoint, before the next step
  kill-during-start   SIGKILL while a new run plans its first step
  random-kill         SIGKILL at a random moment 0-1.5 s into `decide` of a 3-shape batch
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import sqlite3
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from review import ReviewConsole
from tests.conftest import THEN_SEQUENCE, THREE_SHAPES
from tests.core.crash_harness import Child, forks, paused_thread, read_lines, wait_for

LEASE = "1"
APPROVE = {"type": "approve"}


@dataclass
class Tally:
    """What the trials of one scenario found."""

    name: str
    keyless: bool = False
    trials: int = 0
    effects_once: int = 0  # trials where every drawn shape was drawn exactly once
    no_fork: int = 0
    not_stuck: int = 0
    audit_true: int = 0  # every decision's status agrees with the checkpoint
    notes: Counter[str] = field(default_factory=Counter)


def _items(rows: list[Any]) -> list[dict[str, Any]]:
    return [{"thread_id": r.thread_id, "row_id": r.row_id, "decision": APPROVE} for r in rows]


def _judge(tally: Tally, db: Path, thread_id: str, effect_log: Path) -> None:
    """Recover (open the store), then count the four properties for this trial."""
    console = ReviewConsole.open(db)
    try:
        state = console.graph.get_state({"configurable": {"thread_id": thread_id}})
        answered = {e.row_id for e in console.audit() if e.status == "applied"}
        pending = {r.row_id for r in console.pending(thread_id)}
        claimed = [e for e in console.audit() if e.status == "claimed"]
        drawn = [s["shape_id"] for s in (state.values or {}).get("canvas", [])]
    finally:
        console.close()
    effects = Counter(e["shape_id"] for e in read_lines(effect_log) if e.get("op") == "add")
    tally.trials += 1
    tally.effects_once += all(effects[s] == 1 for s in drawn) and set(effects) == set(drawn)
    tally.no_fork += forks(db, thread_id) == 0
    tally.not_stuck += not (state.next and not state.interrupts)
    tally.audit_true += not claimed and not (answered & pending)
    if any(count > 1 for count in effects.values()):
        tally.notes["an effect ran twice"] += 1


def _trial(tmp: Path, name: str, keyless: bool, run: Callable[[Path, Path, dict[str, str]], str], tally: Tally) -> None:
    db, effect_log = tmp / "review.sqlite", tmp / "effects.jsonl"
    env = {"REVIEW_LEASE_SECONDS": LEASE, "CANVAS_EFFECT_LOG": str(effect_log)}
    if keyless:
        env["CANVAS_EFFECT_KEYLESS"] = "1"
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)  # the recovering console (this process) draws with the same tool settings
    try:
        thread_id = run(db, tmp, env)
        _judge(tally, db, thread_id, effect_log)
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def _decide(db: Path, tmp: Path, env: dict[str, str], items: list[dict[str, Any]], **extra: str) -> Child:
    batch = tmp / "batch.json"
    batch.write_text(json.dumps(items), encoding="utf-8")
    return Child(db, ["decide", "--reviewer", "bench", str(batch)], tmp, {**env, **extra})


def kill_after_effect(db: Path, tmp: Path, env: dict[str, str]) -> str:
    thread_id, rows = paused_thread(db, "Draw a red circle c1")
    child = _decide(db, tmp, env, _items(rows), SLOW_AGENT_STALL_AT="after_effect")
    try:
        wait_for("the stall after the effect", child.stalled)
    finally:
        child.kill()
    return thread_id


def stop_past_lease(db: Path, tmp: Path, env: dict[str, str]) -> str:
    thread_id, rows = paused_thread(db, THREE_SHAPES)
    child = _decide(db, tmp, env, _items(rows), SLOW_AGENT_ONLY="s1", SLOW_AGENT_STALL_S="3")
    try:
        wait_for("the square to stall", child.stalled)
        child.stop_outside_a_transaction(db, Path(env["CANVAS_EFFECT_LOG"]))
        time.sleep(float(LEASE) * 1.6)  # the scenario IS a pause longer than the lease
        ReviewConsole.open(db).close()  # another process opens the store: recovery takes over
        child.signal(signal.SIGCONT)
        child.wait(timeout=60)
    finally:
        child.cleanup()
    return thread_id


def kill_after_checkpoint(db: Path, tmp: Path, env: dict[str, str]) -> str:
    thread_id, rows = paused_thread(db, THEN_SEQUENCE)
    child = _decide(db, tmp, env, _items(rows), SLOW_AGENT_STALL_AT="model", SLOW_AGENT_MODEL_TURN="2")
    try:
        wait_for("the model's second turn", child.stalled)
    finally:
        child.kill()
    return thread_id


def kill_during_start(db: Path, tmp: Path, env: dict[str, str]) -> str:
    child = Child(
        db, ["start", THREE_SHAPES], tmp, {**env, "SLOW_AGENT_STALL_AT": "model", "SLOW_AGENT_MODEL_TURN": "1"}
    )
    try:
        wait_for("the first plan", child.stalled)
    finally:
        child.kill()
    conn = sqlite3.connect(db)
    try:
        (thread_id,) = conn.execute("SELECT thread_id FROM review_leases").fetchone()
    finally:
        conn.close()
    return str(thread_id)


def random_kill(db: Path, tmp: Path, env: dict[str, str]) -> str:
    thread_id, rows = paused_thread(db, THREE_SHAPES)
    child = _decide(db, tmp, env, _items(rows), SLOW_AGENT_STALL_AT="none")
    try:
        time.sleep(random.uniform(0.0, 1.5))  # a random moment is the point of this scenario
    finally:
        child.kill()
    return thread_id


SCENARIOS: list[tuple[str, Callable[[Path, Path, dict[str, str]], str], bool]] = [
    ("kill-after-effect", kill_after_effect, True),
    ("stop-past-lease", stop_past_lease, True),
    ("kill-after-checkpoint", kill_after_checkpoint, False),
    ("kill-during-start", kill_during_start, False),
    ("random-kill", random_kill, True),
]


def table(tallies: list[Tally]) -> str:
    lines = [
        "| scenario | tool | trials | effect once | no fork | not stuck | audit = checkpoint |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    for t in tallies:
        tool = "ignores its key" if t.keyless else "uses its key"
        lines.append(
            f"| {t.name} | {tool} | {t.trials} | {t.effects_once}/{t.trials} | {t.no_fork}/{t.trials} "
            f"| {t.not_stuck}/{t.trials} | {t.audit_true}/{t.trials} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.crash", description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--trials", type=int, default=10)
    parser.add_argument("--out", type=Path, default=Path("bench/results/crash.md"))
    parser.add_argument("--only", help="run one scenario")
    args = parser.parse_args(argv)
    tallies = []
    for name, scenario, with_baseline in SCENARIOS:
        if args.only and name != args.only:
            continue
        for keyless in (False, True) if with_baseline else (False,):
            tally = Tally(name, keyless)
            for _ in range(args.trials):
                with tempfile.TemporaryDirectory(prefix="crash-") as tmp:
                    _trial(Path(tmp), name, keyless, scenario, tally)
            tallies.append(tally)
            print(table([tally]).splitlines()[-1], flush=True)
    report = table(tallies)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(report + "\n", encoding="utf-8")
    print("\n" + report)
    failed = [
        t for t in tallies if not t.keyless and min(t.effects_once, t.no_fork, t.not_stuck, t.audit_true) < t.trials
    ]
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
