"""Verified outcome, end to end: every resume records per decision whether the graph honoured it.

ENABLE ONCE WIRED: these tests fail until `Runner._apply` calls `review.verify.read_verdicts` and
records the verdicts (`Storage.record_verdicts`), and `ThreadOutcome.verdicts` / `BatchResult.to_dict()`
carry them (see the report of build item 5 of issue 17). The pieces themselves are tested in
tests/core/test_verify.py.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from review import ReviewConsole
from tests.agents.ignores_reject import IgnoresRejectSpec
from tests.conftest import THREE_SHAPES
from tests.helpers import APPROVE, edit, reject


def _items(rows: list[Any], by_call: dict[str, Any]) -> list[dict[str, Any]]:
    return [{"thread_id": r.thread_id, "row_id": r.row_id, "decision": by_call[r.tool_call_id]} for r in rows]


def test_a_reject_the_graph_ignores_is_contradicted_in_the_audit_the_inbox_and_the_cli_result(
    db_path: Path | str,
) -> None:
    console = ReviewConsole.open(db_path, agent=IgnoresRejectSpec())
    try:
        thread_id = console.start_run("mail them").result(timeout=30).thread_id
        rows = {r.tool_call_id: r for r in console.pending()}
        result = console.submit(_items(list(rows.values()), {"call_a": APPROVE, "call_b": reject("no")}), "ann")
        said = "contradicted: rejected call call_b ran: ToolMessage \"sent 'yo' to b@x.org\" without error status"
        assert result.threads[thread_id].verdicts == {rows["call_a"].row_id: "verified", rows["call_b"].row_id: said}
        assert result.exit_code == 1  # a contradiction is reported like a failed run
        out = result.to_dict()
        assert out["contradicted"] == [{"thread_id": thread_id, "row_id": rows["call_b"].row_id, "outcome_check": said}]
        checks = {e.tool_call_id: e.outcome_check for e in console.audit(thread_id=thread_id)}
        assert checks == {"call_a": "verified", "call_b": said}
        assert [e.tool_call_id for e in console.failures().values()] == ["call_b"]  # the Inbox shows it
    finally:
        console.close()


def test_the_demo_agent_comes_out_verified_for_approve_edit_and_reject(console: ReviewConsole) -> None:
    thread_id = console.start_run(THREE_SHAPES).result(timeout=30).thread_id
    by_tool = {
        "create_circle": APPROVE,
        "create_square": edit("create_square", shape_id="s1", color="yellow"),
        "create_triangle": reject("no triangles today"),
    }
    rows = console.pending()
    result = console.submit(
        [{"thread_id": r.thread_id, "row_id": r.row_id, "decision": by_tool[r.tool]} for r in rows], "ann"
    )
    assert result.exit_code == 0, result.to_dict()
    assert sorted(result.threads[thread_id].verdicts.values()) == ["verified"] * 3
    assert {e.outcome_check for e in console.audit(thread_id=thread_id)} == {"verified"}
    assert result.to_dict()["contradicted"] == []
    assert console.failures() == {}
