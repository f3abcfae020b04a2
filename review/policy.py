"""Who may decide what and start runs, how many must approve, and the rules that decide by themselves.

One TOML file (`REVIEW_POLICY`, `--policy`, else `review-policy.toml` when it exists; see
review-policy.example.toml). Without one, everybody may decide everything and no rule runs. Patterns
name identities: `*` (everyone), `*@example.org` (a mail domain), `@ops` (a group from the sign-in's
groups claim), `cli:*` (anybody on the command line), or one identity (`ana@example.org`, `cli:deploy`).
Identities and patterns are compared normalised (review/identity.py: case, Unicode forms, a trailing dot);
`viewers`, a deny-list, also catches look-alikes and `+` sub-addresses of the identities it names.

    viewers = ["*@partners.example.org"]      # see the console, never decide, never start runs
    deciders = ["*"]                          # who may decide a tool the file does not list
    starters = ["@ops"]                       # who may start runs (default: whoever may decide)
    require_verification = "signed-in"        # or ["signed-in", "cli"]: typed names (and the CLI) refused

    [tools.clear_canvas]
    deciders = ["@ops", "lead@example.org"]
    decisions = ["approve", "reject"]         # what they may choose
    approvals = 2                             # four eyes: two distinct approvers before it runs

    [[auto_approve]]
    name = "any circle"
    tool = "create_circle"
    args = { color = "*" }                    # any value; or ["red", "blue"]; or { min = 0, max = 5 }

    [[deadline]]
    tool = "create_triangle"
    after = "10m"                             # s, m, h, d
    reject = "Nobody answered within 10 minutes"   # or: escalate_to = "@leads"

    [[notify]]                                # tell people a row waits (review/notify/, README "Notifications")
    name = "ops on slack"
    channel = "slack"                         # webhook | slack | email
    tool = "clear_canvas"                     # optional, like graph = "..." and args = {...} (auto_approve's matcher)
    url_secret = "OPS_SLACK_WEBHOOK"          # the secret (environment or secrets.toml) holding the URL
    to = ["@ops"]                             # who the links are for (default: the row's eligible deciders)
    digest = "30s"                            # rows of a thread within 30 s go out as one message
    remind_before = "5m"                      # a reminder 5 minutes before a row's [[deadline]]
    quiet_hours = "22:00-07:00"               # held until the end (timezone = "Europe/Paris"; default UTC)

The file is checked whole when it is loaded (a schema: unknown keys, misspelled or empty bound tables,
bounds that are not finite numbers are refused in one line naming the key and its place), so a policy
that loads cannot fail later. The core checks every decision and every run start against it (pages, CLI,
any caller), and a console's worker applies the rules through the same claim path as a reviewer, so a
rule and a reviewer racing get one winner.
"""

from __future__ import annotations

import math
import re
import tomllib
import zoneinfo
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_core import ErrorDetails

from review.contract import DECISION_TYPES, PendingInterrupt
from review.identity import Reviewer, identity_key, normalise_identity
from review.settings import DEFAULT_POLICY_FILE
from review.times import parse_time

LEVELS = ("signed-in", "cli", "unverified")  # what `require_verification` may name
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhd]?)\s*$")
_SECONDS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}
_PATTERN_HELP = 'use "*", "*@domain", "@group", "cli:*" or one identity'
CHANNELS = ("webhook", "slack", "email")  # what a [[notify]] route may send through
_SECRET_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_CLOCK = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$")


class PolicyError(ValueError):
    """The policy file cannot be used; the message is one line naming the file and what is wrong."""


class NotAllowed(ValueError):
    """The policy refuses this person this action (starting a run); the message is one line saying why."""


# --- patterns ---------------------------------------------------------------------------------------


