"""Static breakpoints are reviews: listed as rows, never continued by recovery, applied once by a decision.

The graphs (tests/agents/breakpoints.py) write every tool effect to a log this test owns, so "nothing ran"
is checked across processes, not inferred from the console's own state.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from review import ReviewConsole, Settings
from tests.helpers import APPROVE, edit, reject, store_query

ROOT = Path(__file__).resolve().parents[2]
GRAPHS = "tests/agents/breakpoints.py"


@pytest.fixture
def effects(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "effects.log"
    monkeypatch.setenv("BREAKPOINT_EFFECTS", str(path))
    return path


def ran(effects: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in effects.read_text().splitlines()] if effects.exists() else []


def open_console(db: Path | str, graph: str) -> ReviewConsole:
    return ReviewConsole.open(settings=Settings(db=str(db), graph=f"{GRAPHS}:{graph}"))


def item(row: Any, decision: dict[str, Any]) -> dict[str, Any]:
    return {"thread_id": row.thread_id, "row_id": row.row_id, "decision": decision}


def cli(db: Path | str, graph: str, *args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "review", "--db", str(db), "--graph", f"{GRAPHS}:{graph}", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


OPEN_AND_SWEEP = """
import sys
from review import ReviewConsole, Settings
console = ReviewConsole.open(settings=Settings(db=sys.argv[1], graph=sys.argv[2]), watch=True)
console.recovery.run_once(timeout=60)
console.apply_rules(wait=True)
print(len(console.pending()))
console.close()
"""


def test_a_breakpoint_before_the_tools_is_pending_and_no_other_process_continues_it(
    db_path: Path | str, effects: Path
) -> None:
    console = open_console(db_path, "before_tools")
    try:
        job = console.start_run("bill acme and globex")
        assert job.result(timeout=60).new_pending, "start must say the breakpoint's rows are pending"
        rows = console.pending()
        assert [(r.tool, r.args["customer"], r.payload_kind) for r in rows] == [
            ("invoice", "acme", "breakpoint_shared"),
            ("invoice", "globex", "breakpoint_shared"),
        ]
        assert console.runs() == []  # a pause, not a run cut short
        # Worst case: the lease says the run was cut short (a process killed right at the breakpoint).
        token = console.leases.acquire(job.thread_id, "start")
        assert token is not None
        console.leases.release(job.thread_id, token, state="cut_short", error="killed")
    finally:
        console.close()

    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    graph = f"{GRAPHS}:before_tools"
    commands: list[list[str]] = []
    for index in range(20):
        kind = index % 4
        if kind == 3:  # a console process starting up: recovery, rules, a sweep
            commands.append([sys.executable, "-c", OPEN_AND_SWEEP, str(db_path), graph])
        else:
            verb = [["show", job.thread_id], ["runs"], ["pending"]][kind]
            commands.append([sys.executable, "-m", "review", "--db", str(db_path), "--graph", graph, *verb])

    def run(command: list[str]) -> subprocess.CompletedProcess[str]:
        return subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=180)

    with ThreadPoolExecutor(max_workers=4) as pool:
        done = list(pool.map(run, commands))
    assert all(p.returncode == 0 for p in done), [p.stderr[-400:] for p in done if p.returncode]
    listed = [json.loads(p.stdout) for p, c in zip(done, commands, strict=True) if c[-1] == "pending"]
    assert all(len(rows) == 2 for rows in listed), listed
    assert ran(effects) == []  # no tool ran without a decision

    console = open_console(db_path, "before_tools")
    try:
        rows = console.pending()
        assert len(rows) == 2
        result = console.submit([item(r, APPROVE) for r in rows], reviewer="ana")
        assert result.exit_code == 0, result.to_dict()
        assert sorted(e["customer"] for e in ran(effects)) == ["acme", "globex"]  # each call once
        state = console.graph.get_state({"configurable": {"thread_id": job.thread_id}})
        assert state.next == ()
        assert [m.content for m in state.values["messages"] if m.type == "tool"] == [
            "invoiced acme 100",
            "invoiced globex 250",
        ]
        logged = store_query(db_path, "SELECT decision_type, status FROM review_decisions ORDER BY attempt_id")
        assert [tuple(r) for r in logged] == [("approve", "applied"), ("approve", "applied")]
        console.recovery.run_once(timeout=30)
        assert len(ran(effects)) == 2  # and never again
    finally:
        console.close()


def test_rejecting_every_call_at_a_breakpoint_runs_none_and_answers_each_with_an_error(
    db_path: Path | str, effects: Path
) -> None:
    console = open_console(db_path, "before_tools")
    try:
        thread_id = console.start_run("bill").result(timeout=60).thread_id
        rows = console.pending()
        result = console.submit([item(r, reject("not this month")) for r in rows], reviewer="ana")
        assert result.exit_code == 0, result.to_dict()
        assert ran(effects) == []
        messages = console.graph.get_state({"configurable": {"thread_id": thread_id}}).values["messages"]
        tools = [m for m in messages if m.type == "tool"]
        assert [(m.tool_call_id, m.status, m.content) for m in tools] == [
            ("call_acme", "error", "not this month"),
            ("call_globex", "error", "not this month"),
        ]
        assert messages[-1].content == "Invoices handled."
    finally:
        console.close()


def test_an_edit_at_a_breakpoint_runs_the_call_with_the_edited_arguments(db_path: Path | str, effects: Path) -> None:
    console = open_console(db_path, "before_tools")
    try:
        console.start_run("bill").result(timeout=60)
        acme, globex = console.pending()
        result = console.submit(
            [item(acme, edit("invoice", customer="acme", amount=90)), item(globex, APPROVE)], reviewer="ana"
        )
        assert result.exit_code == 0, result.to_dict()
        assert sorted((e["customer"], e["amount"]) for e in ran(effects)) == [("acme", 90), ("globex", 250)]
        logged = store_query(db_path, "SELECT args_after FROM review_decisions WHERE decision_type = 'edit'")
        assert json.loads(logged[0][0]) == {"customer": "acme", "amount": 90}
    finally:
        console.close()


def test_one_toolnode_task_cannot_reject_some_calls_and_run_others(db_path: Path | str, effects: Path) -> None:
    console = open_console(db_path, "before_tools")
    try:
        console.start_run("bill").result(timeout=60)
        acme, globex = console.pending()
        result = console.submit([item(acme, reject("no")), item(globex, APPROVE)], reviewer="ana")
        assert result.exit_code == 2
        assert {e.row_id for e in result.invalid} == {acme.row_id, globex.row_id}
        assert "reject them all" in result.invalid[0].error
        assert store_query(db_path, "SELECT COUNT(*) FROM review_decisions")[0][0] == 0
        assert ran(effects) == [] and len(console.pending()) == 2
    finally:
        console.close()


def test_calls_routed_one_task_each_are_decided_apart_at_a_breakpoint(db_path: Path | str, effects: Path) -> None:
    console = open_console(db_path, "before_tools_send")
    try:
        thread_id = console.start_run("bill").result(timeout=60).thread_id
        acme, globex = console.pending()
        assert acme.payload_kind == "breakpoint"
        result = console.submit(
            [item(acme, reject("acme paid already")), item(globex, edit("invoice", customer="globex", amount=9))],
            reviewer="ana",
        )
        assert result.exit_code == 0, result.to_dict()
        assert ran(effects) == [{"tool": "invoice", "customer": "globex", "amount": 9}]
        messages = console.graph.get_state({"configurable": {"thread_id": thread_id}}).values["messages"]
        answers = {m.tool_call_id: (m.status, m.content) for m in messages if m.type == "tool"}
        assert answers == {"call_acme": ("error", "acme paid already"), "call_globex": ("success", "invoiced globex 9")}
    finally:
        console.close()


@pytest.mark.parametrize(("decision", "published"), [(APPROVE, True), (reject("not now"), False)])
def test_a_breakpoint_after_a_node_continues_or_stops_on_a_persons_word(
    db_path: Path | str, effects: Path, decision: dict[str, Any], published: bool
) -> None:
    console = open_console(db_path, "after_draft")
    try:
        thread_id = console.start_run("", run_input={"topic": "owls"}).result(timeout=60).thread_id
        console.recovery.run_once(timeout=30)
        (row,) = console.pending()
        assert row.payload_kind == "breakpoint_node" and row.tool is None
        assert row.args["next"] == ["publish"] and "owls" in row.args["state"]
        assert ran(effects) == []
        result = console.submit([item(row, decision)], reviewer="ana")
        assert result.exit_code == 0, result.to_dict()
        state = console.graph.get_state({"configurable": {"thread_id": thread_id}})
        assert state.next == () and bool(state.values.get("published")) is published
        assert len(ran(effects)) == int(published)
        assert console.pending() == []
    finally:
        console.close()


def test_the_cli_lists_a_breakpoint_right_after_start(tmp_path: Path, effects: Path) -> None:
    """`pending`'s fast path reads a saved listing, which cannot see breakpoints: it must take the full way."""
    db = tmp_path / "review.sqlite"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    started = cli(db, "before_tools", "start", "bill", env=env)
    assert started.returncode == 0, started.stderr
    assert len(json.loads(started.stdout)["pending"]) == 2
    for _ in range(2):  # the second call finds the listing the first one saved
        listed = cli(db, "before_tools", "pending", env=env)
        assert listed.returncode == 0, listed.stderr
        assert [row["args"]["customer"] for row in json.loads(listed.stdout)] == ["acme", "globex"]
    assert ran(effects) == []


