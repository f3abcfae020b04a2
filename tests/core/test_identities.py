"""Identities (issue 18, M1 and M3): one person is one person however the identity is spelled, and the CLI is the OS
user of the process's real user id; every pattern the docs show names who it says it names.
"""

from __future__ import annotations

import json
import os
import pwd
import re
import textwrap
import tomllib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from review import ReviewConsole, Settings
from review import policy as policy_module
from review.identity import Reviewer, identity_key, normalise_identity, same_person
from review.policy import Policy, matches, parse_policy
from tests.cli.test_cli import ROOT, cli
from tests.conftest import CLEAR
from tests.helpers import APPROVE, batch

ISSUER = "https://id.example.org"
CYRILLIC_A = "\u0430"  # looks like a Latin 'a'


def signed_in(email: str, *groups: str, **claims: Any) -> Reviewer:
    return Reviewer.signed_in({"email": email, "iss": ISSUER, "groups": list(groups), **claims})


ANA = signed_in("ana@example.org", "ops")
BOB = signed_in("bob@example.org", "ops")
ANA_VARIANTS = {
    "case": "Ana@Example.org",
    "cyrillic": f"{CYRILLIC_A}na@example.org",
    "sub-address": "ana+2@example.org",
    "trailing dot": "ana@example.org.",
    "fullwidth": "\uff41na@example.org",
    "look-alike plus": "ana\u2795ops@example.org",
}

FOUR_EYES = """
deciders = ["*@example.org"]

[tools.clear_canvas]
deciders = ["@ops"]
approvals = 2
"""


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


# --- one person, one key -------------------------------------------------------------------------------


@pytest.mark.parametrize("variant", list(ANA_VARIANTS.values()), ids=list(ANA_VARIANTS))
def test_every_spelling_of_a_mailbox_is_one_person(variant: str) -> None:
    assert identity_key(variant) == identity_key("ana@example.org")
    assert same_person(variant, "ana@example.org")


def test_different_people_stay_different() -> None:
    keys = {identity_key(i) for i in ("ana@example.org", "bob@example.org", "ana@example.com", "anna@example.org")}
    assert len(keys) == 4
    assert identity_key("cli:deploy") != identity_key("cli:oncall")


def test_the_normal_form_is_nfkc_casefolded_trimmed_without_a_trailing_dot() -> None:
    assert normalise_identity("  Ana@Example.ORG. ") == "ana@example.org"
    assert normalise_identity("\uff21na@example.org") == "ana@example.org"  # fullwidth A, by NFKC
    assert normalise_identity("ana+2@example.org") == "ana+2@example.org"  # the mailbox is identity_key's business


@pytest.mark.parametrize("variant", list(ANA_VARIANTS.values())[:3], ids=list(ANA_VARIANTS)[:3])
def test_a_variant_of_a_co_signer_is_not_a_second_approver(
    open_console: Callable[[str], ReviewConsole], variant: str
) -> None:
    """M3: `Ana@Example.org`, a Cyrillic look-alike and `ana+2@example.org` approve as ana did: still 1 of 2."""
    console = open_console(FOUR_EYES)
    (row,) = console.start_run(CLEAR).result(timeout=30).new_pending
    assert console.submit(batch([row], {"clear_canvas": APPROVE}), ANA).applied == []

    again = console.submit(batch([row], {"clear_canvas": APPROVE}), signed_in(variant, "ops"))
    assert again.applied == [] and again.exit_code == 0
    assert [r.row_id for r in console.pending()] == [row.row_id]
    assert not [e for e in console.audit(thread_id=row.thread_id) if e.status in ("claimed", "applied")]

    second = console.submit(batch([row], {"clear_canvas": APPROVE}), BOB)  # a real second person still can
    assert second.applied == [(row.thread_id, row.row_id)]


