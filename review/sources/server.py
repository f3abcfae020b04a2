"""Pending interrupts of graphs deployed on a LangGraph Agent Server, and their resumes, via langgraph-sdk.

What the Agent Server gets wrong for an inbox, and what this source does instead (measured against
`langgraph dev`, see README "Agents on a LangGraph Agent Server"):
- a thread's `interrupts` field goes stale after a split resume (it still lists tool calls that ran):
  rows come from the thread STATE's tasks, one row per pending interrupt, like a local graph's;
- re-reading every interrupted thread on every refresh costs a `threads.search` plus one
  `get_state` per thread: a refresh asks only for threads updated since the last one
  (`sort_by="updated_at"` descending, stopping at the first older thread) and re-reads those;
- the double-texting default "enqueue" queues a second resume that then does nothing: every resume
  is sent with `multitask_strategy="reject"`, and a refusal is reported as a conflict (`RunRefused`).

Claims, the decision log and leases stay in the console's store: this module only reads the server
and sends one run per thread.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
import weakref
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit, urlunsplit

from review.contract import PendingInterrupt, resume_map, rows_from_interrupt
from review.idempotency import IDEMPOTENCY_KEYS
from review.threads import ChatLine, ThreadView, first_human_text

if TYPE_CHECKING:
    from review.storage import Claim

log = logging.getLogger(__name__)

PAGE = 200  # threads per `threads.search` call (the server's maximum is 1000)
FIRST_UPDATES = 10  # the first page of an update listing: a quiet poll reads this many threads
VIEWS_KEPT = 200  # thread views kept for when the server cannot be asked
READERS = 8  # get_state calls in flight during a full listing
FULL_EVERY_SECONDS = 60.0  # a search of every paused thread finds those deleted on the server (updates cannot)
SELECT = ["thread_id", "updated_at", "status", "metadata"]


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
    updated_at: str
    graph_id: str | None
    rows: tuple[PendingInterrupt, ...]
    request: str = ""  # the thread's first human message: what names it in the Inbox


@dataclass
class ListingStats:
    """What the last refresh cost: shown by the bench, asserted by the tests (incremental means few reads)."""

    kind: str = ""  # full | updates | reconcile
    searched: int = 0  # threads the searches returned
    states_read: int = 0  # get_state calls
    seconds: float = 0.0


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
        client: Any = None,
    ) -> None:
        self.target = target
        self.source = target.source
        # Typed Any: the SDK's TypedDicts are read as the plain JSON they are.
        self.client: Any = client or _sdk_client(target, timeout)
        self._page = page
        self.full_every = full_every  # seconds between checks of every paused thread (`_reconcile`)
        self._lock = threading.RLock()
        self._threads: dict[str, _Known] = {}
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
            known = sorted(self._threads.values(), key=lambda k: (k.rows[0].raised_at or "", k.rows[0].thread_id))
            return [row for k in known for row in k.rows]

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

        On failure the rows of the last good refresh stay and `error` says why (one line).
        """
        with self._lock:
            started = time.perf_counter()
            try:
                self._check_graphs()
                if full or self._watermark is None:
                    changed = self._full()
                elif time.monotonic() - self._full_at > self.full_every:
                    changed = self._reconcile()
                else:
                    changed = self._updates()
            except Exception as exc:
                self.error = str(describe_error(exc, self.target))
                log.warning("%s: %s", self.source, self.error)
                return self.rows()
            self.error = None
            self.stats.seconds = time.perf_counter() - started
            if changed:
                self.version += 1
            return self.rows()

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
            if rows:
                self._threads[thread_id] = _Known(old.updated_at if old else "", graph_id, tuple(rows), _request(state))
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
        created = self._call(
            lambda: self.client.runs.create(
                thread_id,
                graph_id,
                multitask_strategy="reject",
                stream_mode=["updates"],
                config={"configurable": {IDEMPOTENCY_KEYS: keys}},
                **run,
            ),
            thread_id,
        )
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
        self, metadata: dict[str, Any] | None, *, first: int | None = None, **kwargs: Any
    ) -> Iterator[dict[str, Any]]:
        """Every thread the search finds, page by page; `first` makes the first page small (an update listing
        usually stops inside it: a quiet poll then costs a few threads, not a full page)."""
        offset = 0
        limit = first or self._page
        while True:
            page = self.client.threads.search(metadata=metadata, limit=limit, offset=offset, select=SELECT, **kwargs)
            self.stats.searched += len(page)
            yield from page
            if len(page) < limit:
                return
            offset += len(page)
            limit = self._page

    def _full(self) -> bool:
        """Every interrupted thread, read again (at start, and now and then to see deleted threads)."""
        self.stats = ListingStats(kind="full")
        top = self._top()  # taken BEFORE the reads: a thread changing during them is read again next time
        found: dict[str, str | None] = {}
        updated: dict[str, str] = {}
        for metadata in self._filters():
            for thread in self._search(metadata, status="interrupted"):
                found[thread["thread_id"]] = _graph_id(thread.get("metadata"))
                updated[thread["thread_id"]] = str(thread.get("updated_at") or "")
        states = self._states(list(found))
        fresh: dict[str, _Known] = {}
        for thread_id, state in states.items():
            rows = self._rows(thread_id, found[thread_id], state)
            if rows:
                fresh[thread_id] = _Known(updated[thread_id], found[thread_id], tuple(rows), _request(state))
        changed = fresh != self._threads
        self._threads = fresh
        self._seen.update(fresh)
        self._watermark = top or max(updated.values(), default=None)
        self._full_at = time.monotonic()
        return changed

    def _reconcile(self) -> bool:
        """Every paused thread's id and stamp, compared with the rows held (the periodic check, `full_every`).

        An update listing cannot see a thread deleted on the server; this search can, and it reads states
        only for threads new or changed since they were read: a paused server of 1,000 threads costs a few
        search pages, not 1,000 get_state calls (on langgraph dev ~94 ms each).
        """
        self.stats = ListingStats(kind="reconcile")
        top = self._top()  # before the search: a thread changing during it is read again next time
        found: dict[str, dict[str, Any]] = {}
        for metadata in self._filters():
            for thread in self._search(metadata, status="interrupted"):
                found[thread["thread_id"]] = thread
        before = dict(self._threads)
        for thread_id in [t for t in self._threads if t not in found]:  # deleted, or no longer paused
            del self._threads[thread_id]
        stale = [
            thread_id
            for thread_id, thread in found.items()
            if (known := self._threads.get(thread_id)) is None
            or known.updated_at != str(thread.get("updated_at") or "")
        ]
        states = self._states(stale)
        for thread_id in stale:
            self._keep(found[thread_id], states.get(thread_id))
        self._watermark = max(filter(None, (top, self._watermark)), default=None)
        self._full_at = time.monotonic()
        return before != self._threads

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

    def _updates(self) -> bool:
        """Only the threads updated since the watermark: one search page when nothing changed."""
        self.stats = ListingStats(kind="updates")
        assert self._watermark is not None
        changed: dict[str, dict[str, Any]] = {}
        newest = self._watermark
        for metadata in self._filters():
            for thread in self._search(metadata, first=FIRST_UPDATES, sort_by="updated_at", sort_order="desc"):
                stamp = str(thread.get("updated_at") or "")
                if stamp < self._watermark:
                    break
                newest = max(newest, stamp)
                known = self._threads.get(thread["thread_id"])
                if known is None or known.updated_at != stamp:
                    changed[thread["thread_id"]] = thread
        paused = [t for t, thread in changed.items() if thread.get("status") == "interrupted"]
        states = self._states(paused)
        before = dict(self._threads)
        for thread_id, thread in changed.items():
            self._keep(thread, states.get(thread_id))
        self._watermark = newest
        return before != self._threads

    def _keep(self, thread: dict[str, Any], state: dict[str, Any] | None) -> None:
        """Hold a searched thread's rows from its state (None: deleted meanwhile, or not paused): none, it leaves."""
        thread_id = thread["thread_id"]
        graph_id = _graph_id(thread.get("metadata"))
        rows = self._rows(thread_id, graph_id, state) if state is not None else []
        if rows:
            stamp = str(thread.get("updated_at") or "")
            self._threads[thread_id] = _Known(stamp, graph_id, tuple(rows), _request(state or {}))
            self._seen.add(thread_id)
        else:
            self._threads.pop(thread_id, None)

    def _states(self, thread_ids: Sequence[str]) -> dict[str, dict[str, Any]]:
        """The states of these threads, read concurrently; a thread deleted meanwhile is absent."""
        from langgraph_sdk import errors

        def one(thread_id: str) -> tuple[str, dict[str, Any] | None]:
            try:
                return thread_id, self.client.threads.get_state(thread_id)
            except errors.NotFoundError:
                return thread_id, None

        self.stats.states_read += len(thread_ids)
        if len(thread_ids) <= 1:
            pairs: Iterable[tuple[str, dict[str, Any] | None]] = map(one, thread_ids)
        else:
            with ThreadPoolExecutor(max_workers=READERS, thread_name_prefix="review-server") as pool:
                pairs = list(pool.map(one, thread_ids))
        return {thread_id: state for thread_id, state in pairs if state is not None}

    def _rows(self, thread_id: str, graph_id: str | None, state: dict[str, Any]) -> list[PendingInterrupt]:
        """One row per pending interrupt of the state's tasks, in task order (what `get_state().interrupts` lists)."""
        values: dict[str, Any] = state["values"] if isinstance(state.get("values"), dict) else {}
        calls = _tool_calls(values)
        raised_at = state.get("created_at")
        rows: list[PendingInterrupt] = []
        for task in state.get("tasks") or []:
            for item in task.get("interrupts") or []:
                if not isinstance(item, dict) or not item.get("id"):
                    continue
                found = rows_from_interrupt(
                    thread_id, str(item["id"]), item.get("value"), item.get("response_schema"), raised_at, calls
                )
                rows += [replace(row, graph_id=graph_id, source=self.source) for row in found]
        return rows

    def _forget(self, thread_id: str) -> None:
        with self._lock:
            self._seen.discard(thread_id)
            self._views.pop(thread_id, None)
            if self._threads.pop(thread_id, None) is not None:
                self.version += 1


@dataclass(eq=False)
class ServerSet:
    """Every configured Agent Server, polled in the background so a page never waits on the network."""

    sources: list[ServerSource] = field(default_factory=list)
    poll_seconds: float = 0.25
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def __bool__(self) -> bool:
        return bool(self.sources)

    def refresh(self, *, full: bool = False) -> None:
        """Refresh every server's rows (`ServerSource.refresh`)."""
        for source in self.sources:
            source.refresh(full=full)

    def rows(self) -> list[PendingInterrupt]:
        """Every server's rows; read now when nobody polls (the CLI, a test)."""
        if self._thread is None:  # nobody polls (the CLI, a test): read the updates now
            self.refresh()
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


_LIVE: weakref.WeakSet[ServerSet] = weakref.WeakSet()  # polling sets of this process


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
