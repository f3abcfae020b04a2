"""Verified outcome (review/verify.py): per applied decision, did the graph honour it? From the checkpoint only.

The rules on hand-made langchain messages, then the pieces end to end on both backends (the runner does
not call them yet: tests/core/test_verified_outcome.py holds the wired test): the demo agent and
langchain's per-call middleware come out `verified`, a graph whose tool ignores a reject comes out
`contradicted`, and the verdict reaches the audit, its CSV and the Inbox's failures.
"""

from __future__ import annotations

import csv
import io
import sqlite3
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import streamlit as st
from langchain_core.messages import AIMessage, HumanMessage, ToolMessage
from streamlit.testing.v1 import AppTest

from review import ReviewConsole
from review.verify import AppliedDecision, Delivery, deliveries, read_verdicts, verify_outcome
from tests.agents import ignores_reject
from tests.agents.ignores_reject import IgnoresRejectSpec
from tests.agents.langchain_per_call import PerCallSpec
from tests.conftest import THREE_SHAPES, sqlite_only
from tests.helpers import APPROVE, edit, is_postgres, reject
from ui.console import open_console
from ui.format import md_escape

CALL = {"name": "send_email", "args": {"to": "a@x.org"}, "id": "c1", "type": "tool_call"}


def _decision(kind: str, resume: Any, **extra: Any) -> AppliedDecision:
    facts: dict[str, Any] = {
        "row_id": "i1",
        "interrupt_id": "i1",
        "tool_call_id": "c1",
        "tool": "send_email",
        "decision": kind,
        "resume": resume,
        "args_before": {"to": "a@x.org"},
    }
    return AppliedDecision(**{**facts, **extra})


def _thread(*results: ToolMessage, call: dict[str, Any] = CALL) -> list[Any]:
    return [HumanMessage("go"), AIMessage("", tool_calls=[call]), *results]


def _check(messages: Any, decision: AppliedDecision, delivered: Any = None, **kwargs: Any) -> str:
    return verify_outcome(messages, [decision], delivered, **kwargs)[decision.row_id]


# --- the rules ---------------------------------------------------------------------------------------


def test_a_rejected_call_with_a_normal_result_is_contradicted_and_an_error_or_the_rejection_is_not() -> None:
    no = _decision("reject", reject("not now"), args_after=None)
    ran = _check(_thread(ToolMessage("sent", tool_call_id="c1")), no)
    assert ran == "contradicted: rejected call c1 ran: ToolMessage 'sent' without error status"
    assert _check(_thread(ToolMessage("refused", tool_call_id="c1", status="error")), no) == "verified"
    assert _check(_thread(ToolMessage("The reviewer said: not now", tool_call_id="c1")), no) == "verified"
    assert _check(_thread(ToolMessage("Rejected by the reviewer", tool_call_id="c1")), no) == "verified"
    assert _check(_thread(), no) == "verified"  # no result at all: nothing ran
    # An edit notice says another call ran in its place: not a rejection, whatever else the text says.
    notice = "Executed instead: send_email with arguments {}.\n\nTool response: not now"
    assert _check(_thread(ToolMessage(notice, tool_call_id="c1")), no).startswith("contradicted: rejected call c1")


def test_an_approved_call_runs_exactly_once_and_unedited() -> None:
    yes = _decision("approve", APPROVE)
    once = ToolMessage("sent", tool_call_id="c1")
    assert _check(_thread(once), yes) == "verified"
    assert _check(_thread(ToolMessage("failed", tool_call_id="c1", status="error")), yes) == "verified"
    twice = _check(_thread(once, ToolMessage("sent", tool_call_id="c1")), yes)
    assert twice == "contradicted: approved call c1 ran 2 times: 2 ToolMessages"
    assert _check(_thread(), yes) == "contradicted: approved call c1 did not run: no ToolMessage"
    edited = ToolMessage('Executed instead: send_email with arguments {"to": "z@x.org"}.', tool_call_id="c1")
    assert _check(_thread(edited), yes) == 'contradicted: approved call c1 ran as edited: send_email {"to": "z@x.org"}'
    # A tool that asks again before it finishes is not judged yet.
    assert _check(_thread(), yes, pending_calls={"c1"}) == "not checkable"


