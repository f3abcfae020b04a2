"""Delivering the outbox: a worker in every console process, one sender per notification.

`DeliveryWorker.run_once()` takes the notifications that are due with a compare-and-set in the store (status
queued -> sending, this process as owner, a lease of `lease_seconds`), sends each through its route's channel,
and records the outcome: sent; failed and queued again after a backoff (`notify_backoff_seconds`, doubling, at
most an hour); or dead after `give_up_after` tries (or a permanent refusal). A notification whose sender
stopped (its process gone, or its lease run out) is taken over by another replica and sent again with the SAME
delivery id, so a receiver that drops repeated ids sees it once; a late sender's outcome is recorded as "lease
lost" and changes nothing.

`NotifyService` runs it in a console process: one thread records notifications from the change feed, one
delivers them. Woken by the store's change token, the observing thread looks only at the threads whose heads
moved since its last look (the store's `changes_since`, then `console.pending(thread)` for each: O(changed
threads), so a process's Inbox refreshes barely pay for its notifier); at least every `notify_poll_seconds` it
looks at the whole listing (`Outbox.observe(console.pending())`: reminders, escalations, follow-ups, rows gone).
For the UI:

    service = start_notifications(console)      # None when the policy has no [[notify]] routes
    ...
    service.outbox.notifications() / .deliveries() / .dead_letters() / .retry(id)
    service.links                                # ActionLinks: verify / redeem (review/notify/links.py)
    service.health()                             # one line per problem, for the sidebar
    service.stop()                               # before console.close()
"""

from __future__ import annotations

import json
import logging
import random
import socket
import threading
import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from review.leases import new_owner, owner_is_gone
from review.notify.channels import DeliveryFailed, email_message, send_email, send_slack, send_webhook
from review.notify.envelope import body, envelope
from review.notify.links import ActionLinks
from review.notify.outbox import Enqueued, Outbox
from review.policy import NotifyRule, Policy
from review.settings import Secret, Settings, secret
from review.storage.outbox import NotificationRow, OutboxTables

if TYPE_CHECKING:
    from review.console import ReviewConsole

log = logging.getLogger(__name__)

WEBHOOK_KEY_SECRET = "REVIEW_WEBHOOK_KEY"  # a webhook route's signing key when it names none
SMTP_PASSWORD_SECRET = "REVIEW_SMTP_PASSWORD"
MAX_BACKOFF = 3600.0
CHANGED_LIMIT = 32  # more threads changed since the last look than this: one look at the whole listing is cheaper
# After a change wakes the observer it waits this long before looking: the Inbox's own refresh, woken by the same
# change, reads the changed threads first and the look reuses that read instead of racing it for the store (a
# look that went first made the page's refresh wait for it: +7 to +30% on PostgreSQL). A run's parallel tasks
# writing their interrupts one by one also land in one look. Far below the 1 s a message may take.
LOOK_DELAY = 0.025


