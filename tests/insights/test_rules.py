"""Rules earned from history (both backends): suggestions from a scripted log, shadow mode's would-have / actual
table, promotion into the policy file (audited; the written policy loads and auto-approves the next match), drop."""

from __future__ import annotations

import tomllib
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from review import ReviewConsole, Settings
from review.identity import Reviewer
from review.policy import NotAllowed, load_policy
from review.rules import RuleError
from tests.conftest import THREE_SHAPES
from tests.insights.history import Past, record

POLICY = '# the team\'s policy\ndeciders = ["*"]\n\n[tools.clear_canvas]\napprovals = 2\n'


def earned_history() -> list[Past]:
    """create_circle 48 of 50 approved as asked; create_square 24 of 25 but one approval contradicted; a triangle
    only 5 times; clear_canvas always approved but under four eyes."""
    circles = [Past("create_circle", "approve", "ana", at=n, waited=5) for n in range(48)]
    circles += [Past("create_circle", "edit", "bob", at=50 + n, waited=5) for n in range(2)]
    squares = [Past("create_square", "approve", "bob", at=60 + n, waited=5) for n in range(23)]
    squares += [Past("create_square", "approve", "bob", at=90, waited=5, outcome="contradicted: the shape is blue")]
    squares += [Past("create_square", "reject", "ana", at=91, waited=5)]
    triangles = [Past("create_triangle", "approve", "ana", at=100 + n, waited=5) for n in range(5)]
    clears = [Past("clear_canvas", "approve", "ops", at=110 + n, waited=5) for n in range(30)]
    rules = [
        Past("create_triangle", "approve", "triangles", at=150 + n, waited=0, verification="rule") for n in range(30)
    ]
    return circles + squares + triangles + clears + rules


@pytest.fixture
def policy_file(tmp_path: Path) -> Path:
    path = tmp_path / "team-policy.toml"
    path.write_text(POLICY)
    return path


@pytest.fixture
def keeper(db_path: Path | str, policy_file: Path) -> ReviewConsole:
    opened = ReviewConsole.open(db_path, settings=Settings(policy=str(policy_file)))
    yield opened  # type: ignore[misc]
    opened.close()


def test_suggestions_come_from_the_log(keeper: ReviewConsole) -> None:
    record(keeper, earned_history())
    [circle] = keeper.rule_suggestions()
    assert circle.text == "create_circle: 48 of 50 approved unedited, 0 contradicted outcomes"
    assert (circle.name, circle.decisions, circle.edited) == ("earned create_circle", 50, 2)
    # The square's contradicted approval rules it out at any share; fewer decisions bring the triangle in.
    assert [s.tool for s in keeper.rule_suggestions(min_decisions=5, min_share=0.9)] == [
        "create_circle",
        "create_triangle",
    ]


def test_shadow_mode_holds_the_rule_against_every_new_decision(keeper: ReviewConsole) -> None:
    record(keeper, earned_history())
    [circle] = keeper.rule_suggestions()
    rule = keeper.start_shadow(circle.tool, "ana", evidence=circle.text)
    assert keeper.rule_suggestions() == []  # in shadow mode: not suggested again
    later = datetime.now(UTC) + timedelta(seconds=5)
    red, blue = {"shape_id": "c1", "color": "red"}, {"shape_id": "c2", "color": "blue"}
    record(
        keeper,
        [
            Past("create_circle", "approve", "ana", at=0, waited=3, args=red),
            Past("create_circle", "edit", "bob", at=1, waited=3, args=blue),
            Past("create_circle", "reject", "ana", at=2, waited=3, args=red),
            Past("create_circle", "approve", "bob", at=3, waited=3, args=blue, outcome="contradicted: no circle"),
            Past("create_square", "edit", "bob", at=4, waited=3),  # another tool: not the rule's business
            Past("create_circle", "approve", "any", at=5, waited=0, verification="rule"),  # not a person's
        ],
        base=later,
        first=1000,
    )

    [report] = keeper.shadow_rules()

    assert report.rule.name == rule.name == "earned create_circle" and report.rule.state == "shadow"
    assert [(v.reviewer, v.would_approve, v.actual) for v in report.verdicts] == [
        ("ana", True, "approve"),
        ("bob", True, "edit"),
        ("ana", True, "reject"),
        ("bob", True, "approve (contradicted)"),
    ]  # only decisions made since it was shadowed: the 50 earlier ones are its evidence, not its trial
    assert [v.actual for v in report.disagreements] == ["approve (contradicted)", "reject", "edit"]
    assert report.matched == 4
    assert "would have approved 4 of 4 create_circle decisions" in report.text


