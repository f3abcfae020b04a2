"""Four eyes counts every decision that acts: under `approvals = 2` an approve AND an edit wait for a second
identity making the same decision; a reject by anyone ends it at once (issue 18, H1).

Both backends (`db_path`); what happened is read back from the checkpoint (pending interrupt, canvas), the
tool's own effect log (every run of the tool, keyless) and the decision log.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from review import PendingInterrupt, ReviewConsole, Settings
from review.cosign import proposal_digest
from review.identity import Reviewer
from tests.helpers import APPROVE, batch, edit, reject

ANA = Reviewer.signed_in({"email": "ana@example.org", "iss": "https://id.example.org"})
BOB = Reviewer.signed_in({"email": "bob@example.org", "iss": "https://id.example.org"})
CARL = Reviewer.signed_in({"email": "carl@example.org", "iss": "https://id.example.org"})

POLICY = """
deciders = ["*@example.org"]

[tools.create_circle]
approvals = 2
"""
RED_CIRCLE = "Create a red circle c1"
AS_IS = edit("create_circle", shape_id="c1", color="red")  # an edit that changes nothing
BLUE = edit("create_circle", shape_id="c1", color="blue")
GREEN = edit("create_circle", shape_id="c1", color="green")
AS_IS_NOTE = '1 of 2 approvals of edit {"color": "red", "shape_id": "c1"}'
BLUE_NOTE = '1 of 2 approvals of edit {"color": "blue", "shape_id": "c1"}'
GREEN_NOTE = '1 of 2 approvals of edit {"color": "green", "shape_id": "c1"}'


@pytest.fixture
def effects(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The demo tool's effect log, written on EVERY run of the tool (keyless: no de-duplication)."""
    path = tmp_path / "effects.jsonl"
    monkeypatch.setenv("CANVAS_EFFECT_LOG", str(path))
    monkeypatch.setenv("CANVAS_EFFECT_KEYLESS", "1")
    return path


@pytest.fixture
def console(db_path: Path | str, tmp_path: Path, effects: Path) -> Iterator[ReviewConsole]:
    policy = tmp_path / "review-policy.toml"
    policy.write_text(POLICY, encoding="utf-8")
    opened = ReviewConsole.open(settings=Settings(db=str(db_path), policy=str(policy)))
    yield opened
    opened.close()


@pytest.fixture
def circle(console: ReviewConsole) -> PendingInterrupt:
    (row,) = console.start_run(RED_CIRCLE).result(timeout=30).new_pending
    assert row.tool == "create_circle" and row.args == {"shape_id": "c1", "color": "red"}
    return row


def _decide(console: ReviewConsole, row: PendingInterrupt, decision: dict[str, Any], who: Reviewer) -> Any:
    result = console.submit(batch([row], {"create_circle": decision}), who)
    assert result.exit_code == 0 and not result.invalid, result.to_dict()
    return result


def _ran(effects: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in effects.read_text().splitlines()] if effects.exists() else []


def _nothing_ran(console: ReviewConsole, row: PendingInterrupt, effects: Path) -> None:
    view = console.thread(row.thread_id)
    assert [p.interrupt_id for p in view.pending] == [row.interrupt_id]  # the checkpoint still has the interrupt
    assert view.canvas == [] and _ran(effects) == []
    assert [r.row_id for r in console.pending()] == [row.row_id]


def _log(console: ReviewConsole, row: PendingInterrupt) -> list[tuple[str, str, str | None]]:
    """(reviewer, status, error) of the row's attempts, oldest first."""
    return [(e.reviewer, e.status, e.error) for e in reversed(console.audit(thread_id=row.thread_id))]


@pytest.mark.parametrize(("decision", "note"), [(AS_IS, AS_IS_NOTE), (BLUE, BLUE_NOTE)], ids=["unchanged", "changed"])
def test_one_identitys_edit_is_a_proposal_and_runs_nothing(
    console: ReviewConsole, circle: PendingInterrupt, effects: Path, decision: dict[str, Any], note: str
) -> None:
    result = _decide(console, circle, decision, ANA)
    assert result.applied == []
    assert result.threads[circle.thread_id].waiting == {circle.row_id: f"{note} (ana@example.org)"}
    _nothing_ran(console, circle, effects)
    assert _log(console, circle) == [("ana@example.org", "cosign", None)]
    assert console.row_notes([circle])[circle.key] == ["needs 2 approvals", f"{note} (ana@example.org)"]

    again = _decide(console, circle, decision, ANA)  # the same identity twice is still one
    assert "you approved already" in again.threads[circle.thread_id].waiting[circle.row_id]
    _nothing_ran(console, circle, effects)
    assert _log(console, circle) == [("ana@example.org", "cosign", None)]


def test_two_identities_agreeing_on_the_same_edit_apply_it_once(
    console: ReviewConsole, circle: PendingInterrupt, effects: Path
) -> None:
    _decide(console, circle, BLUE, ANA)
    # The same edit, its arguments in another order: the same proposal.
    second = _decide(console, circle, edit("create_circle", color="blue", shape_id="c1"), BOB)
    assert second.applied == [(circle.thread_id, circle.row_id)]
    view = console.thread(circle.thread_id)
    assert view.pending == [] and view.canvas == [{"shape_id": "c1", "kind": "circle", "color": "blue"}]
    assert [(e["op"], e["shape_id"], e["color"]) for e in _ran(effects)] == [("add", "c1", "blue")]  # ran once
    entries = {e.status: e for e in console.audit(thread_id=circle.thread_id)}
    assert set(entries) == {"cosigned", "applied"}
    assert entries["applied"].co_signers == "ana@example.org, bob@example.org"
    assert entries["applied"].args_after == {"shape_id": "c1", "color": "blue"}
    assert entries["cosigned"].reviewer == "ana@example.org"


