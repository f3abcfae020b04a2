"""Pending interrupts across all threads, read from checkpoint state.

The checkpoint is the source of truth: a thread's rows always come from `get_state().interrupts`.
What keeps it fast is choosing WHICH threads to read: the store's triggers bump a thread's `seq`
on every checkpoint or write, so a refresh re-reads only threads changed since the last one, and
skips at once those whose latest checkpoint holds no interrupt write (they cannot be paused).

Every read is remembered with the thread's `seq` taken BEFORE it, so a later read of an unchanged
thread (the submit's validation, the resume's "still pending?" check, the thread page) is served
without decoding the checkpoint again, and a refresh does not re-read a thread that this process
already read at its current `seq` (the rows a resume left pending). A remembered read is never
newer truth than a fresh one could be: any write to the thread bumps `seq`, which forces a re-read.

Two things make a refresh cheap without changing what it lists:
- the changed threads are read in ONE query of their head checkpoints' pending writes
  (`Storage.head_writes`), decoding only the `__interrupt__` values, instead of a `get_state` each;
  a thread the fast read cannot vouch for (writes without a task path, an unknown encoding) falls
  back to `get_state`;
- every read is saved with its `seq` (`Storage.save_listing`), so a new process (a CLI call, a
  restarted server) lists unchanged threads from the saved rows without building the graph. A saved
  entry is keyed by the code that made it (`listing_reader`): another agent spec, LangGraph version
  or row contract ignores it.

One bad thread stays one bad thread: a checkpoint this console will not decode (a `pickle` value an
agent wrote with langgraph's `pickle_fallback`, which the restricted serializer refuses) makes THAT
thread read-only with the reason (`unreadable_rows`), read per thread, never failing the listing;
only an error of the database itself (every thread's problem) propagates.
"""

from __future__ import annotations

import bisect
import contextlib
import functools
import json
import logging
import re
import threading
import zlib
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import MISSING, dataclass, fields, replace
from typing import TYPE_CHECKING, Any

import orjson

from review.breakpoints import breakpoint_rows, has_breakpoints
from review.contract import PendingInterrupt, clip, rows_from_interrupt
from review.layout import last_tool_calls, layout_warnings
from review.storage import HeadWrites, LeaseLost, Storage, StoreError

if TYPE_CHECKING:  # importing graphs brings LangGraph in: the saved listing's reader must not need it
    from review.graphs import GraphSet

# LangGraph's write channels and the id of the null task (langgraph._internal._constants; a test
# checks they still match): a task that wrote anything but these has finished, and its interrupt
# is answered.
INTERRUPT = "__interrupt__"
CONTROL_WRITES = frozenset({"__interrupt__", "__resume__", "__error__", "__error_source_node__"})
NULL_TASK_ID = "00000000-0000-0000-0000-000000000000"
PUSH_PATH = "~__pregel_push"  # task paths of Send tasks; they run (and list) before pull tasks
BREAKPOINTS_MARK = "~breakpoints~"  # a saved-listing entry (never a thread id) saying the graphs have breakpoints
ROWS_FORMAT = 5  # bump when PendingInterrupt or rows_from_interrupt change: saved listings are then ignored
UNREADABLE_KIND = "unreadable"  # payload kind (and row id) of the one row of a thread whose checkpoint is unreadable

log = logging.getLogger(__name__)


def listing_reader(agent: str) -> str:
    """The code version a saved listing belongs to: the agent spec, LangGraph's versions, the row format."""
    # The row's fields are part of it too: a field added without a bump cannot make one version read
    # another's saved rows (it did: an older process met a field it did not know and failed).
    shape = zlib.crc32(",".join(f.name for f in fields(PendingInterrupt)).encode())
    parts = [agent, f"rows={ROWS_FORMAT}.{shape:08x}"]
    parts += [f"{package}={_version(package)}" for package in ("langgraph", "langgraph_checkpoint")]
    return "|".join(parts)


