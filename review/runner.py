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
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from langgraph.errors import UnknownInterruptError
from langgraph.types import Command

from review.breakpoints import ID_PREFIX as BREAKPOINT_ID
from review.breakpoints import BreakpointDecision, BreakpointRefused, is_breakpoint
from review.breakpoints import apply as apply_breakpoint
from review.contract import Conflict, PendingInterrupt, ThreadOutcome, incomplete_requests, resume_map
from review.graphs import GRAPH_ID_KEY, GraphSet, LoadedGraph
from review.idempotency import IDEMPOTENCY_KEYS, idempotency_keys
from review.inbox import Inbox
from review.leases import Leases, now_iso
from review.sources import RunRefused, ServerSet, ServerSource, ThreadGone
from review.storage import LEASE_TOKEN_KEY, Claim, LeaseLost, Storage, StoreError
from review.verify import read_verdicts

log = logging.getLogger(__name__)

KEEP_JOBS = 500  # finished jobs kept for pages that follow them by id
STRICT_RESUME = "__pregel_strict_resume"  # langgraph's config key: unknown ids raise, nothing written
MAX_TRIES = 3  # resumes that may carry one decision before a storage fault counts as a failure
TAKEN_OVER = "taken over by recovery: this process lost the thread's lease"


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
    future: Future[ThreadOutcome] = field(default_factory=Future, repr=False)
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


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


