"""Typed state survives: a graph file's pydantic model saved by one process is an object again in the next.

The graph (tests/agents/plan_execute.py) keeps a pydantic `Plan` in its state and reads `plan.steps` after
a person approves; loaded as a FILE (`--graph path.py:graph`), so its types are saved under the module
name the console imports the file as. Refused types are named so a user can act on them.
"""

from __future__ import annotations

import json
import logging
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
from pydantic import BaseModel

from review import ReviewConsole, Settings
from review.graphs import LoadedGraph, attach, resolve_target
from review.inbox import rows_to_json
from review.serde import (
    GRAPH_MODULE_PREFIX,
    allow_graph_types,
    graph_module_name,
    parse_allowed_types,
    plain_value,
    refused_message,
    refused_types,
)
from review.storage import restricted_serde
from tests.cli.test_cli import ROOT, cli

GRAPH_FILE = ROOT / "tests/agents/plan_execute.py"
PLAN = "tests/agents/plan_execute.py:graph"  # as a user types it, relative to the project
PLAN_ABSOLUTE = f"{GRAPH_FILE}:graph"  # the same file spelt another way: the same module name


def _open(db: Path | str, target: str = PLAN_ABSOLUTE) -> ReviewConsole:
    return ReviewConsole.open(db, settings=Settings(db=str(db), graph=target))


def _loaded(target: str = PLAN_ABSOLUTE) -> LoadedGraph:
    return attach(resolve_target(target), None, target, "plan_execute")


@pytest.mark.slow
def test_a_pydantic_plan_started_in_one_process_is_executed_by_another(db_path: Path | str) -> None:
    prompt = json.dumps({"prompt": "back up the db, drop the old tables"})
    started = cli("--db", str(db_path), "--graph", PLAN, "start", "--input", prompt)  # a file or a postgresql URL
    assert started.code == 0, started.err
    (row,) = started.json["pending"]
    assert row["description"] == "Run these 2 steps: back up the db; drop the old tables? (yes/no)"

    answer = [
        {"thread_id": row["thread_id"], "row_id": row["row_id"], "decision": {"type": "respond", "message": "yes"}}
    ]
    done = cli("--db", str(db_path), "--graph", PLAN, "decide", "--reviewer", "ana", "-", stdin=json.dumps(answer))
    assert done.code == 0, done.out + done.err
    assert done.json["applied"] and not done.json["errors"], done.out
    assert "Blocked" not in done.err and GRAPH_MODULE_PREFIX not in started.err + done.err

    # What the second process saved: the plan is still a Plan (of the graph file's stable module), all steps ran.
    console = _open(db_path)
    try:
        values = console.graph.get_state({"configurable": {"thread_id": row["thread_id"]}}).values
    finally:
        console.close()
    assert type(values["plan"]).__name__ == "Plan"
    assert type(values["plan"]).__module__ == graph_module_name(GRAPH_FILE)
    assert values["plan"].steps == ["back up the db", "drop the old tables"]
    assert values["done"] == ["ran: back up the db", "ran: drop the old tables"]
    assert values["outcome"].value == "done"


def test_a_graph_file_has_the_same_module_name_in_every_process() -> None:
    show_module = (
        f"from review.graphs import resolve_target; print(resolve_target({PLAN!r}).builder.state_schema.__module__)"
    )
    names = {
        subprocess.run(
            [sys.executable, "-c", show_module], cwd=ROOT, capture_output=True, text=True, check=True, timeout=60
        ).stdout.strip()
        for _ in range(2)
    }
    assert names == {graph_module_name(GRAPH_FILE)}
    assert graph_module_name(GRAPH_FILE).startswith(f"{GRAPH_MODULE_PREFIX}plan_execute_")
    # another spelling of the same file, and another file of the same name elsewhere
    assert graph_module_name(ROOT / "tests/agents/../agents/plan_execute.py") == graph_module_name(GRAPH_FILE)
    assert graph_module_name(ROOT / "graph/plan_execute.py") != graph_module_name(GRAPH_FILE)


def test_the_graph_files_state_types_are_revived_and_nothing_else(caplog: pytest.LogCaptureFixture) -> None:
    loaded = _loaded()
    serde = allow_graph_types(restricted_serde(), [loaded])
    module = sys.modules[graph_module_name(GRAPH_FILE)]
    plan = module.Plan(steps=["a", "b"])
    back = serde.loads_typed(serde.dumps_typed({"plan": plan, "outcome": module.Outcome.DONE}))
    assert back == {"plan": plan, "outcome": module.Outcome.DONE} and type(back["plan"]) is module.Plan
    # a type neither the schemas nor the graph's module define stays plain data
    caplog.set_level(logging.WARNING)
    assert serde.loads_typed(serde.dumps_typed(Budget(limit=5))) == {"limit": 5}


