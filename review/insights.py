"""Decision insights: how long decisions take, how often tools are approved, edited or rejected, which deadlines
were missed, over a period. Pure functions of the decision log (`AuditEntry`), the policy's deadlines and the rows
pending now; `ReviewConsole.insights(...)` reads those and calls `compute`, the Insights page draws the result.

What counts: the decision that settled a row, i.e. an `applied` attempt (a failed one is followed by another
decision; a co-sign is part of the claim that names every co-signer). Waits are from the interrupt raised to that
decision. Decisions of the policy's rules (`rule:<name>`) take no person's time: they are counted apart and left
out of the waits and the rates, so a tool its rule approves does not look like one people always approve.
Percentiles are by nearest rank (the p-th percent of n values is the ceil(p*n)-th smallest): a value the log
holds, stable for small samples.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from review.audit import AuditEntry
from review.contract import PendingInterrupt
from review.policy import Deadline
from review.times import parse_time

SETTLED = "applied"
NO_TOOL = "(question)"  # a row that names no tool: a question, a breakpoint
PERIODS: dict[str, timedelta | None] = {
    "Last hour": timedelta(hours=1),
    "Last 24 hours": timedelta(days=1),
    "Last 7 days": timedelta(days=7),
    "Last 30 days": timedelta(days=30),
    "All time": None,
}


def log_time(when: datetime) -> str:
    """`when` as the decision log writes times (UTC, ISO, to the millisecond): comparable as text with its own."""
    return when.astimezone(UTC).isoformat(timespec="milliseconds")


def waited(entry: AuditEntry) -> float | None:
    """Seconds from the interrupt raised to this decision (None when the log does not know when it was raised)."""
    raised, decided = parse_time(entry.raised_at), parse_time(entry.decided_at)
    if raised is None or decided is None:
        return None
    return max(0.0, (decided - raised).total_seconds())


def percentile(values: Sequence[float], p: float) -> float | None:
    """The nearest-rank percentile `p` (0 < p <= 1) of `values`; None for none."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, math.ceil(p * len(ordered)) - 1)]


def by_rule(entry: AuditEntry) -> bool:
    """A decision the policy's rules made (auto-approve, a deadline), not a person."""
    return entry.verification == "rule"


@dataclass(frozen=True)
class Waits:
    """Time to decide of one group (a tool, a reviewer): how many decisions, p50 and p90 in seconds."""

    key: str
    decisions: int
    p50: float | None
    p90: float | None


@dataclass(frozen=True)
class Rates:
    """What people decided for one tool (or "all"): counts by decision and the share of each."""

    key: str
    decisions: int
    approve: int
    edit: int
    reject: int
    other: int  # respond, ignore, a breakpoint's continue

    def rate(self, decision: str) -> float:
        """The share of `decision` among the decisions (0 when none)."""
        count = {"approve": self.approve, "edit": self.edit, "reject": self.reject, "other": self.other}[decision]
        return count / self.decisions if self.decisions else 0.0


@dataclass(frozen=True)
class Breaches:
    """A tool's deadline over the period: decisions made in time, made late (after the deadline had passed), acted
    on by the deadline rule itself (rejected), and rows pending past it now."""

    tool: str
    after_seconds: float
    in_time: int
    late: int
    acted: int
    overdue_now: int

    @property
    def breached(self) -> int:
        """Rows the deadline did not see decided by a person in time."""
        return self.late + self.acted + self.overdue_now


@dataclass(frozen=True)
class Insights:
    """The figures of one period."""

    since: datetime | None
    until: datetime
    decisions: int  # settled decisions in the period (people and rules)
    by_rules: int  # of those, made by the policy's rules
    overall: Waits | None = None  # people's decisions of every tool together
    by_tool: list[Waits] = field(default_factory=list)
    by_reviewer: list[Waits] = field(default_factory=list)
    rates: list[Rates] = field(default_factory=list)  # per tool, then "all"
    breaches: list[Breaches] = field(default_factory=list)
    notified: Waits | None = None  # notification sent -> decision, when rows were notified


def settled(entries: Iterable[AuditEntry]) -> list[AuditEntry]:
    """The decisions that settled their rows, oldest first."""
    return sorted((e for e in entries if e.status == SETTLED), key=lambda e: (e.decided_at, e.attempt_id))


def _waits(groups: Mapping[str, list[float]], counts: Mapping[str, int]) -> list[Waits]:
    return [
        Waits(key, counts[key], percentile(groups.get(key, []), 0.5), percentile(groups.get(key, []), 0.9))
        for key in sorted(counts, key=lambda k: (-counts[k], k))
    ]