class Runner:
    """The worker pool, and the one code path that applies recorded decisions to a thread."""

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
        self.graphs = graphs
        self.inbox = inbox  # reads pending rows from the checkpoint, skipping unchanged threads
        self.leases = leases
        # Agent Servers: a thread one of them listed is read and resumed there, under the same claims and lease.
        self.servers = servers or ServerSet()
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="review-run")
        self._jobs: dict[str, RunJob] = {}
        self._jobs_lock = threading.Lock()
        self._active: Counter[str] = Counter()  # threads with a claim being made or a job queued/running here

    # --- jobs -----------------------------------------------------------------------------

    def job(self, job_id: str) -> RunJob | None:
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
        return self._launch(uuid.uuid4().hex, "start", self._start, graph, run_input)

    def apply(self, thread_id: str, batch_id: str) -> RunJob:
        """Resume `thread_id` with the decisions this owner claimed in `batch_id`."""
        return self._launch(thread_id, "resume", self._resume, batch_id)

    def recover(self, thread_id: str, token: str, claims: Sequence[Claim], continued_from: str | None) -> RunJob:
        """Finish a thread recovery took over (its lease `token` is held): its claims, or its cut-short run."""
        return self._launch(thread_id, "recover", self._recover, token, list(claims), continued_from)

    def shutdown(self) -> None:
        self._pool.shutdown(wait=True)

    # --- running ----------------------------------------------------------------------------

    def _config(self, graph: LoadedGraph, thread_id: str, token: str, *, strict: bool = False) -> dict[str, Any]:
        configurable: dict[str, Any] = {
            "thread_id": thread_id,
            LEASE_TOKEN_KEY: token,
            IDEMPOTENCY_KEYS: idempotency_keys(thread_id, self.storage.decision_keys(thread_id)),
        }
        if strict:
            configurable[STRICT_RESUME] = True
        # Every checkpoint of the run names its graph: that is how a thread is matched to its graph later.
        return {"configurable": configurable, "metadata": {GRAPH_ID_KEY: graph.graph_id}}

    def _graph(self, thread_id: str) -> LoadedGraph:
        graph, blocked = self.graphs.for_thread(thread_id)
        if blocked is not None:
            raise ThreadNotClaimed(f"thread {thread_id}: {blocked}")
        return graph

    def _stream(self, job: RunJob, graph: LoadedGraph, run_input: Any, config: dict[str, Any]) -> None:
        def progress(chunk: dict[str, Any]) -> None:
            for node, update in chunk.items():
                label = "review" if node == "__interrupt__" else node
                for line in describe_update(node, update):
                    job.add_event(label, line)

        stream_updates(graph, run_input, config, progress)

    def _server(self, thread_id: str) -> ServerSource | None:
        return self.servers.for_thread(thread_id)

    def read(self, thread_id: str) -> list[PendingInterrupt]:
        """A thread's pending rows as they are now: from its Agent Server, else its checkpoint (re-read if changed).

        Raises ThreadGone when the thread's Agent Server no longer has it (deleted there).
        """
        server = self._server(thread_id)
        if server is not None:
            return server.read(thread_id)
        return self.inbox.read(thread_id)

    def _state(self, thread_id: str) -> tuple[list[PendingInterrupt], tuple[str, ...], str | None]:
        """Pending rows, next tasks and head checkpoint id, read fresh from the checkpoint (or the server)."""
        server = self._server(thread_id)
        if server is not None:
            try:
                return server.read_full(thread_id)
            except ThreadGone:
                return [], (), None
        return self.inbox.read_full(thread_id)

    def _end(
        self,
        job: RunJob,
        token: str,
        error: BaseException | None,
        *,
        then_continue: bool = False,
        state: tuple[list[PendingInterrupt], tuple[str, ...], str | None] | None = None,
    ) -> list[PendingInterrupt]:
        """Read where the run left the thread and end the lease: clean, or left to recovery if cut short.

        `then_continue` (recovery): a thread found cut short after its claims were finished is
        continued right away, under the same lease, instead of waiting for the next sweep.
        `state`: the thread as the caller read it after the run, under this lease (nothing can have
        written it since: the lease fences every other writer), so it is not decoded a second time.
        """
        thread_id = job.thread_id
        try:
            rows, next_tasks, _head = state if state is not None else self._state(thread_id)
        except Exception as exc:  # cannot even read: the lease expires, recovery looks again
            log.warning("cannot read thread %s after its run: %s", thread_id, exc)
            self.leases.release(thread_id, token, state="cut_short", error=f"{type(exc).__name__}: {exc}")
            return []
        # A server thread with tasks and nothing pending is the server's run to finish, not ours to continue.
        cut_short = bool(next_tasks) and not rows and self._server(thread_id) is None
        if not cut_short:
            self.leases.release(thread_id, token)
            job.add_event("end", _ending(rows))
            return rows
        if error is None and then_continue:
            return self._continue(job, token, None).new_pending
        if error is not None and not isinstance(error, self.storage.transient):
            # The graph itself raised (a node's bug): continuing would raise again. Show it, do not loop.
            self.leases.release(thread_id, token, state="failed", error=f"{type(error).__name__}: {error}")
        else:
            text = f"{type(error).__name__}: {error}" if error is not None else "the run stopped with tasks left"
            self.leases.release(thread_id, token, state="cut_short", error=text)
        job.add_event("end", "run interrupted: recovery continues it")
        return rows

    def _start(self, job: RunJob, graph: LoadedGraph, run_input: dict[str, Any]) -> ThreadOutcome:
        outcome = ThreadOutcome(job.thread_id)
        token = self.leases.acquire(job.thread_id, "start")
        if token is None:
            raise StoreError("timed out waiting for the thread's lease")
        job.add_event("start", "run started")
        error = self._run(job, graph, token, run_input, outcome)
        if outcome.error == TAKEN_OVER:
            return outcome
        outcome.new_pending = self._end(job, token, error)
        if error is not None:
            raise error
        return outcome

    def _resume(self, job: RunJob, batch_id: str) -> ThreadOutcome:
        try:
            token = self.leases.acquire(job.thread_id, "resume")
        except StoreError as exc:
            # The store failed before anything was sent (connection lost, locked): the claims are recorded,
            # so they are not lost; hand them to recovery and say so.
            outcome = ThreadOutcome(job.thread_id, error=f"not applied yet: {exc}; recovery applies these")
            with contextlib.suppress(StoreError):
                self._hand_over(self.storage.claims(job.thread_id, self.leases.owner, batch_id), outcome)
            return outcome
        if token is None:
            outcome = ThreadOutcome(job.thread_id)
            claims = self.storage.claims(job.thread_id, self.leases.owner, batch_id)
            outcome.unknown = [c.row_id for c in claims]
            outcome.error = "timed out waiting for another run of this thread to finish; recovery applies these"
            return outcome
        claims = self.storage.claims(job.thread_id, self.leases.owner, batch_id)
        return self._apply(job, token, claims)

    def _recover(self, job: RunJob, token: str, claims: list[Claim], continued_from: str | None) -> ThreadOutcome:
        if self._server(job.thread_id) is not None:
            if claims:
                job.add_event("recover", f"finishing {_plural(len(claims), 'decision')} left by a stopped process")
                return self._apply(job, token, claims, recovering=True)
            self.leases.release(job.thread_id, token)  # the server runs its own runs to the end
            return ThreadOutcome(job.thread_id)
        _, blocked = self.graphs.for_thread(job.thread_id)
        if blocked is not None:  # never resumed by a graph that does not own it
            self.leases.release(job.thread_id, token, state="failed", error=blocked)
            return ThreadOutcome(job.thread_id, error=blocked)
        if claims:
            job.add_event("recover", f"finishing {_plural(len(claims), 'decision')} left by a stopped process")
            return self._apply(job, token, claims, recovering=True)
        return self._continue(job, token, continued_from)

    def _continue(self, job: RunJob, token: str, continued_from: str | None) -> ThreadOutcome:
        """Continue a run that was cut short (tasks to run, nothing pending), once per cut point.

        `continued_from` is the head an earlier continuation of this thread started from: finding the
        thread still there means that continuation got nowhere (it was killed, or hangs), so stop.
        """
        outcome = ThreadOutcome(job.thread_id)
        rows, next_tasks, head = self._state(job.thread_id)
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
        error = self._run(job, self._graph(job.thread_id), token, None, outcome)
        if outcome.error == TAKEN_OVER:
            return outcome
        if error is not None:
            outcome.error = f"run failed: {type(error).__name__}: {error}"
        outcome.new_pending = self._end(job, token, error)
        return outcome

    def _run(
        self, job: RunJob, graph: LoadedGraph, token: str, run_input: Any, outcome: ThreadOutcome
    ) -> BaseException | None:
        """Stream a start or a continuation; the error it raised, if any. A lost lease ends it here."""
        try:
            self._stream(job, graph, run_input, self._config(graph, job.thread_id, token))
        except LeaseLost:
            self.leases.release(job.thread_id, token)
            outcome.error = TAKEN_OVER
        except Exception as exc:
            return exc
        return None

    def _apply(self, job: RunJob, token: str, claims: list[Claim], *, recovering: bool = False) -> ThreadOutcome:
        """Apply claimed decisions of one thread under its lease `token`, recording what the checkpoint shows."""
        thread_id = job.thread_id
        outcome = ThreadOutcome(thread_id)
        try:
            before, _, head_before = self._state(thread_id)
        except Exception:
            self._hand_over(claims, outcome)
            self.leases.release(thread_id, token, state="cut_short", error="cannot read the thread")
            raise
        pending = {row.row_id for row in before}
        # Rows no longer pending were answered already: by a run of this claim that died after answering
        # (recovery), or by a client outside the console. Never send them again.
        gone = [c for c in claims if c.row_id not in pending]
        delivered = self._delivered(thread_id, gone)
        self._record(outcome, [c for c in gone if c.attempt_id in delivered], "applied")
        self._record(
            outcome,
            [c for c in gone if c.attempt_id not in delivered],
            "failed",
            "no longer pending when applied: answered outside the console",
        )
        sendable = [c for c in claims if c.row_id in pending]
        incomplete = set(incomplete_requests([c.row_id for c in sendable], pending))
        self._record(
            outcome,
            [c for c in sendable if c.row_id in incomplete],
            "failed",
            "not applied: a batched request needs every action decided",
        )
        to_send = [c for c in sendable if c.row_id not in incomplete]
        if not to_send:
            outcome.new_pending = self._end(job, token, None, then_continue=recovering)
            return outcome
        rerun = {c.attempt_id for c in to_send if c.resume_started}  # its tool may have run before a crash
        job.add_event("resume", f"resuming with {_plural(len(to_send), 'decision')}")
        self.storage.mark_resume_started([c.attempt_id for c in to_send], now_iso())
        error: BaseException | None = None
        server = self._server(thread_id)
        try:
            values = {c.row_id: json.loads(c.resume_json) for c in to_send}
            by_row = {row.row_id: row for row in before}
            if server is not None:
                self._send(job, server, resume_map(values))
            elif any(is_breakpoint(by_row[c.row_id]) for c in to_send):
                # A static breakpoint: no interrupt to answer. The decisions edit the state, then the run goes on.
                graph = self._graph(thread_id)
                config = self._config(graph, thread_id, token)
                decided = [BreakpointDecision(by_row[c.row_id], values[c.row_id]) for c in to_send]
                if apply_breakpoint(graph.graph, config, decided):
                    self._stream(job, graph, None, config)
            else:
                graph = self._graph(thread_id)
                self._stream(
                    job, graph, Command(resume=resume_map(values)), self._config(graph, thread_id, token, strict=True)
                )
        except LeaseLost:
            # Recovery took the thread over while this process was paused: the rows are its to finish.
            outcome.taken_over = [c.row_id for c in to_send]
            outcome.error = TAKEN_OVER
            self.leases.release(thread_id, token)
            return outcome
        except RunRefused as exc:  # another client's run is on: nothing was started, someone else answered
            self._record(outcome, to_send, "failed", f"conflict: {exc}")
            outcome.conflicts += [
                Conflict(thread_id, c.row_id, "another client of the Agent Server", now_iso(), "resume")
                for c in to_send
            ]
            outcome.failed.clear()
            outcome.new_pending = self._end(job, token, None)
            return outcome
        except ThreadGone as exc:
            self._record(outcome, to_send, "failed", f"not applied: {exc}")
            outcome.error = f"not applied: {exc}"
            self.leases.release(thread_id, token)
            return outcome
        except BreakpointRefused as exc:  # the graph would have run a rejected call: it was not continued
            self._record(outcome, to_send, "failed", f"not applied: {exc}")
            outcome.error = f"not applied: {exc}"
            self.leases.release(thread_id, token)
            return outcome
        except UnknownInterruptError as exc:  # strict resume refused before anything was written
            self._record(outcome, to_send, "failed", f"not applied: {exc}")
            outcome.error = f"not applied: {exc}"
            outcome.new_pending = self._end(job, token, None)
            return outcome
        except Exception as exc:
            error = exc
        # What happened is what the checkpoint shows: a row whose interrupt is no longer pending was answered.
        try:
            state_after = self._state(thread_id)
            after = state_after[0]
        except Exception as exc:
            log.warning("cannot read thread %s after its resume: %s", thread_id, exc)
            self._hand_over(to_send, outcome)
            outcome.error = f"run failed: {type(error or exc).__name__}: {error or exc}"
            self.leases.release(thread_id, token, state="cut_short", error=outcome.error)
            return outcome
        still = {row.row_id for row in after}
        answered = [c for c in to_send if c.row_id not in still]
        self._record(outcome, [c for c in answered if c.attempt_id not in rerun], "applied")
        self._record(outcome, [c for c in answered if c.attempt_id in rerun], "applied", rerun=True)
        if server is None:  # before the lease ends: an open Inbox redraws on that, and must see the verdicts
            applied = set(outcome.applied)
            self._verify(outcome, thread_id, [c for c in answered if c.row_id in applied], before, after, head_before)
        unanswered = [c for c in to_send if c.row_id in still]
        if error is not None:
            outcome.error = f"run failed: {type(error).__name__}: {error}"
            log.info("resume of thread %s failed", thread_id, exc_info=error)  # the traceback, for --verbose
            retry = [c for c in unanswered if isinstance(error, self.storage.transient) and c.tries + 1 < MAX_TRIES]
            self._hand_over(retry, outcome)
            self._record(outcome, [c for c in unanswered if c not in retry], "failed", outcome.error)
        else:
            self._record(outcome, unanswered, "failed", "not applied: the interrupt is still pending after the resume")
        rows = self._end(job, token, error, then_continue=recovering, state=state_after)
        outcome.new_pending = [row for row in rows if row.row_id not in pending]
        if recovering:
            log.info("recovered thread %s: %s applied", thread_id, len(outcome.applied))
        return outcome

    def _verify(
        self,
        outcome: ThreadOutcome,
        thread_id: str,
        claims: list[Claim],
        before: list[PendingInterrupt],
        after: list[PendingInterrupt],
        head_before: str | None,
    ) -> None:
        """Whether the graph honoured each answered decision, read from its checkpoint; never fails the run."""
        if not claims:
            return
        graph = self._graph(thread_id).graph
        verdicts = read_verdicts(graph, self.storage.saver, thread_id, claims, before, after, head_before)
        outcome.verdicts.update(verdicts)
        try:
            self.storage.record_verdicts({c.attempt_id: verdicts[c.row_id] for c in claims if c.row_id in verdicts})
        except StoreError as exc:
            log.warning("cannot record %d outcome check(s): %s", len(verdicts), exc)

    def _record(
        self,
        outcome: ThreadOutcome,
        claims: Sequence[Claim],
        status: str,
        error: str | None = None,
        *,
        rerun: bool = False,
    ) -> None:
        """Record the outcome of claims in the log and in `outcome`; one the store refuses goes to recovery."""
        if not claims:
            return
        try:
            self.storage.finish(
                [c.attempt_id for c in claims], self.leases.owner, status=status, error=error, at=now_iso(), rerun=rerun
            )
        except StoreError as exc:
            log.warning("cannot record %d outcome(s): %s", len(claims), exc)
            self._hand_over(claims, outcome)
            return
        if status == "applied":
            outcome.applied += [c.row_id for c in claims]
            if rerun:
                outcome.rerun += [c.row_id for c in claims]
        else:
            outcome.failed.update({c.row_id: error or status for c in claims})

    def _hand_over(self, claims: Sequence[Claim], outcome: ThreadOutcome) -> None:
        """Leave claims whose outcome is not known here to recovery (it reads the checkpoint again)."""
        if not claims:
            return
        outcome.unknown += [c.row_id for c in claims if c.row_id not in outcome.unknown]
        try:
            self.storage.release_claims([c.attempt_id for c in claims], self.leases.owner)
        except StoreError as exc:  # still ours: this process's recovery sweep finds them when idle
            log.warning("cannot hand %d claim(s) to recovery: %s", len(claims), exc)

    def _send(self, job: RunJob, server: ServerSource, resume: dict[str, Any]) -> None:
        """Resume a server thread with one run, its progress into the job; its tools get their idempotency keys."""

        def progress(chunk: dict[str, Any]) -> None:
            for node, update in chunk.items():
                label = "review" if node == "__interrupt__" else node
                for line in describe_update(node, update):
                    job.add_event(label, line)

        keys = idempotency_keys(job.thread_id, self.storage.decision_keys(job.thread_id))
        server.resume(job.thread_id, resume, progress, configurable={IDEMPOTENCY_KEYS: keys})

    def _delivered(self, thread_id: str, claims: Sequence[Claim]) -> set[int]:
        """Attempts whose recorded decision the checkpoint shows delivered to their task.

        A run that resumed with a claim and was killed before the superstep ended leaves the
        finished tasks' writes behind: those rows are no longer pending, yet they were applied by
        this claim, not answered by someone else. The task that raised an interrupt (matched by
        interrupt id, or by tool call id when the same task has asked again since) keeps the resume
        value it received in its `__resume__` write, saved with its result. A batched request's
        parts are compared as the one `{"decisions": [...]}` value they were sent as.
        """
        if not claims:
            return set()
        if self._server(thread_id) is not None or any(c.interrupt_id.startswith(BREAKPOINT_ID) for c in claims):
            # The server's checkpoints are not ours to read, and a breakpoint's decision leaves no __resume__
            # write: a resume this claim started counts as delivered.
            return {c.attempt_id for c in claims if c.resume_started}
        values = resume_map({c.row_id: json.loads(c.resume_json) for c in claims})
        found: set[str] = set()
        wanted = {c.interrupt_id for c in claims}
        for saved in self.storage.saver.list({"configurable": {"thread_id": thread_id, "checkpoint_ns": ""}}):
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
            for claim in claims:
                keys = {k for k in (claim.interrupt_id, claim.tool_call_id) if k}
                expected = values.get(claim.interrupt_id)
                if any(keys & raised.get(task, set()) and expected in got for task, got in received.items()):
                    found.add(claim.interrupt_id)
            if found >= wanted:
                break
        return {c.attempt_id for c in claims if c.interrupt_id in found}


class ThreadNotClaimed(RuntimeError):
    """No loaded graph claims the thread: it is never resumed by another graph."""


def stream_updates(
    graph: LoadedGraph, run_input: Any, config: dict[str, Any], on_chunk: Callable[[dict[str, Any]], None]
) -> None:
    """Run `graph` with `stream_mode="updates"` and synchronous checkpoints, handing each chunk to `on_chunk`.

    An async-only graph (a node with no sync function) is driven by an event loop of this worker
    thread; its saver's async methods run the same fenced writes.
    """
    kwargs: dict[str, Any] = {"stream_mode": "updates", "durability": "sync"}
    if not graph.is_async_only:
        for chunk in graph.graph.stream(run_input, config, **kwargs):
            on_chunk(chunk)
        return

    async def run() -> None:
        async for chunk in graph.graph.astream(run_input, config, **kwargs):
            on_chunk(chunk)

    asyncio.run(run())


def _ending(pending: list[PendingInterrupt]) -> str:
    if pending:
        return f"paused: {_plural(len(pending), 'interrupt')} waiting for review"
    return "finished"
