"""The demo agent built async (its model node is `async def`): started and resumed from the console's
worker through an event loop, writing through the same fenced saver."""

from __future__ import annotations

from typing import Any

from graph import AGENT as DEMO
from graph.agent import AgentSpec
from graph.agent import build_graph as build_demo_graph


def build_graph(checkpointer: Any = None, **kwargs: Any) -> Any:
    return build_demo_graph(checkpointer, asynchronous=True, **kwargs)


AGENT = AgentSpec(name="canvas-shapes", build_graph=build_graph, tools=DEMO.tools, start_input=DEMO.start_input)
graph = build_graph()  # for --graph tests/agents/async_demo.py:graph
