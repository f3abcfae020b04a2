"""The console's settings, read in one place.

Every setting has a default, an environment variable and a flag; the CLI (`python -m review --db ...`)
and the app (`streamlit run app.py -- --db ...`, `make run`) take the same flags, parsed by the one
parser here (`add_arguments` / `from_arguments`), so no other module reads the environment and no
entry point can miss a setting. An unknown flag is refused with one line naming it. Times are
configurable so the crash tests can run with short leases.
"""

from __future__ import annotations

import argparse
import os
import string
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

DEFAULT_DB = Path("data") / "review.sqlite"
DEFAULT_AGENT = "graph:AGENT"
DEFAULT_POLICY_FILE = Path("review-policy.toml")  # used when present and no policy is named
DEFAULT_SECRETS_FILE = Path(".streamlit") / "secrets.toml"  # Streamlit's; notifications read their secrets here too


def _seconds(name: str, raw: str) -> float:
    try:
        value = float(raw)
    except ValueError:
        raise ValueError(f"{name}={raw!r} is not a number of seconds") from None
    if not value > 0 or value == float("inf"):
        raise ValueError(f"{name}={raw!r} must be a number of seconds more than 0")
    return value


def _count(name: str, raw: str) -> int:
    try:
        value = int(raw)
    except ValueError:
        raise ValueError(f"{name}={raw!r} is not a whole number") from None
    if not 1 <= value <= 100:
        raise ValueError(f"{name}={raw!r} must be a whole number from 1 to 100")
    return value


def _smtp(raw: str) -> str:
    if not raw.strip().lower().startswith(("smtp://", "smtps://", "smtp+starttls://")):
        raise ValueError(f"{raw!r} is not an SMTP server (smtp://host:port, smtps://..., smtp+starttls://...)")
    return raw.strip()


TEMPLATE_FIELDS = ("run_id", "thread_id", "server_url")  # what a link template may name (review/traces.py fills them)


def _template(name: str, raw: str) -> str:
    """A link template: an http(s) URL naming only `{run_id}`, `{thread_id}` (and `{server_url}`)."""
    text = raw.strip()
    if not text.lower().startswith(("http://", "https://")):
        raise ValueError(f"{name}={raw!r} is not a link template (https://...{{run_id}}...)")
    try:
        named = [field for _, field, _, _ in string.Formatter().parse(text) if field is not None]
    except ValueError:
        raise ValueError(f"{name}={raw!r} has an unmatched brace (write a literal one as {{{{ or }}}})") from None
    unknown = [field for field in named if field not in TEMPLATE_FIELDS]
    if unknown:
        known = ", ".join("{" + field + "}" for field in TEMPLATE_FIELDS)
        raise ValueError(f"{name}={raw!r} names {{{unknown[0]}}}: a template may name {known}")
    return text


def _urls(raw: str | None) -> tuple[str, ...]:
    """Server URLs from a comma-separated value; each must be http(s)://..."""
    urls = tuple(part.strip() for part in (raw or "").split(",") if part.strip())
    for url in urls:
        if not url.startswith(("http://", "https://")):
            raise ValueError(f"{url!r} is not an Agent Server URL (http://host:port)")
    return urls


def _items(raw: str | None) -> tuple[str, ...]:
    return tuple(part.strip() for part in (raw or "").split(",") if part.strip())


def _setting(default: Any, env: str, help: str, *, kind: str = "text", flag: str | None = None) -> Any:
    """A field with its environment variable, its flag (default: `--name-with-dashes`) and how to read both.

    `kind`: text | seconds | count (1..100) | smtp (an smtp:// URL) | urls (comma-separated, repeatable flag) |
    items (likewise) | template (a link template, `_template`).
    """
    return field(default=default, metadata={"env": env, "help": help, "kind": kind, "flag": flag})


