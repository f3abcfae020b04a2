"""`/metrics`: parsed with prometheus_client's own parser, every figure equal to the store's after a scripted
history (both backends), and the route on serve.py's server."""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from review import ReviewConsole, metrics
from review.audit import AuditEntry
from tests.conftest import THREE_SHAPES
from tests.helpers import APPROVE, batch, reject
from tests.insights.history import Past, record

HISTORY = [
    Past("create_circle", "approve", "ana", at=0, waited=3),
    Past("create_circle", "approve", "bob", at=1, waited=40),
    Past("create_square", "edit", "ana", at=2, waited=700),
    Past("create_triangle", "reject", "bob", at=3, waited=7200),
    Past("create_circle", "approve", "any circle", at=4, waited=0.5, verification="rule"),
    Past("create_square", "approve", "cli:ops", at=5, waited=20, verification="cli"),
    Past("create_square", "approve", "ana", at=6, waited=9, status="failed", outcome=None),
]


def scrape(console: ReviewConsole) -> dict[str, Any]:
    """name -> the parsed family (the text as Prometheus reads it)."""
    text = metrics.render(metrics.registry(lambda: console)).decode()
    return {family.name: family for family in text_string_to_metric_families(text)}


def samples(family: Any, suffix: str = "") -> dict[tuple[tuple[str, str], ...], float]:
    return {tuple(sorted(s.labels.items())): s.value for s in family.samples if s.name == family.name + suffix}


def test_metrics_equal_the_store_after_a_scripted_history(console: ReviewConsole) -> None:
    record(console, HISTORY)
    decided = console.start_run(THREE_SHAPES).result(timeout=30).thread_id
    console.submit(batch(console.pending(decided), {"create_circle": APPROVE, "create_triangle": reject("no")}), "ana")
    console.start_run(THREE_SHAPES).result(timeout=30)  # three more rows wait
    square = next(r for r in console.pending(decided) if r.tool == "create_square")
    stale = {"thread_id": square.thread_id, "row_id": square.row_id, "decision": APPROVE}
    counters = metrics.watch(console)
    assert console.submit([stale], "bob").exit_code == 0
    assert console.submit([stale], "carol").conflicts  # the row bob holds: a conflict, never written to the store

    found = scrape(console)

    assert samples(found["review_up"]) == {(): 1.0}
    # Pending rows by graph and tool: what the console lists.
    pending = Counter((r.graph_id or "", r.tool or metrics.NO_TOOL) for r in console.pending())
    assert samples(found["review_pending_rows"]) == {
        (("graph", graph), ("tool", tool)): float(n) for (graph, tool), n in pending.items()
    }
    assert sum(pending.values()) == 3
    assert 0 < samples(found["review_oldest_pending_age_seconds"])[()] < 120

    # Decisions by type, channel, verification and status: the decision log, attempt by attempt.
    log = console.audit()
    channel = {"rule": "rule", "cli": "cli"}
    expected = Counter((e.decision, channel.get(e.verification, "console"), e.verification, e.status) for e in log)
    assert samples(found["review_decisions"], "_total") == {
        (("channel", c), ("decision", d), ("status", s), ("verification", v)): float(n)
        for (d, c, v, s), n in expected.items()
    }

    # Time to decision: every applied decision that knows when it was raised, per channel.
    waits = found["review_time_to_decision_seconds"]
    applied = [e for e in log if e.status == "applied" and e.raised_at]
    by_channel: dict[str, list[AuditEntry]] = {}
    for entry in applied:
        by_channel.setdefault(channel.get(entry.verification, "console"), []).append(entry)
    counts = samples(waits, "_count")
    sums = samples(waits, "_sum")
    buckets = samples(waits, "_bucket")
    for name, entries in by_channel.items():
        seconds = [_waited(e) for e in entries]
        assert counts[(("channel", name),)] == len(entries)
        assert sums[(("channel", name),)] == pytest.approx(sum(seconds), abs=0.01)
        for bound in metrics.WAIT_BUCKETS:
            le = metrics._le(bound)
            assert buckets[(("channel", name), ("le", le))] == sum(s <= bound for s in seconds), (name, le)
        assert buckets[(("channel", name), ("le", "+Inf"))] == len(entries)
    # The script's own waits land where they were put: console 3, 40, 700 and 7200 s (+ the live ones, < 60 s).
    assert buckets[(("channel", "console"), ("le", "5.0"))] >= 1
    assert buckets[(("channel", "console"), ("le", "3600.0"))] == counts[(("channel", "console"),)] - 1
    assert counts[(("channel", "rule"),)] == 1 and counts[(("channel", "cli"),)] == 1

    # Recovery: nothing taken over in this history; no run left.
    assert samples(found["review_recovered_decisions"], "_total") == {(("rerun", "false"),): 0, (("rerun", "true"),): 0}
    assert samples(found["review_runs_left"]) == {(("state", "cut_short"),): 0, (("state", "failed"),): 0}
    # No outbox in this store: no notification figures rather than made-up zeros.
    assert "review_notifications" not in found

    # This process: the batches it sent, the conflict it was told of.
    assert counters.batches == 2 and counters.conflicts == 1
    assert samples(found["review_process_batches"], "_total") == {(): 2.0}
    assert samples(found["review_process_conflicts"], "_total") == {(): 1.0}
    assert samples(found["review_process_refused_rows"], "_total") == {(): 0.0}
    assert "process_cpu_seconds" in found or "python_info" in found


def _waited(entry: AuditEntry) -> float:
    assert entry.raised_at
    waited = datetime.fromisoformat(entry.decided_at) - datetime.fromisoformat(entry.raised_at)
    return max(0.0, waited.total_seconds())


def test_two_replicas_report_the_same_store_figures_and_their_own_process_figures(
    console: ReviewConsole, db_path: Any
) -> None:
    record(console, HISTORY)
    other = ReviewConsole.open(db_path)
    try:
        metrics.watch(other)
        one, two = scrape(console), scrape(other)
        for name in ("review_decisions", "review_time_to_decision_seconds", "review_pending_rows"):
            assert one[name].samples == two[name].samples, name
    finally:
        other.close()


def test_notification_figures_come_from_the_outbox_when_the_store_has_one(console: ReviewConsole) -> None:
    from review.storage.outbox import NewNotification, OutboxTables

    outbox = OutboxTables(console.storage)
    for n, channel in enumerate(["webhook", "webhook", "slack"]):
        new = NewNotification(f"n{n}", "route", channel, f"t{n}", [(f"r{n}", "{}")], ["*"], 0.0, 1e12, 1, merge=False)
        assert outbox.enqueue(new, 1.0)
    for status in ["sent", "dead"]:
        row = outbox.due(10.0, 10, "nohost")[0]
        attempt = outbox.take(row, "me", 10.0, 20.0)
        assert attempt is not None
        outbox.finish(row.notification_id, "me", attempt, status=status, now=11.0, detail=None)

    found = scrape(console)

    messages = samples(found["review_notifications"])
    assert sum(messages.values()) == 3
    assert messages[(("channel", "slack"), ("status", "queued"))] == 1
    tries = samples(found["review_notification_deliveries"], "_total")
    assert sum(tries.values()) == 2 and set(dict(k)["outcome"] for k in tries) == {"sent", "dead"}


def test_a_store_that_cannot_be_read_says_review_up_0() -> None:
    text = metrics.render(metrics.registry(lambda: None)).decode()
    found = {f.name: f for f in text_string_to_metric_families(text)}
    assert samples(found["review_up"]) == {(): 0.0}
