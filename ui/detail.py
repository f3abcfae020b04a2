"""What the Inbox's detail pane shows for one row, as plain text and data (no Streamlit).

The pane gives a reviewer the context a table cell cannot: the thread's request and recent history,
the interrupt's description, the arguments as formatted JSON, the change an edit makes (a diff of
the arguments before and after). The picture of the thread after the decisions is its graph's (ui/picture.py).
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from review import PendingInterrupt
from review.editing import format_args, parse_edited_args
from review.threads import ChatLine
from ui.format import clip_text
from ui.inbox import row_name
from ui.threads import conversation

HISTORY_LINES = 6
PANE_DECISIONS = ("undecided", "approve", "edit", "reject", "respond", "ignore")


def arguments_json(args: dict[str, Any]) -> str:
    """The arguments as indented JSON (non-JSON values as their text)."""
    return json.dumps(args, indent=2, ensure_ascii=False, default=str, sort_keys=False)


@dataclass(frozen=True)
class EditPreview:
    """What an edit would send: the new arguments and a diff against the old ones, or why it cannot."""

    args: dict[str, Any] | None
    diff: str
    error: str | None = None


def edit_preview(row: PendingInterrupt, edited: str) -> EditPreview | None:
    """The edit typed for `row` (`color=yellow` or JSON), as new arguments and a unified diff; None if none typed."""
    if not (edited or "").strip():
        return None
    try:
        after = parse_edited_args(edited, row.args)
    except ValueError as exc:
        return EditPreview(None, "", str(exc))
    before_lines = arguments_json(row.args).splitlines()
    after_lines = arguments_json(after).splitlines()
    diff = "\n".join(
        difflib.unified_diff(before_lines, after_lines, "arguments now", "arguments sent", lineterm="", n=10)
    )
    return EditPreview(after, diff or "(the edit changes nothing)")


def history(messages: Sequence[ChatLine], limit: int = HISTORY_LINES) -> list[str]:
    """The last `limit` lines of the conversation after the request, one short line each."""
    items = conversation(messages)
    lines = [f"{item.caption}: {clip_text(item.text, 160)}" if item.text else item.caption for item in items[1:]]
    return lines[-limit:]


def row_option(row: PendingInterrupt, label: str) -> str:
    """A row as the pane's picker lists it: tool, arguments, thread."""
    args = clip_text(format_args(row.args), 40) if row.args else clip_text(row.description, 40)
    return f"{row_name(row)} · {args} · {label}"


def pane_choice(entry: dict[str, Any]) -> str:
    """The pane's decision control value for a draft entry (typed edited arguments mean edit)."""
    if entry.get("decision") in PANE_DECISIONS:
        return str(entry["decision"])
    return "edit" if (entry.get("edited") or "").strip() else "undecided"
