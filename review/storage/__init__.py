"""Where the console keeps its tables and the agent's checkpoints: `open_storage` picks SQLite (a file path, the
default) or PostgreSQL (a `postgresql://` URL). Every saver has a RESTRICTED serializer: langgraph-checkpoint's default
revives any Python type a checkpoint row names, so a crafted row could run code when the inbox reads it; here only
LangGraph's safe types (messages, Send, Interrupt, Command, datetimes...) and the agent's declared types are revived."""

from __future__ import annotations

import functools
from collections.abc import Iterable
from typing import TYPE_CHECKING

from review.settings import Settings
from review.storage.base import (
    LEASE_TOKEN_KEY,
    ChangeToken,
    Claim,
    Finish,
    HeadWrites,
    Holder,
    LeaseLost,
    LeaseRow,
    NewDecision,
    StoreError,
)
from review.storage.sql import Storage
from review.storage.sqlite import open_sqlite

if TYPE_CHECKING:
    from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer

__all__ = [
    "LEASE_TOKEN_KEY",
    "ChangeToken",
    "Claim",
    "Finish",
    "HeadWrites",
    "Holder",
    "LeaseLost",
    "LeaseRow",
    "NewDecision",
    "Storage",
    "StoreError",
    "open_storage",
    "redact_url",
    "restricted_serde",
]


def is_postgres_url(target: str) -> bool:
    """True for `postgresql://...` and `postgres://...` (the schemes libpq accepts)."""
    return target.strip().lower().startswith(("postgresql://", "postgres://"))


def redact_url(target: str) -> str:
    """What users may see of a store setting: a path as is, a URL without its password."""
    if not is_postgres_url(target):
        return target
    from review.storage.postgres import redact_url as redact

    return redact(target)


def restricted_serde(allowed: Iterable[tuple[str, ...] | type] = ()) -> JsonPlusSerializer:
    """A serializer that revives only LangGraph's safe types plus `allowed` ((module, name) or classes)."""
    from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer

    return JsonPlusSerializer(allowed_msgpack_modules=tuple(allowed) or None)


def open_storage(
    settings: Settings, *, create: bool, allowed_types: Iterable[tuple[str, ...] | type] = (), light: bool = False
) -> Storage:
    """Open the store `settings.db` names; only `create` makes a new one. Raises StoreError with the reason. `light`:
    only the console's tables, LangGraph's saver made on first use (to read the saved listing)."""
    serde, target = functools.partial(restricted_serde, tuple(allowed_types)), settings.db.strip()
    if is_postgres_url(target):
        from review.storage.postgres import open_postgres  # psycopg is only loaded by consoles that use PostgreSQL

        timeout = settings.connect_timeout_seconds
        return open_postgres(target, create=create, serde=serde, connect_timeout=timeout, light=light)
    if "://" in target:
        scheme = target.split("://", 1)[0]
        raise StoreError(f"{scheme}:// databases are not supported; use a SQLite file path or a postgresql:// URL")
    return open_sqlite(
        settings.db_path, create=create, busy_timeout=settings.busy_timeout_seconds, serde=serde, light=light
    )
