"""A form from a JSON schema: the fields an object schema describes, one widget each, and the object they make.

Three steps, each usable alone (the New run page builds a graph's input with them; a tool's arguments fit too):

- `fields(schema)`: the properties of an object schema as `FieldSpec`s (pure). `$ref`s into the schema's own
  `$defs` are followed, an `anyOf` / `oneOf` / type list with `null` makes the field nullable; strings, integers,
  numbers and booleans get their own kind, an `enum` (or `const`) is a choice, anything else (objects, arrays,
  unions) is JSON text. A schema that is not an object with properties has no fields: ask for JSON instead.
- `render(fields, values, key_prefix)`: one Streamlit widget per field, labelled exactly with the property name,
  keyed `{key_prefix}.{name}`; returns what the widgets hold now (`raw`).
- `parse(fields, raw)`: those widget values as the object, typed (JSON text parsed, empty optional fields left
  out); `FormError` names every field it cannot take, in one line. `check(schema, value)` then asks `jsonschema`
  whether the schema accepts the whole value, and `parse_json(text)` reads a JSON text area.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import jsonschema
import streamlit as st

Kind = Literal["text", "integer", "number", "boolean", "enum", "json"]
_SIMPLE: dict[str, Kind] = {"string": "text", "integer": "integer", "number": "number", "boolean": "boolean"}
_NO_CHOICE = "—"  # the empty choice of an optional enum
JSON_ROWS = 4  # height of a JSON text area, in lines
TEXT_ROWS = 6  # height of a long text's area, in lines
LONG_TEXT = 60  # a text value this long (or with a line break) is edited in a text area


class FormError(ValueError):
    """A form's values that cannot make the object; the message is one line naming each field and why."""


@dataclass(frozen=True)
class FieldSpec:
    """One property of an object schema, as a form asks for it.

    `kind` picks the widget; `options` are an enum's values; `default` is used when `has_default`;
    `schema` is the property's own schema ($refs followed, null removed) for a JSON field's hint.
    """

    name: str
    kind: Kind
    required: bool = False
    nullable: bool = False
    options: tuple[Any, ...] = ()
    default: Any = None
    has_default: bool = False
    description: str = ""
    schema: Mapping[str, Any] = field(default_factory=dict)


# --- schema -> fields (pure) ------------------------------------------------------------------------------


def fields(schema: Mapping[str, Any] | None) -> list[FieldSpec]:
    """The properties of an object schema as fields, in the schema's order; [] when it is not one with properties."""
    if not isinstance(schema, Mapping):
        return []
    root = _resolve(schema, schema)
    properties = root.get("properties")
    if root.get("type", "object") != "object" or not isinstance(properties, Mapping) or not properties:
        return []
    required = set(root.get("required") or ())
    return [_field(str(name), prop, schema, str(name) in required) for name, prop in properties.items()]


def _field(name: str, prop: Any, root: Mapping[str, Any], required: bool) -> FieldSpec:
    prop = _resolve(prop if isinstance(prop, Mapping) else {}, root)
    nullable, inner = _without_null(prop, root)
    description = str(inner.get("description") or prop.get("description") or "")
    has_default = "default" in prop
    common: dict[str, Any] = {
        "required": required,
        "nullable": nullable,
        "default": prop.get("default"),
        "has_default": has_default,
        "description": description,
        "schema": inner,
    }
    if "enum" in inner or "const" in inner:
        options = tuple(inner["enum"]) if "enum" in inner else (inner["const"],)
        return FieldSpec(name, "enum", options=options, **common)
    kind = _SIMPLE.get(str(inner.get("type")), "json") if isinstance(inner.get("type"), str) else "json"
    return FieldSpec(name, kind, **common)


