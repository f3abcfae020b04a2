"""A bad row never blocks the good ones (issue 20 item 4), where only the core can see the row is bad.

The table checks each row on its own as the reviewer types; some rules are about the batch as a whole. langchain's
batched request (one interrupt, two actions) must be decided whole: deciding one of its actions is refused by
the core at submit, for the whole batch. The Inbox then sends the rest without it, and keeps it in the draft
with the core's reason.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from review import ReviewConsole
from tests.app.conftest import APP, alerts, editor_frame, run, set_edits, submit, threads_shown
from ui import inbox
from ui.console import close_consoles

AGENT = "tests.agents.langchain_batched:AGENT"


@pytest.fixture
def batched(app_db: Path, monkeypatch: pytest.MonkeyPatch) -> ReviewConsole:
    monkeypatch.setenv("REVIEW_AGENT", AGENT)
    close_consoles()
    console = ReviewConsole.open(app_db, agent=AGENT)
    yield console
    console.close()


def test_a_batched_request_decided_in_part_stays_drafted_and_the_whole_one_is_applied(
    batched: ReviewConsole,
) -> None:
    whole = batched.start_run("tidy up").result(timeout=30).thread_id
    part = batched.start_run("tidy up").result(timeout=30).thread_id
    at = run(AppTest.from_file(APP, default_timeout=30))
    at.session_state["reviewer"] = "kim"
    frame = editor_frame(at)
    threads = threads_shown(at)
    rows = list(zip(threads, frame["tool"], strict=True))
    edits = {
        rows.index((whole, "send_email")): {"decision": "approve"},
        rows.index((whole, "delete_file")): {"decision": "reject", "message": "keep it"},
        rows.index((part, "send_email")): {"decision": "approve"},  # its delete_file left undecided
    }
    set_edits(at, edits)
    run(at)
    assert not any(s.startswith("cannot be sent") for s in editor_frame(at)["status"])  # fine one by one
    submit(at)

    applied = {(e.thread_id, e.tool, e.decision, e.status) for e in batched.audit()}
    assert applied == {(whole, "send_email", "approve", "applied"), (whole, "delete_file", "reject", "applied")}
    assert batched.pending(whole) == []
    assert len(batched.pending(part)) == 2  # nothing of it was sent
    [banner] = [line for line in alerts(at, "warning") if line.startswith("Applied")]
    lines = banner.split("\n")
    assert lines[0] == "Applied 2 · conflicts 0 · refused 1 · new interrupts 0 (1 thread)"
    assert lines[1] == "1 row not sent, still in your draft: fix and submit again"
    assert lines[2].startswith("send_email(") and lines[2].endswith(
        "decide all 2 actions of this batched request together"
    )
    [row] = [r for r in batched.pending(part) if r.tool == "send_email"]
    assert at.session_state[inbox.STATE_DRAFT][inbox.row_key(row)]["decision"] == "approve"  # still drafted
