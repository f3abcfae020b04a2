"""The review core: pending interrupts from checkpoint state, batch decisions, safe resumes.

Plain Python, no streamlit. `ReviewConsole` is the gateway; `contract` holds the row and
decision types; `storage` the one seam to the database. See README.md and ../shared/docs/design.md.
"""

from review.console import ReviewConsole
from review.contract import BatchResult, Conflict, DecisionRequest, PendingInterrupt, RowError, ThreadOutcome
from review.idempotency import IDEMPOTENCY_KEYS, idempotency_key
from review.settings import Settings, resolve_db_path
from review.storage import LeaseLost, StoreError

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
