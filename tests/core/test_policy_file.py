"""The policy file (issue 18, M2, M6 and the core of item 2): checked whole at load, in one line naming the key and
its place; bounds are finite numbers and a NaN never satisfies one; a policy can require how reviewers were
verified; `starters` say who may start runs (never viewers), in the core and the CLI.
"""

from __future__ import annotations

import json
import math
import os
import pwd
import tomllib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from review import ReviewConsole, Settings
from review.cli import main
from review.contract import PendingInterrupt
from review.identity import Reviewer
from review.policy import NotAllowed, Policy, PolicyError, load_policy, parse_policy
from tests.cli.test_cli import ROOT
from tests.conftest import THREE_SHAPES
from tests.helpers import APPROVE, batch

ANA = Reviewer.signed_in({"email": "ana@example.org", "iss": "https://id.example.org", "groups": ["ops"]})
BOB = Reviewer.signed_in({"email": "bob@example.org", "iss": "https://id.example.org"})
GUEST = Reviewer.signed_in({"email": "gus@partner.example.com", "iss": "https://id.example.org"})
OUTSIDER = Reviewer.signed_in({"email": "oz@elsewhere.example.net", "iss": "https://id.example.org"})
TYPED = Reviewer.typed("ana@example.org")  # typed in the sidebar: anyone can type that
CLI = Reviewer.cli()
ME = f"cli:{pwd.getpwuid(os.getuid()).pw_name}"

SMALL_CIRCLES = """
[[auto_approve]]
name = "small_circles"
tool = "create_circle"
args = {{ radius = {bound} }}
"""


def _refusal(text: str, source: str = "review-policy.toml") -> str:
    with pytest.raises(PolicyError) as raised:
        parse_policy(tomllib.loads(text), source)
    message = str(raised.value)
    assert "\n" not in message and message.startswith(f"{source}: ")
    return message


# --- bounds (M2) ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("bound", "error"),
    [
        ("{ maximum = 100 }", "args.radius: unknown bound 'maximum' (use min, max)"),
        ("{ min = 0, mx = 5 }", "args.radius: unknown bound 'mx' (use min, max)"),
        ("{}", "args.radius is an empty bound table: give min, max or both"),
        ('{ max = "100" }', "args.radius.max must be a number"),
        ("{ max = true }", "args.radius.max must be a number"),
        ("{ max = nan }", "args.radius.max must be a finite number (not nan or inf)"),
        ("{ min = -inf }", "args.radius.min must be a finite number (not nan or inf)"),
        ("{ min = 0, max = inf }", "args.radius.max must be a finite number (not nan or inf)"),
        ("{ min = 5, max = 1 }", "args.radius has min 5 above max 1"),
        ("nan", "args.radius must be a finite number (not nan or inf)"),
        ("[]", "args.radius must not be empty"),
    ],
)
def test_a_bad_bound_is_refused_at_load_in_one_line(bound: str, error: str) -> None:
    assert _refusal(SMALL_CIRCLES.format(bound=bound)) == f"review-policy.toml: [auto_approve.small_circles] {error}"


