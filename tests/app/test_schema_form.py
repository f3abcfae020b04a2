"""ui/schema_form.py: a JSON schema's properties as form fields, widget values back into the object, one-line errors;
and its Streamlit renderer under AppTest (widgets labelled with the property names)."""

from __future__ import annotations

from typing import Any

import pytest
from streamlit.testing.v1 import AppTest

from ui.schema_form import FieldSpec, FormError, check, fields, initial, parse, parse_json

# What LangGraph gives for tests/agents/plan_execute.py's PlanState (pydantic's $defs, a nullable $ref, an enum $ref).
PLAN_SCHEMA: dict[str, Any] = {
    "$defs": {
        "Outcome": {
            "description": "How a run ended.",
            "enum": ["done", "stopped"],
            "title": "Outcome",
            "type": "string",
        },
        "Plan": {
            "description": "What the planner decided to do, in order.",
            "properties": {"steps": {"items": {"type": "string"}, "title": "Steps", "type": "array"}},
            "title": "Plan",
            "type": "object",
        },
    },
    "properties": {
        "prompt": {"title": "Prompt", "type": "string"},
        "plan": {"anyOf": [{"$ref": "#/$defs/Plan"}, {"type": "null"}]},
        "approval": {"title": "Approval", "type": "string"},
        "done": {"items": {"type": "string"}, "title": "Done", "type": "array"},
        "outcome": {"$ref": "#/$defs/Outcome"},
    },
    "title": "PlanState",
    "type": "object",
}
TYPED: dict[str, Any] = {
    "type": "object",
    "properties": {
        "name": {"type": "string", "description": "Who asks"},
        "count": {"type": "integer", "default": 2},
        "ratio": {"type": ["number", "null"]},
        "urgent": {"type": "boolean"},
        "level": {"enum": ["low", "high"]},
        "tags": {"type": "array", "items": {"type": "string"}},
    },
    "required": ["name", "level"],
}


def by_name(specs: list[FieldSpec]) -> dict[str, FieldSpec]:
    return {spec.name: spec for spec in specs}


# --- fields ------------------------------------------------------------------------------------------------


def test_each_property_becomes_a_field_of_its_kind_in_the_schemas_order() -> None:
    specs = fields(TYPED)
    assert [(s.name, s.kind) for s in specs] == [
        ("name", "text"),
        ("count", "integer"),
        ("ratio", "number"),
        ("urgent", "boolean"),
        ("level", "enum"),
        ("tags", "json"),
    ]
    named = by_name(specs)
    assert named["name"].required and named["name"].description == "Who asks"
    assert named["count"].has_default and named["count"].default == 2 and not named["count"].required
    assert named["ratio"].nullable and not named["name"].nullable
    assert named["level"].options == ("low", "high")
    assert named["tags"].schema["type"] == "array"


def test_refs_into_defs_and_nullable_unions_are_followed() -> None:
    named = by_name(fields(PLAN_SCHEMA))
    assert named["outcome"].kind == "enum" and named["outcome"].options == ("done", "stopped")
    assert named["outcome"].description == "How a run ended."
    assert named["plan"].kind == "json" and named["plan"].nullable and named["plan"].schema["title"] == "Plan"
    assert named["done"].kind == "json" and named["prompt"].kind == "text"


@pytest.mark.parametrize(
    "schema",
    [None, {}, {"type": "string"}, {"type": "array", "items": {}}, {"type": "object"}, {"properties": {}}],
    ids=["none", "empty", "string", "array", "no properties", "empty properties"],
)
def test_a_schema_that_is_no_object_with_properties_has_no_fields(schema: Any) -> None:
    assert fields(schema) == []


def test_a_union_of_two_types_and_a_const_are_json_and_a_one_value_choice() -> None:
    named = by_name(
        fields({"properties": {"either": {"anyOf": [{"type": "string"}, {"type": "integer"}]}, "kind": {"const": "x"}}})
    )
    assert named["either"].kind == "json" and not named["either"].nullable
    assert named["kind"].kind == "enum" and named["kind"].options == ("x",)


# --- parse -------------------------------------------------------------------------------------------------


def test_values_are_typed_and_empty_optional_fields_left_out() -> None:
    specs = fields(TYPED)
    raw = {"name": "ana", "count": 3.0, "ratio": None, "urgent": False, "level": "high", "tags": ' ["a", "b"] '}
    assert parse(specs, raw) == {"name": "ana", "count": 3, "level": "high", "tags": ["a", "b"]}
    assert parse(specs, {"name": "", "level": "low", "urgent": True, "ratio": 0.5, "tags": ""}) == {
        "name": "",  # a required text may be empty
        "level": "low",
        "urgent": True,
        "ratio": 0.5,
    }


def test_a_boolean_with_a_default_is_always_sent() -> None:
    [spec] = fields({"properties": {"on": {"type": "boolean", "default": True}}})
    assert parse([spec], {"on": False}) == {"on": False}


def test_every_field_that_cannot_be_taken_is_named_in_one_line() -> None:
    specs = fields(TYPED)
    with pytest.raises(FormError) as caught:
        parse(specs, {"name": "x", "count": 2.5, "level": None, "tags": "[1,"})
    message = str(caught.value)
    assert "\n" not in message
    assert message == (
        "count: 2.5 is not a whole number; level: required; tags: not JSON: Expecting value (line 1, column 4)"
    )


