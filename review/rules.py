"""Auto-approve rules earned from history: suggested from the decision log, tried in shadow mode, then promoted
into the policy file or dropped.

- **Suggest** (`suggest`): a tool people approved unedited at least `min_share` of the time over at least
  `min_decisions` settled decisions, none of whose applied decisions the graph contradicted
  ("create_circle: 48 of 50 approved unedited, 0 contradicted outcomes"). Tools a tool-wide rule already approves,
  tools under four eyes (`approvals > 1`: a rule would bypass the second person) and tools whose policy does not
  allow approve are never suggested.
- **Shadow** (`shadow`): a stored rule is evaluated against every decision people made since it was shadowed: would
  it have auto-approved the row (its tool and arguments match), and what did the reviewer do. A disagreement is a
  row the rule would have approved that the reviewer edited, rejected or answered otherwise, or whose approval the
  graph contradicted. Rows the rule would have left to a person are listed, never counted against it.
- **Promote** (`promoted_policy_text`): the rule appended to the policy file as an `[[auto_approve]]` table with a
  comment naming who promoted it, when and on what evidence; the text is checked by the policy's own loader before
  it is written (`ReviewConsole.promote_rule` writes it, records the event and reloads the policy).

Everything here is pure: the console reads the log and the table (review/storage/insight.py) and writes the file.
"""

from __future__ import annotations

import json
import math
import tomllib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from review.audit import AuditEntry
from review.insights import settled
from review.policy import AutoApprove, Policy, args_match, parse_policy
from review.times import parse_time

MIN_DECISIONS = 20
MIN_SHARE = 0.95
NAME_PREFIX = "earned "  # a suggested rule's name: "earned create_circle"


class RuleError(ValueError):
    """A rule cannot be shadowed, promoted or dropped; the message says why in one line."""


@dataclass(frozen=True)
class Suggestion:
    """An auto-approve rule the log argues for, with its evidence."""

    tool: str
    decisions: int
    approved: int  # approved as the agent asked (not edited)
    edited: int
    rejected: int
    other: int
    contradicted: int

    @property
    def name(self) -> str:
        """The rule's name (`rule:<name>` in the decision log once it decides)."""
        return f"{NAME_PREFIX}{self.tool}"

    @property
    def text(self) -> str:
        """The evidence in one line."""
        return (
            f"{self.tool}: {self.approved} of {self.decisions} approved unedited, "
            f"{self.contradicted} contradicted outcome{'' if self.contradicted == 1 else 's'}"
        )


@dataclass(frozen=True)
class ShadowRule:
    """A rule in (or out of) shadow mode, as stored."""

    name: str
    tool: str
    args: dict[str, Any] = field(default_factory=dict)  # the auto_approve matcher's forms, as the file writes them
    state: str = "shadow"  # shadow | promoted | dropped
    since: str = ""  # ISO: decisions from then on are evaluated
    created_by: str = ""
    evidence: str = ""
    ended_at: str | None = None
    ended_by: str | None = None

    def rule(self) -> AutoApprove:
        """The rule as the policy would hold it (checked by the policy file's own schema)."""
        table: dict[str, Any] = {"name": self.name, "tool": self.tool}
        if self.args:
            table["args"] = self.args
        (rule,) = parse_policy({"auto_approve": [table]}, f"rule {self.name!r}").auto_approve
        return rule


@dataclass(frozen=True)
class ShadowVerdict:
    """One decision the shadowed rule was held against."""

    attempt_id: int
    thread_id: str
    row_id: str
    decided_at: str
    reviewer: str
    args: dict[str, Any]
    would_approve: bool  # the rule matches the row: it would have approved it, nobody asked
    actual: str  # what the reviewer decided (approve, edit, reject...), "approve (contradicted)" when so

    @property
    def disagrees(self) -> bool:
        """The rule would have approved what the reviewer did not approve as asked (or what went wrong)."""
        return self.would_approve and self.actual != "approve"


@dataclass(frozen=True)
class ShadowReport:
    """A shadowed rule and how it fared against the decisions made since."""

    rule: ShadowRule
    verdicts: list[ShadowVerdict]

    @property
    def matched(self) -> int:
        """Decisions the rule would have made itself."""
        return sum(1 for v in self.verdicts if v.would_approve)

    @property
    def disagreements(self) -> list[ShadowVerdict]:
        """Rows it would have approved that the reviewer did not (newest first)."""
        return [v for v in reversed(self.verdicts) if v.disagrees]

    @property
    def text(self) -> str:
        """How it fared, in one line."""
        return (
            f"{self.rule.name}: would have approved {self.matched} of {len(self.verdicts)} {self.rule.tool} "
            f"decisions since {self.rule.since[:16].replace('T', ' ')}, "
            f"{len(self.disagreements)} against what the reviewer did"
        )


def _by_person(entry: AuditEntry) -> bool:
    return entry.verification != "rule"


