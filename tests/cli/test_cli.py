"""`python -m review` end to end: the operator's session in subprocesses, checked against the store.

Every subprocess is a fresh interpreter (about a second), so the many ways input can be wrong are
checked by calling `review.cli.main` in-process (same code, same exit codes), and the subprocess
tests cover each exit code and each way of passing a batch once.
"""

from __future__ import annotations

import copy
import csv
import io
import json
import os
import sqlite3
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from review import ReviewConsole
from tests.conftest import THEN_SEQUENCE, THREE_SHAPES

ROOT = Path(__file__).resolve().parents[2]
ROW_FIELDS = {
    "thread_id",
    "source",
    "row_id",
    "interrupt_id",
    "tool_call_id",
    "tool",
    "args",
    "description",
    "allowed_decisions",
    "raised_at",
    "payload_kind",
    "graph_id",
    "blocked",
    "warning",
    "answer_schema",
    "unverified",
}
THREE_DECISIONS = {
    "create_circle": {"type": "approve"},
    "create_square": {
        "type": "edit",
        "edited_action": {"name": "create_square", "args": {"shape_id": "s1", "color": "yellow"}},
    },
    "create_triangle": {"type": "reject", "message": "no triangles today"},
}


@dataclass
class Ran:
    code: int
    out: str
    err: str

    @property
    def json(self) -> Any:
        return json.loads(self.out)


def cli(*args: str, db: Path | None = None, stdin: str | None = None, env: dict[str, str] | None = None) -> Ran:
    """`python -m review [--db DB] ARGS` in a subprocess."""
    command = [sys.executable, "-m", "review", *(["--db", str(db)] if db is not None else []), *args]
    full_env = {k: v for k, v in os.environ.items() if k != "REVIEW_DB"}
    done = subprocess.run(
        command, cwd=ROOT, env={**full_env, **(env or {})}, input=stdin, capture_output=True, text=True, timeout=120
    )
    return Ran(done.returncode, done.stdout, done.stderr)


def _decisions(db: Path) -> list[tuple[str, str, str]]:
    conn = sqlite3.connect(db)
    try:
        return conn.execute("SELECT row_id, reviewer, status FROM review_decisions ORDER BY row_id").fetchall()
    finally:
        conn.close()


def _batch(rows: list[dict[str, Any]], by_tool: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        {"thread_id": r["thread_id"], "row_id": r["row_id"], "decision": copy.deepcopy(by_tool[r["tool"]])}
        for r in rows
        if r["tool"] in by_tool
    ]


def _start_in_process(db: Path, prompt: str) -> tuple[str, list[dict[str, Any]]]:
    console = ReviewConsole.open(db)
    try:
        job = console.start_run(prompt)
        return job.thread_id, [row.to_dict() for row in job.result(timeout=30).new_pending]
    finally:
        console.close()


# --- subprocesses --------------------------------------------------------------------------------


