"""`python -m bench.server` (part of `make bench`): the console's Agent Server source vs Agent Inbox's approach.

A real `langgraph dev` (in-memory, scripts/agent_server.py) serving the demo graph; `--threads` threads paused at
3 parallel interrupts each, started by real runs. Measured side by side in one run, on the same server:

- first rows: a fresh console's `ServerSource.refresh(full=True)` returns with every paused thread's rows listed
  from `threads.search(select=[..., "interrupts"])`, marked unverified, no state read yet;
- full verified listing: until that console read every listed thread's state behind the listing (8 at a time),
  vs Agent Inbox's approach, `threads.search` then one `get_state` per thread, in turn;
- incremental listing (what every poll of an open console costs): nothing changed, and K threads changed
  (one approved and resumed), vs the same baseline (Agent Inbox has no incremental read: every refresh is full);
- visibility: from `runs.create` of a new thread until its rows are in the console's rows, and until they are
  verified there (the background poller at its default interval, as a console runs) vs until
  `threads.search(status="interrupted")` polled back to back lists it, vs the run itself (`runs.join`).

Every listing is checked to hold the same rows as the baseline's before a time is kept.

    python -m bench.server [--threads 1000] [--out bench/results/server.md]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from bench.benchmarks import Figure, median_time
from review import Settings
from review.contract import rows_from_interrupt
from review.sources import ServerSource
from review.sources.server import FULL_EVERY_SECONDS, READERS, ServerSet, ServerTarget, _tool_calls
from scripts.agent_server import AgentServer
from tests.conftest import THREE_SHAPES

GRAPH = "canvas-shapes"
SETUP = (
    "a real `langgraph dev` (in-memory) on this machine serving the demo graph; its threads paused at 3 parallel "
    "interrupts by real runs; baseline: Agent Inbox's approach (threads.search, then get_state per thread in turn), "
    "measured in the same run on the same server; every console listing checked equal to the baseline's"
)
ROOT = Path(__file__).resolve().parent.parent


def seed(client: Any, count: int, prompt: str = THREE_SHAPES, workers: int = 8) -> list[str]:
    """`count` new threads, each run until it pauses (real runs of the demo graph on the server)."""

    def one(_: int) -> str:
        thread_id = str(client.threads.create()["thread_id"])
        client.runs.wait(thread_id, GRAPH, input={"messages": [{"role": "human", "content": prompt}]})
        return thread_id

    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(one, range(count)))


def agent_inbox_listing(client: Any, page: int = 100) -> dict[str, list[str]]:
    """Agent Inbox's way: `threads.search(status="interrupted")` page by page, then `get_state` per thread in turn.

    Returns thread id -> interrupt ids, read from the state's tasks (so the comparison is of the same rows).
    """
    found: list[str] = []
    offset = 0
    while True:
        batch = client.threads.search(status="interrupted", limit=page, offset=offset)
        found += [t["thread_id"] for t in batch]
        if len(batch) < page:
            break
        offset += len(batch)
    listing: dict[str, list[str]] = {}
    for thread_id in found:
        state = client.threads.get_state(thread_id)
        values = state.get("values") if isinstance(state.get("values"), dict) else {}
        calls = _tool_calls(values or {})
        ids = [
            row.row_id
            for task in state.get("tasks") or []
            for item in task.get("interrupts") or []
            for row in rows_from_interrupt(thread_id, item["id"], item.get("value"), None, None, calls)
        ]
        if ids:
            listing[thread_id] = ids
    return listing


def as_listing(source: ServerSource) -> dict[str, list[str]]:
    """Thread id -> row ids, as the console lists them."""
    listing: dict[str, list[str]] = {}
    for row in source.rows():
        listing.setdefault(row.thread_id, []).append(row.row_id)
    return listing


def approve_one(client: Any, thread_id: str) -> None:
    """A change on the server: one interrupt of the thread answered (a split resume), run to its end."""
    state = client.threads.get_state(thread_id)
    first = next(item for task in state["tasks"] for item in task.get("interrupts") or [])
    client.runs.wait(thread_id, GRAPH, command={"resume": {first["id"]: {"type": "approve"}}})


def visible_once(client: Any, servers: ServerSet) -> dict[str, float]:
    """One new thread: run-start -> rows listed in the polling console; -> their state read there; -> listed by a
    tight search loop; -> run ended (seconds each)."""
    thread_id = str(client.threads.create()["thread_id"])
    seen: dict[str, float] = {}
    stop = threading.Event()

    def watch_console() -> None:
        while not stop.is_set() and "verified" not in seen:
            rows = [r for r in servers.rows() if r.thread_id == thread_id]
            if rows and "console" not in seen:
                seen["console"] = time.perf_counter()
            if rows and not any(r.unverified for r in rows):
                seen["verified"] = time.perf_counter()
            time.sleep(0.002)

    def watch_search() -> None:
        while not stop.is_set():
            found = client.threads.search(
                status="interrupted", limit=5, sort_by="updated_at", sort_order="desc", select=["thread_id"]
            )
            if any(t["thread_id"] == thread_id for t in found):
                seen["search"] = time.perf_counter()
                return

    watchers = [threading.Thread(target=watch_console), threading.Thread(target=watch_search)]
    for watcher in watchers:
        watcher.start()
    started = time.perf_counter()
    run = client.runs.create(
        thread_id, GRAPH, input={"messages": [{"role": "human", "content": "Draw a red circle v1"}]}
    )
    client.runs.join(thread_id, run["run_id"])
    seen["run"] = time.perf_counter()
    for watcher in watchers:
        watcher.join(30)
    stop.set()
    if not {"console", "verified", "search"} <= set(seen):
        raise AssertionError(f"thread {thread_id} never showed: {sorted(seen)}")
    return {what: at - started for what, at in seen.items()}


def visibility(client: Any, source: ServerSource, trials: int, poll_seconds: float) -> dict[str, list[float]]:
    """`trials` times `visible_once`, with `source` (listed already) polled in the background as a console does."""
    servers = ServerSet([source], poll_seconds=poll_seconds)
    servers.start()
    try:
        results = [visible_once(client, servers) for _ in range(trials)]
    finally:
        servers.stop()  # closes the source too: the last figure that uses it
    return {what: [r[what] for r in results] for what in results[0]}


def fresh_listing(url: str, readers: int = READERS) -> tuple[ServerSource, float, float]:
    """A console source that never listed this server: seconds until its first rows are listed (the searches,
    states not read), and until every listed thread's state was read (the rows exact)."""
    source = ServerSource(ServerTarget(url), timeout=60, full_every=float("inf"), readers=readers)
    started = time.perf_counter()
    source.refresh(full=True)
    first = time.perf_counter() - started
    source.wait_verified()
    return source, first, time.perf_counter() - started


