"""Who decides: the identity a decision is recorded and checked under.

- `signed-in`: the console's OpenID Connect sign-in (Streamlit's `st.user`): `email`, else `sub`, with the issuer;
  the provider's groups claim, when it sends one, feeds the policy.
- `unverified`: a name typed in the sidebar when no sign-in is configured (local `make run`).
- `cli`: `python -m review`, recorded as `cli:<os user>`; `--reviewer NAME` is shown beside it.
- `rule`: the console itself, applying a policy rule (auto-approve, deadline) under the rule's name.
The UI only supplies who is signed in; the core checks every decision against the policy with this.
"""

from __future__ import annotations

import getpass
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from review.contract import check_reviewer

Verification = Literal["signed-in", "unverified", "cli", "rule"]


@dataclass(frozen=True)
class Reviewer:
    """A decider: `name` is shown, `identity` is what the policy and the audit hold to."""

    name: str
    identity: str
    verification: Verification
    issuer: str | None = None
    email: str | None = None
    groups: tuple[str, ...] = field(default=())

    @classmethod
    def typed(cls, name: Any) -> Reviewer:
        """A name typed in the sidebar (no sign-in configured): shown and recorded as unverified."""
        checked = check_reviewer(name)
        return cls(checked, checked, "unverified")

    @classmethod
    def cli(cls, name: str | None = None, os_user: str | None = None) -> Reviewer:
        """The command line's operator, `cli:<os user>`; `--reviewer NAME` is the name shown."""
        user = os_user or _os_user()
        identity = f"cli:{user}"
        return cls(check_reviewer(name) if name else identity, identity, "cli")

    @classmethod
    def signed_in(cls, user: Mapping[str, Any], groups_claim: str = "groups") -> Reviewer:
        """From Streamlit's `st.user` (an OpenID Connect ID token's claims)."""
        email = user.get("email") if isinstance(user.get("email"), str) else None
        subject = user.get("sub") if isinstance(user.get("sub"), str) else None
        identity = email or subject
        if not identity:
            raise ValueError("the sign-in gave neither an email nor a subject: cannot record who decides")
        raw_groups = user.get(groups_claim)
        groups = tuple(str(g) for g in raw_groups) if isinstance(raw_groups, (list, tuple)) else ()
        issuer = user.get("iss") if isinstance(user.get("iss"), str) else None
        shown = user.get("name") if isinstance(user.get("name"), str) and user.get("name") else identity
        return cls(check_reviewer(shown), check_reviewer(identity), "signed-in", issuer, email, groups)

    @classmethod
    def rule(cls, name: str) -> Reviewer:
        return cls(f"rule:{name}", f"rule:{name}", "rule")

    @property
    def label(self) -> str:
        """How the audit and conflicts name this reviewer."""
        return self.name if self.name == self.identity else f"{self.name} ({self.identity})"


def _os_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no passwd entry (some containers)
        return "unknown"


def as_reviewer(reviewer: Reviewer | str | None) -> Reviewer:
    """A Reviewer from what a caller passed: a typed name is an unverified reviewer."""
    if isinstance(reviewer, Reviewer):
        return reviewer
    return Reviewer.typed(reviewer)
