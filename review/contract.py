"""The review contract: what a pending row is, what a decision is, and how payloads map to both.

This is the one place that knows interrupt payload shapes. Each row says which it came from (`payload_kind`):
- `tool_approval`: langchain's per-call approval request (`{"type": "tool_approval", "tool_call_id", "name",
  "args", "description"}`, optionally `allowed_decisions` and `args_schema`), resumed with the decision
  (`approve` / `edit` / `reject`) as is;
- `agent_inbox`: Agent Inbox's older request (`{"action_request": {"action", "args"}, "config": {...},
  "description"}`, alone or in a one-item list), resumed with `[{"type": accept|edit|response|ignore, "args"}]`;
- `batched`: langchain's default request (`{"action_requests": [...], "review_configs": [...]}`): one row per
  action (`<interrupt_id>#n`), decided together, resumed with `{"decisions": [...]}` in action order;
- `question`: any other value, a question for a person: answered with a value (text, or any JSON value; checked
  against the interrupt's `response_schema` when it has one, see `review.answers`).
Two kinds are made elsewhere: static breakpoints, which raise no interrupt at all, become `breakpoint`,
`breakpoint_shared` and `breakpoint_node` rows in `review.breakpoints`; a thread whose checkpoint cannot be
decoded shows one read-only `unreadable` row (`review.inbox`).
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from review.serde import plain_value

DecisionType = Literal["approve", "edit", "reject", "respond", "ignore"]
# Every decision the console speaks: langchain's four (`respond` answers for the tool, which does not run)
# and Agent Inbox's `ignore`. What a row allows is what its payload (or its response_schema) says.
DECISION_TYPES: tuple[str, ...] = ("approve", "edit", "reject", "respond", "ignore")
TOOL_DECISIONS: tuple[str, ...] = ("approve", "edit", "reject")  # a tool request that names no schema
MAX_MESSAGE_CHARS = 2000


@dataclass(frozen=True)
class PendingInterrupt:
    """One pending interrupt of one thread: one row in the reviewer's inbox."""

    thread_id: str
    row_id: str  # what a decision addresses: the interrupt id, or `<interrupt_id>#n` for a batched part
    interrupt_id: str  # LangGraph's interrupt id (shared by a batched request's parts)
    tool_call_id: str | None
    tool: str | None
    args: dict[str, Any]
    description: str
    allowed_decisions: tuple[str, ...]
    raised_at: str | None
    payload_kind: str = "tool_approval"
    graph_id: str | None = None  # the graph the thread belongs to (None: its checkpoints name none)
    blocked: str | None = None  # why it cannot be decided from this console (no loaded graph claims the thread)
    warning: str | None = None  # an unsafe layout: what is hidden and why a resume could misroute
    source: str | None = None  # where the thread lives: None for the local graphs, "server:<url>" for an Agent Server
    # A question's JSON Schema of its answer (the interrupt's `response_schema`): answers are checked against it.
    answer_schema: dict[str, Any] | None = None
    # JSON Schema of the tool's arguments, when the payload carries one (langchain HITL's review_config
    # `args_schema`, a tool_approval's "args_schema"): how an edit is checked when the console has not
    # loaded the tool itself (an Agent Server's graph). Not part of to_dict: clients read it from the payload.
    args_schema: dict[str, Any] | None = field(default=None, compare=False, repr=False)
    # Listed from an Agent Server's thread search, its thread's state not read yet: shown at once, never decided
    # from (a submit reads the state first), replaced by the state's rows when read.
    unverified: bool = False

    @property
    def key(self) -> tuple[str, str]:
        """A row's identity: decisions belong to this key, never to a position in a table."""
        return (self.thread_id, self.row_id)

    def to_dict(self) -> dict[str, Any]:
        """The row as JSON-ready fields (`args` is shared, not copied: treat it as read-only)."""
        return {
            "thread_id": self.thread_id,
            "row_id": self.row_id,
            "interrupt_id": self.interrupt_id,
            "tool_call_id": self.tool_call_id,
            "tool": self.tool,
            "args": self.args,
            "description": self.description,
            "allowed_decisions": list(self.allowed_decisions),
            "raised_at": self.raised_at,
            "payload_kind": self.payload_kind,
            "graph_id": self.graph_id,
            "blocked": self.blocked,
            "warning": self.warning,
            "source": self.source,
            "answer_schema": self.answer_schema,
            "unverified": self.unverified,
        }