class DeliveryWorker:
    """Sends due notifications of one store; `owner` is this process (review/leases.py's form, host:pid:id)."""

    def __init__(
        self,
        tables: OutboxTables,
        policy: Policy,
        settings: Settings,
        *,
        links: ActionLinks | None,
        owner: str | None = None,
        env: Mapping[str, str] | None = None,
        batch: int = 20,
    ) -> None:
        self.tables = tables
        self.policy = policy
        self.settings = settings
        self.links = links
        self.owner = owner or new_owner()
        self.env = env
        self.batch = batch
        self.lease = settings.lease_seconds
        self.timeout = max(1.0, min(10.0, self.lease / 3))  # a try ends well within its lease
        self._routes = {route.name: route for route in policy.notify}

    def run_once(self, now: float | None = None) -> int:
        """Send what is due now (and what stopped senders left); returns how many were delivered."""
        now = time.time() if now is None else now
        sent = 0
        for found in self.tables.due(now, self.batch, socket.gethostname()):
            if found.status == "sending" and (
                found.owner == self.owner or not (found.lease_until < now or owner_is_gone(found.owner, self.owner))
            ):
                continue  # being sent by a live replica (or by this one)
            attempt = self.tables.take(found, self.owner, now, now + self.lease)
            if attempt is not None and self._deliver(found, attempt):
                sent += 1
        return sent

    def _deliver(self, found: NotificationRow, attempt: int) -> bool:
        try:
            route = self._routes.get(found.route)
            if route is None:
                raise DeliveryFailed(f"the route {found.route!r} is no longer in the policy", permanent=True)
            items = [json.loads(item) for item in self.tables.items(found.notification_id)]
            self.send(route, found, items)
        except DeliveryFailed as exc:
            return self._failed(found, attempt, str(exc), permanent=exc.permanent)
        except Exception as exc:  # a bug or a bad row must not stop the worker: recorded, retried
            log.exception("notification %s: sending failed", found.notification_id)
            return self._failed(found, attempt, f"{type(exc).__name__}: {exc}"[:300], permanent=False)
        self.tables.finish(found.notification_id, self.owner, attempt, status="sent", now=time.time(), detail=None)
        return True

    def _failed(self, found: NotificationRow, attempt: int, why: str, *, permanent: bool) -> bool:
        now = time.time()
        if permanent or attempt >= found.give_up_after:
            log.warning("notification %s is a dead letter after %d tries: %s", found.notification_id, attempt, why)
            self.tables.finish(found.notification_id, self.owner, attempt, status="dead", now=now, detail=why)
            return False
        wait = min(MAX_BACKOFF, self.settings.notify_backoff_seconds * 2 ** (attempt - 1)) * random.uniform(1, 1.1)
        self.tables.finish(
            found.notification_id, self.owner, attempt, status="queued", now=now, detail=why, due_at=now + wait
        )
        return False

    def send(self, route: NotifyRule, note: NotificationRow, items: list[dict[str, Any]]) -> None:
        """Send one notification through its route's channel (DeliveryFailed when it did not go)."""
        url = self._secret(route.url_secret) if route.channel in ("webhook", "slack") else None
        if route.channel == "webhook":
            assert url is not None
            key = self._secret(route.signing_secret or WEBHOOK_KEY_SECRET)
            data = envelope(note, items, self.links, self.settings.public_url)
            send_webhook(url, key, body(data), note.notification_id, self.timeout)
        elif route.channel == "slack":
            assert url is not None
            send_slack(url, envelope(note, items, self.links, self.settings.public_url), self.timeout)
        else:
            self._send_email(note, items)

    def _send_email(self, note: NotificationRow, items: list[dict[str, Any]]) -> None:
        addresses = [r for r in note.recipients if "@" in r and not r.startswith(("@", "*@")) and "*" not in r]
        if not addresses:
            raise DeliveryFailed(
                f"no e-mail address among the recipients ({', '.join(note.recipients)}): give the route a `to`",
                permanent=True,
            )
        if not self.settings.smtp:
            raise DeliveryFailed("no mail server: set REVIEW_SMTP (smtp://host:port)")
        messages = [
            email_message(
                envelope(note, items, self.links, self.settings.public_url, recipients=(address,)),
                self.settings.smtp_from,
                address,
            )
            for address in addresses
        ]
        password = secret(SMTP_PASSWORD_SECRET, self.settings, self.env)
        send_email(self.settings.smtp, password, messages, self.timeout)

    def _secret(self, name: str | None) -> Secret:
        found = secret(name, self.settings, self.env) if name else None
        if found is None:
            raise DeliveryFailed(f"the secret {name} is not set (environment or {self.settings.secrets_file})")
        return found


