"""Pending interrupts of graphs deployed on a LangGraph Agent Server, and their resumes, via langgraph-sdk.

What the Agent Server gets wrong for an inbox, and what this source does instead (measured against
`langgraph dev`, see README "Agents on a LangGraph Agent Server"):
- a thread's `interrupts` field can go stale (after a split resume; a run that ended without a checkpoint
  keeps the old ones), so rows come from the thread STATE's tasks, like a local graph's; but reading every
  state first makes a reviewer wait (on `langgraph dev` ~100-150 ms a thread: two minutes for 1,000). So
  rows are listed at once from `threads.search(select=[..., "interrupts"])` (one call per 1,000 threads),
  marked `unverified`, and background readers read the states behind; the state's rows replace the
  search's. A submit reads the state itself (`read`), so a stale search row is refused, never resumed;
- a paused thread with a run queued behind its interrupt reports `busy`, not `interrupted`: both are listed;
- re-reading every paused thread on every refresh costs a `threads.search` plus one `get_state` per
  thread: a refresh asks only for threads updated since the last one (`sort_by="updated_at"` descending,
  stopping at the first older thread) and re-reads those;
- the double-texting default "enqueue" queues a second resume that then does nothing: every resume
  is sent with `multitask_strategy="reject"`, and a refusal is reported as a conflict (`RunRefused`).

New runs start here too (`ServerSet.start_run`), and the runs this console starts or resumes carry a webhook
to serve.py's RUN_ENDED_ROUTE when that route is served, so their end is read at once (`run_ended`).

Claims, the decision log and leases stay in the console's store: this module only reads the server
and sends one run per thread.
"""

from __future__ import annotations

import contextlib
import logging
import secrets
import threading
import time
import uuid
import weakref
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit, urlunsplit

from review.contract import PendingInterrupt, ThreadOutcome, resume_map, rows_from_interrupt
from review.idempotency import IDEMPOTENCY_KEYS
from review.progress import RunJob, describe_update
from review.threads import ChatLine, ThreadView, first_human_text

if TYPE_CHECKING:
    from review.storage import Claim

log = logging.getLogger(__name__)

PAGE = 1000  # threads per `threads.search` call: the server's maximum (one call per 1,000 paused threads)
# The first page of an update listing: the thread it last saw and the one before (older: the listing stops). A
# quiet poll reads 2 threads; pages then grow tenfold, so K changed threads cost a few pages of about K threads.
FIRST_UPDATES = 2
VIEWS_KEPT = 200  # thread views kept for when the server cannot be asked
READERS = 8  # background get_state calls in flight while listed threads wait for their state read
FULL_EVERY_SECONDS = 60.0  # a search of every paused thread finds those deleted on the server (updates cannot)
KEEP_JOBS = 200  # runs started on servers kept for their pages (the oldest finished ones go first)
REDRAW_SECONDS = 1.0  # reads that only confirm the listed rows move `version` at most this often
# A queued or running run makes a paused thread "busy": its interrupts still wait for a reviewer.
PAUSED = ("interrupted", "busy")
STAMPS = ["thread_id", "updated_at", "status", "metadata"]  # what tells a thread changed
SELECT = [*STAMPS, "interrupts"]  # and what lists its rows (7x the search's cost for 1,000 threads)


class ServerError(RuntimeError):
    """The server cannot be used right now (unreachable, refused the key, unknown graph); one line says why."""


class RunRefused(ServerError):
    """The server refused to start the resume: a run is already active on the thread (someone else's)."""


class ThreadGone(ServerError):
    """The thread does not exist (any more) on the server."""


class RunFailed(ServerError):
    """The resumed run raised on the server."""


@dataclass(frozen=True)
class ServerTarget:
    """One Agent Server: its URL, the key it wants, and the graphs to review there (empty: all)."""

    url: str
    api_key: str | None = None
    graph_ids: tuple[str, ...] = ()

    @property
    def label(self) -> str:
        """The URL as users see it: without user, password or query."""
        parts = urlsplit(self.url)
        host = parts.hostname or ""
        netloc = f"{host}:{parts.port}" if parts.port else host
        return urlunsplit((parts.scheme, netloc, parts.path.rstrip("/"), "", ""))

    @property
    def source(self) -> str:
        """What rows of this server carry in `PendingInterrupt.source`."""
        return f"server:{self.label}"


def parse_server_config(raw: Any, api_key: str | None) -> list[ServerTarget]:
    """The `servers` list of a langgraph.json-style config: `[{"url": ..., "graph_ids": [...]}]` (or URLs).

    Every server gets the console's key (`--api-key` / LANGGRAPH_API_KEY): keys never live in the file.
    """
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise ValueError('"servers" must be a list of {"url": ..., "graph_ids": [...]}')
    targets = []
    for position, item in enumerate(raw, start=1):
        if isinstance(item, str):
            item = {"url": item}
        if not isinstance(item, dict) or not isinstance(item.get("url"), str) or "://" not in item["url"]:
            raise ValueError(f'servers[{position}] needs a "url" like http://127.0.0.1:2024')
        graph_ids = item.get("graph_ids") or []
        if not isinstance(graph_ids, list) or not all(isinstance(g, str) and g for g in graph_ids):
            raise ValueError(f"servers[{position}].graph_ids must be a list of graph ids")
        targets.append(ServerTarget(item["url"], api_key or None, tuple(graph_ids)))
    return targets


