"""Browser figures of the Inbox (Debian's Chromium against `streamlit run serve.py`), printed as a table.

    python -m bench.browser [--threads 10000] [--paused 334] [--sessions 10] [--changes 10]

- (B1) navigation -> the 1,000-row Inbox visible (its table drawn and its row count shown), on a
  running server: the first session after the server started (imports, cold listing) and later ones;
- (B2) an interrupt written by another process -> visible in an open Inbox (the pending count moved,
  the next animation frame painted); medians of `--changes` writes;
- (B3) one decision chosen in the 1,000-row table -> Submit -> the banner's total line visible;
- (B4) server CPU of `--sessions` open, idle Inbox tabs over those rows (the server's own user+system
  time over 10 s, as the kernel accounts it, divided by 10 s);
- (B5) a click on a row of the 1,000-row table -> its review card shown (the card's heading names it).

It seeds its own store (bench.seed), starts its own server on a free port, and stops it at the end.
Nothing here is a pass/fail test: tests/e2e/ checks behaviour, this measures it.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from bench.__main__ import fmt_seconds, load, machine
from bench.benchmarks import Figure
from bench.seed import seed
from review import ReviewConsole

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run"]
PENDING = re.compile(r"([\d,]+) rows? pending")


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def server(db: str, log: Path) -> Iterator[tuple[str, int]]:
    """`streamlit run serve.py` on a free port; (url, pid)."""
    port = _free_port()
    env = {**os.environ, "REVIEW_DB": db, "STREAMLIT_BROWSER_GATHER_USAGE_STATS": "false"}
    command = [sys.executable, "-m", "streamlit", "run", "serve.py", "--server.port", str(port)]
    with log.open("wb") as out:
        process = subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
                    if response.read().strip() == b"ok":
                        break
            except OSError:
                pass
            if time.monotonic() > deadline or process.poll() is not None:
                raise RuntimeError(f"the server did not start: {log.read_text()[-2000:]}")
            time.sleep(0.1)
        yield url, process.pid
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=20)


def cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def pending_count(page: object) -> int | None:
    text = page.evaluate(  # type: ignore[attr-defined]
        "() => [...document.querySelectorAll('[data-testid=stCaptionContainer]')].map(e => e.textContent).join(' ')"
    )
    found = PENDING.search(text or "")
    return int(found[1].replace(",", "")) if found else None


_VISIBLE = """([count]) => {
    const grid = document.querySelector('[data-testid=stDataFrame] [data-testid=data-grid-canvas]');
    const text = [...document.querySelectorAll('[data-testid=stCaptionContainer]')].map(e => e.textContent).join(' ');
    const found = text.match(/([\\d,]+) rows? pending/);
    return !!grid && !!found && Number(found[1].replace(/,/g, '')) >= count;
}"""


def open_inbox(browser: object, url: str, rows: int, context: object | None = None) -> tuple[object, float]:
    """A new tab on the Inbox (in `context`, or a new browser profile); seconds from navigation to the table
    and its row count visible."""
    if context is None:
        context = browser.new_context(viewport={"width": 1280, "height": 800})  # type: ignore[attr-defined]
    page = context.new_page()  # type: ignore[attr-defined]
    started = time.perf_counter()
    page.goto(f"{url}/?reviewer=bench")
    page.wait_for_function(_VISIBLE, arg=[rows], timeout=60_000, polling="raf")
    return page, time.perf_counter() - started


# The data rows of every table of the page (each grid's aria-rowcount counts its header row).
_TABLE_ROWS = """() => [...document.querySelectorAll('[data-testid=stDataFrame] table[role=grid]')]
    .reduce((sum, table) => sum + Number(table.getAttribute('aria-rowcount') || 1) - 1, 0)"""


_CARD_SHOWS = """([before]) => {
    const heading = document.querySelector('.st-key-inbox_card h4');
    return !!heading && heading.textContent !== before;
}"""


def card_after_click(page: object, clicks: int = 8) -> list[float]:
    """Seconds from a click on a row's tool cell (rows 1, 2, ... of the first table) to the review card's heading
    naming another row, until the next animation frame painted it."""
    from tests.e2e.helpers import HEADER_PX, ROW_PX

    canvas = page.get_by_test_id("data-grid-canvas").first  # type: ignore[attr-defined]
    box = canvas.bounding_box()
    heading = page.locator(".st-key-inbox_card h4")  # type: ignore[attr-defined]
    heading.wait_for(timeout=30_000)
    seconds = []
    for n in range(clicks):
        before = heading.text_content()
        y = box["y"] + HEADER_PX + ROW_PX * (1 + n % 8) + ROW_PX / 2
        page.mouse.move(box["x"] + 8, y)  # type: ignore[attr-defined]
        time.sleep(0.3)  # quiet between clicks
        started = time.perf_counter()
        page.mouse.click(box["x"] + 12, y)  # type: ignore[attr-defined]
        page.wait_for_function(_CARD_SHOWS, arg=[before], timeout=30_000, polling="raf")  # type: ignore[attr-defined]
        seconds.append(time.perf_counter() - started)
    return seconds


@contextmanager
def private_postgres(work: Path) -> Iterator[str | None]:
    """A database on a private PostgreSQL cluster in `work` (None when PostgreSQL is not installed)."""
    from scripts.pg_cluster import Cluster, bin_dir, free_port

    if bin_dir() is None:
        print("PostgreSQL is not installed: its figures are skipped", flush=True)
        yield None
        return
    base = Path(tempfile.mkdtemp(prefix="review-browser-pg-"))  # not under `work`: that one is private (0700)
    base.chmod(0o755)  # the server runs as `postgres` and must reach its folder
    cluster = Cluster(base / "data", free_port())
    try:
        cluster.start()
        yield cluster.create_database("browser")
    finally:
        cluster.remove()
        shutil.rmtree(base, ignore_errors=True)


def measure(db: str, backend: str, args: argparse.Namespace, work: Path) -> list[Figure]:
    """B1-B4 on one store (seeded here) served by its own server."""
    from playwright.sync_api import sync_playwright

    from tests.e2e.helpers import App, Grid

    figures: list[Figure] = []
    seeded = seed(db, args.threads, args.paused, replace=True)
    rows = 3 * len(seeded.paused)
    print(f"seeded {seeded.threads:,} threads, {rows:,} pending rows", flush=True)
    writer = ReviewConsole.open(db)  # another process's writes, as far as the server is concerned
    with server(db, work / f"server-{backend}.log") as (url, pid), sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        first, cold = open_inbox(browser, url, rows)
        first.close()  # type: ignore[attr-defined]
        fresh = []  # a new browser profile each: Streamlit's scripts downloaded and compiled again
        for _ in range(3):
            page, seconds = open_inbox(browser, url, rows)
            fresh.append(seconds)
            page.context.close()  # type: ignore[attr-defined]
        warm = []  # a reviewer's browser: a new tab, its cache warm
        for _ in range(3):
            page, seconds = open_inbox(browser, url, rows, first.context)  # type: ignore[attr-defined]
            warm.append(seconds)
            page.close()  # type: ignore[attr-defined]
        first.context.close()  # type: ignore[attr-defined]
        figures.append(
            Figure(
                f"(B1) navigation -> Inbox with {rows:,} rows visible [{backend}]",
                statistics.median(warm),
                target="<= 2 s",
                met=statistics.median(warm) <= 2.0,
                note=f"a new tab of a browser that has the page's scripts; a new browser profile "
                f"{statistics.median(fresh):.2f} s; the first session after the server started {cold:.2f} s "
                "(imports, listing)",
            )
        )
        print("B1 done", flush=True)

        page, _ = open_inbox(browser, url, rows)
        clicks = card_after_click(page)
        median = statistics.median(clicks)
        figures.append(
            Figure(
                f"(B5) click on a row -> its review card shown, {rows:,}-row Inbox [{backend}]",
                median,
                target="<= 300 ms",
                met=median <= 0.30,
                note=f"{len(clicks)} clicks on other rows' tool cells; min {min(clicks) * 1e3:.0f} ms, "
                f"max {max(clicks) * 1e3:.0f} ms (click to the card's heading naming the row)",
            )
        )
        page.context.close()  # type: ignore[attr-defined]
        print("B5 done", flush=True)

        page, _ = open_inbox(browser, url, rows)
        latencies = []
        in_table = []  # the row itself in a table (the count comes first: it is drawn before the tables)
        for n in range(args.changes):
            before = pending_count(page) or rows
            listed = page.evaluate(_TABLE_ROWS)  # type: ignore[attr-defined]
            time.sleep(0.3)  # quiet: the page is idle, its request parked
            writer.start_run(f"Create a blue circle z{n}").result(timeout=60)
            written = time.perf_counter()
            page.wait_for_function(_VISIBLE, arg=[before + 1], timeout=30_000, polling="raf")
            latencies.append(time.perf_counter() - written)
            page.wait_for_function(f"() => ({_TABLE_ROWS})() > {listed}", timeout=30_000, polling="raf")
            in_table.append(time.perf_counter() - written)
        rows = pending_count(page) or rows
        median = statistics.median(latencies)
        figures.append(
            Figure(
                f"(B2) interrupt written by another process -> visible in an open Inbox [{backend}]",
                median,
                target="<= 100 ms",
                met=median <= 0.10,
                note=f"{args.changes} writes; min {min(latencies) * 1e3:.0f} ms, max {max(latencies) * 1e3:.0f} ms "
                "(the count of rows pending above the tables); the row itself in its table "
                f"{statistics.median(in_table) * 1e3:.0f} ms",
            )
        )
        print("B2 done", flush=True)

        app = App(page, url)  # type: ignore[arg-type]
        app.clock.socket = None
        page.reload()
        page.wait_for_function(_VISIBLE, arg=[rows], timeout=60_000, polling="raf")
        app.clock.wait_for(lambda: app.clock.socket is not None, "the websocket")
        grid = Grid(app)
        grid.choose("decision", 0, "approve")
        clicked = time.perf_counter()
        page.get_by_role("button", name=re.compile("^Submit decisions")).click()
        page.get_by_test_id("stAlertContainer").filter(has_text="Applied 1 · ").first.wait_for(timeout=30_000)
        submitted = time.perf_counter() - clicked
        figures.append(
            Figure(
                f"(B3) one decision in the {rows:,}-row Inbox: Submit -> banner visible [{backend}]",
                submitted,
                target="<= 1 s",
                met=submitted <= 1.0,
                note="click to the total line of the banner (validate, claim, resume, listing, redraw)",
            )
        )
        print("B3 done", flush=True)
        page.context.close()  # type: ignore[attr-defined]

        tabs = [open_inbox(browser, url, rows - 1)[0] for _ in range(args.sessions)]
        time.sleep(3)
        before_cpu, before_wall = cpu_seconds(pid), time.perf_counter()
        time.sleep(10)
        share = (cpu_seconds(pid) - before_cpu) / (time.perf_counter() - before_wall)
        figures.append(
            Figure(
                f"(B4) server CPU, {args.sessions} idle Inbox tabs over {rows - 1:,} rows [{backend}]",
                None,
                target="< 10% of one core",
                met=share < 0.10,
                note=f"{share * 100:.1f}% of one core over 10 s (user+system of the server process)",
            )
        )
        for tab in tabs:
            tab.context.close()  # type: ignore[attr-defined]
        browser.close()
    writer.close()
    return figures


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.browser", description=__doc__.split("\n\n")[0])
    parser.add_argument("--threads", type=int, default=10_000)
    parser.add_argument("--paused", type=int, default=334, help="paused threads, 3 rows each (334: 1,002 rows)")
    parser.add_argument("--sessions", type=int, default=10)
    parser.add_argument("--changes", type=int, default=10)
    parser.add_argument("--no-postgres", action="store_true", help="SQLite only")
    parser.add_argument("--out", default=str(ROOT / "bench" / "results" / "browser.md"))
    args = parser.parse_args(argv)
    sys.path.insert(0, str(ROOT))
    figures: list[Figure] = []
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="review-browser-") as tmp:
        figures += measure(str(Path(tmp) / "review.sqlite"), "SQLite", args, Path(tmp))
        if not args.no_postgres:
            with private_postgres(Path(tmp)) as url:
                if url is not None:
                    figures += measure(url, "PostgreSQL", args, Path(tmp))
    lines = ["| benchmark | value | target | met | notes |", "|---|---:|---|---|---|"]
    for f in figures:
        value = fmt_seconds(f.value_s) if f.value_s is not None else "-"
        lines.append(f"| {f.name} | {value} | {f.target} | {'yes' if f.met else '**NO**'} | {f.note} |")
    header = (
        f"- machine: {machine()}; load average {load()} at the end; {time.perf_counter() - started:.0f} s in all\n"
        f"- Chromium {CHROMIUM}, 1280x800; store: {args.threads:,} threads, {args.paused:,} paused"
    )
    text = "\n".join(lines)
    print("\n" + header + "\n\n" + text)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("# Inbox in the browser\n\n" + header + "\n\n" + text + "\n", encoding="utf-8")
    return 0 if all(f.met for f in figures) else 1


if __name__ == "__main__":
    raise SystemExit(main())
