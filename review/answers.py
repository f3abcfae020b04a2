"""Answers to questions: any JSON value, checked against the interrupt's `response_schema` before anything is claimed.

LangGraph resumes `interrupt()` with whatever value it is given, so a question is answered with a value,
not only with text: the docs' `is_approved = interrupt(...)` needs `false`, an age loop needs `42`.
Two shapes of a `respond` decision:
- `{"type": "respond", "message": TEXT}`: text. Where the question's schema asks for another type
  (boolean, number, object...), the text is read as JSON (`false`, `42`, `{"a": 1}`).
- `{"type": "respond", "value": <any JSON>}`: the value, sent as is.
With a schema the value must match it (one line naming the field when it does not); without one the
reviewer chose the type. Either way an answer is bounded (review/contract.py's MAX_INPUT_CHARS and depth) before
it is parsed or stored. `null` is refused: LangGraph takes a null resume for "no answer" and asks again.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from review.contract import MAX_MESSAGE_CHARS, check_size, clip, load_json

# An empty answer, to a question or a tool request, the browser's and the CLI's alike.
EMPTY_ANSWER = "respond needs a message: type the answer"
JSON_TYPES = {bool: "boolean", int: "integer", float: "number", str: "text", list: "array", dict: "object"}


class InvalidAnswer(ValueError):
    """An answer that must not be sent; the message says why, in one line."""


@dataclass(frozen=True)
class Answer:
    """A checked answer: the value to resume with and how the audit shows it."""

    value: Any

    @property
    def kind(self) -> str:
        """The answer's JSON type: text, boolean, integer, number, array or object."""
        return JSON_TYPES.get(type(self.value), "value")

    @property
    def text(self) -> str:
        """The answer as the decision log shows it: text as typed, anything else as JSON."""
        return self.value if isinstance(self.value, str) else json.dumps(self.value, ensure_ascii=False)


def check_answer(raw: dict[str, Any], schema: dict[str, Any] | None) -> Answer:
    """The answer a `respond` decision gives a question, checked against the question's schema (if any)."""
    if "value" in raw and "message" in raw:
        raise InvalidAnswer('an answer is either "message" (text) or "value" (any JSON), not both')
    if "value" in raw:
        value = raw["value"]
        if isinstance(value, str):
            value = _text(value)
        else:  # a value a batch (or the Inbox) parsed already: bounded like typed text, before anything stores it
            try:
                check_size(value, where="the answer")
            except ValueError as exc:
                raise InvalidAnswer(str(exc)) from None
    else:
        message = raw.get("message")
        if message is not None and not isinstance(message, str):
            raise InvalidAnswer('an answer\'s "message" must be text; send other JSON values as "value"')
        text = _text(message or "")
        value = _parse(text, schema) if _wants_json(schema) else text
    if value is None:
        raise InvalidAnswer("an answer cannot be null: LangGraph takes a null resume value for no answer")
    if schema is not None:
        _check(value, schema)
    return Answer(value)


def _text(text: str) -> str:
    if len(text) > MAX_MESSAGE_CHARS:
        raise InvalidAnswer(f"an answer is at most {MAX_MESSAGE_CHARS} characters")
    if not text.strip():
        raise InvalidAnswer(EMPTY_ANSWER)
    return text.strip()


def _wants_json(schema: dict[str, Any] | None) -> bool:
    """The schema asks for something other than text, so typed text is read as JSON."""
    if schema is None:
        return False
    kind = schema.get("type")
    if kind is not None:
        return kind != "string" and not (isinstance(kind, list) and "string" in kind)
    values = schema.get("enum") or ([schema["const"]] if "const" in schema else [])
    return bool(values) and not all(isinstance(v, str) for v in values)


def _parse(text: str, schema: dict[str, Any] | None) -> Any:
    try:
        return load_json(text, "the answer")  # bounded before parsing: deep nesting is one line, not a crash
    except json.JSONDecodeError as exc:
        wanted = (schema or {}).get("type", "a JSON value")
        raise InvalidAnswer(
            f"this question asks for {_article(wanted)}: {clip(text, 40)} is not JSON "
            f"({exc.msg} at character {exc.pos + 1})"
        ) from None
    except ValueError as exc:
        raise InvalidAnswer(str(exc)) from None


def _kind(value: Any) -> str:
    """A value's JSON Schema type name (text is a "string")."""
    name = JSON_TYPES.get(type(value), "null")
    return "string" if name == "text" else name


def _article(kind: Any) -> str:
    if not isinstance(kind, str):
        return "a JSON value"
    name = {"object": "a JSON object", "array": "a JSON array", "integer": "an integer", "null": "null"}.get(kind)
    return name or f"a {kind}"


def _check(value: Any, schema: dict[str, Any]) -> None:
    import jsonschema

    try:
        validator_class = jsonschema.validators.validator_for(schema)
        validator_class.check_schema(schema)
    except jsonschema.SchemaError:
        return  # a schema we cannot read: the graph checks what it is given, as without one
    errors = sorted(validator_class(schema).iter_errors(value), key=lambda e: list(e.absolute_path))
    if errors:
        raise InvalidAnswer("invalid answer: " + "; ".join(_describe(e) for e in errors[:5]))


def _describe(error: Any) -> str:
    where = ".".join(["answer", *(str(p) for p in error.absolute_path)])
    if error.validator == "type" and not error.absolute_path:  # the answer as a whole has the wrong type
        return f"this question asks for {_article(error.validator_value)}, not {_article(_kind(error.instance))}"
    if error.validator == "required":  # "'approved' is a required property"
        return clip(f"{where}: {error.message}".replace("'", ""), 160, quote=False)
    message = str(error.message)  # may quote the value: cut it
    if len(message) > 160:
        message = message[:159] + "…"
    return f"{clip(where, 60, quote=False)}: {message}"
