"""Signed action links: a message's "Approve" / "Reject" opens the row's card with that decision chosen.

A link is `<public_url>/?row=<row_id>&action=<token>`. The token is a capability: an HMAC-SHA256 (the console's
link key) over what it allows: the thread, row id and LangGraph's interrupt id, a digest of the arguments as
they were sent, the decision, the recipients (identity patterns, as the policy writes them) and an expiry. It
is single use (a record in the store, `review_link_uses`) and only ever OPENS the card: a GET never acts. The
card's confirm runs the normal path (validate -> claim -> record -> resume, four eyes, permissions).

For the UI (the card behind `?row=<row_id>&action=<token>`):

    links = service.links                                 # start_notifications(console)'s; or, made ONCE per process:
    # links = ActionLinks.open(console.storage, lambda: console.policy, console.settings)
    try:
        claims, _ = links.read(token)                     # which thread and row it names (signature checked)
        rows = console.pending(claims.thread_id)
        row = next((r for r in rows if r.row_id == row_id), None)   # None: not pending any more
        grant = links.verify(token, row, reviewer)        # on opening the card: nothing is written
    except LinkRefused as refused:
        show(str(refused))                                # one line: tampered, expired, used, decided...
    ...                                                   # the reviewer confirms (may edit, add a message)
    grant = links.redeem(token, row, reviewer)            # checks again and records the one use
    console.submit_batch([grant.request(message=...)], reviewer)

`verify` refuses, each with ONE line (`LinkRefused.reason` names which): "tampered" (not a token, or its
signature does not match), "expired", "replayed" (used already), "not pending" (the row is gone: decided and
resumed, or another row), "decided" (someone holds a decision on it), "changed" (its arguments or interrupt
differ from what the message showed), "recipient" (the signed-in identity is not whom the link was sent to),
"policy" (the policy does not let this identity take this decision now).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from review.contract import PendingInterrupt
from review.identity import Reviewer
from review.policy import Policy, matches
from review.settings import Settings, secret
from review.storage import Storage
from review.storage.outbox import OutboxTables

LINK_KEY_SECRET = "REVIEW_LINK_KEY"  # the secret holding the links' key; else one is made and kept in the store
_PREFIX = b"review-link.v1."
REASONS = ("tampered", "expired", "replayed", "not pending", "decided", "changed", "recipient", "policy")


class LinkRefused(ValueError):
    """An action link may not be used; the message is one line for the reviewer, `reason` one of REASONS."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


