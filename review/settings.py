"""The console's settings, read in one place.

Every knob has a default, an environment variable and (for the ones a user picks per run) a CLI
flag or a `streamlit run app.py -- --flag` argument; both fill this one object, so no other module
reads the environment. Times are configurable so the crash tests can run with short leases.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

DEFAULT_DB = Path("data") / "review.sqlite"
DEFAULT_AGENT = "graph:AGENT"


def _float(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name)
    if raw is None or not raw.strip():
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ValueError(f"{name}={raw!r} is not a number of seconds") from None
    if value <= 0:
        raise ValueError(f"{name}={raw!r} must be more than 0")
    return value


def _urls(raw: str | None) -> tuple[str, ...]:
    """Server URLs from a comma-separated value; each must be http(s)://..."""
    urls = tuple(part.strip() for part in (raw or "").split(",") if part.strip())
    for url in urls:
        if not url.startswith(("http://", "https://")):
            raise ValueError(f"{url!r} is not an Agent Server URL (http://host:port)")
    return urls


@dataclass(frozen=True)
class Settings:
    """What the console opens and how long it waits; see README "Settings"."""

    db: str = field(
        default=str(DEFAULT_DB), metadata={"env": "REVIEW_DB", "help": "SQLite file, or a postgresql:// URL"}
    )
    agent: str = field(default=DEFAULT_AGENT, metadata={"env": "REVIEW_AGENT", "help": "agent spec module:ATTR"})
    graph: str | None = field(
        default=None, metadata={"env": "REVIEW_GRAPH", "help": "a graph: path/to/file.py:ATTR or module:ATTR"}
    )
    config: str | None = field(
        default=None, metadata={"env": "REVIEW_CONFIG", "help": "a langgraph.json whose graphs map to review"}
    )
    policy: str | None = field(
        default=None,
        metadata={"env": "REVIEW_POLICY", "help": "who may decide what (default: review-policy.toml if present)"},
    )
    lease_seconds: float = field(
        default=15.0,
        metadata={"env": "REVIEW_LEASE_SECONDS", "help": "a lease's life without a heartbeat; past it, recovery may"},
    )
    busy_timeout_seconds: float = field(
        default=30.0, metadata={"env": "REVIEW_BUSY_TIMEOUT_SECONDS", "help": "wait for a locked database"}
    )
    connect_timeout_seconds: float = field(
        default=10.0,
        metadata={"env": "REVIEW_CONNECT_TIMEOUT_SECONDS", "help": "PostgreSQL: give up connecting after this"},
    )
    sweep_seconds: float = field(
        default=2.0,
        metadata={"env": "REVIEW_SWEEP_SECONDS", "help": "how often a running console looks for work to recover"},
    )
    servers: tuple[str, ...] = field(
        default=(),
        metadata={"env": "REVIEW_SERVER", "help": "LangGraph Agent Server URL(s) to review, comma-separated"},
    )
    api_key: str | None = field(
        default=None, metadata={"env": "LANGGRAPH_API_KEY", "help": "the API key the Agent Server(s) want"}
    )
    allowed_types: tuple[str, ...] = field(
        default=(),
        metadata={
            "env": "REVIEW_ALLOWED_TYPES",
            "help": "more types checkpoints may hold, comma-separated module:Class (a graph's own are allowed)",
        },
    )
    # A quiet poll is one search of a few threads (bench/server.py: about 1 ms): cheap enough to ask often.
    server_poll_seconds: float = field(
        default=0.25,
        metadata={"env": "REVIEW_SERVER_POLL_SECONDS", "help": "how often a running console asks servers for updates"},
    )

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
        """Defaults, then the environment, then explicit overrides (CLI flags); None overrides are ignored."""
        env = os.environ if env is None else env
        base = cls(
            db=env.get("REVIEW_DB") or str(DEFAULT_DB),
            agent=env.get("REVIEW_AGENT") or DEFAULT_AGENT,
            graph=env.get("REVIEW_GRAPH") or None,
            config=env.get("REVIEW_CONFIG") or None,
            policy=env.get("REVIEW_POLICY") or None,
            lease_seconds=_float(env, "REVIEW_LEASE_SECONDS", 15.0),
            busy_timeout_seconds=_float(env, "REVIEW_BUSY_TIMEOUT_SECONDS", 30.0),
            connect_timeout_seconds=_float(env, "REVIEW_CONNECT_TIMEOUT_SECONDS", 10.0),
            sweep_seconds=_float(env, "REVIEW_SWEEP_SECONDS", 2.0),
            servers=_urls(env.get("REVIEW_SERVER")),
            api_key=env.get("LANGGRAPH_API_KEY") or None,
            server_poll_seconds=_float(env, "REVIEW_SERVER_POLL_SECONDS", 0.25),
            allowed_types=tuple(p.strip() for p in (env.get("REVIEW_ALLOWED_TYPES") or "").split(",") if p.strip()),
        )
        given: dict[str, Any] = {key: value for key, value in overrides.items() if value is not None}
        if "db" in given:
            given["db"] = str(given["db"])
        if "servers" in given:
            given["servers"] = _urls(given["servers"]) if isinstance(given["servers"], str) else tuple(given["servers"])
            if not given["servers"]:
                del given["servers"]
        return replace(base, **given)

    @property
    def db_path(self) -> Path:
        """The SQLite file (meaningless for a postgresql:// URL: see `is_url`)."""
        return Path(self.db).expanduser()

    @property
    def is_url(self) -> bool:
        """The store is a server URL (postgresql://...), not a file."""
        return "://" in self.db


def resolve_db_path(db: str | os.PathLike[str] | None = None) -> Path:
    """`db` if given, else REVIEW_DB, else data/review.sqlite."""
    return Settings.from_env(db=str(db) if db is not None else None).db_path


def graphs_key(settings: Settings) -> str:
    """What names the graphs a console loads (a saved listing is only good for the same ones)."""
    if settings.config:
        return f"config={settings.config}"
    return f"graph={settings.graph}" if settings.graph else settings.agent
