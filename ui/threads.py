"""Tables and chat lines for the Thread page, from a `ThreadView` (plain Python)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from review import PendingInterrupt
from review.audit import AuditEntry
from review.editing import format_args
from review.threads import ChatLine, TimelineEntry
from ui.format import format_time, short_id


@dataclass(frozen=True)
class ChatItem:
    """One message as the page shows it: who, a caption, and plain text."""

    role: str
    avatar: str | None
    caption: str
    text: str


def conversation(messages: Iterable[ChatLine]) -> list[ChatItem]:
    """Human, AI (with the tool calls it planned) and tool messages (results and rejections)."""
    items = []
    for message in messages:
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
    return items


def shapes_frame(canvas: Sequence[Mapping[str, Any]]) -> pd.DataFrame:
    return pd.DataFrame(
        [{"shape_id": s.get("shape_id"), "kind": s.get("kind"), "color": s.get("color")} for s in canvas],
        columns=["shape_id", "kind", "color"],
    )


def pending_frame(rows: Sequence[PendingInterrupt]) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                "tool": row.tool or "(unknown payload)",
                "arguments": format_args(row.args),
                "description": row.description,
                "interrupt": short_id(row.interrupt_id),
            }
            for row in rows
        ],
        columns=["tool", "arguments", "description", "interrupt"],
    )


def timeline_frame(entries: Sequence[TimelineEntry]) -> pd.DataFrame:
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


AUDIT_COLUMNS = (
    "reviewer",
    "time",
    "thread",
    "tool",
    "decision",
    "args before",
    "args after",
    "message",
    "status",
    "error",
)


def audit_frame(entries: Sequence[AuditEntry]) -> pd.DataFrame:
    """The decision log as the Audit page shows it (the CSV keeps full ids and JSON arguments)."""
    return pd.DataFrame(
        [
            {
                "reviewer": entry.reviewer,
                "time": format_time(entry.decided_at),
                "thread": short_id(entry.thread_id),
                "tool": entry.tool,
                "decision": entry.decision,
                "args before": format_args(entry.args_before) if entry.args_before is not None else "",
                "args after": format_args(entry.args_after) if entry.args_after is not None else "",
                "message": entry.message or "",
                "status": entry.status,
                "error": entry.error or "",
            }
            for entry in entries
        ],
        columns=list(AUDIT_COLUMNS),
    )
