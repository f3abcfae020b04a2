"""Bounded input (issue 18, M5): edited arguments and answers are capped in size and depth BEFORE anything parses
them, with one limit (review/contract.py) for the Inbox, the core and the CLI; a refusal is one line."""

from __future__ import annotations

import io
import json
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from review.answers import InvalidAnswer, check_answer
from review.cli import main
from review.contract import MAX_DEPTH, MAX_INPUT_CHARS, MAX_TYPED_DEPTH, check_depth, check_text
from review.editing import parse_edited_args
from ui import inbox

DEEP = "[" * 5_000  # what the attack typed into "Edited arguments"


def _one_line(error: BaseException, *words: str) -> None:
    text = str(error)
    assert "\n" not in text and len(text) < 200, text
    assert all(word in text for word in words), text


@pytest.mark.parametrize(
    "typed",
    [
        DEEP,
        DEEP + "]" * 5_000,
        '{"points": ' + DEEP,
        "points=" + DEEP,  # key=value: the value of a list argument is JSON
        'label="ok", points=' + "[" * 40 + "1" + "]" * 40,
    ],
    ids=["open", "closed", "in-an-object", "key=value", "40-deep"],
)
def test_deeply_nested_edited_arguments_are_refused_in_one_line(typed: str) -> None:
    with pytest.raises(ValueError) as raised:
        parse_edited_args(typed, {"label": "x", "points": [1, 2]})
    _one_line(raised.value, "the edited arguments", f"nested more than {MAX_TYPED_DEPTH} levels")


def test_huge_edited_arguments_are_refused_before_they_are_parsed() -> None:
    huge = '{"label": "' + "x" * (MAX_INPUT_CHARS + 1) + '"}'
    started = time.monotonic()
    with pytest.raises(ValueError) as raised:
        parse_edited_args(huge, {"label": "x"})
    assert time.monotonic() - started < 1
    _one_line(raised.value, "the edited arguments", f"longer than {MAX_INPUT_CHARS:,} characters")


def test_what_passes_the_typed_limit_always_makes_a_decision_within_the_depth_limit() -> None:
    deepest = "[" * (MAX_TYPED_DEPTH - 1) + "1" + "]" * (MAX_TYPED_DEPTH - 1)
    for typed in ('{"points": ' + deepest + "}", "points=" + deepest):
        args = parse_edited_args(typed, {"points": [1]})
        check_depth({"type": "edit", "edited_action": {"name": "t", "args": args}}, limit=MAX_DEPTH)
    # brackets inside strings are text, not nesting
    assert parse_edited_args('{"label": "' + DEEP + '"}', {"label": ""}) == {"label": DEEP}
    assert check_text('"\\"' + DEEP + '"', "x")


def test_deep_and_huge_answers_are_refused_in_one_line() -> None:
    with pytest.raises(InvalidAnswer) as raised:
        check_answer({"type": "respond", "message": "[" * 1_500}, {"type": "array"})
    _one_line(raised.value, "the answer", "nested more than")
    # The Inbox's "send the answer as a JSON value"
    with pytest.raises(ValueError) as deep:
        inbox.decision_of({"decision": "respond", "message": DEEP, "json": True})
    _one_line(deep.value, "the answer", "nested more than")
    with pytest.raises(ValueError) as huge:
        inbox.decision_of({"decision": "respond", "message": "[" + "1," * MAX_INPUT_CHARS + "1]", "json": True})
    _one_line(huge.value, "the answer", "longer than")


def test_an_answer_value_larger_than_the_limit_is_refused_in_one_line() -> None:
    with pytest.raises(InvalidAnswer) as raised:
        check_answer({"type": "respond", "value": {"notes": "x" * MAX_INPUT_CHARS}}, None)
    _one_line(raised.value, "the answer", f"longer than {MAX_INPUT_CHARS:,} characters")
    with pytest.raises(InvalidAnswer) as deep:
        check_answer({"type": "respond", "value": json.loads("[" * 100 + "]" * 100)}, None)
    _one_line(deep.value, "the answer", f"nested more than {MAX_DEPTH} levels")
    assert check_answer({"type": "respond", "value": {"notes": "x" * 1_000}}, None).kind == "object"


