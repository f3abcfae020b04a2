"""Signed action links on both backends: every refusal is one line and claims nothing; a valid link opens the
card's decision once, for its recipient, under the policy, and counts toward four eyes like any decision."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from review import PendingInterrupt, ReviewConsole, Settings
from review.identity import Reviewer
from review.leases import now_iso
from review.notify import ActionLinks, LinkRefused
from review.storage import NewDecision
from tests.conftest import THREE_SHAPES
from tests.notify.conftest import write_policy

POLICY = """
viewers = ["eve@example.org"]

[tools.create_square]
deciders = ["@ops"]

[tools.create_triangle]
decisions = ["reject"]

[tools.create_circle]
approvals = 2
"""
ANA = Reviewer("Ana", "ana@example.org", "signed-in", email="ana@example.org")
BOB = Reviewer("Bob", "bob@example.org", "signed-in", email="bob@example.org")
EVE = Reviewer("Eve", "eve@example.org", "signed-in", email="eve@example.org")


@pytest.fixture
def console(tmp_path: Path, store_url: str) -> Iterator[ReviewConsole]:
    settings = Settings(db=store_url, policy=write_policy(tmp_path, POLICY), secrets_file=str(tmp_path / "no.toml"))
    opened = ReviewConsole.open(settings=settings)
    opened.start_run(THREE_SHAPES).result(timeout=30)
    yield opened
    opened.close()


@pytest.fixture
def links(console: ReviewConsole) -> ActionLinks:
    return ActionLinks.open(console.storage, console.policy, console.settings)


def _row(console: ReviewConsole, tool: str) -> PendingInterrupt:
    return next(row for row in console.pending() if row.tool == tool)


def _token(links: ActionLinks, row: PendingInterrupt, decision: str = "reject", *, to: str = "ana@example.org") -> str:
    return links.mint(row, decision, (to,), time.time() + 600, nonce="n1").split("&action=", 1)[1]


def _claimed(console: ReviewConsole) -> int:
    return len(console.storage.query("SELECT attempt_id FROM review_decisions"))


def _refused(links: ActionLinks, token: str, row: PendingInterrupt | None, who: Reviewer, **kw: float) -> LinkRefused:
    with pytest.raises(LinkRefused) as refused:
        links.verify(token, row, who, **kw)
    assert "\n" not in str(refused.value) and str(refused.value)
    return refused.value


def test_every_refusal_is_one_line_and_claims_nothing(console: ReviewConsole, links: ActionLinks) -> None:
    circle, square, triangle = (_row(console, t) for t in ("create_circle", "create_square", "create_triangle"))
    token = _token(links, circle)
    payload, signature = token.split(".")
    flipped = payload[:-2] + ("A" if payload[-2] != "A" else "B") + payload[-1]
    other_key = ActionLinks(links.tables, b"another key", links.policy, links.public_url)
    refusals = {
        "tampered payload": _refused(links, f"{flipped}.{signature}", circle, ANA),
        "tampered signature": _refused(links, f"{payload}.{signature[::-1]}", circle, ANA),
        "not a token": _refused(links, "nonsense", circle, ANA),
        "another key": _refused(links, _token(other_key, circle), circle, ANA),
        "expired": _refused(links, token, circle, ANA, now=time.time() + 601),
        "not pending": _refused(links, token, None, ANA),
        "another row": _refused(links, token, triangle, ANA),
        "changed": _refused(links, token, replace(circle, args={**circle.args, "color": "black"}), ANA),
        "other identity": _refused(links, token, circle, BOB),
        "signed out": _refused(links, token, circle, Reviewer.anonymous()),
        "viewer": _refused(links, _token(links, circle, to="*"), circle, EVE),
        "not a decider": _refused(links, _token(links, square), square, ANA),
        "decision not allowed": _refused(links, _token(links, triangle, "approve"), triangle, ANA),
    }
    reasons = {name: refused.reason for name, refused in refusals.items()}
    assert reasons == {
        "tampered payload": "tampered",
        "tampered signature": "tampered",
        "not a token": "tampered",
        "another key": "tampered",
        "expired": "expired",
        "not pending": "not pending",
        "another row": "not pending",
        "changed": "changed",
        "other identity": "recipient",
        "signed out": "recipient",
        "viewer": "policy",
        "not a decider": "policy",
        "decision not allowed": "policy",
    }
    assert str(refusals["other identity"]) == "this link was sent to ana@example.org, not to bob@example.org"
    assert str(refusals["not a decider"]) == "ana@example.org may not decide this: create_square is decided by @ops"
    assert str(refusals["tampered payload"]) == (
        "this link is damaged or was altered: open the row from the console instead"
    )
    assert _claimed(console) == 0  # nothing was claimed by any of them

    grant = links.redeem(token, circle, ANA)
    assert (grant.row_id, grant.decision) == (circle.row_id, "reject")
    replayed = _refused(links, token, circle, ANA)
    assert replayed.reason == "replayed" and str(replayed).startswith("this link was already used (by ana@example.org")
    with pytest.raises(LinkRefused, match="already used"):
        links.redeem(token, circle, ANA)


def test_a_row_someone_decided_refuses_its_links(console: ReviewConsole, links: ActionLinks) -> None:
    triangle = _row(console, "create_triangle")
    token = _token(links, triangle)
    held = NewDecision(
        triangle.thread_id, triangle.row_id, triangle.interrupt_id, triangle.tool, triangle.tool_call_id,
        "reject", '{"type": "reject"}', None, None, "no", "Bob", identity="bob@example.org",
    )  # fmt: skip
    console.storage.claim([held], "b1", console.leases.owner, time.time() + 60, now_iso())
    refused = _refused(links, token, triangle, ANA)
    assert (refused.reason, str(refused)) == ("decided", f"row {triangle.row_id} was already decided (reject by Bob)")


def test_two_clicks_at_once_redeem_a_link_once(console: ReviewConsole, links: ActionLinks) -> None:
    triangle = _row(console, "create_triangle")
    token = _token(links, triangle)
    results: list[str] = []
    barrier = threading.Barrier(6)

    def click() -> None:
        barrier.wait()
        try:
            links.redeem(token, triangle, ANA)
            results.append("granted")
        except LinkRefused as refused:
            results.append(refused.reason)

    threads = [threading.Thread(target=click) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == ["granted", *["replayed"] * 5]


def test_a_link_counts_toward_four_eyes_and_the_resume_runs_once(console: ReviewConsole, links: ActionLinks) -> None:
    circle = _row(console, "create_circle")
    grant = links.redeem(_token(links, circle, "approve"), circle, ANA)
    first = console.submit([grant.request()], ANA)
    assert first.applied == [] and first.exit_code == 0  # one of two approvals: waiting for a co-signer
    second = console.submit([grant.request()], BOB)  # Bob, in the console
    assert second.applied == [(circle.thread_id, circle.row_id)]
    view = console.thread(circle.thread_id)
    assert [shape["shape_id"] for shape in view.canvas] == ["c1"]  # drawn once
    assert all(row.tool != "create_circle" for row in console.pending())