@dataclass(frozen=True)
class Settings:
    """What the console opens and how long it waits; README "Settings" lists the same (a test keeps them equal)."""

    db: str = _setting(str(DEFAULT_DB), "REVIEW_DB", "SQLite file, or a postgresql:// URL")
    agent: str = _setting(DEFAULT_AGENT, "REVIEW_AGENT", "agent spec module:ATTR (the demo by default)")
    graph: str | None = _setting(None, "REVIEW_GRAPH", "a graph: path/to/file.py:ATTR or module:ATTR, optionally ID=")
    config: str | None = _setting(None, "REVIEW_CONFIG", "a langgraph.json whose graphs map (and servers) to review")
    policy: str | None = _setting(None, "REVIEW_POLICY", "who may decide what (default: review-policy.toml if present)")
    lease_seconds: float = _setting(
        15.0, "REVIEW_LEASE_SECONDS", "a lease's life without a heartbeat; past it, recovery may", kind="seconds"
    )
    busy_timeout_seconds: float = _setting(
        30.0, "REVIEW_BUSY_TIMEOUT_SECONDS", "wait for a locked database", kind="seconds"
    )
    connect_timeout_seconds: float = _setting(
        10.0, "REVIEW_CONNECT_TIMEOUT_SECONDS", "PostgreSQL: give up connecting after this", kind="seconds"
    )
    sweep_seconds: float = _setting(
        2.0, "REVIEW_SWEEP_SECONDS", "how often a running console looks for work to recover", kind="seconds"
    )
    servers: tuple[str, ...] = _setting(
        (), "REVIEW_SERVER", "LangGraph Agent Server URL(s) to review (repeatable)", kind="urls", flag="--server"
    )
    api_key: str | None = _setting(None, "LANGGRAPH_API_KEY", "the API key the Agent Server(s) want")
    allowed_types: tuple[str, ...] = _setting(
        (),
        "REVIEW_ALLOWED_TYPES",
        "more types checkpoints may hold, module:Class (repeatable; a graph's own are allowed)",
        kind="items",
    )
    # A quiet poll is one search of a few threads (bench/server.py: about 1 ms): cheap enough to ask often.
    server_poll_seconds: float = _setting(
        0.25, "REVIEW_SERVER_POLL_SECONDS", "how often a running console asks servers for updates", kind="seconds"
    )
    # Notifications and action links (review/notify/); their secrets are read by `secret`, never kept here.
    public_url: str = _setting(
        "http://127.0.0.1:8501", "REVIEW_PUBLIC_URL", "the console's address as reviewers reach it (links in messages)"
    )
    notify_poll_seconds: float = _setting(
        1.0, "REVIEW_NOTIFY_POLL_SECONDS", "how often a console looks for notifications due", kind="seconds"
    )
    notify_settle_seconds: float = _setting(
        0.2, "REVIEW_NOTIFY_SETTLE_SECONDS", "how long new rows wait for the rest of their batch", kind="seconds"
    )
    notify_attempts: int = _setting(
        8, "REVIEW_NOTIFY_ATTEMPTS", "deliveries tried before a notification is a dead letter", kind="count"
    )
    notify_backoff_seconds: float = _setting(
        2.0, "REVIEW_NOTIFY_BACKOFF_SECONDS", "the first retry's wait; it doubles each time", kind="seconds"
    )
    link_seconds: float = _setting(
        86400.0, "REVIEW_LINK_SECONDS", "how long an action link in a message stays valid", kind="seconds"
    )
    smtp: str | None = _setting(None, "REVIEW_SMTP", "the mail server: smtp://[user@]host:port", kind="smtp")
    smtp_from: str = _setting("review-console@localhost", "REVIEW_SMTP_FROM", "the sender of notification mail")
    secrets_file: str = _setting(
        str(DEFAULT_SECRETS_FILE), "REVIEW_SECRETS_FILE", "where secrets are read when not in the environment"
    )
    # Trace links (review/traces.py): a row's run in LangSmith, an Agent Server thread in Studio.
    trace_url: str | None = _setting(
        None, "REVIEW_TRACE_URL", "a run's LangSmith trace: {run_id}, {thread_id} from its metadata", kind="template"
    )
    studio_url: str = _setting(
        "https://smith.langchain.com/studio/thread/{thread_id}?baseUrl={server_url}",
        "REVIEW_STUDIO_URL",
        "an Agent Server thread in Studio: {thread_id}, {server_url}",
        kind="template",
    )

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
        """Defaults, then the environment, then explicit overrides (CLI flags); None overrides are ignored."""
        env = os.environ if env is None else env
        values: dict[str, Any] = {}
        for spec in fields(cls):
            raw = env.get(spec.metadata["env"])
            if raw is not None and raw.strip():
                values[spec.name] = _read(spec.metadata["kind"], spec.metadata["env"], raw)
        given: dict[str, Any] = {key: value for key, value in overrides.items() if value is not None}
        if "db" in given:
            given["db"] = str(given["db"])
        for name in ("servers", "allowed_types"):
            if name in given:
                raw = given[name]
                read = _urls if name == "servers" else _items
                given[name] = read(raw) if isinstance(raw, str) else read(",".join(raw))
                if not given[name]:
                    del given[name]
        return replace(cls(**values), **given)

    @property
    def db_path(self) -> Path:
        """The SQLite file (meaningless for a postgresql:// URL: see `is_url`)."""
        return Path(self.db).expanduser()

    @property
    def is_url(self) -> bool:
        """The store is a server URL (postgresql://...), not a file."""
        return "://" in self.db