def waits_by(entries: Sequence[AuditEntry], key: Callable[[AuditEntry], str]) -> list[Waits]:
    """p50 / p90 time to decide per `key` (tool, reviewer) of people's settled decisions, most decisions first."""
    groups: dict[str, list[float]] = {}
    counts: dict[str, int] = {}
    for entry in entries:
        if by_rule(entry):
            continue
        name = key(entry)
        counts[name] = counts.get(name, 0) + 1
        seconds = waited(entry)
        if seconds is not None:
            groups.setdefault(name, []).append(seconds)
    return _waits(groups, counts)


def rates_by_tool(entries: Sequence[AuditEntry]) -> list[Rates]:
    """Approve / edit / reject counts of people's settled decisions per tool, most decided first, then "all"."""
    counts: dict[str, dict[str, int]] = {}
    for entry in entries:
        if by_rule(entry):
            continue
        kind = entry.decision if entry.decision in ("approve", "edit", "reject") else "other"
        for key in (entry.tool or NO_TOOL, "all"):
            tally = counts.setdefault(key, {"approve": 0, "edit": 0, "reject": 0, "other": 0})
            tally[kind] += 1
    ordered = sorted((k for k in counts if k != "all"), key=lambda k: (-sum(counts[k].values()), k))
    return [Rates(k, sum(counts[k].values()), **counts[k]) for k in [*ordered, *(["all"] if counts else [])]]


def deadline_breaches(
    entries: Sequence[AuditEntry], deadlines: Sequence[Deadline], pending: Sequence[PendingInterrupt], now: datetime
) -> list[Breaches]:
    """Per deadline of the policy: its tool's settled decisions made in time or late, those the deadline rule made
    (`rule:deadline:<tool>`), and its rows pending past the deadline now."""
    found = []
    for deadline in deadlines:
        limit = deadline.after.total_seconds()
        in_time = late = acted = 0
        for entry in entries:
            if entry.tool != deadline.tool:
                continue
            if entry.identity == f"rule:{deadline.name}" or entry.reviewer == f"rule:{deadline.name}":
                acted += 1
                continue
            if by_rule(entry):
                continue
            seconds = waited(entry)
            if seconds is None:
                continue
            if seconds > limit:
                late += 1
            else:
                in_time += 1
        overdue = sum(1 for row in pending if deadline.due(row, now) and row.tool == deadline.tool)
        found.append(Breaches(deadline.tool, limit, in_time, late, acted, overdue))
    return found


def notified_waits(entries: Sequence[AuditEntry], notified_at: Mapping[tuple[str, str], float]) -> Waits | None:
    """Notification sent (first recorded) -> people's decision of the row, p50 / p90; None when none was notified."""
    seconds = []
    for entry in entries:
        sent = notified_at.get((entry.thread_id, entry.row_id))
        decided = parse_time(entry.decided_at)
        if sent is None or decided is None or by_rule(entry):
            continue
        seconds.append(max(0.0, decided.timestamp() - sent))
    if not seconds:
        return None
    return Waits("notified", len(seconds), percentile(seconds, 0.5), percentile(seconds, 0.9))


def compute(
    entries: Iterable[AuditEntry],
    *,
    since: datetime | None,
    until: datetime,
    deadlines: Sequence[Deadline] = (),
    pending: Sequence[PendingInterrupt] = (),
    notified_at: Mapping[tuple[str, str], float] | None = None,
) -> Insights:
    """Every figure of the period [since, until) from the log's attempts of that period (others are ignored)."""
    chosen = [
        entry
        for entry in settled(entries)
        if (decided := parse_time(entry.decided_at)) is not None
        and (since is None or decided >= since)
        and decided < until
    ]
    return Insights(
        since=since,
        until=until,
        decisions=len(chosen),
        by_rules=sum(1 for entry in chosen if by_rule(entry)),
        overall=next(iter(waits_by(chosen, lambda _entry: "all")), None),
        by_tool=waits_by(chosen, lambda entry: entry.tool or NO_TOOL),
        by_reviewer=waits_by(chosen, lambda entry: entry.reviewer),
        rates=rates_by_tool(chosen),
        breaches=deadline_breaches(chosen, deadlines, pending, until),
        notified=notified_waits(chosen, notified_at or {}),
    )


def duration_text(seconds: float | None) -> str:
    """A wait as people read it: `45 s`, `12 min`, `3.5 h`, `2.0 d` ('' for none)."""
    if seconds is None:
        return ""
    if seconds < 90:
        return f"{seconds:.0f} s" if seconds >= 10 else f"{seconds:.1f} s"
    if seconds < 90 * 60:
        return f"{seconds / 60:.0f} min"
    if seconds < 48 * 3600:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} d"
