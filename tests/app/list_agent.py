"""An `@entrypoint` whose input is a list of strings: a schema that makes no form, so New run asks for JSON.

`--graph tests/app/list_agent.py:tally` (REVIEW_GRAPH). It asks one question about the items, then returns them
counted.
"""

from __future__ import annotations

from langgraph.func import entrypoint
from langgraph.types import interrupt


@entrypoint()
def tally(items: list[str]) -> str:
    """Ask whether to count the items, then count them."""
    answer = interrupt(f"Count {len(items)} item(s): {', '.join(items)}?")
    return f"{len(items)} item(s), {answer}"
