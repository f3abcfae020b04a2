"""What metrics and insights read of the store, and the table of suggested rules, for both backends.

Written once over the store's dialect hooks (`transaction`, `_run`, `_rows`: review/storage/sql.py), like the
outbox's tables (review/storage/outbox.py). Every read here is one aggregate query, so a scrape of `/metrics`
costs a few indexed or sequential reads whatever the number of replicas; the logic lives in review/metrics.py,
review/insights.py and review/rules.py.

- `review_rules`: auto-approve rules suggested from the decision log and put in shadow mode (evaluated against
  every decision made since), then promoted into the policy file or dropped. Created idempotently when an
  `InsightTables` is made on a writable store.
- `review_rule_events`: who shadowed, promoted or dropped which rule, when (the rules' own audit).

The notification tables (review/storage/outbox.py) are read only when they exist: a store no console with
`[[notify]]` routes opened has none.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Concatenate, ParamSpec, TypeVar

from review.storage.base import StoreError
from review.storage.sql import Storage, split_script
from review.storage.sqlite import SqliteStorage

_P = ParamSpec("_P")
_R = TypeVar("_R")

RULE_TABLES = """
CREATE TABLE IF NOT EXISTS review_rules (
    name       TEXT PRIMARY KEY,      -- the rule's name, as the policy file and the decision log (rule:<name>) say
    tool       TEXT NOT NULL,
    args       TEXT NOT NULL,         -- JSON: the auto_approve matcher's forms; empty: every call of the tool
    state      TEXT NOT NULL,         -- shadow | promoted | dropped
    since      TEXT NOT NULL,         -- shadow mode evaluates the decisions made from this time (ISO, UTC)
    created_by TEXT NOT NULL,
    evidence   TEXT NOT NULL,         -- the suggestion's text when it was shadowed
    ended_at   TEXT,                  -- promoted or dropped at
    ended_by   TEXT
);
CREATE TABLE IF NOT EXISTS review_rule_events (
    event_id  {serial},
    name      TEXT NOT NULL,
    action    TEXT NOT NULL,          -- shadow | promote | drop
    actor     TEXT NOT NULL,          -- the identity that did it
    at        TEXT NOT NULL,
    detail    TEXT                    -- promote: the policy file written
)
"""
_SETUP_LOCK = 0x5256524C  # PostgreSQL: one replica creates the tables at a time ("RVRL")

# How a decision reached the console, for attempts recorded before the log kept it (its `channel` column): the
# policy's rules, the command line, an action link the same identity redeemed for the row (review/notify/links.py),
# else a page of the console.
_CHANNEL = (
    "CASE WHEN d.verification = 'rule' THEN 'rule' WHEN d.verification = 'cli' THEN 'cli' {link}ELSE 'console' END"
)
_LINK = (
    "WHEN EXISTS (SELECT 1 FROM review_link_uses AS u WHERE u.thread_id = d.thread_id AND u.row_id = d.row_id "
    "AND u.identity = d.identity) THEN 'link' "
)
DECISION_COLUMNS = (
    "attempt_id, decided_at, reviewer, identity, issuer, verification, co_signers, thread_id, row_id, interrupt_id, "
    "tool, decision_type, args_before, args_after, message, status, applied_at, error, rerun, recovered_from, "
    "warning, batch_id, tool_call_id, raised_at, outcome_check, resume_json"
)


@dataclass(frozen=True)
class WaitBuckets:
    """Time to decision of one channel's applied decisions: cumulative counts per upper bound, their sum, count."""

    channel: str
    cumulative: tuple[int, ...]  # one per bound, in order (the +Inf bucket is `count`)
    total_seconds: float
    count: int


@dataclass(frozen=True)
class RuleRow:
    """A suggested rule as stored."""

    name: str
    tool: str
    args: str
    state: str
    since: str
    created_by: str
    evidence: str
    ended_at: str | None
    ended_by: str | None


@dataclass(frozen=True)
class RuleEvent:
    """One action on a suggested rule."""

    name: str
    action: str
    actor: str
    at: str
    detail: str | None


def _errors(method: Callable[Concatenate[InsightTables, _P], _R]) -> Callable[Concatenate[InsightTables, _P], _R]:
    """The driver's errors as one StoreError line, like the store's own methods."""

    @functools.wraps(method)
    def wrapper(self: InsightTables, /, *args: _P.args, **kwargs: _P.kwargs) -> _R:
        try:
            return method(self, *args, **kwargs)
        except self.store.errors as exc:
            raise StoreError(self.store._describe(exc)) from exc

    return wrapper


