"""Test-only agent spec: the demo agent, but a tool stalls AFTER the reviewer's decision, before its effect.

`REVIEW_AGENT=tests.core.slow_agent:AGENT` in a child process makes "killed in the middle of applying
a recorded decision" deterministic: the decision is claimed, the resume has started, the tool has its
decision and is about to draw, and the child is SIGKILLed there. Environment:
  SLOW_AGENT_STALL_S  seconds to stall (default 120);
  SLOW_AGENT_MARKER   a file that gets one line per stalling tool call when it starts stalling;
  SLOW_AGENT_ONLY     stall only the call drawing this shape_id (the others finish normally).
Only the child process that loads this spec is affected.
"""

from __future__ import annotations

import json
import os
import time
from typing import Any

import graph.tools as demo_tools
from graph import AGENT as DEMO
from graph import build_graph as build_demo_graph
from graph.agent import AgentSpec

_record_effect = demo_tools._record_effect


def _stall_then_record_effect(tool_call_id: str, effect: dict[str, Any]) -> None:
    only = os.environ.get("SLOW_AGENT_ONLY")
    if not only or effect.get("shape_id") == only:
        marker = os.environ.get("SLOW_AGENT_MARKER")
        if marker:
            with open(marker, "a", encoding="utf-8") as out:
                out.write(json.dumps({"tool_call_id": tool_call_id, "pid": os.getpid(), **effect}) + "\n")
        time.sleep(float(os.environ.get("SLOW_AGENT_STALL_S") or 120))
    _record_effect(tool_call_id, effect)


def build_graph(checkpointer: Any = None, **kwargs: Any) -> Any:
    # The demo tools look `_record_effect` up at call time: the stall sits between decision and effect.
    demo_tools._record_effect = _stall_then_record_effect
    return build_demo_graph(checkpointer, **kwargs)


AGENT = AgentSpec(name="canvas-shapes-slow", build_graph=build_graph, tools=DEMO.tools, start_input=DEMO.start_input)
