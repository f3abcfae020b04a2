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
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, ToolMessage
from langchain_core.outputs import ChatGeneration, ChatResult
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


CALLS = [
    {"name": "send_email", "args": {"to": "a@x.org", "subject": "hi"}, "id": "call_email", "type": "tool_call"},
    {"name": "delete_file", "args": {"path": "/tmp/x"}, "id": "call_delete", "type": "tool_call"},
]


class _ScriptedModel(BaseChatModel):
    """Stateless, so any process can run any turn: tool calls first, "Done." once tool results are in."""

    @property
    def _llm_type(self) -> str:
        return "scripted-tidy-up"

    def bind_tools(self, tools: Any, **kwargs: Any) -> _ScriptedModel:
        return self

    def _generate(self, messages: list[BaseMessage], *args: Any, **kwargs: Any) -> ChatResult:
        done = any(isinstance(m, ToolMessage) for m in messages)
        message = AIMessage(content="Done.") if done else AIMessage(content="", tool_calls=CALLS)
        return ChatResult(generations=[ChatGeneration(message=message)])


def _model() -> _ScriptedModel:
    return _ScriptedModel()


def build_graph(checkpointer: Any, interrupt_mode: Any = "per_call") -> Any:
    middleware = HumanInTheLoopMiddleware(
        interrupt_on={"send_email": True, "delete_file": {"allowed_decisions": ["approve", "reject"]}},
        interrupt_mode=interrupt_mode,
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


# What langgraph.json or `--graph tests/agents/langchain_per_call.py:graph` loads: a compiled graph, no checkpointer.
graph = build_graph(None)
