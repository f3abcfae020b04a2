"""The console reviews agents that speak other interrupt contracts than the demo's."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from review import ReviewConsole
from tests.agents.agent_inbox import AgentInboxSpec
from tests.agents.batched_hitl import BatchedSpec


def test_agent_inbox_requests_in_both_forms_and_plain_questions_get_their_own_resume_shapes(db_path: Path) -> None:
    console = ReviewConsole.open(db_path, agent=AgentInboxSpec())
    try:
        job = console.start_run("notify")
        job.result(timeout=30)
        rows = {row.tool or row.description: row for row in console.pending()}
        assert set(rows) == {"send_email", "page_oncall", "What is the budget?", "Which limits apply?"}
        assert rows["send_email"].allowed_decisions == ("approve", "edit", "respond")
        assert rows["page_oncall"].allowed_decisions == ("approve", "ignore")  # the one-item list form
        assert rows["What is the budget?"].allowed_decisions == ("respond",)

        def item(key: str, decision: dict[str, Any]) -> dict[str, Any]:
            return {"thread_id": job.thread_id, "row_id": rows[key].row_id, "decision": decision}

        # A decision the request does not allow, an empty answer, a non-object where one is asked: refused.
        refused = console.submit(
            [
                item("page_oncall", {"type": "edit", "edited_action": {"name": "page_oncall", "args": {}}}),
                item("What is the budget?", {"type": "respond", "message": "  "}),
                item("Which limits apply?", {"type": "respond", "message": "[1, 2]"}),
            ],
            reviewer="ana",
        )
        assert refused.exit_code == 2 and len(refused.invalid) == 3
        assert "'edit' is not allowed" in refused.invalid[0].error
        assert "needs a message" in refused.invalid[1].error and "JSON object" in refused.invalid[2].error

        edit = {"type": "edit", "edited_action": {"name": "send_email", "args": {"to": "me@x.org"}}}
        result = console.submit(
            [
                item("send_email", edit),
                item("page_oncall", {"type": "ignore"}),
                item("What is the budget?", {"type": "respond", "message": "About 40k EUR"}),
                item("Which limits apply?", {"type": "respond", "message": '{"max": 5}'}),
            ],
            reviewer="ana",
        )
        assert result.exit_code == 0, result.to_dict()
        answers = console.graph.get_state({"configurable": {"thread_id": job.thread_id}}).values["answers"]
        assert {
            "send_email": [{"type": "edit", "args": {"action": "send_email", "args": {"to": "me@x.org"}}}]
        } in answers
        assert {"page_oncall": [{"type": "ignore", "args": None}]} in answers
        assert {"budget": "About 40k EUR"} in answers  # the raw text, as a plain question expects
        assert {"limits": {"max": 5}} in answers  # parsed: its schema asks for an object
        assert console.pending() == []
    finally:
        console.close()


def test_a_batched_request_is_one_row_per_action_and_is_answered_whole(db_path: Path) -> None:
    console = ReviewConsole.open(db_path, agent=BatchedSpec())
    try:
        job = console.start_run("tidy up")
        job.result(timeout=30)
        rows = console.pending()
        assert [(r.tool, r.allowed_decisions) for r in rows] == [
            ("send_email", ("approve", "edit", "reject")),
            ("delete_file", ("approve", "reject")),
            ("send_email", ("approve", "edit", "reject")),
        ]
        [base] = {r.interrupt_id for r in rows}
        assert [r.row_id for r in rows] == [f"{base}#0", f"{base}#1", f"{base}#2"]

        def item(row: Any, decision: dict[str, Any]) -> dict[str, Any]:
            return {"thread_id": job.thread_id, "row_id": row.row_id, "decision": decision}

        # Part of a batched request cannot be sent alone; a bad edit is refused by the tool's schema.
        partial = console.submit([item(rows[0], {"type": "approve"}), item(rows[1], {"type": "approve"})], "ana")
        assert partial.exit_code == 2
        assert {e.error for e in partial.invalid} == {"decide all 3 actions of this batched request together"}
        bad_edit = {"type": "edit", "edited_action": {"name": "send_email", "args": {"to": "c@x.org"}}}
        refused = console.submit(
            [item(rows[0], bad_edit), item(rows[1], {"type": "approve"}), item(rows[2], {"type": "approve"})], "ana"
        )
        assert refused.exit_code == 2 and "subject" in refused.invalid[0].error
        assert console.storage.query("SELECT COUNT(*) FROM review_decisions")[0][0] == 0

        edit = {"type": "edit", "edited_action": {"name": "send_email", "args": {"to": "c@x.org", "subject": "hey"}}}
        batch = [
            item(rows[0], edit),
            item(rows[1], {"type": "reject", "message": "keep it"}),
            item(rows[2], {"type": "approve"}),
        ]
        done = console.submit(batch, "ana")
        assert done.exit_code == 0, done.to_dict()
        assert sorted(i for _, i in done.applied) == [r.row_id for r in rows]
        saved = console.graph.get_state({"configurable": {"thread_id": job.thread_id}}).values["decisions"]
        assert saved == [edit, {"type": "reject", "message": "keep it"}, {"type": "approve"}]  # in call order
        assert console.pending() == []
        again = console.submit(batch, "bob")
        assert again.exit_code == 3 and {c.reviewer for c in again.conflicts} == {"ana"}
    finally:
        console.close()


def test_langchain_per_call_requests_offer_only_what_their_response_schema_allows(db_path: Path) -> None:
    """create_agent + HumanInTheLoopMiddleware(per_call): the schema's `oneOf` holds `$ref`s only."""
    from tests.agents.langchain_per_call import SENT, PerCallSpec

    SENT.clear()
    console = ReviewConsole.open(db_path, agent=PerCallSpec())
    try:
        job = console.start_run("tidy up")
        job.result(timeout=30)
        rows = {row.tool: row for row in console.pending()}
        assert rows["send_email"].allowed_decisions == ("approve", "edit", "reject", "respond")
        assert rows["delete_file"].allowed_decisions == ("approve", "reject")

        def item(tool: str, decision: dict[str, Any]) -> dict[str, Any]:
            return {"thread_id": job.thread_id, "row_id": rows[tool].row_id, "decision": decision}

        # An edit the request does not allow is refused before anything is sent: the other tool did not run.
        edit_delete = {"type": "edit", "edited_action": {"name": "delete_file", "args": {"path": "/"}}}
        refused = console.submit([item("send_email", {"type": "approve"}), item("delete_file", edit_delete)], "ana")
        assert refused.exit_code == 2 and "'edit' is not allowed here" in refused.invalid[0].error
        assert SENT == [] and console.audit() == [] and len(console.pending()) == 2

        done = console.submit(
            [item("send_email", {"type": "approve"}), item("delete_file", {"type": "reject", "message": "keep"})], "ana"
        )
        assert done.exit_code == 0, done.to_dict()
        assert SENT == [{"tool": "send_email", "to": "a@x.org", "subject": "hi"}]
        assert console.pending() == [] and {e.status for e in console.audit()} == {"applied"}
    finally:
        console.close()


