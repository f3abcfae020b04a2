"""An agent built the way teams build theirs: langchain's `create_agent` + `HumanInTheLoopMiddleware`
in per-call mode (one interrupt per gated call, with a JSON-Schema `response_schema` of `$ref`s).

The model is scripted (no key): its first turn calls `send_email` and `delete_file` in parallel,
its second answers. `delete_file` allows only approve / reject.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from langchain.agents import create_agent
from langchain.agents.middleware import HumanInTheLoopMiddleware
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage, HumanMessage
from langchain_core.tools import BaseTool, tool

SENT: list[dict[str, Any]] = []  # what the tools did, in this process


@tool
def send_email(to: str, subject: str) -> str:
    """Send an email."""
    SENT.append({"tool": "send_email", "to": to, "subject": subject})
    return f"sent to {to}"


@tool
def delete_file(path: str) -> str:
    """Delete a file."""
    SENT.append({"tool": "delete_file", "path": path})
    return f"deleted {path}"


class _ScriptedModel(GenericFakeChatModel):
    def bind_tools(self, tools: Any, **kwargs: Any) -> _ScriptedModel:
        return self


def _model() -> _ScriptedModel:
    calls = [
        {"name": "send_email", "args": {"to": "a@x.org", "subject": "hi"}, "id": "call_email", "type": "tool_call"},
        {"name": "delete_file", "args": {"path": "/tmp/x"}, "id": "call_delete", "type": "tool_call"},
    ]
    return _ScriptedModel(messages=iter([AIMessage(content="", tool_calls=calls), AIMessage(content="Done.")]))


def build_graph(checkpointer: Any) -> Any:
    middleware = HumanInTheLoopMiddleware(
        interrupt_on={"send_email": True, "delete_file": {"allowed_decisions": ["approve", "reject"]}},
        interrupt_mode="per_call",
    )
    return create_agent(_model(), [send_email, delete_file], middleware=[middleware], checkpointer=checkpointer)


@dataclass(frozen=True)
class PerCallSpec:
    """The spec of this agent, as review/agent.py expects one."""

    name: str = "langchain-per-call"
    tools: tuple[BaseTool, ...] = (send_email, delete_file)

    def build_graph(self, checkpointer: Any) -> Any:
        return build_graph(checkpointer)

    def start_input(self, prompt: str) -> dict[str, Any]:
        return {"messages": [HumanMessage(prompt)]}


AGENT = PerCallSpec()
