"""The demo agent's canvas as it would be if the draft's decisions were applied (for the detail pane).

Plain Python. Only the demo's own tools are understood: `create_circle|square|triangle` add a shape
with their (possibly edited) arguments, an approved `clear_canvas` confirmation removes every shape
drawn before; rejected and undecided rows change nothing. New shapes are marked `preview: "new"`,
shapes a clear would remove `preview: "removed"`, so `ui.canvas.canvas_html` draws them apart.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from review import PendingInterrupt

_CREATE = re.compile(r"^create_(circle|square|triangle)$")


@dataclass
class Preview:
    """Shapes to draw (existing, new, removed) and notes on what the decisions would not do."""

    shapes: list[dict[str, Any]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def new(self) -> list[str]:
        return [str(s.get("shape_id")) for s in self.shapes if s.get("preview") == "new"]


def is_canvas_thread(values: Any) -> bool:
    """A thread of the demo agent (its state has a canvas): the only kind the preview understands."""
    return isinstance(values, Mapping) and isinstance(values.get("canvas"), list)


def preview_canvas(
    canvas: Sequence[Mapping[str, Any]],
    rows: Sequence[PendingInterrupt],
    decisions: Mapping[str, dict[str, Any] | None],
) -> Preview:
    """The canvas after `decisions` (row key -> langchain decision or None) for the thread's pending `rows`."""
    preview = Preview([{**shape} for shape in canvas])
    for row in rows:
        decision = decisions.get(f"{row.thread_id}:{row.row_id}")
        kind = (decision or {}).get("type")
        if kind not in ("approve", "edit"):
            continue
        match = _CREATE.match(row.tool or "")
        if match:
            args = row.args if kind == "approve" else ((decision or {}).get("edited_action") or {}).get("args") or {}
            shape_id = str(args.get("shape_id", ""))
            if any(s.get("shape_id") == shape_id and s.get("preview") != "removed" for s in preview.shapes):
                preview.notes.append(f"{shape_id} is already on the canvas: {row.tool} would draw nothing")
                continue
            preview.shapes.append(
                {"shape_id": shape_id, "kind": match[1], "color": args.get("color"), "preview": "new"}
            )
        elif row.tool == "clear_canvas":
            if row.description.lower().startswith("confirm"):
                for shape in preview.shapes:
                    if shape.get("preview") is None:
                        shape["preview"] = "removed"
            else:
                preview.notes.append("clear_canvas asks again before it removes anything")
    return preview
