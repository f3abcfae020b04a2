"""The decision log: who decided what, when, with the arguments before and after, and what became of it.

Append-only: every attempt is an entry, with its outcome (`claimed` while being applied, `applied`,
`failed` with the reason; an approve or edit waiting for the other approvers of the same decision
is a `cosign`, later `cosigned` into the claim that names every approver, or `superseded`: another
decision ended it, or its reviewer proposed something else). Every
entry says who decided: the name shown, the identity the policy checked, its issuer and how it was
verified. An entry says when recovery finished it (`recovered_from`: the owner it took it over
from) and when recovery re-sent it after a resume had started (`rerun`: its tool may have run twice;
an idempotent tool made the effect once). After the resume, `outcome_check` says whether the
checkpoint shows the graph honoured the decision (review/verify.py): `verified`, `contradicted: <what>`
(shown like a failure) or `not checkable`; empty for attempts that were never applied. `channel` says where it
was decided: `console`, `link` (a notification's action link), `cli`, `rule` or `api`; None for attempts
recorded before the log kept it.
"""

from __future__ import annotations

import csv
import io
import json
import re
from dataclasses import asdict, dataclass
from typing import Any

from review.answers import Answer
from review.storage import Storage

AUDIT_FIELDS = (
    "decided_at",
    "reviewer",
    "identity",
    "issuer",
    "verification",
    "channel",
    "co_signers",
    "thread_id",
    "row_id",
    "interrupt_id",
    "tool",
    "decision",
    "args_before",
    "args_after",
    "message",
    "answer_type",
    "status",
    "applied_at",
    "error",
    "rerun",
    "recovered_from",
    "warning",
    "batch_id",
    "attempt_id",
    "tool_call_id",
    "raised_at",
    "outcome_check",
)
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_INNER_FORMULA = re.compile(r"([;\t][ \t]*)(?=[=+\-@])")  # a `;` or tab (and blanks) before a formula start


@dataclass(frozen=True)
class AuditEntry:
    """One recorded decision attempt."""

    attempt_id: int
    decided_at: str
    reviewer: str
    identity: str
    issuer: str | None
    verification: str  # signed-in | unverified | cli | rule
    co_signers: str | None
    thread_id: str
    row_id: str
    interrupt_id: str
    tool: str | None
    decision: str
    args_before: dict[str, Any] | None
    args_after: dict[str, Any] | None
    message: str | None
    status: str
    applied_at: str | None
    error: str | None
    rerun: bool
    recovered_from: str | None
    warning: str | None
    batch_id: str
    tool_call_id: str | None = None
    raised_at: str | None = None  # when the interrupt was raised (None for decisions logged before v3)
    outcome_check: str | None = None  # verified | contradicted: <what> | not checkable (None: not checked)
    answer_type: str | None = None  # a respond's answer: text, boolean, integer, number, array or object
    channel: str | None = None  # console | link | cli | rule | api (None: recorded before the log kept it)

    @property
    def contradicted(self) -> bool:
        """The checkpoint shows the graph did not do what this (applied) decision said."""
        return (self.outcome_check or "").startswith("contradicted")

    def to_dict(self) -> dict[str, Any]:
        """The entry as JSON-ready data (the CLI's `audit`, the Audit page's download)."""
        return asdict(self)


def entry_from_row(row: dict[str, Any]) -> AuditEntry:
    """An entry from one row of `Storage.decisions()` (or `last_failures()`)."""
    return AuditEntry(
        attempt_id=row["attempt_id"],
        decided_at=row["decided_at"],
        reviewer=row["reviewer"],
        identity=row.get("identity") or row["reviewer"],
        issuer=row.get("issuer"),
        verification=row.get("verification") or "unverified",
        co_signers=row.get("co_signers"),
        thread_id=row["thread_id"],
        row_id=row["row_id"],
        interrupt_id=row["interrupt_id"],
        tool=row["tool"],
        decision=row["decision_type"],
        args_before=_json(row["args_before"]),
        args_after=_json(row["args_after"]),
        message=row["message"],
        status=row["status"],
        applied_at=row["applied_at"],
        error=row["error"],
        rerun=bool(row["rerun"]),
        recovered_from=row["recovered_from"],
        warning=row.get("warning"),
        batch_id=row["batch_id"],
        tool_call_id=row.get("tool_call_id"),
        raised_at=row.get("raised_at"),
        outcome_check=row.get("outcome_check"),
        answer_type=_answer_type(row["decision_type"], row.get("resume_json")),
        channel=row.get("channel"),
    )


def _answer_type(decision: str, resume_json: str | None) -> str | None:
    """The JSON type a question was answered with (`message` shows the value); a tool request's answer is text."""
    if decision != "respond" or not resume_json:
        return None
    value = json.loads(resume_json)
    if isinstance(value, dict) and value.get("type") == "respond" and set(value) <= {"type", "message"}:
        return "text"  # langchain's {"type": "respond", "message": ...}
    if isinstance(value, list) and value and isinstance(value[0], dict) and value[0].get("type") == "response":
        return "text"  # Agent Inbox's [{"type": "response", "args": ...}]
    return Answer(value).kind


def list_decisions(storage: Storage, *, reviewer: str | None = None, thread_id: str | None = None) -> list[AuditEntry]:
    """Recorded attempts, newest first, optionally of one reviewer or one thread."""
    return [entry_from_row(row) for row in storage.decisions(reviewer=reviewer, thread_id=thread_id)]


def csv_cell(value: Any) -> str:
    """A cell a spreadsheet shows as text: one starting like a formula (= + - @) gets a leading `'`, and so does
    a formula start right after a `;` or a tab inside it (where a locale or a reader splits cells there).

    `to_csv` also quotes every cell, so a spreadsheet whose separator is `;` keeps `a;=1+1` one cell; the inner
    guard covers a reader that splits without honouring quotes. A comma is not guarded inside a cell: every
    reader honours quotes around commas, and the arguments' JSON (`[1, -2]`) stays valid.
    """
    text = "" if value is None else str(value)
    text = _INNER_FORMULA.sub(r"\1'", text)
    return "'" + text if text.startswith(_FORMULA_START) else text


def to_csv(entries: list[AuditEntry]) -> str:
    """CSV with a header row; arguments as JSON text; every cell quoted; no cell can run as a spreadsheet formula."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=AUDIT_FIELDS, quoting=csv.QUOTE_ALL)
    writer.writeheader()
    for entry in entries:
        row = entry.to_dict()
        for key in ("args_before", "args_after"):
            row[key] = json.dumps(row[key], sort_keys=True, ensure_ascii=False) if row[key] is not None else ""
        writer.writerow({key: csv_cell(row[key]) for key in AUDIT_FIELDS})
    return out.getvalue()


def _json(text: str | None) -> Any:
    return json.loads(text) if text else None
