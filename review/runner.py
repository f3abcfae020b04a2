"""Runs the agent off the caller's stack: new runs and resumes, with progress events.

A resume runs in a worker thread of this process, so a Streamlit rerun, a closed tab or a
second click cannot cut it short or repeat it. Streams are used for progress only; what a run
left pending is read back from the checkpoint afterwards (a stream may not carry an interrupt).
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from langgraph.errors import UnknownInterruptError
from langgraph.types import Command

from review.contract import PendingInterrupt, ThreadOutcome, incomplete_requests, resume_map
from review.inbox import Inbox
from review.leases import Leases, owner_is_gone
from review.store import Store

KEEP_JOBS = 500  # finished jobs kept for pages that follow them by id
STRICT_RESUME = "__pregel_strict_resume"  # langgraph's config key: unknown ids raise, nothing written


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


@dataclass(frozen=True)
class ProgressEvent:
    """One step of a run, for display only."""

    at: float
    node: str
    text: str


@dataclass
class RunJob:
    """A run in the worker: its progress events so far and, once done, its outcome."""

    job_id: str
    thread_id: str
    kind: str  # "start" | "resume" | "recover"
    future: Future = field(default_factory=Future, repr=False)
    _events: list[ProgressEvent] = field(default_factory=list, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add_event(self, node: str, text: str) -> None:
        with self._lock:
            self._events.append(ProgressEvent(time.time(), node, text))

    def events(self, since: int = 0) -> list[ProgressEvent]:
        with self._lock:
            return self._events[since:]

    def done(self) -> bool:
        return self.future.done()

    def result(self, timeout: float | None = None) -> ThreadOutcome:
        return self.future.result(timeout)


def describe_update(node: str, update: Any) -> list[str]:
    """Readable lines for one `updates` stream chunk."""
    if node == "__interrupt__":
        items = update if isinstance(update, (list, tuple)) else (update,)
        return [f"waits for review: {_ask_text(getattr(item, 'value', item))}" for item in items]
    updates = update if isinstance(update, list) else [update]
    lines = []
    for item in updates:
        messages = item.get("messages", []) if isinstance(item, dict) else []
        for message in messages:
            calls = getattr(message, "tool_calls", None)
            if calls:
                names = ", ".join(f"{c['name']}({', '.join(map(str, c['args'].values()))})" for c in calls)
                lines.append(f"planned {len(calls)} tool call{'s' if len(calls) != 1 else ''}: {names}")
            elif getattr(message, "content", ""):
                lines.append(str(message.content)[:200])
    return lines or [f"{node} finished"]


def _ask_text(value: Any) -> str:
    """What an interrupt asks, in a line: the tool and its description when the payload names them."""
    if isinstance(value, dict):
        name = value.get("name") or (value.get("action_request") or {}).get("action")
        description = value.get("description")
        if name or description:
            return " ".join(str(part) for part in (name, description and f"- {description}") if part)[:200]
    return str(value)[:200]


class Runner:
    """The worker pool, and the one code path that applies recorded decisions to a thread."""

    def __init__(self, store: Store, graph: Any, inbox: Inbox, leases: Leases, *, workers: int = 4) -> None:
        self.store = store
        self.graph = graph
        self.inbox = inbox  # reads pending rows from the checkpoint, skipping unchanged threads
        self.leases = leases
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="review-run")
        self._jobs: dict[str, RunJob] = {}
        self._jobs_lock = threading.Lock()

    # --- jobs -----------------------------------------------------------------------------

    def job(self, job_id: str) -> RunJob | None:
        with self._jobs_lock:
            return self._jobs.get(job_id)

    def _launch(self, thread_id: str, kind: str, work: Any, *args: Any) -> RunJob:
        job = RunJob(job_id=uuid.uuid4().hex, thread_id=thread_id, kind=kind)
        with self._jobs_lock:
            self._jobs[job.job_id] = job
            if len(self._jobs) > KEEP_JOBS:  # a long-running server: forget the oldest finished jobs
                for old in [j for j in self._jobs.values() if j.done()][: len(self._jobs) - KEEP_JOBS]:
                    del self._jobs[old.job_id]

        def run() -> None:
            try:
                job.future.set_result(work(job, *args))
            except BaseException as exc:  # surfaced through job.result()
                job.future.set_exception(exc)

        self._pool.submit(run)
        return job

    def start(self, run_input: dict[str, Any]) -> RunJob:
        """Start a new thread from `run_input`; the job ends when the run pauses or finishes."""
        return self._launch(uuid.uuid4().hex, "start", self._start, run_input)

    def apply(self, thread_id: str, batch_id: str) -> RunJob:
        """Resume `thread_id` with the decisions this owner claimed in `batch_id`."""
        return self._launch(thread_id, "resume", self._apply, batch_id)

    def shutdown(self) -> None:
        self._pool.shutdown(wait=True)

    # --- work -----------------------------------------------------------------------------

    def _stream(self, job: RunJob, run_input: Any, config: dict[str, Any]) -> None:
        for chunk in self.graph.stream(run_input, config, stream_mode="updates"):
            for node, update in chunk.items():
                label = "review" if node == "__interrupt__" else node
                for line in describe_update(node, update):
                    job.add_event(label, line)

    def _start(self, job: RunJob, run_input: dict[str, Any]) -> ThreadOutcome:
        outcome = ThreadOutcome(job.thread_id)
        self.leases.acquire(job.thread_id)
        try:
            job.add_event("start", "run started")
            self._stream(job, run_input, {"configurable": {"thread_id": job.thread_id}})
            outcome.new_pending = self.inbox.read(job.thread_id)
        finally:
            self.leases.release(job.thread_id)
        job.add_event("end", _ending(outcome.new_pending))
        return outcome

    def _apply(self, job: RunJob, batch_id: str | None) -> ThreadOutcome:
        """Apply this owner's claimed decisions of one thread (all of them when batch_id is None)."""
        thread_id = job.thread_id
        outcome = ThreadOutcome(thread_id)
        if not self.leases.acquire(thread_id):
            outcome.error = "timed out waiting for another resume of this thread to finish"
            return outcome
        try:
            claimed = self._claimed(thread_id, batch_id)
            before = self.inbox.read(thread_id)
            pending = {row.interrupt_id for row in before}
            # Rows no longer pending were answered already: by a run this owner started before a
            # crash, or by a client outside the console. Never send them again.
            gone = [i for i in claimed if i not in pending]
            delivered = self._delivered(thread_id, {i: claimed[i] for i in gone})
            self._finish(thread_id, [i for i in gone if i in delivered])  # by a run of this claim that then died
            self._finish(
                thread_id,
                [i for i in gone if i not in delivered],
                error="no longer pending when applied: answered outside this batch",
            )
            outcome.applied = [i for i in gone if i in delivered]
            resume = {i: v for i, v in claimed.items() if i in pending}
            incomplete = incomplete_requests(resume, pending)
            self._finish(thread_id, incomplete, error="not applied: a batched request needs every action decided")
            resume = {i: v for i, v in resume.items() if i not in incomplete}
            if resume:
                job.add_event("resume", f"resuming with {len(resume)} decision{'s' if len(resume) != 1 else ''}")
                config = {"configurable": {"thread_id": thread_id, STRICT_RESUME: True}}
                try:
                    self._stream(job, Command(resume=resume_map(resume)), config)
                except UnknownInterruptError as exc:
                    self._finish(thread_id, list(resume), error=f"not applied: {exc}")
                    outcome.error = f"not applied: {exc}"
                    return outcome
                except Exception as exc:
                    self._finish(thread_id, list(resume), error=f"run failed: {type(exc).__name__}: {exc}")
                    outcome.error = f"run failed: {type(exc).__name__}: {exc}"
                    return outcome
                self._finish(thread_id, list(resume))
                outcome.applied += list(resume)
            after = self.inbox.read(thread_id)
            outcome.new_pending = [row for row in after if row.interrupt_id not in pending]
        finally:
            self.leases.release(thread_id)
        job.add_event("end", _ending(after))
        return outcome

    def _claimed(self, thread_id: str, batch_id: str | None) -> dict[str, Any]:
        sql = (
            "SELECT interrupt_id, resume_json FROM review_decisions "
            "WHERE thread_id = ? AND owner = ? AND status = 'claimed'"
        )
        params: tuple[Any, ...] = (thread_id, self.leases.owner)
        if batch_id is not None:
            sql += " AND batch_id = ?"
            params += (batch_id,)
        return {row["interrupt_id"]: json.loads(row["resume_json"]) for row in self.store.query(sql, params)}

    def _delivered(self, thread_id: str, decisions: dict[str, Any]) -> set[str]:
        """Ids whose recorded decision the checkpoint shows delivered to their task.

        A run that resumed with a claim and was killed before the superstep ended leaves the
        finished tasks' writes behind: those rows are no longer pending, yet they were applied
        by this claim, not answered by someone else. The task that raised an interrupt (matched by
        interrupt id, or by tool call id when the same task has asked again since) keeps the resume
        values it received in its `__resume__` write.
        """
        if not decisions:
            return set()
        call_ids = {
            row["interrupt_id"]: row["tool_call_id"]
            for row in self.store.query(
                "SELECT interrupt_id, tool_call_id FROM review_decisions WHERE thread_id = ?", (thread_id,)
            )
        }
        found: set[str] = set()
        for saved in self.graph.checkpointer.list({"configurable": {"thread_id": thread_id, "checkpoint_ns": ""}}):
            raised: dict[str, set[str]] = {}  # task id -> interrupt ids and tool call ids it raised
            received: dict[str, list[Any]] = {}  # task id -> resume values it was given
            for task_id, channel, value in saved.pending_writes or ():
                if channel == "__interrupt__":
                    for item in value if isinstance(value, (list, tuple)) else (value,):
                        payload = getattr(item, "value", None)
                        call_id = payload.get("tool_call_id") if isinstance(payload, dict) else None
                        raised.setdefault(task_id, set()).update(k for k in (getattr(item, "id", None), call_id) if k)
                elif channel == "__resume__":
                    received.setdefault(task_id, []).extend(value if isinstance(value, list) else [value])
            for interrupt_id, value in decisions.items():
                keys = {k for k in (interrupt_id, call_ids.get(interrupt_id)) if k}
                if any(keys & raised.get(task_id, set()) and value in values for task_id, values in received.items()):
                    found.add(interrupt_id)
            if found == set(decisions):
                break
        return found

    def _finish(self, thread_id: str, interrupt_ids: list[str], *, error: str | None = None) -> None:
        if not interrupt_ids:
            return
        with self.store.transaction() as conn:
            conn.executemany(
                "UPDATE review_decisions SET status = ?, applied_at = ?, error = ? "
                "WHERE thread_id = ? AND interrupt_id = ? AND owner = ? AND status = 'claimed'",
                [
                    ("failed" if error else "applied", now_iso(), error, thread_id, i, self.leases.owner)
                    for i in interrupt_ids
                ],
            )

    # --- recovery ---------------------------------------------------------------------------

    def recover(self) -> list[ThreadOutcome]:
        """Finish decisions recorded but never applied by an owner that is gone. Each is taken once."""
        outcomes = []
        for thread_id in self._abandoned_threads():
            if not self.leases.acquire(thread_id, wait=0):
                continue  # another process is on it right now
            try:
                taken = self._take_over(thread_id)
            finally:
                self.leases.release(thread_id)
            if taken:
                job = RunJob(job_id=uuid.uuid4().hex, thread_id=thread_id, kind="recover")
                outcomes.append(self._apply(job, None))
        return outcomes

    def _abandoned(self, owner: str, lease_until: float) -> bool:
        return owner != self.leases.owner and (lease_until < time.time() or owner_is_gone(owner, self.leases.owner))

    def _abandoned_threads(self) -> list[str]:
        rows = self.store.query(
            "SELECT DISTINCT thread_id, owner, lease_until FROM review_decisions WHERE status = 'claimed'"
        )
        return sorted({r["thread_id"] for r in rows if self._abandoned(r["owner"], r["lease_until"])})

    def _take_over(self, thread_id: str) -> int:
        with self.store.transaction() as conn:
            rows = conn.execute(
                "SELECT interrupt_id, owner, lease_until FROM review_decisions "
                "WHERE thread_id = ? AND status = 'claimed'",
                (thread_id,),
            ).fetchall()
            ids = [r["interrupt_id"] for r in rows if self._abandoned(r["owner"], r["lease_until"])]
            conn.executemany(
                "UPDATE review_decisions SET owner = ?, lease_until = ? WHERE thread_id = ? AND interrupt_id = ?",
                [(self.leases.owner, self.leases.until(), thread_id, i) for i in ids],
            )
        return len(ids)


def _ending(pending: list[PendingInterrupt]) -> str:
    if pending:
        return f"paused: {len(pending)} interrupt{'s' if len(pending) != 1 else ''} waiting for review"
    return "finished"