def describe_error(exc: BaseException, target: ServerTarget) -> ServerError:
    """One line for the reviewer, whatever httpx or langgraph-sdk raised."""
    if isinstance(exc, ServerError):
        return exc
    import httpx
    from langgraph_sdk import errors

    where = f"the Agent Server at {target.label}"
    if isinstance(exc, (errors.AuthenticationError, errors.PermissionDeniedError)):
        hint = "set --api-key or LANGGRAPH_API_KEY" if not target.api_key else "check the API key"
        return ServerError(f"{where} refused the API key ({_status(exc)}): {hint}")
    if isinstance(exc, errors.ConflictError):
        return RunRefused(
            f"{where} refused the resume: a run is already active on this thread (another client answered)"
        )
    if isinstance(exc, errors.NotFoundError):
        return ThreadGone(f"not found on {where} (deleted?)")
    if isinstance(exc, (httpx.TimeoutException, errors.APITimeoutError)):
        return ServerError(f"{where} did not answer in time")
    if isinstance(exc, (httpx.TransportError, errors.APIConnectionError)):
        return ServerError(f"cannot reach {where}: {type(exc).__name__}")
    if isinstance(exc, errors.APIStatusError):
        return ServerError(f"{where} answered {_status(exc)}: {str(exc)[:160]}")
    return ServerError(f"{where}: {type(exc).__name__}: {str(exc)[:160]}")


def _status(exc: BaseException) -> str:
    response = getattr(exc, "response", None)
    return str(getattr(response, "status_code", "") or "error")


def _sdk_client(target: ServerTarget, timeout: float) -> Any:
    """langgraph-sdk's sync client, with one connection retry instead of its five: their backoff (0.5 + 1 + 2 + 4 s)
    made a reviewer's submit wait 7.5 s to learn that the server is down."""
    import httpx
    from langgraph_sdk.client import SyncLangGraphClient

    headers = {"User-Agent": "langgraph-review-console"}
    if target.api_key:
        headers["x-api-key"] = target.api_key
    http = httpx.Client(
        base_url=target.url, transport=httpx.HTTPTransport(retries=1), timeout=httpx.Timeout(timeout), headers=headers
    )
    return SyncLangGraphClient(http)


@dataclass(frozen=True, slots=True)
class _Known:
    """A listed thread: its stamp, graph, rows (none yet, for a busy thread), and whether its state was read."""

    updated_at: str
    graph_id: str | None
    rows: tuple[PendingInterrupt, ...]
    request: str | None  # the thread's first human message (what names it in the Inbox); None until read
    verified: bool  # the rows come from the thread's state, not from the search's `interrupts`


@dataclass
class ListingStats:
    """What the last refresh cost: shown by the bench, asserted by the tests (incremental means few reads)."""

    kind: str = ""  # full | updates | reconcile
    searched: int = 0  # threads the searches returned
    queued: int = 0  # threads whose state the refresh asked the readers to read
    states_read: int = 0  # get_state calls the readers made since the refresh began
    seconds: float = 0.0  # the refresh itself: its searches, rows listed (unverified)
    verified_seconds: float | None = None  # from the refresh's start until no listed thread waited for its read
    started: float = field(default_factory=time.perf_counter)


