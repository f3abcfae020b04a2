"""What a notification says: a row as notified, and the webhook's JSON envelope (Slack and mail render the same).

The envelope (`version` 1), sent as the body of a webhook's POST. Its `type` is "review.pending" (new rows),
"review.reminder" (a route's `remind_before` a deadline), "review.escalated" (a deadline passed and escalated;
`recipients` is the group) or "review.decided" (a follow-up: each row's `decided` says by whom, no action links):

    {
      "type": "review.pending", "version": 1,
      "delivery_id": "...",            # the same on every try: drop a repeat
      "route": "ops", "thread_id": "t1", "graph_id": "agent",
      "summary": "2 tool calls wait for a decision in thread t1: create_circle, create_square",
      "created_at": "2026-12-05T10:00:00Z", "expires_at": "2026-12-06T10:00:00Z",   # the links' expiry
      "recipients": ["@ops"],
      "links": {"thread": "<base>/?thread=t1"},
      "rows": [{
        "row_id": "...", "interrupt_id": "...", "thread_id": "t1", "tool": "create_circle", "tool_call_id": "...",
        "arguments": {...}, "description": "...", "allowed_decisions": ["approve", "edit", "reject"],
        "raised_at": "...", "deadline": {"at": "...", "action": "reject" | "escalate", "escalate_to": "@leads"} | null,
        "decided": {"by": "Ana", "decision": "approve", "at": "..."} | null,
        "links": {"row": "<base>/?row=<row_id>", "approve": "<base>/?row=<row_id>&action=<token>", "reject": ...}
      }]
    }

Action links exist for the decisions a link can carry whole (approve, reject: the card asks for a reject's message);
an edit is made on the card itself (`links.row`).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from review.contract import PendingInterrupt
from review.notify.links import ActionLinks, row_link, thread_link
from review.policy import Policy
from review.storage.outbox import NotificationRow

ENVELOPE_TYPES = ("review.pending", "review.reminder", "review.escalated", "review.decided")
ENVELOPE_VERSION = 1
LINK_DECISIONS = ("approve", "reject")  # a link carries these whole; an edit is typed on the card


def iso(epoch: float) -> str:
    """An epoch time as the envelope writes it (UTC, seconds, `Z`)."""
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def row_item(row: PendingInterrupt, policy: Policy) -> dict[str, Any]:
    """The row as the outbox keeps it (what the message will show, whatever happens to the row meanwhile)."""
    item = row.to_dict()
    deadline = policy.deadline(row)
    item["deadline"] = None
    if deadline is not None and row.raised_at:
        try:
            raised = datetime.fromisoformat(row.raised_at)
        except ValueError:
            raised = None
        if raised is not None:
            raised = raised if raised.tzinfo else raised.replace(tzinfo=UTC)
            item["deadline"] = {
                "at": iso((raised + deadline.after).timestamp()),
                "action": "escalate" if deadline.escalate_to else "reject",
                "escalate_to": deadline.escalate_to,
            }
    return item


def deadline_epoch(item: dict[str, Any]) -> float | None:
    """When the item's deadline acts (epoch seconds), None without one."""
    deadline = item.get("deadline")
    if not isinstance(deadline, dict):
        return None
    return datetime.strptime(str(deadline["at"]), "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC).timestamp()


def summary(items: Sequence[dict[str, Any]], thread_id: str, kind: str = "pending", to: Sequence[str] = ()) -> str:
    """One line: how many calls wait (or were decided), in which thread, which tools."""
    tools = ", ".join(dict.fromkeys(str(item.get("tool") or "a question") for item in items))
    calls = "tool call" if len(items) == 1 else "tool calls"
    waits = "waits" if len(items) == 1 else "wait"
    if kind == "decided":
        done = "; ".join(
            f"{item.get('tool') or 'a question'} {_past(item['decided']['decision'])} by {item['decided']['by']}"
            for item in items
        )
        return f"Decided in thread {thread_id}: {done}"
    if kind == "reminder":
        return f"Reminder: {len(items)} {calls} still {waits} for a decision in thread {thread_id}: {tools}"
    if kind == "escalated":
        return (
            f"Escalated to {', '.join(to)}: {len(items)} {calls} {waits} for a decision in thread {thread_id}: {tools}"
        )
    return f"{len(items)} {calls} {waits} for a decision in thread {thread_id}: {tools}"


def _past(decision: str) -> str:
    return {"approve": "approved", "edit": "edited", "reject": "rejected", "respond": "answered"}.get(
        decision, decision
    )


def envelope(
    note: NotificationRow,
    items: Sequence[dict[str, Any]],
    links: ActionLinks | None,
    public_url: str,
    recipients: tuple[str, ...] | None = None,
) -> dict[str, Any]:
    """The notification as the webhook's JSON (module docstring); links signed for `recipients` (default: the
    notification's). The same bytes on every try: tokens are made from the delivery id, not the clock."""
    audience = recipients if recipients is not None else note.recipients
    rows = []
    for item in items:
        row_links = {"row": row_link(public_url, str(item["row_id"]))}
        if links is not None and note.kind != "decided":
            for decision in LINK_DECISIONS:
                if decision in item.get("allowed_decisions", ()):
                    seed = f"{note.notification_id}:{decision}:{','.join(audience)}".encode()
                    nonce = hashlib.sha256(seed).hexdigest()[:16]  # the same on every try of this message
                    row_links[decision] = links.mint(item, decision, audience, note.expires_at, nonce)
        rows.append(
            {
                "row_id": item["row_id"],
                "interrupt_id": item["interrupt_id"],
                "thread_id": item["thread_id"],
                "tool": item.get("tool"),
                "tool_call_id": item.get("tool_call_id"),
                "arguments": item.get("args") or {},
                "description": item.get("description") or "",
                "allowed_decisions": list(item.get("allowed_decisions") or ()),
                "raised_at": item.get("raised_at"),
                "deadline": item.get("deadline"),
                "decided": item.get("decided"),  # a `decided` follow-up: {"by", "decision", "at"}
                "links": row_links,
            }
        )
    return {
        "type": f"review.{note.kind}",
        "version": ENVELOPE_VERSION,
        "delivery_id": note.notification_id,
        "route": note.route,
        "thread_id": note.thread_id,
        "graph_id": next((item.get("graph_id") for item in items if item.get("graph_id")), None),
        "summary": summary(items, note.thread_id, note.kind, note.recipients),
        "created_at": iso(note.created_at),
        "expires_at": iso(note.expires_at),
        "recipients": list(audience),
        "links": {"thread": thread_link(public_url, note.thread_id)},
        "rows": rows,
    }


def body(data: dict[str, Any]) -> bytes:
    """The envelope's bytes as sent (and signed): compact JSON, UTF-8, keys in a fixed order."""
    return json.dumps(data, separators=(",", ":"), ensure_ascii=False, default=str).encode()