def test_the_refusal_names_the_file_it_was_loaded_from(tmp_path: Path) -> None:
    path = tmp_path / "review-policy.toml"
    path.write_text(SMALL_CIRCLES.format(bound="{ maximum = 100 }"), encoding="utf-8")
    with pytest.raises(PolicyError) as raised:
        load_policy(str(path))
    place = "[auto_approve.small_circles] args.radius"
    assert str(raised.value) == f"{path}: {place}: unknown bound 'maximum' (use min, max)"
    with pytest.raises(PolicyError, match="unknown bound"):  # the console does not open on it either
        ReviewConsole.open(settings=Settings.from_env(db=str(tmp_path / "r.sqlite"), policy=str(path)))


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("colour = 1", "review-policy.toml: unknown key(s) colour (known: "),
        ("[tools.x]\napproval = 2", "review-policy.toml: [tools.x] unknown key(s) approval (known: approvals, "),
        ("[tools.x]", "review-policy.toml: [tools.x] is an empty table: give deciders, decisions or approvals"),
        ("[tools.x]\napprovals = '2'", "review-policy.toml: [tools.x] approvals must be a whole number"),
        (
            "[[auto_approve]]\nname = 'c'\ntool = 'create_circle'\nargz = { color = '*' }",
            "review-policy.toml: [auto_approve.c] unknown key(s) argz (known: args, name, tool)",
        ),
        (
            "[[auto_approve]]\nname = 'c'\ntool = 'create_circle'\nargs = {}",
            "review-policy.toml: [auto_approve.c] args is an empty table",
        ),
        ("[[auto_approve]]\ntool = 'create_circle'", "review-policy.toml: [[auto_approve]] #1 needs 'name'"),
        (
            "[[deadline]]\ntool = 't'\nafter = '1m'\nrejct = 'late'",
            "review-policy.toml: [deadline.t] unknown key(s) rejct (known: after, escalate_to, reject, tool)",
        ),
        ("[[deadline]]\ntool = 't'\nafter = nan\nreject = 'late'", "review-policy.toml: [deadline.t] after must be"),
        ("deciders = ['ana*']", "review-policy.toml: deciders #1: 'ana*' is not a pattern"),
        ("require_verification = 'signed'", "review-policy.toml: require_verification #1 must be one of signed-in"),
        ("starters = '@ops'", "review-policy.toml: starters must be a list of identity patterns"),
    ],
)
def test_unknown_keys_and_empty_tables_are_refused_naming_their_place(text: str, error: str) -> None:
    assert _refusal(text).startswith(error)


def test_a_nan_argument_never_satisfies_a_bound() -> None:
    policy = parse_policy(tomllib.loads(SMALL_CIRCLES.format(bound="{ min = 0, max = 5 }")), "p.toml")
    only_min = parse_policy(tomllib.loads(SMALL_CIRCLES.format(bound="{ min = 0 }")), "p.toml")
    for radius in (math.nan, math.inf, -math.inf, "3", True, None):
        assert policy.auto_rule(_circle(radius)) is None, radius
        assert only_min.auto_rule(_circle(radius)) is None, radius
    assert policy.auto_rule(_circle(3)) is not None and policy.auto_rule(_circle(5.0)) is not None
    assert policy.auto_rule(_circle(6)) is None


def test_a_boolean_does_not_pass_for_a_number_in_a_list() -> None:
    policy = parse_policy(tomllib.loads(SMALL_CIRCLES.format(bound="[1, 2]")), "p.toml")
    assert policy.auto_rule(_circle(True)) is None and policy.auto_rule(_circle(1)) is not None


def test_the_example_policy_documents_the_new_keys_and_loads() -> None:
    policy = load_policy(str(ROOT / "review-policy.example.toml"))
    assert policy.starters == ("*@example.org", "cli:*")
    assert policy.verifications == {"signed-in", "cli"}


# --- require_verification (item 2) -------------------------------------------------------------------------


def test_require_verification_refuses_an_unverified_reviewer_in_one_line() -> None:
    policy = parse_policy({"deciders": ["*@example.org", "cli:*"], "require_verification": "signed-in"}, "p.toml")
    refused = policy.may_decide(TYPED, _circle(1))
    assert refused == (
        "ana@example.org may not decide: the policy requires a verified identity (signed-in), this one is unverified"
    )
    assert policy.may_decide(ANA, _circle(1)) is None
    assert "this one is cli" in str(policy.may_decide(CLI, _circle(1)))  # the CLI only when the file allows it
    assert "may not start runs" in str(policy.may_start(TYPED))
    both = parse_policy({"deciders": ["*@example.org", "cli:*"], "require_verification": ["signed-in", "cli"]}, "p")
    assert both.may_decide(CLI, _circle(1)) is None and both.may_decide(TYPED, _circle(1)) is not None


def test_requiring_a_level_never_weakens_the_file() -> None:
    assert Policy().may_decide(TYPED, _circle(1)) is None
    signed = Policy().requiring("signed-in")
    assert signed.may_decide(TYPED, _circle(1)) is not None and signed.may_decide(ANA, _circle(1)) is None
    assert Policy().requiring(["signed-in", "cli"]).may_decide(CLI, _circle(1)) is None
    strict = parse_policy({"require_verification": "signed-in"}, "p.toml")
    assert strict.requiring("unverified").may_decide(TYPED, _circle(1)) is not None
    assert strict.requiring(["signed-in", "cli"]).may_decide(CLI, _circle(1)) is not None
    assert Policy().requiring("signed-in").may_decide(Reviewer.rule("any circle"), _circle(1)) is None
    with pytest.raises(ValueError, match="unknown verification 'sso'"):
        Policy().requiring("sso")


