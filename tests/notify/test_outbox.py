"""The outbox on both backends: one notification per thread batch and route, never twice, from any number of
observers; delivery with a signed envelope, retries with backoff, dead letters and the delivery log."""

from __future__ import annotations

import hashlib
import hmac
import itertools
import time
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

from review import Settings
from review.notify import ActionLinks, DeliveryWorker, Outbox, verify_signature
from review.policy import load_policy
from review.storage import Storage
from review.storage.outbox import OutboxTables
from tests.notify.conftest import Receiver, make_row, write_policy

KEY = "whsec-test-key"
ROUTES = """
[[notify]]
name = "hook"
channel = "webhook"
url_secret = "HOOK_URL"
signing_secret = "HOOK_KEY"

[[notify]]
name = "squares"
channel = "webhook"
tool = "create_square"
args = { size = { min = 10 } }
url_secret = "HOOK_URL"
signing_secret = "HOOK_KEY"
"""


def _setup(tmp_path: Path, store: Storage, text: str = ROUTES, **given: object) -> tuple[Outbox, Settings]:
    settings = Settings(db="unused", policy=write_policy(tmp_path, text), public_url="https://review.example")
    given.setdefault("notify_settle_seconds", 1e-6)  # due at once (a test of the settle window gives its own)
    settings = replace(settings, notify_backoff_seconds=0.05, **given)  # type: ignore[arg-type]
    return Outbox(store, load_policy(settings.policy), settings), settings


def _worker(outbox: Outbox, settings: Settings, receiver: Receiver, **env: str) -> DeliveryWorker:
    links = ActionLinks.open(outbox.tables.store, outbox.policy, settings, tables=outbox.tables)
    secrets = {"HOOK_URL": receiver.url, "HOOK_KEY": KEY, **env}
    return DeliveryWorker(outbox.tables, outbox.policy, settings, links=links, env=secrets)


def test_one_notification_per_thread_batch_and_route_never_twice(tmp_path: Path, store: Storage) -> None:
    outbox, _ = _setup(tmp_path, store)
    rows = [make_row("t1", "a"), make_row("t1", "b"), make_row("t2", "c", tool="create_square", size=12)]
    first = outbox.observe(rows)
    assert sorted((e.thread_id, e.route, e.row_ids) for e in first) == [
        ("t1", "hook", ("a", "b")),
        ("t2", "hook", ("c",)),
        ("t2", "squares", ("c",)),  # the args matcher of auto_approve: size >= 10
    ]
    assert outbox.observe(rows) == []  # the same listing again: nothing new
    again = Outbox(store, outbox.policy, outbox.settings)  # another process (a replica, a restart)
    assert again.observe(rows) == []
    later = again.observe([*rows, make_row("t1", "d"), make_row("t2", "e", tool="create_square", size=3)])
    assert sorted((e.thread_id, e.route, e.row_ids) for e in later) == [("t1", "hook", ("d",)), ("t2", "hook", ("e",))]
    assert len(outbox.notifications()) == 5