class ServerSource:
    """The pending rows of one Agent Server, kept current by `refresh()`, and the one way to resume there."""

    continues_runs = False  # the server runs its own runs to the end: recovery never continues one

    def __init__(
        self,
        target: ServerTarget,
        *,
        timeout: float = 10.0,
        page: int = PAGE,
        full_every: float = FULL_EVERY_SECONDS,
        readers: int = READERS,
        client: Any = None,
    ) -> None:
        self.target = target
        self.source = target.source
        # Typed Any: the SDK's TypedDicts are read as the plain JSON they are.
        self.client: Any = client or _sdk_client(target, timeout)
        self._page = page
        self.full_every = full_every  # seconds between checks of every paused thread (`_reconcile`)
        self.readers = readers
        self._refreshing = threading.Lock()  # one refresh at a time; `_lock` is held only to change what is held
        self._lock = threading.RLock()
        self._threads: dict[str, _Known] = {}
        # Listed threads waiting for their state read, in listing order (what the Inbox shows first is read first);
        # a reader applies a read only if the entry is still the one held (a newer listing queues its own read).
        self._wanted: dict[str, _Known] = {}
        self._reading: set[str] = set()
        self._empty: dict[str, str] = {}  # paused threads whose state held no row, at this stamp: not read again
        self._work = threading.Condition(self._lock)  # readers wait here for `_wanted`
        self._settled = threading.Condition(self._lock)  # `wait_verified` waits here for the last read
        self._reader_threads: list[threading.Thread] = []
        self._closed = False
        self._redrawn_at = 0.0
        self._redraw_due = False  # reads confirmed rows since `version` last moved
        self._read_failing = False
        self._webhook_refused = False  # this server's webhook policy refused the console's URL: not sent again
        # Every thread this server listed, pending or not any more: it stays the server's (its Thread page, its
        # recovery) after its last row was answered, until the server says it is gone.
        self._seen: set[str] = set()
        self._views: dict[str, ThreadView] = {}  # the last view read per thread: shown while the server is away
        self._watermark: str | None = None  # newest `updated_at` seen (server clock): the next refresh starts there
        self._full_at = 0.0
        self.version = 0  # bumped whenever the rows change: part of the console's inbox token
        self.error: str | None = None
        self.stats = ListingStats()
        self._graph_checked = False

    # --- reading ---------------------------------------------------------------------------

    def rows(self) -> list[PendingInterrupt]:
        """The rows as of the last refresh (no network)."""
        with self._lock:
            held = [k for k in self._threads.values() if k.rows]
        held.sort(key=lambda k: (k.rows[0].raised_at or "", k.rows[0].thread_id))
        return [row for k in held for row in k.rows]

    def owns(self, thread_id: str) -> bool:
        """This server listed the thread (pending or not any more), until it says the thread is gone."""
        with self._lock:
            return thread_id in self._seen  # every held thread is in it

    def blocked(self, thread_id: str) -> str | None:
        """None: a thread the server listed is its graph's."""
        return None  # a thread the server listed is its graph's

    def tools(self, graph_id: str | None) -> dict[str, Any]:
        """{}: a server graph's tools are not loaded here (a local graph of the same id need not match)."""
        return {}  # a server graph's tools are not loaded here: a local graph of the same id need not match

    def graph_of(self, thread_id: str) -> str | None:
        """The graph id of a listed pending thread (None when not listed with rows)."""
        with self._lock:
            known = self._threads.get(thread_id)
        return known.graph_id if known is not None else None

    def refresh(self, *, full: bool = False) -> list[PendingInterrupt]:
        """Bring the rows up to date: the threads updated since the last refresh, or every paused one.

        Returns once the searches are done: their rows are listed unverified, and the threads' states are read
        in the background (`wait_verified` waits for them). On failure the rows of the last good refresh stay
        and `error` says why (one line).
        """
        with self._refreshing:
            started = time.perf_counter()
            try:
                self._check_graphs()
                if full or self._watermark is None:
                    self._full()
                elif time.monotonic() - self._full_at > self.full_every:
                    self._reconcile()
                else:
                    self._updates()
            except Exception as exc:
                self.error = str(describe_error(exc, self.target))
                log.warning("%s: %s", self.source, self.error)
                return self.rows()
            self.error = None
            self.stats.seconds = time.perf_counter() - started
            with self._lock:
                if not (self._wanted or self._reading):  # nothing to read: the listing is verified as it stands
                    self._settle()
            return self.rows()

    def wait_verified(self, timeout: float | None = None) -> bool:
        """Block until no listed thread waits for its state read (False: `timeout` seconds passed first)."""
        with self._lock:
            return self._settled.wait_for(lambda: self._closed or not (self._wanted or self._reading), timeout)

    def close(self) -> None:
        """Stop the background readers (a read in flight ends on its own)."""
        with self._lock:
            self._closed = True
            self._work.notify_all()
            self._settled.notify_all()

    def read(self, thread_id: str) -> list[PendingInterrupt]:
        """One thread's rows, fresh from its state (the submit's validation, the resume's checks)."""
        return self.read_full(thread_id)[0]

    def read_full(self, thread_id: str) -> tuple[list[PendingInterrupt], tuple[str, ...], str | None]:
        """Pending rows, next tasks and head checkpoint id of one thread, from one `get_state`.

        Raises ServerError; a thread the server no longer has is dropped from the rows (ThreadGone).
        """
        state = self._call(lambda: self.client.threads.get_state(thread_id), thread_id)
        graph_id = self.graph_of(thread_id) or _graph_id(state.get("metadata"))
        rows = self._rows(thread_id, graph_id, state)
        with self._lock:
            old = self._threads.get(thread_id)
            self._seen.add(thread_id)
            self._wanted.pop(thread_id, None)  # read now: a queued read would only repeat this one
            if rows:
                stamp = old.updated_at if old else ""
                self._threads[thread_id] = _Known(stamp, graph_id, tuple(rows), _request(state), verified=True)
            else:
                self._threads.pop(thread_id, None)
            if old is None or old.rows != tuple(rows):
                self.version += 1
        checkpoint = state.get("checkpoint") or {}
        return rows, tuple(state.get("next") or ()), checkpoint.get("checkpoint_id")

    def view(self, thread_id: str, *, timeline: bool = True) -> ThreadView:
        """The thread as the Thread page and the Inbox's pane show it (never a checkpoint timeline).

        While the server cannot be asked, the last view read of it (else its listed rows alone): the page
        says why above it (`error`), and a pane never fails because the network did.
        """
        try:
            state = self._call(lambda: self.client.threads.get_state(thread_id), thread_id)
        except ThreadGone:
            return ThreadView(thread_id, False, {}, [], [], [])
        except ServerError:
            with self._lock:
                known = self._threads.get(thread_id)
                last = self._views.get(thread_id)
            return last or ThreadView(thread_id, True, {}, [], list(known.rows) if known else [], [])
        values: dict[str, Any] = state["values"] if isinstance(state.get("values"), dict) else {}
        graph_id = self.graph_of(thread_id) or _graph_id(state.get("metadata"))
        messages = [_line(m) for m in values.get("messages") or [] if isinstance(m, dict)]
        view = ThreadView(thread_id, True, dict(values), messages, self._rows(thread_id, graph_id, state), [])
        with self._lock:
            self._views.pop(thread_id, None)  # re-inserted last: the newest read stays longest
            self._views[thread_id] = view
            while len(self._views) > VIEWS_KEPT:  # the oldest first: a dict keeps insertion order
                self._views.pop(next(iter(self._views)))
        return view

    def request(self, thread_id: str) -> str | None:
        """The thread's first human message, as read with its rows (None: not listed here)."""
        with self._lock:
            known = self._threads.get(thread_id)
        return known.request if known is not None else None

    # --- resuming --------------------------------------------------------------------------

    def start(
        self,
        thread_id: str,
        run_input: Any,
        *,
        graph_id: str | None = None,
        token: str,
        keys: dict[str, str],
        on_chunk: Callable[[dict[str, Any]], None],
    ) -> None:
        """One run of `thread_id` on `run_input` (a new thread of `graph_id` is created first), followed to its end.

        `token` is the console's lease: the server does not see it (it runs one run per thread by itself).
        """
        if graph_id is not None and not self.owns(thread_id):
            self._call(
                lambda: self.client.threads.create(
                    thread_id=thread_id, if_exists="do_nothing", metadata={"graph_id": graph_id}
                ),
                thread_id,
            )
            with self._lock:
                self._seen.add(thread_id)
        self._run(thread_id, graph_id, on_chunk, keys, input=run_input)

    def resume(
        self,
        thread_id: str,
        decided: Sequence[tuple[PendingInterrupt, Any]],
        *,
        token: str,
        keys: dict[str, str],
        on_chunk: Callable[[dict[str, Any]], None],
    ) -> None:
        """One run resuming `thread_id` with each row's value (`{interrupt_id: value}`), followed to its end
        (`runs.join_stream`); its tools get their idempotency keys in the run's config.

        Raises RunRefused when a run is already active (nothing was started), ThreadGone, RunFailed
        when the run raised, ServerError otherwise.
        """
        resume = resume_map({row.row_id: value for row, value in decided})
        self._run(thread_id, None, on_chunk, keys, command={"resume": resume})

    def _run(
        self,
        thread_id: str,
        graph_id: str | None,
        on_chunk: Callable[[dict[str, Any]], None],
        keys: dict[str, str],
        **run: Any,
    ) -> None:
        graph_id = graph_id or self.graph_of(thread_id)
        if graph_id is None:
            state = self._call(lambda: self.client.threads.get(thread_id), thread_id)
            graph_id = _graph_id(state.get("metadata"))
        if graph_id is None:
            raise ServerError(f"thread {thread_id} names no graph on {self.target.label}: cannot resume it")

        def create(**hook: str) -> Any:
            return self.client.runs.create(
                thread_id,
                graph_id,
                multitask_strategy="reject",
                stream_mode=["updates"],
                config={"configurable": {IDEMPOTENCY_KEYS: keys}},
                **run,
                **hook,
            )

        created = self._call(lambda: self._with_webhook(create), thread_id)
        try:
            for part in self.client.runs.join_stream(thread_id, created["run_id"], stream_mode=["updates"]):
                if part.event == "error":
                    raise RunFailed(f"the run failed on the server: {_error_text(part.data)}")
                if part.event.startswith("updates") and isinstance(part.data, dict):
                    on_chunk(part.data)
        except ServerError:
            raise
        except Exception as exc:
            raise describe_error(exc, self.target) from None
        # The stream can end before the run's status settles: wait for it, so the state read next is final.
        with contextlib.suppress(Exception):
            self.client.runs.join(thread_id, created["run_id"])

    def _with_webhook(self, create: Callable[..., Any]) -> Any:
        """`create()` with this process's webhook (`serve_webhook`), so the server tells the console when the run
        ends; without it when none is served, or when this server's webhook policy refuses the URL (a 422:
        nothing was started; `langgraph dev` refuses loopback URLs unless `webhooks.url.disable_loopback` is
        false), then never again for this server."""
        hook = None if self._webhook_refused else webhook_url()
        if hook is None:
            return create()
        from langgraph_sdk import errors

        try:
            return create(webhook=hook)
        except errors.UnprocessableEntityError as exc:
            if "webhook" not in str(exc).lower():
                raise
            self._webhook_refused = True
            log.warning("%s refuses the console's webhook (runs' ends are seen by polling): %s", self.source, exc)
        return create()

    def run_ended(self, thread_id: str) -> None:
        """A run of the thread ended (the server's webhook said so): read its state now, behind the listing."""
        with self._lock:
            if self._closed:
                return
            entry = self._threads.get(thread_id)
            if entry is None:  # nothing held (a new thread, or its rows answered): held once read, if it has rows
                entry = self._threads[thread_id] = _Known("", None, (), None, verified=False)
            self._seen.add(thread_id)
            self._want(thread_id, entry)

    def served_graphs(self) -> list[str]:
        """The graph ids to review and start here: the configured ones, else every graph the server serves."""
        if self.target.graph_ids:
            return list(self.target.graph_ids)
        try:
            found = self.client.assistants.search(limit=1000, select=["graph_id"])
        except Exception as exc:
            raise describe_error(exc, self.target) from None
        return sorted({str(a["graph_id"]) for a in found if a.get("graph_id")})

    # --- after a run -----------------------------------------------------------------------

    def delivered(self, thread_id: str, claims: Sequence[Claim]) -> set[int]:
        """The server's checkpoints are not ours to read: a resume a claim started counts as delivered."""
        return {c.attempt_id for c in claims if c.resume_started}

    def verdicts(
        self,
        thread_id: str,
        claims: Sequence[Claim],
        before: Sequence[PendingInterrupt],
        after: Sequence[PendingInterrupt],
        head_before: str | None,
    ) -> dict[str, str]:
        """Not checked: outcome verification reads the local checkpointer (review/verify.py)."""
        return {}

    def _call(self, call: Callable[[], Any], thread_id: str) -> Any:
        try:
            return call()
        except Exception as exc:
            error = describe_error(exc, self.target)
            if isinstance(error, ThreadGone):
                self._forget(thread_id)
                raise ThreadGone(f"thread {thread_id} is {error}") from None
            raise error from None

    # --- listing ---------------------------------------------------------------------------

    def _check_graphs(self) -> None:
        """The configured graph ids exist on the server (once; an unknown id is one clear line)."""
        if self._graph_checked or not self.target.graph_ids:
            return
        served = {a.get("graph_id") for a in self.client.assistants.search(limit=1000, select=["graph_id"])}
        unknown = [g for g in self.target.graph_ids if g not in served]
        if unknown:
            names = ", ".join(sorted(str(g) for g in served if g)) or "none"
            raise ServerError(
                f"graph id {', '.join(unknown)} unknown on the Agent Server at {self.target.label} (it serves: {names})"
            )
        self._graph_checked = True

    def _filters(self) -> list[dict[str, Any] | None]:
        return [{"graph_id": g} for g in self.target.graph_ids] or [None]

    def _search(
        self,
        metadata: dict[str, Any] | None,
        *,
        first: int | None = None,
        select: list[str] = SELECT,
        **kwargs: Any,
    ) -> Iterator[dict[str, Any]]:
        """Every thread the search finds, page by page; `first` makes the first page small and the next ones grow
        tenfold (an update listing usually stops inside the first: a quiet poll costs a few threads, not a page)."""
        offset = 0
        limit = first or self._page
        while True:
            page = self.client.threads.search(metadata=metadata, limit=limit, offset=offset, select=select, **kwargs)
            self.stats.searched += len(page)
            yield from page
            if len(page) < limit:
                return
            offset += len(page)
            limit = min(limit * 10, self._page)

    def _paused(self, select: list[str] = SELECT) -> dict[str, dict[str, Any]]:
        """Every paused thread (interrupted, or busy with a run queued behind its interrupt), as searched."""
        return {
            thread["thread_id"]: thread
            for metadata in self._filters()
            for status in PAUSED
            for thread in self._search(metadata, status=status, select=select)
        }

    def _with_interrupts(self, thread_ids: Sequence[str]) -> dict[str, dict[str, Any]]:
        """These threads searched again with their `interrupts` (a thread deleted meanwhile is absent)."""
        found: dict[str, dict[str, Any]] = {}
        for start in range(0, len(thread_ids), self._page):
            chunk = list(thread_ids[start : start + self._page])
            page = self.client.threads.search(ids=chunk, limit=len(chunk), select=SELECT)
            self.stats.searched += len(page)
            found.update((thread["thread_id"], thread) for thread in page)
        return found

    def _full(self) -> None:
        """Every paused thread listed again from the search, its state read again behind (at start)."""
        self.stats = ListingStats(kind="full")
        top = self._top()  # taken BEFORE the search: a thread changing during it is listed again next time
        found = self._paused()
        with self._lock:
            before = self._threads
            self._threads, self._wanted, self._empty = {}, {}, {}
            for thread in found.values():
                self._relist(thread, None)
            self._watermark = top or max(map(_stamp, found.values()), default=None)
            self._full_at = time.monotonic()
            self._moved(before)

    def _reconcile(self) -> None:
        """Every paused thread's id and stamp, compared with what is held (the periodic check, `full_every`).

        An update listing cannot see a thread deleted on the server; this search can, and it reads states
        only for threads new or changed since they were read (or whose read failed): a paused server of 1,000
        threads costs one search call, not 1,000 get_state calls (on langgraph dev ~100-150 ms each).
        """
        self.stats = ListingStats(kind="reconcile")
        top = self._top()  # before the search: a thread changing during it is read again next time
        found = self._paused(STAMPS)  # stamps only: the rows of the few new or changed threads are asked next
        with self._lock:
            changed = [t for t, thread in found.items() if not self._unchanged(thread, self._threads.get(t))]
        listed = self._with_interrupts(changed)
        with self._lock:
            before = dict(self._threads)
            for thread_id in [t for t in self._threads if t not in found]:  # deleted, or no longer paused
                self._drop(thread_id)
            self._empty = {t: stamp for t, stamp in self._empty.items() if t in found}
            for thread_id in found:
                known = self._threads.get(thread_id)
                if thread_id in listed:
                    self._relist(listed[thread_id], known)
                elif known is not None and not known.verified and thread_id not in self._reading:
                    self._want(thread_id, known)  # its last read failed: once more
            self._watermark = max(filter(None, (top, self._watermark)), default=None)
            self._full_at = time.monotonic()
            self._moved(before)

    def _top(self) -> str | None:
        newest = [
            str(page[0].get("updated_at") or "")
            for metadata in self._filters()
            for page in [
                self.client.threads.search(
                    metadata=metadata, limit=1, sort_by="updated_at", sort_order="desc", select=["updated_at"]
                )
            ]
            if page
        ]
        return max(newest, default=None)

    def _updates(self) -> None:
        """Only the threads updated since the watermark: one search page when nothing changed."""
        self.stats = ListingStats(kind="updates")
        assert self._watermark is not None
        changed: dict[str, dict[str, Any]] = {}
        newest = self._watermark
        for metadata in self._filters():
            for thread in self._search(metadata, first=FIRST_UPDATES, sort_by="updated_at", sort_order="desc"):
                stamp = _stamp(thread)
                if stamp < self._watermark:
                    break
                newest = max(newest, stamp)
                changed[thread["thread_id"]] = thread
        with self._lock:
            before = dict(self._threads)
            for thread_id, thread in changed.items():
                known = self._threads.get(thread_id)
                if self._unchanged(thread, known):
                    continue
                if thread.get("status") in PAUSED:
                    self._relist(thread, known)
                else:  # idle, error: nothing waits for a reviewer
                    self._drop(thread_id)
            self._watermark = newest
            self._moved(before)

    def _unchanged(self, thread: dict[str, Any], known: _Known | None) -> bool:
        """The thread is held (or was read without rows) at the stamp the search gives it (lock held)."""
        stamp = _stamp(thread)
        if known is None:
            return self._empty.get(thread["thread_id"]) == stamp
        return known.updated_at == stamp

    def _relist(self, thread: dict[str, Any], known: _Known | None) -> None:
        """Hold a searched thread's rows from its `interrupts` field, unverified, and queue its state read (lock held).

        When the search names the very rows its state gave before, those stay shown as read while it is
        read again: a redraw would only flip their marks back and forth.
        """
        thread_id = thread["thread_id"]
        graph_id = _graph_id(thread.get("metadata")) or (known.graph_id if known is not None else None)
        rows = self._search_rows(thread_id, graph_id, thread)
        if known is not None and known.verified and _ids(known.rows) == _ids(rows):
            entry = replace(known, updated_at=_stamp(thread))
        else:
            request = known.request if known is not None else None
            entry = _Known(_stamp(thread), graph_id, tuple(rows), request, verified=False)
        self._threads[thread_id] = entry
        self._seen.add(thread_id)
        self._empty.pop(thread_id, None)
        self._want(thread_id, entry)

    def _search_rows(self, thread_id: str, graph_id: str | None, thread: dict[str, Any]) -> list[PendingInterrupt]:
        """Rows from a searched thread's `interrupts` ({task id: [interrupt, ...]}), marked unverified.

        Raised at the thread's stamp (the state's checkpoint time is not in the search); a batched request's
        actions get their tool call ids from the state's messages when it is read.
        """
        interrupts = thread.get("interrupts")
        groups = interrupts.values() if isinstance(interrupts, dict) else []
        items = [item for group in groups if isinstance(group, list) for item in group]
        return self._interrupt_rows(thread_id, graph_id, items, _stamp(thread) or None, [], unverified=True)

    def _drop(self, thread_id: str) -> None:
        """Hold nothing of the thread any more, nor read it (lock held)."""
        self._threads.pop(thread_id, None)
        self._wanted.pop(thread_id, None)

    def _moved(self, before: dict[str, _Known]) -> None:
        """Move `version` when a listing changed what is held (lock held)."""
        if before != self._threads:
            self._redraw(now=True)

    def _redraw(self, *, now: bool) -> None:
        """Move `version` (the Inbox redraws): at once, or, for reads that only confirm rows, at most every
        REDRAW_SECONDS, so reading 1,000 threads does not redraw an open Inbox 1,000 times (lock held)."""
        if now or time.monotonic() - self._redrawn_at >= REDRAW_SECONDS:
            self.version += 1
            self._redrawn_at = time.monotonic()
            self._redraw_due = False
        else:
            self._redraw_due = True

    # --- reading states behind the listing ---------------------------------------------

    def _want(self, thread_id: str, entry: _Known) -> None:
        """Queue the state read of a listed thread; a reader starts if fewer than `readers` run (lock held)."""
        self._wanted[thread_id] = entry
        self.stats.queued += 1
        self._work.notify()
        if len(self._reader_threads) < self.readers and not self._closed:
            reader = threading.Thread(target=self._read_wanted, name="review-server-reader", daemon=True)
            self._reader_threads.append(reader)
            reader.start()

    def _read_wanted(self) -> None:
        """A background reader: the next wanted thread's state, applied if nothing listed the thread since."""
        while True:
            with self._lock:
                self._work.wait_for(lambda: self._closed or bool(self._wanted))
                if self._closed:
                    return
                thread_id = next(iter(self._wanted))
                entry = self._wanted.pop(thread_id)
                self._reading.add(thread_id)
            try:
                state, failed = self._state_or_none(thread_id), None
            except Exception as exc:
                state, failed = None, describe_error(exc, self.target)
            with self._lock:
                self._reading.discard(thread_id)
                self.stats.states_read += 1
                if failed is not None:
                    self._failed_read(thread_id, failed)
                elif self._threads.get(thread_id) is entry:
                    self._verified(thread_id, entry, state)
                if not (self._wanted or self._reading):
                    self._settle()

    def _state_or_none(self, thread_id: str) -> dict[str, Any] | None:
        """The thread's state; None when the server no longer has it."""
        from langgraph_sdk import errors

        try:
            state: dict[str, Any] = self.client.threads.get_state(thread_id)
        except errors.NotFoundError:
            return None
        self._read_failing = False
        return state

    def _failed_read(self, thread_id: str, error: ServerError) -> None:
        """The row stays unverified (the next periodic check reads it again); said once per outage (lock held)."""
        if not self._read_failing:
            log.warning("%s: reading thread %s failed: %s", self.source, thread_id, error)
        self._read_failing = True

    def _verified(self, thread_id: str, entry: _Known, state: dict[str, Any] | None) -> None:
        """The state's rows replace the listed ones (lock held); the state wins where they disagree."""
        if state is None:  # deleted on the server since it was listed
            self._drop(thread_id)
            self._seen.discard(thread_id)
            self._redraw(now=True)
            return
        graph_id = entry.graph_id or _graph_id(state.get("metadata"))
        rows = tuple(self._rows(thread_id, graph_id, state))
        if rows:
            self._threads[thread_id] = _Known(entry.updated_at, graph_id, rows, _request(state), verified=True)
        else:
            del self._threads[thread_id]
            self._empty[thread_id] = entry.updated_at
        # The search named other rows than the state (stale, or changed meanwhile): show the truth at once.
        self._redraw(now=_shown(entry.rows) != _shown(rows))

    def _settle(self) -> None:
        """The last wanted read is done: redraw what was confirmed, wake `wait_verified` (lock held)."""
        if self._redraw_due:
            self._redraw(now=True)
        if self.stats.verified_seconds is None:
            self.stats.verified_seconds = time.perf_counter() - self.stats.started
        self._settled.notify_all()

    def _rows(self, thread_id: str, graph_id: str | None, state: dict[str, Any]) -> list[PendingInterrupt]:
        """One row per pending interrupt of the state's tasks, in task order (what `get_state().interrupts` lists)."""
        values: dict[str, Any] = state["values"] if isinstance(state.get("values"), dict) else {}
        items = [item for task in state.get("tasks") or [] for item in task.get("interrupts") or []]
        return self._interrupt_rows(thread_id, graph_id, items, state.get("created_at"), _tool_calls(values))

    def _interrupt_rows(
        self,
        thread_id: str,
        graph_id: str | None,
        items: Sequence[Any],
        raised_at: str | None,
        calls: list[dict[str, Any]],
        *,
        unverified: bool = False,
    ) -> list[PendingInterrupt]:
        """The rows of these interrupts (`{"id", "value", "response_schema"?}` each), as this server's."""
        rows: list[PendingInterrupt] = []
        for item in items:
            if not isinstance(item, dict) or not item.get("id"):
                continue
            found = rows_from_interrupt(
                thread_id, str(item["id"]), item.get("value"), item.get("response_schema"), raised_at, calls
            )
            rows += [replace(r, graph_id=graph_id, source=self.source, unverified=unverified) for r in found]
        return rows

    def _forget(self, thread_id: str) -> None:
        with self._lock:
            self._seen.discard(thread_id)
            self._views.pop(thread_id, None)
            self._wanted.pop(thread_id, None)
            if self._threads.pop(thread_id, None) is not None:
                self.version += 1

    def read_head(self, thread_id: str) -> tuple[list[PendingInterrupt], str | None]:
        """Rows and head checkpoint id, fresh from the thread's state (the server keeps no read to serve)."""
        rows, _, head = self.read_full(thread_id)
        return rows, head