def test_different_edits_run_nothing_and_a_co_sign_counts_only_toward_its_own(
    console: ReviewConsole, circle: PendingInterrupt, effects: Path
) -> None:
    _decide(console, circle, BLUE, ANA)
    second = _decide(console, circle, GREEN, BOB)
    assert second.applied == []
    assert second.threads[circle.thread_id].waiting == {
        circle.row_id: f"{GREEN_NOTE} (bob@example.org); also waiting, a different decision: "
        f"{BLUE_NOTE} (ana@example.org)"
    }
    _nothing_ran(console, circle, effects)
    assert console.row_notes([circle])[circle.key] == [
        "needs 2 approvals",
        f"{BLUE_NOTE} (ana@example.org)",
        f"{GREEN_NOTE} (bob@example.org)",
    ]

    third = _decide(console, circle, GREEN, CARL)  # agrees with bob, not with ana
    assert third.applied == [(circle.thread_id, circle.row_id)]
    assert console.thread(circle.thread_id).canvas == [{"shape_id": "c1", "kind": "circle", "color": "green"}]
    assert len(_ran(effects)) == 1
    assert _log(console, circle) == [
        ("ana@example.org", "superseded", "ended by carl@example.org's edit"),
        ("bob@example.org", "cosigned", None),
        ("carl@example.org", "applied", None),
    ]


@pytest.mark.parametrize("order", ["approve first", "edit first"])
def test_an_approve_and_an_edit_are_different_decisions(
    console: ReviewConsole, circle: PendingInterrupt, effects: Path, order: str
) -> None:
    first, second = (APPROVE, AS_IS) if order == "approve first" else (AS_IS, APPROVE)
    _decide(console, circle, first, ANA)
    result = _decide(console, circle, second, BOB)
    assert result.applied == []
    _nothing_ran(console, circle, effects)
    approve_note, edit_note = "1 of 2 approvals", AS_IS_NOTE
    notes = console.row_notes([circle])[circle.key]
    if order == "approve first":
        assert notes == ["needs 2 approvals", f"{approve_note} (ana@example.org)", f"{edit_note} (bob@example.org)"]
    else:
        assert notes == ["needs 2 approvals", f"{edit_note} (ana@example.org)", f"{approve_note} (bob@example.org)"]
    assert [status for _, status, _ in _log(console, circle)] == ["cosign", "cosign"]


def test_a_reject_by_one_ends_the_proposals_at_once(
    console: ReviewConsole, circle: PendingInterrupt, effects: Path
) -> None:
    _decide(console, circle, BLUE, ANA)
    ended = _decide(console, circle, reject("not blue"), BOB)
    assert ended.applied == [(circle.thread_id, circle.row_id)]
    view = console.thread(circle.thread_id)
    assert view.pending == [] and view.canvas == [] and _ran(effects) == []
    assert console.pending() == [] and console.row_notes([circle])[circle.key] == ["needs 2 approvals"]
    assert _log(console, circle) == [
        ("ana@example.org", "superseded", "ended by bob@example.org's reject"),
        ("bob@example.org", "applied", None),
    ]


def test_changing_ones_mind_withdraws_the_earlier_proposal(
    console: ReviewConsole, circle: PendingInterrupt, effects: Path
) -> None:
    _decide(console, circle, BLUE, ANA)
    _decide(console, circle, GREEN, ANA)  # ana now backs green only
    result = _decide(console, circle, BLUE, BOB)  # so bob's blue is alone
    assert result.applied == []
    _nothing_ran(console, circle, effects)
    assert _log(console, circle) == [
        ("ana@example.org", "superseded", "replaced by ana@example.org's later edit"),
        ("ana@example.org", "cosign", None),
        ("bob@example.org", "cosign", None),
    ]


@pytest.mark.slow
@pytest.mark.parametrize("round_no", range(3))
def test_two_identities_racing_the_same_edit_apply_it_once(
    console: ReviewConsole, circle: PendingInterrupt, effects: Path, db_path: Path | str, tmp_path: Path, round_no: int
) -> None:
    """Nothing waits yet; two consoles (two connections) send the same edit at once: one waits, one applies."""
    other = ReviewConsole.open(settings=Settings(db=str(db_path), policy=str(tmp_path / "review-policy.toml")))
    barrier = threading.Barrier(2)
    results: dict[str, Any] = {}

    def send(where: ReviewConsole, who: Reviewer) -> None:
        barrier.wait()
        results[who.identity] = where.submit(batch([circle], {"create_circle": BLUE}), who)

    try:
        threads = [threading.Thread(target=send, args=pair) for pair in ((console, ANA), (other, BOB))]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
    finally:
        other.close()
    assert sorted(len(r.applied) for r in results.values()) == [0, 1], {k: r.to_dict() for k, r in results.items()}
    assert console.thread(circle.thread_id).canvas == [{"shape_id": "c1", "kind": "circle", "color": "blue"}]
    assert len(_ran(effects)) == 1
    assert sorted(status for _, status, _ in _log(console, circle)) == ["applied", "cosigned"]


def test_the_proposal_digest_is_of_the_canonical_resume_value() -> None:
    one = proposal_digest("edit", '{"type": "edit", "edited_action": {"args": {"a": 1, "b": 2}, "name": "t"}}')
    same = proposal_digest("edit", '{"edited_action":{"name":"t","args":{"b":2,"a":1}},"type":"edit"}')
    assert one == same
    assert one != proposal_digest("edit", '{"type": "edit", "edited_action": {"args": {"a": 1}, "name": "t"}}')
    assert proposal_digest("approve", '{"type": "approve"}') != proposal_digest("edit", '{"type": "approve"}')