@pytest.mark.slow
def test_three_shape_session_start_pending_decide_show_audit(tmp_path: Path) -> None:
    db = tmp_path / "new" / "dir" / "review.sqlite"  # start creates the directory
    started = cli("start", THREE_SHAPES, db=db)
    assert started.code == 0, started.err
    thread_id = started.json["thread_id"]
    rows = started.json["pending"]
    assert [r["tool"] for r in rows] == ["create_circle", "create_square", "create_triangle"]
    assert all(set(r) == ROW_FIELDS for r in rows)
    assert len({r["interrupt_id"] for r in rows}) == 3
    assert rows[0]["args"] == {"shape_id": "c1", "color": "red"}
    assert rows[0]["allowed_decisions"] == ["approve", "edit", "reject"]
    assert db.is_file()

    other_thread, other_rows = _start_in_process(db, THEN_SEQUENCE)
    listed = cli("pending", db=db)
    assert listed.code == 0 and sorted(map(json.dumps, listed.json)) == sorted(map(json.dumps, rows + other_rows))
    only = cli("pending", "--thread", thread_id, db=db)
    assert only.code == 0 and only.json == rows

    batch_file = tmp_path / "batch.json"
    batch_file.write_text(json.dumps(_batch(rows, THREE_DECISIONS)), encoding="utf-8")
    decided = cli("decide", "--reviewer", "alice", str(batch_file), db=db)
    assert decided.code == 0, decided.out + decided.err
    result = decided.json
    assert sorted(a["row_id"] for a in result["applied"]) == sorted(r["row_id"] for r in rows)
    assert result["conflicts"] == [] and result["new_pending"] == [] and result["errors"] == []
    assert [d[1:] for d in _decisions(db)] == [("alice", "applied")] * 3

    shown = cli("show", thread_id, db=db)
    assert shown.code == 0
    view = shown.json
    assert set(view) >= {"thread_id", "canvas", "messages", "pending"}
    assert view["thread_id"] == thread_id and view["pending"] == []
    assert view["canvas"] == [
        {"shape_id": "c1", "kind": "circle", "color": "red"},
        {"shape_id": "s1", "kind": "square", "color": "yellow"},
    ]
    types = [m["type"] for m in view["messages"]]
    assert types[:2] == ["human", "ai"] and types.count("tool") == 3 and types[-1] == "ai"
    assert len(view["messages"][1]["tool_calls"]) == 3
    assert any(m["type"] == "tool" and "no triangles today" in m["content"] for m in view["messages"])

    audit = cli("audit", db=db)
    assert audit.code == 0
    entries = audit.json
    assert sorted((e["tool"], e["decision"], e["reviewer"], e["status"]) for e in entries) == [
        ("create_circle", "approve", "alice", "applied"),
        ("create_square", "edit", "alice", "applied"),
        ("create_triangle", "reject", "alice", "applied"),
    ]
    square = next(e for e in entries if e["tool"] == "create_square")
    assert square["args_before"] == {"shape_id": "s1", "color": "blue"}
    assert square["args_after"] == {"shape_id": "s1", "color": "yellow"}

    exported = cli("audit", "--csv", db=db)
    assert exported.code == 0
    table = list(csv.DictReader(io.StringIO(exported.out)))
    assert len(table) == 3 and {r["reviewer"] for r in table} == {"alice"}
    assert json.loads(next(r for r in table if r["tool"] == "create_square")["args_after"])["color"] == "yellow"
    assert next(r for r in table if r["tool"] == "create_triangle")["message"] == "no triangles today"

    # the same batch again: conflicts naming alice, exit 3, nothing re-run
    again = cli("decide", "--reviewer", "bob", str(batch_file), db=db)
    assert again.code == 3, again.out
    assert {c["reviewer"] for c in again.json["conflicts"]} == {"alice"}
    assert all("already decided by alice" in c["message"] for c in again.json["conflicts"])
    assert again.json["applied"] == []
    assert [d[1:] for d in _decisions(db)] == [("alice", "applied")] * 3
    assert _start_in_process(db, THREE_SHAPES)[1]  # (the store still works after every command closed it)
    assert [r["thread_id"] for r in cli("pending", "--thread", other_thread, db=db).json] == [other_thread]


@pytest.mark.slow
def test_decide_from_stdin_lists_the_next_step(tmp_path: Path) -> None:
    db = tmp_path / "review.sqlite"
    _, rows = _start_in_process(db, THEN_SEQUENCE)
    decided = cli("decide", "--reviewer", "carol", "-", db=db, stdin=json.dumps(_batch(rows, THREE_DECISIONS)))
    assert decided.code == 0, decided.out + decided.err
    (step_two,) = decided.json["new_pending"]
    assert (step_two["tool"], step_two["args"]) == ("create_square", {"shape_id": "s1", "color": "blue"})
    assert set(step_two) == ROW_FIELDS


@pytest.mark.slow
def test_invalid_batch_exits_2_and_sends_nothing(tmp_path: Path) -> None:
    db = tmp_path / "review.sqlite"
    _, rows = _start_in_process(db, THREE_SHAPES)
    items = _batch(rows, THREE_DECISIONS)
    items[1]["decision"]["edited_action"]["args"]["color"] = "not-a-colour"
    items.append({"thread_id": rows[0]["thread_id"], "row_id": "f" * 32, "decision": {"type": "approve"}})
    refused = cli("decide", "--reviewer", "dave", "-", db=db, stdin=json.dumps(items))
    assert refused.code == 2
    invalid = refused.json["invalid"]
    assert [e["row_id"] for e in invalid] == [rows[1]["row_id"], "f" * 32]
    assert "color" in invalid[0]["error"] and "stale" in invalid[1]["error"]
    assert refused.json["applied"] == []
    assert _decisions(db) == []
    assert _start_in_process(db, THREE_SHAPES)  # (any write works: nothing is locked)
    console = ReviewConsole.open(db)
    try:
        assert [r.to_dict() for r in console.pending(rows[0]["thread_id"])] == rows
    finally:
        console.close()


