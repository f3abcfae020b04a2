"""The Audit page's notifications section: the outbox as the store keeps it (review/notify/outbox.py).

Notifications newest first, the delivery log (every try: who, when, its outcome and error) and the dead letters,
each with a **Retry** button for someone the policy lets decide one of its rows (a viewer or another tool's
decider sees why not). The section only reads, whether or not this process runs a notifier: any process's
notifier sends what Retry queued again (this one's, when it runs one). A console whose policy has no
`[[notify]]` route shows one line.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import fields
from datetime import UTC, datetime
from typing import Any

import pandas as pd
import streamlit as st

from review import ReviewConsole, StoreError
from review.contract import PendingInterrupt
from review.identity import Reviewer
from review.notify import Outbox
from review.storage.outbox import DeliveryRow, NotificationRow
from ui.auth import current_reviewer
from ui.format import md_escape, plural, short_id

NOTIFICATION_COLUMNS = ("created", "route", "channel", "kind", "thread", "status", "tries", "sent", "last error")
DELIVERY_COLUMNS = ("started", "notification", "try", "outcome", "took", "by", "detail")
SHOWN_NOTIFICATIONS = 200  # newest first; the dead letters are all listed (up to the outbox's own bound)
SHOWN_DELIVERIES = 500
RETRY_NOTE = "outbox_retry_note"  # session key: what the last Retry did, shown once


def open_outbox(console: ReviewConsole) -> Outbox | None:
    """The outbox of the console's store, to read (and requeue a dead letter); None when the policy has no
    `[[notify]]` route. It observes and delivers nothing itself: notifiers do, in whichever process runs one."""
    if not console.policy.notify:
        return None
    return Outbox(console.storage, console.policy, console.settings)


def may_retry(console: ReviewConsole, reviewer: Reviewer | None, items: Sequence[dict[str, Any]]) -> str | None:
    """None when `reviewer` may send this dead letter again: whoever the policy lets decide one of its rows (as
    they were notified); else why not, one line."""
    if reviewer is None:
        return "say who you are (sign in, or enter your name in the sidebar) to send it again"
    if console.read_only:
        return f"{console.storage.label} is read-only: nothing can be queued again"
    reasons = [console.policy.may_decide(reviewer, _row(item)) for item in items]
    if not reasons or all(reasons):
        return next((r for r in reasons if r), "it carries no row") + ": only its rows' deciders may send it again"
    return None


def notifications_frame(notes: Sequence[NotificationRow]) -> pd.DataFrame:
    """One line per notification, newest first."""
    return pd.DataFrame(
        [
            {
                "created": _time(n.created_at),
                "route": n.route,
                "channel": n.channel,
                "kind": n.kind,
                "thread": short_id(n.thread_id),
                "status": n.status,
                "tries": f"{n.attempts} of {n.give_up_after}",
                "sent": _time(n.sent_at),
                "last error": n.last_error or "",
            }
            for n in notes
        ],
        columns=list(NOTIFICATION_COLUMNS),
    )


def deliveries_frame(log: Sequence[DeliveryRow]) -> pd.DataFrame:
    """The delivery log, newest first: one line per try."""
    return pd.DataFrame(
        [
            {
                "started": _time(d.started_at),
                "notification": short_id(d.notification_id),
                "try": d.attempt,
                "outcome": d.outcome or "under way",
                "took": f"{d.ended_at - d.started_at:.2f} s" if d.ended_at is not None else "",
                "by": d.owner,
                "detail": d.detail or "",
            }
            for d in log
        ],
        columns=list(DELIVERY_COLUMNS),
    )


def outbox_section(console: ReviewConsole, reviewer: Reviewer | None) -> None:
    """Draw the section: a summary line, the notifications, the delivery log, the dead letters with Retry."""
    st.subheader("Notifications")
    outbox = open_outbox(console)
    if outbox is None:
        st.caption(md_escape("Notifications are off: the policy has no [[notify]] route."))
        return
    try:
        notes = outbox.notifications(limit=SHOWN_NOTIFICATIONS)
        log = outbox.deliveries(limit=SHOWN_DELIVERIES)
        dead = outbox.dead_letters()
    except StoreError as exc:  # a read-only store no notifier has written to has no outbox tables
        st.caption(md_escape(f"No delivery log to show: {exc}"))
        return
    note = st.session_state.pop(RETRY_NOTE, None)
    if note:
        (st.success if note.startswith("Queued") else st.warning)(md_escape(note))
    counts = Counter(n.status for n in notes)
    summary = ", ".join(f"{count} {status}" for status, count in counts.most_common()) or "none yet"
    st.caption(md_escape(f"{plural(len(notes), 'notification')}, newest first: {summary}."))
    if notes:
        st.dataframe(notifications_frame(notes), hide_index=True, key="outbox_notifications")
    with st.expander(f"Delivery log ({plural(len(log), 'try', 'tries')})"):
        st.dataframe(deliveries_frame(log), hide_index=True, key="outbox_deliveries")
    st.markdown(f"**Dead letters ({len(dead)})**")
    for letter in dead:
        _dead_letter(console, outbox, letter, reviewer)


def _dead_letter(console: ReviewConsole, outbox: Outbox, letter: NotificationRow, reviewer: Reviewer | None) -> None:
    items = outbox.rows_of(letter.notification_id)
    refused = may_retry(console, reviewer, items)
    tools = ", ".join(dict.fromkeys(str(item.get("tool") or "a question") for item in items))
    with st.container(border=True):
        st.markdown(
            md_escape(
                f"{letter.route} ({letter.channel}) · {letter.kind} · thread {short_id(letter.thread_id)} · {tools} · "
                f"{plural(letter.attempts, 'try', 'tries')}, created {_time(letter.created_at)}"
            )
        )
        st.text(letter.last_error or "(no error recorded)")
        st.button(
            "Retry",
            key=f"outbox_retry:{letter.notification_id}",
            disabled=refused is not None,
            help=refused or "Queue it again: the next notifier sends it, with the same delivery id",
            on_click=_retry,
            args=(console, outbox, letter.notification_id, items),
        )


def _retry(console: ReviewConsole, outbox: Outbox, notification_id: str, items: Sequence[dict[str, Any]]) -> None:
    """Checked again at the click, with the identity as it is then, before it is queued again."""
    refused = may_retry(console, current_reviewer(), items)
    if refused is not None:
        st.session_state[RETRY_NOTE] = f"Not queued: {refused}"
    elif outbox.retry(notification_id):
        st.session_state[RETRY_NOTE] = f"Queued again: notification {short_id(notification_id)}"
    else:
        st.session_state[RETRY_NOTE] = f"Not queued: notification {short_id(notification_id)} is no longer dead"


def _row(item: dict[str, Any]) -> PendingInterrupt:
    """A notified row back from the outbox's item (what the policy reads: tool, graph, arguments, when raised)."""
    known = {f.name for f in fields(PendingInterrupt)}
    given = {key: value for key, value in item.items() if key in known}
    given["allowed_decisions"] = tuple(given.get("allowed_decisions") or ())
    return PendingInterrupt(**given)


def _time(epoch: float | None) -> str:
    if epoch is None:
        return ""
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