def test_create_agent_paused_before_its_tools_takes_a_reject_and_an_edit_apart(db_path: Path | str) -> None:
    """langchain's create_agent routes each call as its own task and skips answered ones: calls decided apart."""
    from tests.agents.langchain_per_call import SENT

    SENT.clear()
    console = open_console(db_path, "agent_before_tools")
    try:
        thread_id = console.start_run("tidy up").result(timeout=60).thread_id
        rows = {r.tool: r for r in console.pending()}
        assert sorted(rows) == ["delete_file", "send_email"] and rows["send_email"].payload_kind == "breakpoint"
        assert SENT == []
        result = console.submit(
            [
                item(rows["delete_file"], reject("keep it")),
                item(rows["send_email"], edit("send_email", to="b@x.org", subject="hi")),
            ],
            reviewer="ana",
        )
        assert result.exit_code == 0, result.to_dict()
        assert SENT == [{"tool": "send_email", "to": "b@x.org", "subject": "hi"}]  # delete_file never ran
        messages = console.graph.get_state({"configurable": {"thread_id": thread_id}}).values["messages"]
        answers = {m.tool_call_id: (m.status, m.content) for m in messages if m.type == "tool"}
        assert answers == {"call_delete": ("error", "keep it"), "call_email": ("success", "sent to b@x.org")}
        checks = {c["row_id"]: c["outcome_check"] for c in result.to_dict()["outcome_checks"]}
        assert set(checks.values()) == {"verified"}
    finally:
        console.close()
