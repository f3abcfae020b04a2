"""Who is applying what: owners, their liveness, and per-thread leases across processes.

Two resumes of one thread at once fork its history and run tools twice, so each thread is
resumed under a lease held in the database (plus an in-process lock for sessions of one
process). A lease names its owner (`host:pid:token`) and lasts until its heartbeat stops; an
owner whose process is gone releases everything at once, so recovery never waits out a lease
of a killed process, and never takes one from a live process that is applying right now.
"""

from __future__ import annotations

import os
import socket
import threading
import time
import uuid
from collections import defaultdict

from review.store import Store

DEFAULT_LEASE_SECONDS = 15.0


def lease_seconds() -> float:
    """How long a lease lives without a heartbeat (REVIEW_LEASE_SECONDS, default 15)."""
    return float(os.environ.get("REVIEW_LEASE_SECONDS") or DEFAULT_LEASE_SECONDS)


def new_owner() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def owner_is_gone(owner: str, me: str) -> bool:
    """True only when we can tell the owner's process has ended (same host, pid not running)."""
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
    """This process's owner identity, its thread leases, and the heartbeat that keeps them alive."""

    def __init__(self, store: Store, seconds: float | None = None) -> None:
        self.store = store
        self.owner = new_owner()
        self.seconds = seconds or lease_seconds()
        self._local = defaultdict(threading.Lock)  # one resume per thread inside this process
        self._local_guard = threading.Lock()
        self._stop = threading.Event()
        self._beat = threading.Thread(target=self._heartbeat, name="review-lease-heartbeat", daemon=True)
        self._beat.start()

    def until(self) -> float:
        return time.time() + self.seconds

    def acquire(self, thread_id: str, *, wait: float = 600.0) -> bool:
        """Hold `thread_id` for this owner; wait up to `wait` seconds (0: try once)."""
        with self._local_guard:
            local = self._local[thread_id]
        got = local.acquire(timeout=wait) if wait > 0 else local.acquire(blocking=False)
        if not got:
            return False
        deadline = time.monotonic() + wait
        while not self._try(thread_id):
            if time.monotonic() >= deadline:
                local.release()
                return False
            time.sleep(0.05)
        return True

    def release(self, thread_id: str) -> None:
        with self.store.transaction() as conn:
            conn.execute("DELETE FROM review_thread_leases WHERE thread_id = ? AND owner = ?", (thread_id, self.owner))
        with self._local_guard:
            local = self._local[thread_id]
        local.release()

    def _try(self, thread_id: str) -> bool:
        with self.store.transaction() as conn:
            row = conn.execute(
                "SELECT owner, lease_until FROM review_thread_leases WHERE thread_id = ?", (thread_id,)
            ).fetchone()
            held_by_other = row and row["owner"] != self.owner and row["lease_until"] > time.time()
            if held_by_other and not owner_is_gone(row["owner"], self.owner):
                return False
            conn.execute(
                "INSERT OR REPLACE INTO review_thread_leases(thread_id, owner, lease_until) VALUES (?, ?, ?)",
                (thread_id, self.owner, self.until()),
            )
            return True

    def _heartbeat(self) -> None:
        while not self._stop.wait(self.seconds / 3):
            try:
                with self.store.transaction() as conn:
                    until = self.until()
                    conn.execute("UPDATE review_thread_leases SET lease_until = ? WHERE owner = ?", (until, self.owner))
                    conn.execute(
                        "UPDATE review_decisions SET lease_until = ? WHERE owner = ? AND status = 'claimed'",
                        (until, self.owner),
                    )
            except Exception:  # a closed store or a busy database: the next beat tries again
                if self._stop.is_set():
                    return

    def stop(self) -> None:
        self._stop.set()
