"""What only the PostgreSQL backend has to get right: its URL and errors, its fence, its feed's order,
its notifications, and a connection lost in the middle of a run.

The rest of the core suite runs on both backends (tests/conftest.py `store_url`).
"""

from __future__ import annotations

import contextlib
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from review import LeaseLost, ReviewConsole, Settings, StoreError
from review.cli import main as cli_main
from review.storage import LEASE_TOKEN_KEY, open_storage, redact_url
from review.storage.postgres import PostgresStorage
from scripts.pg_cluster import PASSWORD, PASSWORD_ROLE, Cluster
from tests.conftest import THEN_SEQUENCE, THREE_SHAPES
from tests.core.crash_harness import forks, read_lines
from tests.helpers import APPROVE, batch, new_decision


@pytest.fixture
def url(pg_cluster: Cluster) -> str:
    return pg_cluster.create_database(f"pg_{uuid.uuid4().hex[:16]}")


@pytest.fixture
def effect_log(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "effects.jsonl"
    monkeypatch.setenv("CANVAS_EFFECT_LOG", str(path))
    return path


@pytest.fixture
def pg_console(url: str) -> Iterator[ReviewConsole]:
    opened = ReviewConsole.open(url)
    yield opened
    opened.close()


# --- URLs, credentials, versions: one clear line, never the password ---------------------------------


def test_the_label_never_shows_the_password() -> None:
    assert redact_url("postgresql://kim:s3cr3t@db.example:5432/review") == "postgresql://kim@db.example:5432/review"
    assert redact_url("postgresql://kim@h/review?password=s3cr3t&sslmode=require") == (
        "postgresql://kim@h/review?sslmode=require"
    )
    assert redact_url("data/review.sqlite") == "data/review.sqlite"


def test_a_password_role_works_and_its_password_is_shown_nowhere(pg_cluster: Cluster) -> None:
    name = f"pw_{uuid.uuid4().hex[:12]}"
    pg_cluster.create_database(name)
    good = pg_cluster.url(name, PASSWORD_ROLE, PASSWORD)
    with psycopg.connect(pg_cluster.url(name), autocommit=True) as admin:
        admin.execute(f"ALTER DATABASE {name} OWNER TO {PASSWORD_ROLE}")
        admin.execute(f"GRANT ALL ON SCHEMA public TO {PASSWORD_ROLE}")
    console = ReviewConsole.open(good)
    try:
        assert console.db_label == f"postgresql://{PASSWORD_ROLE}@127.0.0.1:{pg_cluster.port}/{name}"
        assert PASSWORD not in console.db_label and all(PASSWORD not in p for p in console.health())
        assert len(console.start_run(THREE_SHAPES).result(timeout=30).new_pending) == 3
    finally:
        console.close()


@pytest.mark.parametrize(
    ("make_url", "expected"),
    [
        (lambda c: c.url("postgres", PASSWORD_ROLE, "wrong-password"), "refused the credentials of user 'reviewer'"),
        (lambda c: f"postgresql://postgres:pw@127.0.0.1:{c.port}/no_such_db", "that database does not exist"),
        (lambda c: f"postgresql://nobody:pw@127.0.0.1:{c.port}/postgres", "that user does not exist"),
        (lambda c: "postgresql://kim:pw@127.0.0.1:9/review", "the server cannot be reached"),
    ],
    ids=["wrong-password", "missing-database", "unknown-user", "unreachable"],
)
def test_unusable_servers_get_one_clear_line_without_the_password(
    pg_cluster: Cluster, make_url: object, expected: str, capsys: pytest.CaptureFixture[str]
) -> None:
    target = make_url(pg_cluster)  # type: ignore[operator]
    with pytest.raises(StoreError) as raised:
        ReviewConsole.open(target, settings=Settings(db=target, connect_timeout_seconds=3))
    message = str(raised.value)
    assert expected in message and "\n" not in message
    assert redact_url(target) in message
    assert "wrong-password" not in message and ":pw@" not in message
    # the CLI says the same, exit 2, nothing else on stdout
    assert cli_main(["--db", target, "pending"]) == 2
    out = capsys.readouterr().out
    assert expected in out and "wrong-password" not in out and ":pw@" not in out


def test_tables_of_another_schema_version_are_refused(url: str) -> None:
    ReviewConsole.open(url).close()
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("UPDATE review_meta SET value = '9' WHERE key = 'schema_version'")
    with pytest.raises(StoreError, match="schema version 9, this console needs version 3") as raised:
        ReviewConsole.open(url)
    assert "\n" not in str(raised.value)


def test_only_a_command_that_creates_makes_the_tables(url: str) -> None:
    with pytest.raises(StoreError, match="no review tables in"):
        open_storage(Settings(db=url), create=False)
    with psycopg.connect(url) as conn:  # nothing was made
        assert conn.execute("SELECT to_regclass('review_decisions')").fetchone() == (None,)
    store = open_storage(Settings(db=url), create=True)
    try:
        assert store.created
    finally:
        store.close()
    again = open_storage(Settings(db=url), create=False)
    again.close()
    assert not again.created


def test_two_consoles_opening_a_fresh_database_at_once_both_work(url: str) -> None:
    opened: list[ReviewConsole] = []
    errors: list[BaseException] = []

    def open_one() -> None:
        try:
            opened.append(ReviewConsole.open(url))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=open_one) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    try:
        assert errors == [] and len(opened) == 3
        assert sum(console.created for console in opened) == 1  # one of them made the tables
    finally:
        for console in opened:
            console.close()