def test_the_6624_layout_is_named_and_refused_unless_forced(db_path: Path) -> None:
    from tests.agents.toolnode_6624 import ToolNodeSpec

    console = ReviewConsole.open(db_path, agent=ToolNodeSpec())
    try:
        job = console.start_run("ask all three")
        job.result(timeout=30)
        (row,) = console.pending()  # three calls, one visible interrupt: the bug the warning names
        assert row.warning and "3 tool calls (ask_a, ask_b, ask_c)" in row.warning and "Send" in row.warning
        item = {"thread_id": job.thread_id, "row_id": row.row_id, "decision": {"type": "approve"}}
        refused = console.submit([item], "ana")
        assert refused.exit_code == 2 and "needs force" in refused.invalid[0].error
        assert console.audit() == []
        forced = console.submit([{**item, "force": True}], "ana")
        assert forced.exit_code == 0, forced.to_dict()
        (entry,) = console.audit()
        assert entry.status == "applied" and entry.warning == row.warning
    finally:
        console.close()


def test_the_send_layout_carries_no_warning(console: ReviewConsole) -> None:
    rows = console.start_run("Create a red circle c1, a blue square s1 and a green triangle t1").result(30).new_pending
    assert len(rows) == 3 and all(r.warning is None for r in rows)


def test_a_batched_request_names_its_one_bad_row_and_fills_tool_call_ids(db_path: Path) -> None:
    from tests.agents.langchain_batched import BatchedAgentSpec

    console = ReviewConsole.open(db_path, agent=BatchedAgentSpec())
    try:
        job = console.start_run("tidy up")
        job.result(timeout=30)
        rows = console.pending()
        assert [(r.tool, r.tool_call_id) for r in rows] == [
            ("send_email", "call_email"),
            ("delete_file", "call_delete"),
        ]
        bad = {"type": "edit", "edited_action": {"name": "send_email", "args": {"to": 5}}}
        items = [
            {"thread_id": job.thread_id, "row_id": rows[0].row_id, "decision": bad},
            {"thread_id": job.thread_id, "row_id": rows[1].row_id, "decision": {"type": "approve"}},
        ]
        refused = console.submit(items, "ana")
        assert [(e.row_id, "to" in e.error) for e in refused.invalid] == [(rows[0].row_id, True)]  # only the bad one
    finally:
        console.close()


