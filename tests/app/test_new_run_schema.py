"""New run on a team's own graphs (issue 20 item 5): the input follows the graph's input schema (a prompt for a chat
graph, a form otherwise, JSON when the schema makes no form), a bad value starts nothing and says why in one line,
and nothing of the demo (its examples, shapes, colours, canvas) shows unless the demo is the graph being started."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from streamlit.testing.v1 import AppTest

from review import ReviewConsole, Settings
from tests.app.conftest import APP, alerts, run, shown_text
from tests.cli.test_cli import ROOT
from ui.console import close_consoles

SUPPORT = str(ROOT / "tests/agents/langchain_per_call.py") + ":graph"  # create_agent, messages in, two tool calls
REFUND = str(ROOT / "tests/agents/docs_questions.py") + ":refund"  # order, approved, note; asks one question
PLAN = str(ROOT / "tests/agents/plan_execute.py") + ":graph"  # prompt, plan (nullable object), done (list), outcome
ESSAY = str(ROOT / "tests/agents/functional.py") + ":review_essay"  # an @entrypoint taking a string
TALLY = str(ROOT / "tests/app/list_agent.py") + ":tally"  # an @entrypoint taking a list: no form, JSON
DEMO_WORDS = ("demo", "shape", "canvas", "circle", "square", "triangle", "color", "colour", "red ", "e.g.")


def use_graph(monkeypatch: pytest.MonkeyPatch, target: str) -> None:
    monkeypatch.setenv("REVIEW_GRAPH", target)
    close_consoles()


def new_run(query: dict[str, str] | None = None) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=30)
    for key, value in (query or {}).items():
        at.query_params[key] = value
    run(at)
    at.switch_page("pages/new_run.py")
    return run(at)


def main_words(at: AppTest) -> str:
    """Everything the main area says: titles, captions, alerts, labels, help texts and placeholders."""
    words: list[str] = []
    for node in _walk(at.main):
        proto = getattr(node, "proto", None)
        for attr in ("body", "label", "help", "placeholder"):
            value = getattr(proto, attr, None) if proto is not None else None
            if isinstance(value, str):
                words.append(shown_text(value))
        value = getattr(node, "value", None)
        if isinstance(value, str) and getattr(node, "type", "") in ("title", "caption", "markdown", "subheader"):
            words.append(shown_text(value))
    return "\n".join(words)


def _walk(node: Any) -> Any:
    yield node
    for child in getattr(node, "children", {}).values():
        yield from _walk(child)


def start(at: AppTest) -> AppTest:
    next(b for b in at.main.button if b.label == "Start run").click()
    return run(at)


def opened(app_db: Path) -> ReviewConsole:
    return ReviewConsole.open(settings=Settings.from_env(db=str(app_db)))


def assert_no_demo_wording(at: AppTest) -> None:
    said = main_words(at).lower()
    assert not [word for word in DEMO_WORDS if word in said], said


def test_a_chat_graph_gets_a_prompt_and_nothing_of_the_demo(app_db: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    use_graph(monkeypatch, SUPPORT)
    at = new_run()
    assert [b.label for b in at.main.button] == ["Start run"]  # no example buttons
    [prompt] = at.main.text_area
    assert prompt.label == "Prompt" and prompt.placeholder == ""
    assert prompt.help == "Sent as the run's first human message"
    assert "Start langchain_per_call in a new thread" in main_words(at)  # the graph's id (its file's name)
    assert_no_demo_wording(at)
    prompt.input("tidy up")
    start(at)
    assert at.status[0].label == "Paused: 2 interrupt(s) waiting for review"
    assert_no_demo_wording(at)


def test_the_demo_keeps_its_examples_and_placeholder(app_db: Path) -> None:
    at = new_run()
    assert [b.label for b in at.main.button] == [
        "Three parallel shapes",
        "A 'then' sequence",
        "Clear the canvas",
        "Start run",
    ]
    assert at.main.text_area[0].placeholder.startswith("e.g. Create a red circle c1")


def test_a_graph_without_messages_gets_a_form_from_its_schema(app_db: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    use_graph(monkeypatch, REFUND)
    at = new_run()
    assert [w.label for w in at.main.text_input] == ["order", "note"]
    assert [w.label for w in at.main.checkbox] == ["approved"]
    assert len(at.main.text_area) == 0  # no prompt
    assert_no_demo_wording(at)
    at.main.text_input[0].input("A-17")
    at.main.checkbox[0].check()
    run(at)
    start(at)
    assert alerts(at, "warning") == []
    assert at.status[0].label == "Paused: 1 interrupt(s) waiting for review"
    console = opened(app_db)
    try:
        [thread_id] = console.threads()
        assert console.thread(thread_id).values == {"order": "A-17", "approved": True}  # note left out: empty
        assert [row.description for row in console.pending(thread_id)] == ["Refund order A-17?"]
    finally:
        console.close()


def test_bad_json_or_a_value_the_schema_refuses_starts_nothing(app_db: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    use_graph(monkeypatch, PLAN)
    at = new_run()
    assert [w.label for w in at.main.text_input] == ["prompt", "approval"]
    assert [w.label for w in at.main.text_area] == ["plan", "done"]  # an object, a list: JSON
    assert [w.label for w in at.main.selectbox] == ["outcome"] and at.main.selectbox[0].options == [
        "—",
        "done",
        "stopped",
    ]
    at.main.text_input[0].input("scan, report")
    at.main.text_area[1].input("[1,")
    run(at)
    start(at)
    assert alerts(at, "warning") == ["Nothing started: done: not JSON: Expecting value (line 1, column 4)"]
    at.main.text_area[1].input("[1]")
    run(at)
    start(at)
    assert alerts(at, "warning") == [
        "Nothing started: the graph's input schema refuses it: done.0: 1 is not of type 'string'"
    ]
    at.main.text_area[0].input('{"steps": "scan"}')
    at.main.text_area[1].input("")
    run(at)
    start(at)
    assert alerts(at, "warning") == [
        "Nothing started: the graph's input schema refuses it: plan.steps: 'scan' is not of type 'array'"
    ]
    assert len(at.status) == 0
    console = opened(app_db)
    try:
        assert console.threads() == []
    finally:
        console.close()

    at.main.text_area[0].input("")
    run(at)
    start(at)
    assert alerts(at, "warning") == []
    assert at.status[0].label == "Paused: 1 interrupt(s) waiting for review"


def test_a_single_value_input_is_one_field_named_input(app_db: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    use_graph(monkeypatch, ESSAY)
    at = new_run()
    [field] = at.main.text_input
    assert field.label == "input" and len(at.main.text_area) == 0
    field.input("cats")
    run(at)
    start(at)
    assert at.status[0].label == "Paused: 1 interrupt(s) waiting for review"
    console = opened(app_db)
    try:
        [row] = console.pending()
        assert row.description == "Please provide a review"
    finally:
        console.close()


def test_an_input_that_makes_no_form_is_written_as_json(app_db: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    use_graph(monkeypatch, TALLY)
    at = new_run()
    [box] = at.main.text_area
    assert box.label == "Input (JSON)"
    start(at)
    assert alerts(at, "warning") == ["Nothing started: the input is empty: write it as JSON"]
    at.main.text_area[0].input('{"items": ["x"]}')
    run(at)
    start(at)
    assert alerts(at, "warning") == [
        "Nothing started: the graph's input schema refuses it: {'items': ['x']} is not of type 'array'"
    ]
    at.main.text_area[0].input('["x", "y"]')
    run(at)
    start(at)
    assert alerts(at, "warning") == []
    assert at.status[0].label == "Paused: 1 interrupt(s) waiting for review"
    console = opened(app_db)
    try:
        assert [row.description for row in console.pending()] == ["Count 2 item(s): x, y?"]
    finally:
        console.close()


def test_with_several_graphs_the_examples_follow_the_graph_chosen(
    app_db: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "langgraph.json"
    graphs = {"canvas-shapes": str(ROOT / "graph/agent.py") + ":make_graph", "support": SUPPORT, "refund": REFUND}
    config.write_text(json.dumps({"graphs": graphs}), encoding="utf-8")
    monkeypatch.setenv("REVIEW_CONFIG", str(config))
    close_consoles()
    at = new_run()
    assert at.main.selectbox[0].label == "Graph" and at.main.selectbox[0].options == list(graphs)
    assert [b.label for b in at.main.button][:1] == ["Three parallel shapes"]  # the demo, found beside make_graph
    at.main.selectbox[0].select("support")
    run(at)
    assert [b.label for b in at.main.button] == ["Start run"]
    assert_no_demo_wording(at)
    at.main.selectbox[0].select("refund")
    run(at)
    assert [w.label for w in at.main.text_input] == ["order", "note"]
    assert_no_demo_wording(at)


POLICY = 'viewers = ["*@partner.example.com"]\ndeciders = ["*@example.org"]\n'


def test_who_may_not_start_is_told_so_before_a_bad_input(
    app_db: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    policy = tmp_path / "review-policy.toml"
    policy.write_text(POLICY, encoding="utf-8")
    monkeypatch.setenv("REVIEW_POLICY", str(policy))
    use_graph(monkeypatch, PLAN)
    at = new_run({"reviewer": "gus@partner.example.com"})
    at.main.text_area[1].input("[1,")
    run(at)
    start(at)
    [warning] = alerts(at, "warning")
    assert warning.replace("\u2060", "").startswith("Nothing started: gus@partner.example.com may view but not start")