def test_an_edited_call_runs_with_the_edited_name_and_arguments() -> None:
    change = _decision("edit", edit("send_email", to="b@x.org"), args_after={"to": "b@x.org"})
    result = ToolMessage("sent", tool_call_id="c1", name="send_email")
    # langchain's batched mode rewrites the AI message's call.
    rewritten = {**CALL, "args": {"to": "b@x.org"}}
    assert _check(_thread(result, call=rewritten), change) == "verified"
    # Per-call convention: the model's call stays on record, the task received the edit (the demo, langchain
    # per-call) -- with langchain's notice naming what ran, or without one.
    assert _check(_thread(result), change) == "verified"
    notice = 'Executed instead: send_email with arguments {"to": "b@x.org"}.\n\nTool response:\nsent'
    assert _check(_thread(ToolMessage(notice, tool_call_id="c1")), change) == "verified"
    wrong = 'Executed instead: send_email with arguments {"to": "a@x.org"}.\n\nTool response:\nsent'
    assert _check(_thread(ToolMessage(wrong, tool_call_id="c1")), change) == (
        'contradicted: edited call c1 ran as send_email {"to": "a@x.org"}, not the edited send_email {"to": "b@x.org"}'
    )
    other = {**CALL, "name": "delete_file", "args": {"path": "/"}}  # #40166: another tool ran
    assert _check(_thread(result, call=other), change).startswith("contradicted: edited call c1 ran as delete_file")
    renamed = ToolMessage("sent", tool_call_id="c1", name="send_fax")
    assert _check(_thread(renamed), change).startswith("contradicted: edited call c1 ran as send_fax")
    assert _check(_thread(call=rewritten), change) == "contradicted: edited call c1 did not run: no ToolMessage"


def test_what_cannot_be_checked_says_so() -> None:
    yes = _decision("approve", APPROVE)
    assert _check(None, yes) == "not checkable"  # the state keeps no messages
    assert _check([], yes) == "not checkable"
    assert _check(_thread(ToolMessage("x", tool_call_id="c1")), _decision("approve", APPROVE, tool_call_id=None)) == (
        "not checkable"
    )
    assert _check([HumanMessage("go")], yes) == "not checkable"  # no AI message makes the call
    # The dict form (an Agent Server's state) is read the same way.
    dicts = [
        {"type": "ai", "content": "", "tool_calls": [CALL]},
        {"type": "tool", "content": "sent", "tool_call_id": "c1", "status": "success"},
    ]
    assert _check(dicts, _decision("reject", reject("no"))).startswith("contradicted: rejected call c1 ran")


def test_an_interrupt_answered_with_a_value_meant_for_another_is_contradicted() -> None:
    a = _decision("approve", APPROVE, row_id="ia", interrupt_id="ia", tool_call_id="ca")
    b = _decision("reject", reject("no"), row_id="ib", interrupt_id="ib", tool_call_id="cb")
    swapped = [
        Delivery("cp0", "task-a", ("ia", "ca"), (reject("no"),)),
        Delivery("cp0", "task-b", ("ib", "cb"), (APPROVE,)),
    ]
    verdicts = verify_outcome(None, [a, b], swapped, answered_checkpoint="cp0")
    assert verdicts == {
        "ia": "contradicted: interrupt ia was answered with the value meant for ib",
        "ib": "contradicted: interrupt ib was answered with the value meant for ia",
    }
    right = [Delivery("cp0", "task-a", ("ia",), (APPROVE,)), Delivery("cp0", "task-b", ("ib",), (reject("no"),))]
    assert verify_outcome(None, [a, b], right, answered_checkpoint="cp0") == {
        "ia": "not checkable",
        "ib": "not checkable",
    }
    # LangGraph #8837: a task of a later step consumed a value this resume sent to another interrupt.
    again = [*right, Delivery("cp1", "task-c", ("ic",), (reject("no"),))]
    verdicts = verify_outcome(None, [a, b], again, answered_checkpoint="cp0")
    assert verdicts["ib"] == "contradicted: the value for interrupt ib was delivered again, to ic"
    # A value of an earlier batch in the same checkpoint (another task, already answered) is no delivery of ours.
    earlier = [*right, Delivery("cp0", "task-d", ("id",), (APPROVE,))]
    assert verify_outcome(None, [a, b], earlier, answered_checkpoint="cp0")["ia"] == "not checkable"


