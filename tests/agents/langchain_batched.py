"""The same create_agent as tests/agents/langchain_per_call.py, with the middleware's default batched request:
ONE interrupt for the turn's two calls, `{"action_requests": [...], "review_configs": [...]}`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from langchain_core.messages import HumanMessage
from langchain_core.tools import BaseTool

from tests.agents.langchain_per_call import build_graph as build_per_call
from tests.agents.langchain_per_call import delete_file, send_email


def build_graph(checkpointer: Any) -> Any:
    return build_per_call(checkpointer, interrupt_mode="batched")


@dataclass(frozen=True)
class BatchedAgentSpec:
    """The spec of this agent."""

    name: str = "langchain-batched"
    tools: tuple[BaseTool, ...] = (send_email, delete_file)

    def build_graph(self, checkpointer: Any) -> Any:
        return build_graph(checkpointer)

    def start_input(self, prompt: str) -> dict[str, Any]:
        return {"messages": [HumanMessage(prompt)]}


AGENT = BatchedAgentSpec()
