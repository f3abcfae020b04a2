"""The demo graph on its own (no console): parallel interrupts, resume maps, and the scripted planner.

Parametrised over InMemorySaver and SqliteSaver. These are the ToolNode report's checks: every call
its own interrupt id, each decision lands on its own tool even when tools race to `interrupt()`, a
partial map keeps the rest pending under the same ids, and nothing runs twice (effect log + history).
"""

from __future__ import annotations

import json
import re
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from langchain_core.messages import AIMessage, HumanMessage, ToolMessage
from langgraph.types import Command

from graph import ScriptedShapesModel, build_graph
from graph.agent import start_input
from graph.model import plan_steps
from graph.tools import ShapeArgs
from tests.conftest import CLEAR, THEN_SEQUENCE, THREE_SHAPES
from tests.helpers import APPROVE, edit, reject

ROUNDS = 50


def _config(thread_id: str) -> dict[str, Any]:
    return {"configurable": {"thread_id": thread_id}}


def _interrupts_by_tool(graph: Any, config: dict[str, Any]) -> dict[str, str]:
    """tool name -> interrupt id of the thread's pending interrupts (one per tool in these prompts)."""
    interrupts = graph.get_state(config).interrupts
    by_tool = {item.value["name"]: item.id for item in interrupts}
    assert len(by_tool) == len(interrupts), "two interrupts of one tool: ambiguous in this test"
    return by_tool


def _tool_messages(graph: Any, config: dict[str, Any]) -> dict[str, ToolMessage]:
    """tool_call_id -> its ToolMessage."""
    return {m.tool_call_id: m for m in graph.get_state(config).values["messages"] if isinstance(m, ToolMessage)}


