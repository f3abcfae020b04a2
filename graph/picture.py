"""The demo agent's thread picture: its canvas as HTML, as it is or as the pending decisions would leave it.

This is the demo's answer to the console's picture hook (review/pictures.py): `thread_picture(values, proposed)`
returns a plain mapping the console's pages render without knowing what a canvas is. Plain Python, no streamlit and
no review/ import, like the rest of this package.

The HTML is for `st.html`, which sanitises with DOMPurify's HTML profile: it drops SVG and the `fill` attribute, so
the shapes are plain elements drawn with CSS (a round box, a box, a clipped box). Every value from state is escaped,
and a colour is used only when it is a known name or `#rrggbb` (anything else draws gray), so a state value can never
become markup or CSS. Each shape element carries `data-shape-id`, `data-kind` and `data-fill` (the colour drawn),
which the browser tests read.

A preview marks shapes with `preview`: "new" (drawn if the decisions are applied: ghosted, dashed outline, "(new)"
under the id) or "removed" (an approved `clear_canvas` confirmation removes it: faded, the id struck through); the
element then also carries `data-preview`. Only the demo's own tools are understood: `create_circle|square|triangle`
add a shape with their (possibly edited) arguments, an approved `clear_canvas` confirmation removes every shape drawn
before; rejected and undecided calls change nothing.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from html import escape
from typing import Any

COLOUR_NAMES = frozenset(
    {"red", "orange", "yellow", "green", "blue", "purple", "pink", "brown", "black", "white", "gray", "grey"}
)
FALLBACK_COLOUR = "gray"
SIZE = 72  # px
_CREATE = re.compile(r"^create_(circle|square|triangle)$")
_HEX = re.compile(r"^#[0-9a-f]{6}$")
_OUTLINE = "#37474f"
_FRAME = (
    "display:flex;flex-wrap:wrap;gap:18px;align-items:flex-start;padding:18px;min-height:80px;"
    "background:#f4f6f7;border:1px solid #d5dadd;border-radius:8px"
)
_CELL = "margin:0;display:flex;flex-direction:column;align-items:center;gap:6px;width:96px"
_LABEL = "font-size:14px;color:#1f2a30;max-width:96px;overflow-wrap:anywhere;text-align:center"
_SHAPE_STYLE = {
    "circle": f"border-radius:50%;border:2px solid {_OUTLINE}",
    "square": f"border:2px solid {_OUTLINE}",
    "triangle": "clip-path:polygon(50% 0,100% 100%,0 100%)",
}
_UNKNOWN_STYLE = f"border:2px dashed {_OUTLINE};opacity:0.6"
_PREVIEW_STYLE = {
    "new": ";opacity:0.5;outline:3px dashed #2f6f8f;outline-offset:4px",
    "removed": ";opacity:0.2",
}
_PREVIEW_CAPTION = {"new": "(new)", "removed": "(removed)"}


def thread_picture(values: Any, proposed: Sequence[Mapping[str, Any]] | None = None) -> dict[str, Any] | None:
    """The console's picture hook: the thread's canvas (with its shapes as a table), or, given the `proposed` calls
    (`tool`, `args`, `description`, `decision`), the canvas those decisions would leave; None for a state without
    a canvas (another graph's values), which gets no picture."""
    shapes = canvas_shapes(values)
    if shapes is None:
        return None
    if proposed is None:
        return {
            "title": "Canvas",
            "html": canvas_html(shapes),
            "table_title": "Shapes",
            "table_columns": ["shape_id", "kind", "color"],
            "table": [{"shape_id": s.get("shape_id"), "kind": s.get("kind"), "color": s.get("color")} for s in shapes],
        }
    preview = preview_canvas(shapes, proposed)
    return {
        "title": "Canvas",
        "caption": "Canvas if these decisions are applied (new shapes dashed, rejected ones absent)",
        "html": canvas_html(preview.shapes, label=f"Preview with {len(preview.shapes)} shape(s)"),
        "notes": preview.notes,
    }


def canvas_shapes(values: Any) -> list[Mapping[str, Any]] | None:
    """The shapes of a thread whose state is the demo's (a mapping with a `canvas` list of shape mappings); None for
    any other graph's values (a string, a list, a state without a canvas)."""
    if not isinstance(values, Mapping):
        return None
    shapes = values.get("canvas")
    if not isinstance(shapes, list) or not all(isinstance(shape, Mapping) for shape in shapes):
        return None
    return shapes


@dataclass
class Preview:
    """Shapes to draw (existing, new, removed) and notes on what the decisions would not do."""

    shapes: list[dict[str, Any]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def preview_canvas(canvas: Sequence[Mapping[str, Any]], proposed: Sequence[Mapping[str, Any]]) -> Preview:
    """The canvas after the `proposed` calls (`tool`, `args`, `description`, `decision`: a langchain decision or
    None), in order."""
    preview = Preview([{**shape} for shape in canvas])
    for call in proposed:
        decision = call.get("decision") or {}
        kind = decision.get("type")
        if kind not in ("approve", "edit"):
            continue
        tool = str(call.get("tool") or "")
        match = _CREATE.match(tool)
        if match:
            edited = (decision.get("edited_action") or {}).get("args")
            args: Mapping[str, Any] = (call.get("args") if kind == "approve" else edited) or {}
            shape_id = str(args.get("shape_id", ""))
            if any(s.get("shape_id") == shape_id and s.get("preview") != "removed" for s in preview.shapes):
                preview.notes.append(f"{shape_id} is already on the canvas: {tool} would draw nothing")
                continue
            preview.shapes.append(
                {"shape_id": shape_id, "kind": match[1], "color": args.get("color"), "preview": "new"}
            )
        elif tool == "clear_canvas":
            if str(call.get("description") or "").lower().startswith("confirm"):
                for shape in preview.shapes:
                    if shape.get("preview") is None:
                        shape["preview"] = "removed"
            else:
                preview.notes.append("clear_canvas asks again before it removes anything")
    return preview


def safe_colour(value: Any) -> str:
    """A colour fit for CSS: a known name or #rrggbb (lower case), else gray."""
    colour = str(value or "").strip().lower()
    return colour if colour in COLOUR_NAMES or _HEX.match(colour) else FALLBACK_COLOUR


def canvas_html(shapes: Iterable[Mapping[str, Any]], *, label: str | None = None) -> str:
    """The shapes left to right (wrapping), each with its id below; a note when the canvas is empty."""
    shapes = list(shapes)
    label = label or (f"Canvas with {len(shapes)} shape(s)" if shapes else "Empty canvas")
    cells = [_cell(shape) for shape in shapes] or [
        '<p style="margin:0;color:#5b6770;font-size:14px">The canvas is empty</p>'
    ]
    label = escape(label, quote=True)
    return f'<div data-testid="canvas" role="img" aria-label="{label}" style="{_FRAME}">{"".join(cells)}</div>'


def _cell(shape: Mapping[str, Any]) -> str:
    shape_id = escape(str(shape.get("shape_id", "")), quote=True)
    kind = str(shape.get("kind", ""))
    colour = safe_colour(shape.get("color"))
    preview = shape.get("preview") if shape.get("preview") in _PREVIEW_STYLE else None
    style = f"width:{SIZE}px;height:{SIZE}px;box-sizing:border-box;background:{colour};" + _SHAPE_STYLE.get(
        kind, _UNKNOWN_STYLE
    )
    marker = f' data-preview="{preview}"' if preview else ""
    if preview and kind != "triangle":
        style += _PREVIEW_STYLE[preview]
    element = (
        f'<div data-shape-id="{shape_id}" data-kind="{escape(kind, quote=True)}" data-fill="{colour}"{marker} '
        f'style="{style}"></div>'
    )
    if kind == "triangle":  # an outline that follows the clipped edge, so a white triangle still shows
        extra = _PREVIEW_STYLE[preview] if preview else ""
        element = f'<div style="filter:drop-shadow(0 0 1.5px {_OUTLINE}){extra}">{element}</div>'
    caption = shape_id
    if preview == "new":
        caption = f'{shape_id} <span style="color:#2f6f8f">{_PREVIEW_CAPTION[preview]}</span>'
    elif preview == "removed":
        caption = f"<s>{shape_id}</s> {_PREVIEW_CAPTION[preview]}"
    return f'<figure style="{_CELL}">{element}<figcaption style="{_LABEL}">{caption}</figcaption></figure>'
