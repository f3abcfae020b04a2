"""The records the review core and `Storage` (review/storage/sql.py) exchange, and the fencing every saver shares
(`FencedWrites`: a run's checkpoint write is refused unless its lease token still holds the thread's lease)."""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator, Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

ChangeToken = tuple[int, int]

# The run config key that carries a run's lease token down to the fenced saver.
LEASE_TOKEN_KEY = "__review_lease_token"  # "__": LangGraph keeps it out of checkpoint metadata

# The log's columns of a waiting co-sign, in the order `Signature.from_columns` takes them (review/cosign.py).
SIGNATURE_COLUMNS = (
    "attempt_id, thread_id, row_id, identity, reviewer, decision_type, resume_json, proposal, args_after"
)


def _awaited(name: str) -> Any:
    async def method(self: Any, *args: Any, **kwargs: Any) -> Any:
        return getattr(self, name)(*args, **kwargs)

    return method


class FencedWrites:
    """The part of a fenced saver both backends share: each write names the thread and lease token it is fenced by
    (`fence_target()`, per OS thread), which the backend's write transaction checks. With a token (LEASE_TOKEN_KEY) it
    commits only if the thread's lease row still has that token, else nothing is written and `LeaseLost` is raised (a
    process paused past its lease cannot write after recovery took over); without one (a tool script) it is refused
    while another owner's lease is live. The async methods are the sync ones: an `async def` graph runs on an event
    loop of the console's own worker thread, which a write may block."""

    aget_tuple = _awaited("get_tuple")
    aput = _awaited("put")
    aput_writes = _awaited("put_writes")
    adelete_thread = _awaited("delete_thread")

    async def alist(self, config: Any, **kwargs: Any) -> AsyncIterator[Any]:
        """The sync listing, as an async iterator."""
        for item in self.list(config, **kwargs):  # type: ignore[attr-defined]
            yield item

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._fence = threading.local()

    def fence_target(self) -> tuple[str, str | None] | None:
        """(thread id, lease token) of the write under way on this OS thread; None for a read."""
        return getattr(self._fence, "target", None)

    @contextmanager
    def _fenced(self, config: Any) -> Iterator[None]:
        configurable = config.get("configurable") or {}
        self._fence.target = (str(configurable.get("thread_id")), configurable.get(LEASE_TOKEN_KEY))
        try:
            yield
        finally:
            self._fence.target = None

    def put(self, config: Any, checkpoint: Any, metadata: Any, new_versions: Any) -> Any:
        """LangGraph's checkpoint write, fenced by the config's thread and lease token."""
        with self._fenced(config):
            return super().put(config, checkpoint, metadata, new_versions)  # type: ignore[misc]

    def put_writes(self, config: Any, writes: Sequence[tuple[str, Any]], task_id: str, task_path: str = "") -> None:
        """LangGraph's pending writes, fenced like `put`."""
        with self._fenced(config):
            super().put_writes(config, writes, task_id, task_path)  # type: ignore[misc]

    def delete_thread(self, thread_id: str) -> None:
        """LangGraph's thread delete, refused while another owner's lease is live."""
        with self._fenced({"configurable": {"thread_id": thread_id}}):
            super().delete_thread(thread_id)  # type: ignore[misc]


class StoreError(RuntimeError):
    """The store cannot be used (missing, unreadable, full, locked...); the message says why and where."""


class LeaseLost(RuntimeError):
    """A write was refused: the run's lease was taken over (its owner paused past the lease, or lost it)."""


@dataclass(frozen=True)
class Holder:
    """Who holds a row: the decision that claimed it (still applying) or applied it."""

    row_id: str
    reviewer: str
    decided_at: str
    decision_type: str
    status: str


