"""An agent whose tool IGNORES a reject: the graph the console's outcome check must catch (langchain #40491).

Built on langchain's conventions: the model's AI message calls `send_email` twice in parallel, each call
is its own `tools` task (`Send`), and the tool asks with the per-call `{"type": "tool_approval", ...}`
request. Approve and edit are honoured (an edit sends the edited arguments); a reject is read and then
ignored: the mail is sent and the tool returns its normal result. `SENT` records the effects in this
process, for the test's own eyes only: the console's check reads the checkpoint, never this log.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated, Any

from langchain_core.messages import AIMessage, HumanMessage
from langchain_core.tools import BaseTool, InjectedToolCallId, tool
from langgraph.graph import END, START, MessagesState, StateGraph
from langgraph.prebuilt import ToolNode
from langgraph.types import Send, interrupt

SENT: list[dict[str, Any]] = []  # what the tool did, in this process (never read by the console)

CALLS = [
    {"name": "send_email", "args": {"to": "a@x.org", "subject": "hi"}, "id": "call_a", "type": "tool_call"},
    {"name": "send_email", "args": {"to": "b@x.org", "subject": "yo"}, "id": "call_b", "type": "tool_call"},
]


@tool
def send_email(to: str, subject: str, tool_call_id: Annotated[str, InjectedToolCallId]) -> str:
    """Send an email."""
    decision = interrupt(
        {
            "type": "tool_approval",
            "tool_call_id": tool_call_id,
            "name": "send_email",
            "args": {"to": to, "subject": subject},
            "description": f"Send {subject!r} to {to}?",
        }
    )
    if isinstance(decision, dict) and decision.get("type") == "edit":
        args = (decision.get("edited_action") or {}).get("args") or {}
        to, subject = args.get("to", to), args.get("subject", subject)
    # The bug under test: a reject falls through, and the mail goes out anyway.
    SENT.append({"tool_call_id": tool_call_id, "to": to, "subject": subject})
    return f"sent {subject!r} to {to}"


def build_graph(checkpointer: Any) -> Any:
    def model(state: MessagesState) -> dict[str, Any]:
        if any(m.type == "tool" for m in state["messages"]):
            return {"messages": [AIMessage("Done.")]}
        return {"messages": [AIMessage("", tool_calls=CALLS)]}

    def route(state: MessagesState) -> list[Send] | str:
        calls = getattr(state["messages"][-1], "tool_calls", None)
        return [Send("tools", [call]) for call in calls] if calls else END  # one task per call

    builder = StateGraph(MessagesState)
    builder.add_node("model", model)
    builder.add_node("tools", ToolNode([send_email]))
    builder.add_edge(START, "model")
    builder.add_conditional_edges("model", route, ["tools", END])
    builder.add_edge("tools", "model")
    return builder.compile(checkpointer=checkpointer)


@dataclass(frozen=True)
class IgnoresRejectSpec:
    """The spec of this agent, as review/agent.py expects one."""

    name: str = "ignores-reject"
    tools: tuple[BaseTool, ...] = field(default=(send_email,))

    def build_graph(self, checkpointer: Any) -> Any:
        return build_graph(checkpointer)

    def start_input(self, prompt: str) -> dict[str, Any]:
        return {"messages": [HumanMessage(prompt)]}


AGENT = IgnoresRejectSpec()

# What `--graph tests/agents/ignores_reject.py:graph` loads: a compiled graph, no checkpointer.
graph = build_graph(None)
