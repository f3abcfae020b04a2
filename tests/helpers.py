"""Small helpers shared by tests: decisions by tool name, outside clients and queries on either backend."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from langgraph.checkpoint.sqlite import SqliteSaver

from review import PendingInterrupt
from review.storage import NewDecision

APPROVE = {"type": "approve"}


def edit(tool: str, **args: Any) -> dict[str, Any]:
    return {"type": "edit", "edited_action": {"name": tool, "args": args}}


def reject(message: str) -> dict[str, Any]:
    return {"type": "reject", "message": message}


def batch(rows: list[PendingInterrupt], by_tool: dict[str, Any]) -> list[dict[str, Any]]:
    """One decision item per row whose tool is in `by_tool`."""
    return [
        {"thread_id": r.thread_id, "row_id": r.row_id, "decision": by_tool[r.tool]} for r in rows if r.tool in by_tool
    ]


def is_postgres(db: object) -> bool:
    return "://" in str(db)


@contextmanager
def outside_saver(db: object) -> Iterator[Any]:
    """A plain LangGraph saver on its own connection to the store: a client outside the console."""
    if is_postgres(db):
        import psycopg
        from langgraph.checkpoint.postgres import PostgresSaver

        with psycopg.connect(str(db), autocommit=True, prepare_threshold=0) as conn:
            yield PostgresSaver(conn)  # type: ignore[arg-type]
        return
    conn = sqlite3.connect(db, check_same_thread=False, timeout=30)  # type: ignore[arg-type]
    try:
        yield SqliteSaver(conn)
    finally:
        conn.close()


def store_query(db: object, sql: str, params: tuple[Any, ...] = ()) -> list[Any]:
    """A read query (`?` placeholders) on the store at `db`, from a connection of its own."""
    from review import Settings
    from review.storage import open_storage

    storage = open_storage(Settings(db=str(db)), create=False)
    try:
        return storage.query(sql, params)
    finally:
        storage.close()


def new_decision(row_id: str = "i1", *, reviewer: str = "ana", thread_id: str = "t1", **extra: Any) -> NewDecision:
    """A decision as the core hands it to `Storage.claim` (an approve of `create_circle`, unless `extra` says)."""
    return NewDecision(
        thread_id=thread_id,
        row_id=row_id,
        interrupt_id=row_id.split("#", 1)[0],
        tool="create_circle",
        tool_call_id=f"call-{row_id}",
        decision_type=extra.pop("decision_type", "approve"),
        resume_json=extra.pop("resume_json", '{"type": "approve"}'),
        args_before='{"color": "red"}',
        args_after=None,
        message=None,
        reviewer=reviewer,
        **extra,
    )
