"""The local source: graphs this process loads (the demo, `--graph file.py:ATTR`, a langgraph.json) over the
console's own checkpointer.

Rows are read by `review.inbox.Inbox` (skipping unchanged threads); runs stream in the caller's worker
thread with synchronous, fenced checkpoint writes (`durability="sync"`, the lease token in the config);
what a run did is read back from the checkpoint (delivered decisions, verified outcomes).
"""

from __future__ import annotations

import asyncio
import functools
import json
import threading
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

from langgraph.types import Command

from review.breakpoints import ID_PREFIX as BREAKPOINT_ID
from review.breakpoints import BreakpointDecision, is_breakpoint
from review.breakpoints import apply as apply_breakpoint
from review.contract import PendingInterrupt, resume_map
from review.graphs import GRAPH_ID_KEY, GraphSet, LoadedGraph
from review.idempotency import IDEMPOTENCY_KEYS
from review.sources.base import OnChunk, ThreadState
from review.storage import LEASE_TOKEN_KEY
from review.threads import ThreadView, view_thread
from review.verify import DELIVERY_SCAN, WritesReader, read_verdicts

if TYPE_CHECKING:
    from review.inbox import Inbox
    from review.storage import Claim, Storage

STRICT_RESUME = "__pregel_strict_resume"  # langgraph's config key: unknown ids raise, nothing written


class ThreadNotClaimed(RuntimeError):
    """No loaded graph claims the thread: it is never resumed by another graph."""


