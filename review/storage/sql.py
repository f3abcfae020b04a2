"""The console's tables in SQL (`?` placeholders), written once: `Storage`, what the review core asks of its database.

A backend (sqlite.py, postgres.py) subclasses it with what truly differs: connecting, schema and migration, the change
feed, the fenced saver's transaction, error text, and the dialect hooks (`_rows`, `transaction`, `_run`, `_in`...)."""

from __future__ import annotations

import functools
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import fields
from typing import TYPE_CHECKING, Any, Concatenate, ParamSpec, TypeVar

from review import cosign
from review.cosign import CoSigns, Signature
from review.storage.base import (
    SIGNATURE_COLUMNS,
    Changes,
    ChangeToken,
    CheckpointWrite,
    Claim,
    Finish,
    HeadWrites,
    Holder,
    LeaseRow,
    MayTake,
    NewDecision,
    StoreError,
    TaskWrite,
    ThreadStart,
)

if TYPE_CHECKING:  # imported lazily: `python -m review pending` lists rows without loading LangGraph
    from langgraph.checkpoint.base import BaseCheckpointSaver

SCHEMA_VERSION = 3  # 3: heads know their graph; the log keeps identity, co-signers, raised_at (2 is carried over)
INTERRUPT_CHANNEL = "__interrupt__"  # LangGraph's channel name (checked in tests/core/test_store.py)

_P = ParamSpec("_P")
_R = TypeVar("_R")
_S = TypeVar("_S", bound="Storage")
_E = TypeVar("_E", HeadWrites, ThreadStart)
_Make = Callable[[str, str, str | None, str | None], _E]  # (thread id, checkpoint id, ts, graph id) -> edge

CLAIM_COLUMNS = ", ".join(field.name for field in fields(Claim)).replace("resume_started", "resume_started_at")

# The console's own tables in both dialects, but for the types {serial} (attempt ids), {real} (lease times) and {bigint}
# (feed positions). Each backend adds its change feed's heads and its own indexes.
CONSOLE_TABLES = """
CREATE TABLE IF NOT EXISTS review_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);

-- The decision log, append-only: one row per attempt, its outcome filled in once known. An inbox row is held by at most
-- one claimed or applied attempt (the partial unique index); a failed one frees it, and every attempt's record stays.
CREATE TABLE IF NOT EXISTS review_decisions (
    attempt_id        {serial},
    thread_id         TEXT NOT NULL,
    row_id            TEXT NOT NULL,     -- the inbox row: <interrupt_id>, or <interrupt_id>#n for a batched part
    interrupt_id      TEXT NOT NULL,     -- LangGraph's interrupt id
    batch_id          TEXT NOT NULL,
    reviewer          TEXT NOT NULL,
    decided_at        TEXT NOT NULL,
    tool              TEXT,
    tool_call_id      TEXT,
    decision_type     TEXT NOT NULL,
    resume_json       TEXT NOT NULL,
    args_before       TEXT,
    args_after        TEXT,
    message           TEXT,
    status            TEXT NOT NULL DEFAULT 'claimed',  -- claimed | applied | failed | cosign (+ cosigned, superseded)
    owner             TEXT NOT NULL,     -- who must apply it (host:pid:id); '' = released to recovery
    lease_until       {real} NOT NULL,     -- the owner's heartbeat; past it, recovery may take over
    resume_started_at TEXT,              -- a resume carrying it began (a crash after it may have run the tool)
    tries             INTEGER NOT NULL DEFAULT 0,  -- resumes that carried it
    recovered_from    TEXT,              -- the owner recovery took it over from
    rerun             INTEGER NOT NULL DEFAULT 0,  -- recovery re-sent it after a resume had started
    applied_at        TEXT,
    applied_by        TEXT,
    error             TEXT,
    warning           TEXT,              -- a forced decision: the unsafe-layout warning it was sent despite
    identity          TEXT,              -- who the policy checked: an email / sub, cli:<os user>, rule:<name>
    issuer            TEXT,              -- the sign-in's issuer (signed-in identities only)
    verification      TEXT,              -- signed-in | unverified | cli | rule
    co_signers        TEXT,              -- four eyes: every approver of the claim, in order
    raised_at         TEXT,              -- when the interrupt was raised (how long it waited)
    outcome_check     TEXT,              -- read after the resume: verified | contradicted: <what> | not checkable
    proposal          TEXT,              -- four eyes: digest of what co-signers agree on (review/cosign.py)
    channel           TEXT               -- where it was decided: console | link | cli | rule | api
);
review_decisions;  -- a table's name: `create_schema` adds its LATER_COLUMNS here, when missing (before its indexes)
-- Applied decisions the graph did not honour (review/verify.py): the Inbox shows them like failed runs.
CREATE INDEX IF NOT EXISTS review_decisions_contradicted ON review_decisions(attempt_id)
    WHERE outcome_check LIKE 'contradicted%';
CREATE UNIQUE INDEX IF NOT EXISTS review_decisions_holding
    ON review_decisions(thread_id, row_id) WHERE status IN ('claimed', 'applied');
CREATE INDEX IF NOT EXISTS review_decisions_thread ON review_decisions(thread_id, interrupt_id);
CREATE INDEX IF NOT EXISTS review_decisions_claimed ON review_decisions(status) WHERE status = 'claimed';
CREATE INDEX IF NOT EXISTS review_decisions_time ON review_decisions(decided_at);

-- A reviewer's unsent decisions, one row per inbox row, so a reload or a restart loses nothing.
CREATE TABLE IF NOT EXISTS review_drafts (
    reviewer   TEXT NOT NULL,
    row_key    TEXT NOT NULL,
    entry      TEXT NOT NULL,   -- JSON: thread_id, row_id, tool, args, decision, edited, message
    updated_at TEXT NOT NULL,
    PRIMARY KEY (reviewer, row_key)
);

-- The pending rows of each paused thread as listed at a feed position: a new process lists without decoding them.
CREATE TABLE IF NOT EXISTS review_listing (
    thread_id TEXT PRIMARY KEY,
    seq       {bigint} NOT NULL,
    reader    TEXT NOT NULL,    -- the code version that listed it; other versions ignore the row
    rows      TEXT NOT NULL     -- JSON list of PendingInterrupt.to_dict()
);

-- One run of a thread at a time, across processes (the fenced saver checks `token`); kept after a run is cut short.
CREATE TABLE IF NOT EXISTS review_leases (
    thread_id     TEXT PRIMARY KEY,
    owner         TEXT NOT NULL,
    token         TEXT NOT NULL,
    lease_until   {real} NOT NULL,
    kind          TEXT NOT NULL,
    state         TEXT NOT NULL DEFAULT 'running',
    since         TEXT NOT NULL,
    checkpoint_id TEXT,
    error         TEXT,
    tries         INTEGER NOT NULL DEFAULT 0
);
"""

