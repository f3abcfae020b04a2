"""A console in its own OS process, for the race and replica tests: `python -m tests.core.race_worker DB REVIEWER`.

Reads one JSON command per line on stdin:
  {"batch": [...], "go": PATH}  -> prints {"ready": true}, waits until PATH exists, submits the batch,
                                   prints the BatchResult as JSON (plus "exit_code");
  {"start": PROMPT}             -> starts a run (an agent process), prints {"thread_id", "pending": [rows]};
  {"watch_new": true, "timeout": S} -> notes the threads pending now, prints {"watching": true}, then waits
                                   (on the change token: no sleep loop on PostgreSQL) until `pending()` lists
                                   another thread, and prints {"thread_id", "seen_at": time.time()}
                                   (or {"seen_at": null} after S seconds);
  {"quit": true}                -> closes the console and exits.
The console stays open across rounds, like a running app. RACE_WORKER_WATCH=1 opens it with the
recovery sweeper running (every REVIEW_SWEEP_SECONDS), as the app does.
"""

from __future__ import annotations

import json
import os
import sys
import time

from review import ReviewConsole


def _watch_new(console: ReviewConsole, known: set[str], timeout: float) -> dict[str, object]:
    deadline = time.monotonic() + timeout
    token = console.change_token()
    while True:
        new = [row.thread_id for row in console.pending() if row.thread_id not in known]
        if new:
            return {"thread_id": new[0], "seen_at": time.time()}
        left = deadline - time.monotonic()
        if left <= 0:
            return {"seen_at": None}
        token = console.wait_for_change(token, min(left, 1.0))


def main(db: str, reviewer: str) -> None:
    console = ReviewConsole.open(db, watch=os.environ.get("RACE_WORKER_WATCH") == "1")
    try:
        for line in sys.stdin:
            command = json.loads(line)
            if command.get("quit"):
                break
            if "start" in command:
                job = console.start_run(command["start"])
                pending = [row.to_dict() for row in job.result(timeout=60).new_pending]
                print(json.dumps({"thread_id": job.thread_id, "pending": pending}), flush=True)
                continue
            if "watch_new" in command:
                known = {row.thread_id for row in console.pending()}
                print(json.dumps({"watching": True}), flush=True)
                print(json.dumps(_watch_new(console, known, float(command.get("timeout", 10)))), flush=True)
                continue
            print(json.dumps({"ready": True}), flush=True)
            while not os.path.exists(command["go"]):  # the barrier: both processes spin on the same file
                time.sleep(0.0002)
            result = console.submit(command["batch"], reviewer)
            print(json.dumps({**result.to_dict(), "exit_code": result.exit_code}), flush=True)
    finally:
        console.close()


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
