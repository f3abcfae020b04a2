"""A reviewer in its own OS process, for the race tests: `python -m tests.core.race_worker DB REVIEWER`.

Reads one JSON command per line on stdin:
  {"batch": [...], "go": PATH}  -> prints {"ready": true}, waits until PATH exists, submits the batch,
                                   prints the BatchResult as JSON (plus "exit_code");
  {"quit": true}                -> closes the console and exits.
The console stays open across rounds, like a running app.
"""

from __future__ import annotations

import json
import os
import sys
import time

from review import ReviewConsole


def main(db: str, reviewer: str) -> None:
    console = ReviewConsole.open(db)
    try:
        for line in sys.stdin:
            command = json.loads(line)
            if command.get("quit"):
                break
            print(json.dumps({"ready": True}), flush=True)
            while not os.path.exists(command["go"]):  # the barrier: both processes spin on the same file
                time.sleep(0.0002)
            result = console.submit(command["batch"], reviewer)
            print(json.dumps({**result.to_dict(), "exit_code": result.exit_code}), flush=True)
    finally:
        console.close()


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