def test_the_check_of_many_rows_reads_only_the_tasks_that_concern_each_and_says_what_a_full_scan_says() -> None:
    """`verify_outcome` hands each row the deliveries of its interrupt and of newer checkpoints (`_Tasks`), not all
    of them: on random batches with swapped, repeated and re-delivered values, its verdicts are a full scan's."""
    import random

    from review import verify

    values = [APPROVE, reject("no"), reject("later"), edit("a", x=1)]
    found = 0
    for seed in range(300):
        rng = random.Random(seed)
        count = rng.randint(1, 8)
        uniform = rng.choice(values) if seed % 3 == 0 else None  # a third of the batches send every row one value
        decisions = [
            _decision(
                "approve", uniform or rng.choice(values), row_id=f"i{n}", interrupt_id=f"i{n}", tool_call_id=f"c{n}"
            )
            for n in range(count)
        ]
        tasks = []
        for n in range(rng.randint(0, 12)):
            checkpoint = rng.choice(["cp0", "cp0", "cp1", "cp2"])
            raised = tuple(rng.sample([f"i{k}" for k in range(count + 2)] + [f"c{k}" for k in range(count)], 2))
            got = tuple(rng.choice(values) for _ in range(rng.randint(0, 2)))
            tasks.append(Delivery(checkpoint, f"t{n}", raised[: rng.randint(0, 2)], got))
        answered = rng.choice(["cp0", None])
        sent = {d.interrupt_id: d.resume for d in decisions}
        full = {d.row_id: verify._misdelivered(d, sent, tasks, answered) for d in decisions}
        one_value = all(value == decisions[0].resume for value in sent.values())
        for by_task in (verify._Tasks(tasks, answered), verify._Tasks(tasks, answered, one_value=one_value)):
            narrowed = {d.row_id: verify._misdelivered(d, sent, by_task.of(d.row_id), answered) for d in decisions}
            assert narrowed == full
        found += sum(why is not None for why in full.values())
        verdicts = verify_outcome(None, decisions, tasks, answered_checkpoint=answered)
        assert verdicts == {row: f"contradicted: {why}" if why else "not checkable" for row, why in full.items()}
    assert found > 100  # the batches do contradict themselves, in every way the check knows


def test_a_batch_sent_one_value_does_not_decode_the_answered_checkpoints_interrupts() -> None:
    """Every row approved: no task of the answered checkpoint can have got another row's value, so its
    `__interrupt__` writes (the biggest part of the check) are never decoded; a task of a newer checkpoint that got
    the value still is, and is named."""
    from review.verify import Encoded, Raised

    class Serde:  # the saver's serializer: "decodes" a write to the value it holds, or refuses to
        def loads_typed(self, data: object) -> object:
            if data is None:
                raise AssertionError("decoded an interrupt the check did not need")
            return [data]

    rows = [_decision("approve", APPROVE, row_id=f"i{n}", interrupt_id=f"i{n}", tool_call_id=f"c{n}") for n in range(3)]
    answered = [Delivery("cp0", f"t{n}", Raised([Encoded(Serde(), None)]), (APPROVE,)) for n in range(3)]
    assert set(verify_outcome(None, rows, answered, answered_checkpoint="cp0").values()) == {"not checkable"}
    interrupt = SimpleNamespace(id="i9", value={"tool_call_id": "c9"})
    later = Delivery("cp1", "t9", Raised([Encoded(Serde(), interrupt)]), (APPROVE,))
    verdicts = verify_outcome(None, rows, [*answered, later], answered_checkpoint="cp0")
    assert verdicts["i0"] == "contradicted: the value for interrupt i0 was delivered again, to i9"