def test_a_viewer_with_a_trailing_dot_or_capitals_is_still_a_viewer() -> None:
    policy = parse_policy({"viewers": ["*@partner.example.com"], "deciders": ["*"]}, "p.toml")
    for email in ("x@partner.example.com.", "X@Partner.Example.COM", f"x@p{CYRILLIC_A}rtner.example.com"):
        guest = signed_in(email)
        assert "may view but not decide" in str(policy.may_decide(guest, _row("create_circle"))), email
        assert "may view but not start runs" in str(policy.may_start(guest)), email


def test_a_viewer_named_by_identity_catches_its_look_alikes_and_sub_addresses() -> None:
    policy = parse_policy({"viewers": ["gus@example.org"], "deciders": ["*@example.org"]}, "p.toml")
    for email in ("gus+x@example.org", f"gus@ex{CYRILLIC_A}mple.org", "GUS@example.org."):
        assert "may view but not decide" in str(policy.may_decide(signed_in(email), _row("x"))), email


def test_a_look_alike_is_not_let_in_by_an_allow_list() -> None:
    policy = parse_policy({"deciders": ["ana@example.org", "*@example.org"]}, "p.toml")
    assert policy.may_decide(signed_in(f"{CYRILLIC_A}na@ex{CYRILLIC_A}mple.org"), _row("x")) is not None
    assert policy.may_decide(signed_in("Ana@Example.org"), _row("x")) is None


def test_an_unverified_email_is_not_an_identity() -> None:
    """email_verified = false: anyone could have typed that address into their account; the subject counts."""
    claims = {"email": "lead@example.org", "email_verified": False, "sub": "u-123", "iss": ISSUER}
    reviewer = Reviewer.signed_in(claims)
    assert (reviewer.identity, reviewer.email, reviewer.issuer) == ("u-123", None, ISSUER)
    policy = parse_policy({"deciders": ["lead@example.org", "*@example.org"]}, "p.toml")
    assert "u-123 may not decide this" in str(policy.may_decide(reviewer, _row("x")))
    assert Reviewer.signed_in({**claims, "email_verified": True}).identity == "lead@example.org"
    with pytest.raises(ValueError, match="neither a verified email nor a subject"):
        Reviewer.signed_in({"email": "lead@example.org", "email_verified": "false"})


def test_a_typed_name_cannot_pass_for_the_cli_or_a_rule() -> None:
    for name in ("cli:deploy", "CLI:root", "rule:any circle"):
        with pytest.raises(ValueError, match="kept for the command line"):
            Reviewer.typed(name)
    impostor = Reviewer("cli:deploy", "cli:deploy", "signed-in")  # e.g. a provider's subject
    assert not matches("cli:*", impostor) and not matches("cli:deploy", impostor)


# --- the CLI is the real user -------------------------------------------------------------------------------