def matches(pattern: str, reviewer: Reviewer, *, lookalikes: bool = False) -> bool:
    """Does `pattern` name this reviewer (see the module docstring)?

    Compared normalised. `lookalikes` (for deny-lists) also counts an identity that is the same person by
    `identity_key` (a look-alike character, a `+` sub-address) and a look-alike mail domain.
    """
    if pattern == "*":
        return True
    wanted = normalise_identity(pattern)
    if wanted.startswith("@"):
        return wanted[1:] in {normalise_identity(group) for group in reviewer.groups}
    if wanted.startswith("cli:"):  # only the command line is recorded as cli:<os user>
        if reviewer.verification != "cli":
            return False
        return wanted == "cli:*" or _same(wanted, reviewer.identity, lookalikes)
    if wanted.startswith("*@"):
        email = reviewer.email or (reviewer.identity if "@" in reviewer.identity else "")
        if not email:
            return False
        domain = normalise_identity(email).rsplit("@", 1)[1]
        return domain == wanted[2:] or (lookalikes and _domain_key(domain) == _domain_key(wanted[2:]))
    return any(_same(wanted, identity, lookalikes) for identity in (reviewer.identity, reviewer.email) if identity)


def _same(pattern: str, identity: str, lookalikes: bool) -> bool:
    if lookalikes:
        return identity_key(pattern) == identity_key(identity)
    return pattern == normalise_identity(identity)


def _domain_key(domain: str) -> str:
    return identity_key(f"x@{domain}").rsplit("@", 1)[1]


def check_pattern(pattern: str) -> str:
    """A pattern as the policy keeps it (trimmed), or ValueError saying which forms there are."""
    pattern = pattern.strip()
    if not pattern:
        raise ValueError(f"an empty pattern: {_PATTERN_HELP}")
    if pattern in ("*", "cli:*"):
        return pattern
    body = pattern[2:] if pattern.startswith("*@") else pattern[1:] if pattern.startswith("@") else pattern
    if not body or "*" in body or (pattern.startswith(("*@", "@")) and "@" in body):
        raise ValueError(f"{pattern!r} is not a pattern: {_PATTERN_HELP}")
    return pattern


def _accepted(levels: Iterable[str]) -> frozenset[str]:
    """The verifications `require_verification` lets decide: "unverified" is anything a person can be."""
    accepted: set[str] = set()
    for level in levels:
        if level not in LEVELS:
            raise ValueError(f"unknown verification {level!r} (use {', '.join(LEVELS)})")
        accepted |= set(LEVELS) if level == "unverified" else {level}
    return frozenset(accepted)


# --- the policy -------------------------------------------------------------------------------------


class _Table(BaseModel):
    """A table of the policy file: no unknown keys, no type coercion ("100" is not 100), no NaN or infinity."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True, allow_inf_nan=False)


class Bounds(_Table):
    """An argument's bounds, `{ min = 0, max = 5 }`: finite numbers, at least one of them."""

    min: float | None = None
    max: float | None = None

    @model_validator(mode="after")
    def _one_at_least(self) -> Bounds:
        if self.min is None and self.max is None:
            raise ValueError("is an empty bound table: give min, max or both")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"has min {self.min:g} above max {self.max:g}")
        return self

    def holds(self, value: Any) -> bool:
        """A finite number within the bounds (NaN, infinities, booleans and text never are)."""
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            return False
        return (self.min is None or value >= self.min) and (self.max is None or value <= self.max)


