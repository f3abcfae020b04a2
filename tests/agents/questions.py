"""A free-text node that asks twice in a row, and a subgraph whose tool interrupts.

`ask_twice`: one node, `interrupt("What is your name?")` then `interrupt("Which team?")`: the second
question appears once the first is answered (its own id, since LangGraph 1.2.20).
`with_subgraph`: the parent's `work` node is a compiled subgraph running a ToolNode per call (`Send`)
whose tool asks for approval in langchain's per-call shape.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated, Any

from langchain_core.messages import AIMessage, HumanMessage
from langchain_core.tools import BaseTool, InjectedToolCallId, tool
from langgraph.graph import END, START, MessagesState, StateGraph
from langgraph.prebuilt import ToolNode
from langgraph.types import Send, interrupt
from typing_extensions import TypedDict


class Answers(TypedDict, total=False):
    prompt: str
    name: str
    team: str


def ask_twice(checkpointer: Any) -> Any:
    def ask(state: Answers) -> dict[str, Any]:
        name = interrupt("What is your name?")
        team = interrupt("Which team?")
        return {"name": name, "team": team}

    builder = StateGraph(Answers)
    builder.add_node("ask", ask)
    builder.add_edge(START, "ask")
    return builder.compile(checkpointer=checkpointer)


@tool
def deploy(service: str, tool_call_id: Annotated[str, InjectedToolCallId]) -> str:
    """Deploy a service."""
    decision = interrupt(
        {
            "type": "tool_approval",
            "tool_call_id": tool_call_id,
            "name": "deploy",
            "args": {"service": service},
            "description": f"Deploy {service}?",
        }
    )
    return f"deployed {service}" if decision.get("type") == "approve" else f"not deployed: {decision.get('message')}"


def with_subgraph(checkpointer: Any) -> Any:
    def plan(state: MessagesState) -> dict[str, Any]:
        if any(m.type == "tool" for m in state["messages"]):
            return {"messages": [AIMessage("done")]}
        calls = [
            {"name": "deploy", "args": {"service": s}, "id": f"call_{s}", "type": "tool_call"} for s in ("api", "web")
        ]
        return {"messages": [AIMessage("", tool_calls=calls)]}

    def route(state: MessagesState) -> list[Send] | str:
        calls = getattr(state["messages"][-1], "tool_calls", None)
        return [Send("tools", [call]) for call in calls] if calls else END

    inner = StateGraph(MessagesState)
    inner.add_node("plan", plan)
    inner.add_node("tools", ToolNode([deploy]))
    inner.add_edge(START, "plan")
    inner.add_conditional_edges("plan", route, ["tools", END])
    inner.add_edge("tools", "plan")
    outer = StateGraph(MessagesState)
    outer.add_node("work", inner.compile())
    outer.add_edge(START, "work")
    return outer.compile(checkpointer=checkpointer)


@dataclass(frozen=True)
class QuestionsSpec:
    name: str = "ask-twice"
    tools: tuple[BaseTool, ...] = ()

    def build_graph(self, checkpointer: Any) -> Any:
        return ask_twice(checkpointer)

    def start_input(self, prompt: str) -> dict[str, Any]:
        return {"prompt": prompt}


@dataclass(frozen=True)
class SubgraphSpec:
    name: str = "deploys"
    tools: tuple[BaseTool, ...] = field(default=(deploy,))

    def build_graph(self, checkpointer: Any) -> Any:
        return with_subgraph(checkpointer)

    def start_input(self, prompt: str) -> dict[str, Any]:
        return {"messages": [HumanMessage(prompt)]}
