"""Which agent the console reviews: an import path to a spec, the demo agent by default.

A spec has `name`, `build_graph(checkpointer)`, `tools` (their schemas check edited arguments)
and `start_input(prompt)`. REVIEW_AGENT="package.module:ATTR" points the console at another agent.
"""

from __future__ import annotations

import importlib
import os
from typing import Any, Protocol

from langchain_core.tools import BaseTool

DEFAULT_AGENT = "graph:AGENT"


class AgentSpec(Protocol):
    """What the console needs to know about an agent."""

    name: str
    tools: tuple[BaseTool, ...]

    def build_graph(self, checkpointer: Any) -> Any: ...

    def start_input(self, prompt: str) -> dict[str, Any]: ...


def load_agent(path: str | None = None) -> AgentSpec:
    """Import `module:attr` (REVIEW_AGENT, else the canvas-shapes demo)."""
    target = path or os.environ.get("REVIEW_AGENT") or DEFAULT_AGENT
    module_name, _, attr = target.partition(":")
    try:
        return getattr(importlib.import_module(module_name), attr or "AGENT")
    except (ImportError, AttributeError) as exc:
        raise ValueError(f"cannot load the agent {target!r}: {exc}") from exc