@dataclass(frozen=True)
class DecisionRequest:
    """A reviewer's decision for one row, as handed to `submit_batch`."""

    thread_id: str
    row_id: str
    decision: Any
    force: bool = False  # send it although the row warns of an unsafe layout (the audit keeps the warning)

    @property
    def interrupt_id(self) -> str:
        """LangGraph's interrupt id of the row (the row id without a batched request's `#n`)."""
        return base_interrupt_id(self.row_id)

    @classmethod
    def from_dict(cls, raw: Any, position: int | None = None) -> DecisionRequest:
        """Build from `{"thread_id", "row_id" (or "interrupt_id"), "decision"}`; ValueError says what is wrong.

        `position` (1-based) names the item in a batch, so a message says which one.
        """
        where = f"item {position}" if position is not None else "item"
        if not isinstance(raw, dict):
            raise ValueError(f"{where} must be an object with thread_id, row_id and decision, got {clip(raw)}")
        row_id = raw.get("row_id", raw.get("interrupt_id"))
        if isinstance(row_id, str):
            where += f" (row {clip(row_id, 40)})"
        missing = [
            k
            for k, present in (
                ("thread_id", "thread_id" in raw),
                ("row_id", row_id is not None),
                ("decision", "decision" in raw),
            )
            if not present
        ]
        if missing:
            raise ValueError(f"{where} is missing {', '.join(missing)}")
        if not isinstance(raw["thread_id"], str) or not isinstance(row_id, str):
            raise ValueError(f"{where}: thread_id and row_id must be strings")
        unknown = set(raw) - {"thread_id", "row_id", "interrupt_id", "decision", "force"}
        if unknown:
            raise ValueError(f"{where} has unknown field(s) {clip(', '.join(sorted(map(str, unknown))), quote=False)}")
        if "row_id" in raw and "interrupt_id" in raw and base_interrupt_id(raw["row_id"]) != raw["interrupt_id"]:
            raise ValueError(f"{where}: row_id and interrupt_id name different interrupts")
        if not isinstance(raw.get("force", False), bool):
            raise ValueError(f"{where}: force must be true or false")
        check_depth(raw["decision"], where=where)
        return cls(raw["thread_id"], row_id, raw["decision"], bool(raw.get("force", False)))


@dataclass(frozen=True)
class Decision:
    """A validated decision, in langchain's shape, with the arguments it acts on."""

    type: DecisionType
    args_before: dict[str, Any]
    args_after: dict[str, Any] | None
    message: str | None
    tool: str | None
    value: Any = None  # a question's answer, any JSON value (its text, for the log, is `message`)

    def as_langchain(self) -> dict[str, Any]:
        """The decision in langchain's human-in-the-loop shape, as the graph is resumed with it."""
        if self.type == "approve":
            return {"type": "approve"}
        if self.type == "edit":
            return {"type": "edit", "edited_action": {"name": self.tool, "args": self.args_after}}
        if self.type == "respond":
            return {"type": "respond", "message": self.message or ""}
        return {"type": "reject", "message": self.message or ""}


@dataclass(frozen=True)
class RowError:
    """Why one row of a batch was refused (nothing of the batch was sent)."""

    thread_id: str
    row_id: str
    error: str


@dataclass(frozen=True)
class Conflict:
    """A row someone already decided: who, when, and what."""

    thread_id: str
    row_id: str
    reviewer: str
    decided_at: str
    decision_type: str

    @property
    def message(self) -> str:
        """The conflict in words for the reviewer who lost the race: who decided it, when, how."""
        return f"already decided by {self.reviewer} at {self.decided_at} ({self.decision_type})"


@dataclass
class ThreadOutcome:
    """What happened to one thread of a batch, as its checkpoint shows it after the resume.

    `applied`: rows whose interrupt the resume answered. `failed`: rows it did not (row id -> why;
    they are pending again and free to decide). `taken_over`: rows this process lost to recovery
    (its lease expired while it was paused): recovery applies them, this process wrote nothing.
    `unknown`: rows whose outcome could not be read (the database failed); recovery finishes them.
    """

    thread_id: str
    applied: list[str] = field(default_factory=list)
    conflicts: list[Conflict] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)
    taken_over: list[str] = field(default_factory=list)
    unknown: list[str] = field(default_factory=list)
    rerun: list[str] = field(default_factory=list)  # re-sent by recovery after a resume had started
    waiting: dict[str, str] = field(default_factory=dict)  # approvals recorded as co-signs: row id -> "1 of 2 ..."
    new_pending: list[PendingInterrupt] = field(default_factory=list)
    verdicts: dict[str, str] = field(default_factory=dict)  # row id -> did the graph honour it (review/verify.py)
    error: str | None = None