class LocalSource:
    """Threads of the loaded graphs, in the console's own checkpointer: every thread no server listed."""

    continues_runs = True  # a run cut short here is this console's to continue (recovery)

    def __init__(self, storage: Storage, graphs: GraphSet, inbox: Inbox) -> None:
        self.storage = storage
        self.graphs = graphs
        self.inbox = inbox  # reads pending rows from the checkpoint, skipping unchanged threads
        # Per worker: the state values of the last thread `read_full` decoded, and the thread's seq then. The
        # outcome check after a resume reads the same state (its messages): while the seq has not moved, it is
        # served from here instead of decoded again. One entry per OS thread, replaced by its next read.
        self._last_read = threading.local()
        # The outcome check's one query of the resume's writes (`Storage.resume_writes`) needs only the thread and
        # the head the resume answered, both known when its run ends: it is sent then, on a thread of this pool,
        # while the runner reads the thread's state; the check takes its answer (`_writes_read`).
        self._reads: ThreadPoolExecutor | None = None
        self._reads_lock = threading.Lock()

    # --- reading ---------------------------------------------------------------------------

    def owns(self, thread_id: str) -> bool:
        """Every thread: the local source is where a thread no server listed lives."""
        return True  # the fallback: a thread no server listed is read from the console's checkpointer

    def blocked(self, thread_id: str) -> str | None:
        """Why no loaded graph may run the thread (another graph's thread), else None."""
        return self.graphs.for_thread(thread_id)[1]

    def rows(self, thread_id: str | None = None) -> list[PendingInterrupt]:
        """Every pending row (or one thread's), re-reading only threads that changed."""
        return self.inbox.rows(thread_id)

    def read(self, thread_id: str) -> list[PendingInterrupt]:
        """The thread's pending rows; its checkpoint is decoded only if it changed since the inbox read it."""
        return self.inbox.read(thread_id)

    def read_full(self, thread_id: str) -> ThreadState:
        """Rows, next tasks and head checkpoint, decoded fresh (after a run)."""
        self._last_read.values = None
        return self.inbox.read_full(thread_id, seen=functools.partial(self._keep_values, thread_id))

    def _keep_values(self, thread_id: str, seq: int | None, values: Any) -> None:
        self._last_read.values = (thread_id, seq, values) if seq is not None else None

    def _values_still(self, thread_id: str) -> Any:
        """The values `read_full` last read of the thread on this OS thread, if its seq has not moved since; else
        None. Handed out once."""
        kept, self._last_read.values = getattr(self._last_read, "values", None), None
        if kept is None or kept[0] != thread_id or self.storage.head_seq(thread_id) != kept[1]:
            return None
        return kept[2]

    def read_head(self, thread_id: str) -> tuple[list[PendingInterrupt], str | None]:
        """Rows and head checkpoint; decoded only if the thread changed since the inbox read it. The head is kept
        (per OS thread) for `_read_writes_after` of a resume of it that follows."""
        rows, head = self.inbox.read_head(thread_id)
        self._last_read.head, self._last_read.writes = (thread_id, head), None
        return rows, head

    def _read_writes_after(self, thread_id: str) -> None:
        """A run of the thread just ended (this OS thread read its head before it, `read_head`): send the outcome
        check's query of the writes from that head on now, beside the runner's read of the state."""
        kept, self._last_read.head, self._last_read.writes = getattr(self._last_read, "head", None), None, None
        if kept is None or kept[0] != thread_id or kept[1] is None:
            return
        with self._reads_lock:
            if self._reads is None:
                self._reads = ThreadPoolExecutor(max_workers=2, thread_name_prefix="review-check-read")
            reads = self._reads
        since = kept[1]
        future = reads.submit(self.storage.resume_writes, thread_id, since, checkpoints=DELIVERY_SCAN)
        self._last_read.writes = (thread_id, since, future)

    def _writes_read(self, thread_id: str, since: str | None) -> WritesReader:
        """`Storage.resume_writes`, answered by the query `_read_writes_after` sent for this very read (the same
        thread, head and scan) when there is one. Sent after the run ended, under its lease: nothing can have
        written the thread since, so its answer is the one a query sent now would get. Handed out once."""
        kept, self._last_read.writes = getattr(self._last_read, "writes", None), None
        if kept is None or kept[0] != thread_id or kept[1] != since:
            return self.storage.resume_writes
        sent: Future[Any] = kept[2]
        asked = (thread_id, since, DELIVERY_SCAN)
        storage = self.storage

        def read(thread_id: str, since: str, *, checkpoints: int) -> Sequence[Any]:
            if (thread_id, since, checkpoints) != asked:
                return storage.resume_writes(thread_id, since, checkpoints=checkpoints)
            found: Sequence[Any] = sent.result()
            return found

        return read

    def view(self, thread_id: str, *, timeline: bool = True) -> ThreadView:
        """The thread through its graph; `timeline=False` skips the checkpoint history (the Inbox's pane)."""
        loaded = self.graphs.for_thread(thread_id)[0]
        return view_thread(loaded.graph, self.inbox, thread_id, history=50 if timeline else 0, graph_id=loaded.graph_id)

    def request(self, thread_id: str) -> str | None:
        """None: the store's checkpoints say (`review.threads.read_thread_infos`)."""
        return None  # read from the checkpoints by `review.threads.read_thread_infos`

    def tools(self, graph_id: str | None) -> dict[str, Any]:
        """The loaded graph's tools (an edit is checked against their schema); {} for a graph not loaded here."""
        return self.graphs.get(graph_id).tools if graph_id in self.graphs.ids else {}

    # --- running ---------------------------------------------------------------------------

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
        """Stream the graph (`graph_id`, else the thread's) on `run_input` under the lease `token` (None continues)."""
        graph = self.graphs.get(graph_id) if graph_id is not None else self._graph(thread_id)
        stream_updates(graph, run_input, self._config(graph, thread_id, token, keys), on_chunk)

    def resume(
        self,
        thread_id: str,
        decided: Sequence[tuple[PendingInterrupt, Any]],
        *,
        token: str,
        keys: dict[str, str],
        on_chunk: OnChunk,
    ) -> None:
        """Answer the rows: a static breakpoint's decisions edit the state; interrupts get a strict resume."""
        graph = self._graph(thread_id)
        if any(is_breakpoint(row) for row, _ in decided):
            # A static breakpoint: no interrupt to answer. The decisions edit the state, then the run goes on.
            config = self._config(graph, thread_id, token, keys)
            if apply_breakpoint(graph.graph, config, [BreakpointDecision(row, value) for row, value in decided]):
                stream_updates(graph, None, config, on_chunk)
            self._read_writes_after(thread_id)
            return
        values = resume_map({row.row_id: value for row, value in decided})
        stream_updates(
            graph, Command(resume=values), self._config(graph, thread_id, token, keys, strict=True), on_chunk
        )
        self._read_writes_after(thread_id)

    def _graph(self, thread_id: str) -> LoadedGraph:
        graph, blocked = self.graphs.for_thread(thread_id)
        if blocked is not None:
            raise ThreadNotClaimed(f"thread {thread_id}: {blocked}")
        return graph

    @staticmethod
    def _config(
        graph: LoadedGraph, thread_id: str, token: str, keys: dict[str, str], *, strict: bool = False
    ) -> dict[str, Any]:
        configurable: dict[str, Any] = {"thread_id": thread_id, LEASE_TOKEN_KEY: token, IDEMPOTENCY_KEYS: keys}
        if strict:
            configurable[STRICT_RESUME] = True
        # Every checkpoint of the run names its graph: that is how a thread is matched to its graph later.
        return {"configurable": configurable, "metadata": {GRAPH_ID_KEY: graph.graph_id}}

    # --- after a run -----------------------------------------------------------------------

    def delivered(self, thread_id: str, claims: Sequence[Claim]) -> set[int]:
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
        if any(c.interrupt_id.startswith(BREAKPOINT_ID) for c in claims):
            # A breakpoint's decision leaves no __resume__ write: a resume this claim started counts as delivered.
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

    def verdicts(
        self,
        thread_id: str,
        claims: Sequence[Claim],
        before: Sequence[PendingInterrupt],
        after: Sequence[PendingInterrupt],
        head_before: str | None,
    ) -> dict[str, str]:
        """Whether the graph honoured each answered decision, read from its checkpoint (`review.verify`)."""
        if not claims:
            return {}
        saver = self.storage.saver
        writes = self._writes_read(thread_id, head_before)  # one query of the writes it reads, not the saver's listing
        values = self._values_still(thread_id)  # the state the runner read after the resume, if still current
        graph = self._graph(thread_id).graph if values is None else None  # it reads the state, when not handed over
        return read_verdicts(graph, saver, thread_id, claims, before, after, head_before, writes=writes, values=values)


def stream_updates(graph: LoadedGraph, run_input: Any, config: dict[str, Any], on_chunk: OnChunk) -> None:
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