@dataclass(frozen=True)
class NewDecision:
    """A validated decision about to be claimed: one attempt in the append-only log."""

    thread_id: str
    row_id: str  # the inbox row (differs from interrupt_id only for a batched request's parts)
    interrupt_id: str  # LangGraph's interrupt id
    tool: str | None
    tool_call_id: str | None
    decision_type: str
    resume_json: str
    args_before: str | None
    args_after: str | None
    message: str | None
    reviewer: str  # the name shown
    warning: str | None = None  # the unsafe-layout warning a forced decision was sent despite
    raised_at: str | None = None  # when the interrupt was raised: the log shows how long it waited
    identity: str = ""  # who the policy checked (defaults to the name)
    issuer: str | None = None
    verification: str = "unverified"
    approvals: int = 1  # approvers the policy requires before it may run (four eyes: 2)
    channel: str = "console"  # where it was decided: console | link | cli | rule | api

    def __post_init__(self) -> None:
        if not self.identity:
            object.__setattr__(self, "identity", self.reviewer)


@dataclass(frozen=True)
class Claim:
    """A claimed attempt: recorded, not yet known to be applied."""

    attempt_id: int
    thread_id: str
    row_id: str
    interrupt_id: str
    tool_call_id: str | None
    resume_json: str
    owner: str
    lease_until: float
    resume_started: bool  # a resume carrying it began: its tool may have run before a crash
    tries: int


@dataclass(frozen=True)
class LeaseRow:
    """A thread's lease, which is also its run record: present while a run is on, or was cut short."""

    thread_id: str
    owner: str  # '' once released to recovery
    token: str
    lease_until: float
    kind: str  # start | resume | recover | continue
    state: str  # running | cut_short | failed
    since: str
    checkpoint_id: str | None  # head checkpoint when cut short / continued
    error: str | None
    tries: int


@dataclass(frozen=True)
class Finish:
    """`Storage.finish`'s arguments, for a `Storage.end_lease` that records them in the lease's last transaction."""

    attempt_ids: Sequence[int]
    owner: str
    status: str
    error: str | None
    at: str
    rerun: bool = False
    verdicts: Mapping[int, str] | None = None


MayTake = Callable[[LeaseRow], bool]  # may a lease held by another owner be taken (it looks abandoned)?


@dataclass(frozen=True)
class Changes:
    """Threads whose head moved since a change-feed position, read in one snapshot."""

    changed: list[tuple[str, int]]  # (thread_id, seq)
    paused: set[str]  # of those, the ones whose head checkpoint carries an interrupt write
    top: int  # the feed position after these changes
    generation: int  # bumped whenever the feed's triggers were (re)installed: a gap is possible
    # The paused ones' head checkpoints and writes, if read in the same statement (PostgreSQL); None: ask `head_writes`.
    heads: dict[str, HeadWrites] | None = None


@dataclass(frozen=True)
class TaskWrite:
    """One pending write of a thread's head checkpoint. `value`, the serialized `(type, bytes)` pair, is given only for
    `__interrupt__` writes (what the listing decodes): of any other, that a task wrote it is all that matters."""

    task_id: str
    task_path: str  # LangGraph's task path, e.g. "~__pregel_push, 0000000001, 0000000000" ('' if not saved)
    channel: str
    value: tuple[str, bytes] | None = None


@dataclass(frozen=True)
class CheckpointWrite:
    """A pending write of one of a thread's root checkpoints, its value still serialized (`(type, bytes)`)."""

    checkpoint_id: str
    task_id: str
    channel: str
    value: tuple[str, bytes]


@dataclass(frozen=True)
class HeadWrites:
    """A thread's latest root checkpoint as the listing needs it: its id, time, and pending writes."""

    thread_id: str
    checkpoint_id: str
    created_at: str | None  # the checkpoint's `ts` (what `get_state().created_at` returns); None if unreadable
    writes: list[TaskWrite] = field(default_factory=list)
    graph_id: str | None = None  # the graph its checkpoints name (read in the same snapshot)


@dataclass(frozen=True)
class ThreadStart:
    """A thread's first root checkpoint: when it began and the writes of its input (its request)."""

    thread_id: str
    checkpoint_id: str
    created_at: str | None
    inputs: list[tuple[str, tuple[str, bytes]]] = field(default_factory=list)  # (channel, serialized value)
