"""A hostile agent for tests: its interrupt payload, messages and canvas are full of HTML and script.

`REVIEW_AGENT=tests.app.html_agent:AGENT` points the console at it. Every value must show as text.
"""

from __future__ import annotations

from typing import Any

from langchain_core.messages import AIMessage, HumanMessage, ToolMessage
from langgraph.graph import END, START, StateGraph
from langgraph.types import interrupt

from graph.agent import AgentSpec
from graph.state import CanvasState

IMG = "<img src=x onerror=alert(1)>"
SCRIPT = "<script>alert('xss')</script>"


def _ask(state: CanvasState) -> dict[str, Any]:
    decision = interrupt(
        {
            "type": "tool_approval",
            "tool_call_id": "call_html",
            "name": IMG,
            "args": {"shape_id": SCRIPT, "color": 'red" onmouseover="alert(2)'},
            "description": f"**bold** [link](javascript:alert(3)) {IMG}",
        }
    )
    text = decision.get("message") if isinstance(decision, dict) else None
    return {
        "canvas": [{"op": "add", "shape": {"shape_id": IMG, "kind": "circle", "color": "url(javascript:alert(4))"}}],
        "messages": [
            AIMessage(content=f"{SCRIPT} planned", tool_calls=[]),
            ToolMessage(content=f"{IMG} {text or ''}", tool_call_id="call_html", name=IMG),
        ],
    }


def build_graph(checkpointer: Any = None) -> Any:
    builder = StateGraph(CanvasState)
    builder.add_node("ask", _ask)
    builder.add_edge(START, "ask")
    builder.add_edge("ask", END)
    return builder.compile(checkpointer=checkpointer)


def start_input(prompt: str) -> dict[str, Any]:
    return {"messages": [HumanMessage(prompt)], "canvas": []}


AGENT = AgentSpec(name="html-agent", build_graph=build_graph, tools=(), start_input=start_input)
