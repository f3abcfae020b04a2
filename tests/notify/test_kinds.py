"""Beyond new rows (both backends): a reminder a route's `remind_before` a deadline, a message to `escalate_to`
when a deadline escalates, and a "decided by ..." follow-up once a notified row was applied; each once."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

from review import ReviewConsole, Settings
from review.notify import DeliveryWorker, Outbox
from review.policy import load_policy
from review.storage import Storage
from tests.conftest import THREE_SHAPES
from tests.helpers import APPROVE, batch
from tests.notify.conftest import Receiver, make_row, write_policy

POLICY = """
[[deadline]]
tool = "create_circle"
after = "10m"
escalate_to = "@leads"

[[deadline]]
tool = "create_square"
after = "10m"
reject = "too late"

[[notify]]
name = "hook"
channel = "webhook"
url_secret = "HOOK_URL"
signing_secret = "HOOK_KEY"
remind_before = "5m"
"""


def _at(minute: int) -> float:
    return datetime(2026, 12, 5, 10, minute, tzinfo=UTC).timestamp()


def test_a_reminder_before_the_deadline_and_a_message_to_whom_it_escalates(
    tmp_path: Path, store: Storage, receiver: Receiver
) -> None:
    settings = Settings(db="unused", policy=write_policy(tmp_path, POLICY), public_url="https://r.example")
    outbox = Outbox(store, load_policy(settings.policy), settings)
    rows = [make_row("t1", "c", tool="create_circle"), make_row("t1", "s", tool="create_square", size=1)]
    seen = [[(e.kind, e.row_ids) for e in outbox.observe(rows, now=_at(m))] for m in (1, 2, 6, 7, 11, 12)]
    assert seen == [
        [("pending", ("c", "s"))],
        [],
        [("reminder", ("c", "s"))],  # 5 minutes before both deadlines
        [],
        [("escalated", ("c",))],  # the square's deadline rejects it (a rule's decision): no message for it
        [],
    ]
    assert Outbox(store, outbox.policy, settings).observe(rows, now=_at(12)) == []  # another process: nothing
    escalated = next(n for n in outbox.notifications() if n.kind == "escalated")
    assert escalated.recipients == ("@leads",)
    worker = DeliveryWorker(
        outbox.tables, outbox.policy, settings, links=None, env={"HOOK_URL": receiver.url, "HOOK_KEY": "k"}
    )
    while worker.run_once(now=_at(12)):
        pass
    summaries = {got.json()["type"]: got.json()["summary"] for got in receiver.wait_for(3)}
    assert summaries == {
        "review.pending": "2 tool calls wait for a decision in thread t1: create_circle, create_square",
        "review.reminder": (
            "Reminder: 2 tool calls still wait for a decision in thread t1: create_circle, create_square"
        ),
        "review.escalated": "Escalated to @leads: 1 tool call waits for a decision in thread t1: create_circle",
    }


def test_a_follow_up_says_who_decided_a_notified_row(tmp_path: Path, store_url: str, receiver: Receiver) -> None:
    policy = write_policy(tmp_path, POLICY.split("[[notify]]")[0] + '[[notify]]\nname = "hook"\nchannel = "webhook"'
                          '\nurl_secret = "HOOK_URL"\nsigning_secret = "HOOK_KEY"\n')  # fmt: skip
    console = ReviewConsole.open(settings=Settings(db=store_url, policy=policy))
    try:
        settings = replace(console.settings, public_url="https://r.example", notify_settle_seconds=1e-6)
        outbox = Outbox(console.storage, console.policy, settings)
        job = console.start_run(THREE_SHAPES)
        job.result(timeout=30)
        assert [e.kind for e in outbox.observe(console.pending())] == ["pending"]
        rows = console.pending()
        result = console.submit(batch(rows, {"create_circle": APPROVE, "create_square": APPROVE}), "alice")
        assert len(result.applied) == 2
        restarted = Outbox(console.storage, console.policy, settings)  # a process that never saw the rows listed
        (decided,) = restarted.observe(console.pending())
        assert decided.kind == "decided" and len(decided.row_ids) == 2
        assert outbox.observe(console.pending()) == []  # once, whichever process looks
        assert Outbox(console.storage, console.policy, settings).observe(console.pending()) == []
        worker = DeliveryWorker(
            outbox.tables, outbox.policy, settings, links=None, env={"HOOK_URL": receiver.url, "HOOK_KEY": "k"}
        )
        while worker.run_once():
            pass
        follow_up = next(got.json() for got in receiver.wait_for(2) if got.json()["type"] == "review.decided")
        assert follow_up["summary"] == (
            f"Decided in thread {job.thread_id}: create_circle approved by alice; create_square approved by alice"
        )
        assert [row["decided"]["by"] for row in follow_up["rows"]] == ["alice", "alice"]
        assert all(set(row["links"]) == {"row"} for row in follow_up["rows"])  # nothing left to act on
    finally:
        console.close()
