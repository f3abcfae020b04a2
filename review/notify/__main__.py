"""`python -m review.notify`: deliver a store's notifications from a process of its own.

Takes the console's flags (`--db`, `--policy`, ...). By default it only delivers what consoles recorded (no
graph is loaded); `--observe` also opens a console and records new rows itself; `--once` makes one pass and
prints how many were delivered, as JSON.
"""

from __future__ import annotations

import argparse
import json
import sys
import time

from review.notify.links import ActionLinks
from review.notify.worker import DeliveryWorker, start_notifications
from review.policy import PolicyError, load_policy
from review.settings import add_arguments, from_arguments
from review.storage import StoreError, open_storage
from review.storage.outbox import OutboxTables


def main(argv: list[str] | None = None) -> int:
    """Run the worker until interrupted (or once, with --once)."""
    parser = argparse.ArgumentParser(prog="python -m review.notify", allow_abbrev=False)
    add_arguments(parser)
    parser.add_argument("--observe", action="store_true", help="also record new rows (opens a console)")
    parser.add_argument("--once", action="store_true", help="one pass, then print how many were delivered")
    parsed = parser.parse_args(argv)
    try:
        return _run(parsed)
    except (StoreError, PolicyError, ValueError) as exc:
        print(json.dumps({"error": str(exc)}))
        return 2


def _run(parsed: argparse.Namespace) -> int:
    settings = from_arguments(parsed)
    if parsed.observe:
        from review.console import ReviewConsole
        from review.notify.worker import NotifyService

        console = ReviewConsole.open(settings=settings, recover=False)
        running: NotifyService | None = None
        try:
            if parsed.once:
                service = NotifyService(console)
                if service.observe_now():
                    time.sleep(settings.notify_settle_seconds)  # what it recorded is due then
                print(json.dumps({"delivered": service.worker.run_once()}))
                return 0
            running = start_notifications(console)
            while running is not None:
                time.sleep(3600)
        finally:
            if running is not None:
                running.stop()
            console.close()
        return 0
    store = open_storage(settings, create=False, light=True)
    try:
        policy = load_policy(settings.policy)
        tables = OutboxTables(store)
        links = ActionLinks.open(store, policy, settings, tables=tables)
        worker = DeliveryWorker(tables, policy, settings, links=links)
        if parsed.once:
            print(json.dumps({"delivered": worker.run_once()}))
            return 0
        while True:
            if not worker.run_once():
                time.sleep(settings.notify_poll_seconds)
    finally:
        store.close()


if __name__ == "__main__":
    sys.exit(main())
