"""How the outcome check reads the history (review/verify.py): a few checkpoints at a time, and of their values
only the `__interrupt__` and `__resume__` writes; the same deliveries as reading everything, on both backends."""

from __future__ import annotations

import operator
from typing import Annotated, Any, TypedDict

import pytest
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.graph import END, START, StateGraph

from review import ReviewConsole
from review.verify import (
    DELIVERY_SCAN,
    HISTORY_PAGE,
    INTERRUPT_CHANNEL,
    RESUME_CHANNEL,
    Encoded,
    deferring,
    deliveries,
    history,
    read_deliveries,
)
from tests.conftest import THREE_SHAPES
from tests.helpers import APPROVE, edit, reject


class _Count(TypedDict):
    n: int
    seen: Annotated[list[int], operator.add]


def _counter(saver: Any, steps: int) -> Any:
    """A graph that writes one checkpoint per step, `steps` steps."""

    def step(state: _Count) -> dict[str, Any]:
        return {"n": state["n"] + 1, "seen": [state["n"]]}

    builder = StateGraph(_Count)
    builder.add_node("step", step)
    builder.add_edge(START, "step")
    builder.add_conditional_edges("step", lambda s: END if s["n"] >= steps else "step")
    return builder.compile(checkpointer=saver)


def _ids(checkpoints: Any) -> list[str]:
    return [saved.config["configurable"]["checkpoint_id"] for saved in checkpoints]


def test_history_reads_the_same_checkpoints_as_one_list_a_page_at_a_time() -> None:
    saver = InMemorySaver()
    _counter(saver, 3 * HISTORY_PAGE).invoke({"n": 0, "seen": []}, {"configurable": {"thread_id": "t"}})
    config = {"configurable": {"thread_id": "t", "checkpoint_ns": ""}}
    every = _ids(saver.list(config))
    assert len(every) > 2 * HISTORY_PAGE
    assert _ids(history(saver, config)) == every
    assert _ids(history(saver, config, limit=HISTORY_PAGE + 1)) == every[: HISTORY_PAGE + 1]
    assert _ids(history(saver, config, limit=2)) == every[:2]
    assert DELIVERY_SCAN >= HISTORY_PAGE  # the first page never reads past the bound


def test_a_caller_that_stops_early_reads_one_page() -> None:
    saver = InMemorySaver()
    _counter(saver, 3 * HISTORY_PAGE).invoke({"n": 0, "seen": []}, {"configurable": {"thread_id": "t"}})
    config = {"configurable": {"thread_id": "t", "checkpoint_ns": ""}}
    lists: list[Any] = []
    real = saver.list

    def counted(*args: Any, **kwargs: Any) -> Any:
        lists.append(kwargs.get("limit"))
        return real(*args, **kwargs)

    saver.list = counted  # type: ignore[method-assign]
    newest = _ids(saver.list(config))[1]
    lists.clear()
    deliveries(history(saver, config), newest)
    assert lists == [HISTORY_PAGE]


def test_deferred_reads_decode_only_the_writes_the_check_reads_and_give_the_same_deliveries(
    db_path: Any,
) -> None:
    console = ReviewConsole.open(db_path)
    try:
        thread_id = console.start_run(THREE_SHAPES).result(timeout=30).thread_id
        config = {"configurable": {"thread_id": thread_id, "checkpoint_ns": ""}}
        head = console.graph.get_state(config).config["configurable"]["checkpoint_id"]
        rows = console.pending()
        by_tool = {
            "create_circle": APPROVE,
            "create_square": edit("create_square", shape_id="s1", color="yellow"),
            "create_triangle": reject("no triangles today"),
        }
        items = [{"thread_id": r.thread_id, "row_id": r.row_id, "decision": by_tool[r.tool]} for r in rows]
        assert console.submit(items, reviewer="ann").exit_code == 0
        saver = console.storage.saver
        whole = deliveries(saver.list(config), head)
        assert len(whole) == 3
        # The deferred view works on this backend's saver (no fall-back to the whole read)...
        deferred = list(history(deferring(saver), config))
        assert deferred and all(isinstance(value, Encoded) for s in deferred for _, _, value in s.pending_writes)
        assert deliveries(deferred, head) == whole
        # ...and decodes nothing but the interrupt and resume writes of the checkpoints back to the answered one.
        decoded: list[str] = []
        real = Encoded.decode

        def counted(value: Encoded) -> Any:
            decoded.append("x")
            return real(value)

        Encoded.decode = counted  # type: ignore[method-assign]
        try:
            assert read_deliveries(saver, config, head) == whole
        finally:
            Encoded.decode = real  # type: ignore[method-assign]
        wanted = 0
        for saved in saver.list(config):
            wanted += sum(channel in (INTERRUPT_CHANNEL, RESUME_CHANNEL) for _, channel, _ in saved.pending_writes)
            if saved.config["configurable"]["checkpoint_id"] == head:
                break
        assert len(decoded) == wanted
        assert saver.serde is not deferring(saver).serde  # the view never changes the console's own saver
        # The store's one query of those writes gives the same, lists no checkpoint, decodes the same writes.
        decoded.clear()
        listed: list[Any] = []
        real_list = type(saver).list

        def listing(self: Any, *args: Any, **kwargs: Any) -> Any:
            listed.append(args)
            return real_list(self, *args, **kwargs)

        Encoded.decode = counted  # type: ignore[method-assign]
        type(saver).list = listing  # type: ignore[method-assign]
        try:
            assert read_deliveries(saver, config, head, writes=console.storage.resume_writes) == whole
        finally:
            Encoded.decode = real  # type: ignore[method-assign]
            type(saver).list = real_list  # type: ignore[method-assign]
        assert listed == [] and len(decoded) == wanted
    finally:
        console.close()


class _LooksInside(InMemorySaver):
    """A saver whose `list` reads its checkpoint's values itself (as a migrating saver might)."""

    def list(self, *args: Any, **kwargs: Any) -> Any:
        for saved in super().list(*args, **kwargs):
            values = saved.checkpoint["channel_values"]
            if "n" in values:
                values["n"] += 0  # an undecoded value would raise here
            yield saved


def test_a_saver_that_cannot_list_undecoded_values_is_read_the_usual_way() -> None:
    saver = _LooksInside()
    _counter(saver, 3).invoke({"n": 0, "seen": []}, {"configurable": {"thread_id": "t"}})
    config = {"configurable": {"thread_id": "t", "checkpoint_ns": ""}}
    head = _ids(saver.list(config))[1]
    with pytest.raises(TypeError):
        list(history(deferring(saver), config))
    assert read_deliveries(saver, config, head) == deliveries(saver.list(config), head)


def test_when_the_writes_cannot_be_read_alone_the_checkpoints_are_listed() -> None:
    saver = InMemorySaver()
    _counter(saver, 3).invoke({"n": 0, "seen": []}, {"configurable": {"thread_id": "t"}})
    config = {"configurable": {"thread_id": "t", "checkpoint_ns": ""}}
    head = _ids(saver.list(config))[1]

    def broken(thread_id: str, since: str, *, checkpoints: int) -> list[Any]:
        raise RuntimeError("no such table")

    assert read_deliveries(saver, config, head, writes=broken) == deliveries(saver.list(config), head)
