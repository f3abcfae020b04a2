"""Which agent the console reviews: an import path to a spec, the demo agent by default.

A spec has `name`, `build_graph(checkpointer)`, `tools` (their schemas check edited arguments),
`start_input(prompt)` and, optionally, `allowed_types`: the (module, class) pairs its state holds
beyond LangGraph's safe ones, which the restricted checkpoint serializer may then revive, and
`thread_picture`: how the pages draw one of its threads (review/pictures.py).
`Settings.agent` ("package.module:ATTR", REVIEW_AGENT) points the console at another agent.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any, Protocol

from review.settings import DEFAULT_AGENT

if TYPE_CHECKING:  # a type hint only: importing langchain_core.tools pulls in langsmith
    from langchain_core.tools import BaseTool


class AgentSpec(Protocol):
    """What the console needs to know about an agent (graph.agent.AgentSpec is one)."""

    name: str
    tools: tuple[BaseTool, ...]

    def build_graph(self, checkpointer: Any) -> Any:
        """The agent's graph compiled over the console's `checkpointer`."""

    def start_input(self, prompt: str) -> dict[str, Any]:
        """The input of a new run started from a reviewer's prompt."""


def load_agent(target: str | None = None) -> AgentSpec:
    """Import `module:attr` (the demo agent when None)."""
    target = target or DEFAULT_AGENT
    module_name, _, attr = target.partition(":")
    try:
        spec: AgentSpec = getattr(importlib.import_module(module_name), attr or "AGENT")
    except (ImportError, AttributeError) as exc:
        raise ValueError(f"cannot load the agent {target!r}: {exc}") from exc
    return spec


def allowed_types(spec: AgentSpec) -> tuple[tuple[str, ...], ...]:
    """The extra types the agent's checkpoints may hold (none for the demo)."""
    return tuple(tuple(item) for item in getattr(spec, "allowed_types", ()) or ())
