"""A real `langgraph dev` (in-memory) serving the repo's langgraph.json, one per test module."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from scripts.agent_server import AgentServer


@pytest.fixture(scope="module")
def agent_server() -> Iterator[AgentServer]:
    server = AgentServer().start()
    try:
        yield server
    finally:
        server.stop()
