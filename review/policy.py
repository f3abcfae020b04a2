"""Who may decide what, how many must approve, and the rules that decide by themselves.

One TOML file (`REVIEW_POLICY`, `--policy`, else `review-policy.toml` when it exists; see
review-policy.example.toml). Without one, everybody may decide everything and no rule runs. Patterns
name identities: `*` (everyone), `*@example.org` (a mail domain), `@ops` (a group from the sign-in's
groups claim), or one identity (`ana@example.org`, `cli:deploy`).

    viewers = ["*@partners.example.org"]      # see the console, never decide
    deciders = ["*"]                          # who may decide a tool the file does not list

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

The core checks every decision against it (pages, CLI, any caller), and a console's worker applies
the rules through the same claim path as a reviewer, so a rule and a reviewer racing get one winner.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from review.contract import DECISION_TYPES, PendingInterrupt
from review.identity import Reviewer

DEFAULT_POLICY_FILE = Path("review-policy.toml")
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhd]?)\s*$")
_SECONDS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}


class PolicyError(ValueError):
    """The policy file cannot be used; the message is one line naming the file and what is wrong."""


def matches(pattern: str, reviewer: Reviewer) -> bool:
    """Does `pattern` name this reviewer (see the module docstring)?"""
    if pattern == "*":
        return True
    if pattern.startswith("@"):
        return pattern[1:] in reviewer.groups
    if pattern.startswith("*@"):
        email = reviewer.email or (reviewer.identity if "@" in reviewer.identity else "")
        return email.lower().endswith(pattern[1:].lower())
    return pattern.lower() in {reviewer.identity.lower(), (reviewer.email or "").lower()}


@dataclass(frozen=True)
class ToolRule:
    """What the policy says about one tool."""

    deciders: tuple[str, ...] | None = None  # None: the file's default
    decisions: tuple[str, ...] | None = None  # None: whatever the interrupt allows
    approvals: int = 1


@dataclass(frozen=True)
class AutoApprove:
    """Approve a tool's calls whose arguments match, as `rule:<name>`."""

    name: str
    tool: str
    args: dict[str, Any] = field(default_factory=dict)

    def applies(self, row: PendingInterrupt) -> bool:
        if row.tool != self.tool:
            return False
        for key, want in self.args.items():
            if key not in row.args:
                return False
            have = row.args[key]
            if want == "*":
                continue
            if isinstance(want, list):
                if have not in want:
                    return False
            elif isinstance(want, dict):
                if not isinstance(have, (int, float)) or isinstance(have, bool):
                    return False
                if ("min" in want and have < want["min"]) or ("max" in want and have > want["max"]):
                    return False
            elif have != want:
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
        return f"deadline:{self.tool}"

    def due(self, row: PendingInterrupt, now: datetime) -> bool:
        raised = _time(row.raised_at)
        return row.tool == self.tool and raised is not None and now - raised >= self.after


@dataclass(frozen=True)
class Policy:
    """The loaded policy; `Policy()` is the open one (everybody decides everything, no rules)."""

    viewers: tuple[str, ...] = ()
    deciders: tuple[str, ...] = ("*",)
    tools: dict[str, ToolRule] = field(default_factory=dict)
    auto_approve: tuple[AutoApprove, ...] = ()
    deadlines: tuple[Deadline, ...] = ()
    source: str | None = None

    # --- deciding -------------------------------------------------------------------------------

    def may_decide(
        self, reviewer: Reviewer, row: PendingInterrupt, decision: str | None = None, now: datetime | None = None
    ) -> str | None:
        """None when `reviewer` may take `decision` on `row` (any decision when None); else the reason."""
        if reviewer.verification == "rule":
            return None  # the console applying this very policy
        if any(matches(p, reviewer) for p in self.viewers):
            return f"{reviewer.identity} may view but not decide (a viewer in {self.source})"
        rule = self.tools.get(row.tool or "", ToolRule())
        deciders = rule.deciders if rule.deciders is not None else self.deciders
        escalated = self.escalation(row, now or datetime.now(UTC))
        if escalated is not None:
            deciders = (escalated,)
        if not any(matches(p, reviewer) for p in deciders):
            who = ", ".join(deciders) or "nobody"
            why = f"escalated to {escalated}" if escalated else f"{row.tool or 'this interrupt'} is decided by {who}"
            return f"{reviewer.identity} may not decide this: {why}"
        if decision is not None and rule.decisions is not None and decision not in rule.decisions:
            return f"{decision} is not allowed for {row.tool} by the policy (allowed: {', '.join(rule.decisions)})"
        return None

    def approvals(self, tool: str | None) -> int:
        return self.tools.get(tool or "", ToolRule()).approvals

    # --- rules -----------------------------------------------------------------------------------

    def auto_rule(self, row: PendingInterrupt) -> AutoApprove | None:
        if "approve" not in row.allowed_decisions or row.blocked or row.warning:
            return None
        return next((rule for rule in self.auto_approve if rule.applies(row)), None)

    def deadline(self, row: PendingInterrupt) -> Deadline | None:
        return next((d for d in self.deadlines if d.tool == row.tool), None)

    def escalation(self, row: PendingInterrupt, now: datetime) -> str | None:
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
            raised = _time(row.raised_at)
            when = (raised + deadline.after).strftime("%H:%M:%S UTC") if raised else f"after {deadline.after}"
            action = f"escalates to {deadline.escalate_to}" if deadline.escalate_to else "is rejected"
            notes.append(f"deadline: {action} at {when}")
        if self.approvals(row.tool) > 1:
            notes.append(f"needs {self.approvals(row.tool)} approvals")
        return notes


