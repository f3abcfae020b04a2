"""`show` on any graph's thread, `--input` as any JSON value, and one line when a graph raises.

The graphs are tests/agents/functional.py's `@entrypoint`s (LangGraph's functional API): their values are a string,
a list, or nothing yet, never the demo's dict. The subprocess tests are what an operator sees; the rest call
`review.cli.main` in-process (same code, same exit codes).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Any

from langchain_core.messages import AIMessage, HumanMessage
from pydantic import BaseModel

from review.threads import MAX_DEPTH, json_ready
from tests.cli.test_cli import ROOT, Ran, cli

AGENTS = ROOT / "tests/agents/functional.py"


def graph(name: str) -> str:
    return f"{AGENTS}:{name}"


def _respond(rows: list[dict[str, Any]], answer: Any) -> str:
    return json.dumps(
        [
            {"thread_id": r["thread_id"], "row_id": r["row_id"], "decision": {"type": "respond", "message": answer}}
            for r in rows
        ]
    )


def _quiet(ran: Ran) -> Ran:
    """No traceback, nothing on stderr: the command's JSON is the whole story."""
    assert ran.err == "" and "Traceback" not in ran.out, ran.err
    return ran


# --- 4. any thread's view --------------------------------------------------------------------------


def test_an_entrypoint_taking_and_returning_a_string_is_started_answered_and_shown(tmp_path: Path) -> None:
    db = tmp_path / "review.sqlite"
    flags = ("--graph", graph("review_essay"))
    started = _quiet(cli(*flags, "start", "--input", '"cats"', db=db))
    assert started.code == 0, started.out
    thread_id = started.json["thread_id"]
    [row] = started.json["pending"]
    assert row["payload_kind"] == "question" and row["args"]["essay"] == "An essay about cats"

    paused = _quiet(cli(*flags, "show", thread_id, db=db))
    assert paused.code == 0
    view = paused.json
    assert view["values"] == {}  # the entrypoint has not returned yet
    assert view["next"] == ["review_essay"] and view["messages"] == [] and "canvas" not in view
    assert [p["row_id"] for p in view["pending"]] == [row["row_id"]]
    assert view["timeline"][0]["interrupts"] == 1

    listed = _quiet(cli(*flags, "pending", db=db))
    assert [r["row_id"] for r in listed.json] == [row["row_id"]]
    decided = _quiet(cli(*flags, "decide", "-", db=db, stdin=_respond(listed.json, "well argued")))
    assert decided.code == 0, decided.out
    assert [a["row_id"] for a in decided.json["applied"]] == [row["row_id"]]

    done = _quiet(cli(*flags, "show", thread_id, db=db))
    assert done.code == 0
    view = done.json
    assert view["values"] == "An essay about cats | review: well argued"  # the returned string, as JSON
    assert view["next"] == [] and view["pending"] == [] and view["graph_id"] == "functional"
    assert [t["next"] for t in view["timeline"]] == [[], ["review_essay"]]  # newest first


def test_parallel_tasks_that_interrupt_are_answered_and_their_list_shown(run_main: Any, tmp_path: Path) -> None:
    db = str(tmp_path / "review.sqlite")
    flags = ("--db", db, "--graph", graph("parallel_reviews"))
    started = run_main(*flags, "start", "--input", '"the plan"')
    assert started.code == 0 and started.err == "", started.out + started.err
    thread_id = started.json["thread_id"]
    asked = []
    for _ in range(4):  # LangGraph raises the tasks' questions one per resume here (see tests/agents/functional.py)
        rows = run_main(*flags, "pending").json
        if not rows:
            break
        asked += [r["description"] for r in rows]
        shown = run_main(*flags, "show", thread_id)
        assert shown.code == 0 and shown.json["values"] == {} and shown.json["next"] == ["parallel_reviews"]
        decided = run_main(*flags, "decide", "-", stdin=_respond(rows, "yes"))
        assert decided.code == 0, decided.out
    assert sorted(asked) == ["ana: what do you think of the plan?", "ben: what do you think of the plan?"]
    view = run_main(*flags, "show", thread_id).json
    assert view["values"] == ["ana: yes", "ben: yes"] and view["next"] == [] and view["pending"] == []


