"""A real `langgraph dev` (in-memory) serving the repo's langgraph.json, one per test module (and one that accepts
webhooks to loopback URLs, for the console's run-ended route)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from scripts.agent_server import AgentServer


@pytest.fixture(scope="module")
def agent_server() -> Iterator[AgentServer]:
    server = AgentServer().start()
    try:
        yield server
    finally:
        server.stop()


class WebhookAgentServer(AgentServer):
    """`langgraph dev` that posts webhooks to loopback URLs (it refuses them by default: an SSRF guard)."""

    def _config(self) -> Path:
        path = super()._config()
        config = json.loads(path.read_text())
        config["webhooks"] = {"url": {"disable_loopback": False, "require_https": False}}
        path.write_text(json.dumps(config, indent=2))
        return path


@pytest.fixture(scope="module")
def webhook_server() -> Iterator[AgentServer]:
    server = WebhookAgentServer().start()
    try:
        yield server
    finally:
        server.stop()