def _time(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


# --- loading ----------------------------------------------------------------------------------------


def _patterns(value: Any, where: str, source: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(p, str) and p.strip() for p in value):
        raise PolicyError(f'{source}: {where} must be a list of identity patterns like ["@ops", "*@example.org"]')
    return tuple(p.strip() for p in value)


def _duration(value: Any, where: str, source: str) -> timedelta:
    if isinstance(value, (int, float)) and not isinstance(value, bool) and value > 0:
        return timedelta(seconds=float(value))
    match = _DURATION.match(value) if isinstance(value, str) else None
    if not match or float(match[1]) <= 0:
        raise PolicyError(f'{source}: {where} must be a duration like "10m", "30s" or "2h"')
    return timedelta(seconds=float(match[1]) * _SECONDS[match[2]])


def parse_policy(data: dict[str, Any], source: str) -> Policy:
    """A Policy from the file's parsed TOML; PolicyError names the first thing that is wrong."""
    known = {"viewers", "deciders", "tools", "auto_approve", "deadline"}
    unknown = set(data) - known
    if unknown:
        raise PolicyError(f"{source}: unknown key(s) {', '.join(sorted(unknown))} (known: {', '.join(sorted(known))})")
    tools: dict[str, ToolRule] = {}
    for name, raw in (data.get("tools") or {}).items():
        if not isinstance(raw, dict):
            raise PolicyError(f"{source}: [tools.{name}] must be a table")
        decisions = raw.get("decisions")
        if decisions is not None and (
            not isinstance(decisions, list) or not decisions or any(d not in DECISION_TYPES for d in decisions)
        ):
            raise PolicyError(f"{source}: tools.{name}.decisions must list some of {', '.join(DECISION_TYPES)}")
        approvals = raw.get("approvals", 1)
        if not isinstance(approvals, int) or isinstance(approvals, bool) or not 1 <= approvals <= 10:
            raise PolicyError(f"{source}: tools.{name}.approvals must be a whole number from 1 to 10")
        tools[name] = ToolRule(
            deciders=_patterns(raw["deciders"], f"tools.{name}.deciders", source) if "deciders" in raw else None,
            decisions=tuple(decisions) if decisions is not None else None,
            approvals=approvals,
        )
    rules = []
    for index, raw in enumerate(data.get("auto_approve") or []):
        if not isinstance(raw, dict) or not isinstance(raw.get("name"), str) or not isinstance(raw.get("tool"), str):
            raise PolicyError(f"{source}: auto_approve #{index + 1} needs a name and a tool")
        if not isinstance(raw.get("args", {}), dict):
            raise PolicyError(f"{source}: auto_approve {raw['name']!r}: args must be a table")
        rules.append(AutoApprove(raw["name"], raw["tool"], dict(raw.get("args") or {})))
    deadlines = []
    for index, raw in enumerate(data.get("deadline") or []):
        if not isinstance(raw, dict) or not isinstance(raw.get("tool"), str):
            raise PolicyError(f"{source}: deadline #{index + 1} needs a tool")
        reject, escalate = raw.get("reject"), raw.get("escalate_to")
        if (reject is None) == (escalate is None) or not isinstance(reject or escalate, str):
            raise PolicyError(f'{source}: deadline for {raw["tool"]} needs either reject = "message" or escalate_to')
        after = _duration(raw.get("after"), f"deadline for {raw['tool']}: after", source)
        deadlines.append(Deadline(raw["tool"], after, reject, escalate))
    return Policy(
        viewers=_patterns(data["viewers"], "viewers", source) if "viewers" in data else (),
        deciders=_patterns(data["deciders"], "deciders", source) if "deciders" in data else ("*",),
        tools=tools,
        auto_approve=tuple(rules),
        deadlines=tuple(deadlines),
        source=source,
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
