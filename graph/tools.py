"""The canvas tools. Each asks a reviewer with `interrupt()` BEFORE it has any effect, and makes its
effect (the effect log, standing for an API call) once per idempotency key the console hands it.

The interrupt value is langchain's per-call approval request
(`{"type": "tool_approval", "tool_call_id", "name", "args", "description"}`) and the
resume value one of langchain's decisions (`approve`, `edit`, `reject`), so the console's
contract is not private to this demo. Code before `interrupt()` must be side-effect free:
every pending task re-runs up to its interrupt on each resume.
"""

from __future__ import annotations

import fcntl
import json
import os
import random
import re
import time
from typing import Annotated, Any

from langchain_core.messages import ToolMessage
from langchain_core.tools import InjectedToolCallId, tool
from langgraph.config import get_config
from langgraph.prebuilt import InjectedState
from langgraph.types import Command, interrupt
from pydantic import AfterValidator, BaseModel, Field, ValidationError

from graph.state import Shape, ShapeKind

COLOUR_NAMES = frozenset(
    {"red", "orange", "yellow", "green", "blue", "purple", "pink", "brown", "black", "white", "gray", "grey"}
)
_HEX_COLOUR = re.compile(r"^#[0-9a-fA-F]{6}$")


def check_colour(value: str) -> str:
    """Accept a common colour name or `#rrggbb`; return it normalised to lower case."""
    colour = value.strip().lower()
    if colour in COLOUR_NAMES or _HEX_COLOUR.match(colour):
        return colour
    raise ValueError(f"{value!r} is not a colour: use a common name ({', '.join(sorted(COLOUR_NAMES))}) or #rrggbb")


ShapeId = Annotated[
    str,
    Field(
        min_length=1,
        max_length=32,
        pattern=r"^[A-Za-z0-9_-]+$",
        description="1-32 letters, digits, '_' or '-'; not already on the canvas",
    ),
]
Colour = Annotated[str, AfterValidator(check_colour), Field(description="a common colour name or #rrggbb")]


class ShapeArgs(BaseModel):
    """Arguments of the create_* tools, as a reviewer may edit them."""

    model_config = {"extra": "forbid"}

    shape_id: ShapeId
    color: Colour


SHAPE_ARGS_SCHEMA = ShapeArgs.model_json_schema()


def decision_schema(*allowed: str) -> dict[str, Any]:
    """JSON Schema of the decisions a request accepts (carried on the interrupt for clients)."""
    variants = {
        "approve": {"properties": {"type": {"const": "approve"}}, "required": ["type"]},
        "edit": {
            "properties": {
                "type": {"const": "edit"},
                "edited_action": {
                    "type": "object",
                    "properties": {"name": {"type": "string"}, "args": {"type": "object"}},
                    "required": ["name", "args"],
                },
            },
            "required": ["type", "edited_action"],
        },
        "reject": {
            "properties": {"type": {"const": "reject"}, "message": {"type": "string"}},
            "required": ["type"],
        },
    }
    return {"title": "Decision", "oneOf": [{"type": "object", **variants[name]} for name in allowed]}


def _simulated_work() -> None:
    """Optional random delay before `interrupt()`, like a tool that looks something up first.

    CANVAS_TOOL_JITTER_MS=5 reproduces the timing of the ToolNode report in tests.
    """
    jitter_ms = float(os.environ.get("CANVAS_TOOL_JITTER_MS") or 0)
    if jitter_ms > 0:
        time.sleep(random.uniform(0, jitter_ms) / 1000)


# The run-config key under which the review console hands each tool call its idempotency key
# (review.idempotency.IDEMPOTENCY_KEYS; this package must not import review/).
IDEMPOTENCY_KEYS = "review_idempotency_keys"


def effect_key(tool_call_id: str) -> str:
    """This call's idempotency key: the console's (thread/tool_call_id/row), else thread/tool_call_id."""
    try:
        configurable = get_config().get("configurable") or {}
    except RuntimeError:  # called outside a run
        configurable = {}
    keys = configurable.get(IDEMPOTENCY_KEYS) or {}
    return keys.get(tool_call_id) or f"{configurable.get('thread_id', '-')}/{tool_call_id}/-"


def _record_effect(tool_call_id: str, effect: dict[str, Any]) -> bool:
    """Append the effect to CANVAS_EFFECT_LOG, if set, ONCE per idempotency key; False if it was done before.

    The log stands for a real tool's external effect (an API call), which happens again whenever
    LangGraph re-runs the task (the process died before the task's write was saved). Like a real
    system taking an `Idempotency-Key`, it checks the key and the append under one file lock, so a
    second attempt, from any process, is a no-op.
    """
    path = os.environ.get("CANVAS_EFFECT_LOG")
    if not path:
        return True
    key = effect_key(tool_call_id)
    # CANVAS_EFFECT_KEYLESS=1 plays a tool that ignores its key (the crash benchmark's baseline): at-least-once.
    keyless = os.environ.get("CANVAS_EFFECT_KEYLESS") == "1"
    with open(path, "a+", encoding="utf-8") as log:
        _lock(log)  # released when the file closes
        log.seek(0)
        for line in log:
            if not keyless and line.strip() and json.loads(line).get("key") == key:
                return False
        log.write(json.dumps({"key": key, "tool_call_id": tool_call_id, "pid": os.getpid(), **effect}) + "\n")
        log.flush()
        os.fsync(log.fileno())
    return True


