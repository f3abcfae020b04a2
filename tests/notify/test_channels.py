"""A console with the demo agent reaches reviewers on every channel: each new batch of pending rows gives ONE
message per route (webhook, Slack, one mail per recipient), signed, with links that open and decide the rows."""

from __future__ import annotations

import email
import email.policy
import json
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from review import ReviewConsole, Settings
from review.identity import Reviewer
from review.notify import NotifyService, verify_signature
from review.notify.channels import slack_blocks
from review.storage import Storage
from tests.conftest import CLEAR, THREE_SHAPES
from tests.notify.conftest import Mailbox, Receiver, wait_until, write_policy

KEY = "whsec-channels"
POLICY = """
[[notify]]
name = "hook"
channel = "webhook"
url_secret = "HOOK_URL"
signing_secret = "HOOK_KEY"

[[notify]]
name = "slack"
channel = "slack"
url_secret = "SLACK_URL"

[[notify]]
name = "mail"
channel = "email"
to = ["ana@example.org", "bob@example.org"]
"""


@pytest.fixture
def notified(
    tmp_path: Path, store_url: str, receiver: Receiver, smtp: Mailbox
) -> Iterator[tuple[ReviewConsole, NotifyService]]:
    settings = Settings(
        db=store_url,
        policy=write_policy(tmp_path, POLICY),
        public_url="https://review.example",
        smtp=smtp.url,
        notify_poll_seconds=0.05,
        secrets_file=str(tmp_path / "secrets.toml"),
    )
    (tmp_path / "secrets.toml").write_text(f'[notify]\nHOOK_KEY = "{KEY}"\n', encoding="utf-8")  # secrets.toml works
    console = ReviewConsole.open(settings=settings)
    env = {"HOOK_URL": receiver.url, "SLACK_URL": receiver.url.replace("/hook", "/slack")}
    service = NotifyService(console, env=env).start()
    yield console, service
    service.stop()
    console.close()


def _by_path(receiver: Receiver, path: str) -> list[dict[str, object]]:
    with receiver.lock:
        return [got.json() for got in receiver.got if got.path == path]


def test_each_new_batch_gives_one_message_per_route_with_signatures_and_links(
    notified: tuple[ReviewConsole, NotifyService], receiver: Receiver, smtp: Mailbox
) -> None:
    console, service = notified
    job = console.start_run(THREE_SHAPES)
    job.result(timeout=30)
    rows = console.pending()
    assert len(rows) == 3
    receiver.wait_for(2)
    wait_until(lambda: len(smtp.messages) == 2, what="two mails (one per recipient)")
    time.sleep(0.5)  # anything sent per row, or twice, would arrive now
    (hook,) = _by_path(receiver, "/hook")
    (slack,) = _by_path(receiver, "/slack")
    assert len(smtp.messages) == 2 and len(receiver.got) == 2

    got = next(r for r in receiver.got if r.path == "/hook")
    assert verify_signature(KEY.encode(), got.headers["X-Review-Signature"], got.body)
    assert hook["thread_id"] == job.thread_id and len(hook["rows"]) == 3  # type: ignore[arg-type]
    listed = {(row.row_id, row.interrupt_id, row.tool) for row in rows}
    assert {(r["row_id"], r["interrupt_id"], r["tool"]) for r in hook["rows"]} == listed  # type: ignore[index, union-attr]
    assert hook["summary"] == (
        f"3 tool calls wait for a decision in thread {job.thread_id}: create_circle, create_square, create_triangle"
    )

    assert slack["text"] == hook["summary"]
    buttons = [e for block in slack["blocks"] if block["type"] == "actions" for e in block["elements"]]  # type: ignore[index, union-attr, attr-defined]
    assert [b["text"]["text"] for b in buttons[:3]] == ["Open", "Approve…", "Reject…"]
    assert buttons[0]["url"].startswith("https://review.example/?row=")

    senders = {to[0]: email.message_from_bytes(raw, policy=email.policy.default) for _, to, raw in smtp.messages}
    assert set(senders) == {"ana@example.org", "bob@example.org"}
    mail = senders["ana@example.org"]
    (by_mail,) = [n for n in service.outbox.notifications(thread_id=job.thread_id) if n.route == "mail"]
    assert {m["X-Review-Delivery"] for m in senders.values()} == {by_mail.notification_id}  # one message, two mails
    assert mail["Message-ID"] != senders["bob@example.org"]["Message-ID"]
    text = mail.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    html = mail.get_body(("html",)).get_content()  # type: ignore[union-attr]
    assert "create_square" in text and "<pre>" in html and "Approve…" in html

    # The mail's link, made for ana, decides the row for ana (after she confirms on the card).
    circle = next(row for row in rows if row.tool == "create_circle")
    link = next(line for line in text.splitlines() if line.startswith("Approve…") and circle.row_id in line)
    token = link.split("&action=", 1)[1]
    ana = Reviewer("ana", "ana@example.org", "signed-in", email="ana@example.org")
    grant = service.links.verify(token, circle, ana)
    assert grant.request() == {"thread_id": job.thread_id, "row_id": circle.row_id, "decision": {"type": "approve"}}
    grant = service.links.redeem(token, circle, ana)
    result = console.submit([grant.request()], ana)
    assert result.applied == [(job.thread_id, circle.row_id)]

    # The resume raised no new rows (the other two still wait): the routes get a "decided by" follow-up, and a
    # new run's batch one message each again.
    wait_until(lambda: len(_by_path(receiver, "/hook")) == 2, what="the follow-up")
    follow_up = _by_path(receiver, "/hook")[1]
    assert follow_up["type"] == "review.decided" and follow_up["summary"] == (
        f"Decided in thread {job.thread_id}: create_circle approved by ana"
    )
    second = console.start_run(CLEAR)
    second.result(timeout=30)
    wait_until(lambda: len(_by_path(receiver, "/hook")) == 3, what="the second batch's webhook")
    wait_until(lambda: len(smtp.messages) == 6, what="the follow-up's and the second batch's mails")
    time.sleep(0.5)
    hooks = _by_path(receiver, "/hook")
    assert [(h["type"], h["thread_id"]) for h in hooks] == [
        ("review.pending", job.thread_id),
        ("review.decided", job.thread_id),
        ("review.pending", second.thread_id),
    ]
    assert len(_by_path(receiver, "/slack")) == 3 and len(smtp.messages) == 6
    assert service.health() == []
    log = service.outbox.deliveries()
    assert len(log) == 9 and {e.outcome for e in log} == {"sent"}