def _version(distribution: str) -> str:
    """An installed distribution's version from its .dist-info folder name (importlib.metadata costs ~25 ms)."""
    import sys
    from pathlib import Path

    for folder in sys.path:
        found = sorted(Path(folder or ".").glob(f"{distribution}-*.dist-info")) if folder.endswith("-packages") else []
        if found:
            return found[-1].name[len(distribution) + 1 : -len(".dist-info")]
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(distribution)
    except PackageNotFoundError:
        return "?"


def rows_from_head(head: HeadWrites, loads: Callable[[tuple[str, bytes]], Any]) -> list[PendingInterrupt] | None:
    """The pending rows of a thread from its head checkpoint's writes, as `get_state().interrupts` lists them.

    A task's interrupt is pending while the task has no output write. Tasks are taken in LangGraph's
    order (Send tasks by their path, then pull tasks by node name). None when the writes cannot be
    read this way (a task path missing), or when the rows need the thread's state: a pull task's
    interrupt (the #6624 layout check reads the AI message) or a batched request (its tool call
    ids come from the AI message); the caller reads the thread with `get_state` instead.
    """
    tasks: dict[str, tuple[str, list[tuple[str, bytes]], bool]] = {}
    for write in head.writes:
        if write.task_id == NULL_TASK_ID:
            continue
        path, interrupts, finished = tasks.get(write.task_id, (write.task_path, [], False))
        if write.channel == INTERRUPT:
            if write.value is None:
                return None
            interrupts = [write.value]  # the latest question of the task (a fixed write slot)
        elif write.channel not in CONTROL_WRITES:
            finished = True
        tasks[write.task_id] = (path, interrupts, finished)
    waiting = [(path, interrupts) for path, interrupts, finished in tasks.values() if interrupts and not finished]
    if any(not path or not path.startswith(PUSH_PATH) for path, _ in waiting):
        return None
    waiting.sort(key=lambda item: (not item[0].startswith(PUSH_PATH), item[0]))
    rows: list[PendingInterrupt] = []
    for _, interrupts in waiting:
        for serialized in interrupts:
            value = loads(serialized)
            for item in value if isinstance(value, (list, tuple)) else [value]:
                if isinstance(item.value, dict) and "action_requests" in item.value:
                    return None
                rows += rows_from_interrupt(
                    head.thread_id, item.id, item.value, getattr(item, "response_schema", None), head.created_at
                )
    return rows


def rows_to_json(rows: Sequence[PendingInterrupt]) -> str | None:
    """Rows as saved in the listing; None when JSON would not give them back exactly (then nothing is saved)."""
    try:
        text = json.dumps([row.to_dict() for row in rows], ensure_ascii=False)
    except (TypeError, ValueError):
        return None
    back = rows_from_json(text)
    # Equal rows AND the same text again: a value JSON changes (a tuple, a key order) is not saved.
    same = back == list(rows) and json.dumps([row.to_dict() for row in back], ensure_ascii=False) == text
    return text if same else None


def rows_from_json(text: str) -> list[PendingInterrupt]:
    """Rows as the saved listing keeps them (`PendingInterrupt.to_dict()` of each, as JSON)."""
    return [_saved_row(item) for item in _saved_items(text)]


def _saved_items(text: str) -> list[dict[str, Any]]:
    try:
        items: list[dict[str, Any]] = orjson.loads(text)
    except orjson.JSONDecodeError:  # what orjson refuses but json wrote (NaN, integers past 64 bits)
        items = json.loads(text)
    return items


_ROW_DEFAULTS = {f.name: f.default for f in fields(PendingInterrupt) if f.default is not MISSING}
_ROW_FIELDS = frozenset(f.name for f in fields(PendingInterrupt))