@dataclass
class BatchResult:
    """The outcome of `submit_batch`: refused whole (`invalid`), or per thread."""

    batch_id: str
    invalid: list[RowError] = field(default_factory=list)
    threads: dict[str, ThreadOutcome] = field(default_factory=dict)
    note: str | None = None  # e.g. "the batch is empty: nothing was sent"

    @property
    def applied(self) -> list[tuple[str, str]]:
        """(thread_id, row_id) of every row this batch applied."""
        return [(t, i) for t, o in self.threads.items() for i in o.applied]

    @property
    def conflicts(self) -> list[Conflict]:
        """Rows someone else had already decided, across the batch's threads."""
        return [c for o in self.threads.values() for c in o.conflicts]

    @property
    def new_pending(self) -> list[PendingInterrupt]:
        """Interrupts the resumed threads raised next, across the batch."""
        return [p for o in self.threads.values() for p in o.new_pending]

    @property
    def errors(self) -> list[dict[str, str]]:
        """The threads whose run failed, with the error each reported."""
        return [{"thread_id": t, "error": o.error} for t, o in self.threads.items() if o.error]

    @property
    def not_applied(self) -> list[dict[str, str]]:
        """Rows sent but not applied by this call: failed, taken over, or of unknown outcome."""
        rows = []
        for thread_id, outcome in self.threads.items():
            rows += [{"thread_id": thread_id, "row_id": r, "reason": why} for r, why in outcome.failed.items()]
            rows += [
                {"thread_id": thread_id, "row_id": r, "reason": "taken over by recovery (this process lost its lease)"}
                for r in outcome.taken_over
            ]
            rows += [
                {
                    "thread_id": thread_id,
                    "row_id": r,
                    "reason": "outcome unknown: the database failed; recovery ends it",
                }
                for r in outcome.unknown
            ]
        return rows

    @property
    def contradicted(self) -> list[dict[str, str]]:
        """Applied rows whose outcome the checkpoint contradicts (a rejected call that ran anyway, say)."""
        return [
            {"thread_id": t, "row_id": r, "outcome_check": verdict}
            for t, o in self.threads.items()
            for r, verdict in o.verdicts.items()
            if verdict.startswith("contradicted")
        ]

    @property
    def exit_code(self) -> int:
        """0 done; 2 invalid input (nothing sent); 3 some rows were conflicts; 1 a run failed, rows were not
        applied, or the graph contradicted a decision."""
        if self.invalid or self.note:
            return 2
        if self.conflicts:
            return 3
        if self.errors or self.not_applied or self.contradicted:
            return 1
        return 0

    def to_dict(self) -> dict[str, Any]:
        """The batch's result as JSON-ready data (what the CLI prints for a batch)."""
        out = {
            "batch_id": self.batch_id,
            "applied": [{"thread_id": t, "row_id": i} for t, i in self.applied],
            "conflicts": [{**asdict(c), "message": c.message} for c in self.conflicts],
            "not_applied": self.not_applied,
            "rerun_by_recovery": [{"thread_id": t, "row_id": r} for t, o in self.threads.items() for r in o.rerun],
            "waiting_for_approvals": [
                {"thread_id": t, "row_id": r, "approvals": text}
                for t, o in self.threads.items()
                for r, text in o.waiting.items()
            ],
            "new_pending": [p.to_dict() for p in self.new_pending],
            "outcome_checks": [
                {"thread_id": t, "row_id": r, "outcome_check": verdict}
                for t, o in self.threads.items()
                for r, verdict in o.verdicts.items()
            ],
            "contradicted": self.contradicted,
            "errors": self.errors,
            "invalid": [asdict(e) for e in self.invalid],
        }
        if self.note:
            out["note"] = self.note
        return out


# --- bad input ---------------------------------------------------------------------------

ECHO_CHARS = 80  # an error message quotes at most this much of what it was given
MAX_REVIEWER_CHARS = 120
# The bounds of what a reviewer may send, the UI and the CLI alike, checked BEFORE anything parses or recurses:
MAX_DEPTH = 32  # nesting a decision may have (`check_depth`)
MAX_INPUT_CHARS = 200_000  # characters of typed edited arguments, of an answer (typed, or a value as JSON)
# A typed value sits up to 4 levels inside its decision ({"edited_action": {"args": {"key": <value>}}}), so typed
# text nested at most this deep always makes a decision within MAX_DEPTH.
MAX_TYPED_DEPTH = MAX_DEPTH - 4
_TOKENS = re.compile(r'\\.|["\[\]{}]', re.DOTALL)  # what nesting depends on: escapes, quotes, brackets


