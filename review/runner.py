"""Runs the agent off the caller's stack: new runs, resumes and recovery, each under the thread's lease.

A run executes in a worker thread of this process, so a Streamlit rerun, a closed tab or a second
click cannot cut it short or repeat it. Every run:
- holds the thread's lease and passes its token to the fenced saver (a run that lost its lease is
  refused at its next write and reports its rows as taken over);
- passes every tool its idempotency key (thread / tool_call_id / row id) in the config, so a tool
  that LangGraph re-runs (its write was lost in a crash) can make its effect once;
- saves checkpoints synchronously (`durability="sync"`), so a refused write stops the run before
  its next step starts;
- derives every row's outcome from the checkpoint afterwards (was its interrupt answered?), never
  from an exception, and leaves a run that was cut short (tasks to run, nothing pending) to recovery.
Streams are for progress only; what a run left pending is read back from the checkpoint.

This module is the job pool and the one apply path; the rest lives by job: a thread's source reads,
starts and resumes it (review/sources/: local graphs or an Agent Server, never asked which), the
outcome of each claim is read from the checkpoint and the run's lease ended in review/outcomes.py,
leases and heartbeats in review/leases.py, progress events in review/progress.py.
"""

from __future__ import annotations

import contextlib
import json
import logging
import threading
import uuid
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any

from langgraph.errors import UnknownInterruptError

from review.breakpoints import BreakpointRefused
from review.contract import Conflict, PendingInterrupt, ThreadOutcome, incomplete_requests
from review.graphs import GraphSet, LoadedGraph
from review.idempotency import idempotency_keys
from review.inbox import Inbox
from review.leases import Leases, now_iso
from review.outcomes import MAX_TRIES, TAKEN_OVER, Applied, Outcomes, plural, read_head, read_state
from review.progress import ProgressEvent, RunJob, describe_update
from review.sources import (
    LocalSource,
    OnChunk,
    RunRefused,
    ServerSet,
    Source,
    Sources,
    ThreadGone,
    ThreadNotClaimed,
    ThreadState,
    stream_updates,
)
from review.sources.local import STRICT_RESUME
from review.storage import Claim, LeaseLost, Storage, StoreError

log = logging.getLogger(__name__)

KEEP_JOBS = 500  # finished jobs kept for pages that follow them by id

__all__ = [
    "KEEP_JOBS",
    "MAX_TRIES",
    "STRICT_RESUME",
    "TAKEN_OVER",
    "ProgressEvent",
    "RunJob",
    "Runner",
    "ThreadNotClaimed",
    "describe_update",
    "stream_updates",
]


