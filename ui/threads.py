"""Tables, chat lines and state text for the Thread page, from a `ThreadView` of any graph (plain Python)."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pandas as pd

from review import PendingInterrupt
from review.audit import AuditEntry
from review.editing import format_args
from review.threads import ChatLine, TimelineEntry
from ui.format import format_time, parse_time, short_id, waiting_since
from ui.inbox import row_name


@dataclass(frozen=True)
class ChatItem:
    """One message as the page shows it: who, a caption, and plain text."""

    role: str
    avatar: str | None
    caption: str
    text: str


def decision_text(entry: AuditEntry) -> str:
    """One decision as the conversation tells it: who did what, the edit's change or the rejection's message."""
    tool = entry.tool or "the tool call"
    if entry.decision == "approve":
        text = f"{entry.reviewer} approved {tool}"
    elif entry.decision == "edit":
        text = f"{entry.reviewer} edited {tool}: {args_change(entry.args_before or {}, entry.args_after or {})}"
    elif entry.decision == "reject":
        text = f"{entry.reviewer} rejected {tool}" + (f": “{entry.message}”" if entry.message else "")
    else:
        text = f"{entry.reviewer} decided {entry.decision} on {tool}"
    if entry.status == "failed":
        text += f" — failed: {entry.error or 'unknown error'}"
    elif entry.status == "claimed":
        text += " — being applied"
    return text


def args_change(before: Mapping[str, Any], after: Mapping[str, Any]) -> str:
    """`color blue → yellow` for each argument an edit changed (or `no change`)."""
    changes = [
        f"{key} {format_args({key: before[key]})[len(key) + 1 :] if key in before else '(none)'} → "
        f"{format_args({key: after[key]})[len(key) + 1 :] if key in after else '(removed)'}"
        for key in dict.fromkeys([*before, *after])
        if before.get(key) != after.get(key) or (key in before) != (key in after)
    ]
    return ", ".join(changes) or "no change"


def conversation(messages: Iterable[ChatLine], decisions: Sequence[AuditEntry] = ()) -> list[ChatItem]:
    """Human, AI (with the tool calls it planned) and tool messages (results and rejections), each
    reviewer decision just before the tool message it led to (who, what, when); decisions whose tool
    has not answered yet come last."""
    by_call: dict[str, list[AuditEntry]] = {}
    for entry in sorted(decisions, key=lambda e: (e.decided_at, e.attempt_id)):
        by_call.setdefault(entry.tool_call_id or f"row:{entry.row_id}", []).append(entry)
    items: list[ChatItem] = []
    for message in messages:
        if message.type == "tool" and message.tool_call_id in by_call:
            items += [_decision_item(entry) for entry in by_call.pop(message.tool_call_id)]
        if message.type == "human":
            items.append(ChatItem("user", None, "Prompt", message.content))
        elif message.type == "ai":
            calls = [f"{call.get('name')}({format_args(call.get('args') or {})})" for call in message.tool_calls]
            text = "\n".join(part for part in [message.content, *(f"→ {call}" for call in calls)] if part)
            caption = f"Agent planned {len(calls)} tool call(s)" if calls else "Agent"
            items.append(ChatItem("assistant", None, caption, text))
        elif message.type == "tool":
            outcome = "error" if message.status == "error" else "result"
            items.append(ChatItem("tool", ":material/build:", f"{message.name or 'tool'} {outcome}", message.content))
        else:
            items.append(ChatItem(message.type or "other", ":material/notes:", message.type, message.content))
    for rest in by_call.values():
        items += [_decision_item(entry) for entry in rest]
    return items


def _decision_item(entry: AuditEntry) -> ChatItem:
    return ChatItem(
        "reviewer", ":material/how_to_reg:", f"Review · {format_time(entry.decided_at)}", decision_text(entry)
    )


def next_text(next_nodes: Sequence[str], pending: int) -> str:
    """What runs next, in words: the nodes (or entrypoint) of the next step, and whether they wait for a review."""
    if not next_nodes:
        return "Nothing: the run has finished." if not pending else "Nothing scheduled; rows are pending."
    names = ", ".join(next_nodes)
    if pending:
        return f"{names} — waiting for {pending} pending review(s)"
    return names


def state_text(values: Any) -> str:
    """A state value that is not a dict or list (what an `@entrypoint` returned: a string, a number) as JSON text."""
    return json.dumps(values, ensure_ascii=False, indent=2, default=str)


PENDING_COLUMNS = ("tool", "waiting", "arguments", "description", "interrupt")  # the age early: seen on a phone


def pending_frame(rows: Sequence[PendingInterrupt], now: datetime) -> pd.DataFrame:
    """The thread's pending rows as a table: tool, how long each has waited at `now` (as the Inbox says it),
    arguments, description, short interrupt id."""
    return pd.DataFrame(
        [
            {
                "tool": row_name(row),
                "waiting": waiting_since(row.raised_at, now),
                "arguments": format_args(row.args),
                "description": row.description,
                "interrupt": short_id(row.interrupt_id),
            }
            for row in rows
        ],
        columns=list(PENDING_COLUMNS),
    )


def row_link_label(row: PendingInterrupt, rows: Sequence[PendingInterrupt]) -> str:
    """A pending row's link to the Inbox: what it is about (its tool, `question`: the Inbox's word for it), the short
    interrupt id when another row of the thread is about the same, and the part of a batched request."""
    name = row_name(row).removeprefix("(").removesuffix(")")
    same = [other for other in rows if row_name(other) == row_name(row)]
    label = f"{name} · {short_id(row.interrupt_id)}" if len(same) > 1 else name
    part = row.row_id.partition("#")[2]
    return f"{label} (part {part})" if part and len(same) > 1 else label


def timeline_frame(entries: Sequence[TimelineEntry]) -> pd.DataFrame:
    """The thread's checkpoints as a table, newest first: time, step, source, next nodes, interrupts, id."""
    return pd.DataFrame(
        [
            {
                "time": format_time(entry.created_at),
                "step": entry.step,
                "source": entry.source,
                "next": ", ".join(entry.next),
                "interrupts": entry.interrupts,
                "checkpoint": entry.checkpoint_id,
            }
            for entry in entries
        ],
        columns=["time", "step", "source", "next", "interrupts", "checkpoint"],
    )