@dataclass(eq=False)
class ServerSet:
    """Every configured Agent Server, polled in the background so a page never waits on the network."""

    sources: list[ServerSource] = field(default_factory=list)
    poll_seconds: float = 0.25
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None
    _jobs: dict[str, RunJob] = field(default_factory=dict)  # runs started on the servers, by job id
    _jobs_lock: threading.Lock = field(default_factory=threading.Lock)

    def __bool__(self) -> bool:
        return bool(self.sources)

    def refresh(self, *, full: bool = False) -> None:
        """Refresh every server's rows (`ServerSource.refresh`)."""
        for source in self.sources:
            source.refresh(full=full)

    def rows(self) -> list[PendingInterrupt]:
        """Every server's rows; read now, states included, when nobody polls (the CLI, a test: exact rows).

        A polling console returns at once what is held: rows not read yet are marked `unverified`.
        """
        if self._thread is None:  # nobody polls (the CLI, a test): read the updates now, and their states
            self.refresh()
            for source in self.sources:
                source.wait_verified()
        return [row for source in self.sources for row in source.rows()]

    def for_thread(self, thread_id: str) -> ServerSource | None:
        """The server a thread lives on: the one that listed it."""
        return next((s for s in self.sources if s.owns(thread_id)), None)

    def token(self) -> str:
        """Moves whenever any server's rows or error changed."""
        return ",".join(f"{s.version}{'!' if s.error else ''}" for s in self.sources)

    def health(self) -> list[str]:
        """One line per server whose last refresh failed."""
        return [s.error for s in self.sources if s.error]

    def start(self) -> None:
        """Refresh every `poll_seconds` in a daemon thread (a long-running console)."""
        if self.sources and self._thread is None:
            _LIVE.add(self)
            self._thread = threading.Thread(target=self._loop, name="review-servers", daemon=True)
            self._thread.start()

    def serving(self, graph_id: str | None) -> tuple[ServerSource, str]:
        """The server a new run of `graph_id` starts on (the first that serves it), and the graph id (None: the
        only graph the servers serve). ServerError says, in one line, what is served instead."""
        offered = [(source, served) for source in self.sources for served in source.served_graphs()]
        if graph_id is not None:
            found = next((source for source, served in offered if served == graph_id), None)
            if found is not None:
                return found, graph_id
        elif len({served for _, served in offered}) == 1:
            return offered[0]
        listed = "; ".join(
            f"{s.target.label}: {', '.join(g for o, g in offered if o is s) or 'none'}" for s in self.sources
        )
        if graph_id is None:
            raise ServerError(f"name the graph to start with --graph-id (the Agent Servers serve: {listed})")
        raise ServerError(f"no Agent Server serves graph id {graph_id} ({listed})")

    def start_run(self, source: ServerSource, graph_id: str, prompt: str = "", run_input: Any = None) -> RunJob:
        """Start `graph_id` in a new thread on `source`, followed to where it pauses or ends in a thread of its own;
        the job's progress and outcome read like a local run's (`ReviewConsole.start_run`).

        `run_input`: any JSON value; None sends the prompt as LangGraph's chat convention (a human message);
        ValueError when both are empty. The server runs the run: this console holds no lease for it (a server's
        runs are never continued here). Who may start runs is the caller's to check (the policy's `starters`).
        """
        if run_input is None:
            prompt = (prompt or "").strip()
            if not prompt:
                raise ValueError("the prompt is empty")
            run_input = {"messages": [{"role": "human", "content": prompt}]}
        job = RunJob(job_id=uuid.uuid4().hex, thread_id=str(uuid.uuid4()), kind="start")
        with self._jobs_lock:
            self._jobs[job.job_id] = job
            for old in [j for j in self._jobs.values() if j.done()][: max(0, len(self._jobs) - KEEP_JOBS)]:
                del self._jobs[old.job_id]
        worker = threading.Thread(
            target=_run_start, args=(source, job, graph_id, run_input), name="review-server-start", daemon=True
        )
        worker.start()
        return job

    def job(self, job_id: str) -> RunJob | None:
        """A run `start_run` started (None: not one of these)."""
        with self._jobs_lock:
            return self._jobs.get(job_id)

    def _loop(self) -> None:
        while not self._stop.wait(self.poll_seconds):
            try:
                self.refresh()
            except Exception:  # refresh reports through `error`; never let the poller die
                log.exception("refreshing Agent Server rows failed")

    def stop(self) -> None:
        """Stop polling and wait for the poller."""
        _LIVE.discard(self)
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=self.poll_seconds + 5)
        for source in self.sources:
            source.close()


