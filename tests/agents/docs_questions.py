"""Questions copied from LangGraph's "Interrupts" docs, whose answers are not text.

- `approval`: "Approve or reject": `is_approved = interrupt({...})`, then `Command(goto="proceed" | "cancel")`.
  Answered with the text "no" it would proceed (a non-empty string is truthy): it needs `false`.
- `age`: "Validating human input": asks again until the answer is a positive `int`.
- `refund`: a question with a `response_schema` (an object with a required boolean).
"""

from __future__ import annotations

from typing import Any, Literal

from langgraph.graph import END, START, StateGraph
from langgraph.types import Command, interrupt
from typing_extensions import TypedDict


class ApprovalState(TypedDict, total=False):
    action_details: str
    status: str


def approval_node(state: ApprovalState) -> Command[Literal["proceed", "cancel"]]:
    is_approved = interrupt(
        {"question": "Do you want to proceed with this action?", "details": state.get("action_details", "")}
    )
    if is_approved:
        return Command(goto="proceed")
    return Command(goto="cancel")


def proceed(state: ApprovalState) -> dict[str, Any]:
    return {"status": "approved"}


def cancel(state: ApprovalState) -> dict[str, Any]:
    return {"status": "rejected"}


def _approval() -> StateGraph:
    builder = StateGraph(ApprovalState)
    builder.add_node("approval", approval_node)
    builder.add_node("proceed", proceed)
    builder.add_node("cancel", cancel)
    builder.add_edge(START, "approval")
    builder.add_edge("proceed", END)
    builder.add_edge("cancel", END)
    return builder


approval = _approval().compile()


class AgeState(TypedDict, total=False):
    age: int


def get_age(state: AgeState) -> dict[str, Any]:
    prompt = "What is your age?"
    while True:
        answer = interrupt(prompt)
        if isinstance(answer, int) and answer > 0:
            break
        prompt = f"'{answer}' is not a valid age. What is your age?"
    return {"age": answer}


def _age() -> StateGraph:
    builder = StateGraph(AgeState)
    builder.add_node("get_age", get_age)
    builder.add_edge(START, "get_age")
    return builder


age = _age().compile()

REFUND_SCHEMA = {
    "type": "object",
    "properties": {"approved": {"type": "boolean"}, "note": {"type": "string"}},
    "required": ["approved"],
    "additionalProperties": False,
}


class RefundState(TypedDict, total=False):
    order: str
    approved: bool
    note: str


def ask_refund(state: RefundState) -> dict[str, Any]:
    answer = interrupt(f"Refund order {state.get('order', '?')}?", response_schema=REFUND_SCHEMA)
    return {"approved": answer["approved"], "note": answer.get("note", "")}


def _refund() -> StateGraph:
    builder = StateGraph(RefundState)
    builder.add_node("ask_refund", ask_refund)
    builder.add_edge(START, "ask_refund")
    return builder


refund = _refund().compile()
