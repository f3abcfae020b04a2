"""The Insights figures on a scripted history with known waits (both backends): p50 / p90 by tool and reviewer,
rates, deadline breaches, the period, notification -> decision latency."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from review import ReviewConsole
from review.insights import Waits, percentile
from tests.insights.history import T0, Past, record

# Waits in seconds. Circles: 10, 20, 30, 40; squares: 60 (approved), 600 (edited); the triangle: 7200 (rejected);
# one circle approved by a rule in 0.5 s (not a person's time); one failed attempt (not a settled decision).
KNOWN = [
    Past("create_circle", "approve", "ana", at=0, waited=10),
    Past("create_circle", "approve", "bob", at=10, waited=20),
    Past("create_circle", "approve", "ana", at=20, waited=30),
    Past("create_circle", "approve", "bob", at=30, waited=40),
    Past("create_square", "approve", "bob", at=40, waited=60),
    Past("create_square", "edit", "ana", at=50, waited=600),
    Past("create_triangle", "reject", "bob", at=60, waited=7200),
    Past("create_circle", "approve", "any circle", at=70, waited=0.5, verification="rule"),
    Past("create_square", "approve", "ana", at=80, waited=5, status="failed", outcome=None),
]
DEADLINE = '[[deadline]]\ntool = "create_triangle"\nafter = "10m"\nreject = "too late"\n'


def test_percentiles_are_by_nearest_rank() -> None:
    assert percentile([10, 20, 30, 40], 0.5) == 20 and percentile([10, 20, 30, 40], 0.9) == 40
    assert percentile([5], 0.9) == 5 and percentile([], 0.5) is None


def test_insights_of_a_scripted_history(db_path: Path | str, tmp_path: Path) -> None:
    policy = tmp_path / "policy.toml"
    policy.write_text(DEADLINE)
    from review import Settings

    console = ReviewConsole.open(db_path, settings=Settings(policy=str(policy)))
    try:
        record(console, KNOWN)
        found = console.insights(None, T0 + timedelta(days=1))
    finally:
        console.close()

    assert (found.decisions, found.by_rules) == (8, 1)  # the failed attempt settled nothing
    assert found.by_tool == [
        Waits("create_circle", 4, 20, 40),
        Waits("create_square", 2, 60, 600),
        Waits("create_triangle", 1, 7200, 7200),
    ]
    assert found.by_reviewer == [Waits("bob", 4, 40, 7200), Waits("ana", 3, 30, 600)]
    assert found.overall == Waits("all", 7, 40, 7200)
    rates = {r.key: (r.decisions, r.approve, r.edit, r.reject) for r in found.rates}
    assert rates == {
        "create_circle": (4, 4, 0, 0),
        "create_square": (2, 1, 1, 0),
        "create_triangle": (1, 0, 0, 1),
        "all": (7, 5, 1, 1),
    }
    [triangle] = found.breaches
    assert (triangle.tool, triangle.after_seconds, triangle.in_time, triangle.late) == ("create_triangle", 600, 0, 1)
    assert triangle.breached == 1
    assert found.notified is None  # no outbox: nothing was notified


def test_the_period_keeps_only_its_decisions(console: ReviewConsole) -> None:
    record(console, KNOWN)
    # [T0 + 15 min, T0 + 45 min): the circles raised at 20 and 30 min, the square raised at 40 min
    found = console.insights(T0 + timedelta(minutes=15), T0 + timedelta(minutes=45))
    assert found.decisions == 3
    assert [w.key for w in found.by_tool] == ["create_circle", "create_square"]
    assert console.insights(T0 - timedelta(days=2), T0 - timedelta(days=1)).decisions == 0


def test_notification_to_decision_latency(console: ReviewConsole) -> None:
    from review.storage.outbox import NewNotification, OutboxTables

    record(console, KNOWN[:2])
    outbox = OutboxTables(console.storage)
    for n, after in enumerate([4.0, 8.0]):  # notified 4 s and 8 s after raised: decided 6 s and 12 s later
        sent = (T0 + timedelta(minutes=10 * n, seconds=after)).timestamp()
        new = NewNotification(f"n{n}", "r", "webhook", f"hist-{n}", [(f"row-{n}", "{}")], ["*"], 0, 1e12, 1, False)
        assert outbox.enqueue(new, sent)
    found = console.insights(None, T0 + timedelta(days=1))
    assert found.notified == Waits("notified", 2, 6, 12)