class Runner:
    """The worker pool, and the one code path that applies recorded decisions to a thread, whatever its source."""

    def __init__(
        self,
        storage: Storage,
        graphs: GraphSet,
        inbox: Inbox,
        leases: Leases,
        *,
        workers: int = 4,
        servers: ServerSet | None = None,
    ) -> None:
        self.storage = storage
        self.leases = leases
        # A thread an Agent Server listed is read and resumed there, under the same claims and lease.
        self.sources = Sources(LocalSource(storage, graphs, inbox), servers)
        self.outcomes = Outcomes(storage, leases)
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="review-run")
        self._jobs: dict[str, RunJob] = {}
        self._jobs_lock = threading.Lock()
        self._active: Counter[str] = Counter()  # threads with a claim being made or a job queued/running here

    # --- jobs -----------------------------------------------------------------------------

    def job(self, job_id: str) -> RunJob | None:
        """A job by its id (the last `KEEP_JOBS` finished ones are kept)."""
        with self._jobs_lock:
            return self._jobs.get(job_id)

    def is_active(self, thread_id: str) -> bool:
        """True while this process is claiming for, or running a job on, the thread."""
        with self._jobs_lock:
            return self._active[thread_id] > 0

    @contextmanager
    def reserving(self, thread_id: str) -> Iterator[None]:
        """Mark the thread active while a batch claims rows for it, so recovery leaves those claims alone."""
        with self._jobs_lock:
            self._active[thread_id] += 1
        try:
            yield
        finally:
            self._done_with(thread_id)

    def _done_with(self, thread_id: str) -> None:
        with self._jobs_lock:
            self._active[thread_id] -= 1
            if self._active[thread_id] <= 0:
                del self._active[thread_id]

    def _launch(self, thread_id: str, kind: str, work: Callable[..., ThreadOutcome], *args: Any) -> RunJob:
        job = RunJob(job_id=uuid.uuid4().hex, thread_id=thread_id, kind=kind)
        with self._jobs_lock:
            self._active[thread_id] += 1
            self._jobs[job.job_id] = job
            if len(self._jobs) > KEEP_JOBS:  # a long-running server: forget the oldest finished jobs
                for old in [j for j in self._jobs.values() if j.done()][: len(self._jobs) - KEEP_JOBS]:
                    del self._jobs[old.job_id]

        def run() -> None:
            try:
                job.future.set_result(work(job, *args))
            except BaseException as exc:  # surfaced through job.result()
                log.exception("%s job on thread %s failed", kind, thread_id)
                job.future.set_exception(exc)
            finally:
                self._done_with(thread_id)

        self._pool.submit(run)
        return job

    def start(self, graph: LoadedGraph, run_input: dict[str, Any]) -> RunJob:
        """Start `graph` on `run_input` in a new thread; the job ends when the run pauses or finishes."""
        return self._launch(uuid.uuid4().hex, "start", self._start, graph.graph_id, run_input)

    def apply(self, thread_id: str, batch_id: str) -> RunJob:
        """Resume `thread_id` with the decisions this owner claimed in `batch_id`."""
        return self._launch(thread_id, "resume", self._resume, batch_id)

    def recover(self, thread_id: str, token: str, claims: Sequence[Claim], continued_from: str | None) -> RunJob:
        """Finish a thread recovery took over (its lease `token` is held): its claims, or its cut-short run."""
        return self._launch(thread_id, "recover", self._recover, token, list(claims), continued_from)

    def shutdown(self) -> None:
        """Wait for every queued and running job, then stop the workers."""
        self._pool.shutdown(wait=True)

    # --- sources ----------------------------------------------------------------------------

    def source_for(self, thread_id: str) -> Source:
        """The source a thread lives on (an Agent Server that listed it, else the local graphs)."""
        return self.sources.for_thread(thread_id)

    def read(self, thread_id: str) -> list[PendingInterrupt]:
        """A thread's pending rows as they are now, from its source (a local checkpoint is re-read if changed).

        Raises ThreadGone when the thread's Agent Server no longer has it (deleted there).
        """
        return self.source_for(thread_id).read(thread_id)

    def _keys(self, thread_id: str) -> dict[str, str]:
        """The idempotency key of every tool call decided on the thread, for the run's config."""
        return idempotency_keys(thread_id, self.storage.decision_keys(thread_id))

    def _stream(self, job: RunJob, run: Callable[[OnChunk], None]) -> None:
        """Run one source call (`run(on_chunk)`: a start, a continuation or a resume), its progress into the job.

        Every run of this process goes through here (tests and the bench wrap it).
        """

        def progress(chunk: dict[str, Any]) -> None:
            for node, update in chunk.items():
                label = "review" if node == "__interrupt__" else node
                for line in describe_update(node, update):
                    job.add_event(label, line)

        run(progress)

    def _end(
        self,
        job: RunJob,
        source: Source,
        token: str,
        error: BaseException | None,
        *,
        then_continue: bool = False,
        state: ThreadState | None = None,
        applied: Applied | None = None,
    ) -> list[PendingInterrupt]:
        """End the run's lease from where it left the thread (`Outcomes.end`, which records `applied` first);
        recovery continues a cut-short thread right away when `then_continue`."""
        rows = self.outcomes.end(job, source, token, error, then_continue=then_continue, state=state, applied=applied)
        if rows is None:
            return self._continue(job, source, token, None).new_pending
        return rows

    # --- running ----------------------------------------------------------------------------

    def _start(self, job: RunJob, graph_id: str, run_input: dict[str, Any]) -> ThreadOutcome:
        outcome = ThreadOutcome(job.thread_id)
        source = self.source_for(job.thread_id)
        token = self.leases.acquire(job.thread_id, "start")
        if token is None:
            raise StoreError("timed out waiting for the thread's lease")
        job.add_event("start", "run started")
        error = self._run(job, source, token, run_input, outcome, graph_id=graph_id)
        if outcome.error == TAKEN_OVER:
            return outcome
        outcome.new_pending = self._end(job, source, token, error)
        if error is not None:
            raise error
        return outcome

    def _resume(self, job: RunJob, batch_id: str) -> ThreadOutcome:
        try:
            # The claims of the batch are read in the lease's transaction.
            token, claims = self.leases.acquire_for(job.thread_id, "resume", batch_id)
        except StoreError as exc:
            # The store failed before anything was sent (connection lost, locked): the claims are recorded,
            # so they are not lost; hand them to recovery and say so.
            outcome = ThreadOutcome(job.thread_id, error=f"not applied yet: {exc}; recovery applies these")
            with contextlib.suppress(StoreError):
                self.outcomes.hand_over(self.storage.claims(job.thread_id, self.leases.owner, batch_id), outcome)
            return outcome
        if token is None:
            outcome = ThreadOutcome(job.thread_id)
            claims = self.storage.claims(job.thread_id, self.leases.owner, batch_id)
            outcome.unknown = [c.row_id for c in claims]
            outcome.error = "timed out waiting for another run of this thread to finish; recovery applies these"
            return outcome
        return self._apply(job, token, claims)

    def _recover(self, job: RunJob, token: str, claims: list[Claim], continued_from: str | None) -> ThreadOutcome:
        source = self.source_for(job.thread_id)
        blocked = source.blocked(job.thread_id)
        if blocked is not None:  # never resumed by a graph that does not own it
            self.leases.release(job.thread_id, token, state="failed", error=blocked)
            return ThreadOutcome(job.thread_id, error=blocked)
        if claims:
            job.add_event("recover", f"finishing {plural(len(claims), 'decision')} left by a stopped process")
            return self._apply(job, token, claims, recovering=True)
        if not source.continues_runs:
            self.leases.release(job.thread_id, token)  # the source (a server) runs its own runs to the end
            return ThreadOutcome(job.thread_id)
        return self._continue(job, source, token, continued_from)

    def _continue(self, job: RunJob, source: Source, token: str, continued_from: str | None) -> ThreadOutcome:
        """Continue a run that was cut short (tasks to run, nothing pending), once per cut point.

        `continued_from` is the head an earlier continuation of this thread started from: finding the
        thread still there means that continuation got nowhere (it was killed, or hangs), so stop.
        """
        outcome = ThreadOutcome(job.thread_id)
        rows, next_tasks, head = read_state(source, job.thread_id)
        if not next_tasks or rows:
            self.leases.release(job.thread_id, token)
            outcome.new_pending = rows
            return outcome
        if continued_from is not None and head == continued_from:
            # Continued from this very checkpoint before, and it got no further: do not loop.
            self.leases.release(
                job.thread_id,
                token,
                state="failed",
                checkpoint_id=head,
                error="continuing the interrupted run made no progress",
            )
            outcome.error = "continuing the interrupted run made no progress"
            return outcome
        job.add_event("recover", f"continuing the interrupted run ({', '.join(next_tasks)})")
        self.storage.mark_continued(job.thread_id, token, head)
        error = self._run(job, source, token, None, outcome)
        if outcome.error == TAKEN_OVER:
            return outcome
        if error is not None:
            outcome.error = f"run failed: {type(error).__name__}: {error}"
        outcome.new_pending = self._end(job, source, token, error)
        return outcome

    def _run(
        self,
        job: RunJob,
        source: Source,
        token: str,
        run_input: Any,
        outcome: ThreadOutcome,
        *,
        graph_id: str | None = None,
    ) -> BaseException | None:
        """Stream a start or a continuation; the error it raised, if any. A lost lease ends it here."""
        thread_id = job.thread_id
        try:
            keys = self._keys(thread_id)
            self._stream(
                job,
                lambda on_chunk: source.start(
                    thread_id, run_input, graph_id=graph_id, token=token, keys=keys, on_chunk=on_chunk
                ),
            )
        except LeaseLost:
            self.leases.release(thread_id, token)
            outcome.error = TAKEN_OVER
        except Exception as exc:
            return exc
        return None

    def _apply(self, job: RunJob, token: str, claims: list[Claim], *, recovering: bool = False) -> ThreadOutcome:
        """Apply claimed decisions of one thread under its lease `token`, recording what the checkpoint shows."""
        thread_id = job.thread_id
        source = self.source_for(thread_id)
        record = self.outcomes.record
        outcome = ThreadOutcome(thread_id)
        try:
            before, head_before = read_head(source, thread_id)
        except Exception:
            self.outcomes.hand_over(claims, outcome)
            self.leases.release(thread_id, token, state="cut_short", error="cannot read the thread")
            raise
        pending = {row.row_id for row in before}
        # Rows no longer pending were answered already: by a run of this claim that died after answering
        # (recovery), or by a client outside the console. Never send them again.
        gone = [c for c in claims if c.row_id not in pending]
        delivered = source.delivered(thread_id, gone) if gone else set()
        record(outcome, [c for c in gone if c.attempt_id in delivered], "applied")
        record(
            outcome,
            [c for c in gone if c.attempt_id not in delivered],
            "failed",
            "no longer pending when applied: answered outside the console",
        )
        sendable = [c for c in claims if c.row_id in pending]
        incomplete = set(incomplete_requests([c.row_id for c in sendable], pending))
        record(
            outcome,
            [c for c in sendable if c.row_id in incomplete],
            "failed",
            "not applied: a batched request needs every action decided",
        )
        to_send = [c for c in sendable if c.row_id not in incomplete]
        if not to_send:
            outcome.new_pending = self._end(job, source, token, None, then_continue=recovering)
            return outcome
        rerun = {c.attempt_id for c in to_send if c.resume_started}  # its tool may have run before a crash
        job.add_event("resume", f"resuming with {plural(len(to_send), 'decision')}")
        # Marked before anything is sent (a crash after it may have run their tools); the tools' idempotency keys
        # are read in the same transaction.
        decided_keys = self.storage.start_resume(thread_id, [c.attempt_id for c in to_send], now_iso())
        error: BaseException | None = None
        try:
            by_row = {row.row_id: row for row in before}
            decided = [(by_row[c.row_id], json.loads(c.resume_json)) for c in to_send]
            keys = idempotency_keys(thread_id, decided_keys)
            self._stream(
                job, lambda on_chunk: source.resume(thread_id, decided, token=token, keys=keys, on_chunk=on_chunk)
            )
        except LeaseLost:
            # Recovery took the thread over while this process was paused: the rows are its to finish.
            outcome.taken_over = [c.row_id for c in to_send]
            outcome.error = TAKEN_OVER
            self.leases.release(thread_id, token)
            return outcome
        except RunRefused as exc:  # another client's run is on: nothing was started, someone else answered
            record(outcome, to_send, "failed", f"conflict: {exc}")
            outcome.conflicts += [
                Conflict(thread_id, c.row_id, "another client of the Agent Server", now_iso(), "resume")
                for c in to_send
            ]
            outcome.failed.clear()
            outcome.new_pending = self._end(job, source, token, None)
            return outcome
        except (ThreadGone, BreakpointRefused) as exc:
            # Gone from its server, or the graph would have run a rejected call (a breakpoint): nothing was run.
            record(outcome, to_send, "failed", f"not applied: {exc}")
            outcome.error = f"not applied: {exc}"
            self.leases.release(thread_id, token)
            return outcome
        except UnknownInterruptError as exc:  # strict resume refused before anything was written
            record(outcome, to_send, "failed", f"not applied: {exc}")
            outcome.error = f"not applied: {exc}"
            outcome.new_pending = self._end(job, source, token, None)
            return outcome
        except Exception as exc:
            error = exc
        # What happened is what the checkpoint shows: a row whose interrupt is no longer pending was answered.
        try:
            state_after = read_state(source, thread_id)
            after = state_after[0]
        except Exception as exc:
            log.warning("cannot read thread %s after its resume: %s", thread_id, exc)
            self.outcomes.hand_over(to_send, outcome)
            outcome.error = f"run failed: {type(error or exc).__name__}: {error or exc}"
            self.leases.release(thread_id, token, state="cut_short", error=outcome.error)
            return outcome
        still = {row.row_id for row in after}
        answered = [c for c in to_send if c.row_id not in still]
        # Checked before "applied" is recorded, and recorded with it in one transaction (before the lease ends: an
        # open Inbox redraws on that, and must see the verdicts). A crash before that record leaves the claims to
        # recovery, which reads the checkpoint and records them applied, as it does for a crash after the resume.
        verdicts = self.outcomes.check(source, thread_id, answered, before, after, head_before)
        unanswered = [c for c in to_send if c.row_id in still]
        if error is None and not unanswered and not any(c.attempt_id in rerun for c in answered):
            # Every row answered, none sent before: "applied" is recorded by the lease's end, in its transaction.
            applied = Applied(outcome, answered, verdicts)
            rows = self._end(job, source, token, None, then_continue=recovering, state=state_after, applied=applied)
            outcome.new_pending = [row for row in rows if row.row_id not in pending]
            if recovering:
                log.info("recovered thread %s: %s applied", thread_id, len(outcome.applied))
            return outcome
        record(outcome, [c for c in answered if c.attempt_id not in rerun], "applied", verdicts=verdicts)
        record(outcome, [c for c in answered if c.attempt_id in rerun], "applied", rerun=True, verdicts=verdicts)
        if error is not None:
            outcome.error = f"run failed: {type(error).__name__}: {error}"
            log.info("resume of thread %s failed", thread_id, exc_info=error)  # the traceback, for --verbose
            retry = [c for c in unanswered if isinstance(error, self.storage.transient) and c.tries + 1 < MAX_TRIES]
            self.outcomes.hand_over(retry, outcome)
            record(outcome, [c for c in unanswered if c not in retry], "failed", outcome.error)
        else:
            record(outcome, unanswered, "failed", "not applied: the interrupt is still pending after the resume")
        rows = self._end(job, source, token, error, then_continue=recovering, state=state_after)
        outcome.new_pending = [row for row in rows if row.row_id not in pending]
        if recovering:
            log.info("recovered thread %s: %s applied", thread_id, len(outcome.applied))
        return outcome