def _scalar(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError("must be a finite number (not nan or inf)")
    if not isinstance(value, (str, int, float, bool)):
        raise ValueError('must be "*", a value, a list of values or { min, max }')
    return value


def _arg_kind(value: Any) -> str:
    return "bounds" if isinstance(value, dict) else "one of" if isinstance(value, list) else "value"


_Scalar = Annotated[Any, AfterValidator(_scalar)]
ArgMatch = Annotated[
    Annotated[Bounds, Tag("bounds")]
    | Annotated[list[_Scalar], Tag("one of"), Field(min_length=1)]
    | Annotated[_Scalar, Tag("value")],
    Discriminator(_arg_kind),
]
_TAGS = {"bounds", "one of", "value"}


def _same_value(have: Any, want: Any) -> bool:
    """Equal, and a boolean only equals a boolean (Python says True == 1)."""
    return isinstance(have, bool) == isinstance(want, bool) and have == want


@dataclass(frozen=True)
class ToolRule:
    """What the policy says about one tool."""

    deciders: tuple[str, ...] | None = None  # None: the file's default
    decisions: tuple[str, ...] | None = None  # None: whatever the interrupt allows
    approvals: int = 1


_NO_RULE = ToolRule()  # a tool the file says nothing about (asked per row on every Inbox run: made once)


@dataclass(frozen=True)
class AutoApprove:
    """Approve a tool's calls whose arguments match, as `rule:<name>`."""

    name: str
    tool: str
    args: dict[str, Any] = field(default_factory=dict)  # "*", a list of values, Bounds, or one value

    def applies(self, row: PendingInterrupt) -> bool:
        """Do this row's tool and arguments match the rule?"""
        return row.tool == self.tool and args_match(self.args, row.args)


def args_match(wanted: dict[str, Any], args: dict[str, Any]) -> bool:
    """The policy's argument matcher (`auto_approve`, `notify`): every named argument is present and matches.

    A wanted value is "*" (any value), a list of values (one of them), `Bounds` (a finite number within them)
    or one value (equal, a boolean only to a boolean).
    """
    for key, want in wanted.items():
        if key not in args:
            return False
        have = args[key]
        if want == "*":
            continue
        if isinstance(want, Bounds):
            if not want.holds(have):
                return False
        elif isinstance(want, (list, tuple)):
            if not any(_same_value(have, one) for one in want):
                return False
        elif not _same_value(have, want):
            return False
    return True


@dataclass(frozen=True)
class Deadline:
    """A tool's rows pending longer than `after` are rejected with `reject`, or escalated to a group."""

    tool: str
    after: timedelta
    reject: str | None = None
    escalate_to: str | None = None

    @property
    def name(self) -> str:
        """The rule's name in the decision log (`deadline:<tool>`)."""
        return f"deadline:{self.tool}"

    def due(self, row: PendingInterrupt, now: datetime) -> bool:
        """True when `row` is this rule's tool and has been pending at least `after` by `now`."""
        raised = parse_time(row.raised_at)
        return row.tool == self.tool and raised is not None and now - raised >= self.after


@dataclass(frozen=True)
class NotifyRule:
    """A `[[notify]]` route: rows it matches (tool, graph, arguments) are sent through `channel`, one message
    per thread batch, to `to` (None: the row's eligible deciders). See review/notify/."""

    name: str
    channel: str  # webhook | slack | email
    tool: str | None = None  # None: any tool
    graph: str | None = None  # None: any graph
    args: dict[str, Any] = field(default_factory=dict)  # the auto_approve matcher's forms
    to: tuple[str, ...] | None = None  # identity patterns (e-mail: addresses); None: the eligible deciders
    url_secret: str | None = None  # webhook, slack: the secret's name holding the URL
    signing_secret: str | None = None  # webhook: the secret's name holding the signing key (a default if None)
    digest: timedelta = timedelta(0)  # wait this long for more rows of the thread before sending
    remind_before: timedelta | None = None  # a reminder this long before a row's deadline (None: none)
    quiet_hours: tuple[time, time] | None = None  # [start, end) in `timezone`: messages wait for the end
    timezone: str = "UTC"

    def applies(self, row: PendingInterrupt) -> bool:
        """Does this route carry `row` (its tool, graph and arguments match)?"""
        if self.tool is not None and row.tool != self.tool:
            return False
        if self.graph is not None and row.graph_id != self.graph:
            return False
        return args_match(self.args, row.args)

    def quiet_until(self, when: datetime) -> datetime | None:
        """The end of the quiet hours `when` falls in (an aware UTC time), None when it is not in them."""
        if self.quiet_hours is None:
            return None
        start, end = self.quiet_hours
        local = when.astimezone(zoneinfo.ZoneInfo(self.timezone))
        clock = local.timetz().replace(tzinfo=None)
        inside = start <= clock < end if start < end else clock >= start or clock < end
        if not inside:
            return None
        until = local.replace(hour=end.hour, minute=end.minute, second=0, microsecond=0)
        if until <= local:
            until += timedelta(days=1)
        return until.astimezone(UTC)


@dataclass(frozen=True)
class Policy:
    """The loaded policy; `Policy()` is the open one (everybody decides and starts everything, no rules)."""

    viewers: tuple[str, ...] = ()
    deciders: tuple[str, ...] = ("*",)
    tools: dict[str, ToolRule] = field(default_factory=dict)
    auto_approve: tuple[AutoApprove, ...] = ()
    deadlines: tuple[Deadline, ...] = ()
    source: str | None = None
    notify: tuple[NotifyRule, ...] = ()
    starters: tuple[str, ...] | None = None  # None: whoever may decide something
    verifications: frozenset[str] | None = None  # who may act by how they were identified; None: anyone

    def requiring(self, level: str | Iterable[str]) -> Policy:
        """This policy, where only identities verified as `level` may decide and start runs.

        `level` is "signed-in", "cli", "unverified" (anything) or several of them. It never weakens what the file
        requires (the two are intersected): the app calls `policy.requiring("signed-in")` when sign-in is
        configured, so a typed name can never decide there even if the sign-in check were bypassed.
        """
        accepted = _accepted([level] if isinstance(level, str) else level)
        if self.verifications is not None:
            accepted &= self.verifications
        return replace(self, verifications=accepted)

    # --- deciding -------------------------------------------------------------------------------

    def may_decide(
        self, reviewer: Reviewer, row: PendingInterrupt, decision: str | None = None, now: datetime | None = None
    ) -> str | None:
        """None when `reviewer` may take `decision` on `row` (any decision when None); else the reason."""
        if reviewer.verification == "rule":
            return None  # the console applying this very policy
        refused = self._unverified(reviewer, "decide")
        if refused:
            return refused
        if self.is_viewer(reviewer):
            return f"{_who(reviewer)} may view but not decide (a viewer in {self.source})"
        rule = self.tools.get(row.tool or "", _NO_RULE)
        deciders = rule.deciders if rule.deciders is not None else self.deciders
        escalated = self.escalation(row, now or datetime.now(UTC))
        if escalated is not None:
            deciders = (escalated,)
        if not any(matches(p, reviewer) for p in deciders):
            who = ", ".join(deciders) or "nobody"
            why = f"escalated to {escalated}" if escalated else f"{row.tool or 'this interrupt'} is decided by {who}"
            return f"{_who(reviewer)} may not decide this: {why}"
        if decision is not None and not self.permits(row, decision):
            allowed = ", ".join(rule.decisions or ())
            return f"{decision} is not allowed for {row.tool} by the policy (allowed: {allowed})"
        return None

    def permits(self, row: PendingInterrupt, decision: str) -> bool:
        """Whether the row's tool rule lets `decision` be taken at all (its `decisions`), whoever decides: what
        `may_decide` adds for one decision to the reviewer's general right, so a page can offer a reviewer who may
        decide a row exactly the decisions left, without asking the whole policy again per decision."""
        allowed = self.tools.get(row.tool or "", _NO_RULE).decisions
        return allowed is None or decision in allowed

    def may_start(self, reviewer: Reviewer) -> str | None:
        """None when `reviewer` may start a run; else the reason, one line. Viewers never may; `starters` may
        (when the file has no `starters`: whoever may decide something, by `deciders` or a tool's deciders)."""
        if reviewer.verification == "rule":
            return None
        refused = self._unverified(reviewer, "start runs")
        if refused:
            return refused
        if self.is_viewer(reviewer):
            return f"{_who(reviewer)} may view but not start runs (a viewer in {self.source})"
        if self.starters is not None:
            starters, whence = self.starters, f"starters in {self.source}"
        else:
            starters = tuple(
                dict.fromkeys([*self.deciders, *(p for r in self.tools.values() for p in r.deciders or ())])
            )
            whence = f"whoever may decide, by {self.source}"
        if any(matches(p, reviewer) for p in starters):
            return None
        if not reviewer.identity:
            return "say who you are (sign in, or enter your name in the sidebar) before starting a run"
        return f"{_who(reviewer)} may not start runs: runs are started by {', '.join(starters) or 'nobody'} ({whence})"

    def is_viewer(self, reviewer: Reviewer) -> bool:
        """Named by `viewers` (a deny-list: look-alikes and sub-addresses of a named identity count too)."""
        return any(matches(p, reviewer, lookalikes=True) for p in self.viewers)

    def _unverified(self, reviewer: Reviewer, action: str) -> str | None:
        if self.verifications is None or reviewer.verification in self.verifications:
            return None
        wanted = " or ".join(sorted(self.verifications, key=LEVELS.index)) or "nothing (nobody qualifies)"
        return (
            f"{_who(reviewer)} may not {action}: the policy requires a verified identity ({wanted}),"
            f" this one is {reviewer.verification}"
        )

    def deciders_of(self, row: PendingInterrupt, now: datetime | None = None) -> tuple[str, ...]:
        """The patterns of who may decide `row` now: its tool's deciders (else the file's), or the group it was
        escalated to. What a notification is sent to when its route names nobody."""
        escalated = self.escalation(row, now or datetime.now(UTC))
        if escalated is not None:
            return (escalated,)
        rule = self.tools.get(row.tool or "", _NO_RULE)
        return rule.deciders if rule.deciders is not None else self.deciders

    def routes(self, row: PendingInterrupt) -> list[NotifyRule]:
        """The `[[notify]]` routes that carry `row`."""
        return [route for route in self.notify if route.applies(row)]

    def approvals(self, tool: str | None) -> int:
        """How many distinct reviewers must make the same decision before a call of `tool` is sent."""
        return self.tools.get(tool or "", _NO_RULE).approvals

    # --- rules -----------------------------------------------------------------------------------

    def auto_rule(self, row: PendingInterrupt) -> AutoApprove | None:
        """The first auto-approve rule that decides `row`, None when a person must (or the row may not be approved)."""
        if "approve" not in row.allowed_decisions or row.blocked or row.warning:
            return None
        return next((rule for rule in self.auto_approve if rule.applies(row)), None)

    def deadline(self, row: PendingInterrupt) -> Deadline | None:
        """The deadline rule for the row's tool, if the policy has one."""
        return next((d for d in self.deadlines if d.tool == row.tool), None)

    def escalation(self, row: PendingInterrupt, now: datetime) -> str | None:
        """The group the row is escalated to now that its deadline passed; None when it is not (yet)."""
        deadline = self.deadline(row)
        if deadline is not None and deadline.escalate_to and deadline.due(row, now):
            return deadline.escalate_to
        return None

    def notes(self, row: PendingInterrupt, now: datetime | None = None) -> list[str]:
        """What the policy says about a row, for the Inbox (rules, deadlines, approvals needed)."""
        notes = []
        rule = self.auto_rule(row)
        if rule is not None:
            notes.append(f"auto-approved by rule {rule.name!r}")
        deadline = self.deadline(row)
        if deadline is not None:
            raised = parse_time(row.raised_at)
            when = (raised + deadline.after).strftime("%H:%M:%S UTC") if raised else f"after {deadline.after}"
            action = f"escalates to {deadline.escalate_to}" if deadline.escalate_to else "is rejected"
            notes.append(f"deadline: {action} at {when}")
        if self.approvals(row.tool) > 1:
            notes.append(f"needs {self.approvals(row.tool)} approvals")
        return notes


def _who(reviewer: Reviewer) -> str:
    return reviewer.identity or reviewer.name


# --- loading: the file's schema -----------------------------------------------------------------------


_Pattern = Annotated[str, AfterValidator(check_pattern)]
_Levels = Annotated[
    list[Literal["signed-in", "cli", "unverified"]],
    BeforeValidator(lambda value: [value] if isinstance(value, str) else value),
    Field(min_length=1),
]


def _duration(value: Any) -> timedelta:
    if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value) and value > 0:
        return timedelta(seconds=float(value))
    match = _DURATION.match(value) if isinstance(value, str) else None
    if not match or float(match[1]) <= 0:
        raise ValueError('must be a duration like "10m", "30s" or "2h"')
    return timedelta(seconds=float(match[1]) * _SECONDS[match[2]])


