"""Static breakpoints (`interrupt_before` / `interrupt_after`) as reviews, never as runs cut short.

A graph compiled with `interrupt_before=["tools"]` stops with no `interrupt()` call: the checkpoint
has tasks to run and nothing pending, which is exactly what a run killed mid-way looks like. Told
apart the way LangGraph's own loop decides to stop (`should_interrupt`): a channel changed since the
last breakpoint was passed, and a node about to run is in `interrupt_before` (or, for a checkpoint the
loop wrote, a node of the step just run is in `interrupt_after`). Such a pause is pending work for a
person: recovery, sweeps and other replicas never continue it; a decision does, through the same
claim -> record -> resume path as any interrupt.

Rows: where the node about to run is a tool node and the latest AI message has tool calls, one row
per call (approve / edit / reject), decided together because continuing runs them together;
otherwise one row naming the node (approve continues, reject stops the run). A decision is applied
the way LangGraph's docs edit state at a breakpoint: edits replace the AI message's call arguments
and rejections answer the call with an error ToolMessage (`update_state`), then the run continues
(`stream(None)`), which passes the breakpoint once.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from review.contract import BATCH_PART, PendingInterrupt, clip

ID_PREFIX = "bp-"  # breakpoint rows' interrupt ids: never LangGraph's 32-hex ids, never sent as a resume map
PER_CALL = "breakpoint"  # one task per tool call (Send): calls can be decided apart
SHARED_TASK = "breakpoint_shared"  # one ToolNode task runs every call of the AI message: all or none rejected
NODE = "breakpoint_node"  # a node that is not a tool node: continue (approve) or stop (reject)
KINDS = frozenset({PER_CALL, SHARED_TASK, NODE})
INTERRUPT = "__interrupt__"  # LangGraph's versions_seen key for breakpoints passed (langgraph._internal._constants)
END = "__end__"
STATE_CHARS = 4000  # a node row shows the state, cut to this many characters of JSON


class BreakpointRefused(RuntimeError):
    """A breakpoint decision that cannot be applied as decided; nothing ran. The message says why."""


def is_breakpoint(row: PendingInterrupt) -> bool:
    """True for a row standing for a static breakpoint (`interrupt_before` / `interrupt_after`), not `interrupt()`."""
    return row.payload_kind in KINDS


def has_breakpoints(graph: Any) -> bool:
    """True when the compiled graph stops at static breakpoints."""
    return bool(getattr(graph, "interrupt_before_nodes", ()) or getattr(graph, "interrupt_after_nodes", ()))


def held_nodes(graph: Any, snapshot: Any) -> tuple[str, ...]:
    """Names of the nodes about to run that a static breakpoint holds (empty: not paused at one).

    `snapshot` is the thread's `get_state()`; a thread with a pending `interrupt()` is not at a breakpoint.
    """
    if snapshot.interrupts or not snapshot.next or not has_breakpoints(graph):
        return ()
    saved = graph.checkpointer.get_tuple(snapshot.config) if graph.checkpointer is not None else None
    if saved is None or not _changed_since_last_breakpoint(saved.checkpoint):
        return ()
    names = tuple(dict.fromkeys(task.name for task in snapshot.tasks))
    before = graph.interrupt_before_nodes
    if before == "*" or any(name in before for name in names):
        return names
    after = graph.interrupt_after_nodes
    if after and (snapshot.metadata or {}).get("source") == "loop" and snapshot.parent_config:
        just_ran = graph.get_state(snapshot.parent_config).next
        if after == "*" or any(name in after for name in just_ran):
            return names
    return ()


def _changed_since_last_breakpoint(checkpoint: Mapping[str, Any]) -> bool:
    """LangGraph's own test (`should_interrupt`): a channel was written since a breakpoint was last passed."""
    versions = checkpoint.get("channel_versions") or {}
    seen = (checkpoint.get("versions_seen") or {}).get(INTERRUPT, {})
    for channel, version in versions.items():
        before = seen.get(channel)
        if before is None or version > before:
            return True
    return False


def breakpoint_rows(
    thread_id: str, graph: Any, snapshot: Any, tool_nodes: set[str], tool_calls: list[dict[str, Any]]
) -> list[PendingInterrupt]:
    """The rows of a thread paused at a static breakpoint ([] when it is not)."""
    nodes = held_nodes(graph, snapshot)
    if not nodes:
        return []
    raised_at = snapshot.created_at
    tool_tasks = [task for task in snapshot.tasks if task.name in tool_nodes]
    if tool_tasks and tool_calls:
        return _call_rows(thread_id, snapshot, tool_tasks, tool_calls, raised_at)
    checkpoint_id = (snapshot.config or {}).get("configurable", {}).get("checkpoint_id", "")
    interrupt_id = _row_id(thread_id, "node", checkpoint_id)
    shown = ", ".join(nodes)
    return [
        PendingInterrupt(
            thread_id=thread_id,
            row_id=interrupt_id,
            interrupt_id=interrupt_id,
            tool_call_id=None,
            tool=None,
            args={"next": list(nodes), "state": _state_preview(snapshot.values)},
            description=f"Paused at a breakpoint before {shown}: approve continues the run, reject stops it",
            allowed_decisions=("approve", "reject"),
            raised_at=raised_at,
            payload_kind=NODE,
        )
    ]