def clip(value: Any, limit: int = ECHO_CHARS, *, quote: bool = True) -> str:
    """`repr(value)` (or the text itself, `quote=False`) cut to `limit` characters: an error never echoes
    a 10 MB input back."""
    text = value if isinstance(value, str) and not quote else repr(value)
    if len(text) <= limit:
        return text
    return f"{text[: limit - 1]}… ({len(text):,} characters)"


def check_depth(value: Any, *, where: str = "the decision", limit: int = MAX_DEPTH) -> None:
    """Refuse values nested deeper than `limit` (iteratively: a deep value must not overflow the stack)."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if depth > limit:
            raise ValueError(f"{where} is nested more than {limit} levels deep")
        if isinstance(item, dict):
            stack.extend((v, depth + 1) for v in item.values())
        elif isinstance(item, (list, tuple)):
            stack.extend((v, depth + 1) for v in item)


def check_text(text: str, what: str) -> str:
    """Typed text bounded before it is parsed: at most MAX_INPUT_CHARS characters, brackets nested at most
    MAX_TYPED_DEPTH deep (outside strings). ValueError in one line, `what` naming the input ("the edited arguments")."""
    if len(text) > MAX_INPUT_CHARS:
        raise ValueError(f"{what}: longer than {MAX_INPUT_CHARS:,} characters ({len(text):,}); shorten it")
    depth, quoted = 0, False
    for token in _TOKENS.findall(text):  # one pass, no recursion, no backtracking
        if token == '"':
            quoted = not quoted
        elif quoted or token.startswith("\\"):
            continue
        elif token in "[{":
            depth += 1
            if depth > MAX_TYPED_DEPTH:
                raise ValueError(f"{what}: nested more than {MAX_TYPED_DEPTH} levels deep")
        else:
            depth = max(0, depth - 1)
    return text


def load_json(text: str, what: str) -> Any:
    """`json.loads` of typed text within the bounds (`check_text`); json.JSONDecodeError when it is not JSON."""
    return json.loads(check_text(text, what))


def check_size(value: Any, *, where: str = "the decision") -> None:
    """Refuse a value (already parsed: a batch's) nested deeper than MAX_DEPTH or longer than MAX_INPUT_CHARS as
    compact JSON; ValueError in one line."""
    check_depth(value, where=where)  # first: the size is measured by json.dumps, which recurses
    size = len(json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str))
    if size > MAX_INPUT_CHARS:
        raise ValueError(f"{where}: longer than {MAX_INPUT_CHARS:,} characters as JSON ({size:,})")


def check_reviewer(name: Any) -> str:
    """A reviewer name as stored: trimmed, at most 120 characters, no control characters."""
    if name is None or (isinstance(name, str) and not name.strip()):
        raise ValueError("a reviewer name is required before decisions can be sent")
    if not isinstance(name, str):
        raise ValueError("the reviewer name must be text")
    trimmed = name.strip()
    if not trimmed:
        raise ValueError("a reviewer name is required before decisions can be sent")
    if len(trimmed) > MAX_REVIEWER_CHARS:
        raise ValueError(f"the reviewer name is longer than {MAX_REVIEWER_CHARS} characters")
    if any(unicodedata.category(char) in ("Cc", "Cf", "Zl", "Zp") for char in trimmed):
        raise ValueError("the reviewer name contains control characters (a line break, a tab...)")
    return trimmed


# --- payload normalisation ---------------------------------------------------------------


def allowed_from_schema(schema: Any) -> tuple[str, ...] | None:
    """Decision types a JSON Schema of decisions allows: the `type` consts (or enums) of its variants.

    Variants are `oneOf` / `anyOf` entries, inline or `$ref`s into `$defs` / `definitions` (langchain's
    per-call `response_schema` lists `$ref`s only). None when the schema names no decision type.
    """
    if not isinstance(schema, dict):
        return None
    found: list[str] = []
    seen: set[int] = set()

    def resolve(node: Any) -> Any:
        for _ in range(16):  # a chain of refs, never a loop
            ref = node.get("$ref") if isinstance(node, dict) else None
            if not isinstance(ref, str) or not ref.startswith("#/"):
                return node
            target: Any = schema
            for part in ref[2:].split("/"):
                target = target.get(part.replace("~1", "/").replace("~0", "~")) if isinstance(target, dict) else None
            node = target
        return None

    def visit(node: Any) -> None:
        node = resolve(node)
        if not isinstance(node, dict) or id(node) in seen:
            return
        seen.add(id(node))
        variants = node.get("oneOf") or node.get("anyOf")
        if isinstance(variants, list):
            for variant in variants:
                visit(variant)
            return
        kind = resolve(((node.get("properties") or {}).get("type")) or {})
        values = [kind.get("const")] if isinstance(kind, dict) and "const" in kind else []
        if isinstance(kind, dict) and isinstance(kind.get("enum"), list):
            values += kind["enum"]
        found.extend(v for v in values if v in DECISION_TYPES and v not in found)

    visit(schema)
    return tuple(found) or None


BATCH_PART = "#"  # a batched request's rows are `<interrupt_id>#<index of the action>`


def base_interrupt_id(row_id: str) -> str:
    """The LangGraph interrupt id behind a row id (a batched request's rows share one interrupt)."""
    return row_id.split(BATCH_PART, 1)[0]


def rows_from_interrupt(
    thread_id: str,
    interrupt_id: str,
    value: Any,
    response_schema: Any,
    raised_at: str | None,
    tool_calls: list[dict[str, Any]] | None = None,
) -> list[PendingInterrupt]:
    """Turn one pending interrupt into inbox rows (one per tool call), whatever contract its payload speaks.

    `tool_calls`: the latest AI message's calls, which give a batched request's actions their ids.
    """
    value = plain_value(value)  # a revived pydantic model or dataclass is listed by its fields
    if isinstance(value, dict) and isinstance(value.get("action_requests"), list):
        return _batched_rows(thread_id, interrupt_id, value, raised_at, tool_calls or [])
    return [_single_row(thread_id, interrupt_id, value, response_schema, raised_at)]


def _batched_rows(
    thread_id: str, interrupt_id: str, value: dict[str, Any], raised_at: str | None, tool_calls: list[dict[str, Any]]
) -> list[PendingInterrupt]:
    """langchain's default HITL request: one interrupt, N actions, resumed with `{"decisions": [...]}` in order."""
    configs = {c.get("action_name"): c for c in value.get("review_configs") or [] if isinstance(c, dict)}
    unclaimed = [call for call in tool_calls if isinstance(call, dict)]
    rows = []
    for index, request in enumerate(value["action_requests"]):
        request = request if isinstance(request, dict) else {}
        name = _str_or_none(request.get("name"))
        config = configs.get(name) or {}
        allowed = config.get("allowed_decisions") or TOOL_DECISIONS
        call_id = _str_or_none(request.get("id"))
        if call_id is None:  # the request names no id: take the AI message's next call of that tool, in order
            match = next((c for c in unclaimed if c.get("name") == name and c.get("args") == request.get("args")), None)
            match = match or next((c for c in unclaimed if c.get("name") == name), None)
            if match is not None:
                unclaimed.remove(match)
                call_id = _str_or_none(match.get("id"))
        rows.append(
            PendingInterrupt(
                thread_id=thread_id,
                row_id=f"{interrupt_id}{BATCH_PART}{index}",
                interrupt_id=interrupt_id,
                tool_call_id=call_id,
                tool=name,
                args=_args(request.get("args")),
                description=str(request.get("description") or ""),
                allowed_decisions=tuple(d for d in allowed if d in DECISION_TYPES),
                raised_at=raised_at,
                payload_kind="batched",
                args_schema=_schema(config.get("args_schema")),
            )
        )
    return rows


# Agent Inbox's config flags, and the console decision each allows (its `response` is langchain's `respond`).
_AGENT_INBOX_FLAGS = (
    ("approve", "allow_accept"),
    ("edit", "allow_edit"),
    ("respond", "allow_respond"),
    ("ignore", "allow_ignore"),
)


def _agent_inbox_request(value: Any) -> dict[str, Any] | None:
    """Agent Inbox's request: `{"action_request": ..., "config": ...}`, or that inside a one-item list."""
    if isinstance(value, list) and len(value) == 1:
        value = value[0]
    if isinstance(value, dict) and isinstance(value.get("action_request"), dict):
        return value
    return None


def _single_row(
    thread_id: str, interrupt_id: str, value: Any, response_schema: Any, raised_at: str | None
) -> PendingInterrupt:
    if isinstance(value, dict) and value.get("type") == "tool_approval":
        allowed = value.get("allowed_decisions") or allowed_from_schema(response_schema) or TOOL_DECISIONS
        return PendingInterrupt(
            thread_id=thread_id,
            row_id=interrupt_id,
            interrupt_id=interrupt_id,
            tool_call_id=_str_or_none(value.get("tool_call_id")),
            tool=_str_or_none(value.get("name")),
            args=_args(value.get("args")),
            description=str(value.get("description") or ""),
            allowed_decisions=tuple(d for d in allowed if d in DECISION_TYPES),
            raised_at=raised_at,
            args_schema=_schema(value.get("args_schema")),
        )
    inbox_request = _agent_inbox_request(value)
    if inbox_request is not None:
        request, config = inbox_request["action_request"], inbox_request.get("config") or {}
        return PendingInterrupt(
            thread_id=thread_id,
            row_id=interrupt_id,
            interrupt_id=interrupt_id,
            tool_call_id=None,
            tool=_str_or_none(request.get("action")),
            args=_args(request.get("args")),
            description=str(inbox_request.get("description") or ""),
            allowed_decisions=tuple(name for name, flag in _AGENT_INBOX_FLAGS if config.get(flag)),
            raised_at=raised_at,
            payload_kind="agent_inbox",
        )
    # Anything else is a question for a person (`interrupt("What budget?")`): answered with a value, text
    # unless its response_schema asks for another type.
    return PendingInterrupt(
        thread_id=thread_id,
        row_id=interrupt_id,
        interrupt_id=interrupt_id,
        tool_call_id=None,
        tool=None,
        args={} if isinstance(value, str) else {"value": value} if not isinstance(value, dict) else _args(value),
        description=value if isinstance(value, str) else _question_text(value),
        allowed_decisions=("respond",),
        raised_at=raised_at,
        payload_kind="question",
        answer_schema=response_schema if isinstance(response_schema, dict) else None,
    )


def _schema(value: Any) -> dict[str, Any] | None:
    """An object schema for a tool's arguments, else None (a malformed one is ignored, not trusted)."""
    return value if isinstance(value, dict) and value.get("type", "object") == "object" else None


def _question_text(value: Any) -> str:
    if isinstance(value, dict):
        for key in ("question", "prompt", "message", "description", "text"):
            text = value.get(key)
            if isinstance(text, str):
                return text
    return json.dumps(value, ensure_ascii=False, default=str)[:500]


def resume_value(row: PendingInterrupt, decision: Decision) -> Any:
    """The value the interrupted task expects back, in the contract its payload spoke."""
    if row.payload_kind == "agent_inbox":
        if decision.type == "approve":
            return [{"type": "accept", "args": None}]
        if decision.type == "edit":
            return [{"type": "edit", "args": {"action": row.tool, "args": decision.args_after}}]
        if decision.type == "ignore":
            return [{"type": "ignore", "args": None}]
        return [{"type": "response", "args": decision.message or ""}]
    if row.payload_kind == "question":
        return decision.value  # checked against the question's schema by validation
    return decision.as_langchain()


def resume_map(values: dict[str, Any]) -> dict[str, Any]:
    """`{row_id: value}` -> LangGraph's `{interrupt_id: value}`; a batched request's parts become one
    `{"decisions": [...]}` in action order (the caller made sure every part is there)."""
    out: dict[str, Any] = {}
    parts: dict[str, dict[int, Any]] = {}
    for row_id, value in values.items():
        base, _, index = row_id.partition(BATCH_PART)
        if index:
            parts.setdefault(base, {})[int(index)] = value
        else:
            out[row_id] = value
    for base, by_index in parts.items():
        out[base] = {"decisions": [by_index[i] for i in sorted(by_index)]}
    return out


def incomplete_requests(decided: Iterable[str], pending: Iterable[str]) -> list[str]:
    """Decided row ids of batched requests some of whose pending actions are not decided with them."""
    decided, missing = list(decided), set()
    for row_id in pending:
        base, _, index = row_id.partition(BATCH_PART)
        if index and row_id not in decided:
            missing.add(base)
    return [row_id for row_id in decided if BATCH_PART in row_id and base_interrupt_id(row_id) in missing]


def _args(value: Any) -> dict[str, Any]:
    return dict(value) if isinstance(value, dict) else {}


def _str_or_none(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def to_json(value: Any) -> str:
    """Stable JSON for storing args and decisions."""
    return json.dumps(value, sort_keys=True, ensure_ascii=False, default=str)
