"""The fast listing (`console.pending()`) equals a plain `get_state` listing of every thread, after every change.

One console instance follows a small store through each kind of change, made through the console,
through a separate graph + SqliteSaver on the same file, and from another process. After each
change the incremental listing must equal `bench.reference.listing` (get_state on every thread),
and the refresh must have seen exactly the changed threads (so the incremental path is what is
being compared, not a full re-read) and read them from their head checkpoints' pending writes
(`Storage.head_writes`, one query), never with get_state. The listing saved in the store
(`saved_listing`, what `python -m review pending` prints without LangGraph) must equal it too, and a
console opened fresh at the end must agree as well.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from langgraph.types import Command

from bench import reference
from bench.benchmarks import outside_graph
from bench.seed import SeedResult, config, run_input, seed
from review import PendingInterrupt, ReviewConsole
from review.inbox import listing_reader, rows_from_head, saved_listing, with_graph
from tests.conftest import CLEAR, THEN_SEQUENCE, THREE_SHAPES
from tests.helpers import APPROVE, reject

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def store(db_path: Path) -> Iterator[tuple[ReviewConsole, SeedResult]]:
    console = ReviewConsole.open(db_path)
    seeded = seed(db_path, threads=10, paused=4, templates=2, console=console)
    yield console, seeded
    console.close()


def get_state_listing(db_path: Path | str) -> list[PendingInterrupt]:
    """The reference: a graph of its own, get_state on every thread."""
    with outside_graph(db_path) as graph:
        return reference.listing(graph, graph.checkpointer.conn)


def assert_same(console: ReviewConsole, db_path: Path, *, changed: int | None = None) -> list[PendingInterrupt]:
    fast = console.pending()
    if changed is not None:
        assert console.inbox.last_reread == changed
        assert console.inbox.last_get_state == 0  # every changed thread came from its head writes
    slow = get_state_listing(db_path)
    assert fast == slow
    for thread_id in {row.thread_id for row in slow}:
        assert console.pending(thread_id) == [row for row in slow if row.thread_id == thread_id]
    # The head-writes read of every thread on its own, and the listing saved for other processes.
    heads = console.storage.head_writes(console.storage.thread_ids(10_000))
    loads = console.storage.saver.serde.loads_typed
    fast_heads = [
        row
        for thread_id, head in heads.items()
        for row in with_graph(console.graphs, head.graph_id, rows_from_head(head, loads) or [])
    ]
    assert fast_heads == sorted_like(slow, heads)
    console.inbox.flush()  # the saved listing is written behind the refresh
    assert saved_listing(console.storage, listing_reader("graph:AGENT")) == slow
    return fast


def sorted_like(rows: list[PendingInterrupt], heads: dict) -> list[PendingInterrupt]:
    """The same rows, threads in the order `heads` lists them."""
    order = {thread_id: index for index, thread_id in enumerate(heads)}
    return sorted(rows, key=lambda row: order[row.thread_id])


def rows_of(rows: list[PendingInterrupt], thread_id: str) -> list[PendingInterrupt]:
    return [row for row in rows if row.thread_id == thread_id]


def items(rows: list[PendingInterrupt], decision: dict | None = None) -> list[dict]:
    return [{"thread_id": r.thread_id, "interrupt_id": r.interrupt_id, "decision": decision or APPROVE} for r in rows]


def test_listing_equals_get_state_after_each_kind_of_change(
    store: tuple[ReviewConsole, SeedResult], db_path: Path
) -> None:
    console, seeded = store
    rows = assert_same(console, db_path)
    assert len(rows) == 3 * len(seeded.paused) == 12
    first, second, third, fourth = seeded.paused

    # A new thread, started through the console.
    job = console.start_run(THREE_SHAPES)
    job.result(timeout=30)
    rows = assert_same(console, db_path, changed=1)
    assert len(rows_of(rows, job.thread_id)) == 3

    # Partial resume through the console: 2 of 3 decided, the third stays pending with the same id.
    before = rows_of(rows, first)
    result = console.submit(items(before[:2]), "alice")
    assert result.exit_code == 0, result.to_dict()
    rows = assert_same(console, db_path, changed=1)
    assert [r.interrupt_id for r in rows_of(rows, first)] == [before[2].interrupt_id]

    # Full resume through the console: the thread leaves the listing.
    result = console.submit(items(rows_of(rows, second), reject("not now")), "alice")
    assert result.exit_code == 0, result.to_dict()
    rows = assert_same(console, db_path, changed=1)
    assert rows_of(rows, second) == []

    with outside_graph(db_path) as graph:
        # Outside the console: a new thread, a partial resume map, a full resume, a two-step thread advancing.
        graph.invoke(run_input(CLEAR), config("outside-new"))
        rows = assert_same(console, db_path, changed=1)
        assert len(rows_of(rows, "outside-new")) == 1

        pending = graph.get_state(config(third)).interrupts
        graph.invoke(Command(resume={pending[0].id: APPROVE, pending[1].id: APPROVE}), config(third))
        rows = assert_same(console, db_path, changed=1)
        assert [r.interrupt_id for r in rows_of(rows, third)] == [pending[2].id]

        graph.invoke(Command(resume={pending[2].id: APPROVE}), config(third))
        rows = assert_same(console, db_path, changed=1)
        assert rows_of(rows, third) == []

        graph.invoke(run_input(THEN_SEQUENCE), config("outside-steps"))
        rows = assert_same(console, db_path, changed=1)
        step_one = rows_of(rows, "outside-steps")
        graph.invoke(Command(resume={step_one[0].interrupt_id: APPROVE}), config("outside-steps"))
        rows = assert_same(console, db_path, changed=1)
        step_two = rows_of(rows, "outside-steps")
        assert [r.tool for r in step_two] == ["create_square"] and step_two != step_one

        # Deletion: a paused thread and a finished one.
        graph.checkpointer.delete_thread(fourth)
        rows = assert_same(console, db_path, changed=1)
        assert rows_of(rows, fourth) == []
        graph.checkpointer.delete_thread(seeded.finished[-1])
        assert_same(console, db_path, changed=1)

        # The clear-canvas thread's first question approved: its second question is a new row.
        clear_first = rows_of(rows, "outside-new")[0]
        graph.invoke(Command(resume={clear_first.interrupt_id: APPROVE}), config("outside-new"))
        rows = assert_same(console, db_path, changed=1)
        assert [r.interrupt_id for r in rows_of(rows, "outside-new")] != [clear_first.interrupt_id]

    # Deletion through the console's own saver.
    console.storage.saver.delete_thread(job.thread_id)
    rows = assert_same(console, db_path, changed=1)
    assert rows_of(rows, job.thread_id) == []

    # Another process writes new threads (2 paused, 1 finished) through the seeding CLI.
    done = subprocess.run(
        [sys.executable, "-m", "bench.seed", "--db", str(db_path), "--threads", "3", "--paused", "2"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    rows = assert_same(console, db_path, changed=3)

    # A console opened fresh (cold start) lists the same rows as the one that followed every change:
    # from the saved listing (written behind the first console's refresh: waited for), decoding nothing...
    console.inbox.flush()
    fresh = ReviewConsole.open(db_path, recover=False)
    try:
        assert fresh.pending() == rows
        assert fresh.inbox.last_saved_hits == len({row.thread_id for row in rows})
        assert fresh.inbox.last_state_reads == 0
    finally:
        fresh.close()
    # ...and, the saved listing gone, from the head writes.
    with console.storage.transaction() as conn:
        conn.execute("DELETE FROM review_listing")
    fresh = ReviewConsole.open(db_path, recover=False)
    try:
        assert fresh.pending() == rows
        assert fresh.inbox.last_saved_hits == 0 and fresh.inbox.last_get_state == 0
    finally:
        fresh.close()


def test_listing_equals_get_state_when_a_thread_changes_between_refreshes_many_times(
    store: tuple[ReviewConsole, SeedResult], db_path: Path
) -> None:
    """Several changes to several threads between two refreshes; a thread deleted and written again."""
    console, seeded = store
    assert_same(console, db_path)
    first, second = seeded.paused[:2]
    with outside_graph(db_path) as graph:
        for thread_id in (first, second):
            for item in graph.get_state(config(thread_id)).interrupts[:2]:
                graph.invoke(Command(resume={item.id: APPROVE}), config(thread_id))
        graph.checkpointer.delete_thread(first)
        graph.invoke(run_input(THREE_SHAPES), config(first))  # same id, a new conversation
        rows = assert_same(console, db_path, changed=2)
    assert len(rows_of(rows, first)) == 3 and len(rows_of(rows, second)) == 1


def test_reads_by_submit_and_thread_view_stay_equal_to_get_state(
    store: tuple[ReviewConsole, SeedResult], db_path: Path
) -> None:
    """The inbox remembers reads made for a submit; an outside change right after must still be seen."""
    console, seeded = store
    rows = assert_same(console, db_path)
    thread_id = seeded.paused[0]
    mine = rows_of(rows, thread_id)
    assert console.thread(thread_id).pending == mine
    result = console.submit(items(mine[:1]), "bob")
    assert result.exit_code == 0, result.to_dict()
    assert console.thread(thread_id).pending == mine[1:]
    with outside_graph(db_path) as graph:
        graph.invoke(Command(resume={mine[1].interrupt_id: APPROVE}), config(thread_id))
    assert console.thread(thread_id).pending == mine[2:]
    assert console.pending(thread_id) == mine[2:]
    assert_same(console, db_path)


def test_listing_stays_equal_while_resumes_run_in_the_workers(db_path: Path) -> None:
    """Workers read threads (and remember the reads) while the listing refreshes in another thread."""
    console = ReviewConsole.open(db_path)
    try:
        seeded = seed(db_path, threads=12, paused=8, templates=2, console=console)
        before = assert_same(console, db_path)
        # Two of the three rows of every paused thread, in one batch: resumes run on 4 workers at once.
        handle = console.submit_batch(
            [item for thread_id in seeded.paused for item in items(rows_of(before, thread_id)[:2])], "dora"
        )
        listings = []
        while not handle.done():
            listings.append(console.pending())
        result = handle.result(timeout=60)
        assert result.exit_code == 0, result.to_dict()
        assert len(result.applied) == 16
        after = assert_same(console, db_path)
        assert [row.key for row in after] == [rows_of(before, t)[2].key for t in sorted_threads(before)]
        for listing in listings:  # meanwhile: rows only left, none appeared
            assert {row.key for row in after} <= {row.key for row in listing} <= {row.key for row in before}
    finally:
        console.close()


def sorted_threads(rows: list[PendingInterrupt]) -> list[str]:
    return list(dict.fromkeys(row.thread_id for row in rows))