_LIVE: weakref.WeakSet[ServerSet] = weakref.WeakSet()  # polling sets of this process


def _run_start(source: ServerSource, job: RunJob, graph_id: str, run_input: Any) -> None:
    """A new thread's run on the server, its progress into `job`, its pending rows read from the state at the end."""

    def progress(chunk: dict[str, Any]) -> None:
        for node, update in chunk.items():
            label = "review" if node == "__interrupt__" else node
            for line in describe_update(node, update):
                job.add_event(label, line)

    job.add_event("start", f"run started on {source.target.label} ({graph_id})")
    try:
        source.start(job.thread_id, run_input, graph_id=graph_id, token="", keys={}, on_chunk=progress)
        rows = source.read(job.thread_id)
    except BaseException as exc:  # surfaced through job.result(), like a local run's failure
        log.warning("run of %s on %s failed: %s", graph_id, source.target.label, exc)
        job.future.set_exception(exc)
        return
    from review.outcomes import ending  # the runner's last line for a run (that module imports this package)

    job.add_event("end", ending(rows))
    job.future.set_result(ThreadOutcome(job.thread_id, new_pending=rows))


# --- the webhook: a route of this process the server calls when a run the console started ends ----------------

RUN_ENDED_ROUTE = "/review/server-runs"  # serve.py serves it (POST, the run as JSON; `key` in the query)