# --- the fence ---------------------------------------------------------------------------------------


def test_a_write_with_a_lost_token_is_refused_whole(pg_console: ReviewConsole) -> None:
    rows = pg_console.start_run(THREE_SHAPES).result(timeout=30).new_pending
    thread_id = rows[0].thread_id
    saver = pg_console.storage.saver
    head = saver.get_tuple({"configurable": {"thread_id": thread_id}})
    assert head is not None
    counted = "SELECT COUNT(*) FROM checkpoint_writes WHERE thread_id = ?"
    before = pg_console.storage.query(counted, (thread_id,))[0][0]
    token = pg_console.leases.acquire(thread_id, "resume")
    assert token is not None
    config = {**head.config, "configurable": {**head.config["configurable"], LEASE_TOKEN_KEY: token}}
    saver.put_writes(config, [("probe", 1)], "task-with-the-lease")  # holds the lease: written
    # recovery takes the lease over (a new token): the old token's next write must not land
    (row,) = [r for r in pg_console.storage.leases() if r.thread_id == thread_id]
    assert pg_console.storage.take_over_lease(row, "someone-else:1:x", "new-token", time.time() + 60, "recover", "now")
    with pytest.raises(LeaseLost, match="taken over"):
        saver.put_writes(config, [("probe", 2), ("other", 3)], "task-without-the-lease")
    no_token = {"configurable": dict(head.config["configurable"])}
    with pytest.raises(LeaseLost, match="being run by a console"):  # a tokenless writer waits for a live lease
        saver.put_writes(no_token, [("probe", 4)], "outside-task")
    assert pg_console.storage.query(counted, (thread_id,))[0][0] == before + 1
    pg_console.storage.end_lease(thread_id, "new-token", state=None)
    pg_console.leases.release(thread_id, token)


def test_the_claims_generic_plan_stays_in_its_transaction(pg_console: ReviewConsole) -> None:
    """The claim plans its statements generically (`_claim_transaction`); the saver's connections it ran on go back
    to the pool planning as before, for LangGraph's own statements."""
    storage = pg_console.storage
    decision = new_decision(thread_id="t-plan")
    claimed, held, waiting = storage.claim([decision], "b1", "host:1:a", time.time() + 60, "now")
    assert (claimed, held, waiting) == (["i1"], {}, {})
    pool = storage.saver.pool  # type: ignore[attr-defined]
    with contextlib.ExitStack() as stack:  # every connection of the pool at once: the claim's is among them
        connections = [stack.enter_context(pool.connection()) for _ in range(pool.max_size)]
        modes = {conn.execute("SHOW plan_cache_mode").fetchone()[0] for conn in connections}
    assert modes == {"auto"}