def _call_rows(
    thread_id: str, snapshot: Any, tool_tasks: list[Any], calls: list[dict[str, Any]], raised_at: str | None
) -> list[PendingInterrupt]:
    # One pull task runs every call of the AI message; push tasks (Send) run one call each.
    shared = any(tuple(getattr(task, "path", ()) or ())[:1] == ("__pregel_pull",) for task in tool_tasks)
    message_id = _ai_message_id(snapshot.values)
    # Keyed by the AI message, not the checkpoint: an edit writes a new checkpoint, and a decision
    # claimed before it must still find its rows if the process dies before the run continues.
    interrupt_id = _row_id(thread_id, "calls", message_id or str(snapshot.config))
    node = tool_tasks[0].name
    return [
        PendingInterrupt(
            thread_id=thread_id,
            row_id=f"{interrupt_id}{BATCH_PART}{index}",
            interrupt_id=interrupt_id,
            tool_call_id=call.get("id") if isinstance(call.get("id"), str) else None,
            tool=str(call.get("name")) if call.get("name") is not None else None,
            args=dict(call.get("args") or {}),
            description=f"Paused at a breakpoint before {node}: this call runs when the run continues",
            allowed_decisions=("approve", "edit", "reject"),
            raised_at=raised_at,
            payload_kind=SHARED_TASK if shared else PER_CALL,
        )
        for index, call in enumerate(calls)
    ]


def _row_id(thread_id: str, kind: str, key: str) -> str:
    return ID_PREFIX + hashlib.sha256(f"{thread_id}|{kind}|{key}".encode()).hexdigest()[:32]


def _ai_message_id(values: Any) -> str | None:
    messages = values.get("messages") if isinstance(values, dict) else None
    for message in reversed(messages or []):
        if getattr(message, "tool_calls", None):
            return getattr(message, "id", None)
    return None


def _state_preview(values: Any) -> str:
    text = json.dumps(values, ensure_ascii=False, default=_plain, sort_keys=True)
    return clip(text, STATE_CHARS, quote=False)


def _plain(value: Any) -> Any:
    dump = getattr(value, "model_dump", None)
    if callable(dump):
        return dump(mode="json")
    return str(value)


# --- applying decisions --------------------------------------------------------------------------------


@dataclass(frozen=True)
class BreakpointDecision:
    """One decided row of a breakpoint: the row as listed and the decision value recorded for it."""

    row: PendingInterrupt
    value: Mapping[str, Any]  # langchain's shape: {"type": "approve"} | {"type": "edit", ...} | {"type": "reject"}


def mixed_rejection(decided: list[tuple[PendingInterrupt, str]]) -> str | None:
    """Why these decisions of one shared-task breakpoint cannot be applied (None: they can).

    A ToolNode pull task runs every call of the AI message: it cannot skip a rejected one, so its
    calls are rejected all together or not at all. Checked before anything is claimed.
    """
    kinds = {kind for row, kind in decided if row.payload_kind == SHARED_TASK}
    if "reject" in kinds and len(kinds) > 1:
        return (
            "one ToolNode task runs every call of this step together: reject them all, or approve / edit them all "
            "(route each call with Send, as create_agent does, to decide them apart)"
        )
    return None


def apply(graph: Any, config: dict[str, Any], decisions: list[BreakpointDecision]) -> bool:
    """Write what the decisions change into the thread; True when the run should then continue.

    Raises BreakpointRefused when the graph would run a rejected call anyway (nothing ran then).
    """
    nodes = [d for d in decisions if d.row.payload_kind == NODE]
    if nodes:
        if any(d.value.get("type") == "reject" for d in nodes):
            graph.update_state(config, None, as_node=END)  # stopped: the run ends here, its node never runs
            return False
        return True
    rejected = [d for d in decisions if d.value.get("type") == "reject"]
    edited = {d.row.tool_call_id: d for d in decisions if d.value.get("type") == "edit"}
    if not rejected and not edited:
        return True
    snapshot = graph.get_state(config)
    node = _tool_node(snapshot)
    answers = [_rejection(d) for d in rejected]
    if len(rejected) == len(decisions):
        # Every call rejected: answered as if the tool node had run, so it never does.
        graph.update_state(config, {"messages": answers}, as_node=node)
        return True
    message = _ai_message(snapshot.values)
    if message is None:
        raise BreakpointRefused("the AI message with these tool calls is no longer in the state")
    calls = [_edited(call, edited.get(call.get("id"))) for call in message.tool_calls]
    graph.update_state(config, {"messages": [message.model_copy(update={"tool_calls": calls}), *answers]})
    if rejected:
        after = graph.get_state(config)
        running = sum(task.name == node for task in after.tasks)
        if running > len(decisions) - len(rejected):
            raise BreakpointRefused(
                "the graph's router sends every call of the AI message again, the rejected ones too: nothing "
                "ran; decide all of this step's calls alike, or skip answered calls in the router"
            )
    return True


def _tool_node(snapshot: Any) -> str:
    return str(snapshot.next[0])


def _ai_message(values: Any) -> Any:
    messages = values.get("messages") if isinstance(values, dict) else None
    for message in reversed(messages or []):
        if getattr(message, "tool_calls", None):
            return message
    return None


def _edited(call: Mapping[str, Any], decision: BreakpointDecision | None) -> dict[str, Any]:
    if decision is None:
        return dict(call)
    action = decision.value.get("edited_action") or {}
    return {**call, "name": action.get("name", call.get("name")), "args": action.get("args", call.get("args"))}


def _rejection(decision: BreakpointDecision) -> Any:
    from langchain_core.messages import ToolMessage

    call_id = decision.row.tool_call_id or decision.row.row_id
    text = decision.value.get("message") or "rejected by a reviewer"
    # A fixed id: applying the same decision again (recovery after a crash) replaces, never duplicates.
    return ToolMessage(
        content=str(text), tool_call_id=call_id, name=decision.row.tool, status="error", id=f"review-reject-{call_id}"
    )
