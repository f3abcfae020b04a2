"""Prometheus metrics of a console: what waits, how long decisions take, what recovery and notifications did.

`serve.py` answers `GET /metrics` with `render(console)` (prometheus_client's text format). Two kinds of figures:

- **Store-wide** (`review_*`), read from the store at scrape time by `ConsoleCollector`: pending rows, the oldest
  one's age, decisions, time to decision, recovery, notifications. Every replica on one database reports the SAME
  values: aggregate them across instances with `max`, never `sum`. Counters among them (`_total`) only grow
  because the decision log and the delivery log are append-only.
- **This process** (`review_process_*`, and prometheus_client's `process_*` / `python_*`): batches this process
  submitted, the conflicts and refused rows among them, its runs in progress. Each replica counts its own: `sum`
  them. Conflicts are never recorded in the store (the loser's decision is not written), so they can only be
  counted by the process that was told.

No identities, arguments or thread ids are labels: only graphs, tools, decision types, channels, verifications
and statuses, whose number is small.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.gc_collector import GCCollector
from prometheus_client.platform_collector import PlatformCollector
from prometheus_client.process_collector import ProcessCollector
from prometheus_client.registry import Collector

from review.contract import BatchResult
from review.storage.insight import InsightTables

if TYPE_CHECKING:
    from review.console import ReviewConsole

ROUTE = "/metrics"
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
# Time to decision (seconds): from a few seconds (a reviewer at the Inbox) to a day (a question left overnight).
WAIT_BUCKETS = (1.0, 5.0, 15.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0, 3600.0, 7200.0, 14400.0, 43200.0, 86400.0)
NO_TOOL = "(none)"
log = logging.getLogger(__name__)  # the tool label of a row that names none (a question, a breakpoint)


class ProcessCounters:
    """What this process submitted, counted as its batches return (thread-safe; one per console)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.batches = 0
        self.conflicts = 0
        self.refused = 0

    def count(self, result: BatchResult) -> None:
        """Count one batch's claim-time result: its conflicts (rows someone else held) and refused rows."""
        with self._lock:
            self.batches += 1
            self.conflicts += len(result.conflicts)
            self.refused += len(result.invalid)


_WATCH_LOCK = threading.Lock()
_COUNTERS_ATTRIBUTE = "_metrics_counters"  # kept on the console itself: one set of counters per console object


def watch(console: ReviewConsole) -> ProcessCounters:
    """Count every batch `console` submits from now on (pages, the CLI, its rules); idempotent per console.

    The console's `submit_batch` is wrapped on the instance: every caller goes through it, and the core's submit
    path stays as it is.
    """
    with _WATCH_LOCK:
        found: ProcessCounters | None = getattr(console, _COUNTERS_ATTRIBUTE, None)
        if found is not None:
            return found
        counters = ProcessCounters()
        submit = console.submit_batch

        def counted(items: Iterable[Any], reviewer: Any, *args: Any, **kwargs: Any) -> Any:
            handle = submit(items, reviewer, *args, **kwargs)
            counters.count(handle.result_so_far)
            return handle

        setattr(console, "submit_batch", counted)  # noqa: B010 (an instance attribute over the method, on purpose)
        setattr(console, _COUNTERS_ATTRIBUTE, counters)
    return counters


def _age(raised_at: str | None, now: datetime) -> float | None:
    if not raised_at:
        return None
    try:
        when = datetime.fromisoformat(raised_at)
    except ValueError:
        return None
    return max(0.0, (now - (when if when.tzinfo else when.replace(tzinfo=UTC))).total_seconds())