@dataclass
class _Webhook:
    url: str | None = None  # what runs carry: None while no route is served (the CLI, `streamlit run app.py`)
    key: str = field(default_factory=lambda: secrets.token_urlsafe(18))  # only this process's runs carry it


_WEBHOOK = _Webhook()


def serve_webhook(base_url: str) -> str:
    """From now on, runs this process starts or resumes on an Agent Server carry a webhook to RUN_ENDED_ROUTE at
    `base_url` (this process's address as the server can reach it); returns that URL. serve.py calls it."""
    _WEBHOOK.url = f"{base_url.rstrip('/')}{RUN_ENDED_ROUTE}?key={_WEBHOOK.key}"
    return _WEBHOOK.url


def stop_webhook() -> None:
    """Runs started from now on carry no webhook (the route is gone)."""
    _WEBHOOK.url = None


def webhook_url() -> str | None:
    """The webhook runs started here carry (None: no route served, polling alone sees their end)."""
    return _WEBHOOK.url


def run_ended(payload: Any, key: str | None) -> bool:
    """The route's work: the server says a run ended; the servers that listed its thread read its state now, so
    an open Inbox shows what the run left without waiting for a poll. False: not our key, or no thread named."""
    if not key or not secrets.compare_digest(key, _WEBHOOK.key):
        return False
    thread_id = payload.get("thread_id") if isinstance(payload, dict) else None
    if not isinstance(thread_id, str) or not thread_id:
        return False
    for servers in list(_LIVE):
        for source in servers.sources:
            if source.owns(thread_id):
                source.run_ended(thread_id)
    return True


