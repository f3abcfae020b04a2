"""Bad input is refused whole: a clear error per bad row, nothing claimed, nothing sent, rows still pending.

"Nothing sent" is checked where it would show: the review_decisions table stays empty, the pending
rows keep their ids, and every thread's latest checkpoint (and the checkpoint tables) are unchanged.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, event, given, settings
from hypothesis import strategies as st
from langgraph.types import Command

from graph import build_graph
from graph.tools import COLOUR_NAMES, TOOLS
from review import PendingInterrupt, ReviewConsole
from review.validation import InvalidDecision, validate_decision
from tests.conftest import BACKENDS, CLEAR, THREE_SHAPES
from tests.helpers import APPROVE, edit, outside_saver, reject

# --- a paused store shared by the property tests (they never change it) -----------------------


@dataclass
class Paused:
    console: ReviewConsole
    shapes: dict[str, PendingInterrupt]  # tool -> row of the three-shape thread
    clear: PendingInterrupt


def _open_paused(db: Path | str) -> Paused:
    console = ReviewConsole.open(db)
    shapes = console.start_run(THREE_SHAPES).result(timeout=30).new_pending
    (clear,) = console.start_run(CLEAR).result(timeout=30).new_pending
    return Paused(console, {row.tool: row for row in shapes}, clear)


@pytest.fixture(scope="module", params=BACKENDS)
def paused(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Paused]:
    if request.param == "sqlite":
        db: Path | str = tmp_path_factory.mktemp("bad-input") / "review.sqlite"
    else:
        db = request.getfixturevalue("pg_cluster").create_database(f"bad_input_{uuid.uuid4().hex[:12]}")
    opened = _open_paused(db)
    yield opened
    opened.console.close()


@pytest.fixture
def fresh(db_path: Path | str) -> Iterator[Paused]:
    opened = _open_paused(db_path)
    yield opened
    opened.console.close()


def _snapshot(console: ReviewConsole) -> dict[str, Any]:
    """Everything a sent or claimed decision would change."""
    heads = {}
    for thread_id in console.threads():
        state = console.graph.get_state({"configurable": {"thread_id": thread_id}})
        heads[thread_id] = (state.config["configurable"]["checkpoint_id"], tuple(i.id for i in state.interrupts))
    counts = {
        table: console.storage.query(f"SELECT COUNT(*) FROM {table}")[0][0]
        for table in ("review_decisions", "checkpoints", console.storage.writes_table, "review_leases")
    }
    return {"pending": [row.key for row in console.pending()], "heads": heads, "counts": counts}


def _edit_to(tool: str, args: dict[str, Any]) -> dict[str, Any]:
    return {"type": "edit", "edited_action": {"name": tool, "args": args}}  # args may hold any key, even "tool"


def _item(row: PendingInterrupt, decision: Any) -> dict[str, Any]:
    return {"thread_id": row.thread_id, "row_id": row.row_id, "decision": decision}


def _assert_refused(console: ReviewConsole, items: list[dict[str, Any]], bad: list[int], before: dict) -> list[str]:
    """Submit; the batch must be refused with one error per bad row and nothing changed. Returns the errors."""
    handle = console.submit_batch(items, reviewer="mallory")
    assert handle.jobs == []  # nothing was handed to the worker
    result = handle.result(timeout=10)
    assert result.exit_code == 2
    assert [(e.thread_id, e.row_id) for e in result.invalid] == [
        (items[i]["thread_id"], items[i].get("row_id", items[i].get("interrupt_id"))) for i in bad
    ]
    assert result.applied == [] and result.new_pending == [] and result.conflicts == []
    assert result.to_dict()["invalid"][0]["error"]
    assert _snapshot(console) == before
    assert console.storage.query("SELECT COUNT(*) FROM review_decisions")[0][0] == 0
    return [e.error for e in result.invalid]


# --- hypothesis strategies -------------------------------------------------------------------

_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
    max_leaves=5,
)
_shape_ids = st.one_of(
    st.from_regex(r"[A-Za-z0-9_-]{1,32}", fullmatch=True),
    st.from_regex(r"[A-Za-z0-9_-]{30,40}", fullmatch=True),  # around the length limit
    st.text(max_size=40),
    st.sampled_from(["", " c1", "c1 ", "c 1", "c1\n", "ç1", "c1;drop", "<script>", "x" * 33]),
    _json,
)
_colours = st.one_of(
    st.sampled_from(sorted(COLOUR_NAMES)),
    st.sampled_from([" Red ", "GREY", "#00ff00", "#ABCDEF", "#abcdeg", "#fff", "##00ff00", "#00ff001", "reddish", ""]),
    st.from_regex(r"#[0-9a-fA-F]{5,7}", fullmatch=True),
    st.text(max_size=12),
    _json,
)
_extra = st.dictionaries(
    st.text(min_size=1, max_size=10).filter(lambda k: k not in ("shape_id", "color")), _json, max_size=2
)
_near_valid_args = st.fixed_dictionaries(
    {
        "shape_id": st.one_of(st.from_regex(r"[A-Za-z0-9_-]{1,33}", fullmatch=True), _shape_ids),
        "color": st.one_of(
            st.sampled_from(sorted(COLOUR_NAMES)), st.from_regex(r"#[0-9a-fA-F]{5,7}", fullmatch=True), _colours
        ),
    }
)
_args = st.one_of(
    _near_valid_args,
    st.builds(
        lambda base, extra: {**extra, **base},
        st.fixed_dictionaries({}, optional={"shape_id": _shape_ids, "color": _colours}),
        _extra,
    ),
)


def _args_are_valid(args: dict[str, Any]) -> bool:
    """An independent statement of the create_* argument schema."""
    if set(args) != {"shape_id", "color"}:
        return False
    shape_id, colour = args["shape_id"], args["color"]
    if not (isinstance(shape_id, str) and re.fullmatch(r"[A-Za-z0-9_-]{1,32}", shape_id)):
        return False
    if not isinstance(colour, str):
        return False
    colour = colour.strip().lower()
    return colour in COLOUR_NAMES or re.fullmatch(r"#[0-9a-f]{6}", colour) is not None


def _problems(args: dict[str, Any]) -> list[str]:
    """Words an error about these args may name: a bad field, or an unknown argument."""
    found = []
    if not _args_are_valid({"shape_id": args.get("shape_id"), "color": "red"}):
        found.append("shape_id")
    if not _args_are_valid({"shape_id": "ok", "color": args.get("color")}):
        found.append("color")
    if set(args) - {"shape_id", "color"}:
        found.append("unknown argument")
    return found


# --- properties ------------------------------------------------------------------------------


@settings(max_examples=400, deadline=None, database=None)
@given(args=_args)
def test_schema_check_accepts_exactly_the_valid_args(args: dict[str, Any]) -> None:
    row = PendingInterrupt(
        "t",
        "i" * 32,
        "i" * 32,
        "call",
        "create_square",
        {"shape_id": "s1", "color": "blue"},
        "",
        ("approve", "edit", "reject"),
        None,
    )
    tools = {tool.name: tool for tool in TOOLS}
    decision = _edit_to("create_square", args)
    event("valid args" if _args_are_valid(args) else "invalid args")
    if _args_are_valid(args):
        checked = validate_decision(row, decision, tools)
        assert checked.args_after == {"shape_id": args["shape_id"], "color": args["color"].strip().lower()}
    else:
        with pytest.raises(InvalidDecision, match=r"^invalid arguments: ") as raised:
            validate_decision(row, decision, tools)
        assert any(word in str(raised.value) for word in _problems(args)), (args, str(raised.value))


@settings(max_examples=300, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(args=_args, tool=st.sampled_from(["create_circle", "create_square", "create_triangle"]), mixed=st.booleans())
def test_invalid_edited_args_refuse_the_whole_batch(
    paused: Paused, args: dict[str, Any], tool: str, mixed: bool
) -> None:
    assume(not _args_are_valid(args))
    console = paused.console
    before = _snapshot(console)
    row = paused.shapes[tool]
    items = [_item(row, _edit_to(tool, args))]
    if mixed:  # a valid row of the same thread in the same batch must not be sent either
        other = next(r for name, r in paused.shapes.items() if name != tool)
        items.insert(0, _item(other, APPROVE))
    (error,) = _assert_refused(console, items, [len(items) - 1], before)
    assert error.startswith("invalid arguments: ")
    assert any(word in error for word in _problems(args)), (args, error)


_not_a_decision = st.one_of(
    _json.filter(lambda v: not isinstance(v, dict)),
    st.dictionaries(st.text(max_size=8).filter(lambda k: k != "type"), _json, max_size=3),
    st.builds(lambda t, rest: {**rest, "type": t}, _json.filter(lambda v: not isinstance(v, str)), st.just({})),
    st.builds(
        lambda t: {"type": t, "message": "x"},
        st.text(max_size=12).filter(lambda t: t not in ("approve", "edit", "reject")),
    ),
)


@settings(max_examples=200, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(decision=_not_a_decision, target=st.sampled_from(["create_circle", "clear_canvas"]))
def test_decisions_of_unknown_shape_or_type_are_refused(paused: Paused, decision: Any, target: str) -> None:
    console = paused.console
    before = _snapshot(console)
    row = paused.clear if target == "clear_canvas" else paused.shapes[target]
    (error,) = _assert_refused(console, [_item(row, decision)], [0], before)
    assert ('a decision must be an object with a "type"' in error) or ("is not allowed here; allowed: " in error)


# --- explicit cases --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("target", "decision", "expected"),
    [
        ("clear_canvas", edit("clear_canvas"), "'edit' is not allowed here; allowed: approve, reject"),
        ("create_circle", {"type": "respond", "message": "use a square"}, "'respond' is not allowed here"),
        ("create_circle", {"type": "accept"}, "'accept' is not allowed here"),
        ("create_circle", {}, 'a decision must be an object with a "type"'),
        ("create_circle", {"message": "no type"}, 'a decision must be an object with a "type"'),
        ("create_circle", "approve", 'a decision must be an object with a "type"'),
        ("create_circle", None, 'a decision must be an object with a "type"'),
        ("create_circle", {"type": "approve", "args": {"color": "red"}}, "unexpected field(s) in a approve decision"),
        ("create_circle", {"type": "reject", "message": 42}, "a rejection message must be text"),
        ("create_circle", reject("x" * 2001), "at most 2000 characters"),
        ("create_circle", {"type": "edit"}, "an edit needs edited arguments"),
        ("create_circle", {"type": "edit", "edited_action": {"name": "create_circle"}}, "an edit needs"),
        ("create_circle", {"type": "edit", "edited_action": {"name": "create_circle", "args": "x"}}, "an edit needs"),
        (
            "create_circle",
            edit("create_square", shape_id="c1", color="red"),
            "an edit must keep the tool 'create_circle', not 'create_square'",
        ),
        (
            "create_circle",
            edit("clear_canvas", shape_id="c1", color="red"),
            "an edit must keep the tool 'create_circle', not 'clear_canvas'",
        ),
        ("create_circle", edit("create_circle", shape_id="c1", color="not-a-colour"), "color: Value error"),
        ("create_circle", edit("create_circle", shape_id="c1"), "color: Field required"),
        ("create_circle", edit("create_circle", shape_id="c1", color="red", size=3), "unknown argument(s) size"),
        ("create_circle", edit("create_circle", shape_id="c1", color="red", tool_call_id="x"), "unknown argument"),
    ],
)
def test_wrong_decisions_get_a_clear_error(paused: Paused, target: str, decision: Any, expected: str) -> None:
    row = paused.clear if target == "clear_canvas" else paused.shapes[target]
    before = _snapshot(paused.console)
    (error,) = _assert_refused(paused.console, [_item(row, decision)], [0], before)
    assert expected in error, error


def test_unknown_ids_are_invalid_not_conflicts(paused: Paused) -> None:
    row = paused.shapes["create_circle"]
    items = [
        {"thread_id": row.thread_id, "interrupt_id": uuid.uuid4().hex, "decision": APPROVE},
        {"thread_id": "no-such-thread", "interrupt_id": row.interrupt_id, "decision": APPROVE},
        _item(paused.shapes["create_square"], APPROVE),  # valid, but the batch is refused whole
    ]
    errors = _assert_refused(paused.console, items, [0, 1], _snapshot(paused.console))
    assert all("not pending: unknown interrupt id, or already answered (stale)" in e for e in errors)


def test_the_same_row_twice_in_one_batch_is_invalid(paused: Paused) -> None:
    row = paused.shapes["create_triangle"]
    items = [_item(row, APPROVE), _item(row, reject("changed my mind"))]
    (error,) = _assert_refused(paused.console, items, [1], _snapshot(paused.console))
    assert "appears twice" in error


def test_stale_id_answered_by_an_outside_client(fresh: Paused) -> None:
    console = fresh.console
    circle, square = fresh.shapes["create_circle"], fresh.shapes["create_square"]
    with outside_saver(console.settings.db) as saver:  # a plain LangGraph client answers behind the console's back
        build_graph(saver).invoke(
            Command(resume={circle.interrupt_id: APPROVE}), {"configurable": {"thread_id": circle.thread_id}}
        )
    before = _snapshot(console)
    assert circle.key not in before["pending"] and square.key in before["pending"]

    items = [_item(circle, reject("too late")), _item(square, APPROVE)]
    (error,) = _assert_refused(console, items, [0], before)
    assert "stale" in error
    assert [row.key for row in console.pending(circle.thread_id)] == [square.key, fresh.shapes["create_triangle"].key]


@pytest.mark.parametrize("reviewer", ["", "   ", None])
def test_a_reviewer_name_is_required(paused: Paused, reviewer: Any) -> None:
    before = _snapshot(paused.console)
    with pytest.raises(ValueError, match="reviewer name is required"):
        paused.console.submit([_item(paused.shapes["create_circle"], APPROVE)], reviewer=reviewer)
    assert _snapshot(paused.console) == before


@pytest.mark.parametrize(
    ("item", "expected"),
    [
        ({"thread_id": "t", "interrupt_id": "i"}, "missing decision"),
        ({"decision": APPROVE}, "missing thread_id, row_id"),
        ({"thread_id": 1, "interrupt_id": "i", "decision": APPROVE}, "must be strings"),
        (["t", "i", APPROVE], "must be an object"),
    ],
)
def test_malformed_items_raise_value_error_before_anything(paused: Paused, item: Any, expected: str) -> None:
    before = _snapshot(paused.console)
    with pytest.raises(ValueError, match=expected):
        paused.console.submit([_item(paused.shapes["create_circle"], APPROVE), item], reviewer="mallory")
    assert _snapshot(paused.console) == before


def test_the_shared_store_is_still_untouched(paused: Paused) -> None:
    """After every refused batch above: all four rows pending with their first ids, nothing recorded."""
    keys = [row.key for row in paused.console.pending()]
    assert sorted(keys) == sorted([r.key for r in paused.shapes.values()] + [paused.clear.key])
    assert paused.console.audit() == []


# --- edits of tools the console does not load: the interrupt's JSON Schema of the arguments ---------------

BOOKING_SCHEMA = {
    "type": "object",
    "properties": {"city": {"type": "string", "minLength": 2}, "nights": {"type": "integer", "minimum": 1}},
    "required": ["city", "nights"],
}


def _hitl_row(schema: Any) -> PendingInterrupt:
    from review.contract import rows_from_interrupt

    value = {
        "action_requests": [{"name": "book_hotel", "args": {"city": "Oslo", "nights": 2}, "description": "Book"}],
        "review_configs": [
            {"action_name": "book_hotel", "allowed_decisions": ["approve", "edit", "reject"], "args_schema": schema}
        ],
    }
    [row] = rows_from_interrupt("t1", "i1", value, None, None, [{"name": "book_hotel", "id": "call-1", "args": {}}])
    return row


@pytest.mark.parametrize(
    ("args", "reason"),
    [
        ({"city": "Oslo", "nights": 0}, "nights: 0 is less than the minimum of 1"),
        ({"city": "Oslo", "nights": "two"}, "nights: 'two' is not of type 'integer'"),
        ({"city": "Oslo"}, "nights is a required property"),
        ({"city": "Oslo", "nights": 2, "breakfast": True}, "unknown argument(s) breakfast"),
    ],
)
def test_an_edit_of_an_unloaded_tool_is_checked_by_the_schema_its_interrupt_carries(
    args: dict[str, Any], reason: str
) -> None:
    row = _hitl_row(BOOKING_SCHEMA)
    assert row.args_schema == BOOKING_SCHEMA
    decision = {"type": "edit", "edited_action": {"name": "book_hotel", "args": args}}
    with pytest.raises(InvalidDecision, match=re.escape(reason)):
        validate_decision(row, decision, {})


def test_a_valid_edit_passes_and_a_missing_or_unreadable_schema_leaves_the_check_to_the_tool() -> None:
    ok = {"type": "edit", "edited_action": {"name": "book_hotel", "args": {"city": "Bergen", "nights": 3}}}
    assert validate_decision(_hitl_row(BOOKING_SCHEMA), ok, {}).args_after == {"city": "Bergen", "nights": 3}
    odd = {"type": "edit", "edited_action": {"name": "book_hotel", "args": {"anything": 1}}}
    for schema in (None, "not a schema", {"type": "object", "properties": {"x": {"type": 5}}}):
        assert validate_decision(_hitl_row(schema), odd, {}).args_after == {"anything": 1}