def suggest(
    entries: Iterable[AuditEntry],
    policy: Policy,
    *,
    min_decisions: int = MIN_DECISIONS,
    min_share: float = MIN_SHARE,
    skip: Iterable[str] = (),
) -> list[Suggestion]:
    """Tools whose history earns them a tool-wide auto-approve rule, most decided first (`skip`: tools not to
    suggest, e.g. those already in shadow mode)."""
    tally: dict[str, dict[str, int]] = {}
    for entry in settled(entries):
        if not entry.tool or not _by_person(entry):
            continue
        counts = tally.setdefault(entry.tool, {"approved": 0, "edited": 0, "rejected": 0, "other": 0, "contra": 0})
        kind = {"approve": "approved", "edit": "edited", "reject": "rejected"}.get(entry.decision, "other")
        counts[kind] += 1
        counts["contra"] += int(entry.contradicted)
    covered = {rule.tool for rule in policy.auto_approve if not rule.args} | set(skip)
    found = []
    for tool, counts in tally.items():
        total = counts["approved"] + counts["edited"] + counts["rejected"] + counts["other"]
        allowed = policy.tools.get(tool)
        if tool in covered or policy.approvals(tool) > 1:
            continue
        if allowed is not None and allowed.decisions is not None and "approve" not in allowed.decisions:
            continue
        if total < min_decisions or counts["contra"] or counts["approved"] < math.ceil(min_share * total):
            continue
        found.append(
            Suggestion(
                tool, total, counts["approved"], counts["edited"], counts["rejected"], counts["other"], counts["contra"]
            )
        )
    return sorted(found, key=lambda s: (-s.decisions, s.tool))


def shadow(rule: ShadowRule, entries: Iterable[AuditEntry]) -> ShadowReport:
    """Hold `rule` against every settled decision people made on its tool since it was shadowed (until it was
    promoted or dropped), oldest first."""
    since = parse_time(rule.since)
    until = parse_time(rule.ended_at)
    matcher = rule.rule()
    verdicts = []
    for entry in settled(entries):
        decided = parse_time(entry.decided_at)
        if entry.tool != rule.tool or not _by_person(entry) or decided is None:
            continue
        if (since is not None and decided < since) or (until is not None and decided >= until):
            continue
        args = entry.args_before or {}
        would = entry.warning is None and args_match(matcher.args, args)
        actual = entry.decision if not entry.contradicted else f"{entry.decision} (contradicted)"
        verdicts.append(
            ShadowVerdict(
                entry.attempt_id, entry.thread_id, entry.row_id, entry.decided_at, entry.reviewer, args, would, actual
            )
        )
    return ShadowReport(rule, verdicts)


# --- the policy file ----------------------------------------------------------------------------------------------


def _toml_value(value: Any) -> str:
    """A matcher's value as TOML: strings and keys as JSON strings (valid TOML basic strings), lists, bound tables."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return json.dumps(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_toml_value(item) for item in value) + "]"
    if isinstance(value, Mapping):
        return "{ " + ", ".join(f"{json.dumps(str(k))} = {_toml_value(v)}" for k, v in value.items()) + " }"
    raise RuleError(f"{value!r} cannot be written into a policy file")


def _one_line(text: str) -> str:
    return " ".join(text.split())


def promoted_policy_text(current: str, rule: ShadowRule, actor: str, at: str, source: str) -> str:
    """The policy file's text with `rule` appended as an `[[auto_approve]]` table (and a comment saying who promoted
    it, when, on what evidence). RuleError when the result would not load, or the file already names the rule."""
    try:
        before = parse_policy(tomllib.loads(current), source) if current.strip() else Policy()
    except (tomllib.TOMLDecodeError, ValueError) as exc:
        raise RuleError(f"the policy {source} does not load as it is, so nothing was written: {exc}") from None
    if any(found.name == rule.name for found in before.auto_approve):
        raise RuleError(f"the policy {source} already has an auto_approve rule named {rule.name!r}")
    block = [
        "",
        f"# Promoted from shadow mode by {_one_line(actor)} at {at}: {_one_line(rule.evidence)}",
        "[[auto_approve]]",
        f"name = {_toml_value(rule.name)}",
        f"tool = {_toml_value(rule.tool)}",
    ]
    if rule.args:
        block.append(f"args = {_toml_value(rule.args)}")
    text = current if not current or current.endswith("\n") else current + "\n"
    text += "\n".join(block) + "\n"
    try:
        after = parse_policy(tomllib.loads(text), source)
    except (tomllib.TOMLDecodeError, ValueError) as exc:
        raise RuleError(f"the rule {rule.name!r} would not load in {source}: {exc}") from None
    if not any(found.name == rule.name for found in after.auto_approve):  # pragma: no cover - a bug here, not input
        raise RuleError(f"the rule {rule.name!r} is not in the text written for {source}")
    return text


def stored_args(rule: ShadowRule) -> str:
    """The rule's arguments as the store keeps them (JSON)."""
    return json.dumps(rule.args, sort_keys=True)


def describe(verdicts: Sequence[ShadowVerdict]) -> list[dict[str, Any]]:
    """The would-have / actual table, newest first: one dict per decision (for a page or the CLI)."""
    return [
        {
            "decided_at": v.decided_at,
            "reviewer": v.reviewer,
            "thread_id": v.thread_id,
            "arguments": json.dumps(v.args, sort_keys=True, ensure_ascii=False),
            "rule would": "approve" if v.would_approve else "leave it to a person",
            "reviewer did": v.actual,
            "agree": not v.disagrees,
        }
        for v in reversed(verdicts)
    ]