def _read(kind: str, name: str, raw: str) -> Any:
    if kind == "seconds":
        return _seconds(name, raw)
    if kind == "count":
        return _count(name, raw)
    if kind == "smtp":
        return _smtp(raw)
    if kind == "urls":
        return _urls(raw)
    if kind == "items":
        return _items(raw)
    if kind == "template":
        return _template(name, raw)
    return raw


# --- the one parser of flags ----------------------------------------------------------------------------------


def flag_of(name: str) -> str:
    """The flag of a setting (`--db`, `--lease-seconds`, `--server`)."""
    spec = next(f for f in fields(Settings) if f.name == name)
    return spec.metadata["flag"] or "--" + name.replace("_", "-")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add one flag per setting to `parser` (the CLI's and the app's), each defaulting to the environment."""
    for spec in fields(Settings):
        meta = spec.metadata
        text = f"{meta['help']} (${meta['env']})"
        repeatable = meta["kind"] in ("urls", "items")
        metavar = {"seconds": "SECONDS", "count": "N", "smtp": "URL", "urls": "URL", "items": "TYPE"}.get(
            meta["kind"], spec.name.upper()
        )
        parser.add_argument(
            flag_of(spec.name),
            dest=spec.name,
            action="append" if repeatable else "store",
            metavar=metavar,
            help=text,
            default=None,
        )


def from_arguments(parsed: argparse.Namespace, env: Mapping[str, str] | None = None) -> Settings:
    """The settings: defaults, then the environment, then the flags `add_arguments` parsed. ValueError names a
    bad value (a flag's, or an environment variable's) in one line."""
    given: dict[str, Any] = {}
    for spec in fields(Settings):
        value = getattr(parsed, spec.name, None)
        if value is None:
            continue
        kind = spec.metadata["kind"]
        if kind == "seconds":
            value = _seconds(flag_of(spec.name), value)
        elif kind == "count":
            value = _count(flag_of(spec.name), value)
        elif kind == "smtp":
            value = _smtp(value)
        elif kind == "template":
            value = _template(flag_of(spec.name), value)
        elif kind in ("urls", "items"):
            value = ",".join(value)
        given[spec.name] = value
    return Settings.from_env(env, **given)


def parse_arguments(argv: Sequence[str], *, prog: str, env: Mapping[str, str] | None = None) -> Settings:
    """Settings from flags alone (the app's `streamlit run app.py -- ...`): an unknown flag or a stray
    argument is a ValueError naming it, never ignored (a misspelled --policy must not open the console open)."""
    parser = argparse.ArgumentParser(prog=prog, add_help=False, allow_abbrev=False, exit_on_error=False)
    add_arguments(parser)
    try:
        parsed, unknown = parser.parse_known_args(list(argv))
    except argparse.ArgumentError as exc:
        raise ValueError(f"{prog}: {exc}") from None
    if unknown:
        known = ", ".join(flag_of(f.name) for f in fields(Settings))
        raise ValueError(f"{prog}: unknown argument {unknown[0]!r} (the console takes {known})")
    return from_arguments(parsed, env)


def resolve_db_path(db: str | os.PathLike[str] | None = None) -> Path:
    """`db` if given, else REVIEW_DB, else data/review.sqlite."""
    return Settings.from_env(db=str(db) if db is not None else None).db_path


def graphs_key(settings: Settings) -> str:
    """What names the graphs a console loads (a saved listing is only good for the same ones)."""
    if settings.config:
        return f"config={settings.config}"
    return f"graph={settings.graph}" if settings.graph else settings.agent


# --- secrets ----------------------------------------------------------------------------------------------------


class Secret:
    """A secret's value that never shows: its repr and str are masked; `reveal()` gives the value to the one
    place that sends it (a webhook's URL, an SMTP login, an HMAC key)."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        """The value itself: hand it to the call that needs it, never to a log or a page."""
        return self._value

    def __repr__(self) -> str:
        return "Secret('***')"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(("Secret", self._value))


def secret(name: str, settings: Settings | None = None, env: Mapping[str, str] | None = None) -> Secret | None:
    """The secret `name` (a webhook URL, the SMTP password, a signing key): the environment variable `name`, else
    the key `name` of Streamlit's secrets.toml (`settings.secrets_file`, top level or its `[notify]` table).

    None when neither holds it. Never from the policy file or a flag: those are shown and shared.
    """
    env = os.environ if env is None else env
    value = env.get(name)
    if value is not None and value.strip():
        return Secret(value.strip())
    path = Path((settings or Settings.from_env(env)).secrets_file).expanduser()
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return None
    table = data.get("notify")
    for found in (data.get(name), table.get(name) if isinstance(table, dict) else None):
        if isinstance(found, str) and found.strip():
            return Secret(found.strip())
    return None
