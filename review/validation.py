"""Checks one raw decision against its pending row and the tool's own argument schema.

An edit is checked against the loaded tool's pydantic schema; for a tool the console does not load (an
Agent Server's graph) against the JSON Schema its interrupt carries (`PendingInterrupt.args_schema`);
with neither, the tool itself must check what it is handed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ValidationError

from review.answers import InvalidAnswer, check_answer
from review.contract import MAX_MESSAGE_CHARS, Decision, PendingInterrupt, check_size, clip

if TYPE_CHECKING:
    from langchain_core.tools import BaseTool


class InvalidDecision(ValueError):
    """A decision that must not be sent; the message says why, for the reviewer."""


def validate_decision(row: PendingInterrupt, raw: Any, tools: dict[str, BaseTool]) -> Decision:
    """Return the decision in canonical form, or raise InvalidDecision with a reviewer-readable reason."""
    if row.blocked:
        raise InvalidDecision(f"this thread cannot be decided from this console: {row.blocked}")
    if not row.allowed_decisions:
        raise InvalidDecision("this interrupt cannot be decided from the console (unknown payload shape)")
    if not isinstance(raw, dict) or not isinstance(raw.get("type"), str):
        raise InvalidDecision(f'a decision must be an object with a "type" ({", ".join(row.allowed_decisions)})')
    kind = raw["type"]
    if kind not in row.allowed_decisions:
        raise InvalidDecision(f"{clip(kind, 40)} is not allowed here; allowed: {', '.join(row.allowed_decisions)}")
    if kind == "approve":
        _no_extra_keys(raw, {"type"})
        return Decision("approve", row.args, None, None, row.tool)
    if kind == "ignore":
        _no_extra_keys(raw, {"type"})
        return Decision("ignore", row.args, None, None, row.tool)
    if kind == "respond" and row.payload_kind == "question":
        _no_extra_keys(raw, {"type", "message", "value"})
        try:
            answer = check_answer(raw, row.answer_schema)
        except InvalidAnswer as exc:
            raise InvalidDecision(str(exc)) from None
        return Decision("respond", row.args, None, answer.text, row.tool, value=answer.value)
    if kind in ("reject", "respond"):
        if kind == "respond" and "value" in raw:
            raise InvalidDecision('a JSON "value" answers a question; a tool request is answered with a "message"')
        _no_extra_keys(raw, {"type", "message"})
        message = raw.get("message")
        what = "a rejection message" if kind == "reject" else "an answer"
        if message is not None and not isinstance(message, str):
            raise InvalidDecision(f"{what} must be text")
        if message and len(message) > MAX_MESSAGE_CHARS:
            raise InvalidDecision(f"{what} is at most {MAX_MESSAGE_CHARS} characters")
        text = (message or "").strip() or None
        if kind == "respond" and not text:
            raise InvalidDecision('an answer needs a message: {"type": "respond", "message": "..."}')
        return Decision(kind, row.args, None, text, row.tool)
    _no_extra_keys(raw, {"type", "edited_action"})
    action = raw.get("edited_action")
    if not isinstance(action, dict) or not isinstance(action.get("args"), dict):
        raise InvalidDecision('an edit needs "edited_action": {"name": ..., "args": {...}}')
    if action.get("name", row.tool) != row.tool:
        raise InvalidDecision(f"an edit must keep the tool {row.tool!r}, not {clip(action.get('name'), 40)}")
    args = action["args"]
    checked = _checked_args(row.tool, args, tools) if row.tool in tools else _checked_by_schema(args, row.args_schema)
    try:  # after the schema, whose message names the bad argument; one bound for every way an edit arrives
        check_size(checked, where="the edited arguments")
    except ValueError as exc:
        raise InvalidDecision(str(exc)) from None
    return Decision("edit", row.args, checked, None, row.tool)


def _checked_args(tool_name: str | None, args: dict[str, Any], tools: dict[str, BaseTool]) -> dict[str, Any]:
    tool = tools.get(tool_name or "")
    if tool is None:
        return args  # another agent's tool we hold no schema for: the tool itself must check
    schema = tool.tool_call_schema
    if not (isinstance(schema, type) and issubclass(schema, BaseModel)):
        return args  # a JSON-schema or pydantic-v1 tool: the tool itself checks
    try:
        validated = schema.model_validate(args)
    except ValidationError as exc:
        raise InvalidDecision("invalid arguments: " + "; ".join(_describe(e) for e in exc.errors()[:5])) from None
    extra = set(args) - set(schema.model_fields)
    if extra:
        raise InvalidDecision(f"invalid arguments: unknown argument(s) {clip(', '.join(sorted(extra)), quote=False)}")
    return validated.model_dump()


def _checked_by_schema(args: dict[str, Any], schema: dict[str, Any] | None) -> dict[str, Any]:
    """The arguments checked against the interrupt's JSON Schema of them (as is, when it carries none)."""
    if schema is None:
        return args
    import jsonschema

    try:
        validator_class = jsonschema.validators.validator_for(schema)
        validator_class.check_schema(schema)
    except jsonschema.SchemaError:
        return args  # a schema we cannot read: the tool itself checks, as without one
    known = schema.get("properties")
    if isinstance(known, dict) and schema.get("additionalProperties") is not True:
        extra = set(args) - set(known)  # as for a loaded tool: an argument the tool does not name is a typo
        if extra:
            raise InvalidDecision(
                f"invalid arguments: unknown argument(s) {clip(', '.join(sorted(extra)), quote=False)}"
            )
    errors = sorted(validator_class(schema).iter_errors(args), key=lambda e: list(e.absolute_path))
    if errors:
        raise InvalidDecision("invalid arguments: " + "; ".join(_describe_schema_error(e) for e in errors[:5]))
    return args


def _describe_schema_error(error: Any) -> str:
    if error.validator == "required":  # "'color' is a required property"
        return clip(str(error.message).replace("'", ""), 160, quote=False)
    where = ".".join(str(p) for p in error.absolute_path) or "args"
    message = str(error.message)  # may quote the value: cut it
    if len(message) > 160:
        message = message[:159] + "…"
    return f"{clip(where, 40, quote=False)}: {message}"


def _describe(error: Any) -> str:
    where = ".".join(str(p) for p in error.get("loc", ())) or "args"
    message = str(error.get("msg", "invalid"))  # may quote the value: cut it
    if len(message) > 160:
        message = message[:159] + "…"
    return f"{clip(where, 40, quote=False)}: {message}"


def _no_extra_keys(raw: dict[str, Any], allowed: set[str]) -> None:
    extra = set(raw) - allowed
    if extra:
        fields = clip(", ".join(sorted(map(str, extra))), quote=False)
        raise InvalidDecision(f"unexpected field(s) in a {raw['type']} decision: {fields}")
