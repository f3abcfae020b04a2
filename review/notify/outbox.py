"""From new pending rows to notifications in the store: the outbox's producing side.

`Outbox.observe(rows)` is handed the console's listing (`console.pending()`, which re-reads only threads the
change feed says moved), or, with `only=`, just the rows of the threads that moved since the last look (what the
notifier's thread does on a change: O(changed threads); the whole listing is looked at on a slower timer). For
each thread and `[[notify]]` route it records the rows not notified on that route yet as ONE notification, in
one transaction (review/storage/outbox.py): each (thread, row, route) is notified once, whichever replica looks
first, and nothing depends on a page being open. Rows an `auto_approve` rule decides, rows this console cannot
decide (`blocked`) and Agent Server rows not read yet (`unverified`) are not notified.

A route's digest window delays the message (`due_at`) and lets the thread's next rows join it until then;
quiet hours move `due_at` to their end; links expire after `link_seconds`, never after a row's deadline.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Collection, Iterable
from dataclasses import dataclass, fields
from datetime import UTC, datetime
from typing import Any

from review.contract import PendingInterrupt
from review.notify.envelope import deadline_epoch, row_item
from review.policy import NotifyRule, Policy
from review.settings import Settings
from review.storage import Storage
from review.storage.outbox import DeliveryRow, NewNotification, NotificationRow, OutboxTables

__all__ = ["DeliveryRow", "Enqueued", "NotificationRow", "Outbox"]
_PENDING = ("pending",)  # what most rows call for
FOLLOW_UP_WINDOW = 3600.0  # seconds: decisions older than this get no "decided" follow-up (a new process's look)


@dataclass(frozen=True)
class Enqueued:
    """Rows recorded by one `observe` for a thread and route, and the notification they are in."""

    notification_id: str
    route: str
    thread_id: str
    row_ids: tuple[str, ...]
    kind: str = "pending"
    due_at: float = 0.0  # when it may go (epoch seconds)


class Outbox:
    """The notifications of one store under one policy: recording new rows, and what the UI reads of them."""

    def __init__(
        self, store: Storage, policy: Policy, settings: Settings, *, tables: OutboxTables | None = None
    ) -> None:
        self.tables = tables or OutboxTables(store)
        self.policy = policy
        self.settings = settings
        self._seen: set[tuple[str, str, str]] = set()  # (thread, row, route) known notified: no query for them
        self._routed: dict[tuple[str, str], tuple[str, ...]] = {}  # a listed row's routes, worked out once
        self._routes = {route.name: route for route in policy.notify}
        self._followed: dict[tuple[str, str, str], str] = {}  # decided follow-ups recorded: no query for them
        self.held = False  # the last look held rows back (their thread's run was still writing)
        self._held_threads: set[str] = set()  # held back while their run wrote: once it ended, their batch is whole
        self._notified: set[str] = set()  # the threads of `_seen`: a change of one may be a decision to follow up
        self._lock = threading.Lock()

    def observe(
        self,
        rows: Iterable[PendingInterrupt],
        now: float | None = None,
        *,
        busy: Collection[str] = (),
        only: Collection[str] | None = None,
    ) -> list[Enqueued]:
        """Record what the listing calls for, per thread, route and kind; returns what was recorded.

        Kinds: `pending` (rows not notified yet), `reminder` (a route's `remind_before` a row's deadline),
        `escalated` (its deadline passed and escalated: to `escalate_to`), `decided` (a row notified before was
        applied: who decided what). Each (thread, row, route, kind) once, in any number of processes.

        `busy`: threads a run is writing right now (a lease is held): their rows wait, since the run's parallel
        tasks write their interrupts one by one and the batch is whole only when it paused (`held` says so).
        Rows written by a process without a lease wait `notify_settle_seconds` for the rest of their batch.

        `only`: `rows` are the rows of these threads alone (those that changed since the last look, and those held
        back): the other threads' rows were looked at already and are not forgotten. Follow-ups are read only when
        a thread notified before is among them. Reminders and escalations of unchanged threads, and forgetting
        rows no longer listed, wait for the next look at the whole listing (`only=None`).
        """
        if not self.policy.notify:
            return []
        now = time.time() if now is None else now
        when = _utc(now)
        held = False
        with self._lock:
            wanted: dict[tuple[str, str, str], list[PendingInterrupt]] = {}
            current: set[tuple[str, str, str]] = set()
            routed: dict[tuple[str, str], tuple[str, ...]] = {}
            for row in rows:
                names = self._routed.get(row.key)
                if names is None:
                    names = self._routes_of(row)
                    if row.unverified or row.blocked:
                        continue  # may change when read or loaded: looked at again next time
                routed[row.key] = names
                for name in names:
                    for kind in self._kinds(row, self._routes[name], when):
                        key = (row.thread_id, row.row_id, _row_route(name, kind))
                        current.add(key)
                        if key in self._seen:
                            continue
                        if row.thread_id in busy:
                            held = True
                            self._held_threads.add(row.thread_id)
                            continue
                        wanted.setdefault((row.thread_id, name, kind), []).append(row)
            if only is None:
                self._routed = routed  # a row's routes never change (its tool and arguments are its interrupt's)
            else:
                self._routed.update(routed)
            follow = only is None or not self._notified.isdisjoint(only)
            extras = self._decided(now, wanted) if follow else {}
            if wanted and not self._seen:  # a new process: most rows were notified by an earlier one
                known = self.tables.notified(sorted({thread_id for thread_id, _, _ in wanted}))
                self._seen |= known
                self._notified |= {thread_id for thread_id, _, _ in known}
                wanted = {
                    (thread_id, name, kind): kept
                    for (thread_id, name, kind), batch in wanted.items()
                    if (kept := [r for r in batch if (thread_id, r.row_id, _row_route(name, kind)) not in known])
                }
            recorded = []
            for (thread_id, name, kind), batch in sorted(wanted.items()):
                done = self._enqueue(self._routes[name], thread_id, batch, now, kind, extras)
                if done is not None:
                    recorded.append(done)
                self._seen |= {(thread_id, row.row_id, _row_route(name, kind)) for row in batch}
                self._notified.add(thread_id)
            if only is None:
                self._seen &= current  # forget rows no longer listed: the set stays the size of the listing
                self._notified = {thread_id for thread_id, _, _ in self._seen}
            self._held_threads &= set(busy)  # a run that ended: its batch was recorded just now
            self.held = held
            return recorded

    @property
    def held_threads(self) -> frozenset[str]:
        """The threads whose rows the last looks held back (a look at changed threads looks at these too)."""
        with self._lock:
            return frozenset(self._held_threads)

    def _routes_of(self, row: PendingInterrupt) -> tuple[str, ...]:
        """The routes that carry `row`: none for a row a rule decides, or one this console cannot decide."""
        if row.unverified or row.blocked or self.policy.auto_rule(row) is not None:
            return ()
        return tuple(route.name for route in self.policy.routes(row))

    def _kinds(self, row: PendingInterrupt, route: NotifyRule, when: datetime) -> tuple[str, ...]:
        """What the row calls for on `route` now: pending, and a reminder or an escalation when due."""
        if not self.policy.deadlines:
            return _PENDING
        deadline = self.policy.deadline(row)
        raised = _raised(row)
        if deadline is None or raised is None:
            return _PENDING
        if deadline.due(row, when):
            return ("pending", "escalated") if deadline.escalate_to else _PENDING
        remind = route.remind_before
        if remind is not None and remind < deadline.after and when >= raised + deadline.after - remind:
            return ("pending", "reminder")  # (a deadline shorter than the reminder's lead gets none)
        return _PENDING

    def _decided(
        self, now: float, wanted: dict[tuple[str, str, str], list[PendingInterrupt]]
    ) -> dict[tuple[str, str], dict[str, Any]]:
        """Notified rows applied within the last `FOLLOW_UP_WINDOW` seconds: a `decided` follow-up on each route
        that carried them (added to `wanted`); their items' `decided` part, by row. Read from the store (the
        decision log joined to the notified rows), so a process that restarted in between still sends it."""
        since = datetime.fromtimestamp(now - FOLLOW_UP_WINDOW, UTC).isoformat(timespec="milliseconds")
        self._followed = {key: at for key, at in self._followed.items() if at >= since}
        extras: dict[tuple[str, str], dict[str, Any]] = {}
        for thread_id, row_id, name, item, by, decision, at in self.tables.decided_since(since):
            key = (thread_id, row_id, _row_route(name, "decided"))
            if key in self._followed or name not in self._routes:
                continue
            row = _row_of(json.loads(item))
            extras[row.key] = {"by": by, "decision": decision, "at": at}
            wanted.setdefault((thread_id, name, "decided"), []).append(row)
            self._followed[key] = at
        return extras

    def _enqueue(
        self,
        route: NotifyRule,
        thread_id: str,
        batch: list[PendingInterrupt],
        now: float,
        kind: str,
        extras: dict[tuple[str, str], dict[str, Any]],
    ) -> Enqueued | None:
        items = [row_item(row, self.policy) for row in batch]
        for row, item in zip(batch, items, strict=True):
            if row.key in extras:
                item["decided"] = extras[row.key]
        # A batch seen whole (its run ended after holding it back) need not wait for more rows.
        whole = thread_id in self._held_threads
        settle = max(route.digest.total_seconds(), 0.0 if whole else self.settings.notify_settle_seconds)
        due = now + (settle if kind == "pending" else 0)
        quiet = route.quiet_until(_utc(due))
        if quiet is not None:
            due = quiet.timestamp()
        expires = now + self.settings.link_seconds
        deadlines = [at for at in map(deadline_epoch, items) if at is not None and at > now]
        if deadlines:
            expires = min(expires, min(deadlines))
        recipients = route.to
        if recipients is None or (kind == "escalated" and route.channel != "email"):
            recipients = tuple(dict.fromkeys(p for row in batch for p in self.policy.deciders_of(row, _utc(now))))
        found = self.tables.enqueue(
            NewNotification(
                notification_id=uuid.uuid4().hex,
                route=route.name,
                channel=route.channel,
                thread_id=thread_id,
                items=[(str(item["row_id"]), json.dumps(item, default=str)) for item in items],
                recipients=recipients,
                due_at=due,
                expires_at=expires,
                give_up_after=self.settings.notify_attempts,
                merge=kind == "pending",
                kind=kind,
            ),
            now,
        )
        if found is None:
            return None
        return Enqueued(found[0], route.name, thread_id, tuple(found[1]), kind, due)

    # --- what the UI reads ----------------------------------------------------------------------------

    def notifications(
        self, *, status: str | None = None, thread_id: str | None = None, limit: int = 200
    ) -> list[NotificationRow]:
        """Notifications, newest first: `status` queued | sending | sent | dead, one thread's when given."""
        return self.tables.notifications(status=status, thread_id=thread_id, limit=limit)

    def dead_letters(self, limit: int = 200) -> list[NotificationRow]:
        """Notifications given up on (their last error in `last_error`), newest first."""
        return self.tables.notifications(status="dead", limit=limit)

    def deliveries(self, notification_id: str | None = None, limit: int = 500) -> list[DeliveryRow]:
        """The delivery log, newest first: every try, who made it, its outcome (sent, failed, dead, interrupted,
        lease lost, or None while under way) and the error."""
        return self.tables.log(notification_id, limit)

    def rows_of(self, notification_id: str) -> list[dict[str, object]]:
        """The rows a notification carries, as it shows them."""
        return [json.loads(item) for item in self.tables.items(notification_id)]

    def retry(self, notification_id: str, now: float | None = None) -> bool:
        """Send a dead letter again (up to `notify_attempts` more tries); False when it is not a dead letter."""
        return self.tables.requeue(notification_id, time.time() if now is None else now, self.settings.notify_attempts)


def _row_route(name: str, kind: str) -> str:
    """How review_notify_rows keys a row's route for a kind (NewNotification.row_route)."""
    return name if kind == "pending" else f"{name}#{kind}"


def _row_of(item: dict[str, Any]) -> PendingInterrupt:
    """A notified row back from its item (what the follow-up needs: its keys, tool, graph, arguments)."""
    known = {f.name for f in fields(PendingInterrupt)}
    given = {key: value for key, value in item.items() if key in known}
    given["allowed_decisions"] = tuple(given.get("allowed_decisions") or ())
    return PendingInterrupt(**given)


def _raised(row: PendingInterrupt) -> datetime | None:
    if not row.raised_at:
        return None
    try:
        raised = datetime.fromisoformat(row.raised_at)
    except ValueError:
        return None
    return raised if raised.tzinfo else raised.replace(tzinfo=UTC)


def _utc(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, UTC)
