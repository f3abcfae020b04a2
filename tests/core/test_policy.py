"""Who may decide what: viewers, per-tool deciders, four-eyes approval, auto-approve rules and deadlines.

Every check happens in the core, so the pages, the CLI and any other caller are held to the same policy;
what was recorded is read back from the decision log.
"""

from __future__ import annotations

import getpass
import json
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from review import ReviewConsole, Settings
from review.identity import Reviewer
from review.policy import PolicyError, load_policy
from tests.conftest import CLEAR, THREE_SHAPES
from tests.helpers import APPROVE, batch, reject

ANA = Reviewer.signed_in({"email": "ana@example.org", "iss": "https://id.example.org", "groups": ["ops"]})
BOB = Reviewer.signed_in({"email": "bob@example.org", "iss": "https://id.example.org", "groups": ["ops"]})
CARL = Reviewer.signed_in({"email": "carl@example.org", "iss": "https://id.example.org", "groups": ["ops"]})
GUEST = Reviewer.signed_in({"email": "gus@partner.example.com", "iss": "https://id.example.org"})
EVE = Reviewer.signed_in({"email": "eve@example.org", "iss": "https://id.example.org", "groups": ["design"]})

POLICY = """
viewers = ["*@partner.example.com"]
deciders = ["*@example.org", "cli:*"]

[tools.clear_canvas]
deciders = ["@ops"]
decisions = ["approve", "reject"]
approvals = 2
"""


@pytest.fixture
def open_console(tmp_path: Path) -> Iterator[Callable[..., ReviewConsole]]:
    opened: list[ReviewConsole] = []

    def make(policy: str = POLICY, **kwargs: Any) -> ReviewConsole:
        path = tmp_path / "review-policy.toml"
        path.write_text(policy, encoding="utf-8")
        settings = Settings.from_env(db=str(tmp_path / "review.sqlite"), policy=str(path))
        opened.append(ReviewConsole.open(settings=settings, **kwargs))
        return opened[-1]

    yield make
    for console in opened:
        console.close()


def _clear_rows(console: ReviewConsole) -> list[Any]:
    return console.start_run(CLEAR).result(timeout=30).new_pending


# --- loading ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("viewers = 'ana'", "viewers must be a list"),
        ("[tools.x]\napprovals = 0", "approvals must be a whole number from 1 to 10"),
        ("[tools.x]\ndecisions = ['maybe']", "decisions must list some of"),
        ("[[deadline]]\ntool = 'x'\nafter = 'soon'\nreject = 'no'", 'must be a duration like "10m"'),
        ("[[deadline]]\ntool = 'x'\nafter = '1m'", "needs either reject"),
        ("colour = 1", "unknown key(s) colour"),
        ("viewers = [", "is not valid TOML"),
    ],
)
def test_a_bad_policy_file_is_one_line_naming_it(tmp_path: Path, text: str, error: str) -> None:
    path = tmp_path / "p.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(PolicyError) as raised:
        load_policy(str(path))
    assert error in str(raised.value) and str(path) in str(raised.value)