class Budget(BaseModel):
    """A type no loaded graph declares."""

    limit: int


class Quota(BaseModel):
    """Another one, refused once in this test module (a refusal is reported once per process)."""

    per_day: int


def test_a_refused_type_is_named_by_its_real_class_and_how_to_allow_it(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING)
    serde = allow_graph_types(restricted_serde(), [_loaded()])
    assert serde.loads_typed(serde.dumps_typed(Quota(per_day=3))) == {"per_day": 3}
    said = [r.getMessage() for r in caplog.records]
    wanted = (
        f"checkpoint data of type {__name__}.Quota is read as plain data: the console does not revive it. "
        f"If the graph needs it as an object, allow it with REVIEW_ALLOWED_TYPES={__name__}:Quota, "
        f"or ({__name__!r}, 'Quota') in the agent spec's allowed_types."
    )
    assert wanted in said and wanted in refused_types()
    assert not [line for line in said if "Blocked deserialization" in line]  # LangGraph's own line is replaced

    # What the message says to write does allow it.
    allowing = allow_graph_types(restricted_serde(), [_loaded()], parse_allowed_types([f"{__name__}:Quota"]))
    assert allowing.loads_typed(allowing.dumps_typed(Quota(per_day=3))) == Quota(per_day=3)


def test_a_graph_files_type_is_named_by_its_file_never_its_internal_module() -> None:
    _loaded()
    loaded_here = refused_message(graph_module_name(GRAPH_FILE), "Plan")
    assert f"of type Plan (a class of the graph file {GRAPH_FILE})" in loaded_here
    assert f"REVIEW_ALLOWED_TYPES={GRAPH_FILE}:Plan" in loaded_here
    assert parse_allowed_types([f"{GRAPH_FILE}:Plan"]) == {(graph_module_name(GRAPH_FILE), "Plan")}
    # saved by a graph file this process has not loaded (another console, a moved file)
    elsewhere = refused_message(graph_module_name(Path("/elsewhere/plan_execute.py")), "Plan")
    assert "of type Plan, from a graph file plan_execute.py" in elsewhere
    assert "--graph path/to/plan_execute.py:ATTR" in elsewhere
    assert GRAPH_MODULE_PREFIX not in loaded_here + elsewhere
    with pytest.raises(ValueError, match="not a type"):
        parse_allowed_types(["Quota"])


def test_a_pydantic_interrupt_value_is_listed_by_its_fields(db_path: Path | str) -> None:
    console = _open(db_path, f"{GRAPH_FILE}:model_question")
    try:
        job = console.start_run("", run_input={"prompt": "lint, test"})
        (row,) = job.result(timeout=30).new_pending
        config = {"configurable": {"thread_id": job.thread_id}}
        # the value is revived as the model (the graph declares it) and still listed field by field
        assert type(console.graph.get_state(config).interrupts[0].value).__name__ == "Plan"
        assert row.args == {"steps": ["lint", "test"]} and row.allowed_decisions == ("respond",)
        assert console.pending() == [row] and rows_to_json([row]) is not None
        decided = console.submit(
            [{"thread_id": row.thread_id, "row_id": row.row_id, "decision": {"type": "respond", "message": "yes"}}],
            "ana",
        )
        assert decided.exit_code == 0, decided.to_dict()
        assert console.graph.get_state(config).values["done"] == ["ran: lint", "ran: test"]
    finally:
        console.close()


@dataclass
class _Step:
    name: str
    tags: list[str]


def test_plain_value_turns_models_and_dataclasses_into_their_fields() -> None:
    value = {"plan": [Budget(limit=1), _Step("build", ["ci"])], "note": ("x", Quota(per_day=2))}
    assert plain_value(value) == {
        "plan": [{"limit": 1}, {"name": "build", "tags": ["ci"]}],
        "note": ("x", {"per_day": 2}),
    }
    untouched = {"a": [1, "b", {"c": None}]}
    assert plain_value(untouched) is untouched  # plain data is not copied
    assert plain_value(Budget) is Budget and plain_value("text") == "text"
