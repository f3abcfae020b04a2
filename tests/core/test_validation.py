"""`check_request`: one request for one row, checked as a submit checks it (review/validation.py).

The row (read-only, or warning without force), the fields a decision type sends, the tool's arguments or the
question's answer, then the policy and the several-approvers rule; each refusal in the words the Inbox shows
before Submit and the CLI prints. Pure: fake rows, no store.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from review.contract import PendingInterrupt
from review.identity import Reviewer
from review.policy import Policy, ToolRule
from review.validation import InvalidDecision, check_request

CIRCLE = PendingInterrupt(
    thread_id="t1",
    row_id="i1",
    interrupt_id="i1",
    tool_call_id="call-1",
    tool="create_circle",
    args={"shape_id": "c1", "color": "red"},
    description="",
    allowed_decisions=("approve", "edit", "reject"),
    raised_at=None,
)
PAGE = replace(CIRCLE, tool="page_oncall", args={}, allowed_decisions=("approve", "ignore"))
QUESTION = replace(
    CIRCLE,
    tool=None,
    args={},
    allowed_decisions=("respond",),
    payload_kind="question",
    answer_schema={"type": "integer"},
)
ANA = Reviewer.typed("ana")
OPEN = Policy()


def refusal(row: PendingInterrupt, raw: Any, reviewer: Reviewer | None = ANA, policy: Policy = OPEN, **kw: Any) -> str:
    with pytest.raises(InvalidDecision) as refused:
        check_request(row, raw, {}, reviewer, policy, **kw)
    return str(refused.value)


@pytest.mark.parametrize(
    ("row", "raw", "said"),
    [
        (
            CIRCLE,
            {"type": "approve", "message": "ok"},
            "a message is only sent with reject or respond: clear it or choose one (not approve)",
        ),
        (
            CIRCLE,
            {"type": "edit", "edited_action": {"name": "create_circle", "args": {}}, "message": "why"},
            "a message is only sent with reject or respond: clear it or choose one (not edit)",
        ),
        (
            PAGE,
            {"type": "approve", "message": "ok"},
            "a message is only sent with reject or respond, which this row does not allow: clear it",
        ),
        (
            CIRCLE,
            {"type": "reject", "edited_action": {"name": "create_circle", "args": {"color": "blue"}}},
            "edited arguments are only sent with edit: clear them or choose edit (not reject)",
        ),
        (
            PAGE,
            {"type": "ignore", "edited_action": {"name": "page_oncall", "args": {}}},
            "edited arguments are only sent with edit, which this row does not allow: clear them",
        ),
        (
            CIRCLE,
            {"message": "a note"},
            "choose a decision: a message is only sent with reject or respond"
            ' (a decision must be an object with a "type": approve, edit, reject)',
        ),
        (
            CIRCLE,
            {"type": "approve", "value": 1},
            'a JSON "value" is only sent with respond, as a question\'s answer (not approve)',
        ),
        (CIRCLE, {"type": "approve", "args": {}}, "unexpected field(s) in a approve decision: args"),
        (CIRCLE, {"type": "edit"}, "an edit needs edited arguments: key=value pairs or a JSON object"),
        (QUESTION, {"type": "respond"}, "respond needs a message: type the answer"),
        (QUESTION, {"type": "respond", "message": "  "}, "respond needs a message: type the answer"),
        (QUESTION, {"type": "respond", "message": "many"}, "this question asks for an integer"),
        (
            replace(CIRCLE, allowed_decisions=("approve", "edit", "reject", "respond")),
            {"type": "respond"},
            "respond needs a message: type the answer",
        ),
        (CIRCLE, {"type": "respond", "message": "x"}, "'respond' is not allowed here; allowed: approve, edit, reject"),
    ],
)
def test_a_field_the_decision_does_not_send_is_refused_in_the_reviewers_words(
    row: PendingInterrupt, raw: Any, said: str
) -> None:
    assert refusal(row, raw).startswith(said)


def test_a_row_that_is_blocked_or_warns_is_refused_and_force_sends_a_warned_one() -> None:
    assert refusal(replace(CIRCLE, blocked="no graph claims it"), {"type": "approve"}) == (
        "this thread cannot be decided from this console: no graph claims it"
    )
    warned = replace(CIRCLE, warning="Two calls share one id.")
    said = refusal(warned, {"type": "approve"})
    assert said == "Two calls share one id. Deciding it anyway needs force (the audit keeps this note)."
    assert check_request(warned, {"type": "approve"}, {}, ANA, OPEN, force=True).type == "approve"


def test_the_policy_is_asked_for_a_named_reviewer_only() -> None:
    policy = Policy(tools={"create_circle": ToolRule(deciders=("bob",), decisions=("approve", "reject"))})
    assert refusal(CIRCLE, {"type": "approve"}, policy=policy) == (
        "ana may not decide this: create_circle is decided by bob"
    )
    bob = Reviewer.typed("bob")
    edit = {"type": "edit", "edited_action": {"name": "create_circle", "args": {"color": "blue"}}}
    assert refusal(CIRCLE, edit, reviewer=bob, policy=policy) == (
        "edit is not allowed for create_circle by the policy (allowed: approve, reject)"
    )
    # Nobody named yet (the Inbox before a name is typed): the decision is checked, the policy is not.
    assert check_request(CIRCLE, {"type": "approve"}, {}, None, policy).type == "approve"


def test_several_approvers_cannot_be_collected_by_a_batched_request() -> None:
    policy = Policy(tools={"create_circle": ToolRule(approvals=2)})
    batched = replace(CIRCLE, row_id="i1#0", payload_kind="batched")
    said = refusal(batched, {"type": "approve"}, reviewer=None, policy=policy)
    assert said == "this tool needs several approvers, which a batched request cannot collect: use per-call mode"
    assert check_request(CIRCLE, {"type": "approve"}, {}, ANA, policy).type == "approve"  # per call: co-signed


def test_a_valid_request_is_the_canonical_decision() -> None:
    decision = check_request(CIRCLE, {"type": "reject", "message": "  not now "}, {}, ANA, OPEN)
    assert (decision.type, decision.message, decision.args_before) == ("reject", "not now", CIRCLE.args)
    answer = check_request(QUESTION, {"type": "respond", "message": "42"}, {}, ANA, OPEN)
    assert (answer.value, answer.message) == (42, "42")
