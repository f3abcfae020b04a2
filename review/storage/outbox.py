"""The notification outbox's tables and SQL, for both backends (review/notify/ holds the logic).

Written once, over the store's own dialect hooks (`transaction`, `_run`, `_rows`, `_in`: review/storage/sql.py),
like the rest of the console's tables; created idempotently when an `OutboxTables` is made on a writable store.

- `review_notify_rows`: each (thread, row, route) is notified at most once: its primary key is the outbox's
  "exactly once". A batch's rows are inserted in one transaction, in one order (no deadlock between replicas),
  and a row another replica inserted first is simply not this batch's.
- `review_notifications`: one message per thread batch and route; its id is the delivery id receivers
  de-duplicate on. `status`: queued -> sending (a replica holds it until `lease_until`) -> sent | dead;
  a failed try goes back to queued with a later `due_at` (backoff).
- `review_notify_log`: every try, with who made it, when, and how it ended (the delivery log).
- `review_link_uses`: action links used (single use); `review_notify_keys`: a generated link key when none is set.
"""

from __future__ import annotations

import functools
import json
import secrets
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Concatenate, ParamSpec, TypeVar

from review.storage.base import StoreError
from review.storage.sql import Storage, split_script
from review.storage.sqlite import SqliteStorage

_P = ParamSpec("_P")
_R = TypeVar("_R")

# Times are epoch seconds (DOUBLE PRECISION: SQLite reads it as REAL; PostgreSQL's REAL would lose the milliseconds).
OUTBOX_TABLES = """
CREATE TABLE IF NOT EXISTS review_notifications (
    notification_id TEXT PRIMARY KEY,           -- the delivery id: the same on every try
    route           TEXT NOT NULL,              -- the [[notify]] route's name
    channel         TEXT NOT NULL,              -- webhook | slack | email
    thread_id       TEXT NOT NULL,
    kind            TEXT NOT NULL,              -- pending | reminder | escalated | decided
    recipients      TEXT NOT NULL,              -- JSON list of identity patterns the links are for
    created_at      DOUBLE PRECISION NOT NULL,
    expires_at      DOUBLE PRECISION NOT NULL,  -- the links' expiry
    due_at          DOUBLE PRECISION NOT NULL,  -- not before: digest window, quiet hours, backoff
    status          TEXT NOT NULL DEFAULT 'queued',  -- queued | sending | sent | dead
    attempts        INTEGER NOT NULL DEFAULT 0,
    give_up_after   INTEGER NOT NULL,           -- a dead letter once this many tries failed
    owner           TEXT NOT NULL DEFAULT '',   -- the replica sending it (status sending)
    lease_until     DOUBLE PRECISION NOT NULL DEFAULT 0,
    sent_at         DOUBLE PRECISION,
    last_error      TEXT
);
CREATE INDEX IF NOT EXISTS review_notifications_due ON review_notifications(status, due_at);
CREATE INDEX IF NOT EXISTS review_notifications_thread ON review_notifications(thread_id, route, status);

CREATE TABLE IF NOT EXISTS review_notify_rows (
    thread_id       TEXT NOT NULL,
    row_id          TEXT NOT NULL,
    route           TEXT NOT NULL,              -- the route's name, `<name>#<kind>` for a kind but pending
    notification_id TEXT NOT NULL,
    item            TEXT NOT NULL,              -- JSON: the row as notified (PendingInterrupt.to_dict + deadline)
    added_at        DOUBLE PRECISION NOT NULL,  -- with position: the order the console listed the rows in
    position        INTEGER NOT NULL,
    PRIMARY KEY (thread_id, row_id, route)
);
CREATE INDEX IF NOT EXISTS review_notify_rows_notification ON review_notify_rows(notification_id);

CREATE TABLE IF NOT EXISTS review_notify_log (
    notification_id TEXT NOT NULL,
    attempt         INTEGER NOT NULL,
    owner           TEXT NOT NULL,
    started_at      DOUBLE PRECISION NOT NULL,
    ended_at        DOUBLE PRECISION,
    outcome         TEXT,                       -- sent | failed | dead | interrupted | lease lost; NULL: under way
    detail          TEXT,
    PRIMARY KEY (notification_id, attempt)
);

CREATE TABLE IF NOT EXISTS review_link_uses (
    token_id  TEXT PRIMARY KEY,
    thread_id TEXT NOT NULL,
    row_id    TEXT NOT NULL,
    identity  TEXT NOT NULL,
    used_at   DOUBLE PRECISION NOT NULL
);

CREATE TABLE IF NOT EXISTS review_notify_keys (name TEXT PRIMARY KEY, value TEXT NOT NULL)
"""
_SCHEMA = "1"  # recorded in review_notify_keys once the tables are made
_SETUP_LOCK = 0x52564E54  # PostgreSQL: one replica creates the tables at a time ("RVNT")
NOTIFICATION_COLUMNS = (
    "notification_id, route, channel, thread_id, kind, recipients, created_at, expires_at, due_at, status, "
    "attempts, give_up_after, owner, lease_until, sent_at, last_error"
)


