"""The console reviews agents that speak other interrupt contracts than the demo's."""

from __future__ import annotations

import operator
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

from langgraph.graph import START, StateGraph
from langgraph.types import interrupt
from typing_extensions import TypedDict

from review import ReviewConsole
from tests.agents.batched_hitl import BatchedSpec


class _State(TypedDict, total=False):
    prompt: str
    answers: Annotated[list[Any], operator.add]  # parallel nodes append


def _agent_inbox_graph(checkpointer: Any) -> Any:
    """Two nodes asking in Agent Inbox's older schema, and one asking a plain question."""

    def ask(action: str, allow_edit: bool) -> Any:
        def node(state: _State) -> dict[str, Any]:
            response = interrupt(
                {
                    "action_request": {"action": action, "args": {"to": "ops@example.com"}},
                    "config": {"allow_accept": True, "allow_edit": allow_edit, "allow_respond": True},
                    "description": f"Send {action}?",
                }
            )
            return {"answers": [{action: response}]}

        return node

    def question(state: _State) -> dict[str, Any]:
        return {"answers": [{"question": interrupt("What is the budget?")}]}

    builder = StateGraph(_State)
    builder.add_node("email", ask("send_email", True))
    builder.add_node("page", ask("page_oncall", False))
    builder.add_node("question", question)
    builder.add_edge(START, "email")
    builder.add_edge(START, "page")
    builder.add_edge(START, "question")
    return builder.compile(checkpointer=checkpointer)


@dataclass(frozen=True)
class _Spec:
    name: str = "agent-inbox-style"
    tools: tuple = ()

    def build_graph(self, checkpointer: Any) -> Any:
        return _agent_inbox_graph(checkpointer)

    def start_input(self, prompt: str) -> dict[str, Any]:
        return {"prompt": prompt, "answers": []}


def test_agent_inbox_requests_are_rows_and_get_their_own_resume_shape(db_path: Path) -> None:
    console = ReviewConsole.open(db_path, agent=_Spec())
    try:
        job = console.start_run("notify")
        job.result(timeout=30)
        rows = {row.tool or "question": row for row in console.pending()}
        assert set(rows) == {"send_email", "page_oncall", "question"}
        assert rows["send_email"].allowed_decisions == ("approve", "edit", "reject")
        assert rows["page_oncall"].allowed_decisions == ("approve", "reject")
        assert rows["question"].allowed_decisions == () and rows["question"].payload_kind == "other"

        # A row the console cannot decide refuses the batch; an edit the agent does not allow too.
        refused = console.submit(
            [
                {
                    "thread_id": job.thread_id,
                    "interrupt_id": rows["question"].interrupt_id,
                    "decision": {"type": "approve"},
                },
                {
                    "thread_id": job.thread_id,
                    "interrupt_id": rows["page_oncall"].interrupt_id,
                    "decision": {"type": "edit", "edited_action": {"name": "page_oncall", "args": {}}},
                },
            ],
            reviewer="ana",
        )
        assert refused.exit_code == 2 and len(refused.invalid) == 2
        assert "cannot be decided" in refused.invalid[0].error and "not allowed" in refused.invalid[1].error

        result = console.submit(
            [
                {
                    "thread_id": job.thread_id,
                    "interrupt_id": rows["send_email"].interrupt_id,
                    "decision": {"type": "edit", "edited_action": {"name": "send_email", "args": {"to": "me@x.org"}}},
                },
                {
                    "thread_id": job.thread_id,
                    "interrupt_id": rows["page_oncall"].interrupt_id,
                    "decision": {"type": "reject", "message": "not at night"},
                },
            ],
            reviewer="ana",
        )
        assert result.exit_code == 0, result.to_dict()
        answers = console.graph.get_state({"configurable": {"thread_id": job.thread_id}}).values["answers"]
        assert {
            "send_email": [{"type": "edit", "args": {"action": "send_email", "args": {"to": "me@x.org"}}}]
        } in answers
        assert {"page_oncall": [{"type": "response", "args": "not at night"}]} in answers
        # The plain question is still pending, with the same id.
        assert [row.interrupt_id for row in console.pending()] == [rows["question"].interrupt_id]
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
        assert rows["send_email"].allowed_decisions == ("approve", "edit", "reject")
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