class ConsoleCollector(Collector):
    """A custom collector: every scrape reads the store through the console `get_console` returns (None while the
    console is not open yet: only `review_up 0` and the process's figures then)."""

    def __init__(self, get_console: Callable[[], ReviewConsole | None]) -> None:
        self._get_console = get_console
        self._tables: dict[int, InsightTables] = {}

    def collect(self) -> Iterator[Metric]:
        """The metrics, read now."""
        started = time.monotonic()
        console = self._get_console()
        up = GaugeMetricFamily("review_up", "1 when the console's store could be read by this scrape, else 0")
        if console is None:
            up.add_metric([], 0)
            yield up
            return
        counters = watch(console)
        try:
            store = list(self._store_metrics(console))
            store += self._process_metrics(console, counters)
        except Exception:  # a store that cannot be read: say so, keep the process's own figures
            log.exception("the metrics could not be read from the store")
            up.add_metric([], 0)
            store = list(self._process_metrics(None, counters))
        else:
            up.add_metric([], 1)
        yield up
        yield from store
        took = GaugeMetricFamily("review_scrape_duration_seconds", "How long this process took to read these figures")
        took.add_metric([], time.monotonic() - started)
        yield took

    def _insight(self, console: ReviewConsole) -> InsightTables:
        tables = self._tables.get(id(console))
        if tables is None or tables.store is not console.storage:
            tables = self._tables[id(console)] = InsightTables(console.storage)
        return tables

    def _store_metrics(self, console: ReviewConsole) -> Iterator[Metric]:
        tables = self._insight(console)
        now = datetime.now(UTC)
        rows = console.pending()
        pending = GaugeMetricFamily(
            "review_pending_rows",
            "Rows waiting for a decision, by graph and tool (store-wide)",
            labels=["graph", "tool"],
        )
        counts: dict[tuple[str, str], int] = {}
        ages = [age for age in (_age(row.raised_at, now) for row in rows) if age is not None]
        for row in rows:
            key = (row.graph_id or "", row.tool or NO_TOOL)
            counts[key] = counts.get(key, 0) + 1
        for (graph, tool), count in sorted(counts.items()):
            pending.add_metric([graph, tool], count)
        yield pending
        oldest = GaugeMetricFamily(
            "review_oldest_pending_age_seconds", "How long the oldest pending row has waited (0 when none waits)"
        )
        oldest.add_metric([], max(ages, default=0.0))
        yield oldest

        decisions = CounterMetricFamily(
            "review_decisions",
            "Decision attempts in the decision log (store-wide), by decision, channel (console, cli, link, rule), "
            "verification and status",
            labels=["decision", "channel", "verification", "status"],
        )
        for decision, channel, verification, status, count in sorted(tables.decision_counts()):
            decisions.add_metric([decision, channel, verification, status], count)
        yield decisions

        waits = HistogramMetricFamily(
            "review_time_to_decision_seconds",
            "From the interrupt raised to the decision applied (store-wide), by channel",
            labels=["channel"],
        )
        for found in sorted(tables.wait_buckets(WAIT_BUCKETS), key=lambda b: b.channel):
            buckets = [(_le(bound), n) for bound, n in zip(WAIT_BUCKETS, found.cumulative, strict=True)]
            buckets.append(("+Inf", found.count))
            waits.add_metric([found.channel], buckets, found.total_seconds)
        yield waits

        recovery = tables.recovery_counts()
        recovered = CounterMetricFamily(
            "review_recovered_decisions",
            "Decisions recovery took over from a stopped or late process (store-wide); rerun: re-sent after a resume "
            "had started",
            labels=["rerun"],
        )
        recovered.add_metric(["false"], recovery["recovered"] - recovery["rerun"])
        recovered.add_metric(["true"], recovery["rerun"])
        yield recovered
        runs = GaugeMetricFamily(
            "review_runs_left", "Runs cut short (recovery continues them) or failed, now (store-wide)", labels=["state"]
        )
        runs.add_metric(["cut_short"], recovery["cut_short"])
        runs.add_metric(["failed"], recovery["failed"])
        yield runs

        notified = tables.notification_counts()
        if notified is not None:
            by_status, tries = notified
            messages = GaugeMetricFamily(
                "review_notifications",
                "Notifications by channel and status (queued, sending, sent, dead) (store-wide)",
                labels=["channel", "status"],
            )
            for channel, state, count in sorted(by_status):
                messages.add_metric([channel, state], count)
            yield messages
            deliveries = CounterMetricFamily(
                "review_notification_deliveries",
                "Delivery tries by channel and outcome (sent, failed, dead, interrupted, lease lost) (store-wide)",
                labels=["channel", "outcome"],
            )
            for channel, outcome, count in sorted(tries):
                deliveries.add_metric([channel, outcome], count)
            yield deliveries

    def _process_metrics(self, console: ReviewConsole | None, counters: ProcessCounters) -> list[Metric]:
        """This process's counters, and (with `console`: a store read) the runs it holds a lease for now."""
        found: list[Metric] = []
        for name, help_text, value in (
            ("review_process_batches", "Batches this process submitted", counters.batches),
            (
                "review_process_conflicts",
                "Rows of this process's batches another reviewer held (conflicts)",
                counters.conflicts,
            ),
            ("review_process_refused_rows", "Rows of this process's batches refused by validation", counters.refused),
        ):
            metric = CounterMetricFamily(name, help_text)
            metric.add_metric([], value)
            found.append(metric)
        if console is not None:
            runs = GaugeMetricFamily("review_process_runs", "Runs this process holds a lease for now")
            runs.add_metric([], sum(1 for lease in console.storage.leases() if lease.owner == console.leases.owner))
            found.append(runs)
        return found


def _le(bound: float) -> str:
    return f"{bound:g}" if bound != int(bound) else f"{bound:.1f}"


def registry(get_console: Callable[[], ReviewConsole | None]) -> CollectorRegistry:
    """A registry of the console's figures and this process's (CPU, memory, open files, GC, Python)."""
    found = CollectorRegistry(auto_describe=False)
    found.register(ConsoleCollector(get_console))
    ProcessCollector(registry=found)
    PlatformCollector(registry=found)
    GCCollector(registry=found)
    return found


def render(metrics: CollectorRegistry) -> bytes:
    """The registry in Prometheus' text format (blocking: it reads the store)."""
    return generate_latest(metrics)
