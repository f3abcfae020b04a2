"""Submitting a batch of decisions: validate every row, claim, record, then resume each thread once.

validate -> an invalid batch is refused whole, one message per bad row, nothing claimed or sent;
claim    -> each row under the decision log's holding index, a thread's rows in ONE transaction, so
            two racing batches never split a thread; a row someone holds is a conflict naming who
            and when (checked once, inside that transaction), and is not sent;
resume   -> one `Command(resume={interrupt_id: decision})` per thread, strict, in the worker.

Every attempt records its channel, where it was decided (`CHANNELS`): the caller says it (the card's action-link
confirm says "link"), else the reviewer's kind tells it (a rule's, the command line's, else the console's).
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

from review.breakpoints import is_breakpoint, mixed_rejection
from review.contract import (
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
from review.identity import Reviewer, as_reviewer
from review.leases import now_iso
from review.policy import Policy
from review.runner import RunJob, Runner
from review.sources import ServerError, ThreadGone
from review.storage import Holder, NewDecision, Storage, StoreError
from review.validation import NOT_PENDING, InvalidDecision, check_request


@dataclass
class BatchHandle:
    """A submitted batch: conflicts are known at once, resumes finish in the worker."""

    result_so_far: BatchResult
    jobs: list[RunJob] = field(default_factory=list)

    @property
    def batch_id(self) -> str:
        """The batch's id, as recorded with each of its decisions."""
        return self.result_so_far.batch_id

    def done(self) -> bool:
        """Every thread's resume has ended."""
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
            conflicts, waiting = outcome.conflicts, outcome.waiting
            result.threads[job.thread_id] = done
            done.conflicts = conflicts + done.conflicts
            done.waiting = {**waiting, **done.waiting}
        return result


# Where a decision was made: the console's pages, a notification's action link, `python -m review`, a policy rule,
# or a program calling the core's API itself (it says so: `channel="api"`).
CHANNELS = ("console", "link", "cli", "rule", "api")


def channel_of(reviewer: Reviewer, channel: str | None = None) -> str:
    """The channel recorded for a decision: `channel` when given (one of CHANNELS), else the reviewer's kind's."""
    if channel is None:
        return reviewer.verification if reviewer.verification in ("cli", "rule") else "console"
    if channel not in CHANNELS:
        raise ValueError(f"{channel!r} is not a channel (use {', '.join(CHANNELS)})")
    return channel


def _conflict(thread_id: str, row_id: str, holder: Holder) -> Conflict:
    return Conflict(thread_id, row_id, holder.reviewer, holder.decided_at, holder.decision_type)


def submit_batch(
    storage: Storage,
    runner: Runner,
    items: Iterable[DecisionRequest],
    reviewer: Reviewer | str,
    policy: Policy | None = None,
    channel: str | None = None,
) -> BatchHandle:
    """Validate, claim and start resuming a batch that may span several threads.

    `channel`: where it was decided (`channel_of`), recorded with each attempt. Raises ValueError for a bad
    reviewer name or channel, StoreError when the store refuses the claims (read-only, full, locked): then
    nothing was recorded.
    """
    who = as_reviewer(reviewer)
    channel = channel_of(who, channel)
    policy = policy or Policy()
    items = list(items)
    result = BatchResult(batch_id=uuid.uuid4().hex)
    if not items:
        result.note = "the batch is empty: nothing was sent"
        return BatchHandle(result)
    if storage.read_only:
        raise StoreError(f"the review database {storage.label} is read-only: decisions cannot be recorded")
    invalid, accepted = _validate(storage, runner, items, result, who, policy)
    if invalid:
        return BatchHandle(BatchResult(batch_id=result.batch_id, invalid=invalid, threads=result.threads))
    handle = BatchHandle(result)
    for thread_id, rows in accepted.items():
        with runner.reserving(thread_id):
            if _claim(storage, runner, result, thread_id, rows, who, policy, channel):
                handle.jobs.append(runner.apply(thread_id, result.batch_id))
    return handle


