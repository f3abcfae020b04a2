"""The claim rules: batched requests, conflicts, and four eyes (does a decision join a proposal, or act now?).

`claim()` records the decisions of one thread through small storage steps the backend runs inside ONE
transaction (review/storage/sql.py): a batched request is answered whole, so a part held by anyone holds
all its parts; a row someone holds names its holder (the conflict the reviewer is told about); every
other decision goes through `plan()` below.

Under `approvals = N` (review/policy.py) every decision that ACTS (approve, edit: the tool runs) is a
proposal: it is sent only once N distinct identities have made the SAME decision, the same decision type
with the same resume value (compared by `proposal_digest`). An edit is thus a proposal that others approve
by making the same edit; approving the call as it stands is another proposal, which does not count toward
the edit (nor the edit toward it). A decision that does not act (reject, respond, ignore) by anyone who may
decide ends every waiting proposal at once and is sent, as it always was.

Two identities of one person (`review.identity.identity_key`: case, look-alikes, `+` sub-addresses) count
once. The rule lives here, once, as pure functions: `claim()` reads a row's waiting co-signs inside the
claim transaction, asks `plan()` what to do with the new decision, and writes what it says. The log
keeps every step (review/audit.py): a waiting co-sign is `cosign`; when a proposal reaches N its co-signs
become `cosigned` (the claim names every approver), and every other waiting one becomes `superseded`.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, Protocol

from review.identity import identity_key

if TYPE_CHECKING:
    from review.storage.base import Holder, NewDecision

ACTING = frozenset({"approve", "edit"})  # the decisions that let the tool run
_NOTE_ARGS_CHARS = 200  # an edit's arguments in a note; the audit keeps them whole


def proposal_digest(decision_type: str, resume_json: str) -> str:
    """What co-signers must agree on: sha256 of the decision type and the canonical JSON of its resume value."""
    canonical = json.dumps(json.loads(resume_json), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(f"{decision_type}\n{canonical}".encode()).hexdigest()


@dataclass(frozen=True)
class Signature:
    """A waiting co-sign: one `cosign` row of the decision log."""

    attempt_id: int
    thread_id: str
    row_id: str
    identity: str
    reviewer: str  # the name shown
    decision_type: str
    digest: str
    args_after: str | None = None  # an edit's arguments as JSON text (what the note shows)

    @classmethod
    def from_columns(
        cls,
        attempt_id: int,
        thread_id: str,
        row_id: str,
        identity: str | None,
        reviewer: str,
        decision_type: str,
        resume_json: str,
        proposal: str | None,
        args_after: str | None,
    ) -> Signature:
        """From the log's columns (see `SIGNATURE_COLUMNS` in review/storage/base.py); a co-sign recorded
        before proposals had a digest was an approval, whose digest its resume value gives."""
        digest = proposal or proposal_digest(decision_type, resume_json)
        return cls(attempt_id, thread_id, row_id, identity or reviewer, reviewer, decision_type, digest, args_after)


@dataclass(frozen=True)
class Proposal:
    """The waiting co-signs of one decision on one row, oldest first."""

    decision_type: str
    digest: str
    args_after: str | None
    names: tuple[str, ...]
    people: tuple[str, ...]  # who they are (`identity_key`): "distinct" counts these

    @property
    def what(self) -> str:
        """How a note names it: nothing for an approval of the call as it stands, else the decision and its args."""
        if self.decision_type == "approve":
            return ""
        if self.args_after is None:
            return f" of {self.decision_type}"
        shown = _compact(self.args_after)
        if len(shown) > _NOTE_ARGS_CHARS:
            shown = shown[: _NOTE_ARGS_CHARS - 1] + "…"
        return f" of {self.decision_type} {shown}"

    def text(self, needed: int) -> str:
        """E.g. "1 of 2 approvals of edit {"color": "blue"} (ana@example.org)"."""
        return f"{len(self.people)} of {needed} approvals{self.what} ({', '.join(self.names)})"


def proposals(signed: Sequence[Signature]) -> list[Proposal]:
    """The waiting proposals of one row, in the order they were first made; one name per person."""
    grouped: dict[tuple[str, str], list[Signature]] = {}
    for sign in signed:
        grouped.setdefault((sign.decision_type, sign.digest), []).append(sign)
    found = []
    for (decision_type, digest), signs in grouped.items():
        by_person = {identity_key(s.identity): s.reviewer for s in reversed(signs)}  # first name of each person
        people = tuple(dict.fromkeys(identity_key(s.identity) for s in signs))
        found.append(Proposal(decision_type, digest, signs[0].args_after, tuple(by_person[p] for p in people), people))
    return found


@dataclass(frozen=True)
class CoSigns:
    """A decision recorded as a co-sign: who made the same decision so far, how many must, and what else waits."""

    names: tuple[str, ...]
    needed: int
    repeated: bool = False  # this identity had already made this very decision: nothing new was recorded
    what: str = ""  # "" for an approval of the call as it stands, else e.g. ' of edit {"color": "blue"}'
    others: tuple[str, ...] = ()  # the notes of other proposals waiting on the row (they do not count toward it)

    @property
    def text(self) -> str:
        """`1 of 2 approvals (ana)`: what the row waits for, as the Inbox and the CLI say it."""
        have = f"{len(self.names)} of {self.needed} approvals{self.what} ({', '.join(self.names)})"
        if self.repeated:
            have += ": you approved already; another reviewer must"
        if self.others:
            have += "; also waiting, a different decision: " + "; ".join(self.others)
        return have


@dataclass(frozen=True)
class Plan:
    """What the claim transaction records for one new decision on a row nobody holds.

    `record`: the status of the new attempt's row (`claimed`: send it now; `cosign`: it waits), or None
    when nothing new is recorded (this identity had already made the same decision). `settle`: waiting
    co-signs that change status, as (attempt id, `cosigned` or `superseded`, why). `co_signers`: every
    approver a claim names (None for a decision that needed only its own reviewer). `waiting`: what the
    reviewer is told when the decision waits.
    """

    record: Literal["claimed", "cosign"] | None
    settle: tuple[tuple[int, str, str | None], ...] = field(default=())
    co_signers: str | None = None
    waiting: CoSigns | None = None


def plan(decision: NewDecision, digest: str, signed: Sequence[Signature]) -> Plan:
    """Decide what a new decision does, given the row's waiting co-signs (`signed`, oldest first).

    `digest` is the decision's `proposal_digest`. The caller holds the row's claim lock (or SQLite's write
    lock) from reading `signed` until it has written the plan, so racing co-signers count each other.
    """
    needed = max(decision.approvals, 1)
    if not signed and needed == 1:  # nothing waits on the row and its reviewer alone decides: sent as it is
        return Plan("claimed")
    if decision.decision_type not in ACTING:  # the tool does not run: anyone who may decide ends it
        why = f"ended by {decision.reviewer}'s {decision.decision_type}"
        return Plan("claimed", tuple((s.attempt_id, "superseded", why) for s in signed))
    me = identity_key(decision.identity)
    mine = [s for s in signed if s.decision_type == decision.decision_type and s.digest == digest]
    joined = {s.attempt_id for s in mine}
    agreeing = next(iter(proposals(mine)), None)  # `mine` is one proposal (or none yet)
    people = list(agreeing.people) if agreeing else []
    names = list(agreeing.names) if agreeing else []
    repeated = me in people
    if not repeated:
        people.append(me)
        names.append(decision.reviewer)
    if len(people) >= needed:
        why = f"ended by {decision.reviewer}'s {decision.decision_type}"
        settle = tuple(
            (s.attempt_id, "cosigned", None) if s.attempt_id in joined else (s.attempt_id, "superseded", why)
            for s in signed
        )
        return Plan("claimed", settle, ", ".join(names) if len(names) > 1 else None)
    # Waits. One identity backs one proposal of a row at a time: its earlier, different one is withdrawn.
    replaced = f"replaced by {decision.reviewer}'s later {decision.decision_type}"
    settle = tuple(
        (s.attempt_id, "superseded", replaced)
        for s in signed
        if s.attempt_id not in joined and identity_key(s.identity) == me
    )
    withdrawn = joined | {attempt_id for attempt_id, _, _ in settle}
    others = tuple(p.text(needed) for p in proposals([s for s in signed if s.attempt_id not in withdrawn]))
    what = Proposal(decision.decision_type, digest, decision.args_after, (), ()).what
    waiting = CoSigns(tuple(names), needed, repeated, what, others)
    return Plan(None if repeated else "cosign", settle, waiting=waiting)


class ClaimSteps(Protocol):
    """What `claim` asks of storage, all inside the one claim transaction of a thread."""

    def holders(self, interrupt_ids: Sequence[str]) -> list[Holder]:
        """The claimed or applied attempts of these interrupts of the thread."""
        ...

    def signed(self, row_id: str) -> list[Signature]:
        """The row's waiting co-signs, oldest first (with what this claim settled and recorded on it so far)."""
        ...

    def settle(self, attempt_id: int, status: str, why: str | None) -> None:
        """Move a waiting co-sign to `status` (cosigned / superseded), if it is still waiting."""
        ...

    def record(
        self, d: NewDecision, status: str, owner: str, lease_until: float, co_signers: str | None, proposal: str
    ) -> None:
        """Append an attempt to the log (storage may write it later, in the same transaction; a later `signed`
        of the same row sees it)."""
        ...


