"""The layout of LangGraph issue #6624: three interrupting tools behind ONE ToolNode task.

The model's one turn calls `ask_a`, `ask_b` and `ask_c` in parallel; a plain `tools` edge runs them all
in one pull task, so only one interrupt shows and a resume re-runs the whole task. The console must
name this layout (a warning on the row) and refuse to decide it unless forced.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from langchain_core.messages import AIMessage, HumanMessage
from langchain_core.tools import BaseTool, tool
from langgraph.graph import END, START, MessagesState, StateGraph
from langgraph.prebuilt import ToolNode
from langgraph.types import interrupt


def _ask(name: str) -> BaseTool:
    @tool(name)
    def ask(topic: str) -> str:
        """Ask a person about a topic."""
        return f"{name}: {interrupt({'type': 'tool_approval', 'name': name, 'args': {'topic': topic}})}"

    return ask


TOOLS = [_ask("ask_a"), _ask("ask_b"), _ask("ask_c")]


def build_graph(checkpointer: Any) -> Any:
    def agent(state: MessagesState) -> dict[str, Any]:
        if any(m.type == "tool" for m in state["messages"]):
            return {"messages": [AIMessage("done")]}
        calls = [
            {"name": t.name, "args": {"topic": t.name[-1]}, "id": f"call_{t.name}", "type": "tool_call"} for t in TOOLS
        ]
        return {"messages": [AIMessage("", tool_calls=calls)]}

    def route(state: MessagesState) -> str:
        return "tools" if getattr(state["messages"][-1], "tool_calls", None) else END

    builder = StateGraph(MessagesState)
    builder.add_node("agent", agent)
    builder.add_node("tools", ToolNode(TOOLS))  # the unsafe part: one task for all the turn's calls
    builder.add_edge(START, "agent")
    builder.add_conditional_edges("agent", route, ["tools", END])
    builder.add_edge("tools", "agent")
    return builder.compile(checkpointer=checkpointer)


@dataclass(frozen=True)
class ToolNodeSpec:
    """The spec of this agent."""

    name: str = "toolnode-6624"
    tools: tuple[BaseTool, ...] = tuple(TOOLS)

    def build_graph(self, checkpointer: Any) -> Any:
        return build_graph(checkpointer)

    def start_input(self, prompt: str) -> dict[str, Any]:
        return {"messages": [HumanMessage(prompt)]}


AGENT = ToolNodeSpec()
