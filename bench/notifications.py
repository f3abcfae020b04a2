"""The notification figures of issue 21 (`make bench` runs them on both backends; `python -m bench.notifications`
alone): a console process with a `[[notify]]` webhook route and its notifier, and a local HTTP receiver.

- (8a) interrupt -> webhook received: runs paused one after another, each with a new row; latency = the
  receiver's arrival time - the row's `raised_at` (the checkpoint time of the step that raised it, a little
  before its interrupt's commit: an upper bound); the notifier's defaults (settle 0.2 s, poll 1 s).
- (8b) 1,000 new rows delivered as digests: a store seeded with 334 threads paused at 3 interrupts; one
  observation records them, one worker sends; the time to the last message received, and the messages sent.
- (8c) the outbox's cost on a refresh: a new paused thread, then the Inbox's refresh (`console.pending()`),
  with the process's notifier running (it lists, records and sends the same change in its own threads) and
  without, in ABBA blocks of 10 changes; the cost is the difference of the medians, an A/A control beside it.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from bench.benchmarks import Figure, outside_graph, timed
from bench.seed import run_paused, seed
from review import ReviewConsole, Settings
from review.notify import NotifyService
from scripts.pg_cluster import Cluster, bin_dir, free_port

HOOK = "BENCH_HOOK_URL"
ROUTE = f'[[notify]]\nname = "bench hook"\nchannel = "webhook"\nurl_secret = "{HOOK}"\n'
KEY = "bench-signing-key"
DIGEST_THREADS = 334  # x 3 interrupts: 1,002 new rows


class Receiver:
    """A local webhook receiver: what arrived (its body's JSON) and when (epoch seconds)."""

    def __init__(self) -> None:
        self.got: list[tuple[float, dict[str, Any]]] = []
        self.lock = threading.Lock()
        port = free_port()
        self.url = f"http://127.0.0.1:{port}/hook"
        self.server = ThreadingHTTPServer(("127.0.0.1", port), self._handler())
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                arrived = time.time()
                with receiver.lock:
                    receiver.got.append((arrived, json.loads(body)))
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        return Handler

    def count(self) -> int:
        with self.lock:
            return len(self.got)

    def wait_for(self, count: int, timeout: float = 60.0) -> list[tuple[float, dict[str, Any]]]:
        deadline = time.monotonic() + timeout
        while self.count() < count:
            if time.monotonic() > deadline:
                raise AssertionError(f"the receiver got {self.count()} message(s), expected {count}")
            time.sleep(0.002)
        with self.lock:
            return list(self.got)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def fresh_store(like: str, work: Path, name: str) -> str:
    """A new empty store beside `like`: a SQLite file in `work`, or a new database on `like`'s server."""
    if "://" not in like:
        return str(work / f"{name}_{uuid.uuid4().hex[:8]}.sqlite")
    import psycopg

    database = f"{name}_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(like, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{database}"')
    return f"{like.rsplit('/', 1)[0]}/{database}"


@contextmanager
def notifying_console(db: str, work: Path) -> Iterator[ReviewConsole]:
    """A console over `db` whose policy routes every row to the bench's webhook."""
    policy = work / f"notify-policy-{uuid.uuid4().hex[:8]}.toml"
    policy.write_text(ROUTE, encoding="utf-8")
    console = ReviewConsole.open(settings=Settings.from_env(db=db, policy=str(policy)))
    try:
        yield console
    finally:
        console.close()


def _env(receiver: Receiver) -> dict[str, str]:
    return {HOOK: receiver.url, "REVIEW_WEBHOOK_KEY": KEY}


def bench_webhook_latency(db: str, work: Path, trials: int = 20) -> list[Figure]:
    """(8a) From a run's interrupt to its message at the receiver, with the notifier as a console runs it."""
    name = f"(8a) interrupt -> webhook received, p95 ({trials} runs, one row each)"
    receiver = Receiver()
    latencies: list[float] = []
    try:
        with notifying_console(db, work) as console:
            service = NotifyService(console, env=_env(receiver)).start()
            try:
                for trial in range(trials):
                    console.start_run(f"Draw a red circle w{trial}").result(timeout=60)
                    arrived, body = receiver.wait_for(trial + 1)[trial]
                    raised = datetime.fromisoformat(body["rows"][0]["raised_at"]).timestamp()
                    latencies.append(arrived - raised)
            finally:
                service.stop()
    finally:
        receiver.close()
    ordered = sorted(latencies)
    p95 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))]
    return [
        Figure(
            name,
            p95,
            None,
            "<= 1 s",
            p95 <= 1.0,
            f"p50 {statistics.median(latencies) * 1e3:.0f} ms, max {ordered[-1] * 1e3:.0f} ms; from the row's "
            "raised_at (its checkpoint, just before the interrupt's commit) to the local receiver; settle 0.2 s",
        )
    ]


