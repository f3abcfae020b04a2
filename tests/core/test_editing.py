"""The "edited arguments" text: JSON or key=value pairs laid over the original arguments."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from review.editing import format_args, parse_edited_args

ORIGINAL = {"shape_id": "s1", "color": "blue"}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("color=yellow", {"shape_id": "s1", "color": "yellow"}),
        ("  color = yellow ,  shape_id=s2 ", {"shape_id": "s2", "color": "yellow"}),
        ("color=yellow,", {"shape_id": "s1", "color": "yellow"}),
        ('{"color": "#00ff00"}', {"shape_id": "s1", "color": "#00ff00"}),
        ('shape_id="a, b=c"', {"shape_id": "a, b=c", "color": "blue"}),
        ('shape_id="say \\"hi\\""', {"shape_id": 'say "hi"', "color": "blue"}),
        ("shape_id=1", {"shape_id": "1", "color": "blue"}),  # text stays text
        ("size=3", {"shape_id": "s1", "color": "blue", "size": "3"}),  # a new argument is text; the tool checks it
    ],
)
def test_given_keys_override_the_original(text: str, expected: dict[str, Any]) -> None:
    assert parse_edited_args(text, ORIGINAL) == expected


def test_unquoted_values_take_the_type_of_the_original_argument() -> None:
    original = {"n": 1, "x": 0.5, "on": False, "tags": ["a"], "name": "z"}
    assert parse_edited_args('n=3, x=2.5, on=true, tags=["b", "c"], name=42', original) == {
        "n": 3,
        "x": 2.5,
        "on": True,
        "tags": ["b", "c"],
        "name": "42",
    }


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "no edited arguments given"),
        ("   ", "no edited arguments given"),
        ("yellow", "'yellow' is not key=value"),
        ("=yellow", "no argument name before '='"),
        ("color=red,,shape_id=x", "empty item"),
        ("color=red, color=blue", "'color' is given twice"),
        ('shape_id="open', "double quote"),
        ("{not json", "not valid JSON"),
        ("[1, 2]", "must be an object"),
        ('"just text"', "is not key=value"),
    ],
)
def test_problems_are_explained(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=None) as caught:
        parse_edited_args(text, ORIGINAL)
    assert message in str(caught.value)


@pytest.mark.parametrize(
    ("text", "message"),
    [("n=x", "n: 'x' is not a whole number"), ("on=maybe", "on: 'maybe' is not true or false"), ("x=y", "x: 'y'")],
)
def test_typed_values_are_checked(text: str, message: str) -> None:
    with pytest.raises(ValueError) as caught:
        parse_edited_args(text, {"n": 1, "on": True, "x": 1.5})
    assert message in str(caught.value)


def test_format_args_is_readable() -> None:
    assert format_args({"shape_id": "c1", "color": "red"}) == "shape_id=c1, color=red"
    assert format_args({"n": 3, "t": "a, b", "e": ""}) == 'n=3, t="a, b", e=""'
    assert format_args({}) == ""


@given(
    st.dictionaries(
        st.text("abcdefghijklmnopqrstuvwxyz_", min_size=1, max_size=8),
        st.one_of(st.text(max_size=12), st.text('ab ,="[]{}\\', max_size=12), st.integers(), st.booleans()),
        min_size=1,
        max_size=4,
    )
)
def test_the_readable_arguments_parse_back_to_themselves(args: dict[str, Any]) -> None:
    assert parse_edited_args(format_args(args), args) == args
