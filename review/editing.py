"""The reviewer's "edited arguments" text: parsed into the arguments an edit decision sends.

Two spellings are accepted, so a reviewer can copy the readable arguments cell and change a value:
- a JSON object: `{"color": "yellow"}`;
- `key=value` pairs separated by commas: `color=yellow, shape_id=s2`. A value may be double-quoted
  (JSON string rules) to hold a comma or an `=`; an unquoted value takes the type of the original
  argument of that name (text stays text, so `shape_id=1` is the text "1"; a number stays a number).

Given keys override the original arguments; keys left out keep their original values. The text is
bounded before it is parsed (`review.contract.check_text`: its length and how deep its brackets nest),
so a pasted megabyte or 5,000 nested `[` is one line of refusal, never a RecursionError. Every
problem raises ValueError with a message written for the reviewer. No streamlit import.
"""

from __future__ import annotations

import json
from typing import Any

from review.contract import check_text

__all__ = ["format_args", "parse_edited_args"]


def format_args(args: dict[str, Any]) -> str:
    """Arguments as readable `key=value, key=value` text (the inverse of `parse_edited_args`)."""
    return ", ".join(f"{key}={_format_value(value)}" for key, value in args.items())


def parse_edited_args(text: str | None, original: dict[str, Any]) -> dict[str, Any]:
    """The original arguments with the edited ones laid over them; ValueError says what is wrong."""
    text = (text or "").strip()
    if not text:
        raise ValueError("no edited arguments given: write key=value pairs or a JSON object")
    check_text(text, "the edited arguments")
    if text.startswith(("{", "[")):
        try:
            given = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ValueError(
                f"the edited arguments are not valid JSON: {exc.msg} (at character {exc.pos + 1})"
            ) from None
        if not isinstance(given, dict):
            raise ValueError('the edited arguments in JSON must be an object like {"color": "yellow"}')
    else:
        given = {key: _typed(key, raw, quoted, original.get(key)) for key, (raw, quoted) in _pairs(text).items()}
    return {**original, **given}


def _format_value(value: Any) -> str:
    if isinstance(value, str):
        plain = value and value == value.strip() and not any(c in value for c in ',="{}[]\\')
        return value if plain else json.dumps(value, ensure_ascii=False)
    return json.dumps(value, ensure_ascii=False, default=str)


def _pairs(text: str) -> dict[str, tuple[str, bool]]:
    """`key=value, key="quoted, value"` -> {key: (value, was_quoted)}."""
    pairs: dict[str, tuple[str, bool]] = {}
    parts = _split_commas(text)
    if len(parts) > 1 and not parts[-1].strip():
        parts.pop()  # a trailing comma is harmless
    for part in parts:
        if not part.strip():
            raise ValueError("empty item in the edited arguments: remove the extra comma")
        key, sep, value = part.partition("=")
        key, value = key.strip(), value.strip()
        if not sep:
            raise ValueError(f"{part.strip()!r} is not key=value: write e.g. color=yellow")
        if not key:
            raise ValueError(f"{part.strip()!r} has no argument name before '='")
        if key in pairs:
            raise ValueError(f"the argument {key!r} is given twice")
        quoted = value.startswith('"')
        if quoted:
            try:
                value = json.loads(value)
            except json.JSONDecodeError:
                raise ValueError(f"the quoted value of {key!r} is not closed properly: {value}") from None
            if not isinstance(value, str):
                raise ValueError(f"the quoted value of {key!r} must be one string")
        pairs[key] = (value, quoted)
    return pairs


def _split_commas(text: str) -> list[str]:
    """Split on commas outside double quotes and outside [...] / {...} (JSON values of list arguments)."""
    parts: list[str] = []
    current: list[str] = []
    quoted, escaped, depth = False, False, 0
    for char in text:
        if escaped:
            escaped = False
        elif char == "\\" and quoted:
            escaped = True
        elif char == '"':
            quoted = not quoted
        elif not quoted and char in "[{":
            depth += 1
        elif not quoted and char in "]}":
            depth = max(0, depth - 1)
        elif char == "," and not quoted and depth == 0:
            parts.append("".join(current))
            current = []
            continue
        current.append(char)
    if quoted:
        raise ValueError("a double quote in the edited arguments is not closed")
    parts.append("".join(current))
    return parts


def _typed(key: str, raw: str, quoted: bool, original: Any) -> Any:
    """An unquoted value takes the original argument's type; quoted values and new arguments are text."""
    if quoted or original is None or isinstance(original, str):
        return raw
    if isinstance(original, bool):
        if raw.lower() in ("true", "false"):
            return raw.lower() == "true"
        raise ValueError(f"{key}: {raw!r} is not true or false")
    if isinstance(original, int):
        try:
            return int(raw)
        except ValueError:
            raise ValueError(f"{key}: {raw!r} is not a whole number") from None
    if isinstance(original, float):
        try:
            return float(raw)
        except ValueError:
            raise ValueError(f"{key}: {raw!r} is not a number") from None
    try:  # lists and objects: JSON
        return json.loads(raw)
    except json.JSONDecodeError:
        raise ValueError(
            f"{key}: {raw!r} is not valid JSON for an argument of type {type(original).__name__}"
        ) from None