def test_pending_lists_from_the_saved_listing_without_loading_langgraph(tmp_path: Path) -> None:
    """A console saves what it listed; a later `pending` prints the same rows without decoding a checkpoint."""
    db = tmp_path / "review.sqlite"
    _start_in_process(db, THREE_SHAPES)
    full = cli("pending", db=db)  # a fresh store's first listing goes the full way, and saves it
    probe = (
        "import sys, json; from review.cli import main; code = main(['--db', sys.argv[1], 'pending']); "
        "print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in ('langgraph', 'langchain_core'))), "
        "file=sys.stderr); sys.exit(code)"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe, str(db)], cwd=ROOT, capture_output=True, text=True, timeout=120, check=True
    )
    assert json.loads(done.stdout) == full.json and len(full.json) == 3
    assert json.loads(done.stderr.strip().splitlines()[-1]) == []  # LangGraph was never imported
    # Once a thread changed, the saved listing is not trusted: the full way lists (and saves) again.
    _start_in_process(db, THEN_SEQUENCE)
    again = cli("pending", db=db)
    assert len(again.json) == 4 and again.json[:3] == full.json


@pytest.mark.slow
def test_malformed_json_file_and_unusable_db_exit_2_with_a_clear_message(tmp_path: Path) -> None:
    db = tmp_path / "review.sqlite"
    bad = tmp_path / "bad.json"
    bad.write_text("{not json", encoding="utf-8")
    ran = cli("decide", "--reviewer", "erin", str(bad), db=db)
    assert ran.code == 2 and ran.json["error"].startswith(
        "cannot read the batch: the batch is not valid JSON: Expecting property name"
    )
    assert "Traceback" not in ran.err and not db.exists()

    directory = tmp_path / "a-directory"
    directory.mkdir()
    ran = cli("pending", db=directory)
    assert ran.code == 2 and ran.json == {"error": f"cannot use {directory}: it is a directory, not a database file"}
    assert "Traceback" not in ran.err


@pytest.mark.slow
def test_review_db_environment_variable_is_used_without_db(tmp_path: Path) -> None:
    db = tmp_path / "from-env.sqlite"
    _, rows = _start_in_process(db, THREE_SHAPES)
    listed = cli("pending", env={"REVIEW_DB": str(db)})
    assert listed.code == 0 and listed.json == rows


# --- the same CLI in-process: every way input can be wrong --------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("{not json", "cannot read the batch: the batch is not valid JSON: Expecting property name"),
        ("", "cannot read the batch: the batch is not valid JSON: Expecting value (line 1, column 1)"),
        ('{"thread_id": "t"}', "cannot read the batch: the batch must be a JSON list"),
        ('[{"thread_id": "t"}]', "cannot read the batch: item 1 is missing row_id, decision"),
        (
            '[{"thread_id": 1, "interrupt_id": "i", "decision": {}}]',
            "cannot read the batch: item 1 (row 'i'): thread_id",
        ),
        ('["approve"]', "cannot read the batch: item 1 must be an object"),
        ("[" * 100_000 + "]" * 100_000, "cannot read the batch: the batch is nested too deeply"),
        (
            '[{"thread_id": "t", "row_id": "i", "decision": ' + "[" * 50 + "]" * 50 + "}]",
            "cannot read the batch: item 1",
        ),
        ("[]", "the batch is empty: nothing was sent"),
    ],
)
def test_malformed_batches_exit_2_before_the_store_is_touched(
    run_main: Any, tmp_path: Path, text: str, expected: str
) -> None:
    db = tmp_path / "review.sqlite"
    bad = tmp_path / "bad.json"
    bad.write_text(text, encoding="utf-8")
    for ran in (
        run_main("--db", str(db), "decide", "--reviewer", "erin", str(bad)),
        run_main("--db", str(db), "decide", "--reviewer", "erin", "-", stdin=text),
    ):
        assert ran.code == 2
        assert ran.json["error"].startswith(expected), ran.json
    assert not db.exists()


