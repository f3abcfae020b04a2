"""A notification's action link in Chromium (issue 21): a valid link opened in the browser completes a four-eyes
approval that a reviewer began in the console; the tool runs once, and the audit says which decision came by link.

The server runs with the policy `[tools.create_circle] approvals = 2`; ann approves in the console (the row's card
in the Inbox, then Submit), then pam opens the link minted for her, confirms on the card, and the resume runs once.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from playwright.sync_api import expect

from review import ReviewConsole, Settings
from tests.e2e.conftest import ARTIFACTS, VIEWPORT, Server, serve
from tests.e2e.helpers import TIMEOUT_MS, App, start_thread
from tests.e2e.test_flows import expect_banner, summary

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
FOUR_EYES = "[tools.create_circle]\napprovals = 2\n"


@pytest.fixture
def four_eyes_server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Server]:
    policy = tmp_path / "review-policy.toml"
    policy.write_text(FOUR_EYES, encoding="utf-8")
    monkeypatch.setenv("REVIEW_POLICY", str(policy))  # the server's environment is this process's
    ARTIFACTS.mkdir(exist_ok=True)
    with serve(tmp_path, ARTIFACTS / "server-action-link.log") as running:
        yield running


def _until(check: Callable[[], bool], timeout: float = 30.0) -> None:
    """Poll the store (another process writes it) until `check()` holds."""
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "timed out waiting for the store"
        time.sleep(0.05)


def test_a_link_opened_in_chromium_completes_a_four_eyes_approval_and_the_tool_runs_once(
    browser: object, four_eyes_server: Server
) -> None:
    server = four_eyes_server
    thread_id, [row] = start_thread(server.db, "Draw a red circle c8")
    console = ReviewConsole.open(settings=Settings.from_env(db=str(server.db)))  # a second process on the store
    try:
        [pending] = console.pending(thread_id)
        url = console.action_links().mint(pending, "approve", ("pam",), time.time() + 600, nonce="e2e")
        token = parse_qs(urlsplit(url).query)["action"][0]
        contexts = [browser.new_context(viewport=VIEWPORT) for _ in range(2)]  # type: ignore[attr-defined]
        try:
            ann, pam = (App(context.new_page(), server.url) for context in contexts)
            ann.open(f"?row={row['row_id']}&reviewer=ann")  # ann, in the console: the row's card, Approve, Submit
            ann.click("Approve")
            ann.click("Submit decisions")
            _until(lambda: [(e.reviewer, e.status) for e in console.audit(thread_id=thread_id)] == [("ann", "cosign")])
            assert [r.row_id for r in console.pending(thread_id)] == [row["row_id"]]  # one of two approvals

            pam.open(f"?row={row['row_id']}&action={token}&reviewer=pam")  # pam, from her notification
            expect(pam.page.get_by_text("Nothing is sent until you confirm").first).to_be_visible(timeout=TIMEOUT_MS)
            assert len(console.audit(thread_id=thread_id)) == 1  # opening the link decided nothing
            pam.click("Confirm: Approve")
            expect_banner(pam, summary(applied=1, conflicts=0, new=0))
            pam.screenshot(ARTIFACTS / "action-link-four-eyes.png")
        finally:
            for context in contexts:
                context.close()

        assert console.pending(thread_id) == []
        attempts = console.audit(thread_id=thread_id)
        [applied] = [e for e in attempts if e.status == "applied"]
        assert (applied.reviewer, applied.channel) == ("pam", "link")
        assert applied.co_signers is not None and "ann" in applied.co_signers
        assert {e.reviewer: e.channel for e in attempts} == {"ann": "console", "pam": "link"}
        assert [s["shape_id"] for s in console.thread(thread_id).values["canvas"]] == ["c8"]
    finally:
        console.close()
    drawn = [json.loads(line) for line in server.effects()]
    assert [(e["kind"], e["shape_id"]) for e in drawn] == [("circle", "c8")]  # the resume ran once
