"""Who decides: the identity a decision is recorded and checked under, and when two identities are one person.

- `signed-in`: the console's OpenID Connect sign-in (Streamlit's `st.user`): `email` (unless the provider says
  `email_verified = false`), else `sub`, with the issuer; the provider's groups claim, when it sends one, feeds the
  policy.
- `unverified`: a name typed in the sidebar when no sign-in is configured (local `make run`).
- `cli`: `python -m review`, recorded as `cli:<os user>`, the user of the process's real user id (never `$LOGNAME`
  or `$USER`, which the caller sets); `--reviewer NAME` is shown beside it. It is as strong as access to the
  database: whoever can run the CLI against the store can decide as that OS user.
- `rule`: the console itself, applying a policy rule (auto-approve, deadline) under the rule's name.

Identities are compared in one normal form (`normalise_identity`: NFKC, casefold, trimmed, a trailing dot dropped
from a mail domain); "are these the same person" is `identity_key`, which also folds `+` sub-addresses and
look-alike characters (a Cyrillic U+0430 for a Latin 'a'), so a look-alike never counts as a second approver.
The UI only supplies who is signed in; the core checks every decision against the policy with this.
"""

from __future__ import annotations

import os
import pwd
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Literal

from review.contract import check_reviewer

Verification = Literal["signed-in", "unverified", "cli", "rule"]
RESERVED_PREFIXES = ("cli:", "rule:")  # identities only the CLI and the console's rules are recorded under


def normalise_identity(identity: str) -> str:
    """The form identities and patterns are compared in: NFKC, casefolded, trimmed, no trailing dot on a domain.

    `Ana@Example.ORG.` and `ana@example.org` are the same identity; `ana+2@example.org` is not (see identity_key).
    """
    text = unicodedata.normalize("NFKC", identity).casefold().strip()
    if "@" in text:
        local, domain = text.rsplit("@", 1)
        text = f"{local}@{domain.rstrip('.')}"
    return text


def identity_key(identity: str) -> str:
    """The person behind an identity: two identities with the same key are one person (four eyes, co-signs).

    The normal form (`normalise_identity`) with a mailbox's `+` sub-address dropped (`ana+2@example.org` is
    `ana@example.org`) and every character replaced by its look-alike skeleton (a Cyrillic U+0430 by a Latin `a`,
    a fullwidth or mathematical letter by its plain one). Erring towards "the same person" is deliberate: two
    real people whose addresses differ only by look-alikes (`anal@` / `ana1@`) cannot co-sign each other.
    """
    # The skeleton first, so a look-alike `+` or `.` (a heavy plus sign, a one-dot leader) is folded too.
    text = "".join(_fold(char) for char in normalise_identity(identity))
    if "@" in text:
        local, domain = text.rsplit("@", 1)
        mailbox = local.split("+", 1)[0]
        text = f"{mailbox or local}@{domain.rstrip('.')}"
    return text


def same_person(first: str, second: str) -> bool:
    """Are these two identities one person (see identity_key)?"""
    return identity_key(first) == identity_key(second)


@lru_cache(maxsize=4096)
def _fold(char: str) -> str:
    """A character's look-alike class, case-blind: through its capital first (a capital `I` looks like `l`, and a
    casefold alone would make it `i`), then its small letter (a script U+0261 looks like `g`)."""
    upper = "".join(_skeleton_char(c) for c in char.upper()).casefold()
    return "".join(_skeleton_char(c) for c in upper).casefold()


def _skeleton_char(char: str) -> str:
    """One representative of the character's look-alike group (Unicode's confusables, via confusable_homoglyphs):
    ASCII before the rest, then a lowercase letter, then a letter or digit (`l` for `1`, `I` and `|`), then the
    lowest code point; the character itself when it has none."""
    # Imported here: its table costs ~30 ms to load, which a read-only `pending` must not pay (it compares nobody).
    from confusable_homoglyphs.confusables import confusables_data  # type: ignore[import-untyped]

    glyphs = confusables_data.get(char)
    if not glyphs:
        return char
    group = {char} | {g["c"].strip("\u200e\u200f") for g in glyphs}
    return min((c for c in group if len(c) == 1), key=_representative)


def _representative(char: str) -> tuple[bool, bool, bool, int]:
    return (not char.isascii(), not (char.isalpha() and char.islower()), not char.isalnum(), ord(char))


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
        if normalise_identity(checked).startswith(RESERVED_PREFIXES):
            raise ValueError("names starting with cli: or rule: are kept for the command line and the policy's rules")
        return cls(checked, checked, "unverified")

    @classmethod
    def anonymous(cls) -> Reviewer:
        """Somebody who did not say who they are (no sign-in configured, no name typed): matches only `*`."""
        return cls("nobody (no name given)", "", "unverified")

    @classmethod
    def cli(cls, name: str | None = None) -> Reviewer:
        """The command line's operator, `cli:<os user>` from the real user id; `--reviewer NAME` is the name shown."""
        identity = f"cli:{os_user()}"
        return cls(check_reviewer(name) if name else identity, identity, "cli")

    @classmethod
    def signed_in(cls, user: Mapping[str, Any], groups_claim: str = "groups") -> Reviewer:
        """From Streamlit's `st.user` (an OpenID Connect ID token's claims).

        An email the provider marks unverified (`email_verified` false) is not an identity: anyone may have typed
        it into their account. Then the subject is, with the issuer (recorded beside it).
        """
        email = user.get("email") if isinstance(user.get("email"), str) else None
        if email is not None and _unverified_email(user.get("email_verified")):
            email = None
        subject = user.get("sub") if isinstance(user.get("sub"), str) else None
        identity = email or subject
        if not identity:
            raise ValueError("the sign-in gave neither a verified email nor a subject: cannot record who decides")
        raw_groups = user.get(groups_claim)
        groups = tuple(str(g) for g in raw_groups) if isinstance(raw_groups, (list, tuple)) else ()
        issuer = user.get("iss") if isinstance(user.get("iss"), str) else None
        shown = user.get("name") if isinstance(user.get("name"), str) and user.get("name") else identity
        return cls(check_reviewer(shown), check_reviewer(identity), "signed-in", issuer, email, groups)

    @classmethod
    def rule(cls, name: str) -> Reviewer:
        """The console applying the policy rule `name`."""
        return cls(f"rule:{name}", f"rule:{name}", "rule")

    @property
    def label(self) -> str:
        """How the audit and conflicts name this reviewer."""
        return self.name if self.name == self.identity else f"{self.name} ({self.identity})"

    @property
    def key(self) -> str:
        """The person behind this reviewer (identity_key of the identity)."""
        return identity_key(self.identity)


def os_user() -> str:
    """The user name of this process's real user id. Not `getpass.getuser()`: that reads `$LOGNAME` / `$USER`
    first, which whoever starts the process chooses (`LOGNAME=oncall python -m review ...`)."""
    uid = os.getuid()
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:  # no passwd entry (some containers): the number is still the same person each time
        return f"uid{uid}"


def _unverified_email(claim: Any) -> bool:
    """`email_verified` says false (a boolean, or the string some providers send)."""
    return claim is False or (isinstance(claim, str) and claim.strip().lower() == "false")


def as_reviewer(reviewer: Reviewer | str | None) -> Reviewer:
    """A Reviewer from what a caller passed: a typed name is an unverified reviewer."""
    if isinstance(reviewer, Reviewer):
        return reviewer
    return Reviewer.typed(reviewer)