# --- the pieces end to end (the runner calls them the same way) ----------------------------------------------


def _verdicts(console: ReviewConsole, thread_id: str, items: list[dict[str, Any]]) -> dict[str, str]:
    """Submit `items`, then read the verdicts the way the runner will: its claims, the rows before and
    after, the head the resume answered; record them in the log."""
    config = {"configurable": {"thread_id": thread_id}}
    before = console.pending()
    head = console.graph.get_state(config).config["configurable"]["checkpoint_id"]
    result = console.submit(items, reviewer="ann")
    assert not (result.invalid or result.errors or result.not_applied), result.to_dict()  # all applied
    answered = [SimpleNamespace(**row) for row in console.storage.decisions(thread_id=thread_id)]
    answered = [c for c in answered if c.status == "applied" and c.row_id in {i["row_id"] for i in items}]
    verdicts = read_verdicts(console.graph, console.storage.saver, thread_id, answered, before, console.pending(), head)
    console.storage.record_verdicts({c.attempt_id: verdicts[c.row_id] for c in answered})
    return {c.tool_call_id: verdicts[c.row_id] for c in answered}


def _items(rows: list[Any], by_call: dict[str, Any]) -> list[dict[str, Any]]:
    return [{"thread_id": r.thread_id, "row_id": r.row_id, "decision": by_call[r.tool_call_id]} for r in rows]


def test_the_demo_agent_honours_approve_edit_and_reject(console: ReviewConsole) -> None:
    thread_id = console.start_run(THREE_SHAPES).result(timeout=30).thread_id
    rows = console.pending()
    by_tool = {
        "create_circle": APPROVE,
        "create_square": edit("create_square", shape_id="s1", color="yellow"),
        "create_triangle": reject("no triangles today"),
    }
    calls = {r.tool_call_id: by_tool[r.tool] for r in rows}
    verdicts = _verdicts(console, thread_id, _items(rows, calls))
    assert sorted(verdicts.values()) == ["verified"] * 3
    assert {e.outcome_check for e in console.audit(thread_id=thread_id)} == {"verified"}
    assert console.failures() == {}


def test_langchain_per_call_middleware_honours_edit_and_reject(db_path: Path | str) -> None:
    console = ReviewConsole.open(db_path, agent=PerCallSpec())
    try:
        thread_id = console.start_run("tidy up").result(timeout=30).thread_id
        decisions = {
            "call_email": edit("send_email", to="b@x.org", subject="yo"),
            "call_delete": reject("keep it"),
        }
        assert _verdicts(console, thread_id, _items(console.pending(), decisions)) == {
            "call_email": "verified",
            "call_delete": "verified",
        }
    finally:
        console.close()


def test_a_graph_that_ignores_a_reject_is_recorded_contradicted_and_shown_like_a_failure(db_path: Path | str) -> None:
    console = ReviewConsole.open(db_path, agent=IgnoresRejectSpec())
    try:
        thread_id = console.start_run("mail them").result(timeout=30).thread_id
        ignores_reject.SENT.clear()
        decisions = {"call_a": APPROVE, "call_b": reject("not this one")}
        verdicts = _verdicts(console, thread_id, _items(console.pending(), decisions))
        ran = "ToolMessage \"sent 'yo' to b@x.org\" without error status"
        assert verdicts == {"call_a": "verified", "call_b": f"contradicted: rejected call call_b ran: {ran}"}
        # The effect log agrees, but the verdict above was read from the checkpoint alone.
        assert {sent["tool_call_id"] for sent in ignores_reject.SENT} == {"call_a", "call_b"}

        entries = {e.tool_call_id: e for e in console.audit(thread_id=thread_id)}
        assert entries["call_a"].outcome_check == "verified" and not entries["call_a"].contradicted
        assert entries["call_b"].contradicted and entries["call_b"].status == "applied"
        [failure] = console.failures().values()  # the Inbox lists it beside failed runs
        assert (failure.tool_call_id, failure.outcome_check) == ("call_b", verdicts["call_b"])
        csv_rows = {row["tool_call_id"]: row for row in csv.DictReader(io.StringIO(console.audit_csv()))}
        assert csv_rows["call_b"]["outcome_check"] == verdicts["call_b"]
    finally:
        console.close()


