"""Delivery survives its sender's death, and replicas never send one notification twice (both backends).

Real worker processes (`python -m review.notify`) are killed with SIGKILL at the worst moments: while the
receiver holds their request (it has the message, the sender never hears back), the instant the receiver
answered (before or after the sender recorded it), and the instant the store shows the message taken (before
or while it is sent). A new worker then takes over. Counted at the receiver: 0 lost, and by delivery id 0
twice: a repeat carries the same delivery id and the same bytes, so a receiver that drops repeated ids (as
the envelope asks) acts once per notification.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from dataclasses import replace
from pathlib import Path

import pytest

from review import Settings
from review.notify import Outbox
from review.policy import load_policy
from review.storage import Storage
from tests.notify.conftest import Receiver, make_row, wait_until, write_policy

ROOT = Path(__file__).resolve().parents[2]
POLICY = '[[notify]]\nname = "hook"\nchannel = "webhook"\nurl_secret = "HOOK_URL"\nsigning_secret = "HOOK_KEY"\n'
TRIALS = 20
WORKER = (sys.executable, "-m", "review.notify")
FAST = ("--notify-poll-seconds", "0.02", "--notify-backoff-seconds", "0.05")
MOMENTS = ("receiver holds the request", "receiver answered", "store shows it taken")

pytestmark = pytest.mark.slow


def _start_worker(db: str, policy: str, receiver: Receiver) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "HOOK_URL": receiver.url, "HOOK_KEY": "k"}
    return subprocess.Popen(
        [*WORKER, "--db", db, "--policy", policy, "--lease-seconds", "30", *FAST],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def _status(outbox: Outbox, notification_id: str) -> str:
    return next(n.status for n in outbox.notifications(limit=1000) if n.notification_id == notification_id)


def _outbox(tmp_path: Path, store: Storage) -> tuple[Outbox, str]:
    policy = write_policy(tmp_path, POLICY)
    settings = replace(Settings(db="unused", policy=policy), notify_attempts=50)
    return Outbox(store, load_policy(policy), settings), policy


def test_killing_the_sender_at_the_worst_moment_loses_nothing_and_sends_nothing_twice_by_id(
    tmp_path: Path, store: Storage, store_url: str, receiver: Receiver
) -> None:
    outbox, policy = _outbox(tmp_path, store)
    worker = _start_worker(store_url, policy, receiver)
    notes: list[str] = []
    moments: Counter[str] = Counter()
    try:
        for trial in range(TRIALS):
            moment = MOMENTS[trial % len(MOMENTS)]
            receiver.arrived.clear()
            receiver.hold = threading.Event() if moment == MOMENTS[0] else None
            (found,) = outbox.observe([make_row(f"crash-{trial}", "a")])
            note = found.notification_id
            notes.append(note)
            if moment == MOMENTS[2]:
                wait_until(lambda note=note: _status(outbox, note) != "queued", what="the take")
            else:
                assert receiver.arrived.wait(20), "the worker never sent"
            worker.send_signal(signal.SIGKILL)
            worker.wait(10)
            moments[moment] += 1
            if receiver.hold is not None:
                receiver.hold.set()  # the held request now answers a dead connection
                receiver.hold = None
            worker = _start_worker(store_url, policy, receiver)  # takes over at once: the owner's pid is gone
            wait_until(lambda note=note: _status(outbox, note) == "sent", what=f"trial {trial} sent")
    finally:
        worker.send_signal(signal.SIGKILL)
        worker.wait(10)
    ids = receiver.delivery_ids()
    bodies: dict[str, set[bytes]] = {}
    for got in receiver.got:
        bodies.setdefault(got.headers["X-Review-Delivery"], set()).add(got.body)
    assert set(ids) == set(notes)  # 0 lost: every notification reached the receiver, nothing else did
    assert all(len(versions) == 1 for versions in bodies.values())  # a repeat is the same message, byte for byte
    assert all(_status(outbox, note) == "sent" for note in notes)
    repeats = len(ids) - len(set(ids))
    log = outbox.deliveries(limit=1000)
    interrupted = {e.notification_id for e in log if e.outcome == "interrupted"}
    # A kill while the receiver held the request, or once the store showed the take, always cut a try short; a
    # kill right after the receiver answered may land before the sender recorded it, or after.
    assert len(interrupted) >= moments[MOMENTS[0]] + moments[MOMENTS[2]]
    assert Counter(e.outcome for e in log) == {"sent": TRIALS, "interrupted": len(interrupted)}
    print(
        f"\n{TRIALS} kills {dict(moments)}: 0 lost, {len(set(ids))} delivery ids for {TRIALS} notifications, "
        f"{len(interrupted)} tries cut short and taken over, {repeats} repeats at the receiver (same id and bytes)"
    )


def test_two_workers_on_one_store_send_each_notification_once(
    tmp_path: Path, store: Storage, store_url: str, receiver: Receiver
) -> None:
    outbox, policy = _outbox(tmp_path, store)
    receiver.delay = 0.01
    workers = [_start_worker(store_url, policy, receiver) for _ in range(2)]
    try:
        count = 60
        for n in range(count):
            outbox.observe([make_row(f"replica-{n}", "a"), make_row(f"replica-{n}", "b")])
        wait_until(lambda: len(outbox.notifications(status="sent", limit=1000)) == count, 60, "every notification sent")
        time.sleep(0.3)  # anything sent twice would arrive now
    finally:
        for worker in workers:
            worker.send_signal(signal.SIGKILL)
            worker.wait(10)
    ids = receiver.delivery_ids()
    assert len(ids) == len(set(ids)) == count
    log = outbox.deliveries(limit=1000)
    assert Counter(e.outcome for e in log) == {"sent": count}
    print(f"\nsent by each worker: {sorted(Counter(e.owner for e in log).values())}")


def test_the_command_records_and_delivers_in_one_pass(tmp_path: Path, receiver: Receiver) -> None:
    """`python -m review.notify --observe --once`: a process of its own lists, records and sends."""
    import json

    db = str(tmp_path / "review.sqlite")
    policy = write_policy(tmp_path, POLICY)
    from review import ReviewConsole
    from tests.conftest import THREE_SHAPES

    console = ReviewConsole.open(db)
    console.start_run(THREE_SHAPES).result(timeout=30)
    console.close()
    env = {**os.environ, "PYTHONPATH": str(ROOT), "HOOK_URL": receiver.url, "HOOK_KEY": "k"}
    run = [*WORKER, "--db", db, "--policy", policy, "--observe", "--once"]
    done = subprocess.run(run, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert json.loads(done.stdout.strip().splitlines()[-1]) == {"delivered": 1}, done.stderr
    (got,) = receiver.wait_for(1)
    assert len(got.json()["rows"]) == 3
    again = subprocess.run(run, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert json.loads(again.stdout.strip().splitlines()[-1]) == {"delivered": 0}  # recorded once, sent once
    bad = subprocess.run([*WORKER, "--db", str(tmp_path / "none.sqlite"), "--once"], cwd=ROOT, env=env,
                         capture_output=True, text=True, timeout=60)  # fmt: skip
    assert bad.returncode == 2 and json.loads(bad.stdout)["error"].startswith("no review database at")