class _ToolTable(_Table):
    deciders: list[_Pattern] | None = None
    decisions: list[str] | None = None
    approvals: int = 1

    @model_validator(mode="before")
    @classmethod
    def _not_empty(cls, data: Any) -> Any:
        if data == {}:
            raise ValueError("is an empty table: give deciders, decisions or approvals")
        return data

    @field_validator("decisions")
    @classmethod
    def _decisions(cls, value: list[str] | None) -> list[str] | None:
        if value is not None and (not value or any(d not in DECISION_TYPES for d in value)):
            raise ValueError(f"must list some of {', '.join(DECISION_TYPES)}")
        return value

    @field_validator("approvals")
    @classmethod
    def _approvals(cls, value: int) -> int:
        if not 1 <= value <= 10:
            raise ValueError("must be a whole number from 1 to 10")
        return value


class _AutoApproveTable(_Table):
    name: Annotated[str, Field(min_length=1)]
    tool: Annotated[str, Field(min_length=1)]
    args: dict[str, ArgMatch] | None = None  # left out: every call of the tool

    @field_validator("args")
    @classmethod
    def _args(cls, value: dict[str, Any] | None) -> dict[str, Any] | None:
        return _named_args(value)


def _named_args(value: dict[str, Any] | None) -> dict[str, Any] | None:
    if value == {}:
        raise ValueError("is an empty table: name the arguments to match (leave args out to match every call)")
    return value