def test_slack_text_from_an_agent_cannot_mention_or_link() -> None:
    data = {
        "summary": "1 tool call waits <!channel>",
        "delivery_id": "d1",
        "thread_id": "t<1>",
        "expires_at": "2026-12-06T00:00:00Z",
        "links": {"thread": "https://review.example/?thread=t%3C1%3E"},
        "rows": [
            {
                "row_id": "r1",
                "tool": "send",
                "description": "<https://evil.example|click> & <@U123>",
                "arguments": {"to": "<!here>"},
                "deadline": None,
                "links": {"row": "https://review.example/?row=r1"},
            }
        ],
    }
    text = json.dumps(slack_blocks(data)["blocks"])
    assert "<!channel>" not in text and "<!here>" not in text and "<https://evil" not in text and "<@U123>" not in text


def test_a_mailbox_the_server_refuses_is_a_dead_letter_and_a_missing_server_is_retried(
    tmp_path: Path, store: Storage, smtp: Mailbox
) -> None:
    from review.notify import DeliveryWorker, Outbox
    from review.policy import load_policy
    from tests.notify.conftest import make_row

    policy = write_policy(tmp_path, '[[notify]]\nname = "mail"\nchannel = "email"\nto = ["gone@example.org"]\n')
    settings = Settings(
        db="unused", policy=policy, smtp=smtp.url, secrets_file=str(tmp_path / "none.toml"), notify_settle_seconds=1e-6
    )
    outbox = Outbox(store, load_policy(policy), settings)
    outbox.observe([make_row("t1", "a")])
    smtp.refuse.add("gone@example.org")
    worker = DeliveryWorker(outbox.tables, outbox.policy, settings, links=None, env={})
    assert worker.run_once() == 0
    (dead,) = outbox.dead_letters()
    assert dead.last_error == "the mail server refused the recipients ['gone@example.org']" and dead.attempts == 1
    offline = replace(settings, smtp="smtp://127.0.0.1:9")  # nobody listens: worth retrying
    outbox.retry(dead.notification_id)
    DeliveryWorker(outbox.tables, outbox.policy, offline, links=None, env={}).run_once()
    (queued,) = outbox.notifications(status="queued")
    assert queued.last_error is not None and queued.last_error.startswith("could not send mail:")