def _lock(log: Any) -> None:
    """Take the effect log's lock, or fail after CANVAS_EFFECT_LOCK_SECONDS (10; a paused process may hold it)
    instead of hanging."""
    deadline = time.monotonic() + float(os.environ.get("CANVAS_EFFECT_LOCK_SECONDS") or 10)
    while True:
        try:
            fcntl.flock(log, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            if time.monotonic() > deadline:
                raise TimeoutError("the effect log is locked by another process") from None
            time.sleep(0.01)


def _tool_message(tool_call_id: str, name: str, content: str, *, error: bool = False) -> ToolMessage:
    return ToolMessage(content, tool_call_id=tool_call_id, name=name, status="error" if error else "success")


def _reply(tool_call_id: str, name: str, content: str, *, error: bool = False) -> Command[Any]:
    return Command(update={"messages": [_tool_message(tool_call_id, name, content, error=error)]})


def _draw(kind: ShapeKind, shape_id: str, color: str, canvas: list[Shape] | None, tool_call_id: str) -> Command[Any]:
    name = f"create_{kind}"
    args = {"shape_id": shape_id, "color": color}
    _simulated_work()
    decision = interrupt(
        {
            "type": "tool_approval",
            "tool_call_id": tool_call_id,
            "name": name,
            "args": args,
            "description": f"Draw a {color} {kind} '{shape_id}' on the canvas.",
            # What an edit may send: clients that do not load this tool (an Agent Server's) check edits with it.
            "args_schema": SHAPE_ARGS_SCHEMA,
        },
        response_schema=decision_schema("approve", "edit", "reject"),
    )
    kind_of = decision.get("type") if isinstance(decision, dict) else None
    if kind_of == "reject":
        message = (decision.get("message") or "").strip() or "no reason given"
        return _reply(tool_call_id, name, f"Rejected by the reviewer: {message}")
    if kind_of == "edit":
        action = decision.get("edited_action") or {}
        if action.get("name") != name:
            return _reply(
                tool_call_id, name, f"Edit refused: it names {action.get('name')!r}, not {name!r}.", error=True
            )
        try:
            args = ShapeArgs.model_validate(action.get("args") or {}).model_dump()
        except ValidationError as exc:
            return _reply(tool_call_id, name, f"Edit refused: {exc.errors()[0]['msg']}.", error=True)
    elif kind_of != "approve":
        return _reply(tool_call_id, name, f"Unknown decision {decision!r}: nothing drawn.", error=True)
    if any(shape["shape_id"] == args["shape_id"] for shape in canvas or []):
        return _reply(tool_call_id, name, f"Nothing drawn: {args['shape_id']!r} is already on the canvas.", error=True)
    shape: Shape = {"shape_id": args["shape_id"], "kind": kind, "color": args["color"]}
    _record_effect(tool_call_id, {"op": "add", **shape})
    return Command(
        update={
            "canvas": [{"op": "add", "shape": shape}],
            "messages": [_tool_message(tool_call_id, name, f"Drew a {shape['color']} {kind} '{shape['shape_id']}'.")],
        }
    )


@tool
def create_circle(
    shape_id: ShapeId,
    color: Colour,
    canvas: Annotated[list[Shape], InjectedState("canvas")],
    tool_call_id: Annotated[str, InjectedToolCallId],
) -> Command[Any]:
    """Draw a circle with the given id and colour on the canvas."""
    return _draw("circle", shape_id, color, canvas, tool_call_id)


@tool
def create_square(
    shape_id: ShapeId,
    color: Colour,
    canvas: Annotated[list[Shape], InjectedState("canvas")],
    tool_call_id: Annotated[str, InjectedToolCallId],
) -> Command[Any]:
    """Draw a square with the given id and colour on the canvas."""
    return _draw("square", shape_id, color, canvas, tool_call_id)


@tool
def create_triangle(
    shape_id: ShapeId,
    color: Colour,
    canvas: Annotated[list[Shape], InjectedState("canvas")],
    tool_call_id: Annotated[str, InjectedToolCallId],
) -> Command[Any]:
    """Draw a triangle with the given id and colour on the canvas."""
    return _draw("triangle", shape_id, color, canvas, tool_call_id)


@tool
def clear_canvas(
    canvas: Annotated[list[Shape], InjectedState("canvas")],
    tool_call_id: Annotated[str, InjectedToolCallId],
) -> Command[Any]:
    """Remove every shape from the canvas. Destructive: asks for approval, then for confirmation."""
    name = "clear_canvas"
    approve_or_reject = decision_schema("approve", "reject")
    first = interrupt(
        {
            "type": "tool_approval",
            "tool_call_id": tool_call_id,
            "name": name,
            "args": {},
            "description": "Clear the canvas (asks again to confirm).",
        },
        response_schema=approve_or_reject,
    )
    if not (isinstance(first, dict) and first.get("type") == "approve"):
        return _reply(tool_call_id, name, _rejection(first))
    count = len(canvas or [])
    plural = "s" if count != 1 else ""
    second = interrupt(
        {
            "type": "tool_approval",
            "tool_call_id": tool_call_id,
            "name": name,
            "args": {},
            "description": f"Confirm: remove {count} shape{plural} from the canvas? This cannot be undone.",
        },
        response_schema=approve_or_reject,
    )
    if not (isinstance(second, dict) and second.get("type") == "approve"):
        return _reply(tool_call_id, name, _rejection(second))
    _record_effect(tool_call_id, {"op": "clear", "removed": count})
    return Command(
        update={
            "canvas": [{"op": "clear"}],
            "messages": [_tool_message(tool_call_id, name, f"Cleared the canvas ({count} shapes removed).")],
        }
    )


def _rejection(decision: Any) -> str:
    message = decision.get("message") if isinstance(decision, dict) else None
    return f"Rejected by the reviewer: {(message or '').strip() or 'no reason given'}"


TOOLS = [create_circle, create_square, create_triangle, clear_canvas]
