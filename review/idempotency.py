"""Idempotency keys: what makes a tool's external effect happen once although LangGraph may run it twice.

LangGraph re-runs a task whose write was not saved (the process died between the tool's effect and
the save), and recovery resumes it with the same recorded decision. The console cannot prevent
that re-run; it hands every run, in its config, a stable key per decided tool call:
`<thread_id>/<tool_call_id>/<row_id>` (the row id is the interrupt id, or `<id>#n` for a batched
request's part). A tool passes its key to the system it acts on (an `Idempotency-Key` header, a
unique column, a "done" marker) so the second attempt is a no-op. A tool that ignores it gets
at-least-once effects; see README "Guarantees".

In a tool::

    from review.idempotency import idempotency_key
    key = idempotency_key(tool_call_id)   # tool_call_id from InjectedToolCallId
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from langgraph.config import get_config

# The run-config key that carries `{tool_call_id or row_id: key}`. The demo agent (graph/tools.py)
# reads the same literal: it must not import review/.
IDEMPOTENCY_KEYS = "review_idempotency_keys"


def make_key(thread_id: str, tool_call_id: str | None, row_id: str) -> str:
    """The idempotency key of one decided tool call: `<thread_id>/<tool_call_id or ->/<row_id>`."""
    return f"{thread_id}/{tool_call_id or '-'}/{row_id}"


def idempotency_keys(thread_id: str, decisions: Iterable[tuple[str | None, str, str]]) -> dict[str, str]:
    """`{tool_call_id: key, row_id: key}` for the thread's decisions (tool_call_id, interrupt_id, row_id).

    Oldest first: a tool that asked twice (a confirmation) ends with the key of its last answer.
    """
    keys: dict[str, str] = {}
    for tool_call_id, _interrupt_id, row_id in decisions:
        key = make_key(thread_id, tool_call_id, row_id)
        keys[row_id] = key
        if tool_call_id:
            keys[tool_call_id] = key
    return keys


def idempotency_key(tool_call_id: str, config: dict[str, Any] | None = None) -> str:
    """The key of this tool call in the current run (inside a tool or node); a stable fallback outside the console."""
    configurable = (config or get_config()).get("configurable") or {}
    keys = configurable.get(IDEMPOTENCY_KEYS) or {}
    return keys.get(tool_call_id) or make_key(str(configurable.get("thread_id", "-")), tool_call_id, "-")
