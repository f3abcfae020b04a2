"""One validator, one set of words: a bad decision typed in the Inbox and the same decision sent as JSON to
`python -m review decide` are refused by the core's check (review/validation.py) with the same message.

The Inbox side is its plan (ui/inbox.py: the draft entry translated by `decision_of`, judged through
`ReviewConsole.check_decision`), the CLI side is the CLI in-process (`run_main`); nothing is recorded by either.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from review import PendingInterrupt, ReviewConsole, Settings
from tests.conftest import THREE_SHAPES
from tests.helpers import store_query
from ui import inbox

GRAPHS = "tests/agents/docs_questions.py"
REFUND = f"{GRAPHS}:refund"  # a question whose response_schema asks for {"approved": <boolean>, ...}

# (what the reviewer types in the Inbox, the same decision as the CLI's JSON, words the message must hold)
TOOL_CASES: list[tuple[dict[str, Any], dict[str, Any], str]] = [
    (
        {"decision": "approve", "message": "looks fine"},
        {"type": "approve", "message": "looks fine"},
        "a message is only sent with reject or respond: clear it or choose one (not approve)",
    ),
    (
        {"decision": "reject", "edited": "color=blue"},
        {"type": "reject", "edited_action": {"name": "{tool}", "args": {"shape_id": "{shape}", "color": "blue"}}},
        "edited arguments are only sent with edit: clear them or choose edit (not reject)",
    ),
    (
        {"decision": "edit", "edited": "size=3"},
        {
            "type": "edit",
            "edited_action": {"name": "{tool}", "args": {"shape_id": "{shape}", "color": "{color}", "size": "3"}},
        },
        "invalid arguments: unknown argument(s) size",
    ),
    (
        {"decision": "respond", "message": "use a square"},
        {"type": "respond", "message": "use a square"},
        "'respond' is not allowed here; allowed: approve, edit, reject",
    ),
]
QUESTION_CASES: list[tuple[dict[str, Any], dict[str, Any], str]] = [
    ({"decision": "respond"}, {"type": "respond"}, "respond needs a message: type the answer"),
    (
        {"decision": "respond", "message": "yes please"},
        {"type": "respond", "message": "yes please"},
        "this question asks for a JSON object",
    ),
    (
        {"decision": "respond", "message": '{"approved": "maybe"}', "json": True},
        {"type": "respond", "value": {"approved": "maybe"}},
        "invalid answer: answer.approved: 'maybe' is not of type 'boolean'",
    ),
]


def _fill(template: Any, row: PendingInterrupt) -> Any:
    """The CLI's decision for this row: `{tool}`, `{shape}`, `{color}` replaced by the row's."""
    text = json.dumps(template)
    for name, value in (("tool", row.tool), ("shape", row.args.get("shape_id")), ("color", row.args.get("color"))):
        text = text.replace("{" + name + "}", str(value))
    return json.loads(text)


def _inbox_says(console: ReviewConsole, rows: list[PendingInterrupt], entries: list[dict[str, Any]]) -> list[str]:
    """What the Inbox shows on each row before Submit: its plan's errors, from the core's check."""
    draft = inbox.sync_draft({}, rows)
    for row, typed in zip(rows, entries, strict=True):
        draft[inbox.row_key(row)].update(typed)

    def check(thread_id: str, row_id: str, raw: dict[str, Any]) -> str | None:
        return console.check_decision(thread_id, row_id, raw, "ana")

    plan = inbox.plan_batch(draft, [inbox.row_key(row) for row in rows], check=check)
    assert plan.items == []
    return [plan.errors[inbox.row_key(row)] for row in rows]


def _cli_says(run_main: Any, args: list[str], rows: list[PendingInterrupt], decisions: list[Any]) -> list[str]:
    """What `python -m review decide` answers for these rows' decisions, one batch: each row's error."""
    batch = [
        {"thread_id": r.thread_id, "row_id": r.row_id, "decision": d} for r, d in zip(rows, decisions, strict=True)
    ]
    ran = run_main(*args, "decide", "--reviewer", "ana", "-", stdin=json.dumps(batch))
    assert ran.code == 2, ran.out
    errors = {e["row_id"]: e["error"] for e in ran.json["invalid"]}
    return [errors[row.row_id] for row in rows]


def test_tool_calls_get_the_same_refusal_in_the_inbox_and_the_cli(run_main: Any, tmp_path: Path) -> None:
    db = tmp_path / "review.sqlite"
    console = ReviewConsole.open(db)
    try:
        rows = [row for _ in range(2) for row in console.start_run(THREE_SHAPES).result(timeout=30).new_pending]
        rows = rows[: len(TOOL_CASES)]
        inbox_says = _inbox_says(console, rows, [typed for typed, _, _ in TOOL_CASES])
    finally:
        console.close()
    decisions = [_fill(sent, row) for row, (_, sent, _) in zip(rows, TOOL_CASES, strict=True)]
    cli_says = _cli_says(run_main, ["--db", str(db)], rows, decisions)
    assert inbox_says == cli_says
    for said, (_, _, words) in zip(cli_says, TOOL_CASES, strict=True):
        assert words in said, said
    assert store_query(db, "SELECT COUNT(*) FROM review_decisions")[0][0] == 0


def test_questions_get_the_same_refusal_in_the_inbox_and_the_cli(run_main: Any, tmp_path: Path) -> None:
    db = tmp_path / "review.sqlite"
    console = ReviewConsole.open(settings=Settings(db=str(db), graph=REFUND))
    try:
        rows = [
            row
            for _ in QUESTION_CASES
            for row in console.start_run("", run_input={"order": "A-17"}).result(timeout=30).new_pending
        ]
        inbox_says = _inbox_says(console, rows, [typed for typed, _, _ in QUESTION_CASES])
    finally:
        console.close()
    cli_says = _cli_says(run_main, ["--db", str(db), "--graph", REFUND], rows, [sent for _, sent, _ in QUESTION_CASES])
    assert inbox_says == cli_says
    for said, (_, _, words) in zip(cli_says, QUESTION_CASES, strict=True):
        assert words in said, said
    assert store_query(db, "SELECT COUNT(*) FROM review_decisions")[0][0] == 0
