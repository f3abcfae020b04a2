"""The store's times: ISO 8601 text as LangGraph and the console write it, read back as aware UTC datetimes."""

from __future__ import annotations

from datetime import UTC, datetime


def parse_time(value: str | None) -> datetime | None:
    """An ISO time as stored by LangGraph and the console (naive times are taken as UTC); None when absent or
    unreadable."""
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