def live_token(own: ServerSet | None = None) -> str:
    """The rows' versions of every polling server set of this process, and of `own` ('' when none).

    The change route adds it to the store's token, so a row raised on a server wakes open Inboxes like a
    local one; a console's `inbox_token` adds it too (passing its own set), so the token a page was drawn
    at and the one the route answers are the same string when nothing moved (else the page would rerun
    on every poll).
    """
    sets = set(_LIVE)
    if own is not None and own.sources:
        sets.add(own)
    tokens = sorted(s.token() for s in sets)
    return f"|servers={';'.join(tokens)}" if tokens else ""


def _stamp(thread: dict[str, Any]) -> str:
    """A searched thread's `updated_at` (server clock, ISO: compares as text)."""
    return str(thread.get("updated_at") or "")


def _ids(rows: Sequence[PendingInterrupt]) -> list[str]:
    return [row.row_id for row in rows]


def _shown(rows: Sequence[PendingInterrupt]) -> list[tuple[Any, ...]]:
    """What a reviewer sees of rows, without their marks: a read that changes none of it need not redraw at once."""
    return [(r.row_id, r.tool, r.args, r.description, r.allowed_decisions, r.payload_kind) for r in rows]


def _graph_id(metadata: Any) -> str | None:
    value = metadata.get("graph_id") if isinstance(metadata, dict) else None
    return value if isinstance(value, str) and value else None