def test_racing_observers_notify_each_row_once(tmp_path: Path, store: Storage) -> None:
    """Eight observers (separate outboxes: no shared memory) record overlapping listings at once."""
    import threading

    outbox, settings = _setup(tmp_path, store)
    listing = [make_row(f"t{n}", f"r{n}-{k}") for n in range(10) for k in range(3)]
    barrier = threading.Barrier(8)

    def observe(seed: int) -> None:
        mine = Outbox(store, outbox.policy, settings)
        barrier.wait()
        mine.observe(listing[seed:] + listing[:seed])

    threads = [threading.Thread(target=observe, args=(n * 3,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    notes = outbox.notifications()
    carried = sorted(row["row_id"] for note in notes for row in outbox.rows_of(note.notification_id))
    assert carried == sorted(row.row_id for row in listing)  # each row in exactly one notification
    assert len({note.thread_id for note in notes}) == len(notes) == 10  # one per thread batch


def test_a_digest_window_gathers_a_threads_next_rows_into_one_message(tmp_path: Path, store: Storage) -> None:
    text = ROUTES.replace('signing_secret = "HOOK_KEY"\n', 'signing_secret = "HOOK_KEY"\ndigest = "30s"\n', 1)
    outbox, _ = _setup(tmp_path, store, text)
    now = time.time()
    first = outbox.observe([make_row("t1", "a")], now=now)
    second = outbox.observe([make_row("t1", "a"), make_row("t1", "b")], now=now + 5)
    assert first[0].notification_id == second[0].notification_id
    assert [row["row_id"] for row in outbox.rows_of(first[0].notification_id)] == ["a", "b"]
    assert outbox.notifications()[0].due_at == now + 30
    late = outbox.observe([make_row("t1", "c")], now=now + 31)  # the window closed: a message of its own
    assert late[0].notification_id != first[0].notification_id


def test_quiet_hours_hold_a_message_until_they_end(tmp_path: Path, store: Storage) -> None:
    text = ROUTES.split("[[notify]]")[1]
    outbox, _ = _setup(tmp_path, store, "[[notify]]" + text + 'quiet_hours = "22:00-07:00"\n')
    night = datetime(2026, 12, 5, 23, 30, tzinfo=UTC).timestamp()
    outbox.observe([make_row("t1", "a")], now=night)
    assert outbox.notifications()[0].due_at == datetime(2026, 12, 6, 7, 0, tzinfo=UTC).timestamp()


def test_rows_a_rule_decides_are_not_notified(tmp_path: Path, store: Storage) -> None:
    text = ROUTES + '\n[[auto_approve]]\nname = "reds"\ntool = "create_circle"\nargs = { color = "red" }\n'
    outbox, _ = _setup(tmp_path, store, text)
    found = outbox.observe([make_row("t1", "a", color="red"), make_row("t1", "b", color="blue")])
    assert [e.row_ids for e in found] == [("b",)]


def test_delivered_once_with_a_valid_signature_and_working_links(
    tmp_path: Path, store: Storage, receiver: Receiver
) -> None:
    outbox, settings = _setup(tmp_path, store)
    outbox.observe([make_row("t1", "a#1"), make_row("t1", "b")])
    worker = _worker(outbox, settings, receiver)
    assert worker.run_once() == 1
    assert worker.run_once() == 0  # sent: not again
    (got,) = receiver.wait_for(1)
    assert verify_signature(KEY.encode(), got.headers["X-Review-Signature"], got.body)
    stamp, v1 = (part.split("=", 1)[1] for part in got.headers["X-Review-Signature"].split(","))
    assert v1 == hmac.new(KEY.encode(), f"{stamp}.".encode() + got.body, hashlib.sha256).hexdigest()
    assert not verify_signature(b"another key", got.headers["X-Review-Signature"], got.body)
    data = got.json()
    note = outbox.notifications()[0]
    assert data["delivery_id"] == got.headers["X-Review-Delivery"] == note.notification_id
    assert (data["type"], data["version"], data["thread_id"], data["route"]) == ("review.pending", 1, "t1", "hook")
    assert data["links"]["thread"] == "https://review.example/?thread=t1"
    first = data["rows"][0]
    assert first["links"]["row"] == "https://review.example/?row=a%231"  # a batched row's '#' escaped
    assert first["arguments"] == {"name": "a#1", "color": "red"} and first["tool"] == "create_circle"
    assert first["allowed_decisions"] == ["approve", "edit", "reject"] and first["interrupt_id"] == "a"
    assert first["links"]["approve"].startswith("https://review.example/?row=a%231&action=")
    links = ActionLinks.open(store, outbox.policy, settings, tables=outbox.tables)
    token = first["links"]["approve"].split("&action=", 1)[1]
    from review.identity import Reviewer

    grant = links.verify(token, make_row("t1", "a#1"), Reviewer.typed("ana"))
    assert (grant.row_id, grant.decision) == ("a#1", "approve")
    (entry,) = outbox.deliveries(note.notification_id)
    assert (entry.attempt, entry.outcome, entry.owner) == (1, "sent", worker.owner)


def test_failures_are_retried_with_backoff_then_dead_lettered(
    tmp_path: Path, store: Storage, receiver: Receiver
) -> None:
    outbox, settings = _setup(tmp_path, store, notify_attempts=3)
    outbox.observe([make_row("t1", "a"), make_row("t2", "b")])
    receiver.statuses = [500, 503, 500, 500]  # t1 (or t2) fails twice then is sent; the other fails...
    worker = _worker(outbox, settings, receiver)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and any(n.status in ("queued", "sending") for n in outbox.notifications()):
        worker.run_once()
        time.sleep(0.02)
    by_status = sorted(n.status for n in outbox.notifications())
    log = outbox.deliveries()
    assert len(receiver.got) == len(log)  # every try is in the log
    assert by_status in (["dead", "sent"], ["sent", "sent"])
    outcomes = sorted(entry.outcome or "" for entry in log)
    assert outcomes.count("failed") + outcomes.count("dead") == 4
    for note in outbox.notifications():
        tries = sorted(outbox.deliveries(note.notification_id), key=lambda e: e.attempt)
        gaps = [b.started_at - a.ended_at for a, b in itertools.pairwise(tries) if a.ended_at]
        assert all(gap >= 0.05 * 2**n * 0.9 for n, gap in enumerate(gaps))  # 0.05 s, then 0.1 s: doubling
    if "dead" in by_status:
        (dead,) = outbox.dead_letters()
        assert dead.last_error == "the receiver answered HTTP 500" and dead.attempts == 3
        assert outbox.retry(dead.notification_id)
        assert worker.run_once() == 1 and outbox.dead_letters() == []


def test_a_refusal_that_retrying_cannot_fix_is_a_dead_letter_at_once(
    tmp_path: Path, store: Storage, receiver: Receiver
) -> None:
    outbox, settings = _setup(tmp_path, store)
    outbox.observe([make_row("t1", "a")])
    receiver.statuses = [410]
    worker = _worker(outbox, settings, receiver)
    assert worker.run_once() == 0
    (dead,) = outbox.dead_letters()
    assert dead.last_error == "the receiver answered HTTP 410" and dead.attempts == 1


def test_a_missing_secret_is_named_and_never_shown(tmp_path: Path, store: Storage, receiver: Receiver) -> None:
    outbox, settings = _setup(tmp_path, store, notify_attempts=1)
    settings = replace(settings, secrets_file=str(tmp_path / "none.toml"))
    outbox.observe([make_row("t1", "a")])
    worker = DeliveryWorker(outbox.tables, outbox.policy, settings, links=None, env={"HOOK_KEY": KEY})
    worker.run_once()
    (dead,) = outbox.dead_letters()
    assert dead.last_error == f"the secret HOOK_URL is not set (environment or {tmp_path / 'none.toml'})"
    hidden = "http://127.0.0.1:9/secret-token-xyz"
    tables = OutboxTables(store)
    outbox.retry(dead.notification_id)
    worker = DeliveryWorker(tables, outbox.policy, settings, links=None, env={"HOOK_KEY": KEY, "HOOK_URL": hidden})
    worker.run_once()
    (dead,) = outbox.dead_letters()
    assert dead.last_error is not None and dead.last_error.startswith("could not reach the receiver")
    assert "secret-token-xyz" not in dead.last_error
    from review.settings import secret

    found = secret("HOOK_URL", settings, {"HOOK_URL": hidden})
    assert found is not None and found.reveal() == hidden
    assert "secret-token-xyz" not in f"{found} {found!r} {[found]}"


def test_messages_another_replica_is_sending_never_crowd_out_the_due_ones(
    tmp_path: Path, store: Storage, receiver: Receiver
) -> None:
    outbox, settings = _setup(tmp_path, store)
    outbox.observe([make_row(f"busy{n}", "a") for n in range(30)])
    now = time.time()
    for found in outbox.tables.due(now, 100, "this-host"):  # a live replica elsewhere holds all 30
        assert outbox.tables.take(found, "other-host:1:abc", now, now + 60) == 1
    outbox.observe([make_row("waiting", "a")])
    worker = _worker(outbox, settings, receiver)
    assert worker.run_once() == 1  # the batch is 20: in-flight messages must not fill it
    assert [got.json()["thread_id"] for got in receiver.wait_for(1)] == ["waiting"]
    assert len(outbox.notifications(status="sending", limit=100)) == 30  # theirs, left alone


def test_rows_joining_a_digest_while_it_is_sent_are_each_delivered_once(
    tmp_path: Path, store: Storage, receiver: Receiver
) -> None:
    """A thread raising a row every few ms while a worker sends: a row joins the open digest or starts the next
    one, never one already taken (that one is locked while taken), so every row reaches the receiver once."""
    import threading

    text = ROUTES.split("[[notify]]")[1]
    outbox, settings = _setup(tmp_path, store, "[[notify]]" + text + 'digest = "0.05s"\n')
    worker = _worker(outbox, settings, receiver)
    stop = threading.Event()

    def send() -> None:
        while not stop.is_set():
            worker.run_once()
            time.sleep(0.005)

    sender = threading.Thread(target=send)
    sender.start()
    listing = []
    try:
        for n in range(150):
            listing.append(make_row("busy", f"r{n:03}"))
            Outbox(store, outbox.policy, settings).observe(list(listing))  # each look from a "new process"
            time.sleep(0.003)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and any(n.status != "sent" for n in outbox.notifications(limit=500)):
            time.sleep(0.05)
    finally:
        stop.set()
        sender.join()
    delivered = [row["row_id"] for got in receiver.got for row in got.json()["rows"]]
    assert sorted(delivered) == [row.row_id for row in listing]  # each row once, none lost
    assert 1 < len(receiver.got) < 150  # digests: several rows per message


def test_a_batch_is_whole_before_its_message_goes(tmp_path: Path, store: Storage) -> None:
    """Parallel tasks write their interrupts one by one: a thread whose run holds its lease is not notified yet,
    and rows written without a lease (another process's agent) wait the settle window for the rest."""
    outbox, _ = _setup(tmp_path, store, notify_settle_seconds=0.2)
    assert outbox.observe([make_row("t1", "a")], busy={"t1"}) == [] and outbox.held
    (whole,) = outbox.observe([make_row("t1", "a"), make_row("t1", "b")], now=100.0)
    assert whole.row_ids == ("a", "b") and not outbox.held
    assert whole.due_at == 100.0  # seen whole (its run ended): no settle window
    now = time.time()
    (first,) = outbox.observe([make_row("t2", "c")], now=now)
    (joined,) = outbox.observe([make_row("t2", "c"), make_row("t2", "d")], now=now + 0.1)
    assert joined.notification_id == first.notification_id and first.due_at == now + 0.2
    assert [row["row_id"] for row in outbox.rows_of(first.notification_id)] == ["c", "d"]
