"""Fill a store (a SQLite file or a PostgreSQL database) with threads of the demo agent, fast enough for 10,000.

The real graph runs a few template threads: some paused at 3 parallel interrupts, some run to
the end through approve / edit / reject decisions. Every other thread is a row-for-row SQL copy of
a template's checkpoints and writes under a new thread id. That is valid because LangGraph keeps
the thread id only in the key columns: checkpoint and write blobs never contain it (checked on
every template). A copy reads, lists and resumes like the original; its interrupt ids equal the
template's (they derive from checkpoint and task ids), which is fine: ids are unique per thread,
and the console keys everything by (thread_id, interrupt_id). The store's triggers see the copies
like any other write, so `review_thread_heads` stays right. PostgreSQL keeps channel values in a
third table (`checkpoint_blobs`, keyed by thread id too), which is copied the same way.

    python -m bench.seed --db PATH|postgresql://... --threads 10000 --paused 1000 [--bulk-kb 20] [--replace]
"""

from __future__ import annotations

import argparse
import contextlib
import random
import sqlite3
import sys
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage
from langgraph.types import Command

from review import ReviewConsole

COLOURS = ("red", "blue", "green", "orange", "purple", "black", "pink", "yellow")
KINDS = ("circle", "square", "triangle")
APPROVE = {"type": "approve"}

# How the finished templates were decided, in turn: all approved, one edited + one rejected, two steps.
_FINISH_PLANS = ("approve", "mixed", "two-steps", "approve", "mixed", "clear")


@dataclass
class SeedResult:
    """What `seed` wrote: thread ids by kind (templates included) and how long it took."""

    db: Path | str  # a SQLite file, or a PostgreSQL URL
    paused: list[str] = field(default_factory=list)
    finished: list[str] = field(default_factory=list)
    templates: int = 0
    seconds: float = 0.0
    template_seconds: float = 0.0

    @property
    def threads(self) -> int:
        return len(self.paused) + len(self.finished)


def config(thread_id: str) -> dict[str, Any]:
    return {"configurable": {"thread_id": thread_id}}


def three_shapes_prompt(n: int) -> str:
    c = [COLOURS[(n + i) % len(COLOURS)] for i in range(3)]
    return f"Create a {c[0]} circle c{n}, a {c[1]} square s{n} and a {c[2]} triangle t{n}"


def many_shapes_prompt(count: int) -> str:
    """One step with `count` parallel tool calls (`count` parallel interrupts)."""
    parts = [f"a {COLOURS[i % len(COLOURS)]} {KINDS[i % len(KINDS)]} x{i}" for i in range(count)]
    return "Create " + ", ".join(parts)