def test_a_rule_with_arguments_leaves_the_others_to_a_person(keeper: ReviewConsole) -> None:
    keeper.start_shadow("create_circle", "ana", args={"color": ["red"]})
    record(
        keeper,
        [
            Past("create_circle", "approve", "ana", at=0, waited=3, args={"color": "red"}),
            Past("create_circle", "reject", "bob", at=1, waited=3, args={"color": "blue"}),
        ],
        base=datetime.now(UTC) + timedelta(seconds=5),
    )
    [report] = keeper.shadow_rules()
    assert [(v.would_approve, v.disagrees) for v in report.verdicts] == [(True, False), (False, False)]
    assert report.disagreements == []


def test_promotion_writes_the_policy_that_auto_approves_the_next_match(
    keeper: ReviewConsole, policy_file: Path, db_path: Path | str
) -> None:
    record(keeper, earned_history())
    [circle] = keeper.rule_suggestions()
    keeper.start_shadow(circle.tool, "ana", evidence=circle.text)

    written = keeper.promote_rule("earned create_circle", "ana")

    assert written == policy_file
    text = policy_file.read_text()
    assert text.startswith(POLICY)  # the file as it was, the rule appended
    assert "# Promoted from shadow mode by ana at " in text and circle.text in text
    loaded = load_policy(str(policy_file))
    assert [(r.name, r.tool, r.args) for r in loaded.auto_approve] == [("earned create_circle", "create_circle", {})]
    assert loaded.approvals("clear_canvas") == 2 and tomllib.loads(text)["deciders"] == ["*"]
    [promoted] = [e for e in keeper.rule_events() if e.action == "promote"]
    assert (promoted.name, promoted.actor, promoted.detail) == (
        "earned create_circle",
        "ana",
        f"written to {policy_file}",
    )
    assert [r.rule.state for r in keeper.shadow_rules()] == ["promoted"]
    with pytest.raises(RuleError, match="was promoted by ana"):
        keeper.promote_rule("earned create_circle", "ana")

    # The console uses it at once: the next circle is approved by the rule, the others wait for a person.
    thread_id = keeper.start_run(THREE_SHAPES).result(timeout=30).thread_id
    keeper.apply_rules(wait=True)
    decided = [(e.tool, e.reviewer, e.verification, e.status) for e in keeper.audit(thread_id=thread_id)]
    assert decided == [("create_circle", "rule:earned create_circle", "rule", "applied")]
    assert sorted(r.tool or "" for r in keeper.pending(thread_id)) == ["create_square", "create_triangle"]
    # And a console opened afterwards reads the same file.
    other = ReviewConsole.open(db_path, settings=Settings(policy=str(policy_file)))
    try:
        assert [r.name for r in other.policy.auto_approve] == ["earned create_circle"]
    finally:
        other.close()


def test_drop_and_who_may(keeper: ReviewConsole, policy_file: Path, tmp_path: Path, db_path: Path | str) -> None:
    keeper.start_shadow("create_circle", "ana")
    with pytest.raises(RuleError, match="shadowed before"):
        keeper.start_shadow("create_circle", "bob")
    keeper.drop_rule("earned create_circle", "bob")
    assert [(e.action, e.actor) for e in keeper.rule_events()] == [("drop", "bob"), ("shadow", "ana")]
    with pytest.raises(RuleError, match="was dropped by bob"):
        keeper.promote_rule("earned create_circle", "ana")
    assert policy_file.read_text() == POLICY

    strict = tmp_path / "strict.toml"
    strict.write_text('deciders = ["ana"]\nviewers = ["eve"]\n')
    guarded = ReviewConsole.open(db_path, settings=Settings(policy=str(strict)))
    try:
        with pytest.raises(NotAllowed, match="eve may view but not decide"):
            guarded.start_shadow("create_square", "eve")
        with pytest.raises(NotAllowed, match="say who you are"):
            guarded.start_shadow("create_square", Reviewer.anonymous())
        guarded.start_shadow("create_square", "ana")
        strict.write_text('deciders = ["ana"]\nviewers = "eve"\n')  # broken since: nothing may be written
        with pytest.raises(RuleError, match="does not load as it is"):
            guarded.promote_rule("earned create_square", "ana")
        assert strict.read_text() == 'deciders = ["ana"]\nviewers = "eve"\n'
        assert [r.rule.state for r in guarded.shadow_rules() if r.rule.tool == "create_square"] == ["shadow"]
    finally:
        guarded.close()