class _DeadlineTable(_Table):
    tool: Annotated[str, Field(min_length=1)]
    after: Annotated[timedelta, BeforeValidator(_duration), Field(strict=False)]
    reject: str | None = None
    escalate_to: _Pattern | None = None

    @model_validator(mode="after")
    def _one_action(self) -> _DeadlineTable:
        if (self.reject is None) == (self.escalate_to is None):
            raise ValueError('needs either reject = "message" or escalate_to = "@group"')
        return self


def _clock_range(value: Any) -> tuple[time, time]:
    match = _CLOCK.match(value) if isinstance(value, str) else None
    if not match:
        raise ValueError('must be a range of clock times like "22:00-07:00"')
    start_h, start_m, end_h, end_m = (int(match[n]) for n in range(1, 5))
    if max(start_h, end_h) > 23 or max(start_m, end_m) > 59:
        raise ValueError(f"has a clock time past 23:59 ({value.strip()})")
    if (start_h, start_m) == (end_h, end_m):
        raise ValueError("starts and ends at the same time: give two different clock times")
    return time(start_h, start_m), time(end_h, end_m)


def _secret_name(value: str) -> str:
    if not _SECRET_NAME.match(value):
        raise ValueError("must name a secret (an environment variable or a secrets.toml key), not hold one")
    return value


