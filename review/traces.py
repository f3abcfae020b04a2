"""Where a row's run went: its LangSmith trace, and an Agent Server thread in Studio.

- **LangSmith** (`REVIEW_TRACE_URL`, off by default): a template such as
  `https://smith.langchain.com/o/ORG/projects/p/PROJECT/r/{run_id}?trace_id={run_id}` (a run) or
  `.../projects/p/PROJECT/t/{thread_id}` (LangSmith's thread view), filled from the metadata of the checkpoint that
  raised the row: `run_id` and `thread_id`, which an Agent Server writes on every run and a traced caller passes
  as `config["metadata"]`. A template naming `{run_id}` links only rows whose run left one; the console never
  asks LangSmith anything (no network, no key).
- **Studio** (`REVIEW_STUDIO_URL`): a thread of an Agent Server (a row whose `source` is `server:<url>`) opens in
  LangGraph Studio with that server as its base URL.

Values are URL-quoted into the template, so an id cannot add a path or a query of its own.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

SERVER_PREFIX = "server:"  # PendingInterrupt.source of an Agent Server's row (review/sources/server.py)


@dataclass(frozen=True)
class TraceLink:
    """A link for a row or thread: what it opens, and where."""

    label: str  # "LangSmith trace" | "Studio"
    url: str


def run_ids(metadata: Iterable[Mapping[str, Any] | None]) -> list[str]:
    """The distinct `run_id`s of checkpoints' metadata (given newest first), newest first."""
    found: list[str] = []
    for one in metadata:
        value = (one or {}).get("run_id")
        if isinstance(value, str | int) and str(value) and str(value) not in found:
            found.append(str(value))
    return found


def _fill(template: str, **values: str) -> str:
    return template.format_map({key: quote(value, safe="") for key, value in values.items()})


def trace_link(template: str | None, thread_id: str, metadata: Mapping[str, Any] | None) -> TraceLink | None:
    """The LangSmith link of the run whose checkpoint carries `metadata` (None: tracing links are off, or the
    template wants a run id the run did not leave)."""
    if not template:
        return None
    meta = metadata or {}
    run_id = str(meta.get("run_id") or "")
    if "{run_id}" in template and not run_id:
        return None
    thread = str(meta.get("thread_id") or thread_id)
    return TraceLink("LangSmith trace", _fill(template, run_id=run_id, thread_id=thread, server_url=""))


def studio_link(template: str | None, thread_id: str, source: str | None) -> TraceLink | None:
    """The Studio view of an Agent Server's thread (None for a thread of a local graph)."""
    if not template or not source or not source.startswith(SERVER_PREFIX):
        return None
    server = source.removeprefix(SERVER_PREFIX)
    return TraceLink("Studio", _fill(template, run_id="", thread_id=thread_id, server_url=server))


def links(
    trace_template: str | None,
    studio_template: str | None,
    thread_id: str,
    metadata: Mapping[str, Any] | None,
    source: str | None,
) -> list[TraceLink]:
    """Every link of a row (or thread): its run's trace, then its Studio view; none when neither applies."""
    found = [trace_link(trace_template, thread_id, metadata), studio_link(studio_template, thread_id, source)]
    return [link for link in found if link is not None]
