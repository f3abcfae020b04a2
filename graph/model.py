"""A scripted chat model that plans canvas tool calls from the prompt: no network, no key.

It reads the latest human message, splits it into steps on "then", and in each model turn
emits the next step's tool calls (all shapes of a step as parallel calls in ONE AI message).
When every step has been taken it answers with a short summary of the tool results.
"""

from __future__ import annotations

import os
import re
import uuid
from collections.abc import Sequence
from typing import Any

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, ToolMessage
from langchain_core.outputs import ChatGeneration, ChatResult

_COLOUR = r"(?:red|orange|yellow|green|blue|purple|pink|brown|black|white|gr[ae]y|#[0-9a-fA-F]{6})"
_SHAPE = re.compile(
    rf"(?:\b(?:an?|the)\s+)?(?P<color>{_COLOUR})\s+(?P<kind>circle|square|triangle)s?\b"
    r"(?:\s+(?!and\b|then\b|with\b)(?P<id>[A-Za-z0-9_-]{1,32})\b)?",
    re.IGNORECASE,
)
_CLEAR = re.compile(r"\b(clear|wipe|erase|empty)\b.*\bcanvas\b|\bcanvas\b.*\b(clear|wipe|erase|empty)\b", re.IGNORECASE)
_THEN = re.compile(r"\bthen\b|;", re.IGNORECASE)


def plan_steps(prompt: str) -> list[list[dict[str, Any]]]:
    """Split a prompt into sequential steps of tool calls (name + args), no ids yet."""
    steps: list[list[dict[str, Any]]] = []
    for part in _THEN.split(prompt):
        calls: list[dict[str, Any]] = []
        if _CLEAR.search(part):
            calls.append({"name": "clear_canvas", "args": {}})
        for match in _SHAPE.finditer(part):
            kind = match["kind"].lower()
            shape_id = match["id"] or f"{kind}-{uuid.uuid4().hex[:6]}"
            calls.append({"name": f"create_{kind}", "args": {"shape_id": shape_id, "color": match["color"].lower()}})
        if calls:
            steps.append(calls)
    return steps


def _since_last_human(messages: Sequence[BaseMessage]) -> tuple[HumanMessage | None, list[BaseMessage]]:
    for index in range(len(messages) - 1, -1, -1):
        if isinstance(messages[index], HumanMessage):
            return messages[index], list(messages[index + 1 :])  # type: ignore[return-value]
    return None, list(messages)


def _summary(turn: list[BaseMessage]) -> str:
    results = [m.content for m in turn if isinstance(m, ToolMessage)]
    if not results:
        return "Done."
    return "Done. " + " ".join(str(text) for text in results)


class ScriptedShapesModel(BaseChatModel):
    """Plans tool calls from the prompt, one step per model turn. Deterministic but for generated ids."""

    @property
    def _llm_type(self) -> str:
        return "scripted-shapes"

    def bind_tools(self, tools: Sequence[Any], **kwargs: Any) -> ScriptedShapesModel:
        """The model itself: the script already knows the demo's tools."""
        # The script only ever calls the canvas tools; binding is accepted for the seam's sake.
        return self

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        human, turn = _since_last_human(messages)
        steps = plan_steps(str(human.content)) if human else []
        taken = sum(1 for m in turn if isinstance(m, AIMessage) and m.tool_calls)
        if taken < len(steps):
            calls = [
                {"name": c["name"], "args": c["args"], "id": f"call_{uuid.uuid4().hex[:24]}", "type": "tool_call"}
                for c in steps[taken]
            ]
            message = AIMessage(content="", tool_calls=calls)
        elif steps:
            message = AIMessage(content=_summary(turn))
        else:
            message = AIMessage(
                content="I draw shapes on a canvas. Try: 'Create a red circle c1, a blue square s1 "
                "and a green triangle t1', 'Draw a red circle c1, then a blue square s1' or 'Clear the canvas'."
            )
        return ChatResult(generations=[ChatGeneration(message=message)])


class ModelNotAvailable(ValueError):
    """REVIEW_MODEL names a model this machine cannot build; the message says what is missing."""


def chat_model() -> BaseChatModel:
    """The demo's chat model: the scripted one, or `REVIEW_MODEL=provider:model` through langchain's init_chat_model.

    A real model needs the `langchain` package, the provider's package (e.g. langchain-openai) and its
    key in the environment; whatever is missing is named in one line.
    """
    target = (os.environ.get("REVIEW_MODEL") or "").strip()
    if not target or target == "scripted":
        return ScriptedShapesModel()
    try:
        from langchain.chat_models import init_chat_model
    except ImportError:
        raise ModelNotAvailable(
            f"REVIEW_MODEL={target} needs the langchain package: pip install langchain and the provider's package"
        ) from None
    try:
        return init_chat_model(target)
    except ImportError as exc:
        raise ModelNotAvailable(f"REVIEW_MODEL={target}: {str(exc).splitlines()[0]}") from None
    except Exception as exc:  # e.g. the provider's key is not set
        raise ModelNotAvailable(f"REVIEW_MODEL={target}: {type(exc).__name__}: {str(exc).splitlines()[0]}") from None
