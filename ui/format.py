"""Small formatting helpers for the pages: ids, durations, times, and text that must stay text."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from review.editing import format_args

__all__ = ["format_args", "format_time", "format_waiting", "md_escape", "parse_time", "plural", "short_id"]

SHORT_ID_CHARS = 8
# Markdown punctuation that could start a link, emphasis, a heading, a list, a table, a formula...
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|~$:])")


def short_id(value: str | None) -> str:
    """The first 8 characters of an id, as shown in tables and summaries."""
    return (value or "")[:SHORT_ID_CHARS]


def plural(count: int, word: str, many: str | None = None) -> str:
    """`1 conflict`, `2 conflicts`."""
    return f"{count} {word if count == 1 else (many or word + 's')}"


def parse_time(value: str | None) -> datetime | None:
    """An ISO time as stored by LangGraph and the console (naive times are taken as UTC)."""
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def format_waiting(seconds: float) -> str:
    """A wait as `12s`, `3m 4s`, `2h 5m` or `1d 3h`."""
    total = max(0, int(seconds))
    days, rest = divmod(total, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days}d {hours}h"
    if hours:
        return f"{hours}h {minutes}m"
    if minutes:
        return f"{minutes}m {secs}s"
    return f"{secs}s"


def waiting_since(raised_at: str | None, now: datetime) -> str:
    """How long a row has waited, or `?` when the time is unknown."""
    since = parse_time(raised_at)
    return format_waiting((now - since).total_seconds()) if since else "?"


def format_time(value: str | None) -> str:
    """`2025-11-21 21:58:03 UTC` from an ISO time; the input unchanged when it is not one."""
    parsed = parse_time(value)
    if parsed is None:
        return value or ""
    return parsed.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def md_escape(text: object) -> str:
    """Text for a Markdown body (alerts, captions) that shows exactly as written: no HTML, no markup."""
    escaped = str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return _MARKDOWN_SPECIAL.sub(r"\\\1", escaped)
