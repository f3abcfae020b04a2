"""Plan-and-execute with a pydantic `Plan` in its state, loaded as a graph FILE (`--graph path.py:graph`).

Scripted, no LLM: `plan` writes a `Plan` from the prompt (one step per comma-separated part), `approve`
asks a person whether to go ahead (a plain question), `execute` runs the steps. `execute` reads
`state["plan"].steps` by attribute, so a plan that comes back from the checkpoint as a dict (the
serializer refused the type) breaks the run with `'dict' object has no attribute 'steps'`.
`review_plan` interrupts with a pydantic value instead of a string: the console lists it by its fields.
"""

from __future__ import annotations

from enum import Enum
from typing import Any

from langgraph.graph import END, START, StateGraph
from langgraph.types import interrupt
from pydantic import BaseModel, Field
from typing_extensions import TypedDict


class Plan(BaseModel):
    """What the planner decided to do, in order."""

    steps: list[str] = Field(default_factory=list)


class Outcome(Enum):
    """How a run ended."""

    DONE = "done"
    STOPPED = "stopped"


class PlanState(TypedDict, total=False):
    prompt: str
    plan: Plan | None
    approval: str
    done: list[str]
    outcome: Outcome


def plan(state: PlanState) -> dict[str, Any]:
    steps = [part.strip() for part in state.get("prompt", "").split(",") if part.strip()]
    return {"plan": Plan(steps=steps)}


def approve(state: PlanState) -> dict[str, Any]:
    plan = state["plan"]
    assert plan is not None
    answer = interrupt(f"Run these {len(plan.steps)} steps: {'; '.join(plan.steps)}? (yes/no)")
    return {"approval": str(answer)}


def execute(state: PlanState) -> dict[str, Any]:
    plan = state["plan"]
    assert plan is not None
    if state.get("approval", "").strip().lower() != "yes":
        return {"outcome": Outcome.STOPPED, "done": []}
    return {"outcome": Outcome.DONE, "done": [f"ran: {step}" for step in plan.steps]}  # attribute access


def build() -> StateGraph[PlanState]:
    """The uncompiled graph: plan -> approve (interrupt) -> execute."""
    builder = StateGraph(PlanState)
    builder.add_node("plan", plan)
    builder.add_node("approve", approve)
    builder.add_node("execute", execute)
    builder.add_edge(START, "plan")
    builder.add_edge("plan", "approve")
    builder.add_edge("approve", "execute")
    builder.add_edge("execute", END)
    return builder


graph = build().compile()


def review_plan(state: PlanState) -> dict[str, Any]:
    """A question whose value is the pydantic model itself."""
    answer = interrupt(state["plan"])
    return {"approval": str(answer)}


def _with_model_question() -> StateGraph[PlanState]:
    builder = StateGraph(PlanState)
    builder.add_node("plan", plan)
    builder.add_node("approve", review_plan)
    builder.add_node("execute", execute)
    builder.add_edge(START, "plan")
    builder.add_edge("plan", "approve")
    builder.add_edge("approve", "execute")
    builder.add_edge("execute", END)
    return builder


model_question = _with_model_question().compile()