def _saved_row(item: dict[str, Any]) -> PendingInterrupt:
    """A row from its saved fields. A cold start makes tens of thousands: the frozen dataclass's `__init__`
    (one `object.__setattr__` per field) is skipped when the saved fields are exactly the row's, which is
    what `to_dict` writes; anything else goes through `__init__`, which names what is wrong."""
    values = {**_ROW_DEFAULTS, **item, "allowed_decisions": tuple(item["allowed_decisions"])}
    if values.keys() != _ROW_FIELDS:
        return PendingInterrupt(**values)
    row = object.__new__(PendingInterrupt)
    row.__dict__.update(values)
    return row


def unreadable_reason(exc: Exception, database_errors: tuple[type[BaseException], ...] = ()) -> str | None:
    """Why a thread cannot be read here, from what its read raised; None when the DATABASE failed (locked, gone,
    lost lease): that is every thread's problem, and the caller's to report, never one thread's state."""
    if isinstance(exc, (StoreError, LeaseLost, *database_errors)):
        return None
    if type(exc).__module__.split(".")[0] in ("sqlite3", "psycopg", "psycopg_pool"):
        return None
    text = " ".join(str(exc).split())
    refused = re.search(r"serialization type:? ?'?(\w+)", text)
    if refused:  # langgraph's JsonPlusSerializer: "Unknown serialization type: pickle"
        kind = refused.group(1)
        why = ": an agent's pickle_fallback wrote it, and unpickling can run any code" if kind == "pickle" else ""
        return f"its checkpoint holds a value this console will not decode ({clip(kind, 40, quote=False)}){why}"
    return f"its checkpoint cannot be read here: {type(exc).__name__}: {clip(text, 120, quote=False)}"


def unreadable_rows(
    thread_id: str, reason: str, last: Sequence[PendingInterrupt] = (), raised_at: str | None = None
) -> list[PendingInterrupt]:
    """A thread that cannot be read, as read-only rows saying why: the rows last read of it (so a decision on one
    is refused with the reason, not as stale), else one row standing for the thread."""
    if last:
        return [replace(row, blocked=reason) for row in last]
    return [
        PendingInterrupt(
            thread_id=thread_id,
            row_id=UNREADABLE_KIND,
            interrupt_id=UNREADABLE_KIND,
            tool_call_id=None,
            tool=None,
            args={},
            description=reason,
            allowed_decisions=(),
            raised_at=raised_at,
            payload_kind=UNREADABLE_KIND,
            blocked=reason,
        )
    ]


SPLICE_LIMIT = 256  # changed threads spliced into the listing one by one; more, and it is sorted anew


def _order(rows: Sequence[PendingInterrupt]) -> tuple[str, str]:
    """A thread's place in the listing: when its first row was raised, then its id."""
    return (rows[0].raised_at or "", rows[0].thread_id)


def sort_listing(by_thread: Iterable[Sequence[PendingInterrupt]]) -> list[PendingInterrupt]:
    """The inbox order: threads by the time their rows were raised (oldest first), rows in thread order."""
    threads = sorted(
        (rows for rows in by_thread if rows), key=lambda rows: (rows[0].raised_at or "", rows[0].thread_id)
    )
    return [row for rows in threads for row in rows]


def saved_listing(storage: Storage, reader: str, thread_id: str | None = None) -> list[PendingInterrupt] | None:
    """Every pending row from the saved listing, without LangGraph; None unless every paused thread's
    saved entry is as new as the thread (then the caller reads the changed threads the full way)."""
    items = saved_listing_items(storage, reader, thread_id)
    return None if items is None else [_saved_row(item) for item in items]


def saved_listing_items(storage: Storage, reader: str, thread_id: str | None = None) -> list[dict[str, Any]] | None:
    """`saved_listing` as the rows' saved fields (`PendingInterrupt.to_dict()` of each), in the listing's order."""
    texts = _saved_texts(storage, reader, thread_id)
    return None if texts is None else [item for text in texts for item in _saved_items(text)]