def _timezone(value: str) -> str:
    try:
        zoneinfo.ZoneInfo(value)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"{value!r} is not a time zone (like UTC or Europe/Paris)") from None
    return value


_SecretName = Annotated[str, AfterValidator(_secret_name)]


class _NotifyTable(_Table):
    name: Annotated[str, Field(min_length=1)]
    channel: str
    tool: Annotated[str, Field(min_length=1)] | None = None
    graph: Annotated[str, Field(min_length=1)] | None = None
    args: dict[str, ArgMatch] | None = None
    to: Annotated[list[Annotated[str, AfterValidator(check_pattern)]], Field(min_length=1)] | None = None
    url_secret: _SecretName | None = None
    signing_secret: _SecretName | None = None
    remind_before: Annotated[timedelta, BeforeValidator(_duration), Field(strict=False)] | None = None
    digest: Annotated[timedelta, BeforeValidator(lambda v: timedelta(0) if v in (0, "0") else _duration(v))] = (
        timedelta(0)
    )
    quiet_hours: Annotated[tuple[time, time], BeforeValidator(_clock_range), Field(strict=False)] | None = None
    timezone: Annotated[str, AfterValidator(_timezone)] = "UTC"

    @field_validator("args")
    @classmethod
    def _args(cls, value: dict[str, Any] | None) -> dict[str, Any] | None:
        return _named_args(value)

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if "#" in value:  # the store keys a route's reminders etc. as <name>#<kind>
            raise ValueError(f"{value!r} has a '#': name the route without one")
        return value

    @field_validator("channel")
    @classmethod
    def _channel(cls, value: str) -> str:
        if value not in CHANNELS:
            raise ValueError(f"{value!r} is not a channel (use {', '.join(CHANNELS)})")
        return value

    @model_validator(mode="after")
    def _needs(self) -> _NotifyTable:
        if self.channel in ("webhook", "slack") and self.url_secret is None:
            raise ValueError(f'needs url_secret = "NAME" (the secret holding the {self.channel} URL)')
        if self.channel != "webhook" and self.signing_secret is not None:
            raise ValueError("has signing_secret, which only a webhook route uses")
        if self.channel == "email" and self.url_secret is not None:
            raise ValueError("has url_secret: an email route sends through the SMTP server (REVIEW_SMTP)")
        return self