def test_the_cli_identity_comes_from_the_real_user_id(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LOGNAME", "oncall")
    monkeypatch.setenv("USER", "oncall")
    assert Reviewer.cli().identity == f"cli:{pwd.getpwuid(os.getuid()).pw_name}"


@pytest.mark.slow
def test_logname_changed_between_two_decisions_is_one_person(tmp_path: Path) -> None:
    """M1: one OS user approving as LOGNAME=deploy, then LOGNAME=oncall, is one approval of two."""
    db = tmp_path / "r.sqlite"
    policy = tmp_path / "p.toml"
    policy.write_text('deciders = ["cli:*"]\n\n[tools.clear_canvas]\napprovals = 2\n', encoding="utf-8")
    console = ReviewConsole.open(db)
    (row,) = console.start_run(CLEAR).result(timeout=30).new_pending
    console.close()
    batch_file = tmp_path / "b.json"
    batch_file.write_text(json.dumps(batch([row], {"clear_canvas": APPROVE})), encoding="utf-8")

    outcomes = []
    for name in ("deploy", "oncall"):
        ran = cli("--policy", str(policy), "decide", str(batch_file), db=db, env={"LOGNAME": name, "USER": name})
        assert ran.code == 0, ran.out + ran.err
        outcomes.append(ran.json)
    assert [o["applied"] for o in outcomes] == [[], []]
    assert "approved already" in json.dumps(outcomes[1])
    console = ReviewConsole.open(db)
    try:
        assert [r.row_id for r in console.pending()] == [row.row_id]
        me = f"cli:{pwd.getpwuid(os.getuid()).pw_name}"
        assert {e.identity for e in console.audit(thread_id=row.thread_id)} == {me}
    finally:
        console.close()


# --- every documented pattern --------------------------------------------------------------------------------

LEAD = signed_in("lead@example.org", "leads")
GUS = signed_in("gus@partner.example.com")
PAT = signed_in("pat@partners.example.org")
CLI_DEPLOY = Reviewer("cli:deploy", "cli:deploy", "cli")
NOBODY = Reviewer.anonymous()

# Each pattern the README, review-policy.example.toml and review/policy.py show: who it names, who it does not.
DOCUMENTED: dict[str, tuple[Reviewer, Reviewer]] = {
    "*": (NOBODY, NOBODY),  # everyone: even somebody who gave no name (no one it leaves out)
    "*@example.org": (ANA, GUS),
    "*@partner.example.com": (GUS, ANA),
    "*@partners.example.org": (PAT, GUS),
    "@ops": (ANA, LEAD),
    "@leads": (LEAD, ANA),
    "ana@example.org": (ANA, BOB),
    "lead@example.org": (LEAD, ANA),
    "cli:*": (Reviewer.cli(), Reviewer.typed("deploy")),
    "cli:deploy": (CLI_DEPLOY, Reviewer("cli:oncall", "cli:oncall", "cli")),
}


@pytest.mark.parametrize("pattern", list(DOCUMENTED))
def test_every_documented_pattern_names_who_it_says(pattern: str) -> None:
    named, other = DOCUMENTED[pattern]
    assert matches(pattern, named)
    if pattern != "*":
        assert not matches(pattern, other)
    policy = parse_policy({"deciders": [pattern]}, "p.toml")
    assert policy.may_decide(named, _row("x")) is None and policy.may_start(named) is None


def _documented_patterns() -> set[str]:
    """The patterns in the TOML the docs show: the example file, the README's policy, the policy module's."""
    texts = [(ROOT / "review-policy.example.toml").read_text(encoding="utf-8")]
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Sign-in and permissions", 1)[1].split("\n## ", 1)[0]
    texts += re.findall(r"```toml\n(.*?)```", section, flags=re.S)
    docstring = policy_module.__doc__ or ""
    texts.append(textwrap.dedent("\n".join(line for line in docstring.splitlines() if line.startswith("    "))))
    found: set[str] = set()
    for text in texts:
        data = tomllib.loads(text)
        if "auth" in data:
            continue  # the sign-in block
        policy = parse_policy(data, "docs")  # and each loads as it is
        found |= {*policy.viewers, *policy.deciders, *(policy.starters or ())}
        found |= {p for rule in policy.tools.values() for p in rule.deciders or ()}
        found |= {d.escalate_to for d in policy.deadlines if d.escalate_to}
        found |= set(re.findall(r'escalate_to = "([^"]+)"', text))  # the commented alternative
    return found


def test_every_pattern_the_docs_show_has_a_test_above() -> None:
    shown = _documented_patterns()
    assert {"cli:*", "*@partner.example.com", "@ops"} <= shown
    assert shown <= set(DOCUMENTED), shown - set(DOCUMENTED)


def test_a_pattern_that_could_never_match_is_refused_at_load() -> None:
    from review.policy import PolicyError

    for bad in ("ana*", "*ops", "@", "*@", "cli:dep*", "@ops@x"):
        with pytest.raises(PolicyError, match=r"is not a pattern|an empty pattern"):
            parse_policy({"deciders": [bad]}, "p.toml")


def test_the_open_policy_lets_anyone_start_and_decide() -> None:
    assert Policy().may_start(NOBODY) is None and Policy().may_decide(NOBODY, _row("x")) is None


def _row(tool: str) -> Any:
    from review.contract import PendingInterrupt

    return PendingInterrupt("t", "i", "i", None, tool, {}, "", ("approve", "reject"), None)