def test_a_node_that_asks_twice_is_answered_question_by_question(db_path: Path) -> None:
    from tests.agents.questions import QuestionsSpec

    console = ReviewConsole.open(db_path, agent=QuestionsSpec())
    try:
        job = console.start_run("who?")
        (first,) = job.result(timeout=30).new_pending
        assert (first.description, first.allowed_decisions, first.payload_kind) == (
            "What is your name?",
            ("respond",),
            "question",
        )
        answer = {"type": "respond", "message": "Ana"}
        done = console.submit([{"thread_id": job.thread_id, "row_id": first.row_id, "decision": answer}], "kim")
        (second,) = done.new_pending
        assert second.description == "Which team?" and second.row_id != first.row_id
        console.submit(
            [{"thread_id": job.thread_id, "row_id": second.row_id, "decision": {"type": "respond", "message": "Ops"}}],
            "kim",
        )
        values = console.graph.get_state({"configurable": {"thread_id": job.thread_id}}).values
        assert (values["name"], values["team"]) == ("Ana", "Ops")
    finally:
        console.close()


def test_a_subgraphs_interrupting_tools_are_rows_and_each_gets_its_decision(db_path: Path) -> None:
    from tests.agents.questions import SubgraphSpec

    console = ReviewConsole.open(db_path, agent=SubgraphSpec())
    try:
        job = console.start_run("deploy both")
        job.result(timeout=30)
        rows = {r.args["service"]: r for r in console.pending()}
        assert set(rows) == {"api", "web"} and all(r.tool == "deploy" and r.warning is None for r in rows.values())
        items = [
            {"thread_id": job.thread_id, "row_id": rows["api"].row_id, "decision": {"type": "approve"}},
            {
                "thread_id": job.thread_id,
                "row_id": rows["web"].row_id,
                "decision": {"type": "reject", "message": "freeze"},
            },
        ]
        assert console.submit(items, "kim").exit_code == 0
        messages = console.graph.get_state({"configurable": {"thread_id": job.thread_id}}).values["messages"]
        results = sorted(m.content for m in messages if m.type == "tool")
        assert results == ["deployed api", "not deployed: freeze"]
        assert console.pending() == []
    finally:
        console.close()