def _resolve(node: Mapping[str, Any], root: Mapping[str, Any], depth: int = 0) -> Mapping[str, Any]:
    """`node` with a local `$ref` (`#/$defs/X`, `#/definitions/X`) followed, and a one-item `allOf` unwrapped."""
    while depth < 16:
        depth += 1
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/"):
            target: Any = root
            for part in ref[2:].split("/"):
                target = target.get(part) if isinstance(target, Mapping) else None
            if not isinstance(target, Mapping):
                return {k: v for k, v in node.items() if k != "$ref"}
            node = {**target, **{k: v for k, v in node.items() if k != "$ref"}}
            continue
        all_of = node.get("allOf")
        if isinstance(all_of, list) and len(all_of) == 1 and isinstance(all_of[0], Mapping):
            node = {**all_of[0], **{k: v for k, v in node.items() if k != "allOf"}}
            continue
        return node
    return node


def _without_null(prop: Mapping[str, Any], root: Mapping[str, Any]) -> tuple[bool, Mapping[str, Any]]:
    """(whether null is allowed, the schema without the null choice)."""
    kind = prop.get("type")
    if isinstance(kind, list):
        rest = [k for k in kind if k != "null"]
        if len(rest) < len(kind):
            return True, {**prop, "type": rest[0] if len(rest) == 1 else rest}
        return False, prop
    for key in ("anyOf", "oneOf"):
        choices = prop.get(key)
        if isinstance(choices, list):
            rest = [c for c in choices if not (isinstance(c, Mapping) and c.get("type") == "null")]
            if len(rest) < len(choices):
                outer = {k: v for k, v in prop.items() if k != key}
                if len(rest) == 1 and isinstance(rest[0], Mapping):
                    return True, {**_resolve(rest[0], root), **outer}
                return True, {**outer, key: rest}
    return False, prop


# --- fields -> widgets (Streamlit) --------------------------------------------------------------------------


def widget_key(key_prefix: str, name: str) -> str:
    """The session-state key of a field's widget."""
    return f"{key_prefix}.{name}"


def initial(spec: FieldSpec, value: Any = None) -> Any:
    """What a field's widget starts with: `value` (a value of the field's type) else the schema's default."""
    if value is None and spec.has_default:
        value = spec.default
    if spec.kind == "json":
        return "" if value is None else json.dumps(value, ensure_ascii=False, indent=1)
    if spec.kind == "boolean":
        return bool(value)
    if spec.kind == "text":
        return "" if value is None else str(value)
    if spec.kind == "enum":
        return value if value in spec.options else (None if _has_no_choice(spec) else spec.options[0])
    if value is None or isinstance(value, bool) or not isinstance(value, int | float):
        return None  # an empty number box
    return int(value) if spec.kind == "integer" else float(value)


def long_text(value: Any) -> bool:
    """A text this long, or with a line break, is edited in a text area (an email body, a note)."""
    return isinstance(value, str) and (len(value) > LONG_TEXT or "\n" in value)


def render(
    fields: Sequence[FieldSpec],
    values: Mapping[str, Any] | None,
    key_prefix: str,
    *,
    on_change: Callable[..., None] | None = None,
    args: tuple[Any, ...] = (),
) -> dict[str, Any]:
    """One widget per field, labelled with the property name, starting from `values` (then the defaults);
    the widgets' values now, by name, for `parse`. A text field whose value is long or has line breaks is a text
    area. `on_change(*args, name)` runs when the field `name` changes (the Inbox card writes that one field)."""
    raw: dict[str, Any] = {}
    for spec in fields:
        key = widget_key(key_prefix, spec.name)
        if key not in st.session_state:
            st.session_state[key] = initial(spec, (values or {}).get(spec.name))
        common: dict[str, Any] = {"key": key, "help": _help(spec), "on_change": on_change, "args": (*args, spec.name)}
        if spec.kind == "text" and long_text(st.session_state[key]):
            raw[spec.name] = st.text_area(spec.name, height=TEXT_ROWS * 24 + 20, **common)
        elif spec.kind == "text":
            raw[spec.name] = st.text_input(spec.name, **common)
        elif spec.kind == "integer":
            raw[spec.name] = st.number_input(spec.name, step=1, placeholder=_hint(spec), **common)
        elif spec.kind == "number":
            raw[spec.name] = st.number_input(spec.name, format="%g", placeholder=_hint(spec), **common)
        elif spec.kind == "boolean":
            raw[spec.name] = st.checkbox(spec.name, **common)
        elif spec.kind == "enum":
            options = ([None] if _has_no_choice(spec) else []) + list(spec.options)
            raw[spec.name] = st.selectbox(spec.name, options, format_func=_choice_text, **common)
        else:
            raw[spec.name] = st.text_area(spec.name, placeholder=_json_hint(spec), height=JSON_ROWS * 24 + 20, **common)
    return raw


