"""State of the canvas-shapes agent: the conversation and the shapes drawn so far."""

from __future__ import annotations

from typing import Annotated, Literal

from langchain_core.messages import AnyMessage
from langgraph.graph.message import add_messages
from typing_extensions import TypedDict

ShapeKind = Literal["circle", "square", "triangle"]


class Shape(TypedDict):
    """One shape on the canvas."""

    shape_id: str
    kind: ShapeKind
    color: str


class CanvasOp(TypedDict, total=False):
    """A change to the canvas: add one shape, or clear them all."""

    op: Literal["add", "clear"]
    shape: Shape


def apply_canvas_ops(current: list[Shape] | None, ops: list[CanvasOp]) -> list[Shape]:
    """Reducer for `canvas`: tools send ops, so parallel tool results merge instead of overwrite."""
    shapes = list(current or [])
    for op in ops:
        if op.get("op") == "clear":
            shapes = []
        elif op.get("op") == "add":
            shapes.append(op["shape"])
        else:
            raise ValueError(f"unknown canvas op: {op!r}")
    return shapes


class CanvasState(TypedDict):
    """Graph state: `messages` merge by id, `canvas` by `apply_canvas_ops`."""

    messages: Annotated[list[AnyMessage], add_messages]
    canvas: Annotated[list[Shape], apply_canvas_ops]