def args_digest(args: Any) -> str:
    """A digest of a row's arguments (canonical JSON: sorted keys, no spaces), the same in every process."""
    text = json.dumps(args, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def row_link(public_url: str, row_id: str, token: str | None = None) -> str:
    """The deep link of a row's card (with an action token when given)."""
    link = f"{public_url.rstrip('/')}/?row={quote(row_id, safe='')}"
    return f"{link}&action={token}" if token else link


def thread_link(public_url: str, thread_id: str) -> str:
    """The deep link of a thread's page."""
    return f"{public_url.rstrip('/')}/?thread={quote(thread_id, safe='')}"


@dataclass(frozen=True)
class LinkClaims:
    """What a token allows (all of it signed)."""

    thread_id: str
    row_id: str
    interrupt_id: str
    args_digest: str
    decision: str
    recipients: tuple[str, ...]
    expires_at: int  # epoch seconds
    nonce: str  # makes each link its own (one per message, row, decision and recipient)

    def to_json(self) -> bytes:
        """The signed payload."""
        return json.dumps(
            {
                "t": self.thread_id,
                "r": self.row_id,
                "i": self.interrupt_id,
                "a": self.args_digest,
                "d": self.decision,
                "u": list(self.recipients),
                "e": self.expires_at,
                "n": self.nonce,
            },
            separators=(",", ":"),
            ensure_ascii=False,
        ).encode()

    @classmethod
    def from_json(cls, data: bytes) -> LinkClaims:
        """The claims of a payload; ValueError (or KeyError, TypeError) when it is not one."""
        raw = json.loads(data)
        claims = cls(
            str(raw["t"]),
            str(raw["r"]),
            str(raw["i"]),
            str(raw["a"]),
            str(raw["d"]),
            tuple(str(p) for p in raw["u"]),
            int(raw["e"]),
            str(raw["n"]),
        )
        return claims


@dataclass(frozen=True)
class LinkGrant:
    """A link that passed `verify` (or `redeem`): which row, which decision, for whom."""

    claims: LinkClaims
    token_id: str

    @property
    def thread_id(self) -> str:
        """The row's thread."""
        return self.claims.thread_id

    @property
    def row_id(self) -> str:
        """The row the link opens."""
        return self.claims.row_id

    @property
    def decision(self) -> str:
        """The decision the card opens with (approve, reject, ...)."""
        return self.claims.decision

    def request(self, message: str | None = None) -> dict[str, Any]:
        """The item `console.submit_batch` takes for this decision (a reject's `message` as the reviewer typed)."""
        decision: dict[str, Any] = {"type": self.decision}
        if self.decision == "reject" and message:
            decision["message"] = message
        return {"thread_id": self.thread_id, "row_id": self.row_id, "decision": decision}


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _when(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%d %H:%M UTC")


class ActionLinks:
    """Makes and checks action links over one store and policy (the store keeps which links were used)."""

    def __init__(
        self, tables: OutboxTables, key: bytes, policy: Policy | Callable[[], Policy], public_url: str
    ) -> None:
        self.tables = tables
        self._key = key
        self._policy = policy
        self.public_url = public_url

    @property
    def policy(self) -> Policy:
        """The policy links are checked against (a callable given: asked each time, so a change applies)."""
        return self._policy if isinstance(self._policy, Policy) else self._policy()

    @classmethod
    def open(
        cls,
        store: Storage,
        policy: Policy | Callable[[], Policy],
        settings: Settings,
        *,
        tables: OutboxTables | None = None,
    ) -> ActionLinks:
        """Links with the key `REVIEW_LINK_KEY` (environment or secrets.toml), else the store's own random key
        (made once, shared by every replica of the store)."""
        tables = tables or OutboxTables(store)
        configured = secret(LINK_KEY_SECRET, settings)
        key = configured.reveal() if configured is not None else tables.shared_key("link")
        return cls(tables, key.encode(), policy, settings.public_url)

    # --- making ---------------------------------------------------------------------------------------

    def token(self, claims: LinkClaims) -> str:
        """The token of `claims`: payload.signature, both base64url."""
        payload = _b64(claims.to_json())
        return f"{payload}.{_b64(self._sign(payload))}"

    def mint(
        self,
        row: PendingInterrupt | dict[str, Any],
        decision: str,
        recipients: tuple[str, ...],
        expires_at: float,
        nonce: str,
    ) -> str:
        """The action link (a URL) for `decision` on `row` (a row, or its notified item), for `recipients`."""
        item = row.to_dict() if isinstance(row, PendingInterrupt) else row
        claims = LinkClaims(
            str(item["thread_id"]),
            str(item["row_id"]),
            str(item["interrupt_id"]),
            args_digest(item.get("args") or {}),
            decision,
            recipients,
            int(expires_at),
            nonce,
        )
        return row_link(self.public_url, claims.row_id, self.token(claims))

    def _sign(self, payload: str) -> bytes:
        return hmac.new(self._key, _PREFIX + payload.encode(), hashlib.sha256).digest()

    # --- checking -------------------------------------------------------------------------------------

    def read(self, token: str) -> tuple[LinkClaims, str]:
        """The claims of an untampered token and its id; LinkRefused("tampered") otherwise. Nothing else checked."""
        payload, dot, signature = token.strip().partition(".")
        try:
            given = _unb64(signature)
            valid = bool(dot) and hmac.compare_digest(given, self._sign(payload))
            claims = LinkClaims.from_json(_unb64(payload)) if valid else None
        except (ValueError, KeyError, TypeError):
            claims = None
        if claims is None:
            raise LinkRefused("tampered", "this link is damaged or was altered: open the row from the console instead")
        return claims, hashlib.sha256(payload.encode()).hexdigest()[:32]

    def verify(
        self, token: str, row: PendingInterrupt | None, identity: Reviewer, now: float | None = None
    ) -> LinkGrant:
        """May `identity` open `row`'s card with this link's decision now? The grant, or LinkRefused (one line).

        `row`: the row named by the link's `?row=` as the console lists it now (None when it is not pending).
        Nothing is written: call `redeem` when the reviewer confirms.
        """
        now = time.time() if now is None else now
        claims, token_id = self.read(token)
        if now >= claims.expires_at:
            raise LinkRefused(
                "expired", f"this link expired at {_when(claims.expires_at)}: decide the row in the console"
            )
        used = self.tables.link_use(token_id)
        if used is not None:
            raise LinkRefused("replayed", f"this link was already used (by {used[0]} at {_when(used[1])})")
        if row is None or (row.thread_id, row.row_id) != (claims.thread_id, claims.row_id):
            raise LinkRefused("not pending", f"row {claims.row_id} is no longer pending: it was decided and resumed")
        held = self.tables.store.holders(row.thread_id, [row.interrupt_id]).get(row.row_id)
        if held is not None:
            raise LinkRefused(
                "decided", f"row {row.row_id} was already decided ({held.decision_type} by {held.reviewer})"
            )
        if row.interrupt_id != claims.interrupt_id or args_digest(row.args) != claims.args_digest:
            raise LinkRefused(
                "changed", f"row {row.row_id} changed since this message was sent: review it in the console"
            )
        if not any(matches(pattern, identity) for pattern in claims.recipients):
            who = identity.identity or "nobody (not signed in)"
            raise LinkRefused("recipient", f"this link was sent to {', '.join(claims.recipients)}, not to {who}")
        if claims.decision not in row.allowed_decisions:
            raise LinkRefused("policy", f"{claims.decision} is not allowed for row {row.row_id} any more")
        why = row.blocked or self.policy.may_decide(identity, row, claims.decision, datetime.fromtimestamp(now, UTC))
        if why is not None:
            raise LinkRefused("policy", why)
        return LinkGrant(claims, token_id)

    def redeem(
        self, token: str, row: PendingInterrupt | None, identity: Reviewer, now: float | None = None
    ) -> LinkGrant:
        """`verify`, then record the link's one use (atomically: two clicks, one wins; the other is "replayed")."""
        now = time.time() if now is None else now
        grant = self.verify(token, row, identity, now)
        if not self.tables.use_link(grant.token_id, grant.thread_id, grant.row_id, identity.identity, now):
            used = self.tables.link_use(grant.token_id)
            by = f" (by {used[0]} at {_when(used[1])})" if used else ""
            raise LinkRefused("replayed", f"this link was already used{by}")
        return grant
