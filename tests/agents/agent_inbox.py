"""Agent Inbox's request schema, in both the forms graphs raise it, beside plain questions.

Three parallel nodes: `email` raises the dict form (accept / edit / response allowed), `page` the
one-item list form Agent Inbox's own examples use (accept / ignore), `budget` a plain question, and
`limits` a question whose response_schema asks for an object. Each records what it was answered.
"""

from __future__ import annotations

import operator
from dataclasses import dataclass
from typing import Annotated, Any

from langchain_core.tools import BaseTool
from langgraph.graph import START, StateGraph
from langgraph.types import interrupt
from typing_extensions import TypedDict


class InboxState(TypedDict, total=False):
    prompt: str
    answers: Annotated[list[Any], operator.add]  # parallel nodes append


def _request(action: str, **config: bool) -> dict[str, Any]:
    flags = {"allow_accept": False, "allow_edit": False, "allow_respond": False, "allow_ignore": False, **config}
    return {
        "action_request": {"action": action, "args": {"to": "ops@example.com"}},
        "config": flags,
        "description": f"Send {action}?",
    }


def build_graph(checkpointer: Any) -> Any:
    def email(state: InboxState) -> dict[str, Any]:
        return {
            "answers": [
                {
                    "send_email": interrupt(
                        _request("send_email", allow_accept=True, allow_edit=True, allow_respond=True)
                    )
                }
            ]
        }

    def page(state: InboxState) -> dict[str, Any]:
        return {
            "answers": [{"page_oncall": interrupt([_request("page_oncall", allow_accept=True, allow_ignore=True)])}]
        }

    def budget(state: InboxState) -> dict[str, Any]:
        return {"answers": [{"budget": interrupt("What is the budget?")}]}

    def limits(state: InboxState) -> dict[str, Any]:
        schema = {"type": "object", "properties": {"max": {"type": "number"}}}
        return {"answers": [{"limits": interrupt({"question": "Which limits apply?"}, response_schema=schema)}]}

    builder = StateGraph(InboxState)
    for name, node in (("email", email), ("page", page), ("budget", budget), ("limits", limits)):
        builder.add_node(name, node)
        builder.add_edge(START, name)
    return builder.compile(checkpointer=checkpointer)


@dataclass(frozen=True)
class AgentInboxSpec:
    """The spec of this agent, as review/agent.py expects one."""

    name: str = "agent-inbox-style"
    tools: tuple[BaseTool, ...] = ()

    def build_graph(self, checkpointer: Any) -> Any:
        return build_graph(checkpointer)

    def start_input(self, prompt: str) -> dict[str, Any]:
        return {"prompt": prompt, "answers": []}


AGENT = AgentInboxSpec()
