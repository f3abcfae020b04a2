"""Small helpers shared by tests: decisions by tool name, reading the canvas."""

from __future__ import annotations

from typing import Any

from review import PendingInterrupt

APPROVE = {"type": "approve"}


def edit(tool: str, **args: Any) -> dict[str, Any]:
    return {"type": "edit", "edited_action": {"name": tool, "args": args}}


def reject(message: str) -> dict[str, Any]:
    return {"type": "reject", "message": message}


def batch(rows: list[PendingInterrupt], by_tool: dict[str, Any]) -> list[dict[str, Any]]:
    """One decision item per row whose tool is in `by_tool`."""
    return [
        {"thread_id": r.thread_id, "row_id": r.row_id, "decision": by_tool[r.tool]} for r in rows if r.tool in by_tool
    ]