class _PolicyFile(_Table):
    viewers: list[_Pattern] = []
    deciders: list[_Pattern] = ["*"]
    starters: list[_Pattern] | None = None
    require_verification: _Levels | None = None
    tools: dict[str, _ToolTable] = {}
    auto_approve: list[_AutoApproveTable] = []
    deadline: list[_DeadlineTable] = []
    notify: list[_NotifyTable] = []

    @field_validator("notify")
    @classmethod
    def _unique_names(cls, value: list[_NotifyTable]) -> list[_NotifyTable]:
        names = [route.name for route in value]
        twice = sorted({name for name in names if names.count(name) > 1})
        if twice:
            raise ValueError(f"names route {twice[0]!r} twice: each [[notify]] needs its own name")
        return value


_KNOWN: dict[int | str, type[_Table]] = {
    0: _PolicyFile,
    "tools": _ToolTable,
    "auto_approve": _AutoApproveTable,
    "deadline": _DeadlineTable,
    "notify": _NotifyTable,
}
_PATTERN_LISTS = {"viewers", "deciders", "starters"}
_TYPES = {
    "float_type": "must be a number",
    "int_type": "must be a whole number",
    "string_type": "must be text",
    "bool_type": "must be true or false",
    "list_type": "must be a list",
    "dict_type": "must be a table",
    "model_type": "must be a table",
    "finite_number": "must be a finite number (not nan or inf)",
    "too_short": "must not be empty",
    "literal_error": f"must be one of {', '.join(LEVELS)}",
}


def _one_line(errors: list[ErrorDetails], data: dict[str, Any], source: str) -> str:
    """The first schema error as one line: `<file>: [<table>] <key>: <what is wrong>`."""
    error = errors[0]
    loc = [part for part in error["loc"] if part not in _TAGS]
    place, rest = _place(loc, data)
    kind = error["type"]
    if kind == "extra_forbidden":
        *parent, key = rest
        where = _path(parent)
        if "bounds" in error["loc"]:
            text = f"{where}: unknown bound {key!r} (use min, max)"
        else:
            same = [
                str(e["loc"][-1])
                for e in errors
                if e["type"] == "extra_forbidden" and [p for p in e["loc"] if p not in _TAGS][:-1] == loc[:-1]
            ]
            known = _KNOWN[loc[0] if len(loc) > 1 and place else 0].model_fields
            text = f"{where + ' ' if where else ''}unknown key(s) {', '.join(same)} (known: {', '.join(sorted(known))})"
        return " ".join(part for part in (f"{source}:", place, text) if part)
    if kind == "missing":
        *parent, key = rest
        where, text = _path(parent), f"needs {key!r}"
    else:
        where = _path(rest)
        if kind in ("value_error", "assertion_error"):
            text = str((error.get("ctx") or {}).get("error", error["msg"]))
        elif kind == "list_type" and rest and rest[-1] in _PATTERN_LISTS:
            text = 'must be a list of identity patterns like ["@ops", "*@example.org"]'
        else:
            text = _TYPES.get(kind, error["msg"])
    if where and not text.startswith(("must", "needs", "is ", "has ")):
        where += ":"
    return " ".join(part for part in (f"{source}:", place, where, text) if part)


