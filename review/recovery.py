"""Recovery: finish what a stopped process left, once, under the thread's lease.

Two kinds of leftovers, found with two small queries (claims and leases are short tables):
- decisions claimed but never known to be applied, whose owner is gone, late (its lease expired) or
  released them: taken over with a compare-and-set on their owner, then applied the one way every
  decision is (status read from the checkpoint; re-sent ones marked `rerun`);
- runs cut short (the lease row of a run whose owner is gone or late, or one its owner left as
  cut_short): the thread has tasks to run and nothing pending, so it is continued once.
A live owner is never taken from while its heartbeat runs; a late one may be, because the fenced
saver refuses its writes afterwards. The console runs a sweep when it opens and, in the app, every
few seconds (`Sweeper`).
"""

from __future__ import annotations

import logging
import threading
from collections import defaultdict
from collections.abc import Callable

from review.contract import ThreadOutcome
from review.leases import Leases
from review.runner import RunJob, Runner
from review.storage import Claim, LeaseRow, Storage, StoreError

log = logging.getLogger(__name__)


class Recovery:
    """One sweep over the store's leftovers; `sweep()` starts a recovery job per thread it took."""

    def __init__(self, storage: Storage, runner: Runner, leases: Leases) -> None:
        self.storage = storage
        self.runner = runner
        self.leases = leases

    def _claim_abandoned(self, claim: Claim) -> bool:
        if claim.owner == self.leases.owner:
            # Ours, but no job of this process holds it (its outcome could not be recorded): finish it.
            return not self.runner.is_active(claim.thread_id)
        return self.leases.abandoned(claim.owner, claim.lease_until)

    def _run_abandoned(self, row: LeaseRow) -> bool:
        if row.state == "failed" or row.owner == self.leases.owner or self.runner.is_active(row.thread_id):
            return False
        return row.state == "cut_short" or self.leases.abandoned(row.owner, row.lease_until)

    def sweep(self) -> list[RunJob]:
        """Take every abandoned thread this process can get and start finishing it; returns the jobs."""
        if self.storage.read_only:
            return []
        claims: defaultdict[str, list[Claim]] = defaultdict(list)
        for claim in self.storage.abandoned_claims(lambda owner, until: True):
            if self._claim_abandoned(claim):
                claims[claim.thread_id].append(claim)
        runs = {row.thread_id: row for row in self.storage.leases() if self._run_abandoned(row)}
        jobs = []
        for thread_id in sorted(set(claims) | set(runs)):
            job = self._take(thread_id, claims.get(thread_id, []), runs.get(thread_id))
            if job is not None:
                jobs.append(job)
        return jobs

    def _take(self, thread_id: str, claims: list[Claim], run: LeaseRow | None) -> RunJob | None:
        if run is not None:
            token = self.leases.take_over(run, "recover")
        else:
            token = self.leases.acquire(thread_id, "recover", wait=0)  # a live owner's lease: not now
        if token is None:
            return None
        try:
            taken = self.storage.take_over_claims(claims, self.leases.owner, self.leases.until()) if claims else []
        except BaseException:
            self.leases.release(thread_id, token)
            raise
        if claims and not taken and run is None:
            self.leases.release(thread_id, token)  # someone else was faster
            return None
        continued_from = run.checkpoint_id if run is not None else None
        log.info("recovering thread %s: %d claim(s), run %s", thread_id, len(taken), run.state if run else "-")
        return self.runner.recover(thread_id, token, taken, continued_from)

    def run_once(self, timeout: float | None = None) -> list[ThreadOutcome]:
        """A sweep whose jobs are waited for (the CLI and `ReviewConsole.open`)."""
        outcomes = []
        for job in self.sweep():
            try:
                outcomes.append(job.result(timeout))
            except Exception as exc:  # one thread's failure must not hide the others'
                outcomes.append(ThreadOutcome(job.thread_id, error=f"{type(exc).__name__}: {exc}"))
        return outcomes


class Sweeper:
    """Runs `Recovery.sweep` every few seconds in a daemon thread (a long-running console)."""

    def __init__(self, sweep: Callable[[], object], seconds: float) -> None:
        self._sweep = sweep
        self._seconds = seconds
        self._stop = threading.Event()
        self.last_error: str | None = None
        self._thread = threading.Thread(target=self._loop, name="review-recovery", daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        while not self._stop.wait(self._seconds):
            try:
                self._sweep()
                self.last_error = None
            except StoreError as exc:
                self.last_error = str(exc)
                log.warning("recovery sweep failed: %s", exc)
            except Exception as exc:  # keep sweeping; say why this round failed
                self.last_error = f"{type(exc).__name__}: {exc}"
                log.exception("recovery sweep failed")

    def stop(self) -> None:
        """Stop sweeping and wait for the current sweep."""
        self._stop.set()
        self._thread.join(timeout=self._seconds + 1)
