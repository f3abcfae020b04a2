"""One thread seen from its checkpoints: values, conversation, timeline, pending rows."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, is_dataclass
from datetime import date, datetime, time
from enum import Enum
from functools import cache
from typing import Any

from review.contract import PendingInterrupt
from review.inbox import Inbox
from review.storage import LeaseRow, Storage


@dataclass(frozen=True)
class ChatLine:
    """One message of the conversation, `type` as langchain names it (human, ai, tool)."""

    type: str
    content: str
    name: str | None = None
    tool_calls: list[dict[str, Any]] = field(default_factory=list)
    tool_call_id: str | None = None
    status: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """The line as JSON-ready fields; empty optional fields are left out, so `show` stays short."""
        out: dict[str, Any] = {"type": self.type, "content": self.content}
        if self.name:
            out["name"] = self.name
        if self.tool_calls:
            out["tool_calls"] = self.tool_calls
        if self.tool_call_id:
            out["tool_call_id"] = self.tool_call_id
        if self.status:
            out["status"] = self.status
        return out


@dataclass(frozen=True)
class TimelineEntry:
    """One checkpoint of the thread's history, newest first."""

    checkpoint_id: str
    created_at: str | None
    step: int | None
    source: str | None
    next: tuple[str, ...]
    interrupts: int

    def to_dict(self) -> dict[str, Any]:
        """The entry as JSON-ready fields (the CLI's `show`)."""
        return {
            "checkpoint_id": self.checkpoint_id,
            "created_at": self.created_at,
            "step": self.step,
            "source": self.source,
            "next": list(self.next),
            "interrupts": self.interrupts,
        }


TIMELINE_SHOWN = 10  # checkpoints `to_dict` (the CLI's `show`) lists, newest first; the page shows all it read


@dataclass(frozen=True)
class ThreadView:
    """What the Thread page and `show` display, for any graph.

    `values`: the thread's state values as JSON-ready data (`json_ready`): a dict for a StateGraph, whatever an
    `@entrypoint` returned (a string, a list), a pydantic model or dataclass as its fields, chat messages summarised;
    `{}` while the graph has written none (an `@entrypoint` before it first returns, a thread that does not exist).
    `messages`: the chat messages the values hold (a `messages` list), if any. `next`: the nodes (or entrypoint)
    that run next; empty when the thread is done. `graph_id`: the console's graph that reads the thread, so a page
    can draw what only one graph's state means (a graph's picture hook: review/pictures.py).
    """

    thread_id: str
    exists: bool
    values: Any
    messages: list[ChatLine]
    pending: list[PendingInterrupt]
    timeline: list[TimelineEntry]
    next: tuple[str, ...] = ()
    graph_id: str | None = None

    def field(self, name: str) -> Any:
        """One named field of the values when they are a mapping that has it, else None."""
        return self.values.get(name) if isinstance(self.values, Mapping) else None

    @property
    def canvas(self) -> list[dict[str, Any]]:
        """The demo agent's shapes (`field("canvas")`): kept for callers written before any graph could be viewed;
        pages draw a graph's own picture through its hook (review/pictures.py, ui/picture.py)."""
        shapes = self.field("canvas")
        return list(shapes) if isinstance(shapes, list) else []

    def to_dict(self) -> dict[str, Any]:
        """The view as JSON-ready data for `show`: the timeline cut to its newest `TIMELINE_SHOWN` entries."""
        return {
            "thread_id": self.thread_id,
            "graph_id": self.graph_id,
            "values": self.values,
            "next": list(self.next),
            "messages": [m.to_dict() for m in self.messages],
            "pending": [p.to_dict() for p in self.pending],
            "timeline": [t.to_dict() for t in self.timeline[:TIMELINE_SHOWN]],
        }