def _cli(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, *argv: str, stdin: str = "") -> Any:
    monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
    capsys.readouterr()
    code = main(list(argv))
    out = capsys.readouterr().out
    return code, out


def test_the_cli_refuses_huge_and_deep_answers_in_one_line_and_records_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    db = tmp_path / "review.sqlite"
    graph = ("--db", str(db), "--graph", "tests/agents/docs_questions.py:age")  # asks with no schema: any value
    code, out = _cli(capsys, monkeypatch, *graph, "start", "--input", "{}")
    assert code == 0, out
    (row,) = json.loads(out)["pending"]
    item = {"thread_id": row["thread_id"], "row_id": row["row_id"]}
    deep = '[{"thread_id": "t", "row_id": "i", "decision": {"type": "respond", "value": ' + DEEP + "]" * 5_000 + "}}]"
    nested = json.loads("[" * 40 + "]" * 40)
    for text, words in (
        (json.dumps([{**item, "decision": {"type": "respond", "value": ["x" * MAX_INPUT_CHARS]}}]), ("longer than",)),
        (deep, ("cannot read the batch", "nested too deeply")),
        (json.dumps([{**item, "decision": {"type": "respond", "value": nested}}]), ("nested more than",)),
    ):
        code, out = _cli(capsys, monkeypatch, *graph, "decide", "--reviewer", "erin", "-", stdin=text)
        result = json.loads(out)
        (error,) = [result["error"]] if "error" in result else [i["error"] for i in result["invalid"]]
        assert code == 2 and "\n" not in error and len(error) < 300, error[:300]
        assert all(w in error for w in words), error
    code, out = _cli(capsys, monkeypatch, *graph, "audit")
    assert code == 0 and json.loads(out) == []


def test_a_draft_too_deep_or_too_long_says_so_on_its_row_without_parsing() -> None:
    entry = {"thread_id": "t", "row_id": "i", "decision": "edit", "edited": DEEP, "message": ""}
    problem = inbox.draft_problem(entry)
    assert problem is not None and "nested more than" in problem
    assert inbox.draft_problem({**entry, "edited": "color=yellow"}) is None
    assert inbox.draft_problem({**entry, "edited": "", "message": "[" * 40}) is None  # a message is text
    assert inbox.bounded("x" * (10 * MAX_INPUT_CHARS)) == "x" * (MAX_INPUT_CHARS + 1)
    merged = inbox.merge_stored({}, {"t:i": {**entry, "edited": "y" * (10 * MAX_INPUT_CHARS)}})
    assert len(merged["t:i"]["edited"]) == MAX_INPUT_CHARS + 1
    assert "longer than" in (inbox.draft_problem(merged["t:i"]) or "")


def test_a_huge_edit_sent_in_a_batch_is_refused_in_one_line_and_recorded_nowhere(tmp_path: Path) -> None:
    """The CLI and API take edits as parsed JSON: the same size bound applies, after the tool's own schema."""
    from review import ReviewConsole, Settings
    from tests.helpers import store_query

    db = tmp_path / "review.sqlite"
    console = ReviewConsole.open(settings=Settings(db=str(db), graph="tests/agents/langchain_per_call.py:graph"))
    try:
        console.start_run("tidy up").result(timeout=60)
        (row,) = [r for r in console.pending() if r.tool == "send_email"]
        edit = {
            "type": "edit",
            "edited_action": {"name": "send_email", "args": {"to": "a@x.org", "subject": "x" * 300_000}},
        }
        result = console.submit([{"thread_id": row.thread_id, "row_id": row.row_id, "decision": edit}], "ana")
        assert result.exit_code == 2
        _one_line(ValueError(result.invalid[0].error), "the edited arguments", "longer than")
        assert store_query(db, "SELECT COUNT(*) FROM review_decisions")[0][0] == 0
    finally:
        console.close()
