"""The review core: pending interrupts from checkpoint state, batch decisions, safe resumes.

Plain Python, no streamlit. `ReviewConsole` is the gateway; `contract` holds the row and
decision types; `storage` the one seam to the database. See README.md and ../shared/docs/design.md.

Names that need LangGraph (`ReviewConsole`, the idempotency helpers) are imported when first used,
so a command that only reads the saved listing (`python -m review pending`) never loads it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from review.contract import BatchResult, Conflict, DecisionRequest, PendingInterrupt, RowError, ThreadOutcome
from review.settings import Settings, resolve_db_path
from review.storage import LeaseLost, StoreError

if TYPE_CHECKING:
    from review.console import ReviewConsole
    from review.idempotency import IDEMPOTENCY_KEYS, idempotency_key

__all__ = [
    "IDEMPOTENCY_KEYS",
    "BatchResult",
    "Conflict",
    "DecisionRequest",
    "LeaseLost",
    "PendingInterrupt",
    "ReviewConsole",
    "RowError",
    "Settings",
    "StoreError",
    "ThreadOutcome",
    "idempotency_key",
    "resolve_db_path",
]

_LAZY = {
    "ReviewConsole": "review.console",
    "IDEMPOTENCY_KEYS": "review.idempotency",
    "idempotency_key": "review.idempotency",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'review' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