def view_thread(
    graph: Any, inbox: Inbox, thread_id: str, *, history: int = 50, graph_id: str | None = None
) -> ThreadView:
    """The thread read from its latest checkpoint (and `history` checkpoints of its timeline) through `graph`.

    A checkpoint this console will not decode (`review.inbox.unreadable_reason`) shows as the thread with no
    values and its pending rows read-only, saying why; an error of the database itself propagates.
    """
    config = {"configurable": {"thread_id": thread_id}}
    try:
        return _view(graph, inbox, thread_id, config, history, graph_id)
    except Exception as exc:  # its rows say why (the inbox re-raises an error of the database itself)
        return ThreadView(thread_id, True, {}, [], inbox.unreadable(thread_id, exc), [], graph_id=graph_id)


def _view(
    graph: Any, inbox: Inbox, thread_id: str, config: dict[str, Any], history: int, graph_id: str | None
) -> ThreadView:
    snapshot = graph.get_state(config)
    exists = snapshot.created_at is not None
    raw = snapshot.values
    timeline = [
        TimelineEntry(
            checkpoint_id=s.config["configurable"]["checkpoint_id"],
            created_at=s.created_at,
            step=(s.metadata or {}).get("step"),
            source=(s.metadata or {}).get("source"),
            next=tuple(s.next),
            interrupts=len(s.interrupts),
        )
        for s in (graph.get_state_history(config, limit=history) if exists and history > 0 else [])
    ]
    return ThreadView(
        thread_id,
        exists,
        json_ready(raw) if raw is not None else {},  # none written yet: empty, as a StateGraph's start shows
        chat_lines(_messages_of(raw)),
        inbox.read(thread_id) if exists else [],
        timeline,
        next=tuple(snapshot.next),
        graph_id=graph_id,
    )


MAX_DEPTH = 64  # deeper values are shown as "…": a state value must never make `show` recurse without end