def p90(values: Sequence[float]) -> float:
    return sorted(values)[int(0.9 * (len(values) - 1))]


def run(
    threads: int = 1_000, repeats: int = 5, ks: Sequence[int] = (1, 10), trials: int = 20, pairs: int = 3
) -> list[Figure]:
    from langgraph_sdk import get_sync_client

    figures: list[Figure] = []
    with tempfile.TemporaryDirectory(prefix="review-bench-server-") as folder:
        server = AgentServer(Path(folder)).start()
        try:
            client = get_sync_client(url=server.url, api_key=None, timeout=60)
            started = time.perf_counter()
            paused = seed(client, threads)
            print(f"Agent Server: seeded {len(paused):,} paused threads in {time.perf_counter() - started:.1f} s")
            rows = 3 * threads
            # Each listing costs a get_state per thread, and the in-memory server's get_state grows with its
            # thread count: few pairs, interleaved (baseline, console), each checked equal.
            base_times, first_times, full_times = [], [], []
            source: ServerSource | None = None
            for _ in range(pairs):
                started = time.perf_counter()
                truth = agent_inbox_listing(client)
                base_times.append(time.perf_counter() - started)
                if sum(map(len, truth.values())) != rows:
                    raise AssertionError(f"baseline listed {sum(map(len, truth.values()))} rows, not {rows}")
                if source is not None:
                    source.close()
                source, first_s, full_s = fresh_listing(server.url)
                first_times.append(first_s)
                full_times.append(full_s)
                same(source, "verified listing", truth)
            assert source is not None
            base_s = statistics.median(base_times)
            per_state = base_s / threads
            first_s = statistics.median(first_times)
            figures.append(
                Figure(
                    f"(S0) Agent Server: first rows visible, {threads:,} paused threads ({rows:,} rows)",
                    first_s,
                    base_s,
                    target="<= 1 s",
                    met=first_s <= 1.0,
                    note=f"console: {source.stats.searched:,} threads from threads.search(select=[..., interrupts]), "
                    "each row marked unverified, no state read yet; baseline: its rows show when its listing ends; "
                    f"median of {pairs}",
                )
            )
            full_s = statistics.median(full_times)
            figures.append(
                Figure(
                    f"(S1) Agent Server: full verified listing, {threads:,} paused threads ({rows:,} rows)",
                    full_s,
                    base_s,
                    target="no slower than the baseline",
                    met=full_s <= base_s,
                    note=f"baseline: threads.search + get_state per thread in turn ({per_state * 1e3:.1f} ms each); "
                    f"console: until the same {threads:,} states were read behind the listing, {READERS} at a time; "
                    f"median of {pairs} interleaved pairs",
                )
            )
            figures += incremental(client, source, paused, base_s, repeats, ks)
            figures += visible(client, source, trials)
        finally:
            server.stop()
    return figures