# --- the change feed ---------------------------------------------------------------------------------


def _raw_checkpoint(conn: psycopg.Connection, thread_id: str) -> None:
    conn.execute(
        "INSERT INTO checkpoints (thread_id, checkpoint_ns, checkpoint_id, checkpoint, metadata) "
        "VALUES (%s, '', %s, '{}'::jsonb, '{}'::jsonb)",
        (thread_id, uuid.uuid4().hex),
    )


def test_a_slow_transaction_that_commits_after_a_faster_one_is_not_missed(pg_console: ReviewConsole, url: str) -> None:
    """Feed positions follow commit order: a reader that moved past a later commit still sees the earlier one.

    With a sequence taken at INSERT time, the slow writer's position (lower) would be committed after the
    reader had moved past the fast writer's (higher), and the slow thread would never be re-read.
    """
    storage = pg_console.storage
    top = storage.changes_since(0).top
    with psycopg.connect(url) as slow, psycopg.connect(url, autocommit=True) as fast:
        _raw_checkpoint(slow, "slow-thread")  # its transaction stays open
        _raw_checkpoint(fast, "fast-thread")
        seen = storage.changes_since(top)
        assert [t for t, _ in seen.changed] == ["fast-thread"]
        slow.commit()
    after = storage.changes_since(seen.top)
    assert [t for t, _ in after.changed] == ["slow-thread"] and after.top > seen.top