# Columns that came within schema version 3: a full open adds those a store lacks (ALTER TABLE locks the table).
LATER_COLUMNS = {
    "review_decisions": "warning identity issuer verification co_signers raised_at outcome_check proposal channel",
    "review_thread_heads": "graph_id paused",
}


def console_schema(serial: str, real: str, bigint: str, extra: str = "") -> list[str]:
    """The statements that create the console's tables in a dialect (see CONSOLE_TABLES), then `extra`'s."""
    return split_script(CONSOLE_TABLES.format(serial=serial, real=real, bigint=bigint) + extra)


def create_schema(
    run: Callable[[str], object], schema: Sequence[str], columns: Callable[[str], Iterable[str]], paused: str
) -> bool:
    """Run `schema`, adding at a table's name the LATER_COLUMNS it lacks; True if the heads gained one (refill them)."""
    refill = False
    for statement in schema:
        if statement not in LATER_COLUMNS:
            run(statement)
            continue
        present = set(columns(statement))
        added = [name for name in LATER_COLUMNS[statement].split() if name not in present]
        for name in added:
            run(f"ALTER TABLE {statement} ADD COLUMN {name} {paused if name == 'paused' else 'TEXT'}")
        refill = refill or (statement == "review_thread_heads" and bool(added))
    run(
        f"INSERT INTO review_meta(key, value) VALUES ('schema_version', '{SCHEMA_VERSION}') "
        "ON CONFLICT (key) DO UPDATE SET value = excluded.value"
    )
    return refill


def is_current(version: object, columns: Callable[[str], Iterable[str]]) -> bool:
    """The store is of this version with every column it added within it: a light open may skip the migration."""
    return str(version) == str(SCHEMA_VERSION) and all(
        set(names.split()) <= set(columns(table)) for table, names in LATER_COLUMNS.items()
    )


def split_script(script: str) -> list[str]:
    """The statements of a schema script (its `--` comments removed; they may hold semicolons)."""
    code = "\n".join(line.split("--", 1)[0] for line in script.splitlines())
    return [part.strip() for part in code.split(";") if part.strip()]


def store_errors(method: Callable[Concatenate[_S, _P], _R]) -> Callable[Concatenate[_S, _P], _R]:
    """Turn the driver's errors (`errors` of the store) in a storage method into one StoreError line."""

    @functools.wraps(method)
    def wrapper(self: _S, /, *args: _P.args, **kwargs: _P.kwargs) -> _R:
        try:
            return method(self, *args, **kwargs)
        except self.errors as exc:
            raise StoreError(self._describe(exc)) from exc

    return wrapper


def keep_head_write(head: HeadWrites, task_id: str, task_path: str | None, channel: str, kind: Any, blob: Any) -> None:
    """Add a write read with a head checkpoint to `head` (its value for interrupts only)."""
    value = (kind, bytes(blob)) if channel == INTERRUPT_CHANNEL and kind is not None else None
    head.writes.append(TaskWrite(task_id, task_path or "", channel, value))


def collect_edges(
    found: dict[str, _E], rows: Iterable[Any], key: int, at: int, make: Callable[[Any], _E], keep: Callable[..., None]
) -> dict[str, _E]:
    """Group an edge read's rows by thread (`row[key]`) into `found`: `make(row)` of its first row, then `keep` each
    write (the columns from `at` on; a checkpoint with no writes has one row of NULLs there)."""
    for row in rows:
        got = found.get(row[key])
        if got is None:
            got = found[row[key]] = make(row)
        if row[at] is not None:
            keep(got, *row[at:])
    return found


def claim_row(row: Any) -> Claim:
    """A claimed attempt read from its row (`CLAIM_COLUMNS`)."""
    values: dict[str, Any] = {field.name: row[field.name] for field in fields(Claim) if field.name != "resume_started"}
    return Claim(**values, resume_started=row["resume_started_at"] is not None)


def lease_row(row: Any) -> LeaseRow:
    """A lease read from its row."""
    return LeaseRow(**{field.name: row[field.name] for field in fields(LeaseRow)})


# The columns a new attempt fills in: from the decision, or given by the claim.
_RECORDED_COLUMNS = (
    "thread_id, row_id, interrupt_id, batch_id, reviewer, identity, issuer, verification, decided_at, tool, "
    "tool_call_id, decision_type, resume_json, args_before, args_after, message, status, owner, lease_until, "
    "warning, co_signers, raised_at, proposal, channel"
)
_RECORDED = tuple(_RECORDED_COLUMNS.split(", "))
_CLAIMS = f"SELECT {CLAIM_COLUMNS} FROM review_decisions WHERE thread_id = ? AND owner = ? AND status = 'claimed'"
# What a run's idempotency keys are made of (review/idempotency.py).
_DECISION_KEYS = (
    "SELECT tool_call_id, interrupt_id, row_id FROM review_decisions "
    "WHERE thread_id = ? AND status IN ('claimed', 'applied') ORDER BY attempt_id"
)
_VERDICT_CHUNK = 200  # attempts per verdicts statement: 3 parameters each, under SQLite's oldest limit (999)