AUDIT_COLUMNS = ("time", "reviewer", "thread", "tool", "decision", "status")  # the key columns; the rest per row


def audit_frame(entries: Sequence[AuditEntry], labels: Mapping[str, str] | None = None) -> pd.DataFrame:
    """The decision log's key columns, as the Audit page lists them (the CSV keeps every field)."""
    labels = labels or {}
    return pd.DataFrame(
        [
            {
                "time": format_time(entry.decided_at),
                "reviewer": entry.reviewer,
                "thread": labels.get(entry.thread_id) or short_id(entry.thread_id),
                "tool": entry.tool,
                "decision": entry.decision,
                "status": entry.status,
            }
            for entry in entries
        ],
        columns=list(AUDIT_COLUMNS),
    )


def audit_detail(entry: AuditEntry) -> list[tuple[str, str]]:
    """Every field of one decision, for the Audit page's row detail (arguments as readable text)."""
    waited = _waited(entry)
    return [
        ("decided", f"{format_time(entry.decided_at)} by {entry.reviewer}"),
        ("thread", entry.thread_id),
        ("tool", f"{entry.tool or '(unknown payload)'} (call {entry.tool_call_id or '-'})"),
        ("decision", entry.decision),
        ("arguments before", format_args(entry.args_before) if entry.args_before is not None else ""),
        ("arguments after", format_args(entry.args_after) if entry.args_after is not None else ""),
        ("change", args_change(entry.args_before or {}, entry.args_after or {}) if entry.decision == "edit" else ""),
        ("message", entry.message or ""),
        ("status", entry.status + (f" at {format_time(entry.applied_at)}" if entry.applied_at else "")),
        ("error", entry.error or ""),
        ("waited", f"{waited:.1f} s before the decision" if waited is not None else "unknown"),
        ("recovery", _recovery(entry)),
        (
            "ids",
            f"interrupt {entry.interrupt_id}, row {entry.row_id}, batch {entry.batch_id}, attempt {entry.attempt_id}",
        ),
    ]


def _recovery(entry: AuditEntry) -> str:
    notes = []
    if entry.recovered_from:
        notes.append(f"taken over from {entry.recovered_from}")
    if entry.rerun:
        notes.append("re-sent after a crash (its tool may have run twice)")
    return ", ".join(notes)


def _waited(entry: AuditEntry) -> float | None:
    raised, decided = parse_time(entry.raised_at), parse_time(entry.decided_at)
    return (decided - raised).total_seconds() if raised and decided else None


def decisions_over_time(entries: Sequence[AuditEntry]) -> pd.DataFrame:
    """One row per decision for the Audit charts: when (UTC), type, reviewer, and seconds the interrupt waited."""
    return pd.DataFrame(
        [
            {
                "time": parse_time(entry.decided_at),
                "decision": entry.decision,
                "reviewer": entry.reviewer,
                "waited_s": _waited(entry),
                "status": entry.status,
            }
            for entry in entries
        ],
        columns=["time", "decision", "reviewer", "waited_s", "status"],
    )
