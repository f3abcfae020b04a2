"""A support agent as a team builds one: langchain's `create_agent` + `HumanInTheLoopMiddleware` over `refund_order`
and `email_customer`, whose email body runs over several lines; and a yes/no question with a boolean schema.

The model is scripted (no key): its first turn refunds an order and writes to the customer in parallel, its second
says it is done. `refund_order` allows approve / reject; `email_customer` approve / edit / reject.
`confirm_shipping` asks `interrupt(..., response_schema={"type": "boolean"})` and branches on the answer.
"""

from __future__ import annotations

from typing import Any, Literal

from langchain.agents import create_agent
from langchain.agents.middleware import HumanInTheLoopMiddleware
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage, ToolMessage
from langchain_core.outputs import ChatGeneration, ChatResult
from langchain_core.tools import BaseTool, tool
from langgraph.graph import END, START, StateGraph
from langgraph.types import Command, interrupt
from typing_extensions import TypedDict

BODY = "Hi Ana,\n\nWe refunded order 1042.\nIt shows on your card in 3-5 days.\n\nBest,\nSupport"


@tool
def refund_order(order_id: str, amount: float) -> str:
    """Refund an order to the customer's card."""
    return f"refunded {amount} on {order_id}"


@tool
def email_customer(to: str, subject: str, body: str) -> str:
    """Send the customer an email."""
    return f"emailed {to}: {subject}\n{body}"  # what the tool was given, kept in the checkpoint


CALLS = [
    {"name": "refund_order", "args": {"order_id": "1042", "amount": 25.5}, "id": "call_refund", "type": "tool_call"},
    {
        "name": "email_customer",
        "args": {"to": "ana@example.org", "subject": "Your refund", "body": BODY},
        "id": "call_email",
        "type": "tool_call",
    },
]


class _ScriptedModel(BaseChatModel):
    """Stateless: tool calls first, "Done." once tool results are in."""

    @property
    def _llm_type(self) -> str:
        return "scripted-support"

    def bind_tools(self, tools: Any, **kwargs: Any) -> _ScriptedModel:
        return self

    def _generate(self, messages: list[BaseMessage], *args: Any, **kwargs: Any) -> ChatResult:
        done = any(isinstance(m, ToolMessage) for m in messages)
        message = AIMessage(content="Done.") if done else AIMessage(content="", tool_calls=CALLS)
        return ChatResult(generations=[ChatGeneration(message=message)])


TOOLS: list[BaseTool] = [refund_order, email_customer]


def build(checkpointer: Any = None) -> Any:
    """The agent, per-call approval (one interrupt per gated call)."""
    middleware = HumanInTheLoopMiddleware(
        interrupt_on={
            "refund_order": {"allowed_decisions": ["approve", "reject"]},
            "email_customer": {"allowed_decisions": ["approve", "edit", "reject"]},
        },
        interrupt_mode="per_call",
    )
    return create_agent(_ScriptedModel(), TOOLS, middleware=[middleware], checkpointer=checkpointer)


graph = build()


class ShippingState(TypedDict, total=False):
    order: str
    status: str


def ask(state: ShippingState) -> Command[Literal["ship", "hold"]]:
    ship_it = interrupt(f"Ship order {state.get('order', '?')} today?", response_schema={"type": "boolean"})
    return Command(goto="ship" if ship_it is True else "hold")


def ship(state: ShippingState) -> dict[str, Any]:
    return {"status": "shipped"}


def hold(state: ShippingState) -> dict[str, Any]:
    return {"status": "held"}


def _confirm_shipping() -> StateGraph:
    builder = StateGraph(ShippingState)
    builder.add_node("ask", ask)
    builder.add_node("ship", ship)
    builder.add_node("hold", hold)
    builder.add_edge(START, "ask")
    builder.add_edge("ship", END)
    builder.add_edge("hold", END)
    return builder


confirm_shipping = _confirm_shipping().compile()