@dataclass(frozen=True)
class NotificationRow:
    """A notification as stored."""

    notification_id: str
    route: str
    channel: str
    thread_id: str
    kind: str
    recipients: tuple[str, ...]
    created_at: float
    expires_at: float
    due_at: float
    status: str
    attempts: int
    give_up_after: int
    owner: str
    lease_until: float
    sent_at: float | None
    last_error: str | None


@dataclass(frozen=True)
class DeliveryRow:
    """One try of a notification (the delivery log)."""

    notification_id: str
    attempt: int
    owner: str
    started_at: float
    ended_at: float | None
    outcome: str | None
    detail: str | None


@dataclass(frozen=True)
class NewNotification:
    """What `enqueue` records for one thread and route: the batch's rows, as (row_id, JSON item)."""

    notification_id: str
    route: str
    channel: str
    thread_id: str
    items: Sequence[tuple[str, str]]
    recipients: Sequence[str]
    due_at: float
    expires_at: float
    give_up_after: int
    merge: bool  # join a queued, never tried notification of the thread and route (its digest window is open)
    kind: str = "pending"  # pending | reminder | escalated | decided: each row is notified once per kind

    @property
    def row_route(self) -> str:
        """The route as `review_notify_rows` keys a row: `<name>`, or `<name>#<kind>`."""
        return self.route if self.kind == "pending" else f"{self.route}#{self.kind}"


def _notification(row: Any) -> NotificationRow:
    values = [row[i] for i in range(16)]
    values[5] = tuple(json.loads(values[5]))
    return NotificationRow(*values)


def _outbox_errors(method: Callable[Concatenate[OutboxTables, _P], _R]) -> Callable[Concatenate[OutboxTables, _P], _R]:
    """The driver's errors as one StoreError line, like the store's own methods."""

    @functools.wraps(method)
    def wrapper(self: OutboxTables, /, *args: _P.args, **kwargs: _P.kwargs) -> _R:
        try:
            return method(self, *args, **kwargs)
        except self.store.errors as exc:
            raise StoreError(self.store._describe(exc)) from exc

    return wrapper


