"""Measurements that need a process of their own, printed as one JSON line.

    python -m bench.probe cold --db PATH      open + first listing in a fresh process, peak RSS
    python -m bench.probe memory --db PATH    Python heap allocated by open + first listing (tracemalloc)
    python -m bench.probe page --db PATH      the Inbox page through streamlit.testing's AppTest

A fresh process is what a cold start is; it also keeps the benchmark's own objects out of the
memory figures, and gives the page a clean `st.cache_resource` and `sys.argv`.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


def _rss_peak_mb() -> float:
    """This process's peak resident memory: /proc's VmHWM. Not `ru_maxrss`, which Linux carries across
    fork + exec: a probe started by the bench (hundreds of MB after seeding 100,000 threads) reported the
    bench's own peak as its own."""
    peak = _status_mb("VmHWM:")
    return peak if peak is not None else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _status_mb(field: str) -> float | None:
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            line = next(line for line in status if line.startswith(field))
    except (OSError, StopIteration):
        return None
    return int(line.split()[1]) / 1024


def _rss_now_mb() -> float | None:
    return _status_mb("VmRSS:")


def cold(db: str, saved: bool = True) -> dict[str, Any]:
    if not saved:  # a store no console listed yet: every paused thread is read from its head writes
        if "://" in db:
            import psycopg

            with psycopg.connect(db, autocommit=True) as pg:
                pg.execute("DELETE FROM review_listing")
        else:
            import sqlite3

            conn = sqlite3.connect(db, timeout=30)
            conn.execute("DELETE FROM review_listing")
            conn.commit()
            conn.close()
    started = time.perf_counter()
    import graph  # noqa: F401  (the agent the console loads; imported here to time it apart)
    from review import ReviewConsole

    imported = time.perf_counter()
    rss_before = _rss_peak_mb()
    console = ReviewConsole.open(db)
    opened = time.perf_counter()
    rows = console.pending()
    listed = time.perf_counter()
    reads, hits = console.inbox.last_state_reads, console.inbox.last_saved_hits
    again = console.pending()
    warm = time.perf_counter()
    result = {
        "import_s": imported - started,
        "open_s": opened - imported,
        "first_listing_s": listed - opened,
        "cold_start_s": listed - imported,
        "warm_listing_s": warm - listed,
        "rows": len(rows),
        "threads_read": reads,
        "saved_hits": hits,
        "threads_seen": len(console.inbox._known),  # a cold start keeps an entry for the paused ones only
        "threads_in_store": console.storage.query("SELECT COUNT(*) FROM review_thread_heads")[0][0],
        "rss_before_open_mb": rss_before,
        "rss_peak_mb": _rss_peak_mb(),
        "rss_now_mb": _rss_now_mb(),
        "same_rows": again == rows,
    }
    console.close()
    return result


def memory(db: str) -> dict[str, Any]:
    import tracemalloc

    import graph  # noqa: F401
    from review import ReviewConsole

    tracemalloc.start()
    console = ReviewConsole.open(db)
    rows = console.pending()
    current, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    console.close()
    return {"rows": len(rows), "traced_current_mb": current / 2**20, "traced_peak_mb": peak / 2**20}


def page(db: str, runs: int) -> dict[str, Any]:
    """Run the app (Inbox is its default page) `runs` times in one AppTest session."""
    os.environ["REVIEW_DB"] = db
    sys.argv = [sys.argv[0]]  # the app reads --db from argv: leave it only REVIEW_DB
    from streamlit.testing.v1 import AppTest

    app = ROOT / "app.py"
    if not app.exists():
        return {"skipped": "no app.py"}
    at = AppTest.from_file(str(app), default_timeout=120)
    started = time.perf_counter()
    at.run()
    first = time.perf_counter() - started
    if at.exception:
        return {"error": "; ".join(str(e.value) for e in at.exception)}
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        at.run()
        times.append(time.perf_counter() - started)
    if at.exception:
        return {"error": "; ".join(str(e.value) for e in at.exception)}
    shown = max((len(editor.value) for editor in at.data_editor), default=0)
    # A second reviewer opening the page on a running server: new session, console already open.
    fresh = []
    for _ in range(3):
        other = AppTest.from_file(str(app), default_timeout=120)
        started = time.perf_counter()
        other.run()
        fresh.append(time.perf_counter() - started)
    return {
        "first_run_s": first,
        "runs_s": times,
        "median_s": statistics.median(times),
        "new_session_s": statistics.median(fresh),
        "rows_shown": shown,
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.probe")
    parser.add_argument("what", choices=("cold", "memory", "page"))
    parser.add_argument("--db", required=True)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--no-saved", action="store_true", help="cold: remove the saved listing first")
    args = parser.parse_args(argv)
    if args.what == "cold":
        result = cold(args.db, saved=not args.no_saved)
    elif args.what == "memory":
        result = memory(args.db)
    else:
        result = page(args.db, args.runs)
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