def bulk_history(kb: int, rng: random.Random) -> list[BaseMessage]:
    """Earlier conversation of about `kb` KB (2 KB messages), carried by every checkpoint of the thread."""
    history: list[BaseMessage] = []
    for i in range((kb + 1) // 2):
        text = " ".join(rng.choice(("note", "shape", "colour", "canvas", "review", "layer")) for _ in range(340))
        message = HumanMessage(text[:2048]) if i % 2 == 0 else AIMessage(text[:2048])
        history.append(message)
    return history


def run_input(prompt: str, history: Sequence[BaseMessage] = ()) -> dict[str, Any]:
    return {"messages": [*history, HumanMessage(prompt)], "canvas": []}


def pending_ids(graph: Any, thread_id: str) -> list[str]:
    return [item.id for item in graph.get_state(config(thread_id)).interrupts]


def run_paused(graph: Any, thread_id: str, prompt: str, history: Sequence[BaseMessage] = ()) -> list[str]:
    """Run the real graph on `prompt` until it pauses; return its pending interrupt ids."""
    graph.invoke(run_input(prompt, history), config(thread_id))
    return pending_ids(graph, thread_id)


def run_finished(graph: Any, thread_id: str, plan: str, n: int, history: Sequence[BaseMessage] = ()) -> None:
    """Run the real graph to the end, resuming every pause as `plan` says."""
    if plan == "two-steps":
        prompt = f"Draw a {COLOURS[n % 8]} circle c{n}, then a {COLOURS[(n + 3) % 8]} square s{n}"
    elif plan == "clear":
        prompt = "Clear the canvas"
    else:
        prompt = three_shapes_prompt(n)
    graph.invoke(run_input(prompt, history), config(thread_id))
    for _round in range(10):
        state = graph.get_state(config(thread_id))
        if not state.interrupts:
            return
        resume: dict[str, Any] = {}
        for index, item in enumerate(state.interrupts):
            resume[item.id] = APPROVE
            if plan == "mixed" and index == 0:
                args = {**item.value["args"], "color": "purple"}
                resume[item.id] = {"type": "edit", "edited_action": {"name": item.value["name"], "args": args}}
            elif plan == "mixed" and index == 1:
                resume[item.id] = {"type": "reject", "message": "not this one"}
        graph.invoke(Command(resume=resume), config(thread_id))
    raise RuntimeError(f"template thread {thread_id} did not finish")


def _is_postgres(db: str | Path) -> bool:
    return "://" in str(db)


# PostgreSQL: one INSERT ... SELECT per table copies the source under every target id (unnest).
_PG_COPIES = (
    "INSERT INTO checkpoints (thread_id, checkpoint_ns, checkpoint_id, parent_checkpoint_id, type, checkpoint, "
    "metadata) SELECT t.id, checkpoint_ns, checkpoint_id, parent_checkpoint_id, type, checkpoint, metadata "
    "FROM checkpoints, unnest(%(targets)s::text[]) AS t(id) WHERE thread_id = %(source)s",
    "INSERT INTO checkpoint_blobs (thread_id, checkpoint_ns, channel, version, type, blob) "
    "SELECT t.id, checkpoint_ns, channel, version, type, blob "
    "FROM checkpoint_blobs, unnest(%(targets)s::text[]) AS t(id) WHERE thread_id = %(source)s",
    "INSERT INTO checkpoint_writes (thread_id, checkpoint_ns, checkpoint_id, task_id, task_path, idx, channel, "
    "type, blob) SELECT t.id, checkpoint_ns, checkpoint_id, task_id, task_path, idx, channel, type, blob "
    "FROM checkpoint_writes, unnest(%(targets)s::text[]) AS t(id) WHERE thread_id = %(source)s",
)
_PG_SELF_MENTIONS = tuple(
    (f"{table}.{column}", f"SELECT COUNT(*) FROM {table} WHERE thread_id = ? AND {test} > 0")
    for table, column, test in (
        ("checkpoints", "checkpoint", "strpos(checkpoint::text, ?)"),
        ("checkpoints", "metadata", "strpos(metadata::text, ?)"),
        ("checkpoint_blobs", "blob", "position(convert_to(?, 'UTF8') in blob)"),
        ("checkpoint_writes", "blob", "position(convert_to(?, 'UTF8') in blob)"),
    )
)


def copy_thread(conn: sqlite3.Connection, source: str, targets: Sequence[str]) -> None:
    """Copy every checkpoint and write row of `source` under each id of `targets` (caller's transaction)."""
    conn.executemany(
        "INSERT INTO checkpoints (thread_id, checkpoint_ns, checkpoint_id, parent_checkpoint_id, type, checkpoint, "
        "metadata) SELECT ?, checkpoint_ns, checkpoint_id, parent_checkpoint_id, type, checkpoint, metadata "
        "FROM checkpoints WHERE thread_id = ?",
        [(target, source) for target in targets],
    )
    conn.executemany(
        "INSERT INTO writes (thread_id, checkpoint_ns, checkpoint_id, task_id, task_path, idx, channel, type, value) "
        "SELECT ?, checkpoint_ns, checkpoint_id, task_id, task_path, idx, channel, type, value "
        "FROM writes WHERE thread_id = ?",
        [(target, source) for target in targets],
    )


def check_copyable(storage: Any, thread_id: str) -> None:
    """Refuse to copy a thread whose blobs mention its own id (copies would then be wrong)."""
    if storage.writes_table == "checkpoint_writes":  # PostgreSQL
        for where, sql in _PG_SELF_MENTIONS:
            if storage.query(sql, (thread_id, thread_id))[0][0]:
                raise RuntimeError(f"{where} of {thread_id} contains the thread id: rows cannot be copied")
        return
    needle = thread_id.encode()
    for table, column in (("checkpoints", "checkpoint"), ("checkpoints", "metadata"), ("writes", "value")):
        hits = storage.query(
            f"SELECT COUNT(*) FROM {table} WHERE thread_id = ? AND instr({column}, ?) > 0", (thread_id, needle)
        )[0][0]
        if hits:
            raise RuntimeError(f"{table}.{column} of {thread_id} contains the thread id: rows cannot be copied")


def copy_threads(console: ReviewConsole, source: str, count: int) -> list[str]:
    """`count` new threads, each a copy of `source`, in one transaction; returns their ids."""
    targets = [uuid.uuid4().hex for _ in range(count)]
    with console.storage.transaction() as conn:  # type: ignore[attr-defined]
        if _is_postgres(console.settings.db):
            for sql in _PG_COPIES:
                conn.execute(sql, {"targets": targets, "source": source})
        else:
            copy_thread(conn, source, targets)
    return targets


def seed(
    db: str | Path,
    threads: int = 10_000,
    paused: int = 1_000,
    *,
    bulk_kb: int = 0,
    templates: int = 8,
    rng_seed: int = 0,
    replace: bool = False,
    console: ReviewConsole | None = None,
) -> SeedResult:
    """Add `threads` threads to the store at `db`: `paused` of them paused at 3 interrupts, the rest finished.

    `templates` real runs of each kind (at most); everything else is copied from them. Pass an open
    `console` to seed through it (tests), else one is opened and closed here.
    """
    if paused > threads:
        raise ValueError("--paused cannot exceed --threads")
    path = Path(db)
    if replace and console is None and _is_postgres(db):
        _empty_postgres(str(db))
    elif replace and console is None:
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
    started = time.perf_counter()
    rng = random.Random(rng_seed)
    own = console is None
    console = console or ReviewConsole.open(db, recover=False)
    result = SeedResult(db=db if _is_postgres(db) else path)
    try:
        graph = console.graph
        history = bulk_history(bulk_kb, rng) if bulk_kb else []
        paused_templates = [uuid.uuid4().hex for _ in range(min(templates, paused))]
        finished_templates = [uuid.uuid4().hex for _ in range(min(templates, threads - paused))]
        for n, thread_id in enumerate(paused_templates):
            if len(run_paused(graph, thread_id, three_shapes_prompt(n), history)) != 3:
                raise RuntimeError("a paused template should hold 3 interrupts")
        for n, thread_id in enumerate(finished_templates):
            run_finished(graph, thread_id, _FINISH_PLANS[n % len(_FINISH_PLANS)], n, history)
        result.template_seconds = time.perf_counter() - started
        for thread_id in paused_templates + finished_templates:
            check_copyable(console.storage, thread_id)
        result.paused = list(paused_templates)
        result.finished = list(finished_templates)
        for kind, sources, total in (
            (result.paused, paused_templates, paused),
            (result.finished, finished_templates, threads - paused),
        ):
            remaining = total - len(sources)
            for index, source in enumerate(sources):
                share = remaining // len(sources) + (1 if index < remaining % len(sources) else 0)
                for start in range(0, share, 2_000):  # a transaction per 2,000 copies keeps the WAL small
                    kind.extend(copy_threads(console, source, min(2_000, share - start)))
        result.templates = len(paused_templates) + len(finished_templates)
        if _is_postgres(db):
            _settle_postgres(str(db))
    finally:
        if own:
            console.close()
    result.seconds = time.perf_counter() - started
    return result


def _settle_postgres(url: str) -> None:
    """After a bulk load, what autovacuum would soon do: the planner's statistics, and the visibility map that lets
    index-only scans skip the heap. Measured right after the load without it, a refresh of one changed thread took
    1.6 ms instead of 1.3 ms (autovacuum then runs beside the figures). Then a CHECKPOINT writes the load's dirty
    pages out now, not in the background beside the figures (a role without the right to ask skips it)."""
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:  # VACUUM runs outside a transaction
        conn.execute("VACUUM (ANALYZE)")
        with contextlib.suppress(psycopg.errors.InsufficientPrivilege):
            conn.execute("CHECKPOINT")


def _empty_postgres(url: str) -> None:
    """--replace on PostgreSQL: drop the tables the console and LangGraph made (the database stays)."""
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(
            "DROP TABLE IF EXISTS checkpoints, checkpoint_blobs, checkpoint_writes, checkpoint_migrations, "
            "review_meta, review_decisions, review_leases, review_thread_heads CASCADE"
        )
        conn.execute("DROP SEQUENCE IF EXISTS review_feed_seq")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.seed", description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", required=True, help="SQLite file (created when missing) or postgresql:// URL")
    parser.add_argument("--threads", type=int, default=10_000, help="threads to add (default 10,000)")
    parser.add_argument("--paused", type=int, default=1_000, help="of which paused at 3 interrupts (default 1,000)")
    parser.add_argument("--bulk-kb", type=int, default=0, help="extra conversation per thread, in KB (default 0)")
    parser.add_argument("--templates", type=int, default=8, help="real runs per kind; the rest are copies")
    parser.add_argument("--seed", type=int, default=0, help="random seed of the bulk text")
    parser.add_argument("--replace", action="store_true", help="delete the file (drop the tables) first")
    args = parser.parse_args(argv)
    if not args.replace and not _is_postgres(args.db) and Path(args.db).exists():
        print(f"{args.db} exists: adding threads to it (use --replace to start empty)", file=sys.stderr)
    result = seed(
        args.db,
        args.threads,
        args.paused,
        bulk_kb=args.bulk_kb,
        templates=args.templates,
        rng_seed=args.seed,
        replace=args.replace,
    )
    print(
        f"seeded {result.threads} threads ({len(result.paused)} paused, {len(result.finished)} finished; "
        f"{result.templates} real runs, the rest copies) into {result.db} in {result.seconds:.1f} s"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
