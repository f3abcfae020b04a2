"""langchain's default (batched) HITL request: ONE interrupt for all of a turn's calls, answered in call order.

`AGENT` is a spec the console (and a child `python -m review` with REVIEW_AGENT=tests.agents.batched_hitl:AGENT)
can load. After the review node a `follow_up` node runs; with SLOW_AGENT_STALL_AT=after_review it stalls there
(marker line first, see tests/core/slow_agent.py), i.e. after the decisions' checkpoint was saved.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass
from typing import Any

from langchain_core.tools import BaseTool, tool
from langgraph.graph import START, StateGraph
from langgraph.types import interrupt
from typing_extensions import TypedDict

REQUESTS = [
    {"name": "send_email", "args": {"to": "a@x.org", "subject": "hi"}, "description": "Email a"},
    {"name": "delete_file", "args": {"path": "/tmp/x"}, "description": "Delete a file"},
    {"name": "send_email", "args": {"to": "b@x.org", "subject": "yo"}, "description": "Email b"},
]


class BatchedState(TypedDict, total=False):
    prompt: str
    decisions: list[Any]
    followed_up: bool


@tool
def send_email(to: str, subject: str) -> str:
    """Send an email."""
    return f"sent to {to}"


def build_graph(checkpointer: Any) -> Any:
    def review_calls(state: BatchedState) -> dict[str, Any]:
        answer = interrupt(
            {
                "action_requests": REQUESTS,
                "review_configs": [
                    {"action_name": "send_email", "allowed_decisions": ["approve", "edit", "reject"]},
                    {"action_name": "delete_file", "allowed_decisions": ["approve", "reject"]},
                ],
            }
        )
        if len(answer["decisions"]) != len(REQUESTS):  # what langchain's middleware refuses too
            raise ValueError("one decision per action request")
        return {"decisions": answer["decisions"]}

    def follow_up(state: BatchedState) -> dict[str, Any]:
        if os.environ.get("SLOW_AGENT_STALL_AT") == "after_review":
            marker = os.environ.get("SLOW_AGENT_MARKER")
            if marker:
                with open(marker, "a", encoding="utf-8") as out:
                    out.write(json.dumps({"pid": os.getpid(), "at": "after_review"}) + "\n")
            time.sleep(float(os.environ.get("SLOW_AGENT_STALL_S") or 120))
        return {"followed_up": True}

    builder = StateGraph(BatchedState)
    builder.add_node("review_calls", review_calls)
    builder.add_node("follow_up", follow_up)
    builder.add_edge(START, "review_calls")
    builder.add_edge("review_calls", "follow_up")
    return builder.compile(checkpointer=checkpointer)


@dataclass(frozen=True)
class BatchedSpec:
    """The spec of this agent, as review/agent.py expects one."""

    name: str = "batched-hitl"
    tools: tuple[BaseTool, ...] = (send_email,)

    def build_graph(self, checkpointer: Any) -> Any:
        return build_graph(checkpointer)

    def start_input(self, prompt: str) -> dict[str, Any]:
        return {"prompt": prompt}


AGENT = BatchedSpec()
