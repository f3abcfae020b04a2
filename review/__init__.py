"""The review core: pending interrupts from checkpoint state, batch decisions, safe resumes.

Plain Python, no streamlit. `ReviewConsole` is the gateway; `contract` holds the row and
decision types. See docs in README.md and ../shared/docs/design.md.
"""

from review.console import ReviewConsole
from review.contract import BatchResult, Conflict, DecisionRequest, PendingInterrupt, RowError, ThreadOutcome
from review.store import StoreError, resolve_db_path

__all__ = [
    "BatchResult",
    "Conflict",
    "DecisionRequest",
    "PendingInterrupt",
    "ReviewConsole",
    "RowError",
    "StoreError",
    "ThreadOutcome",
    "resolve_db_path",
]
