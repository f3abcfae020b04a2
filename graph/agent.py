"""The canvas-shapes graph: agent -> one `tools` task per tool call (Send) -> agent.

Every pending tool call is routed as its own task, so parallel calls raise parallel
interrupts with distinct ids and a resume map routes each decision to its own tool
(one ToolNode task for several interrupting calls drops interrupts and misroutes values).
`thread_picture` (graph/picture.py) is imported here so that a console loading `make_graph` from this file
(langgraph.json) finds the demo's canvas beside it, as it finds it on the `AGENT` spec; `run_examples`, the
prompts New run offers for the demo, is found the same way.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, HumanMessage
from langchain_core.tools import BaseTool
from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.graph import END, START, StateGraph
from langgraph.graph.state import CompiledStateGraph
from langgraph.prebuilt import ToolNode
from langgraph.types import Send

from graph.model import chat_model
from graph.picture import thread_picture
from graph.state import CanvasState
from graph.tools import TOOLS

CompiledGraph = CompiledStateGraph[Any, Any, Any, Any]  # the demo compiled (its four type parameters open)


def route_tool_calls(state: CanvasState) -> list[Send] | str:
    """Each pending tool call as its own `tools` task (the list form of ToolNode input reads state from channels)."""
    last = state["messages"][-1]
    if isinstance(last, AIMessage) and last.tool_calls:
        return [Send("tools", [call]) for call in last.tool_calls]
    return END


def build_graph(
    checkpointer: BaseCheckpointSaver[Any] | None = None,
    *,
    model: BaseChatModel | None = None,
    asynchronous: bool = False,
) -> CompiledGraph:
    """Compile the agent. Any chat model with `bind_tools` fits; the scripted one is the default.

    `asynchronous` builds the same graph with an async model node (run with `ainvoke` / `astream`).
    """
    bound = (model or chat_model()).bind_tools(TOOLS)

    def agent(state: CanvasState) -> dict[str, Any]:
        return {"messages": [bound.invoke(state["messages"])]}

    async def agent_async(state: CanvasState) -> dict[str, Any]:
        return {"messages": [await bound.ainvoke(state["messages"])]}

    builder = StateGraph(CanvasState)
    builder.add_node("agent", agent_async if asynchronous else agent)
    builder.add_node("tools", ToolNode(TOOLS))
    builder.add_edge(START, "agent")  # every run starts with the model planning
    builder.add_conditional_edges("agent", route_tool_calls, ["tools", END])
    builder.add_edge("tools", "agent")  # tool results go back to the model for the next step
    return builder.compile(checkpointer=checkpointer)


def make_graph() -> CompiledGraph:
    """The graph for langgraph.json (`langgraph dev`, the console's `--config`): its host attaches a checkpointer."""
    return build_graph()


run_examples = {  # the console's `run_examples` hook (review/graphs.py): New run's example buttons for this graph
    "Three parallel shapes": "Create a red circle c1, a blue square s1 and a green triangle t1",
    "A 'then' sequence": "Draw a red circle c1, then a blue square s1",
    "Clear the canvas": "Clear the canvas",
}


def start_input(prompt: str) -> dict[str, Any]:
    """The input of a new run from a reviewer's prompt."""
    return {"messages": [HumanMessage(prompt)], "canvas": []}


@dataclass(frozen=True)
class AgentSpec:
    """What the console needs to know about an agent: how to build it, its tools, its first input, and how to draw
    one of its threads (the console's picture hook; every state built on `CanvasState` has a canvas to draw), and
    the example prompts New run offers for it."""

    name: str
    build_graph: Callable[..., CompiledGraph]
    tools: tuple[BaseTool, ...]
    start_input: Callable[[str], dict[str, Any]]
    thread_picture: Callable[..., dict[str, Any] | None] = thread_picture
    run_examples: Mapping[str, str] = field(default_factory=dict)


AGENT = AgentSpec(
    name="canvas-shapes",
    build_graph=build_graph,
    tools=tuple(TOOLS),
    start_input=start_input,
    run_examples=run_examples,
)