@pytest.fixture
def open_console(tmp_path: Path) -> Iterator[Callable[[str], ReviewConsole]]:
    opened: list[ReviewConsole] = []

    def make(policy: str) -> ReviewConsole:
        path = tmp_path / "review-policy.toml"
        path.write_text(policy, encoding="utf-8")
        opened.append(ReviewConsole.open(settings=Settings.from_env(db=str(tmp_path / "r.sqlite"), policy=str(path))))
        return opened[-1]

    yield make
    for console in opened:
        console.close()


def test_an_unverified_reviewer_is_refused_by_the_console(open_console: Callable[[str], ReviewConsole]) -> None:
    console = open_console('deciders = ["*@example.org"]\nrequire_verification = "signed-in"\n')
    rows = console.start_run(THREE_SHAPES).result(timeout=30).new_pending
    refused = console.submit(batch(rows, {"create_circle": APPROVE}), TYPED)
    assert refused.exit_code == 2 and "requires a verified identity" in refused.invalid[0].error
    assert console.audit() == []
    assert console.submit(batch(rows, {"create_circle": APPROVE}), ANA).exit_code == 0


# --- starters (M6) -------------------------------------------------------------------------------------------

SHARED = """
viewers = ["*@partner.example.com", "cli:*"]
deciders = ["*@example.org"]
"""


def test_a_viewer_cannot_start_a_run(open_console: Callable[[str], ReviewConsole]) -> None:
    console = open_console(SHARED)
    for viewer in (GUEST, CLI):
        with pytest.raises(NotAllowed, match="may view but not start runs"):
            console.start_run(THREE_SHAPES, reviewer=viewer)
    assert console.threads() == []
    assert console.start_run(THREE_SHAPES, reviewer=ANA).result(timeout=30).new_pending


def test_starters_default_to_whoever_may_decide() -> None:
    policy = parse_policy({"deciders": ["*@example.org"], "tools": {"clear_canvas": {"deciders": ["@ops"]}}}, "p")
    assert policy.may_start(ANA) is None and policy.may_start(BOB) is None
    assert policy.may_start(OUTSIDER) == (
        "oz@elsewhere.example.net may not start runs:"
        " runs are started by *@example.org, @ops (whoever may decide, by p)"
    )
    assert "say who you are" in str(policy.may_start(Reviewer.anonymous()))


def test_starters_name_who_may_start(open_console: Callable[[str], ReviewConsole]) -> None:
    console = open_console(SHARED.replace("cli:*", "nobody@example.com") + 'starters = ["@ops"]\n')
    with pytest.raises(NotAllowed, match=r"bob@example.org may not start runs: runs are started by @ops \(starters"):
        console.start_run(THREE_SHAPES, reviewer=BOB)
    assert isinstance(NotAllowed("x"), ValueError)  # callers that show a ValueError show this one too
    console.start_run(THREE_SHAPES, reviewer=ANA).result(timeout=30)
    assert len(console.threads()) == 1


def test_the_cli_start_is_held_to_the_starters(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "r.sqlite"
    viewer = tmp_path / "viewer.toml"
    viewer.write_text(f'viewers = ["{ME}"]\n', encoding="utf-8")
    assert main(["--db", str(db), "--policy", str(viewer), "start", THREE_SHAPES]) == 2
    assert json.loads(capsys.readouterr().out) == {"error": f"{ME} may view but not start runs (a viewer in {viewer})"}
    starter = tmp_path / "starter.toml"
    starter.write_text('deciders = ["*@example.org"]\nstarters = ["cli:*"]\n', encoding="utf-8")
    assert main(["--db", str(db), "--policy", str(starter), "start", THREE_SHAPES]) == 0
    assert len(json.loads(capsys.readouterr().out)["pending"]) == 3
    console = ReviewConsole.open(db)
    try:
        assert len(console.threads()) == 1  # the refused start left nothing behind
    finally:
        console.close()


def _circle(radius: Any) -> PendingInterrupt:
    return PendingInterrupt("t", "i", "i", None, "create_circle", {"radius": radius}, "", ("approve",), None)
