"""Who is running which thread: owners, their liveness, per-thread leases with fencing tokens.

Two runs of one thread at once fork its history and run tools twice, so every run (start, resume,
recovery) holds the thread's lease: a row (thread, owner, token) in the store, plus an in-process
lock for sessions of one process. The heartbeat keeps the owner's leases and claims alive. A lease
past its time, or one whose owner's process is gone, may be taken over with a NEW token; the old
owner is then refused at its next checkpoint write (the fenced saver checks the token in the same
transaction), so recovery never has to trust that the old owner is dead, only that it is late.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from collections import defaultdict
from collections.abc import Callable
from datetime import UTC, datetime

from review.storage import Claim, Finish, LeaseRow, Storage, StoreError
from review.storage.base import MayTake

log = logging.getLogger(__name__)


def now_iso() -> str:
    """Now, UTC, to the millisecond, as the console's tables store times."""
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def new_owner() -> str:
    """A lease owner id for this process: host, pid and a random part (a restarted pid is a new owner)."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def owner_is_gone(owner: str, me: str) -> bool:
    """True only when we can tell the owner's process has ended (same host, pid not running).

    A stopped process (SIGSTOP, a suspended laptop) is NOT gone: only its lease's expiry tells.
    """
    host, _, rest = owner.partition(":")
    pid_text, _, _token = rest.partition(":")
    if owner == me or host != socket.gethostname() or not pid_text.isdigit():
        return False
    pid = int(pid_text)
    if pid == os.getpid():
        return False  # another console object in this process: only its lease expiry tells
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    try:  # a killed child not yet reaped is a zombie: gone for our purposes
        with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] == "Z"
    except (OSError, IndexError):
        return False


class Leases:
    """This process's owner identity, the leases it holds, and the heartbeat that keeps them alive."""

    def __init__(self, storage: Storage, seconds: float, *, heartbeat: bool = True) -> None:
        self.storage = storage
        self.owner = new_owner()
        self.seconds = seconds
        self._local: defaultdict[str, threading.Lock] = defaultdict(threading.Lock)
        self._guard = threading.Lock()
        self._held: dict[str, str] = {}  # thread_id -> token of the lease this process holds
        self.lost: set[str] = set()  # tokens the heartbeat found taken over
        self.last_error: str | None = None  # the heartbeat's last failure, shown by the console's health
        self._stop = threading.Event()
        self._beat: threading.Thread | None = None
        if heartbeat and not storage.read_only:
            self._beat = threading.Thread(target=self._heartbeat, name="review-lease-heartbeat", daemon=True)
            self._beat.start()

    def until(self) -> float:
        """When a lease taken or renewed now expires (epoch seconds)."""
        return time.time() + self.seconds

    def abandoned(self, owner: str, lease_until: float) -> bool:
        """May recovery take what `owner` holds? Released (''), expired, or its process is gone."""
        if owner == self.owner:
            return False
        return owner == "" or lease_until < time.time() or owner_is_gone(owner, self.owner)

    def token(self, thread_id: str) -> str | None:
        """The token of the lease this process holds on the thread, None when it holds none."""
        with self._guard:
            return self._held.get(thread_id)

    def _lock(self, thread_id: str) -> threading.Lock:
        with self._guard:
            return self._local[thread_id]

    def acquire(self, thread_id: str, kind: str, *, wait: float = 600.0) -> str | None:
        """Hold `thread_id` for this owner; returns the lease token, or None after `wait` seconds (0: once)."""
        return self._acquire(
            thread_id, wait, lambda token: self.storage.acquire_lease(*self._asking(thread_id, kind, token))
        )

    def acquire_for(
        self, thread_id: str, kind: str, batch_id: str, *, wait: float = 600.0
    ) -> tuple[str | None, list[Claim]]:
        """`acquire`, and with the lease the attempts this owner holds claimed in the thread of `batch_id`, read in the
        lease's transaction (`Storage.acquire_lease_and_claims`); no token (timed out): no claims read."""
        claims: list[Claim] = []

        def take(token: str) -> LeaseRow | None:
            blocking, claims[:] = self.storage.acquire_lease_and_claims(*self._asking(thread_id, kind, token), batch_id)
            return blocking

        return self._acquire(thread_id, wait, take), claims

    def _asking(self, thread_id: str, kind: str, token: str) -> tuple[str, str, str, float, str, MayTake, str]:
        """What storage's lease requests take, in their order: this owner asks for `token`, taking a row it may."""
        return (
            thread_id,
            self.owner,
            token,
            self.until(),
            kind,
            lambda row: self.abandoned(row.owner, row.lease_until),
            now_iso(),
        )

    def _acquire(self, thread_id: str, wait: float, take: Callable[[str], LeaseRow | None]) -> str | None:
        local = self._lock(thread_id)
        if not (local.acquire(timeout=wait) if wait > 0 else local.acquire(blocking=False)):
            return None
        token = uuid.uuid4().hex
        deadline = time.monotonic() + wait
        try:
            while take(token) is not None:
                if time.monotonic() >= deadline:
                    local.release()
                    return None
                time.sleep(0.05)
        except BaseException:
            local.release()
            raise
        with self._guard:
            self._held[thread_id] = token
        return token

    def take_over(self, row: LeaseRow, kind: str) -> str | None:
        """Take an abandoned lease if it is still the one found (its token); None if someone was faster."""
        local = self._lock(row.thread_id)
        if not local.acquire(blocking=False):
            return None
        token = uuid.uuid4().hex
        try:
            taken = self.storage.take_over_lease(row, self.owner, token, self.until(), kind, now_iso())
        except BaseException:
            local.release()
            raise
        if not taken:
            local.release()
            return None
        with self._guard:
            self._held[row.thread_id] = token
        return token

    def release(
        self,
        thread_id: str,
        token: str,
        *,
        state: str | None = None,
        checkpoint_id: str | None = None,
        error: str | None = None,
        finish: Finish | None = None,
        unfinished: Callable[[], None] | None = None,
    ) -> bool:
        """End the lease: dropped when the run ended cleanly, else left to recovery as `state`. `finish`: the run's
        claims' outcome, recorded in the same transaction; when the store refuses that, `unfinished()` (which records it
        alone) runs, then the lease ends alone. True when the first try was recorded (with its `finish`)."""
        try:
            if finish is not None:
                try:
                    self.storage.end_lease(
                        thread_id, token, state=state, checkpoint_id=checkpoint_id, error=error, finish=finish
                    )
                    return True
                except StoreError as exc:
                    log.warning("could not record the run's outcome with the lease's end (%s): one at a time", exc)
                    if unfinished is not None:
                        unfinished()
            self.storage.end_lease(thread_id, token, state=state, checkpoint_id=checkpoint_id, error=error)
            return finish is None
        except StoreError as exc:  # the lease expires by itself; recovery then takes it
            log.warning("could not release the lease of thread %s: %s", thread_id, exc)
            return False
        finally:
            with self._guard:
                if self._held.get(thread_id) == token:
                    del self._held[thread_id]
            self._lock(thread_id).release()

    def _heartbeat(self) -> None:
        while not self._stop.wait(self.seconds / 3):
            self.beat()

    def beat(self) -> None:
        """Extend every lease and claim of this owner once (the heartbeat thread calls it)."""
        with self._guard:
            tokens = list(self._held.values())
        try:
            lost = self.storage.heartbeat(self.owner, tokens, self.until())
        except Exception as exc:  # a busy or closed database: say so, the next beat tries again
            if self._stop.is_set():
                return
            self.last_error = f"lease heartbeat failed: {exc}"
            log.warning("%s (leases expire after %.0f s without one)", self.last_error, self.seconds)
            return
        self.last_error = None
        if lost:
            self.lost |= lost
            log.warning("%d lease(s) of %s were taken over by recovery", len(lost), self.owner)

    def stop(self) -> None:
        """Stop the heartbeat: the leases still held expire on their own."""
        self._stop.set()
