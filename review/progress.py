"""A run's progress, for display only: its events as they happen, then its outcome (`RunJob`).

Streams are for progress only; what a run left pending is read back from the checkpoint.
"""

from __future__ import annotations

import threading
import time
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any

from review.contract import ThreadOutcome


@dataclass(frozen=True)
class ProgressEvent:
    """One step of a run, for display only."""

    at: float
    node: str
    text: str


@dataclass
class RunJob:
    """A run in the worker: its progress events so far and, once done, its outcome."""

    job_id: str
    thread_id: str
    kind: str  # "start" | "resume" | "recover"
    future: Future[ThreadOutcome] = field(default_factory=Future, repr=False)
    _events: list[ProgressEvent] = field(default_factory=list, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add_event(self, node: str, text: str) -> None:
        """Append one progress line (from the worker thread)."""
        with self._lock:
            self._events.append(ProgressEvent(time.time(), node, text))

    def events(self, since: int = 0) -> list[ProgressEvent]:
        """The events from index `since` on (a page follows a job by asking for the new ones)."""
        with self._lock:
            return self._events[since:]

    def done(self) -> bool:
        """The run ended (paused, finished or failed)."""
        return self.future.done()

    def result(self, timeout: float | None = None) -> ThreadOutcome:
        """Wait for the run's outcome; raises what the job raised."""
        return self.future.result(timeout)


def describe_update(node: str, update: Any) -> list[str]:
    """Readable lines for one `updates` stream chunk."""
    if node == "__interrupt__":
        items = update if isinstance(update, (list, tuple)) else (update,)
        return [f"waits for review: {_ask_text(getattr(item, 'value', item))}" for item in items]
    updates = update if isinstance(update, list) else [update]
    lines = []
    for item in updates:
        messages = item.get("messages", []) if isinstance(item, dict) else []
        for message in messages:
            # Only an AI message plans calls; asking a tool result for `tool_calls` costs a pydantic miss per result.
            calls = None if getattr(message, "type", None) == "tool" else getattr(message, "tool_calls", None)
            if calls:
                names = ", ".join(f"{c['name']}({', '.join(map(str, c['args'].values()))})" for c in calls)
                lines.append(f"planned {len(calls)} tool call{'s' if len(calls) != 1 else ''}: {names}")
            elif getattr(message, "content", ""):
                lines.append(str(message.content)[:200])
    return lines or [f"{node} finished"]


def _ask_text(value: Any) -> str:
    """What an interrupt asks, in a line: the tool and its description when the payload names them."""
    if isinstance(value, dict):
        name = value.get("name") or (value.get("action_request") or {}).get("action")
        description = value.get("description")
        if name or description:
            return " ".join(str(part) for part in (name, description and f"- {description}") if part)[:200]
    return str(value)[:200]
