"""Small formatting helpers for the pages: ids, durations, times, and text that must stay text."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from review.editing import format_args
from review.times import parse_time

__all__ = [
    "clip_text",
    "format_args",
    "format_time",
    "format_waiting",
    "md_escape",
    "parse_time",
    "plural",
    "request_words",
    "short_id",
    "show_controls",
    "thread_label",
    "unique_labels",
]

SHORT_ID_CHARS = 8
# Markdown punctuation that could start a link, emphasis, a heading, a list, a table, a formula...
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|~$:])")
# Characters that reorder or hide the text around them (bidi embeddings, overrides, isolates, marks): an
# argument `abc\u202edcba` would show as something else than it is. They are shown by name instead.
_CONTROLS = re.compile("[\u200e\u200f\u202a-\u202e\u2066-\u2069]")
# Streamlit's Markdown (remark-gfm) turns bare URLs, `www.` names and e-mail addresses into links, after
# escapes are resolved, so a backslash does not stop it. An invisible word joiner (U+2060: no space, no line
# break) at the one place each pattern needs contiguous text does: after `http:`/`https:`, after `www`,
# after the `@` of an address.
_WORD_JOINER = "\u2060"
_AUTOLINK = re.compile(r"(?i)(?<=https:)(?=//)|(?<=http:)(?=//)|(?<=www)(?=\.)|(?<=[\w.+-]@)(?=[\w-])")


def short_id(value: str | None) -> str:
    """The first 8 characters of an id, as shown in tables and summaries."""
    return (value or "")[:SHORT_ID_CHARS]


def show_controls(text: object) -> str:
    """`text` with each bidi control character named visibly (`⟨U+202E⟩`), so what is shown is what is there.

    For text the agent (or a reviewer) wrote, wherever it is shown; never for a value that is edited and sent back.
    """
    return _CONTROLS.sub(lambda match: f"⟨U+{ord(match[0]):04X}⟩", str(text))


def clip_text(text: str, limit: int) -> str:
    """`text` on one line (bidi controls named), cut to `limit` characters with an ellipsis."""
    flat = " ".join(show_controls(text).split())
    return flat if len(flat) <= limit else flat[: max(1, limit - 1)].rstrip() + "…"


def request_words(request: str, limit: int = 34) -> str:
    """The first words of a request, cut at a word boundary: `Create a red circle c1, a blue…`."""
    flat = " ".join(show_controls(request or "").split())
    if len(flat) <= limit:
        return flat
    cut = flat[: limit - 1]
    if " " in cut[limit // 2 :]:
        cut = cut[: cut.rfind(" ")]
    return cut.rstrip(" ,;:.") + "…"


def coarse_age(seconds: float) -> str:
    """An age to name things by: `12s`, `3m`, `2h`, `4d` (it changes rarely, so labels stay put)."""
    total = max(0, int(seconds))
    for size, unit in ((86400, "d"), (3600, "h"), (60, "m")):
        if total >= size:
            return f"{total // size}{unit}"
    return f"{total}s"


def thread_label(thread_id: str, request: str | None, started_at: str | None, now: datetime) -> str:
    """How a thread is named for people: its request's first words and its age (`… · 3m`); the id if no request."""
    words = request_words(request or "") or f"thread {short_id(thread_id)}"
    since = parse_time(started_at)
    return f"{words} · {coarse_age((now - since).total_seconds())}" if since else words


def unique_labels(labels: dict[str, str]) -> dict[str, str]:
    """Labels made distinct: a name two threads share gets each thread's short id (`… · #1a2b3c4d`)."""
    counts: dict[str, int] = {}
    for text in labels.values():
        counts[text] = counts.get(text, 0) + 1
    return {key: f"{text} · #{short_id(key)}" if counts[text] > 1 else text for key, text in labels.items()}


def frozen_labels(frozen: dict[str, str], live: dict[str, str]) -> dict[str, str]:
    """Labels for widget options: each thread keeps the first label it was shown with.

    Streamlit keeps a select widget's value as the option's shown text, so a label whose age moved
    on (`· 3m` -> `· 4m`) would drop the reviewer's choice; `frozen` (session state) remembers them.
    """
    for key, text in live.items():
        frozen.setdefault(key, text)
    return {key: frozen[key] for key in live}


def plural(count: int, word: str, many: str | None = None) -> str:
    """`1 conflict`, `2 conflicts`."""
    return f"{count} {word if count == 1 else (many or word + 's')}"


def format_waiting(seconds: float, *, minutes_only: bool = False) -> str:
    """A wait as `12s`, `3m 4s`, `2h 5m` or `1d 3h`; `minutes_only`: `<1m`, `3m`, `2h 5m` (a view redrawn every
    AGE_TICK_SECONDS, not every second, never shows seconds that stood still)."""
    total = max(0, int(seconds))
    days, rest = divmod(total, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days}d {hours}h"
    if hours:
        return f"{hours}h {minutes}m"
    if minutes_only:
        return f"{minutes}m" if minutes else "<1m"
    if minutes:
        return f"{minutes}m {secs}s"
    return f"{secs}s"


AGE_TICK_SECONDS = 20.0  # how often a view that shows ages in minutes is drawn again when nothing else moved it


def waiting_since(raised_at: str | None, now: datetime, *, minutes_only: bool = False) -> str:
    """How long a row has waited, or `?` when the time is unknown."""
    since = parse_time(raised_at)
    return format_waiting((now - since).total_seconds(), minutes_only=minutes_only) if since else "?"


def format_time(value: str | None) -> str:
    """`2025-11-21 21:58:03 UTC` from an ISO time; the input unchanged when it is not one."""
    parsed = parse_time(value)
    if parsed is None:
        return value or ""
    return parsed.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def md_escape(text: object) -> str:
    """Text for a Markdown body (alerts, captions) that shows exactly as written: no HTML, no markup, no links.

    Bidi control characters are named (`show_controls`); a bare URL or e-mail address stays text (an invisible
    word joiner keeps Markdown from linking it).
    """
    shown = _AUTOLINK.sub(_WORD_JOINER, show_controls(text))
    escaped = shown.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return _MARKDOWN_SPECIAL.sub(r"\\\1", escaped)