def saved_listing_json(storage: Storage, reader: str, thread_id: str | None = None) -> bytes | None:
    """`saved_listing` as one JSON array of the rows' saved fields, a thread per line: the saved texts spliced
    as they are (what `python -m review pending` prints: 100,000 threads' rows are 20 MB of JSON, which is
    not parsed into rows and written back out)."""
    texts = _saved_texts(storage, reader, thread_id)
    if texts is None:
        return None
    inner = [part for part in (text.strip()[1:-1].strip() for text in texts) if part]
    return ("[\n  " + ",\n  ".join(inner) + "\n]\n").encode() if inner else b"[]\n"


def _saved_texts(storage: Storage, reader: str, thread_id: str | None) -> list[str] | None:
    """The saved rows JSON of every paused thread (or of `thread_id`), in the listing's order; None unless every
    paused thread's saved entry is as new as the thread."""
    changes = storage.changes_since(0, paused_only=True)
    saved = storage.listing(f"{reader}|feed={changes.generation}")
    if BREAKPOINTS_MARK in saved:  # a paused thread need not have an interrupt write: only get_state can tell
        return None
    keyed: list[tuple[tuple[str, str], str]] = []
    for changed_id, seq in changes.changed:
        if changed_id not in changes.paused or (thread_id is not None and changed_id != thread_id):
            continue
        entry = saved.get(changed_id)
        if entry is None or entry[0] != seq:
            return None
        first = _first_saved_row(entry[1])
        if first is not None:
            keyed.append(((first.get("raised_at") or "", first.get("thread_id") or changed_id), entry[1]))
    return [text for _, text in sorted(keyed, key=lambda pair: pair[0])]


_DECODER = json.JSONDecoder()


def _first_saved_row(text: str) -> dict[str, Any] | None:
    """The first row of a saved rows JSON, parsed alone (its place in the listing; the rest is not read)."""
    at = text.find("{")
    if at < 0:
        return None
    row, _ = _DECODER.raw_decode(text, at)
    return row if isinstance(row, dict) else None


def read_state(graphs: GraphSet, thread_id: str) -> list[PendingInterrupt]:
    """The pending rows of one thread, straight from its latest checkpoint (always decodes it)."""
    return read_snapshot(graphs, thread_id)[0]


def read_snapshot(
    graphs: GraphSet,
    thread_id: str,
    seen: Callable[[Any], None] | None = None,
    *,
    named: tuple[str | None] | None = None,
) -> tuple[list[PendingInterrupt], tuple[str, ...], str | None]:
    """Pending rows, next tasks and head checkpoint id of one thread, from one `get_state` of its graph
    (whose values `seen`, if given, is handed). `named`: the graph id its checkpoints name, when the caller read it
    (a 1-tuple: the id may be None); else it is read."""
    loaded, blocked = graphs.for_thread(thread_id) if named is None else graphs.resolve(named[0])
    snapshot = loaded.graph.get_state({"configurable": {"thread_id": thread_id}})
    if seen is not None:
        seen(snapshot.values)
    graph_id = loaded.graph_id if blocked is None else (graphs.named(thread_id) if named is None else named[0])
    calls = last_tool_calls(snapshot.values)
    warnings = layout_warnings(snapshot, loaded.tool_nodes) if snapshot.interrupts else {}
    rows = [
        replace(row, graph_id=graph_id, blocked=blocked, warning=warnings.get(item.id))
        for item in snapshot.interrupts
        for row in rows_from_interrupt(thread_id, item.id, item.value, item.response_schema, snapshot.created_at, calls)
    ]
    if not rows:  # a static breakpoint is a pause too, though no interrupt() was called
        found = breakpoint_rows(thread_id, loaded.graph, snapshot, loaded.tool_nodes, calls)
        rows = [replace(row, graph_id=graph_id, blocked=blocked) for row in found]
    head = (snapshot.config or {}).get("configurable", {}).get("checkpoint_id") if snapshot.created_at else None
    return rows, tuple(snapshot.next), head