class OutboxTables:
    """The outbox's statements over one store (`Storage`); every method is one transaction or one read."""

    def __init__(self, store: Storage) -> None:
        self.store = store
        self.sqlite = isinstance(store, SqliteStorage)
        self._for_update = "" if self.sqlite else " FOR UPDATE"  # SQLite's BEGIN IMMEDIATE already serialises
        if not store.read_only and not self._current():
            self._create()

    def _current(self) -> bool:
        """The tables are there, as this version makes them (no DDL then: on PostgreSQL even CREATE INDEX IF NOT
        EXISTS locks its table, and a replica's open would deadlock with another's notifying)."""
        try:
            found = self.store._rows("SELECT value FROM review_notify_keys WHERE name = 'schema'")
        except self.store.errors:
            return False
        return bool(found) and str(found[0][0]) == _SCHEMA

    @_outbox_errors
    def _create(self) -> None:
        with self.store.transaction() as conn:
            if not self.sqlite:  # concurrent CREATE ... IF NOT EXISTS can still collide in PostgreSQL's catalog
                self.store._run(conn, "SELECT pg_advisory_xact_lock(?, 0)", (_SETUP_LOCK,))
            for statement in split_script(OUTBOX_TABLES):
                self.store._run(conn, statement)
            self.store._run(
                conn,
                "INSERT INTO review_notify_keys (name, value) VALUES ('schema', ?) "
                "ON CONFLICT (name) DO UPDATE SET value = excluded.value",
                (_SCHEMA,),
            )

    # --- creating -------------------------------------------------------------------------------------

    @_outbox_errors
    def enqueue(self, new: NewNotification, now: float) -> tuple[str, list[str]] | None:
        """Record the rows of `new` not notified on its route yet, in one transaction, as ONE notification.

        Returns (the notification id they joined or created, their row ids), or None when every row was
        already notified (by this or another replica). With `merge`, the rows join the thread's and route's
        queued notification that was never tried (its digest window still open) instead of starting one.
        """
        # One order for every replica (by row id): two batches never wait for each other's rows crosswise.
        items = sorted((row_id, item, position) for position, (row_id, item) in enumerate(new.items))
        with self.store.transaction() as conn:
            mine: list[tuple[str, str]] = []
            for row_id, item, position in items:
                inserted = self.store._run(
                    conn,
                    "INSERT INTO review_notify_rows (thread_id, row_id, route, notification_id, item, added_at, "
                    "position) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
                    (new.thread_id, row_id, new.row_route, new.notification_id, item, now, position),
                ).rowcount
                if inserted == 1:
                    mine.append((row_id, item))
            if not mine:
                return None
            target = self._open_notification(conn, new, now) if new.merge else None
            if target is not None:
                among, params = self.store._in("row_id", [row_id for row_id, _ in mine])
                self.store._run(
                    conn,
                    f"UPDATE review_notify_rows SET notification_id = ? WHERE thread_id = ? AND route = ? AND {among}",
                    (target, new.thread_id, new.row_route, *params),
                )
                return target, [row_id for row_id, _ in mine]
            self.store._run(
                conn,
                "INSERT INTO review_notifications (notification_id, route, channel, thread_id, kind, recipients, "
                "created_at, expires_at, due_at, give_up_after) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    new.notification_id,
                    new.route,
                    new.channel,
                    new.thread_id,
                    new.kind,
                    json.dumps(list(new.recipients)),
                    now,
                    new.expires_at,
                    new.due_at,
                    new.give_up_after,
                ),
            )
            return new.notification_id, [row_id for row_id, _ in mine]

    @_outbox_errors
    def notified(self, thread_ids: Sequence[str]) -> set[tuple[str, str, str]]:
        """The (thread, row, route) already notified among these threads (a new process's first look)."""
        found: set[tuple[str, str, str]] = set()
        ids = sorted(set(thread_ids))
        for start in range(0, len(ids), 500):
            among, params = self.store._in("thread_id", ids[start : start + 500])
            for row in self.store._rows(
                f"SELECT thread_id, row_id, route FROM review_notify_rows WHERE {among}", params
            ):
                found.add((str(row[0]), str(row[1]), str(row[2])))
        return found

    @_outbox_errors
    def decided_since(self, since: str) -> list[tuple[str, str, str, str, str, str, str]]:
        """Rows notified (as pending) whose decision was applied, decided at `since` or later (an ISO time, as the
        decision log writes them): (thread, row, route, the notified item, reviewer, decision, decided at).
        Read through the log's time index: it costs the window's decisions, not the history."""
        return [
            (str(r[0]), str(r[1]), str(r[2]), str(r[3]), str(r[4]), str(r[5]), str(r[6]))
            for r in self.store._rows(
                "SELECT n.thread_id, n.row_id, n.route, n.item, d.reviewer, d.decision_type, d.decided_at "
                "FROM review_decisions d JOIN review_notify_rows n "
                "ON n.thread_id = d.thread_id AND n.row_id = d.row_id "
                "WHERE d.decided_at >= ? AND d.status = 'applied' AND n.route NOT LIKE '%#%' "
                "ORDER BY d.decided_at, n.added_at, n.position",
                (since,),
            )
        ]

    def _open_notification(self, conn: Any, new: NewNotification, now: float) -> str | None:
        """The thread's and route's notification rows may still join, locked against a sender claiming it."""
        found = self.store._run(
            conn,
            "SELECT notification_id FROM review_notifications WHERE thread_id = ? AND route = ? AND kind = ? "
            "AND status = 'queued' AND attempts = 0 AND due_at > ? ORDER BY created_at LIMIT 1" + self._for_update,
            (new.thread_id, new.route, new.kind, now),
        ).fetchone()
        return None if found is None else str(found[0])

    # --- delivering -----------------------------------------------------------------------------------

    @_outbox_errors
    def due(self, now: float, limit: int, host: str) -> list[NotificationRow]:
        """Notifications a sender may take: queued and due; being sent past their lease, or by a process of `host`
        (the caller tells whether it is gone). Two reads, so messages in flight never crowd out the due ones."""
        queued = self.store._rows(
            f"SELECT {NOTIFICATION_COLUMNS} FROM review_notifications WHERE status = 'queued' AND due_at <= ? "
            "ORDER BY due_at LIMIT ?",
            (now, limit),
        )
        sending = self.store._rows(
            f"SELECT {NOTIFICATION_COLUMNS} FROM review_notifications WHERE status = 'sending' "
            "AND (lease_until < ? OR owner LIKE ?) ORDER BY due_at LIMIT ?",
            (now, host.replace("%", "").replace("_", "") + ":%", limit),
        )
        return [_notification(row) for row in [*sending, *queued]]

    @_outbox_errors
    def take(self, found: NotificationRow, owner: str, now: float, lease_until: float) -> int | None:
        """Take `found` for `owner` if it is still as read (a compare-and-set); returns the try's number.

        A try it takes over from a stopped sender is closed in the log as interrupted.
        """
        attempt = found.attempts + 1
        with self.store.transaction() as conn:
            taken = self.store._run(
                conn,
                "UPDATE review_notifications SET status = 'sending', owner = ?, lease_until = ?, attempts = ? "
                "WHERE notification_id = ? AND status = ? AND owner = ? AND attempts = ?",
                (owner, lease_until, attempt, found.notification_id, found.status, found.owner, found.attempts),
            ).rowcount
            if taken != 1:
                return None
            if found.status == "sending":
                self.store._run(
                    conn,
                    "UPDATE review_notify_log SET ended_at = ?, outcome = 'interrupted', "
                    "detail = 'the sender stopped or ran out of its lease; taken over by ' || ? "
                    "WHERE notification_id = ? AND attempt = ? AND outcome IS NULL",
                    (now, owner, found.notification_id, found.attempts),
                )
            self.store._run(
                conn,
                "INSERT INTO review_notify_log (notification_id, attempt, owner, started_at) VALUES (?, ?, ?, ?)",
                (found.notification_id, attempt, owner, now),
            )
        return attempt

    @_outbox_errors
    def items(self, notification_id: str) -> list[str]:
        """The JSON items of the rows a notification carries."""
        return [
            str(row[0])
            for row in self.store._rows(
                "SELECT item FROM review_notify_rows WHERE notification_id = ? ORDER BY added_at, position",
                (notification_id,),
            )
        ]

    @_outbox_errors
    def finish(
        self,
        notification_id: str,
        owner: str,
        attempt: int,
        *,
        status: str,
        now: float,
        detail: str | None,
        due_at: float | None = None,
    ) -> bool:
        """End `owner`'s try: `status` sent, queued (retry at `due_at`) or dead. False when the try had lost its
        lease (another replica took the notification over): its log line says so, the notification is theirs."""
        with self.store.transaction() as conn:
            done: int = self.store._run(
                conn,
                "UPDATE review_notifications SET status = ?, owner = '', lease_until = 0, "
                "sent_at = CASE WHEN ? = 'sent' THEN ? ELSE sent_at END, due_at = COALESCE(?, due_at), "
                "last_error = CASE WHEN ? = 'sent' THEN NULL ELSE ? END "
                "WHERE notification_id = ? AND owner = ? AND attempts = ? AND status = 'sending'",
                (status, status, now, due_at, status, detail, notification_id, owner, attempt),
            ).rowcount
            outcome = {"sent": "sent", "queued": "failed", "dead": "dead"}[status] if done == 1 else "lease lost"
            self.store._run(
                conn,
                "UPDATE review_notify_log SET ended_at = ?, outcome = ?, detail = ? "
                "WHERE notification_id = ? AND attempt = ? AND owner = ?",
                (now, outcome, detail, notification_id, attempt, owner),
            )
        return done == 1

    @_outbox_errors
    def extend(self, owner: str, notification_ids: Iterable[str], lease_until: float) -> None:
        """Keep `owner`'s notifications being sent its own a while longer (a slow server)."""
        ids = list(notification_ids)
        if not ids:
            return
        among, params = self.store._in("notification_id", ids)
        with self.store.transaction() as conn:
            self.store._run(
                conn,
                f"UPDATE review_notifications SET lease_until = ? WHERE owner = ? AND status = 'sending' AND {among}",
                (lease_until, owner, *params),
            )

    @_outbox_errors
    def requeue(self, notification_id: str, now: float, tries: int) -> bool:
        """Send a dead letter again, `tries` more times at most."""
        with self.store.transaction() as conn:
            return bool(
                self.store._run(
                    conn,
                    "UPDATE review_notifications SET status = 'queued', due_at = ?, give_up_after = attempts + ? "
                    "WHERE notification_id = ? AND status = 'dead'",
                    (now, tries, notification_id),
                ).rowcount
                == 1
            )

    # --- reading --------------------------------------------------------------------------------------

    @_outbox_errors
    def notifications(
        self, *, status: str | None = None, thread_id: str | None = None, limit: int = 200
    ) -> list[NotificationRow]:
        """Notifications, newest first, of one status and thread when given."""
        where, params = [], []
        if status is not None:
            where.append("status = ?")
            params.append(status)
        if thread_id is not None:
            where.append("thread_id = ?")
            params.append(thread_id)
        clause = f"WHERE {' AND '.join(where)} " if where else ""
        return [
            _notification(row)
            for row in self.store._rows(
                f"SELECT {NOTIFICATION_COLUMNS} FROM review_notifications {clause}"
                "ORDER BY created_at DESC, notification_id LIMIT ?",
                (*params, limit),
            )
        ]

    @_outbox_errors
    def log(self, notification_id: str | None = None, limit: int = 500) -> list[DeliveryRow]:
        """The delivery log, newest first (one notification's when given)."""
        clause, params = ("WHERE notification_id = ? ", (notification_id,)) if notification_id else ("", ())
        return [
            DeliveryRow(*(row[i] for i in range(7)))
            for row in self.store._rows(
                "SELECT notification_id, attempt, owner, started_at, ended_at, outcome, detail FROM review_notify_log "
                f"{clause}ORDER BY started_at DESC, attempt DESC LIMIT ?",
                (*params, limit),
            )
        ]

    # --- action links ---------------------------------------------------------------------------------

    @_outbox_errors
    def link_use(self, token_id: str) -> tuple[str, float] | None:
        """Who used the link `token_id` and when, None when it is unused."""
        found = self.store._rows("SELECT identity, used_at FROM review_link_uses WHERE token_id = ?", (token_id,))
        return None if not found else (str(found[0][0]), float(found[0][1]))

    @_outbox_errors
    def use_link(self, token_id: str, thread_id: str, row_id: str, identity: str, now: float) -> bool:
        """Record the link's one use; False when it was used already (by anyone, in any replica)."""
        with self.store.transaction() as conn:
            return bool(
                self.store._run(
                    conn,
                    "INSERT INTO review_link_uses (token_id, thread_id, row_id, identity, used_at) "
                    "VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
                    (token_id, thread_id, row_id, identity, now),
                ).rowcount
                == 1
            )

    @_outbox_errors
    def shared_key(self, name: str) -> str:
        """A random key every replica of this store shares (made by the first that asks)."""
        with self.store.transaction() as conn:
            self.store._run(
                conn,
                "INSERT INTO review_notify_keys (name, value) VALUES (?, ?) ON CONFLICT DO NOTHING",
                (name, secrets.token_hex(32)),
            )
            return str(
                self.store._run(conn, "SELECT value FROM review_notify_keys WHERE name = ?", (name,)).fetchone()[0]
            )