class _ClaimSteps:
    """The steps `review.cosign.claim` runs in the claim transaction `conn`, in a fixed number of statements whatever
    the batch's size (co-signs read with the holders, attempts inserted by `flush`); a row asked twice is read again."""

    def __init__(
        self, store: Storage, conn: Any, thread_id: str, batch_id: str, now: str, row_ids: Sequence[str]
    ) -> None:
        self.store, self.conn, self.thread_id, self.batch_id, self.now = store, conn, thread_id, batch_id, now
        self.row_ids = sorted(set(row_ids))
        self._signed: dict[str, list[Signature]] | None = None  # row -> its waiting co-signs, read once
        self._asked: set[str] = set()  # rows whose co-signs were handed out: the caller may have changed them
        self._new: list[tuple[Any, ...]] = []  # attempts recorded, not inserted yet

    def holders(self, interrupt_ids: Sequence[str]) -> list[Holder]:
        holders, self._signed = self._read(self.row_ids, interrupt_ids)
        return holders

    def signed(self, row_id: str) -> list[Signature]:
        if row_id in self._asked:
            self.flush()
            return self._read([row_id])[1].get(row_id, [])
        self._asked.add(row_id)
        if self._signed is None:
            self._signed = self._read(self.row_ids)[1]
        return self._signed.get(row_id, [])

    def _read(self, ids: Sequence[str], held: Sequence[str] = ()) -> tuple[list[Holder], dict[str, list[Signature]]]:
        """The waiting co-signs of rows `ids`, and in the same statement (one round trip) the holders of `held`."""
        among, params = self.store._in("row_id", ids)
        holding, held_params = self.store._in("interrupt_id", held) if held else ("1 = 0", ())
        rows = self.store._run(
            self.conn,
            f"SELECT status, decided_at, {SIGNATURE_COLUMNS} FROM review_decisions WHERE thread_id = ? AND ("
            f"(status IN ('claimed', 'applied') AND {holding}) OR (status = 'cosign' AND {among})) ORDER BY attempt_id",
            (self.thread_id, *held_params, *params),
        ).fetchall()
        holders: list[Holder] = []
        signed: dict[str, list[Signature]] = {}
        for row in rows:
            if row[0] == "cosign":
                sign = Signature.from_columns(*row[2:])
                signed.setdefault(sign.row_id, []).append(sign)
            else:  # (row_id, reviewer, decided_at, decision_type, status)
                holders.append(Holder(row[4], row[6], row[1], row[7], row[0]))
        return holders, signed

    def settle(self, attempt_id: int, status: str, why: str | None) -> None:
        # The co-signs `signed` returned: rows inserted before this call, or flushed before they were read.
        self.store._run(
            self.conn,
            "UPDATE review_decisions SET status = ?, error = ?, applied_at = ? "
            "WHERE attempt_id = ? AND status = 'cosign'",
            (status, why, self.now, attempt_id),
        )

    def record(
        self, d: NewDecision, status: str, owner: str, lease_until: float, co_signers: str | None, proposal: str
    ) -> None:
        given: dict[str, Any] = {"batch_id": self.batch_id, "decided_at": self.now, "status": status, "owner": owner}
        given.update(lease_until=lease_until, co_signers=co_signers, proposal=proposal)
        self._new.append(tuple(given[name] if name in given else getattr(d, name) for name in _RECORDED))

    def flush(self) -> None:
        """Insert the attempts recorded so far (in order: attempt ids follow the decisions), in one statement."""
        new, self._new = self._new, []
        if new:
            self.store._insert_rows(self.conn, "review_decisions", _RECORDED, new)