def test_deliveries_are_read_from_the_checkpoint_the_resume_answered(db_path: Path | str) -> None:
    console = ReviewConsole.open(db_path, agent=IgnoresRejectSpec())
    try:
        thread_id = console.start_run("mail them").result(timeout=30).thread_id
        config = {"configurable": {"thread_id": thread_id, "checkpoint_ns": ""}}
        head = console.graph.get_state(config).config["configurable"]["checkpoint_id"]
        rows = console.pending()
        sent = {"call_a": APPROVE, "call_b": edit("send_email", to="c@x.org", subject="yo")}
        assert console.submit(_items(rows, sent), reviewer="ann").exit_code == 0
        found = deliveries(console.storage.saver.list(config), head)
        by_call = {next(k for k in d.raised if k.startswith("call_")): d for d in found}
        assert {call: list(d.values) for call, d in by_call.items()} == {c: [v] for c, v in sent.items()}
        assert {d.checkpoint_id for d in found} == {head}
        interrupt_ids = {r.tool_call_id: r.interrupt_id for r in rows}
        assert all(interrupt_ids[call] in d.raised for call, d in by_call.items())
    finally:
        console.close()


def test_an_older_store_gets_the_outcome_column_when_opened(db_path: Path | str) -> None:
    ReviewConsole.open(db_path).close()
    drops = ["DROP INDEX review_decisions_contradicted", "ALTER TABLE review_decisions DROP COLUMN outcome_check"]
    if is_postgres(db_path):
        import psycopg

        with psycopg.connect(str(db_path), autocommit=True) as conn:
            for statement in drops:
                conn.execute(statement)
    else:
        with sqlite3.connect(db_path) as conn:
            for statement in drops:
                conn.execute(statement)
    console = ReviewConsole.open(db_path)
    try:
        thread_id = console.start_run(THREE_SHAPES).result(timeout=30).thread_id
        [circle] = [r for r in console.pending() if r.tool == "create_circle"]
        verdicts = _verdicts(console, thread_id, _items([circle], {circle.tool_call_id: APPROVE}))
        assert list(verdicts.values()) == ["verified"]
        assert [e.outcome_check for e in console.audit(thread_id=thread_id)] == ["verified"]
    finally:
        console.close()


@sqlite_only
def test_the_inbox_lists_a_contradicted_decision_like_a_failed_run(
    db_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REVIEW_DB", str(db_path))
    monkeypatch.delenv("REVIEW_AGENT", raising=False)
    st.cache_resource.clear()
    try:
        console = open_console(str(db_path.resolve()))  # the app's own console
        thread_id = console.start_run(THREE_SHAPES).result(timeout=30).thread_id
        [triangle] = [r for r in console.pending() if r.tool == "create_triangle"]
        item = {"thread_id": thread_id, "row_id": triangle.row_id, "decision": reject("no triangles")}
        assert console.submit([item], reviewer="ann").exit_code == 0
        [attempt] = [e for e in console.audit(thread_id=thread_id) if e.row_id == triangle.row_id]
        said = "contradicted: rejected call x ran: ToolMessage 'drawn' without error status"  # as a graph may
        console.storage.record_verdicts({attempt.attempt_id: said})

        app = AppTest.from_file("../../app.py", default_timeout=30)
        app.run()
        assert not app.exception, [e.value for e in app.exception]
        [shown] = [e.value for e in app.error if md_escape(said) in e.value]  # under Runs, like a failed run
        assert md_escape("Create a red circle") in shown and md_escape("reject of create_triangle by ann (") in shown
    finally:
        st.cache_resource.clear()