def _path(parts: list[int | str]) -> str:
    """`args.radius`, `deciders #2`: keys dotted, list positions counted from 1."""
    text = ""
    for part in parts:
        text += f" #{part + 1}" if isinstance(part, int) else f"{'.' if text else ''}{part}"
    return text


def _place(loc: list[int | str], data: dict[str, Any]) -> tuple[str, list[int | str]]:
    """The table an error is in (`[tools.x]`, `[auto_approve.<name>]`, `[[deadline]] #2`) and the path inside it."""
    if len(loc) >= 2 and loc[0] == "tools":
        return f"[tools.{loc[1]}]", loc[2:]
    if len(loc) >= 2 and loc[0] in ("auto_approve", "deadline", "notify") and isinstance(loc[1], int):
        tables = data.get(str(loc[0]))
        raw = tables[loc[1]] if isinstance(tables, list) and loc[1] < len(tables) else None
        label = raw.get("tool" if loc[0] == "deadline" else "name") if isinstance(raw, dict) else None
        place = f"[{loc[0]}.{label}]" if isinstance(label, str) and label else f"[[{loc[0]}]] #{loc[1] + 1}"
        return place, loc[2:]
    return "", loc


def parse_policy(data: dict[str, Any], source: str) -> Policy:
    """A Policy from the file's parsed TOML; PolicyError names the first thing that is wrong, in one line."""
    try:
        checked = _PolicyFile.model_validate(data)
    except ValidationError as exc:
        raise PolicyError(_one_line(exc.errors(), data, source)) from None
    return Policy(
        viewers=tuple(checked.viewers),
        deciders=tuple(checked.deciders),
        tools={
            name: ToolRule(
                deciders=tuple(rule.deciders) if rule.deciders is not None else None,
                decisions=tuple(rule.decisions) if rule.decisions is not None else None,
                approvals=rule.approvals,
            )
            for name, rule in checked.tools.items()
        },
        auto_approve=tuple(AutoApprove(rule.name, rule.tool, dict(rule.args or {})) for rule in checked.auto_approve),
        deadlines=tuple(Deadline(d.tool, d.after, d.reject, d.escalate_to) for d in checked.deadline),
        source=source,
        notify=tuple(
            NotifyRule(
                name=route.name,
                channel=route.channel,
                tool=route.tool,
                graph=route.graph,
                args=dict(route.args or {}),
                to=tuple(route.to) if route.to is not None else None,
                url_secret=route.url_secret,
                signing_secret=route.signing_secret,
                digest=route.digest,
                remind_before=route.remind_before,
                quiet_hours=route.quiet_hours,
                timezone=route.timezone,
            )
            for route in checked.notify
        ),
        starters=tuple(checked.starters) if checked.starters is not None else None,
        verifications=_accepted(checked.require_verification) if checked.require_verification else None,
    )


def load_policy(path: str | None) -> Policy:
    """The policy at `path` (or review-policy.toml when it exists); the open policy when there is none."""
    target = Path(path).expanduser() if path else DEFAULT_POLICY_FILE
    if not target.exists():
        if path:
            raise PolicyError(f"no policy file at {target}")
        return Policy()
    try:
        data = tomllib.loads(target.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise PolicyError(f"cannot read the policy {target}: {exc}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise PolicyError(f"the policy {target} is not valid TOML: {exc}") from exc
    return parse_policy(data, str(target))