def _validate(
    storage: Storage,
    runner: Runner,
    items: list[DecisionRequest],
    result: BatchResult,
    reviewer: Reviewer,
    policy: Policy,
) -> tuple[list[RowError], dict[str, list[tuple[PendingInterrupt, Decision]]]]:
    invalid: list[RowError] = []
    accepted: dict[str, list[tuple[PendingInterrupt, Decision]]] = defaultdict(list)
    pending_by_thread: dict[str, dict[str, PendingInterrupt]] = {}
    seen: set[tuple[str, str]] = set()
    refused_requests: set[tuple[str, str]] = set()  # batched requests with a refused part
    # thread id -> why its rows cannot be read (deleted on, or no answer from, its Agent Server)
    unreadable: dict[str, str] = {}
    for item in items:
        key = (item.thread_id, item.row_id)
        if key in seen:
            invalid.append(RowError(*key, "the same row appears twice in this batch"))
            continue
        seen.add(key)
        if item.thread_id not in pending_by_thread:
            try:
                rows = runner.read(item.thread_id)  # the checkpoint (or server state) as it is now
            except ThreadGone as exc:  # deleted on its Agent Server since the Inbox listed it
                unreadable[item.thread_id] = f"not pending: {exc}"
                rows = []
            except ServerError as exc:  # its Agent Server cannot be asked now: nothing can be checked or sent
                unreadable[item.thread_id] = f"not sent: {exc}; decide it again when the server answers"
                rows = []
            pending_by_thread[item.thread_id] = {row.row_id: row for row in rows}
        row = pending_by_thread[item.thread_id].get(item.row_id)
        if row is None:
            # Decided by another reviewer (and perhaps already resumed): a conflict, not a stale id.
            holder = storage.holders(item.thread_id, [item.interrupt_id]).get(item.row_id)
            if holder is not None:
                outcome = result.threads.setdefault(item.thread_id, ThreadOutcome(item.thread_id))
                outcome.conflicts.append(_conflict(item.thread_id, item.row_id, holder))
                continue
            parts = [r for r in pending_by_thread[item.thread_id] if base_interrupt_id(r) == item.row_id]
            if parts:
                reason = f"this interrupt is a batched request: decide its actions by row id ({', '.join(parts)})"
            else:
                reason = unreadable.get(item.thread_id, NOT_PENDING)
            invalid.append(RowError(*key, reason))
            continue
        # The row's graph's tools, as its source knows them (a server graph's tools are not loaded here).
        tools = runner.source_for(item.thread_id).tools(row.graph_id)
        try:  # the one validator the Inbox and the CLI share: the row's warning, the decision, the policy
            decision = check_request(row, item.decision, tools, reviewer, policy, force=item.force)
        except InvalidDecision as exc:
            invalid.append(RowError(*key, str(exc)))
            refused_requests.add((item.thread_id, row.interrupt_id))
            continue
        accepted[item.thread_id].append((row, decision))
    for thread_id, decided_rows in accepted.items():
        pending = pending_by_thread[thread_id]
        mixed = mixed_rejection([(row, decision.type) for row, decision in decided_rows])
        if mixed is not None:
            invalid += [RowError(thread_id, row.row_id, mixed) for row, _ in decided_rows if is_breakpoint(row)]
        for row_id in incomplete_requests([row.row_id for row, _ in decided_rows], pending):
            if (thread_id, base_interrupt_id(row_id)) in refused_requests:
                continue  # the refused part already says what to fix
            count = sum(base_interrupt_id(i) == base_interrupt_id(row_id) for i in pending)
            invalid.append(RowError(thread_id, row_id, f"decide all {count} actions of this batched request together"))
    return invalid, accepted


def _claim(
    storage: Storage,
    runner: Runner,
    result: BatchResult,
    thread_id: str,
    rows: list[tuple[PendingInterrupt, Decision]],
    reviewer: Reviewer,
    policy: Policy,
    channel: str,
) -> int:
    """Claim and record a thread's rows in one transaction; the rows someone holds become conflicts."""
    outcome = result.threads.setdefault(thread_id, ThreadOutcome(thread_id))
    decisions = [
        NewDecision(
            thread_id=thread_id,
            row_id=row.row_id,
            interrupt_id=row.interrupt_id,
            tool=row.tool,
            tool_call_id=row.tool_call_id,
            decision_type=decision.type,
            resume_json=to_json(resume_value(row, decision)),
            args_before=to_json(decision.args_before),
            args_after=to_json(decision.args_after) if decision.args_after is not None else None,
            message=decision.message,
            reviewer=reviewer.name,
            warning=row.warning,
            identity=reviewer.identity,
            issuer=reviewer.issuer,
            verification=reviewer.verification,
            approvals=policy.approvals(row.tool),
            raised_at=row.raised_at,
            channel=channel,
        )
        for row, decision in rows
    ]
    claimed, held, waiting = storage.claim(
        decisions, result.batch_id, runner.leases.owner, runner.leases.until(), now_iso()
    )
    outcome.conflicts += [_conflict(thread_id, row_id, holder) for row_id, holder in held.items()]
    outcome.waiting.update({row_id: signs.text for row_id, signs in waiting.items()})
    return len(claimed)