class Storage:
    """The console's tables and the fenced checkpointer of one database (a backend subclasses it)."""

    label: str  # what to show users: a path or a URL without its password
    created: bool  # the database did not exist and was created by this open
    read_only: bool
    transient: tuple[type[BaseException], ...] = ()  # errors of the store itself (locked, full...), worth a retry
    pushes_changes = False  # the store notifies changes (PostgreSQL LISTEN/NOTIFY); SQLite is polled
    writes_table: str  # LangGraph's table of pending writes ("writes" / "checkpoint_writes"), for inspection
    errors: tuple[type[BaseException], ...] = ()  # the driver's errors `store_errors` turns into StoreError
    greatest = "GREATEST"  # the two-argument maximum
    returning = True  # UPDATE ... RETURNING (SQLite's heartbeat reads the tokens back instead)
    arrays = False  # PostgreSQL's arrays: `_in` binds one rather than a mark per value; verdicts come as two
    POLL_SECONDS = 0.01  # how often `wait_for_change` polls, when changes are not pushed
    paused_mark = "paused = 1"  # a paused head, in the words of the paused heads' partial index (PostgreSQL: `paused`)
    blob_column = "blob"  # the writes table's column of serialized values
    ts_columns = "c.checkpoint ->> 'ts'"  # what `_ts` reads a checkpoint's time from
    edge_chunk = 10_000  # thread ids per edge query (SQLite: bound by its host-parameter limit)
    _listing_reader: str | None = None

    # --- what each backend provides, and its dialect hooks ---------------------------------------------

    _saver: BaseCheckpointSaver[str] | None = None
    _make_saver: Callable[[], BaseCheckpointSaver[str]]
    _lazy: AbstractContextManager[Any]  # a lock: the saver (and PostgreSQL's listener) are made once
    closed_errors: tuple[type[BaseException], ...] = ()  # what the driver raises once the store is closed
    old_store_errors: tuple[type[BaseException], ...] = ()  # what reading a table an older store lacks raises (SQLite)

    @property
    def _heads_know_paused(self) -> bool:
        """The heads table has `paused` (SQLite: not in a read-only store of an older version)."""
        return True

    @property
    def saver(self) -> BaseCheckpointSaver[str]:
        """LangGraph's checkpointer over this database, fenced by the run leases; made on first use."""
        if self._saver is None:
            with self._lazy:
                if self._saver is None:
                    self._saver = self._make_saver()
        return self._saver

    def close(self) -> None:
        """Close every connection (and stop the change listener)."""
        raise NotImplementedError

    def query(self, sql: str, params: tuple[Any, ...] = ()) -> list[Any]:
        """A read query with `?` placeholders; rows read by position or column name (tests, benchmarks)."""
        return self._rows(sql, params)

    def health(self) -> list[str]:
        """Problems of the store worth showing users (e.g. change notifications stopped)."""
        return []

    def change_token(self) -> ChangeToken:
        """Moves when any thread's checkpoint was written (PostgreSQL: pushed, no query): read `changes_since` then."""
        raise NotImplementedError

    def wait_for_change(self, token: ChangeToken, timeout: float) -> ChangeToken:
        """Block until `change_token()` differs from `token`, or `timeout` seconds (polled); returns the token."""
        deadline = time.monotonic() + timeout
        while True:
            current = self.change_token()
            if current != token or time.monotonic() >= deadline:
                return current
            time.sleep(min(self.POLL_SECONDS, max(0.0, deadline - time.monotonic())))

    def changes_since(self, seq: int, *, paused_only: bool = False) -> Changes:
        """The threads whose head moved past feed position `seq`, which are paused, the new top. `paused_only` (a cold
        start): only the paused ones, through their own index (it costs them, not the store)."""
        raise NotImplementedError

    def _rows(self, sql: str, params: tuple[Any, ...] = (), *, prepare: bool = False) -> list[Any]:
        """One statement's rows. `prepare`: a statement every refresh runs, planned once per connection (PostgreSQL)."""
        raise NotImplementedError

    def transaction(self) -> AbstractContextManager[Any]:
        """The backend's write transaction (StoreError on a read-only store)."""
        raise NotImplementedError

    def _claim_transaction(self, thread_id: str) -> AbstractContextManager[Any]:
        """`claim`'s transaction (SQLite: the write lock, held from the first read: racing claims take turns)."""
        return self.transaction()

    def _run(self, conn: Any, sql: str, params: tuple[Any, ...] = ()) -> Any:
        return conn.execute(sql, params)  # the DB-API's (SQLite's); PostgreSQL's placeholders differ

    def _many(self, conn: Any, sql: str, rows: Sequence[tuple[Any, ...]]) -> None:
        conn.executemany(sql, rows)

    def _in(self, column: str, values: Sequence[Any]) -> tuple[str, tuple[Any, ...]]:
        """A membership test and its parameters: one array (PostgreSQL) or a mark per value (SQLite)."""
        if self.arrays:
            return f"{column} = ANY(?)", (list(values),)
        return f"{column} IN ({','.join('?' * len(values))})", tuple(values)

    def _insert_rows(self, conn: Any, table: str, columns: Sequence[str], rows: Sequence[tuple[Any, ...]]) -> None:
        """Insert `rows` (values of `columns`, in order) into `table` in the transaction `conn`, in one go."""
        marks = ", ".join("?" * len(columns))
        self._many(conn, f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})", rows)

    def _lock_lease(self, conn: Any, thread_id: str) -> None:
        """Keep fenced checkpoint writes of the thread out until the transaction ends (if the dialect must)."""

    def _describe(self, exc: BaseException) -> str:
        raise NotImplementedError

    def _ts(self, *columns: Any) -> str | None:
        """A checkpoint's `ts` from the columns `ts_columns` selected of it (here read by the query from JSONB)."""
        return columns[0] if isinstance(columns[0], str) else None

    def _has_decision_column(self, column: str) -> bool:
        """A read-only store may predate a column added within the schema version."""
        return True

    # --- decisions ------------------------------------------------------------------------------------

    @store_errors
    def holders(self, thread_id: str, interrupt_ids: Iterable[str]) -> dict[str, Holder]:
        """Holding decisions of these interrupts, by row id."""
        ids = sorted(set(interrupt_ids))
        if not ids:
            return {}
        among, params = self._in("interrupt_id", ids)
        sql = (
            "SELECT row_id, reviewer, decided_at, decision_type, status FROM review_decisions "
            f"WHERE thread_id = ? AND status IN ('claimed', 'applied') AND {among}"
        )
        return {row[0]: Holder(*row) for row in self._rows(sql, (thread_id, *params))}  # the record's columns

    @store_errors
    def claim(
        self, decisions: Sequence[NewDecision], batch_id: str, owner: str, lease_until: float, now: str
    ) -> tuple[list[str], dict[str, Holder], dict[str, CoSigns]]:
        """Record the decisions of ONE thread in one transaction: claimed, held by someone, or waiting for co-signs.
        Racing claims of the thread take turns (`_claim_transaction`), so co-signers count each other."""
        if not decisions:
            return [], {}, {}
        thread_id = decisions[0].thread_id
        with self._claim_transaction(thread_id) as conn:
            steps = _ClaimSteps(self, conn, thread_id, batch_id, now, [d.row_id for d in decisions])
            found = cosign.claim(decisions, steps, owner, lease_until)
            steps.flush()  # in the claim's transaction: the rows are recorded together or not at all
            return found

    @store_errors
    def cosigns(self, thread_id: str | None = None) -> dict[tuple[str, str], tuple[Signature, ...]]:
        """Waiting co-signs by (thread, row), oldest first."""
        known = self._has_decision_column("proposal")
        columns = SIGNATURE_COLUMNS if known else SIGNATURE_COLUMNS.replace("proposal", "NULL AS proposal")
        where, params = ("", ()) if thread_id is None else (" AND thread_id = ?", (thread_id,))
        found: dict[tuple[str, str], tuple[Signature, ...]] = {}
        sql = f"SELECT {columns} FROM review_decisions WHERE status = 'cosign'{where} ORDER BY attempt_id"
        for row in self._rows(sql, params):
            sign = Signature.from_columns(*row)
            key = (sign.thread_id, sign.row_id)
            found[key] = (*found.get(key, ()), sign)
        return found

    @store_errors
    def claims(self, thread_id: str, owner: str, batch_id: str | None = None) -> list[Claim]:
        """The attempts this owner holds claimed in the thread (of one batch, if given), oldest first."""
        where, batch = ("", ()) if batch_id is None else (" AND batch_id = ?", (batch_id,))
        rows = self._rows(f"{_CLAIMS}{where} ORDER BY attempt_id", (thread_id, owner, *batch))
        return [claim_row(row) for row in rows]

    @store_errors
    def start_resume(self, thread_id: str, attempt_ids: Sequence[int], at: str) -> list[tuple[str | None, str, str]]:
        """Record that a resume carrying these attempts began (a crash after it may have run their tools), and read the
        thread's `decision_keys` (what its tools are given), in one transaction."""
        among, params = self._in("attempt_id", attempt_ids)
        with self.transaction() as conn:
            self._run(
                conn,
                "UPDATE review_decisions SET resume_started_at = COALESCE(resume_started_at, ?), tries = tries + 1 "
                f"WHERE {among}",
                (at, *params),
            )
            return [(r[0], r[1], r[2]) for r in self._run(conn, _DECISION_KEYS, (thread_id,)).fetchall()]

    @store_errors
    def finish(
        self,
        attempt_ids: Sequence[int],
        owner: str,
        *,
        status: str,
        error: str | None,
        at: str,
        rerun: bool = False,
        verdicts: Mapping[int, str] | None = None,
    ) -> int:
        """Record the outcome (and `verdicts`) of claimed attempts this owner still holds; returns how many it did."""
        if not attempt_ids:
            return 0
        with self.transaction() as conn:
            return self._finish(conn, Finish(attempt_ids, owner, status, error, at, rerun, verdicts))

    def _finish(self, conn: Any, finish: Finish) -> int:
        given = finish.verdicts or {}
        checked = {attempt_id: given[attempt_id] for attempt_id in finish.attempt_ids if attempt_id in given}
        plain = [attempt_id for attempt_id in finish.attempt_ids if attempt_id not in checked]
        outcome = (finish.status, finish.error, finish.at, finish.owner, int(finish.rerun))
        done = 0
        if plain:
            among, params = self._in("attempt_id", plain)
            sql = f"UPDATE review_decisions SET {self._finishing} WHERE {among} AND owner = ? AND status = 'claimed'"
            done += self._run(conn, sql, (*outcome, *params, finish.owner)).rowcount
        if checked:
            done += self._set_verdicts(conn, checked, outcome)
        return int(done)

    @property
    def _finishing(self) -> str:
        """The columns `finish` sets, given (status, error, at, owner, rerun)."""
        return f"status = ?, error = ?, applied_at = ?, applied_by = ?, rerun = {self.greatest}(rerun, ?)"

    @store_errors
    def release_claims(self, attempt_ids: Sequence[int], owner: str) -> None:
        """Hand claims to recovery (owner '' and an expired lease): their outcome is not known here."""
        among, params = self._in("attempt_id", attempt_ids)
        with self.transaction() as conn:
            self._run(
                conn,
                "UPDATE review_decisions SET owner = '', lease_until = 0, recovered_from = COALESCE(recovered_from, ?) "
                f"WHERE {among} AND owner = ? AND status = 'claimed'",
                (owner, *params, owner),
            )

    @store_errors
    def abandoned_claims(self, is_abandoned: Callable[[str, float], bool]) -> list[Claim]:
        """Claimed attempts whose owner `is_abandoned(owner, lease_until)` says is gone."""
        rows = self._rows(f"SELECT {CLAIM_COLUMNS} FROM review_decisions WHERE status = 'claimed'")
        return [claim_row(r) for r in rows if is_abandoned(r["owner"], r["lease_until"])]

    @store_errors
    def take_over_claims(self, claims: Sequence[Claim], owner: str, lease_until: float) -> list[Claim]:
        """Take each claim from the owner it had when it was found abandoned (compare-and-set)."""
        take = (
            "UPDATE review_decisions SET owner = ?, lease_until = ?, recovered_from = CASE WHEN owner = '' "
            "THEN recovered_from ELSE owner END WHERE attempt_id = ? AND owner = ? AND status = 'claimed'"
        )
        with self.transaction() as conn:
            return [c for c in claims if self._run(conn, take, (owner, lease_until, c.attempt_id, c.owner)).rowcount]

    @store_errors
    def decision_keys(self, thread_id: str) -> list[tuple[str | None, str, str]]:
        """(tool_call_id, interrupt_id, row_id) of the thread's holding decisions, oldest first."""
        return [(r[0], r[1], r[2]) for r in self._rows(_DECISION_KEYS, (thread_id,))]

    @store_errors
    def decisions(self, *, reviewer: str | None = None, thread_id: str | None = None) -> list[dict[str, Any]]:
        """Every attempt, newest first, optionally of one reviewer or one thread."""
        given = {name: value for name, value in (("reviewer", reviewer), ("thread_id", thread_id)) if value}
        where = "".join(f" AND {name} = ?" for name in given)
        sql = f"SELECT * FROM review_decisions WHERE 1 = 1{where} ORDER BY decided_at DESC, attempt_id DESC"
        return [dict(row) for row in self._rows(sql, tuple(given.values()))]

    # --- leases ---------------------------------------------------------------------------------------

    def acquire_lease(
        self, thread_id: str, owner: str, token: str, until: float, kind: str, may_take: MayTake, now: str
    ) -> LeaseRow | None:
        """Take the thread's lease unless another owner's row may not be taken; returns that row, or None."""
        return self.acquire_lease_and_claims(thread_id, owner, token, until, kind, may_take, now, None)[0]

    @store_errors
    def acquire_lease_and_claims(
        self,
        thread_id: str,
        owner: str,
        token: str,
        until: float,
        kind: str,
        may_take: MayTake,
        now: str,
        batch_id: str | None,
    ) -> tuple[LeaseRow | None, list[Claim]]:
        """`acquire_lease`, and once taken the attempts this owner holds claimed in the thread of `batch_id` (`claims`;
        None: none read), in the same transaction: what a resume needs first, in one round of the store."""
        with self.transaction() as conn:
            self._lock_lease(conn, thread_id)
            found = self._run(conn, "SELECT * FROM review_leases WHERE thread_id = ?", (thread_id,)).fetchone()
            if found is not None:
                current = lease_row(found)
                if current.owner not in ("", owner) and current.state == "running" and not may_take(current):
                    return current, []
            self._run(
                conn,
                "INSERT INTO review_leases (thread_id, owner, token, lease_until, kind, state, since, checkpoint_id, "
                "error, tries) VALUES (?, ?, ?, ?, ?, 'running', ?, NULL, NULL, 0) "
                "ON CONFLICT (thread_id) DO UPDATE SET owner = excluded.owner, token = excluded.token, "
                "lease_until = excluded.lease_until, kind = excluded.kind, state = 'running', since = excluded.since, "
                "checkpoint_id = NULL, error = NULL, tries = 0",
                (thread_id, owner, token, until, kind, now),
            )
            if batch_id is None:
                return None, []
            rows = self._run(conn, _CLAIMS + " AND batch_id = ? ORDER BY attempt_id", (thread_id, owner, batch_id))
            return None, [claim_row(row) for row in rows.fetchall()]

    @store_errors
    def take_over_lease(self, row: LeaseRow, owner: str, token: str, until: float, kind: str, now: str) -> bool:
        """Take a lease found abandoned, if it is still the same lease (its token): recovery's compare-and-set."""
        take = (
            "UPDATE review_leases SET owner = ?, token = ?, lease_until = ?, kind = ?, state = 'running', "
            "since = ?, tries = tries + 1 WHERE thread_id = ? AND token = ?"
        )
        with self.transaction() as conn:
            self._lock_lease(conn, row.thread_id)
            return bool(self._run(conn, take, (owner, token, until, kind, now, row.thread_id, row.token)).rowcount)

    @store_errors
    def end_lease(
        self,
        thread_id: str,
        token: str,
        *,
        state: str | None,
        checkpoint_id: str | None = None,
        error: str | None = None,
        finish: Finish | None = None,
    ) -> int:
        """Drop the lease (state None: the run ended cleanly) or leave it to recovery as cut_short / failed. `finish`:
        the run's claims' outcome, recorded first in the same transaction; returns how many attempts it recorded."""
        with self.transaction() as conn:
            done = self._finish(conn, finish) if finish is not None and finish.attempt_ids else 0
            self._lock_lease(conn, thread_id)
            if state is None:
                self._run(conn, "DELETE FROM review_leases WHERE thread_id = ? AND token = ?", (thread_id, token))
            else:
                self._run(
                    conn,
                    "UPDATE review_leases SET owner = '', lease_until = 0, state = ?, "
                    "checkpoint_id = COALESCE(?, checkpoint_id), error = ? WHERE thread_id = ? AND token = ?",
                    (state, checkpoint_id, error, thread_id, token),
                )
        return done

    @store_errors
    def mark_continued(self, thread_id: str, token: str, checkpoint_id: str | None) -> None:
        """Record the head a continuation of a cut-short run starts from (recovery's "once" check)."""
        sql = "UPDATE review_leases SET checkpoint_id = ?, kind = 'continue' WHERE thread_id = ? AND token = ?"
        with self.transaction() as conn:
            self._run(conn, sql, (checkpoint_id, thread_id, token))

    @store_errors
    def leases(self) -> list[LeaseRow]:
        """Every lease (run record), oldest first."""
        return [lease_row(row) for row in self._rows("SELECT * FROM review_leases ORDER BY since")]

    @store_errors
    def heartbeat(self, owner: str, tokens: Sequence[str], until: float) -> set[str]:
        """Extend this owner's leases and claims; returns the tokens it no longer holds (taken over)."""
        extend = "UPDATE review_leases SET lease_until = ? WHERE owner = ?"
        with self.transaction() as conn:
            extended = self._run(conn, extend + " RETURNING token" if self.returning else extend, (until, owner))
            held = {r[0] for r in extended.fetchall()} if self.returning else set()
            claims = "UPDATE review_decisions SET lease_until = ? WHERE owner = ? AND status = 'claimed'"
            self._run(conn, claims, (until, owner))
            if not self.returning:
                held = {r[0] for r in self._run(conn, "SELECT token FROM review_leases WHERE owner = ?", (owner,))}
        return {token for token in tokens if token not in held}

    # --- heads of the change feed, and checkpoints read without the graph ------------------------------

    @store_errors
    def head_seq(self, thread_id: str) -> int | None:
        """The thread's feed position now (None: no checkpoint, or a closed store)."""
        found = self.head_and_graph(thread_id)
        return None if found is None else found[0]

    @store_errors
    def head_and_graph(self, thread_id: str) -> tuple[int, str | None] | None:
        """`head_seq` and `thread_graph` in one query (None: no checkpoint, or a closed store)."""
        try:
            rows = self._rows("SELECT seq, graph_id FROM review_thread_heads WHERE thread_id = ?", (thread_id,))
        except self.closed_errors:  # a closed store: read without remembering
            return None
        return (int(rows[0][0]), None if rows[0][1] is None else str(rows[0][1])) if rows else None

    @store_errors
    def thread_head(self, thread_id: str) -> tuple[int, str | None] | None:
        """The thread's feed position and head checkpoint id now, read together (None: no checkpoint yet)."""
        rows = self._rows("SELECT seq, checkpoint_id FROM review_thread_heads WHERE thread_id = ?", (thread_id,))
        return (int(rows[0][0]), rows[0][1]) if rows else None

    @store_errors
    def thread_graph(self, thread_id: str) -> str | None:
        """The graph id the thread's checkpoints name, if any."""
        rows = self._rows("SELECT graph_id FROM review_thread_heads WHERE thread_id = ?", (thread_id,))
        return str(rows[0][0]) if rows and rows[0][0] is not None else None

    @store_errors
    def thread_ids(self, limit: int) -> list[str]:
        """Thread ids, most recently changed first."""
        sql = "SELECT thread_id FROM review_thread_heads WHERE checkpoint_id IS NOT NULL ORDER BY seq DESC LIMIT ?"
        return [row[0] for row in self._rows(sql, (limit,))]

    @store_errors
    def inbox_token(self) -> str:
        """A short text that changes whenever anything the Inbox shows may have changed (a few indexed reads): the
        paused heads' count and newest position (positions only grow), the feed's generation, the newest and claimed
        attempts, and the leases the Inbox shows, heartbeats aside. A step of a run with nothing pending moves none."""
        paused = f"h.{self.paused_mark}"
        heads = f"SELECT COUNT(*) || '/' || COALESCE(MAX(h.seq), 0) FROM review_thread_heads AS h WHERE {paused}"
        shown = (
            "l.state <> 'running' OR EXISTS (SELECT 1 FROM review_thread_heads AS h "
            f"WHERE h.thread_id = l.thread_id AND {paused})"
        )
        if not self._heads_know_paused:  # a read-only store of an older version
            heads, shown = "SELECT MAX(seq) FROM review_thread_heads", "1 = 1"
        (row,) = self._rows(
            f"SELECT ({heads}), "
            "(SELECT value FROM review_meta WHERE key = 'feed_generation'), "
            "(SELECT MAX(attempt_id) FROM review_decisions), "
            "(SELECT COUNT(*) FROM review_decisions WHERE status = 'claimed'), "
            "(SELECT COUNT(*) || '/' || COALESCE(MAX(l.since), '') || '/' || "
            "COALESCE(SUM(CASE WHEN l.state <> 'running' THEN 1 ELSE 0 END), 0) || '/' || COALESCE(MAX(l.tries), 0) "
            f"FROM review_leases AS l WHERE {shown})"
        )
        return ":".join("" if value is None else str(value) for value in row)

    @store_errors
    def head_writes(self, thread_ids: Sequence[str]) -> dict[str, HeadWrites]:
        """The head checkpoint (id, `ts`) and its pending writes of each thread, in ONE read (none: absent)."""
        return self._read_edges(
            thread_ids, "MAX", lambda t, c, ts, graph: HeadWrites(t, c, ts, graph_id=graph), keep_head_write
        )

    @store_errors
    def thread_starts(self, thread_ids: Sequence[str]) -> dict[str, ThreadStart]:
        """Each thread's first root checkpoint (id, `ts`) and the serialized writes of its input task."""

        def keep(start: ThreadStart, _task: str, _path: str | None, channel: str, kind: Any, blob: Any) -> None:
            if blob is not None and kind is not None:
                start.inputs.append((channel, (kind, bytes(blob))))

        return self._read_edges(thread_ids, "MIN", lambda t, c, ts, _graph: ThreadStart(t, c, ts), keep)

    @store_errors
    def resume_writes(self, thread_id: str, since: str, *, checkpoints: int) -> list[CheckpointWrite]:
        """The `__interrupt__` and `__resume__` writes of the thread's root checkpoints from `since` to its head, of its
        newest `checkpoints` at most, newest first, each's as the saver orders them: what the outcome check reads."""
        newest = (
            "SELECT checkpoint_id FROM checkpoints WHERE thread_id = ? AND checkpoint_ns = '' "
            "ORDER BY checkpoint_id DESC LIMIT 1 OFFSET ?"
        )
        rows = self._rows(
            f"SELECT checkpoint_id, task_id, channel, type, {self.blob_column}, task_path, idx "
            f"FROM {self.writes_table} WHERE thread_id = ? AND checkpoint_ns = '' AND checkpoint_id >= ? "
            f"AND checkpoint_id >= COALESCE(({newest}), '') AND channel IN ('{INTERRUPT_CHANNEL}', '__resume__') "
            "AND type IS NOT NULL",
            (thread_id, since, thread_id, max(checkpoints, 1) - 1),
        )
        # Sorted here, as the saver sorts a checkpoint's writes (by code point: a database's collation may not).
        rows.sort(key=lambda row: (row[5] or "", row[1], row[6]))
        rows.sort(key=lambda row: row[0], reverse=True)  # stable: each checkpoint's writes keep that order
        return [CheckpointWrite(row[0], row[1], row[2], (row[3], bytes(row[4]))) for row in rows]

    def _read_edges(self, ids: Sequence[str], edge: str, make: _Make[_E], keep: Callable[..., None]) -> dict[str, _E]:
        """Each thread's first (MIN) or latest (MAX) root checkpoint (`make`) and its writes (`keep`; of the latest only
        interrupt values), a row each, in ONE statement through the primary key (a long history costs nothing)."""
        on = "ON {t}.thread_id = edge.thread_id AND {t}.checkpoint_ns = '' AND {t}.checkpoint_id = edge.checkpoint_id"
        blob, interrupt = f"w.{self.blob_column}", f"CASE WHEN w.channel = '{INTERRUPT_CHANNEL}' THEN"
        value, only = f"w.type, {blob}", "AND w.type IS NOT NULL"
        if edge == "MAX":  # the listing decodes interrupts only: other writes just say that their task wrote
            value, only = f"{interrupt} w.type END, {interrupt} {blob} END", ""
        found: dict[str, _E] = {}
        unique = list(dict.fromkeys(ids))
        at = 4 + self.ts_columns.count(",")  # where a row's write columns start
        for start in range(0, len(unique), self.edge_chunk):
            among, params = self._in("thread_id", unique[start : start + self.edge_chunk])
            rows = self._rows(
                f"WITH edge AS (SELECT thread_id, {edge}(checkpoint_id) AS checkpoint_id FROM checkpoints "
                f"WHERE checkpoint_ns = '' AND {among} GROUP BY thread_id) "
                f"SELECT c.thread_id, c.checkpoint_id, h.graph_id, {self.ts_columns}, "
                f"w.task_id, w.task_path, w.channel, {value} FROM edge JOIN checkpoints AS c {on.format(t='c')} "
                "LEFT JOIN review_thread_heads AS h ON h.thread_id = c.thread_id "
                f"LEFT JOIN {self.writes_table} AS w {on.format(t='w')} {only} "
                "ORDER BY c.thread_id, w.task_id, w.idx",
                params,
                prepare=True,
            )
            collect_edges(found, rows, 0, at, lambda r: make(r[0], r[1], self._ts(*r[3:at]), r[2]), keep)
        return found

    # --- the persisted listing, failures, drafts, verdicts --------------------------------------------

    @store_errors
    def listing(self, reader: str) -> dict[str, tuple[int, str]]:
        """Saved listing entries of `reader` (the code version that made them): thread -> (seq, rows JSON)."""
        try:
            rows = self._rows("SELECT thread_id, seq, rows FROM review_listing WHERE reader = ?", (reader,))
        except self.old_store_errors:  # a store older than the listing table
            return {}
        return {row[0]: (int(row[1]), row[2]) for row in rows}

    @store_errors
    def save_listing(self, reader: str, entries: Sequence[tuple[str, int, str | None]]) -> None:
        """Save (thread_id, seq, rows JSON) entries of `reader`; None drops the thread's. Other readers' go."""
        if not entries or self.read_only:
            return
        with self.transaction() as conn:
            if self._listing_reader != reader:
                self._run(conn, "DELETE FROM review_listing WHERE reader <> ?", (reader,))
                # Once per reader and store: the scan is not free, and rows another version saves later are
                # ignored by this reader's `listing` and replaced when it saves that thread.
                self._listing_reader = reader
            gone = [(thread_id,) for thread_id, _, rows in entries if rows is None]
            self._many(conn, "DELETE FROM review_listing WHERE thread_id = ?", gone)
            self._many(
                conn,
                "INSERT INTO review_listing (thread_id, seq, reader, rows) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (thread_id) DO UPDATE SET seq = excluded.seq, reader = excluded.reader, "
                "rows = excluded.rows WHERE excluded.seq >= review_listing.seq",
                [(thread_id, seq, reader, rows) for thread_id, seq, rows in entries if rows is not None],
            )

    @store_errors
    def last_failures(self) -> list[dict[str, Any]]:
        """Rows whose LATEST attempt failed and applied ones the graph contradicted (as `decisions()`), oldest first."""
        failed = (
            "SELECT d.* FROM review_decisions AS d WHERE d.status = 'failed' AND d.attempt_id = ("
            "SELECT MAX(attempt_id) FROM review_decisions WHERE thread_id = d.thread_id AND row_id = d.row_id)"
        )
        if self._has_decision_column("outcome_check"):
            # An applied decision the graph contradicted holds its row: it is that row's latest attempt.
            failed += " UNION ALL SELECT * FROM review_decisions WHERE outcome_check LIKE 'contradicted%'"
        return [dict(row) for row in sorted(self._rows(failed), key=lambda row: row["attempt_id"])]

    @store_errors
    def draft(self, reviewer: str) -> dict[str, str]:
        """The unsent decisions a reviewer left: row key -> the entry as JSON text."""
        rows = self._rows("SELECT row_key, entry FROM review_drafts WHERE reviewer = ?", (reviewer,))
        return {row[0]: row[1] for row in rows}

    @store_errors
    def save_draft(self, reviewer: str, changes: Mapping[str, str | None], now: str) -> None:
        """Upsert a reviewer's draft entries (row key -> JSON text); None deletes that row's entry."""
        if not changes:
            return
        with self.transaction() as conn:
            gone = [(reviewer, key) for key, entry in changes.items() if entry is None]
            self._many(conn, "DELETE FROM review_drafts WHERE reviewer = ? AND row_key = ?", gone)
            self._many(
                conn,
                "INSERT INTO review_drafts (reviewer, row_key, entry, updated_at) VALUES (?, ?, ?, ?) ON CONFLICT "
                "(reviewer, row_key) DO UPDATE SET entry = excluded.entry, updated_at = excluded.updated_at",
                [(reviewer, key, entry, now) for key, entry in changes.items() if entry is not None],
            )

    @store_errors
    def record_verdicts(self, verdicts: Mapping[int, str]) -> None:
        """Record what the checkpoint showed of applied attempts (attempt id -> verdict: review/verify.py)."""
        if not verdicts:
            return
        with self.transaction() as conn:
            self._set_verdicts(conn, verdicts)

    def _set_verdicts(self, conn: Any, verdicts: Mapping[int, str], outcome: tuple[Any, ...] = ()) -> int:
        """Set outcome checks (id -> verdict) in `conn`; given `finish`'s `outcome`, finish those still claimed too."""
        sets, where = (f"{self._finishing}, ", " AND owner = ? AND status = 'claimed'") if outcome else ("", "")
        owner = outcome[3:4]  # for `where`
        if self.arrays:  # PostgreSQL: one statement for any number of attempts
            sql = (
                f"UPDATE review_decisions AS d SET {sets}outcome_check = v.verdict FROM unnest(?::bigint[], ?::text[]) "
                f"AS v(attempt_id, verdict) WHERE d.attempt_id = v.attempt_id{where}"
            )
            return int(self._run(conn, sql, (*outcome, list(verdicts), list(verdicts.values()), *owner)).rowcount)
        items = list(verdicts.items())
        done = 0
        for start in range(0, len(items), _VERDICT_CHUNK):
            chunk = items[start : start + _VERDICT_CHUNK]
            cases = " ".join("WHEN ? THEN ?" for _ in chunk)
            among, params = self._in("attempt_id", [attempt_id for attempt_id, _ in chunk])
            done += self._run(
                conn,
                f"UPDATE review_decisions SET {sets}outcome_check = CASE attempt_id {cases} END WHERE {among}{where}",
                (*outcome, *(value for pair in chunk for value in pair), *params, *owner),
            ).rowcount
        return done
