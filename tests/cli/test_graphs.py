"""`python -m review --graph / --config`: a team's own graph, loaded the way langgraph.json declares it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.cli.test_cli import ROOT, Ran, cli

PER_CALL = "tests/agents/langchain_per_call.py:graph"  # a compiled create_agent graph in a file


def _items(rows: list[dict[str, Any]], by_tool: dict[str, Any]) -> str:
    return json.dumps(
        [{"thread_id": r["thread_id"], "row_id": r["row_id"], "decision": by_tool[r["tool"]]} for r in rows]
    )


@pytest.mark.slow
def test_a_create_agent_graph_in_a_file_is_reviewed_end_to_end(tmp_path: Path) -> None:
    db = tmp_path / "review.sqlite"
    started = cli("--graph", PER_CALL, "start", "tidy up", db=db)
    assert started.code == 0, started.err
    rows = started.json["pending"]
    assert [(r["tool"], r["graph_id"], r["allowed_decisions"]) for r in rows] == [
        ("send_email", "langchain_per_call", ["approve", "edit", "reject", "respond"]),
        ("delete_file", "langchain_per_call", ["approve", "reject"]),
    ]
    listed = cli("--graph", PER_CALL, "pending", db=db)
    assert listed.code == 0 and listed.json == rows

    # The demo console does not claim this thread: listed read-only, never resumed by the demo's graph.
    demo = cli("pending", db=db)
    assert {r["blocked"] for r in demo.json} == {
        "started by graph 'langchain_per_call', which this console has not loaded"
    }
    refused = cli(
        "decide",
        "--reviewer",
        "ana",
        "-",
        db=db,
        stdin=_items(rows, {"send_email": {"type": "approve"}, "delete_file": {"type": "approve"}}),
    )
    assert refused.code == 2 and "cannot be decided from this console" in refused.json["invalid"][0]["error"]

    decisions = {"send_email": {"type": "approve"}, "delete_file": {"type": "reject", "message": "keep it"}}
    done = cli("--graph", PER_CALL, "decide", "--reviewer", "ana", "-", db=db, stdin=_items(rows, decisions))
    assert done.code == 0, done.out + done.err
    shown = cli("--graph", PER_CALL, "show", rows[0]["thread_id"], db=db)
    tools = [m for m in shown.json["messages"] if m["type"] == "tool"]
    assert tools[0]["content"] == "sent to a@x.org" and tools[1]["content"].endswith("with reason: keep it")


@pytest.mark.slow
def test_a_langgraph_json_with_two_graphs_starts_the_one_asked_for(tmp_path: Path) -> None:
    config = tmp_path / "langgraph.json"
    config.write_text(
        json.dumps(
            {
                "dependencies": [str(ROOT)],
                "graphs": {"shapes": str(ROOT / "graph/agent.py") + ":make_graph", "tidy": str(ROOT / PER_CALL)},
            }
        ),
        encoding="utf-8",
    )
    db = tmp_path / "review.sqlite"
    tidy = cli("--config", str(config), "start", "--graph-id", "tidy", "tidy up", db=db)
    shapes = cli("--config", str(config), "start", "Draw a red circle c1", db=db)  # the first graph by default
    assert tidy.code == 0 and shapes.code == 0, tidy.out + shapes.out
    listed = cli("--config", str(config), "pending", db=db).json
    assert sorted({(r["graph_id"], r["tool"], r["blocked"]) for r in listed}) == [
        ("shapes", "create_circle", None),
        ("tidy", "delete_file", None),
        ("tidy", "send_email", None),
    ]
    unknown = cli("--config", str(config), "start", "--graph-id", "nope", "x", db=db)
    assert unknown.code == 2 and "no graph 'nope'" in unknown.json["error"] and "shapes, tidy" in unknown.json["error"]


def test_the_repos_langgraph_json_serves_the_demo_graph(tmp_path: Path) -> None:
    """The file `langgraph dev` reads: the console loads the same graph through it."""
    from review import ReviewConsole, Settings

    settings = Settings.from_env(db=str(tmp_path / "r.sqlite"), config=str(ROOT / "langgraph.json"))
    console = ReviewConsole.open(settings=settings)
    try:
        assert console.graphs.ids == ["canvas-shapes"]
        assert set(console.tools) == {"create_circle", "create_square", "create_triangle", "clear_canvas"}
        rows = console.start_run("Create a red circle c1 and a blue square s1").result(timeout=30).new_pending
        assert [(r.tool, r.graph_id) for r in rows] == [
            ("create_circle", "canvas-shapes"),
            ("create_square", "canvas-shapes"),
        ]
    finally:
        console.close()


@pytest.mark.parametrize(
    ("target", "error"),
    [
        ("tests/agents/missing.py:graph", "cannot load the graph 'tests/agents/missing.py:graph': no file"),
        ("tests/agents/langchain_per_call.py:nothing", "has no attribute 'nothing'"),
        ("tests.agents.langchain_per_call:CALLS", "it is a list, not a compiled graph"),
        ("no.such.module:graph", "No module named 'no'"),
        ("justaname", "write it as path/to/file.py:ATTR or module:ATTR"),
    ],
)
def test_a_graph_that_cannot_be_loaded_is_one_line_and_exit_2(
    run_main: Any, tmp_path: Path, target: str, error: str
) -> None:
    ran: Ran = run_main("--db", str(tmp_path / "r.sqlite"), "--graph", target, "pending")
    assert ran.code == 2 and error in ran.json["error"] and "\n" not in ran.json["error"]


def test_start_takes_its_input_as_json(run_main: Any, tmp_path: Path) -> None:
    db = str(tmp_path / "r.sqlite")
    ran = run_main("--db", db, "start", "--input", '{"messages": [["human", "Draw a blue square q1"]], "canvas": []}')
    assert ran.code == 0 and [r["tool"] for r in ran.json["pending"]] == ["create_square"]
    bad = run_main("--db", db, "start", "--input", "{nope")
    assert bad.code == 2 and bad.json["error"].startswith("--input is not valid JSON")


def test_review_model_names_what_is_missing_in_one_line(
    run_main: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import sys

    monkeypatch.setenv("REVIEW_MODEL", "openai:gpt-4o-mini")
    monkeypatch.setitem(sys.modules, "langchain_openai", None)  # the provider's package is not installed
    ran = run_main("--db", str(tmp_path / "r.sqlite"), "start", "Draw a red circle c1")
    assert ran.code == 2 and ran.json["error"].startswith("REVIEW_MODEL=openai:gpt-4o-mini:")
    assert "langchain-openai" in ran.json["error"] and "\n" not in ran.json["error"]
    monkeypatch.setitem(sys.modules, "langchain.chat_models", None)  # nor langchain itself
    ran = run_main("--db", str(tmp_path / "r.sqlite"), "start", "Draw a red circle c1")
    assert ran.code == 2 and "needs the langchain package" in ran.json["error"]
    monkeypatch.setenv("REVIEW_MODEL", "scripted")
    assert run_main("--db", str(tmp_path / "r.sqlite"), "start", "Draw a red circle c1").code == 0


def test_an_async_graph_in_a_file_starts_and_resumes_from_the_cli(run_main: Any, tmp_path: Path) -> None:
    db, target = str(tmp_path / "r.sqlite"), "tests/agents/async_demo.py:graph"
    started = run_main("--db", db, "--graph", target, "start", "Draw a red circle c1, then a blue square s1")
    assert started.code == 0, started.out
    (row,) = started.json["pending"]
    batch = json.dumps([{"thread_id": row["thread_id"], "row_id": row["row_id"], "decision": {"type": "approve"}}])
    decided = run_main("--db", db, "--graph", target, "decide", "--reviewer", "kim", "-", stdin=batch)
    assert decided.code == 0 and [r["tool"] for r in decided.json["new_pending"]] == ["create_square"]
