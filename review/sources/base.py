"""`Source`: what every place interrupts come from offers the runner, the console and the submit path.

A source lists and reads a thread's pending rows, shows a thread, starts and resumes runs (their
progress streamed into a callback), and says what it can about a run afterwards: whether a decision
was delivered, whether the graph honoured it. The callers never ask which kind of source they hold.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, Protocol

from review.contract import PendingInterrupt

if TYPE_CHECKING:
    from review.storage import Claim
    from review.threads import ThreadView

ThreadState = tuple[list[PendingInterrupt], tuple[str, ...], str | None]  # pending rows, next tasks, head checkpoint
OnChunk = Callable[[dict[str, Any]], None]  # one `updates` stream chunk: {node: update}


class Source(Protocol):
    """Where a thread's interrupts come from and where its resumes go."""

    @property
    def continues_runs(self) -> bool:
        """Recovery may continue a run of this source that was cut short (False: the source runs its own)."""
        ...

    def owns(self, thread_id: str) -> bool:
        """The thread lives here."""
        ...

    def blocked(self, thread_id: str) -> str | None:
        """Why no run may touch the thread from this process (None: it may)."""
        ...

    def read(self, thread_id: str) -> list[PendingInterrupt]:
        """The thread's pending rows as they are now."""
        ...

    def read_full(self, thread_id: str) -> ThreadState:
        """Pending rows, next tasks and head checkpoint id, read fresh (after a run: its status comes from here)."""
        ...

    def read_head(self, thread_id: str) -> tuple[list[PendingInterrupt], str | None]:
        """Pending rows and head checkpoint id as they are now (before a resume: what it answers), served from
        a read of the unchanged thread where the source keeps one."""
        ...

    def view(self, thread_id: str, *, timeline: bool = True) -> ThreadView:
        """The thread as the Thread page and the Inbox's pane show it."""
        ...

    def request(self, thread_id: str) -> str | None:
        """The thread's first human message when this source read it with its rows (None: ask the store)."""
        ...

    def tools(self, graph_id: str | None) -> dict[str, Any]:
        """The tools of a graph whose rows' edits can be checked against their schema here ({}: none known)."""
        ...

    def start(
        self,
        thread_id: str,
        run_input: Any,
        *,
        graph_id: str | None = None,
        token: str,
        keys: dict[str, str],
        on_chunk: OnChunk,
    ) -> None:
        """Run the thread's graph (`graph_id` for a new thread) on `run_input`; None continues where it stopped.

        `token`: the thread's lease (the fenced saver refuses a writer that lost it); `keys`: the tools'
        idempotency keys. Returns when the run pauses or ends; raises what the run raised.
        """
        ...

    def resume(
        self,
        thread_id: str,
        decided: Sequence[tuple[PendingInterrupt, Any]],
        *,
        token: str,
        keys: dict[str, str],
        on_chunk: OnChunk,
    ) -> None:
        """Resume the thread with each pending row's resume value, followed to where the run pauses or ends."""
        ...

    def delivered(self, thread_id: str, claims: Sequence[Claim]) -> set[int]:
        """Attempts (of rows no longer pending) whose decision this source shows delivered to their task."""
        ...

    def verdicts(
        self,
        thread_id: str,
        claims: Sequence[Claim],
        before: Sequence[PendingInterrupt],
        after: Sequence[PendingInterrupt],
        head_before: str | None,
    ) -> dict[str, str]:
        """Whether the graph honoured each answered decision (row id -> verdict); {} when it cannot be read here."""
        ...