def _effects(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def _assert_history_not_forked(graph: Any, config: dict[str, Any]) -> None:
    """Two resumes of the same checkpoint leave two children of one parent: the history forks."""
    history = list(graph.get_state_history(config))
    parents = [s.parent_config["configurable"]["checkpoint_id"] for s in history if s.parent_config]
    assert len(parents) == len(set(parents)), f"forked history: {Counter(parents).most_common(2)}"
    assert sum(1 for s in history if s.parent_config is None) == 1, "more than one root checkpoint"


@pytest.fixture
def effect_log(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "effects.jsonl"
    monkeypatch.setenv("CANVAS_EFFECT_LOG", str(path))
    return path


# --- parallel interrupts and resume maps ---------------------------------------------------------


def test_three_parallel_calls_raise_three_interrupts_with_distinct_ids(checkpointer: Any) -> None:
    graph = build_graph(checkpointer)
    config = _config("t-three")
    graph.invoke(start_input(THREE_SHAPES), config)

    state = graph.get_state(config)
    assert len(state.interrupts) == 3
    assert len({item.id for item in state.interrupts}) == 3
    assert all(re.fullmatch(r"[0-9a-f]{32}", item.id) for item in state.interrupts)
    assert sorted(item.value["name"] for item in state.interrupts) == [
        "create_circle",
        "create_square",
        "create_triangle",
    ]
    # each interrupt is the langchain per-call request for ITS call of the one AI message
    ai = state.values["messages"][1]
    assert isinstance(ai, AIMessage) and len(ai.tool_calls) == 3
    calls = {call["id"]: call for call in ai.tool_calls}
    for item in state.interrupts:
        value = item.value
        assert value["type"] == "tool_approval"
        assert calls[value["tool_call_id"]]["name"] == value["name"]
        assert calls[value["tool_call_id"]]["args"] == value["args"]
    assert len({item.value["tool_call_id"] for item in state.interrupts}) == 3
    assert state.values["canvas"] == []  # nothing drawn before a decision
    assert state.next == ("tools", "tools", "tools")


def test_resume_map_routes_each_decision_to_its_own_tool_under_jitter(
    checkpointer: Any, effect_log: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CANVAS_TOOL_JITTER_MS", "5")  # tools race to interrupt(), as in the ToolNode report
    graph = build_graph(checkpointer)
    for round_no in range(ROUNDS):
        config = _config(f"t-route-{round_no}")
        graph.invoke(start_input(THREE_SHAPES), config)
        ids = _interrupts_by_tool(graph, config)
        calls = {item.value["name"]: item.value["tool_call_id"] for item in graph.get_state(config).interrupts}
        graph.invoke(
            Command(
                resume={
                    ids["create_circle"]: APPROVE,
                    ids["create_square"]: edit("create_square", shape_id=f"s-edited-{round_no}", color="yellow"),
                    ids["create_triangle"]: reject(f"no triangles in round {round_no}"),
                }
            ),
            config,
        )
        state = graph.get_state(config)
        assert state.interrupts == ()
        assert sorted(state.values["canvas"], key=lambda s: s["kind"]) == [
            {"shape_id": "c1", "kind": "circle", "color": "red"},
            {"shape_id": f"s-edited-{round_no}", "kind": "square", "color": "yellow"},
        ], f"round {round_no}"
        replies = _tool_messages(graph, config)
        assert replies[calls["create_circle"]].content == "Drew a red circle 'c1'."
        assert replies[calls["create_square"]].content == f"Drew a yellow square 's-edited-{round_no}'."
        assert replies[calls["create_triangle"]].content == (
            f"Rejected by the reviewer: no triangles in round {round_no}"
        )
        assert all(m.status == "success" for m in replies.values())
        _assert_history_not_forked(graph, config)

    effects = _effects(effect_log)
    assert len(effects) == 2 * ROUNDS  # circle + edited square per round; the triangle never drew
    assert len({e["tool_call_id"] for e in effects}) == 2 * ROUNDS  # no effect twice
    assert Counter(e["kind"] for e in effects) == {"circle": ROUNDS, "square": ROUNDS}


def test_partial_map_leaves_exactly_the_undecided_rows_pending_with_the_same_ids(
    checkpointer: Any, effect_log: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CANVAS_TOOL_JITTER_MS", "5")
    graph = build_graph(checkpointer)
    config = _config("t-partial")
    graph.invoke(start_input(THREE_SHAPES), config)
    ids = _interrupts_by_tool(graph, config)

    graph.invoke(Command(resume={ids["create_square"]: APPROVE}), config)
    assert _interrupts_by_tool(graph, config) == {k: v for k, v in ids.items() if k != "create_square"}
    assert graph.get_state(config).values["canvas"] == [{"shape_id": "s1", "kind": "square", "color": "blue"}]

    graph.invoke(Command(resume={ids["create_triangle"]: reject("later")}), config)
    assert _interrupts_by_tool(graph, config) == {"create_circle": ids["create_circle"]}

    graph.invoke(Command(resume={ids["create_circle"]: APPROVE}), config)
    state = graph.get_state(config)
    assert state.interrupts == ()
    assert sorted(s["shape_id"] for s in state.values["canvas"]) == ["c1", "s1"]
    # the finished square was not re-run by the later resumes
    assert Counter(e["kind"] for e in _effects(effect_log)) == {"square": 1, "circle": 1}
    assert len(_tool_messages(graph, config)) == 3
    _assert_history_not_forked(graph, config)


def test_resuming_the_same_map_twice_does_not_run_tools_again(checkpointer: Any, effect_log: Path) -> None:
    graph = build_graph(checkpointer)
    config = _config("t-twice")
    graph.invoke(start_input(THREE_SHAPES), config)
    resume = {item.id: APPROVE for item in graph.get_state(config).interrupts}
    graph.invoke(Command(resume=resume), config)
    before = graph.get_state(config)
    graph.invoke(Command(resume=resume), config)  # every id is stale now
    after = graph.get_state(config)
    assert len(_effects(effect_log)) == 3
    assert len(after.values["canvas"]) == 3
    assert len(_tool_messages(graph, config)) == 3
    assert after.values["messages"] == before.values["messages"]


# --- the scripted chat model ----------------------------------------------------------------


def test_plan_three_shapes_is_one_step_of_three_parallel_calls() -> None:
    assert plan_steps(THREE_SHAPES) == [
        [
            {"name": "create_circle", "args": {"shape_id": "c1", "color": "red"}},
            {"name": "create_square", "args": {"shape_id": "s1", "color": "blue"}},
            {"name": "create_triangle", "args": {"shape_id": "t1", "color": "green"}},
        ]
    ]


@pytest.mark.parametrize(
    ("prompt", "expected"),
    [
        ("Draw a red circle c1", [("create_circle", "c1", "red")]),
        ("draw an orange square box_1", [("create_square", "box_1", "orange")]),
        (
            "Create an orange circle o1, a yellow square y1, a purple triangle p1, a pink circle k1 "
            "and a gray square g1",
            [
                ("create_circle", "o1", "orange"),
                ("create_square", "y1", "yellow"),
                ("create_triangle", "p1", "purple"),
                ("create_circle", "k1", "pink"),
                ("create_square", "g1", "gray"),
            ],
        ),
        (
            "a Red Circle A-1 and a #00FF00 triangle hex",
            [("create_circle", "A-1", "red"), ("create_triangle", "hex", "#00ff00")],
        ),
        (
            "Make a black circle b1,a white square w1 and a brown triangle t9",
            [
                ("create_circle", "b1", "black"),
                ("create_square", "w1", "white"),
                ("create_triangle", "t9", "brown"),
            ],
        ),
    ],
)
def test_plan_any_number_of_shapes_with_a_an_commas_and(prompt: str, expected: list[tuple[str, str, str]]) -> None:
    steps = plan_steps(prompt)
    assert len(steps) == 1
    assert [(c["name"], c["args"]["shape_id"], c["args"]["color"]) for c in steps[0]] == expected


def test_plan_generates_valid_distinct_ids_when_absent() -> None:
    steps = plan_steps("Create a red circle, a blue square and a green triangle and a red circle")
    assert len(steps) == 1
    calls = steps[0]
    assert [c["name"] for c in calls] == ["create_circle", "create_square", "create_triangle", "create_circle"]
    ids = [c["args"]["shape_id"] for c in calls]
    assert len(set(ids)) == 4
    for call in calls:
        ShapeArgs.model_validate(call["args"])  # a generated id satisfies the tool's own schema
    assert ids[0].startswith("circle-") and ids[1].startswith("square-") and ids[2].startswith("triangle-")


def test_plan_then_makes_sequential_steps_and_clear_and_other_text() -> None:
    assert plan_steps(THEN_SEQUENCE) == [
        [{"name": "create_circle", "args": {"shape_id": "c1", "color": "red"}}],
        [{"name": "create_square", "args": {"shape_id": "s1", "color": "blue"}}],
    ]
    assert plan_steps(CLEAR) == [[{"name": "clear_canvas", "args": {}}]]
    assert plan_steps("What is the weather like?") == []
    assert plan_steps("") == []


def test_model_answers_other_text_without_tool_calls(checkpointer: Any) -> None:
    graph = build_graph(checkpointer)
    config = _config("t-chat")
    graph.invoke(start_input("Tell me a joke about databases"), config)
    state = graph.get_state(config)
    assert state.interrupts == () and state.next == ()
    messages = state.values["messages"]
    assert [type(m) for m in messages] == [HumanMessage, AIMessage]
    assert messages[-1].tool_calls == [] and messages[-1].content.strip()
    assert state.values["canvas"] == []


def test_model_then_sequence_plans_step_two_after_step_one_and_ends_with_a_summary(
    checkpointer: Any, effect_log: Path
) -> None:
    graph = build_graph(checkpointer)
    config = _config("t-then")
    graph.invoke(start_input(THEN_SEQUENCE), config)
    state = graph.get_state(config)
    ai_turns = [m for m in state.values["messages"] if isinstance(m, AIMessage)]
    assert len(ai_turns) == 1 and [c["name"] for c in ai_turns[0].tool_calls] == ["create_circle"]
    assert [item.value["name"] for item in state.interrupts] == ["create_circle"]

    graph.invoke(Command(resume={state.interrupts[0].id: APPROVE}), config)
    state = graph.get_state(config)
    ai_turns = [m for m in state.values["messages"] if isinstance(m, AIMessage)]
    # the square was planned in its own model turn, after the circle's result was in
    assert len(ai_turns) == 2 and [c["name"] for c in ai_turns[1].tool_calls] == ["create_square"]
    messages = state.values["messages"]
    assert messages.index(ai_turns[1]) > next(i for i, m in enumerate(messages) if isinstance(m, ToolMessage))
    assert [item.value["name"] for item in state.interrupts] == ["create_square"]

    graph.invoke(Command(resume={state.interrupts[0].id: APPROVE}), config)
    state = graph.get_state(config)
    assert state.interrupts == () and state.next == ()
    last = state.values["messages"][-1]
    assert isinstance(last, AIMessage) and not last.tool_calls
    assert last.content.startswith("Done.") and "'c1'" in last.content and "'s1'" in last.content
    assert [s["shape_id"] for s in state.values["canvas"]] == ["c1", "s1"]
    assert len(_effects(effect_log)) == 2


def test_model_summary_after_parallel_step_carries_every_result(checkpointer: Any) -> None:
    graph = build_graph(checkpointer)
    config = _config("t-summary")
    graph.invoke(start_input(THREE_SHAPES), config)
    ids = _interrupts_by_tool(graph, config)
    graph.invoke(
        Command(
            resume={
                ids["create_circle"]: APPROVE,
                ids["create_square"]: APPROVE,
                ids["create_triangle"]: reject("too pointy"),
            }
        ),
        config,
    )
    messages = graph.get_state(config).values["messages"]
    assert [type(m) for m in messages] == [HumanMessage, AIMessage, ToolMessage, ToolMessage, ToolMessage, AIMessage]
    summary = messages[-1].content
    assert summary.startswith("Done.")
    assert "red circle 'c1'" in summary and "blue square 's1'" in summary and "too pointy" in summary


def test_clear_canvas_asks_twice_and_the_second_question_counts_shapes(checkpointer: Any, effect_log: Path) -> None:
    graph = build_graph(checkpointer)
    config = _config("t-clear")
    graph.invoke(start_input("Draw a red circle c1 and a blue square s1, then clear the canvas"), config)
    graph.invoke(Command(resume={i.id: APPROVE for i in graph.get_state(config).interrupts}), config)
    first = graph.get_state(config).interrupts
    assert [(i.value["name"], i.value["args"]) for i in first] == [("clear_canvas", {})]

    graph.invoke(Command(resume={first[0].id: APPROVE}), config)
    second = graph.get_state(config).interrupts
    assert len(second) == 1 and second[0].id != first[0].id
    assert second[0].value["name"] == "clear_canvas"
    assert "remove 2 shapes" in second[0].value["description"]
    assert len(graph.get_state(config).values["canvas"]) == 2  # nothing cleared before the confirmation

    graph.invoke(Command(resume={second[0].id: APPROVE}), config)
    state = graph.get_state(config)
    assert state.values["canvas"] == [] and state.interrupts == ()
    assert [e["op"] for e in _effects(effect_log)] == ["add", "add", "clear"]
    _assert_history_not_forked(graph, config)


def test_custom_model_plugs_into_the_same_seam(checkpointer: Any) -> None:
    class OneCall(ScriptedShapesModel):
        def _generate(self, messages: Any, stop: Any = None, run_manager: Any = None, **kwargs: Any) -> Any:
            from langchain_core.outputs import ChatGeneration, ChatResult

            if any(isinstance(m, ToolMessage) for m in messages):
                return ChatResult(generations=[ChatGeneration(message=AIMessage(content="ok"))])
            call = {"name": "create_circle", "args": {"shape_id": "x", "color": "blue"}, "id": uuid.uuid4().hex}
            return ChatResult(generations=[ChatGeneration(message=AIMessage(content="", tool_calls=[call]))])

    graph = build_graph(checkpointer, model=OneCall())
    config = _config("t-model")
    graph.invoke(start_input("anything"), config)
    assert [i.value["args"] for i in graph.get_state(config).interrupts] == [{"shape_id": "x", "color": "blue"}]