def _request(state: dict[str, Any]) -> str:
    values: dict[str, Any] = state["values"] if isinstance(state.get("values"), dict) else {}
    return first_human_text(list(values.get("messages") or []))


def _tool_calls(values: dict[str, Any]) -> list[dict[str, Any]]:
    """The latest AI message's tool calls, from the JSON messages the server returns."""
    for message in reversed(values.get("messages") or []):
        if not isinstance(message, dict):
            continue
        if message.get("tool_calls"):
            return [dict(call) for call in message["tool_calls"] if isinstance(call, dict)]
        if message.get("type") == "human":
            break
    return []


def _line(message: dict[str, Any]) -> ChatLine:
    content = message.get("content")
    kind = str(message.get("type") or message.get("role") or "unknown")
    return ChatLine(
        type=kind,
        content=content if isinstance(content, str) else str(content),
        name=message.get("name"),
        tool_calls=[
            {"name": c.get("name"), "args": c.get("args"), "id": c.get("id")}
            for c in message.get("tool_calls") or []
            if isinstance(c, dict)
        ],
        tool_call_id=message.get("tool_call_id"),
        status=message.get("status") if kind == "tool" else None,
    )


def _error_text(data: Any) -> str:
    if isinstance(data, dict):
        return f"{data.get('error', 'error')}: {str(data.get('message', ''))[:200]}"
    return str(data)[:200]
