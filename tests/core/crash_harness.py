"""Children to kill or pause at the worst moment, and long-lived console processes, for tests and bench.

`Child`: `python -m review` with the stalling test agent. It writes a line to its marker file when it
reaches the chosen stall (see tests/core/slow_agent.py); the test waits for that line (never a fixed
sleep), then SIGKILLs, SIGSTOPs or leaves it. `Worker`: a console process that stays open and takes
JSON commands (tests/core/race_worker.py): a reviewer, a replica or the agent's own process. Effects
are counted in a log the test owns (CANVAS_EFFECT_LOG), forks in the checkpoints table; both work on
a SQLite file or a PostgreSQL URL.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import queue
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.helpers import is_postgres, store_query

ROOT = Path(__file__).resolve().parents[2]


def wait_for(what: str, predicate: Callable[[], Any], timeout: float = 60.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.02)
    raise AssertionError(f"timed out waiting for {what}")


def paused_thread(db: Path | str, prompt: str, agent: Any = None) -> tuple[str, list[Any]]:
    """Start `prompt` in a new thread of the store at `db` (this process); its id and pending rows."""
    from review import ReviewConsole

    console = ReviewConsole.open(db, agent=agent)
    try:
        job = console.start_run(prompt)
        return job.thread_id, job.result(timeout=60).new_pending
    finally:
        console.close()


def read_lines(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def forks(db: Path | str, thread_id: str) -> int:
    """Checkpoints of the thread that share a parent with another one: a forked history (two writers)."""
    rows = store_query(
        db,
        "SELECT COALESCE(SUM(n - 1), 0) FROM (SELECT COUNT(*) AS n FROM checkpoints "
        "WHERE thread_id = ? AND checkpoint_ns = '' GROUP BY parent_checkpoint_id) AS parents",
        (thread_id,),
    )
    return int(rows[0][0])


def _in_transaction(db: Path | str, pid: int) -> bool:
    """Does process `pid` hold the store's write lock (SQLite) or a transaction (PostgreSQL) right now?"""
    if is_postgres(db):
        # The console names its connections `review-console:<pid>` (application_name).
        return bool(
            store_query(
                db,
                "SELECT 1 FROM pg_stat_activity WHERE application_name = ? AND state NOT IN ('idle')",
                (f"review-console:{pid}",),
            )
        )
    probe = sqlite3.connect(db, timeout=0.2, isolation_level=None)
    try:
        probe.execute("BEGIN IMMEDIATE")
        probe.execute("ROLLBACK")
    except sqlite3.OperationalError:
        return True
    finally:
        probe.close()
    return False


def _free(db: Path | str, effect_log: Path | None, pid: int) -> bool:
    if _in_transaction(db, pid):
        return False
    if effect_log is None or not effect_log.exists():
        return True
    with effect_log.open("a") as log:
        try:
            fcntl.flock(log, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        fcntl.flock(log, fcntl.LOCK_UN)
    return True


class Child:
    """`python -m review --db DB <args>` in a child process with the stalling agent."""

    def __init__(self, db: Path | str, args: list[str], tmp: Path, env: dict[str, str], *, name: str = "child") -> None:
        self.marker = tmp / f"{name}.marker.jsonl"
        self.out_path = tmp / f"{name}.stdout"
        self.err_path = tmp / f"{name}.stderr"
        full_env = {**os.environ, "REVIEW_AGENT": "tests.core.slow_agent:AGENT", "SLOW_AGENT_MARKER": str(self.marker)}
        full_env.update(env)
        with self.out_path.open("wb") as out, self.err_path.open("wb") as err:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "review", "--db", str(db), *args], cwd=ROOT, env=full_env, stdout=out, stderr=err
            )

    def stalled(self) -> list[dict[str, Any]]:
        if self.proc.poll() is not None:
            raise AssertionError(
                f"the child exited early ({self.proc.returncode}): {self.err_path.read_text()[-2000:]}"
            )
        return read_lines(self.marker)

    def signal(self, sig: signal.Signals) -> None:
        os.kill(self.proc.pid, sig)

    def stop_outside_a_transaction(self, db: Path | str, effect_log: Path | None = None, attempts: int = 50) -> None:
        """SIGSTOP the child at a moment it holds no write lock or transaction (nor the effect log's lock).

        A process frozen INSIDE a transaction holds SQLite's file lock and blocks every writer until it
        runs again (no lease can take that over); the same goes for any lock of an external system. The
        scenario under test is a pause mid-tool, so if the child happened to be committing (a heartbeat,
        a write) or appending an effect, let it run on a moment and pause it again.
        """
        for _ in range(attempts):
            self.signal(signal.SIGSTOP)
            wait_for("the child to stop", self._stopped, timeout=10)  # kill() returns before the stop lands
            if _free(db, effect_log, self.proc.pid):
                return
            self.signal(signal.SIGCONT)
            time.sleep(0.01)
        raise AssertionError("the child always held the database's write lock")

    def _stopped(self) -> bool:
        with open(f"/proc/{self.proc.pid}/stat", encoding="ascii") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] == "T"

    def kill(self) -> None:
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=30)  # reaped: the pid is gone, not a zombie

    def wait(self, timeout: float = 60) -> int:
        return self.proc.wait(timeout=timeout)

    def json(self) -> Any:
        return json.loads(self.out_path.read_text(encoding="utf-8"))

    def stderr(self) -> str:
        return self.err_path.read_text(encoding="utf-8", errors="replace")

    def cleanup(self) -> None:
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.proc.pid, signal.SIGCONT)
            self.kill()


REPLY_TIMEOUT_S = 30


class Worker:
    """A race_worker child process and a reader thread for its replies."""

    def __init__(self, db: Path | str, reviewer: str, env: dict[str, str], log_dir: Path) -> None:
        self.reviewer = reviewer
        self.stderr_path = log_dir / f"{reviewer}.stderr"
        self._stderr = self.stderr_path.open("w")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "tests.core.race_worker", str(db), reviewer],
            cwd=ROOT,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._stderr,
            text=True,
        )
        self._replies: queue.Queue[str] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self._replies.put(line)

    def send(self, command: dict[str, Any]) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(json.dumps(command) + "\n")
        self.proc.stdin.flush()

    def reply(self) -> dict[str, Any]:
        try:
            return json.loads(self._replies.get(timeout=REPLY_TIMEOUT_S))
        except queue.Empty:
            raise AssertionError(f"{self.reviewer} did not answer: {self.stderr_path.read_text()[-2000:]}") from None

    def stop(self) -> None:
        if self.proc.poll() is None:
            try:
                self.send({"quit": True})
                self.proc.wait(timeout=15)
            except (OSError, subprocess.TimeoutExpired):
                self.proc.kill()
                self.proc.wait()
        self._stderr.close()
