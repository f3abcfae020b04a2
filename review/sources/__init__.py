"""Where interrupts come from and where resumes go, behind one `Source` protocol (review/sources/base.py).

- local: the graphs this process loads (the demo, `--graph file.py:ATTR`, a langgraph.json) over the
  console's own checkpointer (`review.sources.local.LocalSource`);
- server: graphs deployed on a LangGraph Agent Server (`langgraph dev`, `langgraph up`, the hosted
  platform), reached with langgraph-sdk (`review.sources.server.ServerSource`).

`Sources` says which one a thread lives on (a server that listed it, else the local one) and lists every
pending row. Rows of both are the same `PendingInterrupt`s (a server row names its source); claims, the
decision log, leases and the audit stay in the console's own store whatever the source.
"""

from __future__ import annotations

from review.contract import PendingInterrupt
from review.inbox import sort_listing
from review.sources.base import OnChunk, Source, ThreadState
from review.sources.local import LocalSource, ThreadNotClaimed, stream_updates
from review.sources.server import (
    RunRefused,
    ServerError,
    ServerSet,
    ServerSource,
    ServerTarget,
    ThreadGone,
    live_token,
    parse_server_config,
)


class Sources:
    """The local source and the configured Agent Servers: the source of a thread, and every pending row."""

    def __init__(self, local: LocalSource, servers: ServerSet | None = None) -> None:
        self.local = local
        self.servers = servers or ServerSet()

    def for_thread(self, thread_id: str) -> Source:
        """The source a thread lives on: the Agent Server that listed it, else the local graphs."""
        server = self.servers.for_thread(thread_id)
        return server if server is not None else self.local

    def rows(self, thread_id: str | None = None) -> list[PendingInterrupt]:
        """Every pending row (or one thread's). Servers' rows come from their last refresh (polled in the background
        by a running console); local threads are re-read only when they changed."""
        if not self.servers:
            return self.local.rows(thread_id)
        if thread_id is not None:
            remote = [row for row in self.servers.rows() if row.thread_id == thread_id]
            return remote or self.local.rows(thread_id)
        by_thread: dict[str, list[PendingInterrupt]] = {}
        for row in [*self.local.rows(), *self.servers.rows()]:
            by_thread.setdefault(row.thread_id, []).append(row)
        return sort_listing(by_thread.values())

    def refresh(self, *, full: bool = False) -> None:
        """Bring the servers' rows up to date now (local rows are read when asked for)."""
        self.servers.refresh(full=full)

    def start(self) -> None:
        """Keep the servers' rows current in the background (a long-running console)."""
        self.servers.start()

    def stop(self) -> None:
        """Stop polling the servers."""
        self.servers.stop()

    def token(self) -> str:
        """The part of the inbox token that moves when a server's rows (or its error) changed."""
        return live_token(self.servers)

    def health(self) -> list[str]:
        """One line per source whose last refresh failed (its last good rows stay listed)."""
        return self.servers.health()


__all__ = [
    "LocalSource",
    "OnChunk",
    "RunRefused",
    "ServerError",
    "ServerSet",
    "ServerSource",
    "ServerTarget",
    "Source",
    "Sources",
    "ThreadGone",
    "ThreadNotClaimed",
    "ThreadState",
    "parse_server_config",
    "stream_updates",
]
