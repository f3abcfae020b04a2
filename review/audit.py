"""The decision log: who decided what, when, with the arguments before and after."""

from __future__ import annotations

import csv
import io
import json
from dataclasses import asdict, dataclass
from typing import Any

from review.store import Store

AUDIT_FIELDS = (
    "decided_at",
    "reviewer",
    "thread_id",
    "interrupt_id",
    "tool",
    "decision",
    "args_before",
    "args_after",
    "message",
    "status",
    "applied_at",
    "error",
    "batch_id",
)


@dataclass(frozen=True)
class AuditEntry:
    """One recorded decision."""

    decided_at: str
    reviewer: str
    thread_id: str
    interrupt_id: str
    tool: str | None
    decision: str
    args_before: dict[str, Any] | None
    args_after: dict[str, Any] | None
    message: str | None
    status: str
    applied_at: str | None
    error: str | None
    batch_id: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def list_decisions(store: Store, *, reviewer: str | None = None, thread_id: str | None = None) -> list[AuditEntry]:
    """Recorded decisions, newest first, optionally of one reviewer or one thread."""
    sql = "SELECT * FROM review_decisions WHERE 1 = 1"
    params: list[Any] = []
    if reviewer:
        sql += " AND reviewer = ?"
        params.append(reviewer)
    if thread_id:
        sql += " AND thread_id = ?"
        params.append(thread_id)
    sql += " ORDER BY decided_at DESC, thread_id, interrupt_id"
    return [
        AuditEntry(
            decided_at=row["decided_at"],
            reviewer=row["reviewer"],
            thread_id=row["thread_id"],
            interrupt_id=row["interrupt_id"],
            tool=row["tool"],
            decision=row["decision_type"],
            args_before=_json(row["args_before"]),
            args_after=_json(row["args_after"]),
            message=row["message"],
            status=row["status"],
            applied_at=row["applied_at"],
            error=row["error"],
            batch_id=row["batch_id"],
        )
        for row in store.query(sql, tuple(params))
    ]


def to_csv(entries: list[AuditEntry]) -> str:
    """CSV with a header row; arguments as JSON text."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=AUDIT_FIELDS)
    writer.writeheader()
    for entry in entries:
        row = entry.to_dict()
        for key in ("args_before", "args_after"):
            row[key] = json.dumps(row[key], sort_keys=True) if row[key] is not None else ""
        writer.writerow(row)
    return out.getvalue()


def _json(text: str | None) -> Any:
    return json.loads(text) if text else None
