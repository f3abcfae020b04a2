"""The seeding tool and every benchmark, at tiny sizes: the tools `make bench` relies on keep working.

The seeding tool copies template threads row for row; the copies must be real threads: readable,
listed, resumable, independent of each other. The benchmarks must run and report what they
measured (the right rows, the right number of get_state calls).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import pytest

from bench import benchmarks, reference
from bench.__main__ import main as bench_main
from bench.seed import SeedResult, check_copyable, config, copy_threads, main, run_input, run_paused, seed
from review import ReviewConsole
from scripts.pg_cluster import Cluster
from tests.conftest import THREE_SHAPES
from tests.helpers import APPROVE, edit, reject


@pytest.fixture
def seeded(db_path: Path | str) -> Iterator[tuple[ReviewConsole, SeedResult]]:
    console = ReviewConsole.open(db_path)
    result = seed(db_path, threads=8, paused=4, templates=1, console=console)
    yield console, result
    console.close()


def interrupt_ids(console: ReviewConsole, thread_id: str) -> list[str]:
    return [item.id for item in console.graph.get_state(config(thread_id)).interrupts]


def test_seed_writes_the_asked_threads_and_copies_read_like_the_template(
    seeded: tuple[ReviewConsole, SeedResult], db_path: Path | str
) -> None:
    console, result = seeded
    assert (len(result.paused), len(result.finished), result.templates) == (4, 4, 2)
    template, *copies = result.paused
    heads = console.storage.query("SELECT COUNT(*) FROM review_thread_heads")[0][0]
    assert heads == 8 == len(reference.thread_ids(console.storage))
    ids = interrupt_ids(console, template)
    assert len(ids) == 3
    for thread_id in copies:  # same checkpoint rows, so the same interrupts under another thread id
        assert interrupt_ids(console, thread_id) == ids
    for thread_id in result.finished:
        state = console.graph.get_state(config(thread_id))
        assert state.interrupts == () and state.next == ()
        assert [shape["shape_id"] for shape in state.values["canvas"]] == ["c0", "s0", "t0"]
    rows = console.pending()
    assert sorted({row.thread_id for row in rows}) == sorted(result.paused)
    assert len(rows) == 12


def test_a_copied_thread_resumes_on_its_own(seeded: tuple[ReviewConsole, SeedResult]) -> None:
    console, result = seeded
    template, copy, other, _ = result.paused
    rows = console.pending(copy)
    decisions = [APPROVE, edit(rows[1].tool, shape_id="s9", color="yellow"), reject("no")]
    outcome = console.submit(
        [
            {"thread_id": copy, "interrupt_id": r.interrupt_id, "decision": d}
            for r, d in zip(rows, decisions, strict=True)
        ],
        "carol",
    )
    assert outcome.exit_code == 0, outcome.to_dict()
    assert len(outcome.applied) == 3
    state = console.graph.get_state(config(copy))
    assert state.interrupts == () and state.next == ()
    assert [(s["shape_id"], s["color"]) for s in state.values["canvas"]] == [("c0", "red"), ("s9", "yellow")]
    for untouched in (template, other):  # the template and other copies still wait, unchanged
        assert len(console.pending(untouched)) == 3
        assert console.graph.get_state(config(untouched)).values["canvas"] == []
    history = list(console.graph.get_state_history(config(copy)))
    template_history = list(console.graph.get_state_history(config(template)))
    assert len(history) > len(template_history)


def test_copying_refuses_a_thread_whose_blobs_hold_its_own_id(db_path: Path | str) -> None:
    console = ReviewConsole.open(db_path)
    try:
        thread_id = "thread-with-its-id-in-the-prompt"
        console.graph.invoke(run_input(f"Create a red circle c1 ({thread_id})"), config(thread_id))
        with pytest.raises(RuntimeError, match="contains the thread id"):
            check_copyable(console.storage, thread_id)
        run_paused(console.graph, "plain", THREE_SHAPES)
        check_copyable(console.storage, "plain")
        (copy,) = copy_threads(console, "plain", 1)
        assert interrupt_ids(console, copy) == interrupt_ids(console, "plain")
    finally:
        console.close()


def test_seed_cli_and_bulk_state(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "cli.sqlite"
    assert main(["--db", str(db), "--threads", "5", "--paused", "2", "--bulk-kb", "8", "--templates", "1"]) == 0
    assert "seeded 5 threads (2 paused, 3 finished" in capsys.readouterr().out
    console = ReviewConsole.open(db)
    try:
        assert len(console.pending()) == 6
        thread_id = console.pending()[0].thread_id
        messages = console.graph.get_state(config(thread_id)).values["messages"]
        assert sum(len(m.content) for m in messages[:-2]) >= 8 * 1000  # the bulk history precedes the prompt
        size = console.storage.query(
            "SELECT MAX(LENGTH(checkpoint)) FROM checkpoints WHERE thread_id = ?", (thread_id,)
        )[0][0]
        assert size > 8 * 1000
    finally:
        console.close()
    with pytest.raises(ValueError, match="cannot exceed"):
        seed(db, threads=1, paused=2)


def test_in_process_benchmarks_at_tiny_size(tmp_path: Path) -> None:
    big = seed(tmp_path / "big.sqlite", threads=30, paused=10, templates=2)
    small = seed(tmp_path / "small.sqlite", threads=6, paused=4, templates=1)
    console = ReviewConsole.open(big.db)
    small_console = ReviewConsole.open(small.db)
    try:
        baseline_s, rows = benchmarks.baseline_listing(console, repeats=1)
        assert rows == 30 and baseline_s > 0
        (unchanged,) = benchmarks.bench_unchanged(console, baseline_s, repeats=5)
        assert unchanged.value_s and unchanged.baseline_s == baseline_s and unchanged.met is not None
        figures = benchmarks.bench_changed(
            console,
            big.paused,
            big.finished,
            baseline_s,
            ks=(1, 2),
            repeats=2,
            small=small_console,
            small_paused=small.paused,
        )
        notes = {figure.name: figure.note for figure in figures}
        # Changed paused threads are read from their head writes in one query, none with get_state.
        assert (
            "1 read from their head writes in one query, 0 get_state calls"
            in notes["(2) refresh + listing after K=1 paused threads changed"]
        )
        assert (
            "2 read from their head writes in one query, 0 get_state calls"
            in notes["(2) refresh + listing after K=2 paused threads changed"]
        )
        assert "0 get_state calls" in notes["(2) refresh + listing after K=2 finished threads changed"]
        assert {f.target for f in figures if "K=1 paused" in f.name} == {"<= 1.5 ms (1 ms + 0.5 ms x K)"}
        assert "(2) same, K=2, on a store of 6 threads" in notes
        # 6 paused threads got one decision each: 2 rows left on each, still all listed.
        with closing(sqlite3.connect(big.db)) as conn:
            assert console.pending() == reference.listing(console.graph, conn)
        assert len(console.pending()) == 30 - 6

        batch = benchmarks.bench_batch_resume(console, shapes=4, repeats=2)
        assert [f.target for f in batch] == ["overhead <= 10%", ""]
        assert all(f.value_s and f.baseline_s for f in batch)
        assert len(console.pending()) == 30 - 6  # the copies were answered, the template too
    finally:
        console.close()
        small_console.close()


@pytest.mark.slow
def test_probes_in_fresh_processes(tmp_path: Path) -> None:
    result = seed(tmp_path / "probe.sqlite", threads=20, paused=5, templates=2)
    (cold,), run = benchmarks.bench_cold_start(result.db, baseline_s=1.0, repeats=1)
    assert cold.value_s and cold.met is True
    # The probe before it saved the listing: the cold start decodes nothing.
    assert (run["rows"], run["threads_read"], run["saved_hits"], run["same_rows"]) == (15, 0, 5, True)
    assert (run["threads_seen"], run["threads_in_store"]) == (5, 20)  # entries for the paused threads only
    assert "without a saved listing" in cold.note and "(5 threads read from their head writes)" in cold.note
    (cli,) = benchmarks.bench_cli_pending(result.db, repeats=1)
    assert cli.value_s and cli.baseline_s and cli.target == "<= 300 ms"
    (memory,) = benchmarks.bench_memory(result.db, run)
    assert "MB peak" in memory.note and "tracemalloc" in memory.note
    rerun, new_session = benchmarks.bench_inbox_page(result.db, runs=1)
    assert rerun.name == "(5) Inbox page, 15 pending rows: a rerun of an open session (AppTest)"
    assert new_session.name == "(5) Inbox page, 15 pending rows: a new session on a running server (AppTest)"
    assert rerun.met is True and new_session.met is True
    assert "the very first run of the process" in new_session.note


@pytest.mark.slow
def test_make_bench_end_to_end_at_tiny_size(tmp_path: Path, pg_cluster: Cluster) -> None:
    out = tmp_path / "latest.md"
    bench_main(
        ["--threads", "24", "--paused", "8", "--quick", "--ks", "1,2", "--shapes", "3", "--work-dir", str(tmp_path),
         "--out", str(out), "--postgres", pg_cluster.url(), "--server-threads", "4"]
    )  # fmt: skip
    report = out.read_text(encoding="utf-8")
    starts = ("| (1) ", "| (2) ", "| (3) ", "| peak RSS", "| (4) ", "| (5) ", "| (6) notify-to-visible", "| (7) ")
    for start in (*starts, "## Agent Server", "| (S1) ", "| (S2) ", "| (S3) ", "| (S4) "):
        assert start in report, report
    assert "| SQLite | SQLite baseline | ratio | PostgreSQL | PostgreSQL baseline | ratio |" in report
    notify = next(line for line in report.splitlines() if line.startswith("| (6) "))
    assert "PostgreSQL: max " in notify and "sightings" in notify
    assert "error:" not in report
