"""Where interrupts come from and where resumes go.

- local: the graphs this process loads (the demo, `--graph file.py:ATTR`, a langgraph.json) over the
  console's own checkpointer; read by `review.inbox.Inbox`, resumed by `review.runner.Runner`.
- server: graphs deployed on a LangGraph Agent Server (`langgraph dev`, `langgraph up`, the hosted
  platform), reached with langgraph-sdk (`review.sources.server.ServerSource`).

Rows of both are the same `PendingInterrupt`s (a server row names its source); claims, the decision
log, leases and the audit stay in the console's own store whatever the source.
"""

from review.sources.server import (
    RunRefused,
    ServerError,
    ServerSet,
    ServerSource,
    ServerTarget,
    ThreadGone,
    parse_server_config,
)

__all__ = [
    "RunRefused",
    "ServerError",
    "ServerSet",
    "ServerSource",
    "ServerTarget",
    "ThreadGone",
    "parse_server_config",
]