def same(source: ServerSource, what: str, truth: dict[str, list[str]]) -> None:
    if as_listing(source) != truth:
        raise AssertionError(f"{what}: the console's rows differ from Agent Inbox's listing")


def incremental(
    client: Any, source: ServerSource, paused: list[str], base_s: float, repeats: int, ks: Sequence[int]
) -> list[Figure]:
    """What every poll of an open console costs: nothing changed, the periodic check, K threads changed."""
    figures = []
    truth = as_listing(source)
    quiet_s = median_time(lambda: source.refresh(), 50)
    same(source, "incremental listing", truth)
    figures.append(
        Figure(
            "(S2) Agent Server: refresh, nothing changed (every poll of an open console)",
            quiet_s,
            base_s,
            note=f"{source.stats.searched} thread(s) searched, {source.stats.queued} state(s) read; "
            "Agent Inbox has no incremental read: each refresh is the full listing",
        )
    )
    source.full_every = 0.0  # the periodic check of every paused thread, nothing changed
    check_s = median_time(lambda: (source.refresh(), source.wait_verified()), repeats)
    same(source, "periodic check", truth)
    figures.append(
        Figure(
            f"(S2b) Agent Server: periodic check of every paused thread (every {FULL_EVERY_SECONDS:g} s)",
            check_s,
            base_s,
            note=f"{source.stats.searched:,} thread(s) searched, {source.stats.queued} state(s) read: "
            "finds threads deleted on the server, which an update listing cannot",
        )
    )
    source.full_every = float("inf")
    for k in [k for k in ks if k * repeats <= len(paused)]:  # each repeat changes k threads not changed yet
        times = []
        for _ in range(repeats):
            changed, paused[:] = paused[:k], paused[k:]
            for thread_id in changed:
                approve_one(client, thread_id)  # a split resume: the thread stays paused, 2 rows left
            times.append(median_time(lambda: (source.refresh(), source.wait_verified()), 1))
        figures.append(
            Figure(
                f"(S3) Agent Server: refresh, {k} thread(s) changed",
                statistics.median(times),
                base_s,
                note=f"listed from the search, then {source.stats.states_read} state(s) read (timed until read)",
            )
        )
    same(source, "incremental listing after the changes", agent_inbox_listing(client))
    return figures


def visible(client: Any, source: ServerSource, trials: int) -> list[Figure]:
    """How soon a new thread's interrupt shows in a polling console, and is verified there."""
    poll = Settings().server_poll_seconds
    seen = visibility(client, source, trials, poll)
    search_s, run_s = statistics.median(seen["search"]), statistics.median(seen["run"])
    return [
        Figure(
            f"(S4) Agent Server: interrupt visible after its run starts (median of {trials})",
            statistics.median(seen["console"]),
            search_s,
            note=f"console: background poll every {poll:g} s (REVIEW_SERVER_POLL_SECONDS), rows from the search; "
            f"baseline: threads.search back to back; the run itself takes {run_s * 1e3:.0f} ms; "
            f"console p90 {p90(seen['console']) * 1e3:.0f} ms",
        ),
        Figure(
            f"(S4b) Agent Server: interrupt verified after its run starts (median of {trials})",
            statistics.median(seen["verified"]),
            search_s,
            note=f"its state read behind the listing; console p90 {p90(seen['verified']) * 1e3:.0f} ms",
        ),
    ]


def quick_settings(quick: bool) -> dict[str, int]:
    """Repeats, trials and pairs: a smoke run (`--quick`) or figures to publish."""
    return {"repeats": 2, "trials": 5, "pairs": 1} if quick else {"repeats": 5, "trials": 20, "pairs": 2}


def main(argv: Sequence[str] | None = None, emit: Callable[[str], None] = print) -> int:
    from bench.__main__ import table

    parser = argparse.ArgumentParser(prog="python -m bench.server", description=__doc__.split("\n\n")[0])
    parser.add_argument("--threads", type=int, default=1_000, help="paused threads on the server (default 1,000)")
    parser.add_argument("--quick", action="store_true", help="fewer repeats and trials: a smoke run")
    parser.add_argument("--out", default=str(ROOT / "bench" / "results" / "server.md"), help="markdown report")
    args = parser.parse_args(argv)
    figures = run(args.threads, **quick_settings(args.quick))
    text = f"- {SETUP}\n\n" + table({"Agent Server": figures})
    emit(text)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("# Agent Server benchmarks\n\n" + text + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