def test_an_enum_value_outside_its_options_is_refused() -> None:
    with pytest.raises(FormError, match=r"^level: 'medium' is not one of low, high$"):
        parse(fields(TYPED), {"name": "x", "level": "medium"})


def test_parse_json_says_where_it_is_not_json() -> None:
    assert parse_json('{"a": [1]}') == {"a": [1]}
    with pytest.raises(FormError, match=r"^not JSON: Expecting ',' delimiter \(line 1, column 9\)$"):
        parse_json('{"a": [1}')


# --- check -------------------------------------------------------------------------------------------------


def test_check_names_the_path_the_schema_refuses_in_one_line() -> None:
    assert check(PLAN_SCHEMA, {"prompt": "p", "done": ["a"], "outcome": "done", "plan": {"steps": ["x"]}}) is None
    assert check(PLAN_SCHEMA, {"done": ["a", 2]}) == "done.1: 2 is not of type 'string'"
    assert check(PLAN_SCHEMA, {"plan": {"steps": "x"}}) is not None
    assert check(PLAN_SCHEMA, {"outcome": "maybe"}) == "outcome: 'maybe' is not one of ['done', 'stopped']"
    assert check({"type": "string"}, 3) == "3 is not of type 'string'"
    assert check(None, {"anything": 1}) is None and check({}, 3) is None


def test_a_schema_jsonschema_cannot_read_checks_nothing() -> None:
    assert check({"type": 12}, "x") is None


# --- initial values ------------------------------------------------------------------------------------------


def test_initial_values_come_from_the_given_value_then_the_default() -> None:
    named = by_name(fields(TYPED))
    assert initial(named["count"]) == 2 and initial(named["count"], 7) == 7
    assert initial(named["ratio"]) is None and initial(named["ratio"], 1) == 1.0
    assert initial(named["tags"], ["a"]) == '[\n "a"\n]' and initial(named["tags"]) == ""
    assert initial(named["level"]) == "low" and initial(named["urgent"]) is False and initial(named["name"]) == ""
    [optional] = fields({"properties": {"level": {"enum": ["low", "high"]}}})
    assert initial(optional) is None  # an optional choice starts empty


# --- render (Streamlit) ---------------------------------------------------------------------------------------


def _form_script() -> None:
    import streamlit as st

    from tests.app.test_schema_form import TYPED
    from ui.schema_form import FormError, fields, parse, render

    specs = fields(TYPED)
    raw = render(specs, {"name": "ana", "tags": ["x"]}, "f")
    try:
        st.session_state["parsed"] = parse(specs, raw)
    except FormError as exc:
        st.session_state["parsed"] = str(exc)


def test_render_draws_one_widget_per_field_labelled_with_its_name() -> None:
    at = AppTest.from_function(_form_script)
    at.run()
    assert not at.exception
    assert [w.label for w in at.text_input] == ["name"]
    assert [w.label for w in at.number_input] == ["count", "ratio"]
    assert [w.label for w in at.checkbox] == ["urgent"]
    assert [w.label for w in at.selectbox] == ["level"] and at.selectbox[0].options == ["low", "high"]
    assert [w.label for w in at.text_area] == ["tags"]
    assert at.text_input[0].value == "ana" and at.number_input[0].value == 2 and at.number_input[1].value is None
    assert at.session_state["parsed"] == {"name": "ana", "count": 2, "level": "low", "tags": ["x"]}

    at.number_input[1].set_value(0.25)
    at.checkbox[0].check()
    at.selectbox[0].select("high")
    at.text_area[0].input('["y", "z"]')
    at.text_input[0].input("bo")
    at.run()
    assert at.session_state["parsed"] == {
        "name": "bo",
        "count": 2,
        "ratio": 0.25,
        "urgent": True,
        "level": "high",
        "tags": ["y", "z"],
    }
    assert at.session_state["f.name"] == "bo"  # keyed {key_prefix}.{name}

    at.text_area[0].input("[")
    at.run()
    assert at.session_state["parsed"] == "tags: not JSON: Expecting value (line 1, column 2)"


# --- a tool's arguments: the same steps, for an edit form ------------------------------------------------------


def test_a_tools_arguments_make_a_form_whose_values_come_back_as_the_arguments() -> None:
    from graph.tools import TOOLS
    from tests.agents.langchain_per_call import send_email

    schema = send_email.get_input_jsonschema()
    specs = fields(schema)
    assert [(s.name, s.kind, s.required) for s in specs] == [("to", "text", True), ("subject", "text", True)]
    args = {"to": "ana@example.org", "subject": "Q3"}
    raw = {spec.name: initial(spec, args.get(spec.name)) for spec in specs}  # what render's widgets start with
    assert parse(specs, raw) == args and check(schema, args) is None
    assert check(schema, {"to": "ana@example.org"}) == "'subject' is a required property"

    # A tool whose arguments include injected ones (state, the call id): the model-facing schema leaves them out.
    circle = next(t for t in TOOLS if t.name == "create_circle")
    assert [s.name for s in fields(circle.get_input_jsonschema())] == ["shape_id", "color", "canvas", "tool_call_id"]
    assert [s.name for s in fields(circle.tool_call_schema.model_json_schema())] == ["shape_id", "color"]