def bench_digests(db: str, work: Path, threads: int = DIGEST_THREADS) -> list[Figure]:
    """(8b) `threads` threads paused at 3 new rows each: recorded by one observation, sent by one worker."""
    seed(db, threads, threads, replace=True)
    receiver = Receiver()
    try:
        with notifying_console(db, work) as console:
            rows = len(console.pending())
            service = NotifyService(console, env=_env(receiver))  # its threads not started: driven here
            started = time.perf_counter()
            recorded = service.observe_now()
            recorded_s = time.perf_counter() - started
            while receiver.count() < recorded:
                if not service.worker.run_once():
                    time.sleep(0.005)  # the settle window: the first message is due 0.2 s after the rows
                if time.perf_counter() - started > 300:
                    raise AssertionError(f"{receiver.count()} of {recorded} messages in 300 s")
            delivered_s = time.perf_counter() - started
            carried = sum(len(body["rows"]) for _, body in receiver.got)
    finally:
        receiver.close()
    if carried != rows:
        raise AssertionError(f"the messages carried {carried} rows, {rows} were new")
    return [
        Figure(
            f"(8b) {rows:,} new rows ({threads} threads) delivered as digests",
            delivered_s,
            None,
            "one message per thread batch",
            recorded == threads == receiver.count(),
            f"{receiver.count()} messages sent (one per thread) by one worker; recorded in {recorded_s * 1e3:.0f} ms; "
            "the time includes the 0.2 s settle window",
        )
    ]


