"""Status comes from the checkpoint: what a run left pending, recorded in the decision log, and its lease ended.

After a run, each claim's outcome is read from the thread's state (was its interrupt answered?), never
inferred from an exception; an outcome the store refuses to record is handed to recovery. Ending a run
releases its lease clean, or leaves the thread to recovery when the run was cut short (tasks to run,
nothing pending, on a source whose cut-short runs this console continues).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from review.contract import PendingInterrupt, ThreadOutcome
from review.leases import Leases, now_iso
from review.progress import RunJob
from review.sources import Source, ThreadGone, ThreadState
from review.storage import Claim, Finish, Storage, StoreError

log = logging.getLogger(__name__)

TAKEN_OVER = "taken over by recovery: this process lost the thread's lease"
MAX_TRIES = 3  # resumes that may carry one decision before a storage fault counts as a failure


def plural(count: int, word: str) -> str:
    """ "1 decision", "2 decisions"."""
    return f"{count} {word}{'' if count == 1 else 's'}"


def ending(pending: Sequence[PendingInterrupt]) -> str:
    """The last progress line of a run."""
    if pending:
        return f"paused: {plural(len(pending), 'interrupt')} waiting for review"
    return "finished"


def read_state(source: Source, thread_id: str) -> ThreadState:
    """Pending rows, next tasks and head checkpoint id, read fresh; a thread its server no longer has is empty."""
    try:
        return source.read_full(thread_id)
    except ThreadGone:
        return [], (), None


def read_head(source: Source, thread_id: str) -> tuple[list[PendingInterrupt], str | None]:
    """Pending rows and head checkpoint id as they are now; a thread its server no longer has is empty."""
    try:
        return source.read_head(thread_id)
    except ThreadGone:
        return [], None


class Outcomes:
    """Records claims' outcomes in the log (and the run's `ThreadOutcome`) and ends runs' leases."""

    def __init__(self, storage: Storage, leases: Leases) -> None:
        self.storage = storage
        self.leases = leases

    def record(
        self,
        outcome: ThreadOutcome,
        claims: Sequence[Claim],
        status: str,
        error: str | None = None,
        *,
        rerun: bool = False,
        verdicts: Mapping[str, str] | None = None,
    ) -> None:
        """Record the outcome of claims in the log and in `outcome`; one the store refuses goes to recovery.

        `verdicts` (row id -> outcome check, see `check`) are recorded with it, in the same transaction.
        """
        if not claims:
            return
        finish, checks = self._finish(claims, status, error, rerun, verdicts)
        try:
            self.storage.finish(
                finish.attempt_ids,
                finish.owner,
                status=status,
                error=error,
                at=finish.at,
                rerun=rerun,
                verdicts=finish.verdicts,
            )
        except StoreError as exc:
            log.warning("cannot record %d outcome(s): %s", len(claims), exc)
            self.hand_over(claims, outcome)
            return
        self._note(outcome, claims, status, error, rerun, checks)

    def _finish(
        self, claims: Sequence[Claim], status: str, error: str | None, rerun: bool, verdicts: Mapping[str, str] | None
    ) -> tuple[Finish, dict[str, str]]:
        """What `record` asks the store to record, and the verdicts of these claims by row id."""
        checks = {c.row_id: verdicts[c.row_id] for c in claims if verdicts and c.row_id in verdicts}
        by_attempt = {c.attempt_id: checks[c.row_id] for c in claims if c.row_id in checks}
        attempt_ids = [c.attempt_id for c in claims]
        return Finish(attempt_ids, self.leases.owner, status, error, now_iso(), rerun, by_attempt), checks

    @staticmethod
    def _note(
        outcome: ThreadOutcome,
        claims: Sequence[Claim],
        status: str,
        error: str | None,
        rerun: bool,
        checks: Mapping[str, str],
    ) -> None:
        """Claims' recorded outcome, in the run's `ThreadOutcome`."""
        if status == "applied":
            outcome.applied += [c.row_id for c in claims]
            if rerun:
                outcome.rerun += [c.row_id for c in claims]
        else:
            outcome.failed.update({c.row_id: error or status for c in claims})
        outcome.verdicts.update(checks)

    def hand_over(self, claims: Sequence[Claim], outcome: ThreadOutcome) -> None:
        """Leave claims whose outcome is not known here to recovery (it reads the checkpoint again)."""
        if not claims:
            return
        outcome.unknown += [c.row_id for c in claims if c.row_id not in outcome.unknown]
        try:
            self.storage.release_claims([c.attempt_id for c in claims], self.leases.owner)
        except StoreError as exc:  # still ours: this process's recovery sweep finds them when idle
            log.warning("cannot hand %d claim(s) to recovery: %s", len(claims), exc)

    def check(
        self,
        source: Source,
        thread_id: str,
        claims: Sequence[Claim],
        before: list[PendingInterrupt],
        after: list[PendingInterrupt],
        head_before: str | None,
    ) -> dict[str, str]:
        """Whether the graph honoured each answered decision, as its source reads it (row id -> verdict); never
        fails the run: a check that cannot be made leaves its rows without a verdict. `record` stores them."""
        if not claims:
            return {}
        try:
            return source.verdicts(thread_id, claims, before, after, head_before)
        except Exception as exc:
            log.warning("cannot check the outcome of thread %s: %s", thread_id, exc)
            return {}

    def end(
        self,
        job: RunJob,
        source: Source,
        token: str,
        error: BaseException | None,
        *,
        then_continue: bool = False,
        state: ThreadState | None = None,
        applied: Applied | None = None,
    ) -> list[PendingInterrupt] | None:
        """Read where the run left the thread and end the lease: clean, or left to recovery if cut short.

        None: the thread was cut short and `then_continue` (recovery) asks to continue it right away,
        under the same lease (still held), instead of waiting for the next sweep.
        `state`: the thread as the caller read it after the run, under this lease (nothing can have
        written it since: the lease fences every other writer), so it is not decoded a second time.
        `applied`: claims the run answered, not recorded yet: recorded "applied" (`record`) first; when the run
        ended cleanly, in the very transaction that drops the lease.
        """
        thread_id = job.thread_id
        try:
            rows, next_tasks, _head = state if state is not None else read_state(source, thread_id)
        except Exception as exc:  # cannot even read: the lease expires, recovery looks again
            log.warning("cannot read thread %s after its run: %s", thread_id, exc)
            if applied is not None:
                self.record(applied.outcome, applied.claims, "applied", verdicts=applied.verdicts)
            self.leases.release(thread_id, token, state="cut_short", error=f"{type(exc).__name__}: {exc}")
            return []
        # A source that runs its own runs (a server) finishes a thread with tasks and nothing pending by itself.
        cut_short = bool(next_tasks) and not rows and source.continues_runs
        if not cut_short:
            self._release(thread_id, token, applied)
            job.add_event("end", ending(rows))
            return rows
        if applied is not None:
            self.record(applied.outcome, applied.claims, "applied", verdicts=applied.verdicts)
        if error is None and then_continue:
            return None
        if error is not None and not isinstance(error, self.storage.transient):
            # The graph itself raised (a node's bug): continuing would raise again. Show it, do not loop.
            self.leases.release(thread_id, token, state="failed", error=f"{type(error).__name__}: {error}")
        else:
            text = f"{type(error).__name__}: {error}" if error is not None else "the run stopped with tasks left"
            self.leases.release(thread_id, token, state="cut_short", error=text)
        job.add_event("end", "run interrupted: recovery continues it")
        return rows

    def _release(self, thread_id: str, token: str, applied: Applied | None) -> None:
        """End a clean run's lease; with the `applied` claims' record in the same transaction when there are some."""
        if applied is None or not applied.claims:
            self.leases.release(thread_id, token)
            return
        outcome, claims, verdicts = applied.outcome, applied.claims, applied.verdicts
        finish, checks = self._finish(claims, "applied", None, False, verdicts)
        if self.leases.release(
            thread_id,
            token,
            finish=finish,
            unfinished=lambda: self.record(outcome, claims, "applied", verdicts=verdicts),
        ):
            self._note(outcome, claims, "applied", None, False, checks)


@dataclass(frozen=True)
class Applied:
    """Claims a run answered whose "applied" the end of its lease records (`Outcomes.end`): the run's outcome, the
    claims, their verdicts by row id."""

    outcome: ThreadOutcome
    claims: Sequence[Claim]
    verdicts: Mapping[str, str]