def test_no_policy_file_means_everybody_decides_everything(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert load_policy(None).may_decide(GUEST, _row("clear_canvas")) is None
    with pytest.raises(PolicyError, match="no policy file"):
        load_policy(str(tmp_path / "missing.toml"))


def _row(tool: str) -> Any:
    from review.contract import PendingInterrupt

    return PendingInterrupt("t", "i", "i", None, tool, {}, "", ("approve", "reject"), None)


def test_permits_is_the_per_decision_part_of_may_decide(tmp_path: Path) -> None:
    """A page offers a reviewer who may decide a row the decisions `permits` leaves: exactly those `may_decide`
    allows one by one (its only per-decision rule is the tool's `decisions`)."""
    path = tmp_path / "policy.toml"
    path.write_text('[tools.create_circle]\ndecisions = ["approve", "reject"]\n', encoding="utf-8")
    policy = load_policy(str(path))
    for tool in ("create_circle", "clear_canvas"):
        row = _row(tool)
        for decision in ("approve", "edit", "reject", "respond"):
            assert policy.permits(row, decision) == (policy.may_decide(ANA, row, decision) is None), (tool, decision)
    assert not policy.permits(_row("create_circle"), "edit") and policy.permits(_row("clear_canvas"), "edit")


# --- who may decide --------------------------------------------------------------------------------


def test_a_viewer_sees_but_cannot_decide(open_console: Callable[..., ReviewConsole]) -> None:
    console = open_console()
    rows = console.start_run(THREE_SHAPES).result(timeout=30).new_pending
    assert (
        console.may_decide(GUEST, rows[0])
        == "gus@partner.example.com may view but not decide (a viewer in " + str(console.policy.source) + ")"
    )
    refused = console.submit(batch(rows, {"create_circle": APPROVE}), GUEST)
    assert refused.exit_code == 2 and "may view but not decide" in refused.invalid[0].error
    assert console.audit() == [] and len(console.pending()) == 3
    assert console.submit(batch(rows, {"create_circle": APPROVE}), ANA).exit_code == 0


def test_a_tool_limited_to_a_group_refuses_others(open_console: Callable[..., ReviewConsole]) -> None:
    console = open_console()
    (row,) = _clear_rows(console)
    refused = console.submit(batch([row], {"clear_canvas": APPROVE}), EVE)
    assert refused.exit_code == 2 and "clear_canvas is decided by @ops" in refused.invalid[0].error
    assert console.may_decide(EVE, row) and console.may_decide(ANA, row) is None


def test_the_cli_is_recorded_as_its_os_user_and_held_to_the_policy(open_console: Callable[..., ReviewConsole]) -> None:
    console = open_console(POLICY.replace('"cli:*"', '"cli:somebody-else"'))
    rows = console.start_run(THREE_SHAPES).result(timeout=30).new_pending
    refused = console.submit(batch(rows, {"create_circle": APPROVE}), Reviewer.cli("kim"))
    assert refused.exit_code == 2 and f"cli:{getpass.getuser()} may not decide this" in refused.invalid[0].error


# --- four eyes -------------------------------------------------------------------------------------------


def test_two_distinct_approvers_are_needed_and_both_are_in_the_audit(
    open_console: Callable[..., ReviewConsole],
) -> None:
    console = open_console()
    (row,) = _clear_rows(console)
    first = console.submit(batch([row], {"clear_canvas": APPROVE}), ANA)
    assert first.exit_code == 0 and first.applied == []
    assert first.threads[row.thread_id].waiting == {row.row_id: "1 of 2 approvals (ana@example.org)"}
    assert [r.row_id for r in console.pending()] == [row.row_id]  # still pending
    assert console.row_notes([row])[row.key] == ["needs 2 approvals", "1 of 2 approvals (ana@example.org)"]

    again = console.submit(batch([row], {"clear_canvas": APPROVE}), ANA)  # the same reviewer twice does not count
    assert "you approved already" in again.threads[row.thread_id].waiting[row.row_id]
    assert [r.row_id for r in console.pending()] == [row.row_id]

    second = console.submit(batch([row], {"clear_canvas": APPROVE}), BOB)
    assert second.applied == [(row.thread_id, row.row_id)]
    (confirm,) = second.new_pending  # clear_canvas asks again to confirm
    assert confirm.description.startswith("Confirm")
    entries = {e.status: e for e in console.audit(thread_id=row.thread_id)}
    assert entries["applied"].co_signers == "ana@example.org, bob@example.org"
    assert entries["applied"].identity == "bob@example.org" and entries["cosigned"].reviewer == "ana@example.org"


def test_a_reject_by_anyone_ends_the_co_signs(open_console: Callable[..., ReviewConsole]) -> None:
    console = open_console()
    (row,) = _clear_rows(console)
    console.submit(batch([row], {"clear_canvas": APPROVE}), ANA)
    ended = console.submit(batch([row], {"clear_canvas": reject("not today")}), BOB)
    assert ended.applied == [(row.thread_id, row.row_id)] and console.pending() == []
    statuses = sorted((e.reviewer, e.status, e.error) for e in console.audit(thread_id=row.thread_id))
    assert statuses == [
        ("ana@example.org", "superseded", "ended by bob@example.org's reject"),
        ("bob@example.org", "applied", None),
    ]


@pytest.mark.slow
@pytest.mark.parametrize("round_no", range(5))
def test_racing_co_signers_resume_once(open_console: Callable[..., ReviewConsole], round_no: int) -> None:
    first = open_console()
    second = open_console()  # another console on the same store: another connection
    (row,) = _clear_rows(first)
    first.submit(batch([row], {"clear_canvas": APPROVE}), ANA)
    barrier = threading.Barrier(2)
    results: dict[str, Any] = {}

    def sign(console: ReviewConsole, who: Reviewer) -> None:
        barrier.wait()
        results[who.identity] = console.submit(batch([row], {"clear_canvas": APPROVE}), who)

    threads = [threading.Thread(target=sign, args=(c, w)) for c, w in ((first, BOB), (second, CARL))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    applied = [who for who, result in results.items() if result.applied]
    assert len(applied) == 1, {who: r.to_dict() for who, r in results.items()}
    loser = next(r for who, r in results.items() if who not in applied)
    assert [c.reviewer for c in loser.conflicts] == [applied[0]]
    holding = [e for e in first.audit(thread_id=row.thread_id) if e.status == "applied"]
    assert len(holding) == 1  # one resume


# --- rules -------------------------------------------------------------------------------------------------

RULES = """
[[auto_approve]]
name = "any circle"
tool = "create_circle"
args = { color = "*" }

[[auto_approve]]
name = "only blue squares"
tool = "create_square"
args = { color = ["navy"] }

[[deadline]]
tool = "create_triangle"
after = 0.3
reject = "Nobody answered in time"
"""


def test_an_auto_approve_rule_applies_and_a_non_matching_call_stays(open_console: Callable[..., ReviewConsole]) -> None:
    console = open_console(RULES)
    rows = console.start_run(THREE_SHAPES).result(timeout=30).new_pending
    assert console.row_notes(rows)[next(r.key for r in rows if r.tool == "create_circle")] == [
        "auto-approved by rule 'any circle'"
    ]
    (done,) = console.apply_rules(wait=True)
    assert [row_id for _, row_id in done.applied] == [r.row_id for r in rows if r.tool == "create_circle"]
    (entry,) = console.audit()
    assert (entry.reviewer, entry.verification, entry.tool) == ("rule:any circle", "rule", "create_circle")
    assert sorted(r.tool for r in console.pending()) == ["create_square", "create_triangle"]  # navy only


def test_a_deadline_rejects_a_row_once_even_racing_a_reviewer(open_console: Callable[..., ReviewConsole]) -> None:
    console = open_console(
        RULES.split("[[deadline]]")[0].replace("create_circle", "none")
        + "[[deadline]]"
        + RULES.split("[[deadline]]")[1]
    )
    rows = console.start_run(THREE_SHAPES).result(timeout=30).new_pending
    triangle = next(r for r in rows if r.tool == "create_triangle")
    assert console.apply_rules(wait=True) == []  # not due yet
    time.sleep(0.35)  # the deadline itself is the subject: wait it out
    barrier = threading.Barrier(2)
    outcome: dict[str, Any] = {}

    def worker() -> None:
        barrier.wait()
        outcome["rule"] = console.apply_rules(wait=True)

    thread = threading.Thread(target=worker)
    thread.start()
    barrier.wait()
    outcome["reviewer"] = console.submit(batch([triangle], {"create_triangle": APPROVE}), ANA)
    thread.join(60)
    holding = [e for e in console.audit() if e.tool == "create_triangle" and e.status in ("claimed", "applied")]
    assert len(holding) == 1, [e.to_dict() for e in console.audit()]
    if holding[0].verification == "rule":
        assert (
            holding[0].message == "Nobody answered in time" and holding[0].reviewer == "rule:deadline:create_triangle"
        )
        assert [c.reviewer for c in outcome["reviewer"].conflicts] == ["rule:deadline:create_triangle"]
    assert console.apply_rules(wait=True) == []  # once: nothing left for it


def test_an_escalating_deadline_hands_the_row_to_its_group(open_console: Callable[..., ReviewConsole]) -> None:
    policy = '[[deadline]]\ntool = "create_square"\nafter = 0.2\nescalate_to = "@ops"\n'
    console = open_console(policy)
    rows = console.start_run(THREE_SHAPES).result(timeout=30).new_pending
    square = next(r for r in rows if r.tool == "create_square")
    assert console.may_decide(EVE, square) is None
    time.sleep(0.25)  # the deadline itself is the subject
    assert "escalated to @ops" in str(console.may_decide(EVE, square))
    assert console.submit(batch([square], {"create_square": APPROVE}), ANA).exit_code == 0


def test_the_cli_refuses_a_viewer_like_the_page_does(tmp_path: Path) -> None:
    from review.cli import main

    db = tmp_path / "r.sqlite"
    policy = tmp_path / "p.toml"
    policy.write_text(f'viewers = ["cli:{getpass.getuser()}"]\n', encoding="utf-8")
    console = ReviewConsole.open(db)
    rows = console.start_run(THREE_SHAPES).result(timeout=30).new_pending
    console.close()
    batch_file = tmp_path / "b.json"
    batch_file.write_text(json.dumps(batch(rows, {"create_circle": APPROVE})), encoding="utf-8")
    assert main(["--db", str(db), "--policy", str(policy), "decide", str(batch_file)]) == 2


def test_the_example_policy_in_the_repo_loads() -> None:
    from tests.cli.test_cli import ROOT

    policy = load_policy(str(ROOT / "review-policy.example.toml"))
    assert policy.approvals("clear_canvas") == 2 and policy.auto_approve[0].name == "any circle"