def claim(
    decisions: Sequence[NewDecision], steps: ClaimSteps, owner: str, lease_until: float
) -> tuple[list[str], dict[str, Holder], dict[str, CoSigns]]:
    """Claim the decisions of ONE thread: (rows claimed, rows held by someone -> holder, rows waiting -> co-signs).

    A batched request is answered whole: a part held by anyone holds all its parts (a holder of row
    `<interrupt>#n` holds every row of that interrupt). On a row that needs N approvers, `plan` says whether
    a decision waits as a co-sign of its proposal (no owner, no lease), is claimed (the N-th distinct
    identity making the same decision; the claim names them all), or ends the co-signs.
    """
    claimed: list[str] = []
    held: dict[str, Holder] = {}
    waiting: dict[str, CoSigns] = {}
    holders = steps.holders(sorted({d.interrupt_id for d in decisions}))
    digests: dict[tuple[str, str], str] = {}  # a batch often makes one decision many times ("approve" each call)
    by_row = {h.row_id: h for h in holders}
    by_interrupt = {h.row_id.split("#", 1)[0]: h for h in holders if "#" in h.row_id}
    for d in decisions:
        holder = by_row.get(d.row_id) or by_interrupt.get(d.interrupt_id)
        if holder is not None:
            held[d.row_id] = holder
            continue
        signed = steps.signed(d.row_id)
        key = (d.decision_type, d.resume_json)
        digest = digests.get(key)
        if digest is None:
            digest = digests[key] = proposal_digest(*key)
        step = plan(d, digest, signed)
        for attempt_id, status, why in step.settle:
            steps.settle(attempt_id, status, why)
        if step.record == "claimed":
            steps.record(d, "claimed", owner, lease_until, step.co_signers, digest)
            claimed.append(d.row_id)
            continue
        if step.record == "cosign":
            steps.record(d, "cosign", "", 0.0, None, digest)
        if step.waiting is not None:
            waiting[d.row_id] = step.waiting
    return claimed, held, waiting


def _compact(args_json: str) -> str:
    try:
        value: Any = json.loads(args_json)
    except ValueError:
        return args_json
    return json.dumps(value, sort_keys=True, ensure_ascii=False)
