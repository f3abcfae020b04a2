"""A scripted decision history with known waits, written straight into the decision log through the store's own
claim and finish (the very steps a batch takes), so every figure the insights compute is known in advance."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime, timedelta
from typing import Any

from review import ReviewConsole
from review.storage import NewDecision

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def iso(when: datetime) -> str:
    return when.isoformat(timespec="milliseconds")


@dataclass(frozen=True)
class Past:
    """One decision of the script: `tool` raised `at` minutes after T0, decided `waited` seconds later."""

    tool: str
    decision: str  # approve | edit | reject
    reviewer: str
    at: float
    waited: float
    args: dict[str, Any] = field(default_factory=dict)
    verification: str = "unverified"
    status: str = "applied"
    outcome: str | None = "verified"


def _channel(verification: str) -> dict[str, str]:
    """The channel a batch records for this kind of reviewer, where the log keeps one (`NewDecision.channel`)."""
    if "channel" not in {f.name for f in fields(NewDecision)}:
        return {}
    return {"channel": {"rule": "rule", "cli": "cli"}.get(verification, "console")}


def record(console: ReviewConsole, history: list[Past], base: datetime = T0, first: int = 0) -> list[int]:
    """Write `history` to the console's log (minutes counted from `base`; threads and rows numbered from `first`);
    returns the attempt ids, in order."""
    store = console.storage
    ids: list[int] = []
    for n, past in enumerate(history, start=first):
        raised = base + timedelta(minutes=past.at)
        decided = raised + timedelta(seconds=past.waited)
        after = {**past.args, "edited": True} if past.decision == "edit" else None
        new = NewDecision(
            thread_id=f"hist-{n}",
            row_id=f"row-{n}",
            interrupt_id=f"row-{n}",
            tool=past.tool,
            tool_call_id=f"call-{n}",
            decision_type=past.decision,
            resume_json=json.dumps({"type": past.decision}),
            args_before=json.dumps(past.args),
            args_after=json.dumps(after) if after is not None else None,
            message="no" if past.decision == "reject" else None,
            reviewer=past.reviewer,
            identity=past.reviewer if past.verification != "rule" else f"rule:{past.reviewer}",
            verification=past.verification,
            raised_at=iso(raised),
            **_channel(past.verification),
        )
        owner = f"history:{uuid.uuid4().hex[:6]}"
        claimed, _, _ = store.claim([new], uuid.uuid4().hex, owner, 1e12, iso(decided))
        (attempt,) = [c.attempt_id for c in store.claims(new.thread_id, owner)]
        assert claimed
        verdicts = {attempt: past.outcome} if past.outcome and past.status == "applied" else None
        assert attempt is not None
        store.finish([attempt], owner, status=past.status, error=None, at=iso(decided), verdicts=verdicts)
        ids.append(attempt)
    return ids
