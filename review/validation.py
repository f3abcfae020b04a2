"""One validator for a reviewer's decision, whichever way it arrives: the browser, the CLI's JSON, a rule.

`check_request` checks one request for one row the way a submit does: the row (read-only, or warning of an
unsafe layout without force), the decision's shape and fields, the tool's arguments or the question's answer,
then the policy. `validate_decision` is the shape part alone. Every refusal is one line written for the
reviewer, so the Inbox (which asks this validator as the reviewer types, through
`ReviewConsole.check_decision`) and the CLI show the same words.

An edit is checked against the loaded tool's pydantic schema; for a tool the console does not load (an
Agent Server's graph) against the JSON Schema its interrupt carries (`PendingInterrupt.args_schema`);
with neither, the tool itself must check what it is handed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

from pydantic import BaseModel, ValidationError

from review.answers import EMPTY_ANSWER, InvalidAnswer, check_answer
from review.breakpoints import is_breakpoint
from review.contract import (
    DECISION_TYPES,
    MAX_MESSAGE_CHARS,
    Decision,
    DecisionType,
    PendingInterrupt,
    check_size,
    clip,
)

if TYPE_CHECKING:
    from langchain_core.tools import BaseTool

    from review.identity import Reviewer
    from review.policy import Policy

# What a submit says of a row that is no longer pending (and nobody in this console holds).
NOT_PENDING = "not pending: unknown interrupt id, or already answered (stale)"
_MESSAGE_TYPES = ("reject", "respond")  # the decision types that send a message
# The fields each decision type sends beside its "type" (respond: a question's answer may be a JSON "value").
_FIELDS: dict[str, frozenset[str]] = {
    "approve": frozenset(),
    "ignore": frozenset(),
    "reject": frozenset({"message"}),
    "respond": frozenset({"message", "value"}),
    "edit": frozenset({"edited_action"}),
}


class InvalidDecision(ValueError):
    """A decision that must not be sent; the message says why, for the reviewer."""


def check_request(
    row: PendingInterrupt,
    raw: Any,
    tools: dict[str, BaseTool],
    reviewer: Reviewer | None,
    policy: Policy,
    force: bool = False,
) -> Decision:
    """The decision a request makes for `row`, checked as a submit checks it; InvalidDecision says why not.

    `force` sends it although the row warns of an unsafe layout. `reviewer` None: nobody said who yet (the
    Inbox before a name is typed), so the policy is not asked; a submit always names one.
    """
    if row.warning and not force:
        raise InvalidDecision(f"{row.warning} Deciding it anyway needs force (the audit keeps this note).")
    decision = validate_decision(row, raw, tools)
    if reviewer is not None:
        refusal = policy.may_decide(reviewer, row, decision.type)
        if refusal is not None:
            raise InvalidDecision(refusal)
    if policy.approvals(row.tool) > 1 and (row.payload_kind == "batched" or is_breakpoint(row)):
        # Co-signing collects one call's decisions; a batched request resumes all its calls at once.
        raise InvalidDecision(
            "this tool needs several approvers, which a batched request cannot collect: use per-call mode"
        )
    return decision


def validate_decision(row: PendingInterrupt, raw: Any, tools: dict[str, BaseTool]) -> Decision:
    """Return the decision in canonical form, or raise InvalidDecision with a reviewer-readable reason."""
    if row.blocked:
        raise InvalidDecision(f"this thread cannot be decided from this console: {row.blocked}")
    if not row.allowed_decisions:
        raise InvalidDecision("this interrupt cannot be decided from the console (unknown payload shape)")
    kind = _kind(row, raw)
    _fields_fit(row, raw, kind)
    if kind in ("approve", "ignore"):
        return Decision(kind, row.args, None, None, row.tool)
    if kind == "respond" and row.payload_kind == "question":
        try:
            answer = check_answer(raw, row.answer_schema)
        except InvalidAnswer as exc:
            raise InvalidDecision(str(exc)) from None
        return Decision("respond", row.args, None, answer.text, row.tool, value=answer.value)
    if kind in _MESSAGE_TYPES:
        return Decision(kind, row.args, None, _message(raw, kind), row.tool)
    return Decision("edit", row.args, _edited_args(row, raw, tools), None, row.tool)


def _kind(row: PendingInterrupt, raw: Any) -> DecisionType:
    """The decision's type, when it is one this row allows."""
    allowed = ", ".join(row.allowed_decisions)
    if not isinstance(raw, dict) or not isinstance(raw.get("type"), str):
        if isinstance(raw, dict) and "type" not in raw and "message" in raw:  # a message typed, no decision chosen
            raise InvalidDecision(
                "choose a decision: a message is only sent with reject or respond"
                f' (a decision must be an object with a "type": {allowed})'
            )
        raise InvalidDecision(f'a decision must be an object with a "type" ({allowed})')
    kind = raw["type"]
    if kind not in row.allowed_decisions or kind not in DECISION_TYPES:
        raise InvalidDecision(f"{clip(kind, 40)} is not allowed here; allowed: {allowed}")
    return cast("DecisionType", kind)


