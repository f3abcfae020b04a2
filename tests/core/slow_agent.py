"""Test-only agent spec: the demo agent, stalling at a chosen worst moment so a test can kill or pause it.

`REVIEW_AGENT=tests.core.slow_agent:AGENT` in a child process makes "killed in the middle" deterministic.
Environment:
  SLOW_AGENT_STALL_AT  where to stall:
                         before_effect (default): a tool has its decision and is about to act;
                         after_effect: the tool acted (its effect is in the log) but its write is not saved;
                         model: the model (the `agent` node) is about to plan; the checkpoint before it is saved;
                         check: a resume ended and its outcome check began: nothing of it is recorded yet;
  SLOW_AGENT_MODEL_TURN  with `model`: stall on this model turn of the prompt (1 = the first plan; default 2);
  SLOW_AGENT_STALL_S   seconds to stall (default 120);
  SLOW_AGENT_MARKER    a file that gets one JSON line when the stall starts;
  SLOW_AGENT_ONLY      with the effect stalls: only the call drawing this shape_id (the others run normally).
Only the child process that loads this spec is affected (the stall reads its environment at call time).
"""

from __future__ import annotations

import json
import os
import time
from typing import Any

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage

import graph.tools as demo_tools
import review.sources.local
from graph import AGENT as DEMO
from graph import ScriptedShapesModel
from graph import build_graph as build_demo_graph
from graph.agent import AgentSpec

_record_effect = demo_tools._record_effect
_read_verdicts = review.sources.local.read_verdicts


def _stall(what: dict[str, Any]) -> None:
    marker = os.environ.get("SLOW_AGENT_MARKER")
    if marker:
        with open(marker, "a", encoding="utf-8") as out:
            out.write(json.dumps({"pid": os.getpid(), **what}) + "\n")
    time.sleep(float(os.environ.get("SLOW_AGENT_STALL_S") or 120))


def _stalling_record_effect(tool_call_id: str, effect: dict[str, Any]) -> bool:
    at = os.environ.get("SLOW_AGENT_STALL_AT") or "before_effect"
    only = os.environ.get("SLOW_AGENT_ONLY")
    chosen = at in ("before_effect", "after_effect") and (not only or effect.get("shape_id") == only)
    if chosen and at == "before_effect":
        _stall({"tool_call_id": tool_call_id, "at": at, **effect})
    done = _record_effect(tool_call_id, effect)
    if chosen and at == "after_effect":
        _stall({"tool_call_id": tool_call_id, "at": at, **effect})
    return done


class _StallingModel(ScriptedShapesModel):
    """The scripted model, stalling before one chosen turn's plan."""

    def _generate(self, messages: list[BaseMessage], *args: Any, **kwargs: Any) -> Any:
        if os.environ.get("SLOW_AGENT_STALL_AT") == "model":
            last_human = max(i for i, m in enumerate(messages) if isinstance(m, HumanMessage))
            turn = 1 + sum(isinstance(m, AIMessage) for m in messages[last_human:])
            if turn == int(os.environ.get("SLOW_AGENT_MODEL_TURN") or 2):
                _stall({"at": "model", "turn": turn})
        return super()._generate(messages, *args, **kwargs)


def _stalling_check(*args: Any, **kwargs: Any) -> dict[str, str]:
    if os.environ.get("SLOW_AGENT_STALL_AT") == "check":
        _stall({"at": "check"})
    return _read_verdicts(*args, **kwargs)


def build_graph(checkpointer: Any = None, **kwargs: Any) -> Any:
    # The demo tools look `_record_effect` up at call time: the stall sits around the effect.
    demo_tools._record_effect = _stalling_record_effect
    review.sources.local.read_verdicts = _stalling_check  # what the local source checks a resume's outcome with
    return build_demo_graph(checkpointer, model=kwargs.pop("model", None) or _StallingModel(), **kwargs)


# The same graph as the demo (same id: it reviews the demo's threads), stalling where a test asks.
AGENT = AgentSpec(name="canvas-shapes", build_graph=build_graph, tools=DEMO.tools, start_input=DEMO.start_input)
