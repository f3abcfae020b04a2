"""The picture hook: how a graph contributes its own drawing of a thread, which the pages show without knowing it.

A graph offers a hook by exposing `thread_picture(values, proposed=None)`: as an attribute of its console spec
(`graph.agent.AgentSpec.thread_picture`), or as a module-level function beside the factory a target names
(`graph/agent.py:make_graph` finds `graph/agent.py`'s `thread_picture`). A compiled graph or StateGraph named
directly has no module of its own to look in, so it has no picture. The hook gets the thread's JSON-ready state
values and, for the Inbox's preview, the thread's pending calls with their draft decisions (`proposed_call`); it
returns None (nothing to draw for these values) or a mapping with the fields of `ThreadPicture`. The demo's
canvas (graph/picture.py) is one.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, cast

from review.contract import PendingInterrupt

log = logging.getLogger(__name__)

PictureHook = Callable[[Any, Sequence[Mapping[str, Any]] | None], Mapping[str, Any] | None]
HOOK_NAME = "thread_picture"


@dataclass(frozen=True)
class ThreadPicture:
    """A graph's drawing of one thread: HTML for `st.html` (sanitised there), a caption, a table of its parts, notes."""

    title: str
    html: str = ""
    caption: str = ""
    table_title: str = ""
    table: list[dict[str, Any]] = field(default_factory=list)
    table_columns: list[str] = field(default_factory=list)  # the table's columns in order, shown even when empty
    notes: list[str] = field(default_factory=list)


def find_hook(obj: Any) -> PictureHook | None:
    """The picture hook a graph target offers: its spec's `thread_picture`, else one in the module defining it."""
    hook = getattr(obj, HOOK_NAME, None)
    if not callable(hook) and callable(obj):
        module = sys.modules.get(getattr(obj, "__module__", None) or "")
        hook = getattr(module, HOOK_NAME, None)
    return cast("PictureHook", hook) if callable(hook) else None


def draw(
    hook: PictureHook | None, values: Any, proposed: Sequence[Mapping[str, Any]] | None = None
) -> ThreadPicture | None:
    """The hook's picture of a thread (None when there is no hook or it draws nothing); a hook that fails gives a
    picture that says so, logged, rather than breaking the page."""
    if hook is None:
        return None
    try:
        drawn = hook(values, proposed)
        if drawn is None:
            return None
        return ThreadPicture(
            title=str(drawn.get("title") or "Picture"),
            html=str(drawn.get("html") or ""),
            caption=str(drawn.get("caption") or ""),
            table_title=str(drawn.get("table_title") or ""),
            table=[dict(row) for row in drawn.get("table") or ()],
            table_columns=[str(column) for column in drawn.get("table_columns") or ()],
            notes=[str(note) for note in drawn.get("notes") or ()],
        )
    except Exception as exc:  # the graph's own code: one bad picture must not break the Thread page or the Inbox
        log.exception("the graph's thread picture failed")
        return ThreadPicture(title="Picture", notes=[f"The graph's picture failed: {type(exc).__name__}: {exc}"])


def proposed_call(row: PendingInterrupt, decision: Mapping[str, Any] | None) -> dict[str, Any]:
    """One pending call as a picture hook sees it for a preview: its tool, arguments, description, draft decision."""
    return {"tool": row.tool, "args": dict(row.args), "description": row.description, "decision": decision}
