"""Verified outcome, end to end: every resume records per decision whether the graph honoured it.

ENABLE ONCE WIRED: these tests fail until `Runner._apply` calls `review.verify.read_verdicts` and
records the verdicts (`Storage.record_verdicts`), and `ThreadOutcome.verdicts` / `BatchResult.to_dict()`
carry them (see the report of build item 5 of issue 17). The pieces themselves are tested in
tests/core/test_verify.py.
"""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

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


def test_a_check_that_fails_leaves_no_verdict_and_the_decisions_applied(
    console: ReviewConsole, monkeypatch: pytest.MonkeyPatch
) -> None:
    thread_id = console.start_run(THREE_SHAPES).result(timeout=30).thread_id
    rows = console.pending()

    def broken(*args: Any, **kwargs: Any) -> dict[str, str]:
        raise RuntimeError("the check itself is broken")

    monkeypatch.setattr(console.sources.local, "verdicts", broken)
    result = console.submit([{"thread_id": r.thread_id, "row_id": r.row_id, "decision": APPROVE} for r in rows], "ann")
    assert result.exit_code == 0, result.to_dict()
    assert sorted(result.threads[thread_id].applied) == sorted(r.row_id for r in rows)
    assert result.threads[thread_id].verdicts == {}
    assert {(e.status, e.outcome_check) for e in console.audit(thread_id=thread_id)} == {("applied", None)}


def test_the_verdicts_are_recorded_with_applied_in_one_transaction(
    console: ReviewConsole, monkeypatch: pytest.MonkeyPatch
) -> None:
    console.start_run(THREE_SHAPES).result(timeout=30)
    rows = console.pending()
    finished: list[dict[str, Any]] = []
    real, real_end = console.storage.finish, console.storage.end_lease

    def finish(*args: Any, **kwargs: Any) -> int:
        finished.append(kwargs)
        return real(*args, **kwargs)

    def end_lease(*args: Any, **kwargs: Any) -> int:  # a clean run's "applied" is recorded with the lease's end
        if kwargs.get("finish") is not None:
            finished.append(vars(kwargs["finish"]))
        return real_end(*args, **kwargs)

    monkeypatch.setattr(console.storage, "finish", finish)
    monkeypatch.setattr(console.storage, "end_lease", end_lease)
    monkeypatch.setattr(console.storage, "record_verdicts", None)  # not called on its own any more
    result = console.submit([{"thread_id": r.thread_id, "row_id": r.row_id, "decision": APPROVE} for r in rows], "ann")
    assert result.exit_code == 0, result.to_dict()
    (applied,) = finished
    assert applied["status"] == "applied" and sorted(applied["verdicts"].values()) == ["verified"] * 3


def test_the_writes_the_check_reads_are_asked_for_once_when_the_run_ends_beside_the_read_of_the_state(
    console: ReviewConsole, monkeypatch: pytest.MonkeyPatch
) -> None:
    import threading

    thread_id = console.start_run(THREE_SHAPES).result(timeout=30).thread_id
    rows = console.pending()
    asked: list[tuple[str, str, str]] = []
    real = console.storage.resume_writes

    def spy(thread: str, since: str, *, checkpoints: int) -> Any:
        asked.append((thread, since, threading.current_thread().name))
        return real(thread, since, checkpoints=checkpoints)

    monkeypatch.setattr(console.storage, "resume_writes", spy)
    head = console.graph.get_state({"configurable": {"thread_id": thread_id}}).config["configurable"]["checkpoint_id"]
    result = console.submit([{"thread_id": r.thread_id, "row_id": r.row_id, "decision": APPROVE} for r in rows], "ann")
    assert sorted(result.threads[thread_id].verdicts.values()) == ["verified"] * 3
    ((thread, since, where),) = asked  # once, from the head the resume answered, sent when the run ended
    assert (thread, since) == (thread_id, head) and where.startswith("review-check-read")
    # A check of another head than the one the run started from reads its own writes.
    source = console.sources.local
    claims = [SimpleNamespace(**d) for d in console.storage.decisions(thread_id=thread_id)]
    asked.clear()
    source.verdicts(thread_id, claims, rows, [], head)
    ((thread, since, where),) = asked
    assert (thread, since) == (thread_id, head) and where == threading.current_thread().name


def test_the_check_reuses_the_state_read_after_the_resume_unless_the_thread_moved_since(
    console: ReviewConsole, monkeypatch: pytest.MonkeyPatch
) -> None:
    import review.sources.local

    thread_id = console.start_run(THREE_SHAPES).result(timeout=30).thread_id
    rows = console.pending()
    handed: list[Any] = []
    real = review.sources.local.read_verdicts

    def spy(*args: Any, **kwargs: Any) -> dict[str, str]:
        handed.append(kwargs.get("values"))
        return real(*args, **kwargs)

    monkeypatch.setattr(review.sources.local, "read_verdicts", spy)
    result = console.submit([{"thread_id": r.thread_id, "row_id": r.row_id, "decision": APPROVE} for r in rows], "ann")
    assert sorted(result.threads[thread_id].verdicts.values()) == ["verified"] * 3
    (values,) = handed  # the runner's read after the resume, handed to the check: no second get_state
    assert values is not None and [m.type for m in values["messages"]][-1] == "ai"
    # Read, then checked: the values are handed over. Read, the thread moves (a write of another client), then
    # checked: the state is read again.
    source = console.sources.local
    claims = [SimpleNamespace(**d) for d in console.storage.decisions(thread_id=thread_id)]
    source.read_full(thread_id)
    handed.clear()
    assert sorted(source.verdicts(thread_id, claims, rows, [], None).values()) == ["verified"] * 3
    source.read_full(thread_id)
    config = console.graph.get_state({"configurable": {"thread_id": thread_id}}).config
    console.storage.saver.put_writes(config, [("messages", [])], "another-task")
    assert sorted(source.verdicts(thread_id, claims, rows, [], None).values()) == ["verified"] * 3
    assert handed[0] is not None and handed[1] is None