def _has_no_choice(spec: FieldSpec) -> bool:
    return spec.nullable or not spec.required


def _choice_text(value: Any) -> str:
    return _NO_CHOICE if value is None else value if isinstance(value, str) else json.dumps(value)


def _hint(spec: FieldSpec) -> str:
    return "required" if spec.required else "optional"


def _json_hint(spec: FieldSpec) -> str:
    kind = spec.schema.get("type")
    shape = {"array": "a JSON list, e.g. []", "object": 'a JSON object, e.g. {"key": "value"}'}.get(str(kind), "JSON")
    return f"{shape}{'' if spec.required else ' (optional)'}"


def _help(spec: FieldSpec) -> str | None:
    parts = [spec.description] if spec.description else []
    if spec.required:
        parts.append("Required.")
    return " ".join(parts) or None


# --- widget values -> object (pure) -----------------------------------------------------------------------------


def parse(fields: Sequence[FieldSpec], raw: Mapping[str, Any]) -> dict[str, Any]:
    """The object the widget values make: JSON text parsed, numbers typed; an empty optional field is left out
    (an empty required text is sent as ""). FormError names every field that cannot be taken, in one line."""
    value: dict[str, Any] = {}
    problems: list[str] = []
    for spec in fields:
        try:
            taken, given = _take(spec, raw.get(spec.name))
        except FormError as exc:
            problems.append(f"{spec.name}: {exc}")
            continue
        if given:
            value[spec.name] = taken
    if problems:
        raise FormError("; ".join(problems))
    return value


def _take(spec: FieldSpec, raw: Any) -> tuple[Any, bool]:
    """(the field's value, whether it is given)."""
    if spec.kind == "boolean":
        given = bool(raw) or spec.required or spec.has_default
        return bool(raw), given
    if spec.kind == "text":
        text = "" if raw is None else str(raw)
        return text, bool(text) or spec.required
    if spec.kind == "json":
        text = "" if raw is None else str(raw).strip()
        if not text:
            if spec.required:
                raise FormError("required (JSON)")
            return None, False
        return parse_json(text), True
    if raw is None:
        if spec.required and not spec.nullable:
            raise FormError("required")
        return None, spec.required
    if spec.kind == "integer":
        if isinstance(raw, bool) or not isinstance(raw, int | float) or not float(raw).is_integer():
            raise FormError(f"{raw!r} is not a whole number")
        return int(raw), True
    if spec.kind == "number":
        if isinstance(raw, bool) or not isinstance(raw, int | float):
            raise FormError(f"{raw!r} is not a number")
        return raw, True
    if raw not in spec.options:  # an enum
        raise FormError(f"{raw!r} is not one of {', '.join(_choice_text(o) for o in spec.options)}")
    return raw, True


def parse_json(text: str) -> Any:
    """The JSON value of `text`; FormError says where it is not JSON."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise FormError(f"not JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})") from None


def check(schema: Mapping[str, Any] | None, value: Any) -> str | None:
    """Why `schema` refuses `value`, in one line (`age: 'x' is not of type 'integer'`); None when it accepts it
    (or there is no usable schema)."""
    if not isinstance(schema, Mapping) or not schema:
        return None
    schema = dict(schema)
    try:
        validator_class = jsonschema.validators.validator_for(schema, default=jsonschema.Draft202012Validator)
        validator_class.check_schema(schema)
    except jsonschema.SchemaError:
        return None  # a schema jsonschema cannot read checks nothing; the graph still checks its input
    error = jsonschema.exceptions.best_match(validator_class(schema).iter_errors(value))
    if error is None:
        return None
    where = ".".join(str(part) for part in error.absolute_path)
    message = error.message if len(error.message) <= 200 else error.message[:200] + "…"
    return f"{where}: {message}" if where else message
