"""One thread seen from its checkpoints: values, conversation, timeline, pending rows."""

from __future__ import annotations

from dataclasses import dataclass, field
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


@dataclass(frozen=True)
class ThreadView:
    """What the Thread page and `show` display."""

    thread_id: str
    exists: bool
    values: dict[str, Any]
    messages: list[ChatLine]
    pending: list[PendingInterrupt]
    timeline: list[TimelineEntry]

    @property
    def canvas(self) -> list[dict[str, Any]]:
        return list(self.values.get("canvas") or [])

    def to_dict(self) -> dict[str, Any]:
        return {
            "thread_id": self.thread_id,
            "canvas": self.canvas,
            "messages": [m.to_dict() for m in self.messages],
            "pending": [p.to_dict() for p in self.pending],
        }


def view_thread(graph: Any, inbox: Inbox, thread_id: str, *, history: int = 50) -> ThreadView:
    config = {"configurable": {"thread_id": thread_id}}
    snapshot = graph.get_state(config)
    exists = snapshot.created_at is not None
    values = dict(snapshot.values or {})
    messages = [_line(m) for m in values.get("messages", [])]
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
    return ThreadView(thread_id, exists, values, messages, inbox.read(thread_id) if exists else [], timeline)


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


def _line(message: Any) -> ChatLine:
    content = message.content if isinstance(message.content, str) else str(message.content)
    return ChatLine(
        type=getattr(message, "type", "unknown"),
        content=content,
        name=getattr(message, "name", None),
        tool_calls=[
            {"name": c["name"], "args": c["args"], "id": c.get("id")} for c in getattr(message, "tool_calls", []) or []
        ],
        tool_call_id=getattr(message, "tool_call_id", None),
        status=getattr(message, "status", None) if getattr(message, "type", "") == "tool" else None,
    )