def bench_refresh_cost(db: str, work: Path, trials: int = 60, block: int = 10) -> list[Figure]:
    """(8c) The Inbox's refresh after an agent paused a new thread (written outside the console, as an agent
    process does), with the process's notifier running and without. With it, the notifier's observer wakes on
    the same change, lists through the same console, records and sends.

    The notifier runs as in a console, for `block` changes at a time (not started anew for each), in blocks
    ordered ABBA, `trials` changes on each side; each change waits for its message (or as long without a
    notifier). A refresh is ~0.5 ms: the spread between two sides that are the SAME (an A/A control: the blocks
    without a notifier split in two) is reported beside the cost, so a figure within the noise reads as such."""
    receiver = Receiver()
    times: dict[bool, list[float]] = {True: [], False: []}
    control: list[list[float]] = [[], []]
    observe_s: list[float] = []
    try:
        with notifying_console(db, work) as console, outside_graph(db) as graph:
            paused = len({row.thread_id for row in console.pending()})
            block = max(1, min(block, trials // 2))  # at least two blocks a side: the control compares two
            blocks = -(-trials // block)
            for number in range(2 * blocks):
                running = number % 4 in (0, 3)  # ABBA: neither side always goes first after the other
                service = NotifyService(console, env=_env(receiver)).start() if running else None
                try:
                    time.sleep(0.3)  # its first look is done: the changes below are the only news
                    for change in range(block):
                        thread_id = f"refresh-cost-{number}-{change}-{uuid.uuid4().hex[:6]}"
                        arrived = receiver.count()
                        run_paused(graph, thread_id, f"Draw a blue square r{number}x{change}")
                        took = timed(console.pending)
                        times[running].append(took)
                        if not running:  # the baseline's blocks, alternately
                            control[sum(n % 4 in (1, 2) for n in range(number)) % 2].append(took)
                        if not any(row.thread_id == thread_id for row in console.pending()):
                            raise AssertionError(f"the refresh did not list {thread_id}")
                        if service is not None:
                            receiver.wait_for(arrived + 1)
                            rows = console.pending()
                            observe_s.append(timed(lambda: service.outbox.observe(rows)))  # noqa: B023
                        else:  # as long as a message takes (its settle window), waited the same way
                            deadline = time.monotonic() + 0.25
                            while time.monotonic() < deadline:
                                time.sleep(0.002)
                finally:
                    if service is not None:
                        service.stop()
    finally:
        receiver.close()
    with_s, without_s = statistics.median(times[True]), statistics.median(times[False])
    cost = with_s / without_s - 1
    spread = statistics.median(control[1]) / statistics.median(control[0]) - 1
    return [
        Figure(
            f"(8c) the outbox's cost on a refresh after a change ({len(times[True])} + {len(times[False])}, "
            "ABBA blocks)",
            with_s,
            without_s,
            "<= 5%",
            cost <= 0.05,
            f"{cost * 100:+.1f}% (baseline: the same refresh without a notifier; A/A control, the baseline's own "
            f"blocks split in two: {spread * 100:+.1f}%), on the digests' store ({paused:,} paused threads and one "
            f"more per change); the observer's own look at that listing {statistics.median(observe_s) * 1e3:.1f} ms "
            "per change, in its thread",
        )
    ]


def bench_notifications(like: str, work: Path, *, trials: int = 20, threads: int = DIGEST_THREADS) -> list[Figure]:
    """Every notification figure on the backend of `like` (a store path or URL), on fresh stores of its own."""
    figures = bench_webhook_latency(fresh_store(like, work, "notify_latency"), work, trials=trials)
    digest_db = fresh_store(like, work, "notify_digests")
    figures += bench_digests(digest_db, work, threads=threads)
    # A refresh of ~0.5 ms, compared to within 5%: five times the samples of the other figures, the notifier
    # running for 10 changes at a time (20 + 20 per-change starts moved by up to ±10% from run to run).
    figures += bench_refresh_cost(digest_db, work, trials=5 * trials)
    return figures


def main(argv: Sequence[str] | None = None) -> int:
    """`python -m bench.notifications [--postgres URL]`: these figures alone (SQLite, and PostgreSQL when given)."""
    from bench.__main__ import table

    parser = argparse.ArgumentParser(prog="python -m bench.notifications", description=__doc__.split("\n\n")[0])
    parser.add_argument("--postgres", help="a server URL whose databases the figures use (default: a private one)")
    parser.add_argument("--no-postgres", action="store_true", help="SQLite only")
    parser.add_argument("--trials", type=int, default=20)
    args = parser.parse_args(argv)
    columns: dict[str, Sequence[Figure]] = {}
    with tempfile.TemporaryDirectory(prefix="review-bench-notify-") as tmp:
        work = Path(tmp)
        work.chmod(0o755)  # a private cluster's server runs as `postgres`
        columns["SQLite"] = bench_notifications(str(work / "x.sqlite"), work, trials=args.trials)
        print(table(columns), flush=True)
        if args.postgres:
            columns["PostgreSQL"] = bench_notifications(args.postgres, work, trials=args.trials)
        elif not args.no_postgres and bin_dir() is not None:
            cluster = Cluster(work / "pg", free_port())
            try:
                cluster.start()
                like = cluster.create_database("bench_notify")
                columns["PostgreSQL"] = bench_notifications(like, work, trials=args.trials)
            finally:
                cluster.remove()
    print(table(columns))
    return 0 if all(f.met is not False for figures in columns.values() for f in figures) else 1


if __name__ == "__main__":
    raise SystemExit(main())