def test_a_write_by_another_process_moves_the_change_token_without_a_query(
    pg_console: ReviewConsole, url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    storage = pg_console.storage
    assert isinstance(storage, PostgresStorage)
    assert storage.listener.connected.wait(10)
    token = pg_console.change_token()
    monkeypatch.setattr(storage, "_rows", lambda *a, **k: pytest.fail("change_token queried the database"))
    assert pg_console.change_token() == token  # nothing changed: the token stays
    other = ReviewConsole.open(url)
    try:
        written = time.monotonic()
        other.start_run(THEN_SEQUENCE).result(timeout=30)
        moved = pg_console.wait_for_change(token, timeout=5)
        assert moved != token and time.monotonic() - written < 5
    finally:
        other.close()
    monkeypatch.undo()
    assert [r.tool for r in pg_console.pending()] == ["create_circle"]


def test_the_live_inbox_route_is_woken_by_listen_not_by_its_next_look(
    pg_console: ReviewConsole, url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """serve.py's change route (ui/live.py) on PostgreSQL: another process's interrupt ends the feed's pause
    between two looks at once. With the look every 30 s, only LISTEN can make the route answer within 10 s."""
    import asyncio

    from review.console import InboxWatch
    from ui import live

    monkeypatch.setattr(live, "CHECK_SECONDS", 30.0)
    watch = InboxWatch(pg_console.settings)
    feed = live.ChangeFeed(watch.read, watch.wait)
    other = ReviewConsole.open(url)

    async def scenario() -> tuple[str, str, float]:
        first = await feed.wait(None, hold=10)  # the first look
        storage = watch._storage
        assert isinstance(storage, PostgresStorage) and storage.listener.connected.wait(10)
        await asyncio.sleep(0.2)  # the feed is now in its 30 s pause
        started = time.monotonic()
        job = await asyncio.to_thread(other.start_run, THEN_SEQUENCE)
        await asyncio.to_thread(job.result, 30)
        moved = await feed.wait(first, hold=10)
        took = time.monotonic() - started
        storage.close()  # wakes the feed's parked pause, so the loop ends without waiting it out
        return first, moved, took

    try:
        first, moved, took = asyncio.run(scenario())
    finally:
        other.close()
    assert moved != first and took < 10


# --- a connection lost mid-run: reported or retried, never a lost decision -----------------------------


def _terminate_backends(url: str, pid: int) -> int:
    with psycopg.connect(url, autocommit=True) as admin:
        rows = admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = %s",
            (f"review-console:{pid}",),
        ).fetchall()
    return len(rows)


def test_connections_killed_between_the_claim_and_the_resume_lose_no_decision(
    pg_console: ReviewConsole, url: str, effect_log: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import os

    rows = pg_console.start_run(THREE_SHAPES).result(timeout=30).new_pending
    thread_id = rows[0].thread_id
    apply = pg_console.runner.apply

    def cut_then_apply(thread: str, batch_id: str):  # type: ignore[no-untyped-def]
        assert _terminate_backends(url, os.getpid()) >= 1  # the server drops every connection of this process
        return apply(thread, batch_id)

    monkeypatch.setattr(pg_console.runner, "apply", cut_then_apply)
    result = pg_console.submit(batch(rows, {t: APPROVE for t in ("create_circle", "create_square")}), "kim")
    # Only the cut is undone: `monkeypatch.undo()` also dropped the effect log's variable, so decisions recovery
    # applied (more often under load) ran their tools unlogged and the effects check failed.
    monkeypatch.setattr(pg_console.runner, "apply", apply)
    outcome = result.threads[thread_id]
    decided = sorted(r.row_id for r in rows if r.tool != "create_triangle")
    # Each decision is either applied, or handed to recovery with the reason; none is silently lost.
    assert sorted(outcome.applied + outcome.unknown) == decided, result.to_dict()
    pg_console.recovery.run_once(timeout=30)
    audit = {entry.row_id: entry.status for entry in pg_console.audit()}
    assert sorted(audit) == decided and set(audit.values()) == {"applied"}
    assert [r.tool for r in pg_console.pending()] == ["create_triangle"]
    assert sorted(e["shape_id"] for e in read_lines(effect_log)) == ["c1", "s1"]  # each effect once
    assert forks(url, thread_id) == 0
    # the listener reconnected and the store keeps working
    assert pg_console.storage.listener.connected.wait(10)  # type: ignore[attr-defined]
    assert pg_console.health() == []


def test_a_connection_lost_during_a_checkpoint_write_is_reported_and_recovery_finishes_once(
    pg_console: ReviewConsole, url: str, effect_log: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The server goes away while a resume's write is on the wire: the run fails, the decision is not lost."""
    rows = pg_console.start_run(THREE_SHAPES).result(timeout=30).new_pending
    thread_id = rows[0].thread_id
    saver = pg_console.storage.saver
    real_put_writes = saver.put_writes
    calls = {"n": 0}

    def lost_on_the_wire(config, writes, task_id, task_path=""):  # type: ignore[no-untyped-def]
        if any(channel == "messages" for channel, _ in writes):
            calls["n"] += 1
        if calls["n"] == 1:  # the circle's result: its effect happened, its write never arrives
            raise psycopg.OperationalError("server closed the connection unexpectedly")
        return real_put_writes(config, writes, task_id, task_path)

    monkeypatch.setattr(saver, "put_writes", lost_on_the_wire)
    result = pg_console.submit(batch(rows, {"create_circle": APPROVE}), "kim")
    monkeypatch.setattr(saver, "put_writes", real_put_writes)  # not `undo()`: the effect log's variable must stay
    outcome = result.threads[thread_id]
    (circle,) = [r.row_id for r in rows if r.tool == "create_circle"]
    assert outcome.applied == [] and outcome.unknown == [circle], result.to_dict()
    assert "OperationalError" in (outcome.error or "") and result.exit_code == 1
    (recovered,) = pg_console.recovery.run_once(timeout=30)
    assert recovered.applied == [circle] and recovered.rerun == [circle]
    assert [(e.status, e.rerun) for e in pg_console.audit()] == [("applied", True)]
    assert [e["shape_id"] for e in read_lines(effect_log)] == ["c1"]  # re-run, but its effect once (by key)
    assert forks(url, thread_id) == 0