def test_missing_batch_file_is_named(run_main: Any, tmp_path: Path) -> None:
    ran = run_main("--db", str(tmp_path / "r.sqlite"), "decide", "--reviewer", "erin", str(tmp_path / "nope.json"))
    assert ran.code == 2 and "cannot read the batch" in ran.json["error"] and "nope.json" in ran.json["error"]


def test_blank_reviewer_exits_2_and_records_nothing(run_main: Any, tmp_path: Path) -> None:
    db = tmp_path / "review.sqlite"
    _, rows = _start_in_process(db, THREE_SHAPES)
    ran = run_main("--db", str(db), "decide", "--reviewer", "  ", "-", stdin=json.dumps(_batch(rows, THREE_DECISIONS)))
    assert ran.code == 2 and "reviewer name is required" in ran.json["error"]
    assert _decisions(db) == []


def test_without_reviewer_the_cli_decides_as_its_os_user(run_main: Any, tmp_path: Path) -> None:
    import getpass

    db = tmp_path / "review.sqlite"
    _, rows = _start_in_process(db, THREE_SHAPES)
    ran = run_main("--db", str(db), "decide", "-", stdin=json.dumps(_batch(rows, THREE_DECISIONS)))
    assert ran.code == 0, ran.out
    audit = json.loads(run_main("--db", str(db), "audit").out)
    assert {(e["reviewer"], e["identity"], e["verification"]) for e in audit} == {
        (f"cli:{getpass.getuser()}", f"cli:{getpass.getuser()}", "cli")
    }
    named = run_main("--db", str(db), "audit", "--csv").out
    assert "verification" in named.splitlines()[0]


def test_unusable_db_paths(run_main: Any, tmp_path: Path) -> None:
    directory = tmp_path / "a-directory"
    directory.mkdir()
    for argv in (["pending"], ["start", THREE_SHAPES], ["audit"]):
        ran = run_main("--db", str(directory), *argv)
        assert ran.code == 2 and str(directory) in ran.json["error"] and "directory" in ran.json["error"]

    not_sqlite = tmp_path / "notes.txt"
    not_sqlite.write_text("just some text, not SQLite\n" * 100, encoding="utf-8")
    ran = run_main("--db", str(not_sqlite), "pending")
    assert ran.code == 2 and str(not_sqlite) in ran.json["error"]

    under_a_file = tmp_path / "notes.txt" / "review.sqlite"  # its parent is a file: cannot be created
    ran = run_main("--db", str(under_a_file), "start", THREE_SHAPES)
    assert ran.code == 2 and str(under_a_file) in ran.json["error"]

    typo = tmp_path / "typo.sqlite"  # only `start` creates a database
    ran = run_main("--db", str(typo), "pending")
    assert ran.code == 2 and str(typo) in ran.json["error"] and not typo.exists()


def test_show_unknown_thread_and_empty_prompt(run_main: Any, tmp_path: Path) -> None:
    db = tmp_path / "review.sqlite"
    _start_in_process(db, THREE_SHAPES)
    ran = run_main("--db", str(db), "show", "no-such-thread")
    assert ran.code == 2 and "no-such-thread" in ran.json["error"]
    ran = run_main("--db", str(db), "start", "   ")
    assert ran.code == 2 and "prompt is empty" in ran.json["error"]


def test_partial_conflict_exit_3_applies_the_rest(run_main: Any, tmp_path: Path) -> None:
    db = tmp_path / "review.sqlite"
    _, rows = _start_in_process(db, THREE_SHAPES)
    first = _batch(rows, {"create_circle": {"type": "approve"}})
    assert run_main("--db", str(db), "decide", "--reviewer", "ann", "-", stdin=json.dumps(first)).code == 0
    ran = run_main("--db", str(db), "decide", "--reviewer", "ben", "-", stdin=json.dumps(_batch(rows, THREE_DECISIONS)))
    assert ran.code == 3
    assert [(c["row_id"], c["reviewer"]) for c in ran.json["conflicts"]] == [(rows[0]["row_id"], "ann")]
    assert sorted(a["row_id"] for a in ran.json["applied"]) == sorted(r["row_id"] for r in rows[1:])
    assert sorted(d[1:] for d in _decisions(db)) == [("ann", "applied"), ("ben", "applied"), ("ben", "applied")]