def json_ready(value: Any, depth: int = 0) -> Any:
    """`value` as data `json.dumps` takes: containers recursively, a pydantic model as `model_dump(mode="json")`,
    a dataclass as its fields, chat messages summarised (`ChatLine.to_dict`), enums by value, dates in ISO
    format, anything else as `str()`."""
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)  # NaN and inf are not JSON
    if depth >= MAX_DEPTH:
        return "…"
    if isinstance(value, _base_message()):  # a message dict in the values is already data: kept whole
        return _chat_line(value).to_dict()  # type: ignore[union-attr]
    if isinstance(value, Enum):
        return json_ready(value.value, depth + 1)
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {str(key): json_ready(item, depth + 1) for key, item in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [json_ready(item, depth + 1) for item in value]
    if is_dataclass(value) and not isinstance(value, type):
        return {f.name: json_ready(getattr(value, f.name, None), depth + 1) for f in fields(value)}
    if callable(getattr(value, "model_dump", None)) and not isinstance(value, type):  # a pydantic (v2) model
        return _model_ready(value, depth)
    return str(value)


def _model_ready(model: Any, depth: int) -> Any:
    try:
        dumped = model.model_dump(mode="json")
    except Exception:  # a model whose own serialiser fails: shown as text, the view still renders
        return str(model)
    if isinstance(dumped, dict):  # chat messages summarised as everywhere else (a pydantic state's `messages`)
        for name in list(dumped):
            raw = getattr(model, name, None)
            if isinstance(raw, list) and raw and all(isinstance(item, _base_message()) for item in raw):
                dumped[name] = json_ready(raw, depth + 1)
    return dumped


def chat_lines(messages: Any) -> list[ChatLine]:
    """The chat messages of a list (langchain messages, or dicts with `type`/`role` and `content`); others skipped."""
    if not isinstance(messages, list | tuple):
        return []
    return [line for line in map(_chat_line, messages) if line is not None]


def _messages_of(values: Any) -> Any:
    """The `messages` list of a state: a mapping's key, or a pydantic model's / dataclass's attribute."""
    if isinstance(values, Mapping):
        return values.get("messages")
    if isinstance(values, str | bytes | list | tuple) or values is None:
        return None
    return getattr(values, "messages", None)


@dataclass(frozen=True)
class ThreadInfo:
    """What names a thread for people: its request (the first human message) and when it started."""

    thread_id: str
    request: str
    started_at: str | None


def read_thread_infos(storage: Storage, thread_ids: list[str]) -> dict[str, ThreadInfo]:
    """Request and start time of each thread, from its first checkpoint's input writes (one query)."""
    starts = storage.thread_starts(thread_ids)
    loads = storage.saver.serde.loads_typed if starts else None
    infos = {}
    for thread_id, start in starts.items():
        request = ""
        for channel, serialized in start.inputs:
            if channel != "messages" or loads is None:
                continue
            try:
                value = loads(serialized)
            except Exception:  # an input this process cannot decode: the thread is named by its id
                continue
            request = first_human_text(value if isinstance(value, list) else [value])
            if request:
                break
        infos[thread_id] = ThreadInfo(thread_id, request, start.created_at)
    return infos


def first_human_text(messages: list[Any]) -> str:
    """The text of the first human message of a list of messages (objects or dicts); '' when none."""
    for message in messages:
        kind = getattr(message, "type", None) or (
            message.get("type") or message.get("role") if isinstance(message, dict) else None
        )
        if kind in ("human", "user"):
            content = getattr(message, "content", None) if not isinstance(message, dict) else message.get("content")
            if isinstance(content, list):  # content blocks
                content = " ".join(str(b.get("text", "")) if isinstance(b, dict) else str(b) for b in content)
            return str(content or "").strip()
    return ""


def list_threads(storage: Storage, limit: int = 200) -> list[str]:
    """Thread ids, most recently changed first."""
    return storage.thread_ids(limit)


@dataclass(frozen=True)
class ThreadRun:
    """A run the store knows is on, or was cut short: what the Inbox shows beside the pending rows."""

    thread_id: str
    kind: str  # start | resume | recover | continue
    state: str  # running | interrupted | continuing | failed
    since: str
    error: str | None

    @property
    def text(self) -> str:
        """One line for the Inbox: what the run is doing, or why it stopped."""
        return {
            "running": f"{self.kind} running",
            "continuing": "run interrupted, continuing",
            "interrupted": "run interrupted, waiting for recovery",
            "failed": f"run failed: {self.error or 'unknown error'}",
        }[self.state]


def thread_runs(leases: list[LeaseRow], abandoned: Any) -> list[ThreadRun]:
    """Runs in progress from the lease rows; `abandoned(owner, lease_until)` tells a dead or late owner."""
    runs = []
    for row in leases:
        if row.state == "failed":
            state = "failed"
        elif row.state == "cut_short" or abandoned(row.owner, row.lease_until):
            state = "interrupted"
        elif row.kind in ("recover", "continue"):
            state = "continuing"
        else:
            state = "running"
        runs.append(ThreadRun(row.thread_id, row.kind, state, row.since, row.error))
    return runs


_ROLES = {"user": "human", "assistant": "ai"}  # OpenAI-style roles, as langchain names the types


@cache
def _base_message() -> Any:
    """langchain's message class, imported on first use (reading saved rows needs no langchain)."""
    from langchain_core.messages import BaseMessage

    return BaseMessage


def _chat_line(message: Any) -> ChatLine | None:
    """A langchain message (or a message dict) as a ChatLine; None for anything else."""
    if isinstance(message, _base_message()):
        kind: Any = message.type
        content: Any = message.content
        calls = getattr(message, "tool_calls", None) or []
        name, call_id, status = message.name, getattr(message, "tool_call_id", None), getattr(message, "status", None)
    elif (
        isinstance(message, Mapping)
        and "content" in message
        and isinstance(message.get("type") or message.get("role"), str)
    ):
        kind = message.get("type") or message.get("role")
        kind = _ROLES.get(kind, kind)
        content = message.get("content")
        calls = message.get("tool_calls") or []
        name, call_id, status = message.get("name"), message.get("tool_call_id"), message.get("status")
    else:
        return None
    return ChatLine(
        type=str(kind),
        content=content if isinstance(content, str) else str(content),
        name=name if isinstance(name, str) else None,
        tool_calls=[
            {"name": c.get("name"), "args": c.get("args"), "id": c.get("id")} for c in calls if isinstance(c, Mapping)
        ],
        tool_call_id=call_id if isinstance(call_id, str) else None,
        status=status if kind == "tool" and isinstance(status, str) else None,
    )
