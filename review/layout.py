"""Interrupt layouts that a resume can misroute, named so a reviewer is not deceived by them.

LangGraph issue #6624: several tool calls of one AI message run by ONE ToolNode task (a pull task
over the state, instead of one `Send` per call). Only the first interrupt of that task is visible,
the others are hidden, and each resume re-runs the whole task, so a decision can reach another tool
and tools that already acted act again. Several pending interrupts sharing one id are as unsafe:
a resume map cannot tell them apart.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

FIX = "Route each tool call as its own task with Send, as langchain's create_agent does."


def last_tool_calls(values: Any) -> list[dict[str, Any]]:
    """The tool calls of the latest AI message in the state's `messages`, if it has any."""
    messages = values.get("messages") if isinstance(values, dict) else None
    for message in reversed(messages or []):
        calls = getattr(message, "tool_calls", None)
        if calls:
            return [dict(call) for call in calls]
        if getattr(message, "type", None) == "human":
            break
    return []


def layout_warnings(snapshot: Any, tool_nodes: set[str]) -> dict[str, str]:
    """`{interrupt_id: warning}` for interrupts raised in an unsafe layout (none for the Send layout)."""
    warnings: dict[str, str] = {}
    calls = last_tool_calls(snapshot.values)
    for task in snapshot.tasks:
        path: tuple[Any, ...] = tuple(getattr(task, "path", ()) or ())
        pulled = bool(path) and path[0] == "__pregel_pull"
        if task.interrupts and task.name in tool_nodes and pulled and len(calls) > 1:
            names = ", ".join(str(call.get("name")) for call in calls)
            text = (
                f"One ToolNode task runs {len(calls)} tool calls ({names}) but shows {len(task.interrupts)} "
                "interrupt(s): the others are hidden, and a resume re-runs the whole task, so a decision can "
                f"reach another tool and tools that already acted act again (LangGraph #6624). {FIX}"
            )
            warnings.update(dict.fromkeys((i.id for i in task.interrupts), text))
    shared = [i for i, n in Counter(i.id for i in snapshot.interrupts).items() if n > 1]
    for interrupt_id in shared:
        warnings[interrupt_id] = (
            "Several pending interrupts share this id: a resume map cannot tell them apart, so one decision "
            f"would answer them all. {FIX}"
        )
    return warnings