class InsightTables:
    """The insight reads and the rule table over one store (`Storage`); every method is one read or transaction."""

    def __init__(self, store: Storage) -> None:
        self.store = store
        self.sqlite = isinstance(store, SqliteStorage)
        if not store.read_only and not self._has("review_rules"):
            self._create()

    def _has(self, table: str, column: str = "1") -> bool:
        """The table (and its `column`) exists: a read that fails says it does not (no dialect's catalog asked)."""
        try:
            self.store._rows(f"SELECT {column} FROM {table} WHERE 1 = 0")
        except self.store.errors:
            return False
        return True

    @_errors
    def _create(self) -> None:
        serial = "INTEGER PRIMARY KEY AUTOINCREMENT" if self.sqlite else "BIGSERIAL PRIMARY KEY"
        with self.store.transaction() as conn:
            if not self.sqlite:  # concurrent CREATE ... IF NOT EXISTS can still collide in PostgreSQL's catalog
                self.store._run(conn, "SELECT pg_advisory_xact_lock(?, 0)", (_SETUP_LOCK,))
            for statement in split_script(RULE_TABLES.format(serial=serial)):
                self.store._run(conn, statement)

    def _seconds(self, start: str, end: str) -> str:
        """Seconds from the ISO time in column `start` to `end`, to the millisecond (the log's times are; SQLite's
        julianday is a day count in a double, ~40 µs off), never below 0 (replicas' clocks differ a little)."""
        if self.sqlite:
            return f"MAX(0, ROUND((julianday({end}) - julianday({start})) * 86400.0, 3))"
        return f"GREATEST(0, ROUND(EXTRACT(EPOCH FROM (CAST({end} AS timestamptz) - CAST({start} AS timestamptz))), 3))"

    def _channel(self) -> str:
        """The channel of a decision `d`: the log's own `channel` column where a store has it (decisions recorded
        since it was added), else worked out from the verification and the action links redeemed."""
        derived = _CHANNEL.format(link=_LINK if self._has("review_link_uses") else "")
        return f"COALESCE(d.channel, {derived})" if self._has("review_decisions", "channel") else derived

    # --- for /metrics ---------------------------------------------------------------------------------

    @_errors
    def decision_counts(self) -> list[tuple[str, str, str, str, int]]:
        """Every attempt of the log counted by (decision, channel, verification, status)."""
        rows = self.store._rows(
            f"SELECT decision_type, channel, verification, status, COUNT(*) FROM (SELECT d.decision_type, "
            f"{self._channel()} AS channel, COALESCE(d.verification, 'unverified') AS verification, d.status "
            "FROM review_decisions AS d) AS x GROUP BY decision_type, channel, verification, status"
        )
        return [(str(r[0]), str(r[1]), str(r[2]), str(r[3]), int(r[4])) for r in rows]

    @_errors
    def wait_buckets(self, bounds: Sequence[float]) -> list[WaitBuckets]:
        """Time from interrupt raised to decision of every applied decision that knows when it was raised, per
        channel, counted into `bounds` (seconds) in the database: one aggregate, not one row per decision."""
        sums = ", ".join(f"SUM(CASE WHEN waited <= {float(bound)!r} THEN 1 ELSE 0 END)" for bound in bounds)
        rows = self.store._rows(
            f"SELECT channel, {sums}, SUM(waited), COUNT(*) FROM (SELECT {self._channel()} AS channel, "
            f"{self._seconds('d.raised_at', 'd.decided_at')} AS waited FROM review_decisions AS d "
            "WHERE d.status = 'applied' AND d.raised_at IS NOT NULL AND d.raised_at <> '') AS x GROUP BY channel"
        )
        width = len(bounds)
        return [
            WaitBuckets(
                str(r[0]), tuple(int(v or 0) for v in r[1 : 1 + width]), float(r[1 + width] or 0), int(r[2 + width])
            )
            for r in rows
        ]

    @_errors
    def recovery_counts(self) -> dict[str, int]:
        """What recovery did, as the log and the run records keep it: decisions it took over from a stopped or late
        owner (`recovered`), of those re-sent after a resume had started (`rerun`), and runs left cut short or
        failed now (`cut_short`, `failed`)."""
        (row,) = self.store._rows(
            "SELECT (SELECT COUNT(*) FROM review_decisions WHERE recovered_from IS NOT NULL), "
            "(SELECT COUNT(*) FROM review_decisions WHERE rerun <> 0), "
            "(SELECT COUNT(*) FROM review_leases WHERE state = 'cut_short'), "
            "(SELECT COUNT(*) FROM review_leases WHERE state = 'failed')"
        )
        return {"recovered": int(row[0]), "rerun": int(row[1]), "cut_short": int(row[2]), "failed": int(row[3])}

    @_errors
    def notification_counts(self) -> tuple[list[tuple[str, str, int]], list[tuple[str, str, int]]] | None:
        """Notifications by (channel, status) and delivery tries by (channel, outcome); None when this store has no
        outbox (no console with notification routes opened it)."""
        if not self._has("review_notifications"):
            return None
        status = self.store._rows("SELECT channel, status, COUNT(*) FROM review_notifications GROUP BY channel, status")
        tries = self.store._rows(
            "SELECT n.channel, COALESCE(l.outcome, 'under way'), COUNT(*) FROM review_notify_log AS l "
            "JOIN review_notifications AS n ON n.notification_id = l.notification_id GROUP BY n.channel, l.outcome"
        )
        return (
            [(str(r[0]), str(r[1]), int(r[2])) for r in status],
            [(str(r[0]), str(r[1]), int(r[2])) for r in tries],
        )

    # --- for insights ---------------------------------------------------------------------------------

    @_errors
    def decisions_between(self, since: str | None, until: str | None) -> list[dict[str, Any]]:
        """Attempts decided in [since, until) (ISO times; None: unbounded), oldest first, as `Storage.decisions()`
        gives them, plus `channel`. Read through the log's time index."""
        where, params = [], []
        if since is not None:
            where.append("d.decided_at >= ?")
            params.append(since)
        if until is not None:
            where.append("d.decided_at < ?")
            params.append(until)
        clause = f"WHERE {' AND '.join(where)} " if where else ""
        columns = ", ".join(f"d.{name.strip()}" for name in DECISION_COLUMNS.split(","))
        rows = self.store._rows(
            f"SELECT {columns}, {self._channel()} AS channel FROM review_decisions AS d {clause}"
            "ORDER BY d.decided_at, d.attempt_id",
            tuple(params),
        )
        return [dict(row) for row in rows]

    @_errors
    def notified_at(self, keys: Sequence[tuple[str, str]]) -> dict[tuple[str, str], float]:
        """When each (thread, row) was first put in a notification (epoch seconds); empty without an outbox."""
        if not keys or not self._has("review_notify_rows"):
            return {}
        wanted = set(keys)
        found: dict[tuple[str, str], float] = {}
        threads = sorted({thread for thread, _ in wanted})
        for start in range(0, len(threads), 500):
            among, params = self.store._in("thread_id", threads[start : start + 500])
            for row in self.store._rows(
                f"SELECT thread_id, row_id, MIN(added_at) FROM review_notify_rows WHERE {among} "
                "AND route NOT LIKE '%#%' GROUP BY thread_id, row_id",
                params,
            ):
                key = (str(row[0]), str(row[1]))
                if key in wanted:
                    found[key] = float(row[2])
        return found

    # --- suggested rules ------------------------------------------------------------------------------

    @_errors
    def rules(self) -> list[RuleRow]:
        """Every suggested rule ever shadowed, newest first."""
        if not self._has("review_rules"):
            return []
        return [
            RuleRow(*(row[i] for i in range(9)))
            for row in self.store._rows(
                "SELECT name, tool, args, state, since, created_by, evidence, ended_at, ended_by FROM review_rules "
                "ORDER BY since DESC, name"
            )
        ]

    @_errors
    def add_rule(self, row: RuleRow) -> bool:
        """Put a rule in shadow mode; False when a rule of that name exists (in any state)."""
        with self.store.transaction() as conn:
            added = self.store._run(
                conn,
                "INSERT INTO review_rules (name, tool, args, state, since, created_by, evidence) "
                "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
                (row.name, row.tool, row.args, row.state, row.since, row.created_by, row.evidence),
            ).rowcount
            if added == 1:
                self._event(conn, row.name, "shadow", row.created_by, row.since, row.evidence)
            return bool(added == 1)

    @_errors
    def end_rule(self, name: str, state: str, actor: str, at: str, detail: str | None) -> bool:
        """Move a shadowed rule to `state` (promoted | dropped), recording who and when; False when it is not in
        shadow mode any more (another replica promoted or dropped it first)."""
        with self.store.transaction() as conn:
            ended = self.store._run(
                conn,
                "UPDATE review_rules SET state = ?, ended_at = ?, ended_by = ? WHERE name = ? AND state = 'shadow'",
                (state, at, actor, name),
            ).rowcount
            if ended == 1:
                self._event(conn, name, "promote" if state == "promoted" else "drop", actor, at, detail)
            return bool(ended == 1)

    def _event(self, conn: Any, name: str, action: str, actor: str, at: str, detail: str | None) -> None:
        self.store._run(
            conn,
            "INSERT INTO review_rule_events (name, action, actor, at, detail) VALUES (?, ?, ?, ?, ?)",
            (name, action, actor, at, detail),
        )

    @_errors
    def rule_events(self) -> list[RuleEvent]:
        """The rules' audit, newest first."""
        if not self._has("review_rule_events"):
            return []
        return [
            RuleEvent(*(row[i] for i in range(5)))
            for row in self.store._rows(
                "SELECT name, action, actor, at, detail FROM review_rule_events ORDER BY at DESC, event_id DESC"
            )
        ]
