"""`python -m bench` (`make bench`): seed stores, run every benchmark, print and save the table.

python -m bench [--threads 10000] [--paused 1000] [--bulk-kb 0] [--work-dir DIR] [--out bench/results/latest.md]

Exit status 1 when a target is missed.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import sqlite3
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from bench import benchmarks, reference
from bench.benchmarks import Figure
from bench.seed import seed
from review import ReviewConsole

ROOT = Path(__file__).resolve().parent.parent
PAGE_ROWS = 1_000  # the Inbox page target is for 1,000 pending rows (334 threads x 3 interrupts)


def fmt_seconds(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    if seconds < 0.001:
        return f"{seconds * 1e6:.0f} µs"
    if seconds < 1:
        return f"{seconds * 1e3:.1f} ms"
    return f"{seconds:.2f} s"


def table(figures: Sequence[Figure]) -> str:
    lines = [
        "| benchmark | console | baseline | ratio | target | met | notes |",
        "|---|---:|---:|---:|---|---|---|",
    ]
    for f in figures:
        ratio = f"{f.ratio:,.1f}x" if f.ratio is not None else "-"
        met = {True: "yes", False: "**NO**", None: ""}[f.met]
        lines.append(
            f"| {f.name} | {fmt_seconds(f.value_s)} | {fmt_seconds(f.baseline_s)} | {ratio} | {f.target} | {met} "
            f"| {f.note} |"
        )
    return "\n".join(lines)


def machine() -> str:
    cpu = platform.machine()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as info:
            cpu = next((line.split(":", 1)[1].strip() for line in info if line.startswith("model name")), cpu)
    except OSError:
        pass
    return f"{os.cpu_count()} cores ({cpu}), {platform.system()}, Python {platform.python_version()}, SQLite " + (
        sqlite3.sqlite_version
    )


def load() -> str:
    return f"{os.getloadavg()[0]:.2f}" if hasattr(os, "getloadavg") else "?"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("--threads", type=int, default=10_000, help="threads in the store (default 10,000)")
    parser.add_argument("--paused", type=int, default=1_000, help="of which paused at 3 interrupts (default 1,000)")
    parser.add_argument("--bulk-kb", type=int, default=0, help="extra conversation per thread, in KB (default 0)")
    parser.add_argument("--ks", default="1,10,100", help="numbers of changed threads for benchmark 2")
    parser.add_argument("--shapes", type=int, default=50, help="parallel interrupts in benchmark 4's thread")
    parser.add_argument("--work-dir", help="keep the stores here (default: a temporary directory)")
    parser.add_argument("--out", default=str(ROOT / "bench" / "results" / "latest.md"), help="markdown report")
    parser.add_argument("--quick", action="store_true", help="fewer repeats: a smoke run, not figures to publish")
    args = parser.parse_args(argv)
    ks = [int(k) for k in args.ks.split(",")]
    repeats = 1 if args.quick else 5
    command = " ".join(["python -m bench", *(sys.argv[1:] if argv is None else argv)])
    started = time.perf_counter()
    header = [
        f"- date: {dt.datetime.now(dt.UTC).strftime('%Y-%m-%d %H:%M UTC')}",
        f"- machine: {machine()}; load average {load()} at start",
        f"- command: `{command}` (`make bench` runs `python -m bench`)",
        f"- store: {args.threads:,} threads, {args.paused:,} paused at 3 parallel interrupts, the rest finished"
        + (f", {args.bulk_kb} KB of extra conversation per thread" if args.bulk_kb else "")
        + "; SQLite, seeded by `python -m bench.seed`",
        "- baseline: the same listing by `get_state` on every thread (`bench/reference.py`), measured in this run",
        f"- times are medians of {repeats} or more runs; compared runs are interleaved; ratio = baseline / console",
    ]
    print("\n".join(header), flush=True)
    figures: list[Figure] = []
    with tempfile.TemporaryDirectory(prefix="review-bench-") as tmp:
        work = Path(args.work_dir or tmp)
        work.mkdir(parents=True, exist_ok=True)
        big_db, small_db, page_db = work / "bench.sqlite", work / "small.sqlite", work / "page.sqlite"
        big = seed(big_db, args.threads, args.paused, bulk_kb=args.bulk_kb, replace=True)
        print(f"seeded {big.threads:,} threads in {big.seconds:.1f} s ({big.template_seconds:.1f} s real runs)")
        small_paused = max(args.paused // 10, 10 * repeats)
        small = seed(small_db, max(args.threads // 10, small_paused), small_paused, bulk_kb=args.bulk_kb, replace=True)
        page_paused = min(-(-PAGE_ROWS // 3), args.paused)
        seed(page_db, args.threads, page_paused, bulk_kb=args.bulk_kb, replace=True)

        console = ReviewConsole.open(big_db)
        small_console = ReviewConsole.open(small_db)
        try:
            baseline_s, baseline_rows = benchmarks.baseline_listing(console, repeats=1 if args.quick else 3)
            print(f"baseline: get_state on every thread {baseline_s:.2f} s ({baseline_rows:,} rows)", flush=True)
            figures += benchmarks.bench_unchanged(console, baseline_s, repeats=50 if args.quick else 200)
            check = sqlite3.connect(big_db)
            try:  # the figures mean nothing if the fast listing is not the same listing
                if console.pending() != reference.listing(console.graph, check):
                    raise AssertionError("the console's listing differs from the get_state listing")
            finally:
                check.close()
            figures += benchmarks.bench_changed(
                console,
                big.paused,
                big.finished,
                baseline_s,
                ks=ks,
                repeats=repeats,
                small=small_console,
                small_paused=small.paused,
            )
            print("benchmarks 1-2 done", flush=True)
            cold, cold_run = benchmarks.bench_cold_start(big_db, baseline_s, repeats=1 if args.quick else 3)
            figures += cold
            figures += benchmarks.bench_memory(big_db, cold_run)
            print("benchmark 3 and memory done", flush=True)
            figures += benchmarks.bench_cli_pending(big_db, repeats=3 if args.quick else 7)
            print("benchmark 6 done", flush=True)
            figures += benchmarks.bench_batch_resume(console, shapes=args.shapes, repeats=5 if args.quick else 20)
            print("benchmark 4 done", flush=True)
            figures += benchmarks.bench_inbox_page(page_db, runs=3 if args.quick else 5)
            if not args.quick:  # the same page with every pending row of the full store
                figures += benchmarks.bench_inbox_page(big_db, runs=5)
        finally:
            console.close()
            small_console.close()
    header.append(f"- load average {load()} at the end; total bench time {time.perf_counter() - started:.0f} s")
    text = table(figures)
    print()
    print(text)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("# Inbox benchmarks\n\n" + "\n".join(header) + "\n\n" + text + "\n", encoding="utf-8")
    print(f"\n{header[-1][2:]}; written to {out}")
    return 0 if all(f.met is not False for f in figures) else 1


if __name__ == "__main__":
    raise SystemExit(main())