class NotifyService:
    """The notifier of one console process: records from the change feed, delivers, until `stop()`."""

    def __init__(self, console: ReviewConsole, *, env: Mapping[str, str] | None = None) -> None:
        self.console = console
        settings = console.settings
        self.outbox = Outbox(console.storage, console.policy, settings)
        # The links ask the console's policy as it is when checked (the app tightens it when sign-in is on).
        self.links = ActionLinks.open(console.storage, lambda: console.policy, settings, tables=self.outbox.tables)
        self.worker = DeliveryWorker(
            self.outbox.tables, console.policy, settings, links=self.links, owner=console.leases.owner, env=env
        )
        self.poll = settings.notify_poll_seconds
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._errors: dict[str, str] = {}
        self._looking = threading.Lock()  # one look at a time (the thread's, or a caller's observe_now)
        self._seq: int | None = None  # the change feed's position at the last look (None: no whole look yet)
        self._generation: int | None = None  # of the feed at the last whole look: a new one means a possible gap
        self._full_at = float("-inf")  # time.monotonic() of the last look at the whole listing
        self._threads = [
            threading.Thread(target=self._observe, name="review-notify-observe", daemon=True),
            threading.Thread(target=self._deliver, name="review-notify-deliver", daemon=True),
        ]

    def start(self) -> NotifyService:
        """Start both threads; returns the service."""
        for thread in self._threads:
            thread.start()
        return self

    def stop(self, timeout: float = 15.0) -> None:
        """Stop both threads (a try under way finishes, bounded by its timeout)."""
        self._stop.set()
        self._wake.set()
        for thread in self._threads:
            if thread.is_alive():
                thread.join(timeout)

    def health(self) -> list[str]:
        """The notifier's problems now (a failing store, a failing observation), one line each."""
        return list(self._errors.values())

    def observe_now(self) -> int:
        """Record notifications for every row listed now (a look at the whole listing: what the observing thread
        does at least every `notify_poll_seconds`); the delivery thread is woken when the first of them is due."""
        with self._looking:
            self._full_at = time.monotonic()
            changes = self.console.storage.changes_since(self._seq or 0, paused_only=True)  # the feed's top
            recorded = self.outbox.observe(self.console.pending(), busy=self._busy())
            self._seq, self._generation = changes.top, changes.generation
            return self._recorded(recorded)

    def observe_changes(self) -> int:
        """Record notifications for the rows of the threads whose heads moved since the last look, and of those
        held back (what the observing thread does on a change): O(changed threads), not O(listing). A look at
        the whole listing instead when there was none yet, the feed may have a gap, many threads changed, or
        rows come from Agent Servers (not in the store's change feed)."""
        with self._looking:
            seq = self._seq
            if seq is not None and not self.console.sources.servers:
                changes = self.console.storage.changes_since(seq)
                threads = {thread_id for thread_id, _ in changes.changed} | self.outbox.held_threads
                if changes.generation == self._generation and len(threads) <= CHANGED_LIMIT:
                    if threads:
                        busy = self._busy()
                        rows = [row for thread_id in sorted(threads) for row in self.console.pending(thread_id)]
                        recorded = self.outbox.observe(rows, busy=busy, only=threads)
                    else:
                        recorded = []
                    self._seq = changes.top
                    return self._recorded(recorded)
        return self.observe_now()

    def _busy(self) -> set[str]:
        """Threads a run of a live process is writing now (a lease held)."""
        return {
            lease.thread_id
            for lease in self.console.storage.leases()
            if lease.state == "running" and not self.console.leases.abandoned(lease.owner, lease.lease_until)
        }

    def _recorded(self, recorded: list[Enqueued]) -> int:
        """Wake the delivery thread when the first of `recorded` is due; how many."""
        if recorded:
            delay = max(0.0, min(e.due_at for e in recorded) - time.time()) + 0.005
            timer = threading.Timer(delay, self._wake.set)
            timer.daemon = True
            timer.start()
        return len(recorded)

    def _observe(self) -> None:
        token = self.console.change_token()
        while not self._stop.is_set():
            whole = time.monotonic() - self._full_at >= self.poll  # reminders, escalations, rows gone: on a timer
            self._guard("observe", self.observe_now if whole else self.observe_changes)
            # Rows held back while their thread's run writes: look again soon (its end moves no checkpoint).
            wait = min(self.poll, 0.05) if self.outbox.held else self.poll
            try:
                moved = self.console.wait_for_change(token, wait)
            except Exception as exc:  # a closed or failing store: say so, look again after a pause
                self._errors["observe"] = f"notifications: watching for new rows failed: {exc}"
                self._stop.wait(self.poll)
                continue
            if moved != token:
                self._stop.wait(LOOK_DELAY)
            token = moved

    def _deliver(self) -> None:
        while not self._stop.is_set():
            if not self._guard("deliver", self.worker.run_once):  # something sent: more may be due at once
                self._wake.wait(self.poll)
                self._wake.clear()

    def _guard(self, what: str, step: Callable[[], int]) -> int:
        """`step()`'s result; 0 when it failed (the failure kept for `health`, cleared by the next success)."""
        try:
            done = step()
        except Exception as exc:
            if not self._stop.is_set():
                self._errors[what] = f"notifications: {what} failed: {exc}"
                log.warning("%s", self._errors[what])
            return 0
        self._errors.pop(what, None)
        return done


def start_notifications(console: ReviewConsole, *, env: Mapping[str, str] | None = None) -> NotifyService | None:
    """Start the notifier in this console process; None when there is nothing to do (no [[notify]] route in the
    policy, or a read-only store). Every replica may start one: the store makes each message go out once."""
    if console.read_only or not console.policy.notify:
        return None
    return NotifyService(console, env=env).start()
