"""A test-only agent whose interrupt payload carries HTML and script: the console must show it as text.

`python -m tests.e2e.xss_agent DB` starts one thread on the SQLite file DB with its OWN SqliteSaver (another
process, another agent, the same checkpoint tables) and prints the thread id. The graph has the demo's shape
(nodes `agent` and `tools`, one `Send` per tool call, the same state), so the console's graph reads its pending
interrupt from checkpoint state like any other thread's; its tool takes free text, which the demo's tools refuse.
"""

from __future__ import annotations

import json
import sqlite3
import sys
import uuid
from typing import Any

from langchain_core.messages import AIMessage, HumanMessage
from langchain_core.tools import tool
from langgraph.checkpoint.sqlite import SqliteSaver
from langgraph.graph import END, START, StateGraph
from langgraph.prebuilt import ToolNode
from langgraph.types import interrupt

from graph.agent import route_tool_calls
from graph.state import CanvasState

IMG = "<img src=x onerror=alert(1)>"
SCRIPT = "<script>alert(1)</script>"
TOOL_NAME = "create_circle"
SHAPE_ID = f"{IMG}c9"
COLOUR = f"{SCRIPT}red"
DESCRIPTION = f"Draw {IMG} and run {SCRIPT} <b>bold</b>"
PROMPT = f"Please draw {IMG} {SCRIPT}"


@tool(TOOL_NAME)
def create_circle_unchecked(shape_id: str, color: str) -> str:
    """Ask a reviewer about a circle whose fields are free text (never drawn: the test only reads the row)."""
    decision = interrupt(
        {
            "type": "tool_approval",
            "tool_call_id": "xss-call",
            "name": TOOL_NAME,
            "args": {"shape_id": shape_id, "color": color},
            "description": DESCRIPTION,
        }
    )
    return f"decision {json.dumps(decision)}"


def build(checkpointer: Any) -> Any:
    def agent(state: CanvasState) -> dict[str, Any]:
        if any(isinstance(m, AIMessage) for m in state["messages"]):
            return {"messages": [AIMessage(content=f"Done {IMG}")]}
        call = {"name": TOOL_NAME, "args": {"shape_id": SHAPE_ID, "color": COLOUR}, "id": "xss-call"}
        return {"messages": [AIMessage(content=f"Asking about {SCRIPT}", tool_calls=[call])]}

    builder = StateGraph(CanvasState)
    builder.add_node("agent", agent)
    builder.add_node("tools", ToolNode([create_circle_unchecked]))
    builder.add_edge(START, "agent")
    builder.add_conditional_edges("agent", route_tool_calls, ["tools", END])
    builder.add_edge("tools", "agent")
    return builder.compile(checkpointer=checkpointer)


def main(db: str) -> str:
    conn = sqlite3.connect(db, check_same_thread=False, timeout=30)
    conn.execute("PRAGMA busy_timeout = 30000")
    try:
        saver = SqliteSaver(conn)
        saver.setup()
        thread_id = f"xss-{uuid.uuid4().hex[:12]}"
        config = {"configurable": {"thread_id": thread_id}}
        graph = build(saver)
        graph.invoke({"messages": [HumanMessage(PROMPT)], "canvas": []}, config)
        pending = graph.get_state(config).interrupts
        assert len(pending) == 1, pending
        return thread_id
    finally:
        conn.close()


if __name__ == "__main__":
    print(main(sys.argv[1]))
