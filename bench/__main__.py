"""`python -m bench` (`make bench`): seed stores, run every benchmark, print and save the table.

python -m bench [--threads 10000] [--paused 1000] [--bulk-kb 0] [--work-dir DIR] [--out bench/results/latest.md]
                [--postgres URL | --no-postgres]

Each benchmark runs on SQLite and on PostgreSQL (a private cluster started in the work directory,
unless --postgres names a server); the table has a column group per backend.

Exit status 1 when a target is missed.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import shutil
import sqlite3
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from bench import benchmarks, notifications, reference
from bench.benchmarks import Figure
from bench.seed import seed
from review import ReviewConsole
from scripts.pg_cluster import Cluster, bin_dir, free_port

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


BACKENDS = ("SQLite", "PostgreSQL")


def table(columns: dict[str, Sequence[Figure]]) -> str:
    """One row per benchmark, a console / baseline / ratio column group per backend (same run, same machine)."""
    names = list(dict.fromkeys(f.name for figures in columns.values() for f in figures))
    by_backend = {backend: {f.name: f for f in figures} for backend, figures in columns.items()}
    several = len(columns) > 1
    head = "| benchmark | " + " | ".join(f"{b} | {b} baseline | ratio" for b in columns) + " | target | met | notes |"
    lines = [head, "|---|" + "---:|---:|---:|" * len(columns) + "---|---|---|"]
    for name in names:
        cells, met, notes, target = [], [], [], ""
        for backend in columns:
            f = by_backend[backend].get(name)
            if f is None:
                cells.append("- | - | -")
                continue
            ratio = f"{f.ratio:,.1f}x" if f.ratio is not None else "-"
            cells.append(f"{fmt_seconds(f.value_s)} | {fmt_seconds(f.baseline_s)} | {ratio}")
            target = target or f.target
            if f.met is not None:
                verdict = "yes" if f.met else "**NO**"
                met.append(f"{backend}: {verdict}" if several else verdict)
            if f.note:
                notes.append(f"{backend}: {f.note}" if several else f.note)
        lines.append(f"| {name} | " + " | ".join(cells) + f" | {target} | {', '.join(met)} | {'; '.join(notes)} |")
    return "\n".join(lines)


def machine() -> str:
    cpu = platform.machine()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as info:
            cpu = next((line.split(":", 1)[1].strip() for line in info if line.startswith("model name")), cpu)
    except OSError:
        pass
    return (
        f"{os.cpu_count()} cores ({cpu}), {platform.system()}, Python {platform.python_version()}, "
        f"SQLite {sqlite3.sqlite_version}"
    )


def load() -> str:
    return f"{os.getloadavg()[0]:.2f}" if hasattr(os, "getloadavg") else "?"


def suite(backend: str, stores: tuple[str, str, str], args: argparse.Namespace, work: Path) -> list[Figure]:
    """Every benchmark on one backend: `stores` are the big, small and page stores (paths or URLs)."""
    ks = [int(k) for k in args.ks.split(",")]
    repeats = 1 if args.quick else 5
    big_db, small_db, page_db = stores
    figures: list[Figure] = []
    big = seed(big_db, args.threads, args.paused, bulk_kb=args.bulk_kb, replace=True)
    print(f"{backend}: seeded {big.threads:,} threads in {big.seconds:.1f} s ({big.template_seconds:.1f} s real runs)")
    small_paused = max(args.paused // 10, 10 * repeats)
    small = seed(small_db, max(args.threads // 10, small_paused), small_paused, bulk_kb=args.bulk_kb, replace=True)
    page_paused = min(-(-PAGE_ROWS // 3), args.paused)
    seed(page_db, args.threads, page_paused, bulk_kb=args.bulk_kb, replace=True)

    console = ReviewConsole.open(big_db)
    small_console = ReviewConsole.open(small_db)
    try:
        baseline_s, baseline_rows = benchmarks.baseline_listing(console, repeats=1 if args.quick else 3)
        print(f"{backend}: get_state on every thread {baseline_s:.2f} s ({baseline_rows:,} rows)", flush=True)
        figures += benchmarks.bench_unchanged(console, baseline_s, repeats=50 if args.quick else 200)
        # the figures mean nothing if the fast listing is not the same listing
        if console.pending() != reference.listing(console.graph, console.storage):
            raise AssertionError(f"{backend}: the console's listing differs from the get_state listing")
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
        print(f"{backend}: benchmarks 1-2 done", flush=True)
        cold, cold_run = benchmarks.bench_cold_start(big_db, baseline_s, repeats=1 if args.quick else 3)
        figures += cold
        figures += benchmarks.bench_memory(big_db, cold_run)
        print(f"{backend}: benchmark 3 and memory done", flush=True)
        figures += benchmarks.bench_batch_resume(console, shapes=args.shapes, repeats=5 if args.quick else 40)
        print(f"{backend}: benchmark 4 done", flush=True)
        if backend == "SQLite":  # a whole CLI process; its saved listing is read the same way on both backends
            figures += benchmarks.bench_cli_pending(big_db, repeats=3 if args.quick else 7)
        figures += benchmarks.bench_notify_latency(big_db, baseline_s, trials=5 if args.quick else 20, work=work)
        figures += notifications.bench_notifications(big_db, work, trials=5 if args.quick else 20)  # fresh stores
        figures += benchmarks.bench_inbox_page(page_db, runs=3 if args.quick else 5)
        if not args.quick:  # the same page with every pending row of the full store
            figures += benchmarks.bench_inbox_page(big_db, runs=5)
    finally:
        console.close()
        small_console.close()
    return figures


@contextmanager
def postgres_stores(args: argparse.Namespace, work: Path) -> Iterator[tuple[str, str, str] | None]:
    """Three fresh databases: on `--postgres URL`'s server, else on a private cluster in `work` (None: skipped)."""
    if args.no_postgres:
        yield None
        return
    names = [f"bench_{kind}_{uuid.uuid4().hex[:8]}" for kind in ("big", "small", "page")]
    if args.postgres:
        import psycopg

        with psycopg.connect(args.postgres, autocommit=True) as admin:
            for name in names:
                admin.execute(f'CREATE DATABASE "{name}"')
        base = args.postgres.rsplit("/", 1)[0]
        yield tuple(f"{base}/{name}" for name in names)  # type: ignore[misc]
        return
    if bin_dir() is None:
        print("PostgreSQL is not installed: its column is skipped (apt-get install postgresql)", flush=True)
        yield None
        return
    base = Path(tempfile.mkdtemp(prefix="review-bench-pg-"))
    base.chmod(0o755)  # the server runs as `postgres` and must reach its folder
    cluster = Cluster(base / "data", free_port())
    try:
        cluster.start()  # durable settings (fsync on), as a team's server would run
        yield tuple(cluster.create_database(name) for name in names)  # type: ignore[misc]
    finally:
        cluster.remove()
        shutil.rmtree(base, ignore_errors=True)


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
    parser.add_argument("--postgres", help="a server URL (its databases are created there) instead of a private one")
    parser.add_argument("--no-postgres", action="store_true", help="SQLite only")
    parser.add_argument(
        "--server-threads", type=int, default=1_000, help="paused threads on the Agent Server (bench/server.py)"
    )
    parser.add_argument("--no-server", action="store_true", help="skip the Agent Server benchmarks")
    args = parser.parse_args(argv)
    repeats = 1 if args.quick else 5
    command = " ".join(["python -m bench", *(sys.argv[1:] if argv is None else argv)])
    started = time.perf_counter()
    header = [
        f"- date: {dt.datetime.now(dt.UTC).strftime('%Y-%m-%d %H:%M UTC')}",
        f"- machine: {machine()}; load average {load()} at start",
        f"- command: `{command}` (`make bench` runs `python -m bench`)",
        f"- store: {args.threads:,} threads, {args.paused:,} paused at 3 parallel interrupts, the rest finished"
        + (f", {args.bulk_kb} KB of extra conversation per thread" if args.bulk_kb else "")
        + "; seeded by `python -m bench.seed` into SQLite and into PostgreSQL (a private local cluster, "
        "fsync on, same machine)",
        "- baseline: the same listing by `get_state` on every thread (`bench/reference.py`), measured in this run, "
        "on the same backend",
        f"- times are medians of {repeats} or more runs; compared runs are interleaved; ratio = baseline / console",
    ]
    print("\n".join(header), flush=True)
    columns: dict[str, list[Figure]] = {}
    with tempfile.TemporaryDirectory(prefix="review-bench-") as tmp:
        work = Path(args.work_dir or tmp)
        work.mkdir(parents=True, exist_ok=True)
        sqlite_stores = (str(work / "bench.sqlite"), str(work / "small.sqlite"), str(work / "page.sqlite"))
        columns["SQLite"] = suite("SQLite", sqlite_stores, args, work)
        with postgres_stores(args, work) as pg_stores:
            if pg_stores is not None:
                header[-1:-1] = [f"- PostgreSQL {pg_version(pg_stores[0])}"]
                columns["PostgreSQL"] = suite("PostgreSQL", pg_stores, args, work)
    server_figures: list[Figure] = []
    if not args.no_server:
        from bench import server

        server_figures = server.run(args.server_threads, **server.quick_settings(args.quick))
    header.append(f"- load average {load()} at the end; total bench time {time.perf_counter() - started:.0f} s")
    text = table(columns)
    if server_figures:
        text += f"\n\n## Agent Server (`bench/server.py`)\n\n- {server.SETUP}\n\n" + table(
            {"Agent Server": server_figures}
        )
    print()
    print(text)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("# Inbox benchmarks\n\n" + "\n".join(header) + "\n\n" + text + "\n", encoding="utf-8")
    print(f"\n{header[-1][2:]}; written to {out}")
    every = [*server_figures, *(f for figures in columns.values() for f in figures)]
    return 0 if all(f.met is not False for f in every) else 1


def pg_version(url: str) -> str:
    import psycopg

    with psycopg.connect(url) as conn:
        return str(conn.execute("SHOW server_version").fetchone()[0])  # type: ignore[index]


if __name__ == "__main__":
    raise SystemExit(main())
