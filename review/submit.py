"""Submitting a batch of decisions: validate every row, claim, record, then resume each thread once.

validate -> an invalid batch is refused whole, one message per bad row, nothing claimed or sent;
claim    -> each (thread_id, interrupt_id) under its primary key, a thread's rows in ONE transaction,
            so two racing batches never split a thread; a row decided by anyone before is a conflict
            naming who and when, and is not sent;
resume   -> one `Command(resume={interrupt_id: decision})` per thread, strict, in the worker.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

from langchain_core.tools import BaseTool

from review.contract import (
    BATCH_PART,
    BatchResult,
    Conflict,
    Decision,
    DecisionRequest,
    PendingInterrupt,
    RowError,
    ThreadOutcome,
    base_interrupt_id,
    incomplete_requests,
    resume_value,
    to_json,
)
from review.inbox import Inbox
from review.runner import RunJob, Runner, now_iso
from review.store import Store
from review.validation import InvalidDecision, validate_decision

# Decisions that hold their row: a failed one (never applied) may be decided again.
_HOLDING = ("claimed", "applied")


@dataclass
class BatchHandle:
    """A submitted batch: conflicts are known at once, resumes finish in the worker."""

    result_so_far: BatchResult
    jobs: list[RunJob] = field(default_factory=list)

    @property
    def batch_id(self) -> str:
        return self.result_so_far.batch_id

    def done(self) -> bool:
        return all(job.done() for job in self.jobs)

    def result(self, timeout: float | None = None) -> BatchResult:
        """Wait for every thread's resume and merge their outcomes."""
        result = self.result_so_far
        for job in self.jobs:
            outcome = result.threads.setdefault(job.thread_id, ThreadOutcome(job.thread_id))
            try:
                done = job.result(timeout)
            except Exception as exc:
                outcome.error = f"{type(exc).__name__}: {exc}"
                continue
            outcome.applied, outcome.new_pending, outcome.error = done.applied, done.new_pending, done.error
        return result


def submit_batch(
    store: Store,
    inbox: Inbox,
    runner: Runner,
    tools: dict[str, BaseTool],
    items: Iterable[DecisionRequest],
    reviewer: str,
) -> BatchHandle:
    """Validate, claim and start resuming a batch that may span several threads."""
    reviewer = (reviewer or "").strip()
    if not reviewer:
        raise ValueError("a reviewer name is required before decisions can be sent")
    items = list(items)
    result = BatchResult(batch_id=uuid.uuid4().hex)
    decided = _existing(store, items)
    invalid, accepted = _validate(store, inbox, tools, items, decided, result)
    if invalid:
        return BatchHandle(BatchResult(batch_id=result.batch_id, invalid=invalid, threads=result.threads))
    handle = BatchHandle(result)
    for thread_id, rows in accepted.items():
        claimed = _claim(store, runner, result, thread_id, rows, reviewer)
        if claimed:
            handle.jobs.append(runner.apply(thread_id, result.batch_id))
    return handle


def _existing(store: Store, items: list[DecisionRequest]) -> dict[tuple[str, str], Conflict]:
    """Rows of this batch that someone already decided."""
    found: dict[tuple[str, str], Conflict] = {}
    for item in items:
        row = store.query(
            "SELECT reviewer, decided_at, decision_type, status FROM review_decisions "
            "WHERE thread_id = ? AND interrupt_id = ?",
            (item.thread_id, item.interrupt_id),
        )
        if row and row[0]["status"] in _HOLDING:
            found[(item.thread_id, item.interrupt_id)] = Conflict(
                item.thread_id, item.interrupt_id, row[0]["reviewer"], row[0]["decided_at"], row[0]["decision_type"]
            )
    return found