def test_input_takes_any_json_value_but_null(run_main: Any, tmp_path: Path) -> None:
    db = str(tmp_path / "review.sqlite")
    flags = ("--db", db, "--graph", graph("review_essay"))
    started = run_main(*flags, "start", "--input", '["a", 1]')
    assert started.code == 0, started.out
    assert started.json["pending"][0]["args"]["essay"] == "An essay about ['a', 1]"
    for bad, message in (("null", "--input null"), ("{oops", "--input is not valid JSON")):
        refused = run_main(*flags, "start", "--input", bad)
        assert refused.code == 2 and refused.json["error"].startswith(message)
        assert len(refused.out.splitlines()) == 1


def test_the_demo_thread_keeps_its_canvas_in_values_and_at_the_top(run_main: Any, tmp_path: Path) -> None:
    db = str(tmp_path / "review.sqlite")
    started = run_main("--db", db, "start", "Draw a red circle c1")
    thread_id = started.json["thread_id"]
    view = run_main("--db", db, "show", thread_id).json
    assert view["values"]["canvas"] == view["canvas"] == []
    assert [m["type"] for m in view["values"]["messages"]] == [m["type"] for m in view["messages"]] == ["human", "ai"]
    assert view["next"] == ["tools"] and len(view["pending"]) == 1


class Colour(Enum):
    RED = "red"


class Plan(BaseModel):
    steps: list[str]
    colour: Colour


@dataclass
class Step:
    name: str
    plan: Plan


def test_json_ready_turns_any_state_value_into_json() -> None:
    messages = [HumanMessage("hi"), AIMessage("", tool_calls=[{"name": "t", "args": {"a": 1}, "id": "c1"}])]
    value = {
        "plan": Plan(steps=["a", "b"], colour=Colour.RED),
        "step": Step("one", Plan(steps=[], colour=Colour.RED)),
        "messages": messages,
        "tags": ("x",),
        "bad": math.nan,
        1: object,
    }
    ready = json_ready(value)
    assert json.loads(json.dumps(ready)) == ready  # plain JSON, nothing lost on the way
    assert ready["plan"] == {"steps": ["a", "b"], "colour": "red"}
    assert ready["step"] == {"name": "one", "plan": {"steps": [], "colour": "red"}}
    assert ready["messages"] == [
        {"type": "human", "content": "hi"},
        {"type": "ai", "content": "", "tool_calls": [{"name": "t", "args": {"a": 1}, "id": "c1"}]},
    ]
    assert ready["tags"] == ["x"] and ready["bad"] == "nan" and ready["1"] == str(object)
    assert json_ready("text") == "text" and json_ready(None) is None and json_ready([Plan(steps=[], colour=Colour.RED)])

    deep: list[Any] = []
    for _ in range(MAX_DEPTH * 3):
        deep = [deep]
    assert json.dumps(json_ready(deep))  # cut at MAX_DEPTH, never a RecursionError


# --- 7. one line when a graph raises -------------------------------------------------------------------


def test_a_graph_raising_at_start_prints_one_json_line_and_a_traceback_only_with_verbose(tmp_path: Path) -> None:
    db = tmp_path / "review.sqlite"
    flags = ("--graph", graph("fragile"))
    failed = cli(*flags, "start", "--input", '"boom"', db=db)
    assert failed.code == 1 and failed.err == ""
    assert failed.out.splitlines() == [
        json.dumps({"error": "the run failed: ValueError: the graph was told to fail at the start"})
    ]

    told = cli("--verbose", *flags, "start", "--input", '"boom"', db=db)
    assert told.code == 1 and len(told.out.splitlines()) == 1 and told.json["error"].startswith("the run failed")
    assert "Traceback (most recent call last)" in told.err
    assert "ValueError: the graph was told to fail at the start" in told.err


def test_a_graph_raising_on_resume_prints_its_result_and_nothing_on_stderr(tmp_path: Path) -> None:
    db = tmp_path / "review.sqlite"
    flags = ("--graph", graph("fragile"))
    for verbose in (False, True):
        started = _quiet(cli(*flags, "start", "--input", '"hello"', db=db))
        rows = started.json["pending"]
        decided = cli(*(["--verbose"] if verbose else []), *flags, "decide", "-", db=db, stdin=_respond(rows, "boom"))
        assert decided.code == 1
        assert [e["error"] for e in decided.json["errors"]] == [
            "run failed: ValueError: the graph was told to fail on resume"
        ]
        if verbose:  # the runner records a resume's failure in the result without logging it: nothing to add
            assert "Traceback" not in decided.out
        else:
            assert decided.err == ""
