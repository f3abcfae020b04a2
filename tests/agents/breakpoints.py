"""Static breakpoints, as LangGraph's docs set them: `compile(interrupt_before=[...])` / `interrupt_after=[...]`.

No node calls `interrupt()`: the graph just stops. Every tool appends a line to the file named by
$BREAKPOINT_EFFECTS (the test's effect log), so a test can tell whether a tool ran, in any process.

- `before_tools`: the docs' ReAct loop, `tools_condition` to ONE ToolNode task that runs both calls of the
  AI message (`invoice` twice), paused before it.
- `before_tools_send`: the same agent routing each call as its own task (`Send`), skipping calls already
  answered, as langchain's create_agent does; paused before the tool node.
- `after_draft`: a two-step writer paused after `draft`; `publish` (not a tool node) runs on continue.
- `agent_before_tools`: langchain's `create_agent(..., interrupt_before=["tools"])` with a scripted model, no HITL
  middleware: the breakpoint is the only review.
"""

from __future__ import annotations

import json
import os
from typing import Any

from langchain_core.messages import AIMessage
from langchain_core.tools import tool
from langgraph.graph import END, START, MessagesState, StateGraph
from langgraph.prebuilt import ToolNode, tools_condition
from langgraph.types import Send
from typing_extensions import TypedDict


def _effect(record: dict[str, Any]) -> None:
    path = os.environ.get("BREAKPOINT_EFFECTS")
    if path:
        with open(path, "a", encoding="utf-8") as log:
            log.write(json.dumps(record) + "\n")


@tool
def invoice(customer: str, amount: int) -> str:
    """Send an invoice to a customer."""
    _effect({"tool": "invoice", "customer": customer, "amount": amount})
    return f"invoiced {customer} {amount}"


CALLS = [
    {"name": "invoice", "args": {"customer": "acme", "amount": 100}, "id": "call_acme", "type": "tool_call"},
    {"name": "invoice", "args": {"customer": "globex", "amount": 250}, "id": "call_globex", "type": "tool_call"},
]


def agent(state: MessagesState) -> dict[str, Any]:
    """A scripted model: both invoices first, a summary once every call has its answer."""
    if any(m.type == "tool" for m in state["messages"]):
        return {"messages": [AIMessage("Invoices handled.")]}
    return {"messages": [AIMessage("", tool_calls=CALLS)]}


def _react(route: Any, destinations: list[str] | None = None) -> StateGraph:
    builder = StateGraph(MessagesState)
    builder.add_node("agent", agent)
    builder.add_node("tools", ToolNode([invoice]))
    builder.add_edge(START, "agent")
    builder.add_conditional_edges("agent", route, destinations)
    builder.add_edge("tools", "agent")
    return builder


def send_unanswered(state: MessagesState) -> list[Send] | str:
    """One task per call not answered yet (a rejected call already has its ToolMessage)."""
    answered = {m.tool_call_id for m in state["messages"] if m.type == "tool"}
    last = next((m for m in reversed(state["messages"]) if m.type == "ai"), None)
    calls = [c for c in getattr(last, "tool_calls", None) or [] if c["id"] not in answered]
    return [Send("tools", [call]) for call in calls] if calls else END


before_tools = _react(tools_condition).compile(interrupt_before=["tools"])
before_tools_send = _react(send_unanswered, ["tools", END]).compile(interrupt_before=["tools"])


class Article(TypedDict, total=False):
    topic: str
    draft: str
    published: bool


def draft(state: Article) -> dict[str, Any]:
    return {"draft": f"A short note on {state.get('topic', 'nothing')}."}


def publish(state: Article) -> dict[str, Any]:
    _effect({"tool": "publish", "draft": state.get("draft")})
    return {"published": True}


def _writer() -> StateGraph:
    builder = StateGraph(Article)
    builder.add_node("draft", draft)
    builder.add_node("publish", publish)
    builder.add_edge(START, "draft")
    builder.add_edge("draft", "publish")
    builder.add_edge("publish", END)
    return builder


after_draft = _writer().compile(interrupt_after=["draft"])


def agent_before_tools() -> object:
    """create_agent paused before its tool node (a factory: langchain is imported only when asked for)."""
    from langchain.agents import create_agent

    from tests.agents.langchain_per_call import _model, delete_file, send_email

    return create_agent(_model(), tools=[send_email, delete_file], interrupt_before=["tools"])