def _validate(
    store: Store,
    inbox: Inbox,
    tools: dict[str, BaseTool],
    items: list[DecisionRequest],
    decided: dict[tuple[str, str], Conflict],
    result: BatchResult,
) -> tuple[list[RowError], dict[str, list[tuple[PendingInterrupt, Decision]]]]:
    invalid: list[RowError] = []
    accepted: dict[str, list[tuple[PendingInterrupt, Decision]]] = defaultdict(list)
    pending_by_thread: dict[str, dict[str, PendingInterrupt]] = {}
    seen: set[tuple[str, str]] = set()
    for item in items:
        key = (item.thread_id, item.interrupt_id)
        if key in seen:
            invalid.append(RowError(*key, "the same interrupt appears twice in this batch"))
            continue
        seen.add(key)
        if key in decided:
            result.threads.setdefault(item.thread_id, ThreadOutcome(item.thread_id)).conflicts.append(decided[key])
            continue
        if item.thread_id not in pending_by_thread:
            rows = inbox.read(item.thread_id)  # the checkpoint as it is now (re-read if the thread changed)
            pending_by_thread[item.thread_id] = {row.interrupt_id: row for row in rows}
        row = pending_by_thread[item.thread_id].get(item.interrupt_id)
        if row is None:
            # Decided by another reviewer since `decided` was read (and already resumed): a conflict, not stale.
            late = _existing(store, [item]).get(key)
            if late is not None:
                result.threads.setdefault(item.thread_id, ThreadOutcome(item.thread_id)).conflicts.append(late)
                continue
            invalid.append(RowError(*key, "not pending: unknown interrupt id, or already answered (stale)"))
            continue
        try:
            accepted[item.thread_id].append((row, validate_decision(row, item.decision, tools)))
        except InvalidDecision as exc:
            invalid.append(RowError(*key, str(exc)))
    for thread_id, decided_rows in accepted.items():
        for row_id in incomplete_requests([row.interrupt_id for row, _ in decided_rows], pending_by_thread[thread_id]):
            parts = sum(base_interrupt_id(i) == base_interrupt_id(row_id) for i in pending_by_thread[thread_id])
            invalid.append(RowError(thread_id, row_id, f"decide all {parts} actions of this batched request together"))
    return invalid, accepted


def _claim(
    store: Store,
    runner: Runner,
    result: BatchResult,
    thread_id: str,
    rows: list[tuple[PendingInterrupt, Decision]],
    reviewer: str,
) -> int:
    """Claim and record a thread's rows in one transaction; the rest become conflicts."""
    outcome = result.threads.setdefault(thread_id, ThreadOutcome(thread_id))
    claimed = 0
    with store.transaction() as conn:
        held = {}
        for row, _ in rows:
            found = conn.execute(
                "SELECT reviewer, decided_at, decision_type, status FROM review_decisions "
                "WHERE thread_id = ? AND interrupt_id = ?",
                (thread_id, row.interrupt_id),
            ).fetchone()
            if found and found["status"] in _HOLDING:
                held[row.interrupt_id] = found
        # A batched request is answered whole: one part held by someone holds all its parts.
        held_requests = {base_interrupt_id(i): h for i, h in held.items() if BATCH_PART in i}
        for row, decision in rows:
            holder = held.get(row.interrupt_id) or held_requests.get(base_interrupt_id(row.interrupt_id))
            if holder is not None:
                outcome.conflicts.append(
                    Conflict(
                        thread_id, row.interrupt_id, holder["reviewer"], holder["decided_at"], holder["decision_type"]
                    )
                )
                continue
            conn.execute(
                "INSERT OR REPLACE INTO review_decisions (thread_id, interrupt_id, batch_id, reviewer, decided_at, "
                "tool, tool_call_id, decision_type, resume_json, args_before, args_after, message, status, owner, "
                "lease_until) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'claimed', ?, ?)",
                (
                    thread_id,
                    row.interrupt_id,
                    result.batch_id,
                    reviewer,
                    now_iso(),
                    row.tool,
                    row.tool_call_id,
                    decision.type,
                    to_json(resume_value(row, decision)),
                    to_json(decision.args_before),
                    to_json(decision.args_after) if decision.args_after is not None else None,
                    decision.message,
                    runner.leases.owner,
                    runner.leases.until(),
                ),
            )
            claimed += 1
    return claimed