def with_graph(graphs: GraphSet, named: str | None, rows: list[PendingInterrupt]) -> list[PendingInterrupt]:
    """Rows read from head writes, given their thread's graph (the one its checkpoints name: `named`), and why it
    may not be decided here."""
    loaded, blocked = graphs.resolve(named)
    graph_id = loaded.graph_id if blocked is None else named
    return [replace(row, graph_id=graph_id, blocked=blocked) for row in rows]


@dataclass(frozen=True, slots=True)
class _Known:
    """What the inbox knows of one thread: read at `seq`; `from_state` unless only the prefilter decided."""

    seq: int
    rows: tuple[PendingInterrupt, ...]
    from_state: bool


class Inbox:
    """Per-process cache of pending rows, kept equal to checkpoint state by `refresh()`."""

    def __init__(self, storage: Storage, graphs: GraphSet, *, reader: str | None = None) -> None:
        self._storage = storage
        self._graphs = graphs
        self._reader = reader  # saves (and on a cold start, uses) the persisted listing when given
        # Static breakpoints leave no interrupt write: every changed thread is read with get_state.
        self._breakpoints = any(has_breakpoints(loaded.graph) for loaded in graphs)
        if self._breakpoints and reader and not storage.read_only:
            # Said before any run: a process listing without graphs must take the full way from now on.
            with contextlib.suppress(StoreError):
                generation = storage.changes_since(2**62).generation
                storage.save_listing(f"{reader}|feed={generation}", [(BREAKPOINTS_MARK, 0, "[]")])
        self._refreshing = threading.Lock()  # one refresh at a time; reads never wait for one
        self._lock = threading.Lock()  # guards the fields below; held only briefly
        self._seq = 0
        self._generation: int | None = None  # of the store's change feed; a new one means a possible gap
        self._known: dict[str, _Known] = {}
        self._rows: dict[str, tuple[PendingInterrupt, ...]] = {}  # paused threads only
        # `_rows` flattened in the listing's order (threads by (raised_at, thread_id): `_order`), None until
        # built; kept current by splicing the few threads that changed (`_dirty`), so a refresh of K threads
        # costs K, not the number of rows listed. `_listed` has each listed thread's order key as listed.
        self._listing: list[PendingInterrupt] | None = None
        self._listed: dict[str, tuple[str, str]] = {}
        self._dirty: set[str] = set()
        self.last_reread = 0  # changed threads seen by the last refresh (for benchmarks and tests)
        self.last_state_reads = 0  # of which decoded (head writes or get_state; the rest: prefilter, already read)
        self.last_get_state = 0  # of those, read with get_state (the fast read could not vouch for them)
        self.last_saved_hits = 0  # paused threads taken from the saved listing (cold start)
        self._saving: ThreadPoolExecutor | None = None  # writes the saved listing behind the refresh (`_save`)
        self._saved: Future[None] | None = None  # its last write

    def refresh(self) -> int:
        """Re-read the threads changed since the last refresh; return how many changed."""
        with self._refreshing:
            with self._lock:  # knowing nothing yet, only the paused threads need an entry (a breakpoint leaves
                cold = not self._known  # no interrupt write: then every thread is looked at)
            changes = self._storage.changes_since(self._seq, paused_only=cold and not self._breakpoints)
            if self._generation is not None and changes.generation != self._generation:
                # The feed's triggers were missing or re-installed: writes may have gone unseen. Re-read all.
                with self._lock:
                    self._clear()
                changes = self._storage.changes_since(0, paused_only=not self._breakpoints)
            self._generation = changes.generation
            changed, paused, top = changes.changed, changes.paused, changes.top
            found: list[tuple[str, _Known]] = []
            with self._lock:
                known = [(thread_id, seq, self._known.get(thread_id)) for thread_id, seq in changed]
                cold = not self._known
            to_read: dict[str, int] = {}
            already: list[tuple[str, _Known]] = []  # read at this seq by `read` (a submit, a run): saved as is
            for thread_id, seq, before in known:
                if before is not None and before.seq >= seq and (before.from_state or thread_id not in paused):
                    if before.from_state and before.seq == seq:
                        already.append((thread_id, before))
                    continue  # read already at this seq (or later) by `read`
                if thread_id in paused or self._breakpoints:  # a breakpoint writes no interrupt: read them all
                    to_read[thread_id] = seq
                else:
                    found.append((thread_id, _Known(seq, (), False)))
            reader = f"{self._reader}|feed={changes.generation}" if self._reader else None
            hits = self._from_saved(reader, to_read, found) if cold and reader and to_read else 0
            decoded, by_state = self._read_many(to_read, found, changes.heads)
            with self._lock:
                for thread_id, entry in found:
                    self._remember(thread_id, entry)
                self._seq = top
            if reader:
                self._save(reader, found + already, decoded | {thread_id for thread_id, _ in already})
            self.last_reread = len(changed)
            self.last_state_reads = len(decoded)
            self.last_get_state = by_state
            self.last_saved_hits = hits
            return len(changed)

    def _from_saved(self, reader: str, to_read: dict[str, int], found: list[tuple[str, _Known]]) -> int:
        """Take unchanged threads from the saved listing (a new process); they leave `to_read`."""
        try:
            saved = self._storage.listing(reader)
        except StoreError:
            return 0
        hits = 0
        for thread_id, seq in list(to_read.items()):
            entry = saved.get(thread_id)
            if entry is not None and entry[0] == seq:
                found.append((thread_id, _Known(seq, tuple(rows_from_json(entry[1])), True)))
                del to_read[thread_id]
                hits += 1
        return hits

    def _read_many(
        self, to_read: dict[str, int], found: list[tuple[str, _Known]], read: dict[str, HeadWrites] | None = None
    ) -> tuple[set[str], int]:
        """Read these paused threads: their head writes in one query (those the feed's read brought, `read`, are
        not asked again), `get_state` for the rest."""
        if not to_read:
            return set(), 0
        heads = {thread_id: read[thread_id] for thread_id in to_read if read and thread_id in read}
        missing = [thread_id for thread_id in to_read if thread_id not in heads]
        if missing:
            heads.update(self._storage.head_writes(missing))
        loads = self._storage.saver.serde.loads_typed
        by_state = 0
        unreadable: set[str] = set()
        for thread_id, seq in to_read.items():
            head = heads.get(thread_id)
            try:  # per thread: one undecodable checkpoint must not fail the listing of all the others
                fast = rows_from_head(head, loads) if head is not None and not self._breakpoints else None
                if head is not None and fast is not None:
                    rows = with_graph(self._graphs, head.graph_id, fast)
                else:
                    by_state += 1
                    rows = read_state(self._graphs, thread_id)
            except Exception as exc:
                rows = self._unreadable(thread_id, exc, head.created_at if head is not None else None)
                unreadable.add(thread_id)
            found.append((thread_id, _Known(seq, tuple(rows), True)))
        return set(to_read) - unreadable, by_state  # an unreadable thread is not saved: the next process looks again

    def _save(self, reader: str, found: list[tuple[str, _Known]], decoded: set[str]) -> None:
        """Save what this refresh read (threads no longer paused leave the saved listing), behind the refresh.

        The saved listing is only a new process's shortcut, so the refresh does not wait for its write: on
        PostgreSQL that is a transaction's round trips and a commit, a third of a refresh of one changed thread.
        One writer thread keeps the saves in order; `close()` (and `flush()`) wait for the last one.
        """
        if self._storage.read_only:
            return
        if self._saving is None:
            self._saving = ThreadPoolExecutor(1, thread_name_prefix="review-listing")
        self._saved = self._saving.submit(self._write_listing, reader, found, decoded)

    def _write_listing(self, reader: str, found: list[tuple[str, _Known]], decoded: set[str]) -> None:
        entries = [
            (thread_id, entry.seq, rows_to_json(entry.rows) if entry.rows else None)
            for thread_id, entry in found
            if thread_id in decoded or not entry.rows
        ]
        if self._breakpoints:  # the saved listing cannot see breakpoints: readers without graphs must not use it
            entries.append((BREAKPOINTS_MARK, 0, "[]"))
        try:
            self._storage.save_listing(reader, entries)
        except Exception as exc:  # a full or locked disk, a closed store: the listing is only a shortcut
            log.debug("the saved listing was not written: %s", exc)

    def flush(self) -> None:
        """Wait until the saved listing holds what the last refresh read (another process is about to read it)."""
        saved = self._saved
        if saved is not None:
            saved.result()

    def close(self) -> None:
        """Finish writing the saved listing (before the store closes)."""
        self.flush()
        if self._saving is not None:
            self._saving.shutdown()

    def read(self, thread_id: str) -> list[PendingInterrupt]:
        """One thread's rows from its latest checkpoint; decoded only if it changed since this inbox read it."""
        seq = self._head_seq(thread_id)
        if seq is not None:
            with self._lock:
                entry = self._known.get(thread_id)
                if entry is not None and entry.seq == seq and entry.from_state:
                    return list(entry.rows)
        try:
            rows = read_state(self._graphs, thread_id)
        except Exception as exc:
            rows = self._unreadable(thread_id, exc)
        if seq is not None:
            with self._lock:
                self._remember(thread_id, _Known(seq, tuple(rows), True))
        return rows

    def read_full(
        self, thread_id: str, *, seen: Callable[[int | None, Any], None] | None = None
    ) -> tuple[list[PendingInterrupt], tuple[str, ...], str | None]:
        """Rows, next tasks and head checkpoint, always decoded fresh (after a run); the rows are remembered.

        An unreadable thread gives its read-only rows, no next tasks (nothing to continue) and no head.
        `seen`, if given, is handed the thread's seq taken before the read and the state's values it read.
        """
        # The seq and the graph its checkpoints name, in one read (a thread with no head yet: the graph is asked).
        found = self._storage.head_and_graph(thread_id)
        seq, named = (found[0], (found[1],)) if found is not None else (None, None)
        try:
            keep = None if seen is None else functools.partial(seen, seq)
            rows, next_tasks, head = read_snapshot(self._graphs, thread_id, keep, named=named)
        except Exception as exc:
            rows, next_tasks, head = self._unreadable(thread_id, exc), (), None
        if seq is not None:
            with self._lock:
                self._remember(thread_id, _Known(seq, tuple(rows), True))
        return rows, next_tasks, head

    def read_head(self, thread_id: str) -> tuple[list[PendingInterrupt], str | None]:
        """Rows and head checkpoint id. Served, like `read`, from what this inbox read at the thread's current
        seq (the submit's validation just did), with the head id the feed keeps beside that seq: no decode."""
        head = self._storage.thread_head(thread_id)
        if head is not None:
            with self._lock:
                entry = self._known.get(thread_id)
                if entry is not None and entry.seq == head[0] and entry.from_state:
                    return list(entry.rows), head[1]
        rows, _, checkpoint_id = self.read_full(thread_id)
        return rows, checkpoint_id

    def rows(self, thread_id: str | None = None, *, refresh: bool = True) -> list[PendingInterrupt]:
        """Pending rows, oldest first; of one thread when `thread_id` is given."""
        if refresh:
            self.refresh()
        with self._lock:
            if thread_id is not None:
                return list(self._rows.get(thread_id, ()))
            return list(self._current_listing())

    def unreadable(self, thread_id: str, exc: Exception) -> list[PendingInterrupt]:
        """`exc` came from reading the thread elsewhere (its view): the thread is read-only from now on in this
        process, even where a lighter read (its head writes) could not see what makes it unreadable. The rows,
        saying why; a database error is re-raised."""
        seq = self._head_seq(thread_id)
        rows = self._unreadable(thread_id, exc)
        if seq is not None:
            with self._lock:
                current = self._known.get(thread_id)
                if current is None or current.seq <= seq:
                    self._known.pop(thread_id, None)  # a read at this seq that could not see it: replaced
                    self._remember(thread_id, _Known(seq, tuple(rows), True))
        return rows

    @property
    def database_errors(self) -> tuple[type[BaseException], ...]:
        """Errors of the store itself: a read that raises one failed for every thread, not for its own."""
        return self._storage.transient

    def _clear(self) -> None:
        """Caller holds `_lock`."""
        self._seq = 0
        self._known.clear()
        self._rows.clear()
        self._listing = None
        self._dirty.clear()

    # --- internals (callers hold `_lock` where noted) -------------------------------------------

    def _unreadable(self, thread_id: str, exc: Exception, raised_at: str | None = None) -> list[PendingInterrupt]:
        """The read-only rows of a thread whose read raised `exc`; re-raises a database error. Called in `except`."""
        reason = unreadable_reason(exc, self.database_errors)
        if reason is None:
            raise exc
        with self._lock:
            known = self._known.get(thread_id)
        last = [row for row in known.rows if row.payload_kind != UNREADABLE_KIND] if known is not None else []
        if known is None or not known.rows or any(row.blocked != reason for row in known.rows):
            log.warning("thread %s is read-only: %s", thread_id, reason)  # once, not on every page run
        return unreadable_rows(thread_id, reason, last, raised_at)

    def _remember(self, thread_id: str, entry: _Known) -> None:
        """Keep `entry` unless a read at a later seq is already kept. Caller holds `_lock`."""
        current = self._known.get(thread_id)
        if current is not None and (current.seq > entry.seq or (current.seq == entry.seq and current.from_state)):
            return
        self._known[thread_id] = entry
        before = self._rows.get(thread_id)
        if before == entry.rows or (not before and not entry.rows):
            return
        if entry.rows:
            self._rows[thread_id] = entry.rows
        else:
            del self._rows[thread_id]
        if self._listing is not None:
            self._dirty.add(thread_id)
            if len(self._dirty) > SPLICE_LIMIT:  # many threads at once (a cold start): sorting anew is cheaper
                self._listing = None
                self._dirty.clear()

    def _current_listing(self) -> list[PendingInterrupt]:
        """`_rows` flattened in the listing's order, brought up to date. Caller holds `_lock`."""
        listed = self._listed
        if self._listing is None:
            order = sorted((_order(rows), thread_id) for thread_id, rows in self._rows.items())
            self._listing = [row for _, thread_id in order for row in self._rows[thread_id]]
            self._listed = {thread_id: key for key, thread_id in order}
            return self._listing
        listing = self._listing

        def key(row: PendingInterrupt) -> tuple[str, str]:
            return listed[row.thread_id]

        for thread_id in self._dirty:  # each: a binary search and one splice
            old = listed.get(thread_id)
            if old is not None:  # its rows as listed, found by their key (a thread's rows are contiguous)
                start = bisect.bisect_left(listing, old, key=key)
                end = start
                while end < len(listing) and listing[end].thread_id == thread_id:
                    end += 1
                del listing[start:end]
                del listed[thread_id]
            rows = self._rows.get(thread_id)
            if rows:
                listed[thread_id] = _order(rows)
                at = bisect.bisect_left(listing, listed[thread_id], key=key)
                listing[at:at] = rows
        self._dirty.clear()
        return listing

    def _head_seq(self, thread_id: str) -> int | None:
        return self._storage.head_seq(thread_id)
