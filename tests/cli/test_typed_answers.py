"""Questions are answered with values, checked against their schema before anything is recorded.

The graphs are the docs' own (tests/agents/docs_questions.py), run through the CLI in-process.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from review import ReviewConsole, Settings
from tests.helpers import store_query

GRAPHS = "tests/agents/docs_questions.py"


def state(db: Path, graph: str, thread_id: str) -> Any:
    console = ReviewConsole.open(settings=Settings(db=str(db), graph=f"{GRAPHS}:{graph}"))
    try:
        return console.graph.get_state({"configurable": {"thread_id": thread_id}})
    finally:
        console.close()


def answer(run_main: Any, db: Path, graph: str, row: dict[str, Any], decision: dict[str, Any]) -> Any:
    batch = [{"thread_id": row["thread_id"], "row_id": row["row_id"], "decision": decision}]
    return run_main("--db", str(db), "--graph", f"{GRAPHS}:{graph}", "decide", "-", stdin=json.dumps(batch))


def start(run_main: Any, db: Path, graph: str, run_input: Any) -> tuple[str, list[dict[str, Any]]]:
    ran = run_main("--db", str(db), "--graph", f"{GRAPHS}:{graph}", "start", "--input", json.dumps(run_input))
    assert ran.code == 0, ran.out
    return ran.json["thread_id"], ran.json["pending"]


def test_no_as_false_takes_the_docs_reject_branch(run_main: Any, tmp_path: Path) -> None:
    db = tmp_path / "review.sqlite"
    thread_id, (row,) = start(run_main, db, "approval", {"action_details": "drop the old tables"})
    assert row["payload_kind"] == "question" and row["allowed_decisions"] == ["respond"]
    done = answer(run_main, db, "approval", row, {"type": "respond", "value": False})
    assert done.code == 0, done.out
    snapshot = state(db, "approval", thread_id)
    assert snapshot.next == () and snapshot.values["status"] == "rejected"  # `cancel` ran, `proceed` did not
    logged = store_query(db, "SELECT decision_type, message, resume_json, status FROM review_decisions")
    assert [tuple(r) for r in logged] == [("respond", "false", "false", "applied")]  # the value, as JSON
    (entry,) = run_main("--db", str(db), "--graph", f"{GRAPHS}:approval", "audit").json
    assert (entry["message"], entry["answer_type"]) == ("false", "boolean")  # false, not the text "false"


def test_the_age_loop_ends_on_an_integer_and_asks_again_on_text(run_main: Any, tmp_path: Path) -> None:
    db = tmp_path / "review.sqlite"
    thread_id, (row,) = start(run_main, db, "age", {})
    again = answer(run_main, db, "age", row, {"type": "respond", "message": "42"})  # text: the loop asks again
    assert again.code == 0, again.out
    (second,) = again.json["new_pending"]
    assert second["description"] == "'42' is not a valid age. What is your age?"
    done = answer(run_main, db, "age", second, {"type": "respond", "value": 42})
    assert done.code == 0 and done.json["new_pending"] == []
    assert state(db, "age", thread_id).values == {"age": 42}


def test_an_answer_breaking_the_schema_is_refused_before_anything_is_recorded(run_main: Any, tmp_path: Path) -> None:
    db = tmp_path / "review.sqlite"
    thread_id, (row,) = start(run_main, db, "refund", {"order": "A-17"})
    assert row["answer_schema"]["required"] == ["approved"]
    refused = [
        ({"type": "respond", "value": {"approved": "maybe"}}, "answer.approved: 'maybe' is not of type 'boolean'"),
        ({"type": "respond", "value": {"note": "?"}}, "approved is a required property"),
        ({"type": "respond", "message": "yes please"}, "this question asks for a JSON object"),
        ({"type": "respond", "value": [True]}, "asks for a JSON object, not a JSON array"),
        ({"type": "respond", "value": None}, "cannot be null"),
        ({"type": "respond", "message": "x", "value": {"approved": True}}, "not both"),
    ]
    for decision, why in refused:
        ran = answer(run_main, db, "refund", row, decision)
        assert ran.code == 2, (decision, ran.out)
        (invalid,) = ran.json["invalid"]
        assert why in invalid["error"] and "\n" not in invalid["error"], invalid
    assert store_query(db, "SELECT COUNT(*) FROM review_decisions")[0][0] == 0
    assert state(db, "refund", thread_id).next == ("ask_refund",)

    done = answer(run_main, db, "refund", row, {"type": "respond", "message": '{"approved": true, "note": "ok"}'})
    assert done.code == 0, done.out
    assert state(db, "refund", thread_id).values == {"order": "A-17", "approved": True, "note": "ok"}


def test_a_tool_request_is_answered_with_text_only(tmp_path: Path) -> None:
    from tests.agents.agent_inbox import AgentInboxSpec

    console = ReviewConsole.open(tmp_path / "review.sqlite", agent=AgentInboxSpec())
    try:
        console.start_run("notify").result(timeout=30)
        (row,) = [r for r in console.pending() if r.tool == "send_email"]
        refused = console.submit(
            [{"thread_id": row.thread_id, "row_id": row.row_id, "decision": {"type": "respond", "value": 3}}], "ana"
        )
        assert refused.exit_code == 2 and 'a JSON "value" answers a question' in refused.invalid[0].error
    finally:
        console.close()