def _fields_fit(row: PendingInterrupt, raw: dict[str, Any], kind: str) -> None:
    """Refuse a field the decision's type does not send: edited arguments, a message, a JSON answer, anything else.

    The browser hands over what the reviewer typed as is (a message beside approve is sent as a "message"), so
    these words are the reviewer's too: each says what to clear or what to choose instead.
    """
    if kind != "edit" and "edited_action" in raw:
        if "edit" in row.allowed_decisions:
            raise InvalidDecision(f"edited arguments are only sent with edit: clear them or choose edit (not {kind})")
        raise InvalidDecision("edited arguments are only sent with edit, which this row does not allow: clear them")
    if kind not in _MESSAGE_TYPES and "message" in raw:
        if set(_MESSAGE_TYPES) & set(row.allowed_decisions):
            raise InvalidDecision(f"a message is only sent with reject or respond: clear it or choose one (not {kind})")
        raise InvalidDecision("a message is only sent with reject or respond, which this row does not allow: clear it")
    if "value" in raw:
        if kind != "respond":
            raise InvalidDecision(f'a JSON "value" is only sent with respond, as a question\'s answer (not {kind})')
        if row.payload_kind != "question":
            raise InvalidDecision('a JSON "value" answers a question; a tool request is answered with a "message"')
    _no_extra_keys(raw, {"type", *_FIELDS[kind]})


def _message(raw: dict[str, Any], kind: str) -> str | None:
    """A rejection's message (optional) or a tool request's answer (required), as text."""
    message = raw.get("message")
    what = "a rejection message" if kind == "reject" else "an answer"
    if message is not None and not isinstance(message, str):
        raise InvalidDecision(f"{what} must be text")
    if message and len(message) > MAX_MESSAGE_CHARS:
        raise InvalidDecision(f"{what} is at most {MAX_MESSAGE_CHARS} characters")
    text = (message or "").strip() or None
    if kind == "respond" and not text:
        raise InvalidDecision(EMPTY_ANSWER)
    return text


def _edited_args(row: PendingInterrupt, raw: dict[str, Any], tools: dict[str, BaseTool]) -> dict[str, Any]:
    """An edit's arguments, checked against the tool's schema (or the interrupt's) and bounded."""
    action = raw.get("edited_action")
    if not isinstance(action, dict) or not isinstance(action.get("args"), dict):
        raise InvalidDecision(
            'an edit needs edited arguments: key=value pairs or a JSON object ("edited_action": {"name": ..., '
            '"args": {...}})'
        )
    if action.get("name", row.tool) != row.tool:
        raise InvalidDecision(f"an edit must keep the tool {row.tool!r}, not {clip(action.get('name'), 40)}")
    args = action["args"]
    checked = _checked_args(row.tool, args, tools) if row.tool in tools else _checked_by_schema(args, row.args_schema)
    try:  # after the schema, whose message names the bad argument; one bound for every way an edit arrives
        check_size(checked, where="the edited arguments")
    except ValueError as exc:
        raise InvalidDecision(str(exc)) from None
    return checked


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


def tool_args_schema(tool: BaseTool) -> dict[str, Any] | None:
    """The JSON Schema of a loaded tool's arguments (what `_checked_args` checks an edit against); None when the
    tool gives none a form can use."""
    schema = tool.tool_call_schema
    try:
        if isinstance(schema, type) and issubclass(schema, BaseModel):
            return schema.model_json_schema()
        return dict(schema) if isinstance(schema, dict) else None
    except Exception:  # a schema pydantic cannot render: no form (the tool still checks its edit)
        return None


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
