"""The SQLite backend: one file holds LangGraph's checkpoints and the console's tables (review/storage/sql.py).

What differs from PostgreSQL: `FencedSqliteSaver` checks the lease in the same IMMEDIATE transaction as the write; the
feed's triggers are checked on every refresh; a file or file system the process cannot write opens read-only."""

from __future__ import annotations

import functools
import os
import shutil
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import TYPE_CHECKING, Any

from typing_extensions import override

from review.checkpoint_ts import checkpoint_ts
from review.storage.base import Changes, FencedWrites, LeaseLost, StoreError
from review.storage.sql import INTERRUPT_CHANNEL as INTERRUPT_CHANNEL  # the name tests check
from review.storage.sql import SCHEMA_VERSION, Storage, console_schema, create_schema, is_current, store_errors

if TYPE_CHECKING:  # LangGraph is imported when a saver is first needed, not with this module
    from langgraph.checkpoint.serde.base import SerializerProtocol
    from langgraph.checkpoint.sqlite import SqliteSaver


_SCHEMA = console_schema(
    "INTEGER PRIMARY KEY AUTOINCREMENT",
    "REAL",
    "INTEGER",
    """
CREATE INDEX IF NOT EXISTS review_decisions_failed ON review_decisions(thread_id, row_id) WHERE status = 'failed';
CREATE INDEX IF NOT EXISTS review_decisions_row ON review_decisions(thread_id, row_id, attempt_id);

-- Latest root checkpoint per thread and a store-wide change counter, kept by triggers.
CREATE TABLE IF NOT EXISTS review_thread_heads (
    thread_id     TEXT PRIMARY KEY,
    checkpoint_id TEXT,
    seq           INTEGER NOT NULL,
    graph_id      TEXT,             -- the graph its checkpoint metadata names (console or Agent Server)
    paused        INTEGER NOT NULL DEFAULT 0  -- its head checkpoint carries an interrupt write (added within v3)
);
review_thread_heads;  -- its LATER_COLUMNS, when missing
CREATE INDEX IF NOT EXISTS review_thread_heads_seq ON review_thread_heads(seq);
-- A cold start lists the paused threads only: this index holds just them.
CREATE INDEX IF NOT EXISTS review_thread_heads_paused ON review_thread_heads(seq) WHERE paused = 1;
""",
)

# Whether a head's checkpoint carries an interrupt write: `paused`, set again whenever its head or writes change.
_HAS_INTERRUPT = """EXISTS (SELECT 1 FROM writes AS w WHERE w.thread_id = {h}.thread_id AND w.checkpoint_ns = ''
    AND w.checkpoint_id = {h}.checkpoint_id AND w.channel = '__interrupt__')"""
_PAUSED = "UPDATE review_thread_heads SET paused = " + _HAS_INTERRUPT.format(h="review_thread_heads")
# A new checkpoint or write of a thread moves its head and takes the next feed position. A checkpoint also
# names the thread's graph when its metadata has a graph_id (never failing the agent's write on odd metadata).
_HEAD_MOVES = """CREATE TRIGGER IF NOT EXISTS {name} AFTER INSERT ON {table}
WHEN NEW.checkpoint_ns = ''
BEGIN
    INSERT INTO review_thread_heads(thread_id, checkpoint_id, seq, graph_id)
    VALUES (NEW.thread_id, NEW.checkpoint_id, (SELECT COALESCE(MAX(seq), 0) + 1 FROM review_thread_heads), {graph})
    ON CONFLICT(thread_id) DO UPDATE SET
        checkpoint_id = MAX(COALESCE(checkpoint_id, ''), excluded.checkpoint_id),
        seq = excluded.seq,
        graph_id = COALESCE(excluded.graph_id, graph_id);
    {paused} WHERE thread_id = NEW.thread_id;
END"""
# A deleted checkpoint or write moves its thread's head to the next position (a checkpoint: to the latest left).
_HEAD_DELETED = """CREATE TRIGGER IF NOT EXISTS {name} AFTER DELETE ON {table}
WHEN OLD.checkpoint_ns = ''
BEGIN
    UPDATE review_thread_heads SET seq = (SELECT COALESCE(MAX(seq), 0) + 1 FROM review_thread_heads),
        checkpoint_id = CASE WHEN '{table}' = 'checkpoints' THEN (SELECT MAX(checkpoint_id) FROM checkpoints
            WHERE thread_id = OLD.thread_id AND checkpoint_ns = '') ELSE checkpoint_id END
    WHERE thread_id = OLD.thread_id;
    {paused} WHERE thread_id = OLD.thread_id;
END"""
_GRAPH_OF = (
    "CASE WHEN json_valid(CAST({row}.metadata AS TEXT)) "
    "THEN json_extract(CAST({row}.metadata AS TEXT), '$.graph_id') END"
)
_TRIGGERS = (
    _HEAD_MOVES.format(
        name="review_heads_on_checkpoint", table="checkpoints", graph=_GRAPH_OF.format(row="NEW"), paused=_PAUSED
    ),
    _HEAD_MOVES.format(name="review_heads_on_write", table="writes", graph="NULL", paused=_PAUSED),
    _HEAD_DELETED.format(name="review_heads_on_delete", table="checkpoints", paused=_PAUSED),
    _HEAD_DELETED.format(name="review_heads_on_write_delete", table="writes", paused=_PAUSED),
)
_TRIGGER_NAMES = tuple(sql.split()[5] for sql in _TRIGGERS)

# Threads changed in a seq range whose head checkpoint carries an interrupt write; the rest have nothing
# pending. Written as EXISTS so the seq index drives it (a JOIN let SQLite scan all of `writes` first).
_PAUSED_SINCE = (
    "SELECT h.thread_id FROM review_thread_heads AS h WHERE h.seq > ? AND h.seq <= ? AND "
    + _HAS_INTERRUPT.format(h="h")
)


# What users are told of a SQLite error: the first reason whose words its message has (lower-cased).
_REASONS = (
    (("disk is full", "no space"), "the disk is full"),
    (("readonly", "read-only"), "it is read-only"),
    (("locked", "busy"), "it is locked by another process (gave up waiting)"),
    (("not a database", "malformed"), "it is not a review database (not SQLite, or damaged)"),
    (("unable to open",), "it cannot be opened (missing folder, or no permission)"),
)


def describe_sqlite_error(exc: BaseException, where: str) -> str:
    """One readable line for a SQLite or OS error about the database at `where`."""
    text = str(exc)
    lowered = text.lower()
    full = False
    if "i/o error" in lowered:  # an I/O error on a full disk
        with suppress(OSError):
            full = shutil.disk_usage(Path(where).parent).free < 64 * 1024
    reason = next((why for words, why in _REASONS if full or any(w in lowered for w in words)), text)
    return f"the review database {where} cannot be used: {reason}"


@functools.cache
def fenced_saver_class() -> type[SqliteSaver]:
    """`FencedSqliteSaver`, defined on first use (importing LangGraph costs ~0.2 s a saved-listing read skips)."""
    from langgraph.checkpoint.sqlite import SqliteSaver

    class FencedSqliteSaver(FencedWrites, SqliteSaver):
        """`SqliteSaver` whose writes are fenced by the thread's lease (`FencedWrites`) in one IMMEDIATE transaction."""

        @contextmanager
        def cursor(self, transaction: bool = True) -> Iterator[sqlite3.Cursor]:
            target = self.fence_target()
            if target is None or not transaction:
                with super().cursor(transaction) as cur:
                    yield cur
                return
            thread_id, token = target
            with self.lock:
                self.setup()
                self.conn.execute("BEGIN IMMEDIATE")
                cur = self.conn.cursor()
                try:
                    sql = "SELECT token, lease_until FROM review_leases WHERE thread_id = ?"
                    row = cur.execute(sql, (thread_id,)).fetchone()
                    if token is not None and (row is None or row[0] != token):
                        raise LeaseLost(f"thread {thread_id}: this run's lease was taken over; its write was refused")
                    if token is None and row is not None and row[1] > time.time():
                        raise LeaseLost(f"thread {thread_id} is being run by a console right now; write refused")
                    yield cur
                except BaseException:
                    self.conn.rollback()
                    raise
                else:
                    self.conn.commit()
                finally:
                    cur.close()

    return FencedSqliteSaver


class SqliteStorage(Storage):
    """The console's tables in one SQLite file, beside LangGraph's checkpoints (the SQL: review/storage/sql.py)."""

    transient: tuple[type[BaseException], ...] = (StoreError, sqlite3.Error, OSError)  # the store's, not the graph's
    errors = (sqlite3.Error, OSError)
    closed_errors = (sqlite3.ProgrammingError,)
    old_store_errors = (sqlite3.OperationalError,)
    writes_table = "writes"
    greatest = "MAX"
    returning = False  # the heartbeat reads its tokens back (RETURNING needs SQLite 3.35)
    blob_column = "value"
    ts_columns = "c.type, c.checkpoint"
    edge_chunk = 500  # well under SQLite's limit of host parameters
    _saver: SqliteSaver | None

    def __init__(
        self, path: Path, conn: sqlite3.Connection, make: Callable[[], SqliteSaver], *, created: bool, read_only: bool
    ) -> None:
        self.path, self.label, self.created, self.read_only = path, str(path), created, read_only
        self.conn = conn  # console tables; autocommit, explicit transactions
        self._saver, self._make_saver = None, make  # the saver, made on first use
        self.lock = self._lazy = threading.RLock()

    @override
    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """An IMMEDIATE transaction: takes SQLite's write lock up front, so claims never interleave."""
        if self.read_only:
            raise StoreError(f"the review database {self.label} is read-only: nothing can be recorded")
        with self.lock, _transaction(self.conn) as conn:
            yield conn

    @override
    def _describe(self, exc: BaseException) -> str:
        return describe_sqlite_error(exc, self.label)

    @override
    def _has_decision_column(self, column: str) -> bool:
        return column in {row[1] for row in self._rows("PRAGMA table_info(review_decisions)")}

    @override
    def _ts(self, *columns: Any) -> str | None:
        return checkpoint_ts(*columns)  # SQLite keeps the checkpoint as msgpack bytes

    @override
    def _rows(self, sql: str, params: tuple[Any, ...] = (), *, prepare: bool = False) -> list[sqlite3.Row]:
        with self.lock:  # sqlite3 keeps its own cache of prepared statements
            return self.conn.execute(sql, params).fetchall()

    @override
    def close(self) -> None:
        with self.lock:
            self.conn.close()
        if self._saver is not None:
            with self._saver.lock:
                self._saver.conn.close()

    @override
    @store_errors
    def change_token(self) -> tuple[int, int]:
        """(feed generation, highest feed position): one read of the seq index, microseconds."""
        (row,) = self._rows(
            "SELECT (SELECT CAST(value AS INTEGER) FROM review_meta WHERE key = 'feed_generation'), "
            "(SELECT COALESCE(MAX(seq), 0) FROM review_thread_heads)"
        )
        return (int(row[0] or 0), int(row[1]))

    @override
    @store_errors
    def changes_since(self, seq: int, *, paused_only: bool = False) -> Changes:
        with self.lock:
            # Missing triggers are reinstalled (a new generation): a dropped one must not leave the inbox stale forever.
            if not _feed_installed(self.conn) and not self.read_only:
                install_feed(self.conn)
            row = self.conn.execute("SELECT value FROM review_meta WHERE key = 'feed_generation'").fetchone()
            generation = int(row[0]) if row else 0
            with _transaction(self.conn, "BEGIN") as conn:  # one snapshot (a read: a ROLLBACK is a COMMIT)
                known = self._heads_know_paused  # else a read-only store of an older version: probe the writes
                only = " AND paused = 1" if paused_only and known else ""  # a cold start: the paused heads' index
                sql = f"SELECT thread_id, seq, {'paused' if known else 0} FROM review_thread_heads WHERE seq > ?{only}"
                changed = conn.execute(sql, (seq,)).fetchall()
                top = max((row[1] for row in changed), default=seq)
                if changed and not known:
                    paused = {row[0] for row in conn.execute(_PAUSED_SINCE, (seq, top))}
                    changed = [(thread_id, at, thread_id in paused) for thread_id, at, _ in changed]
                if only:  # the top of the whole feed
                    (top,) = conn.execute("SELECT COALESCE(MAX(seq), ?) FROM review_thread_heads", (seq,)).fetchone()
        return Changes([(r[0], r[1]) for r in changed], {r[0] for r in changed if r[2]}, top, generation)

    @functools.cached_property
    def _heads_know_paused(self) -> bool:  # every store this version writes has `paused`; read once
        return "paused" in _columns(self.conn, "review_thread_heads")


def _connect(target: str, busy_timeout: float, *, uri: bool = False, tables: bool = False) -> sqlite3.Connection:
    """A connection; `tables`: the console's (autocommit, explicit transactions; rows read by name too)."""
    conn = sqlite3.connect(target, check_same_thread=False, timeout=busy_timeout, uri=uri)
    conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout * 1000)}")
    if tables:
        conn.isolation_level = None
        conn.row_factory = sqlite3.Row
    return conn


def _writable(path: Path) -> bool:
    try:
        read_only = os.statvfs(path.parent).f_flag & os.ST_RDONLY
    except OSError:
        return False
    return not read_only and os.access(path, os.W_OK) and os.access(path.parent, os.W_OK)


def _file_kind(path: Path) -> str:
    """ "sqlite", "empty" (0 bytes, no `-wal` with its pages) or "other". Never opened with Python's own file I/O:
    SQLite's locks are POSIX record locks, which the kernel drops for the WHOLE process when any descriptor of the file
    is closed; an open+close here once released a connected console's locks, another process then deleted the -wal
    file under it, and its writes went to a deleted file."""
    if path.stat().st_size == 0:
        return "sqlite" if Path(f"{path}-wal").exists() else "empty"
    # immutable: the probe reads the header only, takes no lock and needs no -shm (a read-only file system).
    probe = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro&immutable=1", uri=True, timeout=5)
    try:
        probe.execute("PRAGMA schema_version").fetchone()  # reads the header: "file is not a database"
    except sqlite3.DatabaseError as exc:  # "sqlite" if unreadable for another reason: the real open says why
        return "other" if "not a database" in str(exc) else "sqlite"
    finally:
        probe.close()
    return "sqlite"


def open_sqlite(
    path: Path, *, create: bool, busy_timeout: float, serde: Callable[[], SerializerProtocol], light: bool = False
) -> SqliteStorage:
    """Open the store at `path`, read-only if the file cannot be written. Only `create` makes a database, of a missing
    or 0-byte file; a file that is not SQLite is refused (a typo in a path never looks like an empty inbox nor
    overwrites a file). `serde` makes the checkpoint serializer. `light`: the console's tables only (saver: later)."""
    label = str(path)
    if path.exists() and path.is_dir():
        raise StoreError(f"cannot use {label}: it is a directory, not a database file")
    try:
        kind = _file_kind(path) if path.exists() else "missing"
        if kind == "other":
            raise StoreError(
                f"cannot use {label}: it is not a review database (not a SQLite file); point --db / REVIEW_DB elsewhere"
            )
        created = kind in ("missing", "empty")
        if created and not create:
            what = "an empty file" if kind == "empty" else "no review database"
            raise StoreError(f"{what} at {label}: start a run first, or check --db / REVIEW_DB")
        if created:
            path.parent.mkdir(parents=True, exist_ok=True)
        elif not _writable(path):
            return _open_read_only(path, busy_timeout, serde)
        conn = _connect(str(path), busy_timeout, tables=True)
        # The console's commits skip the fsync (~4 per resumed thread): in WAL mode still atomic and surviving a killed
        # process; the saver's next commit (synchronous FULL, same WAL) makes them durable before a resume's effects.
        conn.execute("PRAGMA synchronous = NORMAL")

        def make_saver() -> SqliteSaver:
            saver = fenced_saver_class()(_connect(str(path), busy_timeout), serde=serde())
            saver.setup()
            return saver

        storage = SqliteStorage(path, conn, make_saver, created=created, read_only=False)
        if light and not created and is_current(_schema_version(conn), functools.partial(_columns, conn)):
            return storage
        storage.saver  # noqa: B018  # LangGraph's tables first: the change feed's triggers sit on them
        _migrate(conn)
        install_feed(conn, only_if_missing=True)
    except (OSError, sqlite3.Error) as exc:
        if isinstance(exc, sqlite3.OperationalError) and "readonly" in str(exc).lower() and not created:
            return _open_read_only(path, busy_timeout, serde)
        raise StoreError(describe_sqlite_error(exc, label)) from exc
    return storage


def _schema_version(conn: sqlite3.Connection) -> int | None:
    try:
        row = conn.execute("SELECT value FROM review_meta WHERE key = 'schema_version'").fetchone()
    except sqlite3.OperationalError:  # no console tables yet
        return None
    return int(row[0]) if row else None


def _open_read_only(path: Path, busy_timeout: float, serde: Callable[[], SerializerProtocol]) -> SqliteStorage:
    """Read a store this process cannot write (nothing can be decided). SQLite creates the -shm file to read a WAL
    database; on a read-only file system only `immutable=1` (nobody can write it there anyway) reads it."""
    uri = path.resolve().as_uri()
    last: Exception | None = None
    for target in (f"{uri}?mode=ro", f"{uri}?immutable=1"):
        try:
            saver_conn = _connect(target, busy_timeout, uri=True)
            tables = {r[0] for r in saver_conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
            break
        except sqlite3.Error as exc:
            last = exc
    else:
        raise StoreError(describe_sqlite_error(last or OSError("unable to open"), str(path)))
    if not {"checkpoints", "writes", "review_decisions"} <= tables:
        saver_conn.close()
        raise StoreError(f"cannot use {path}: it is read-only and not (yet) a review database")
    saver = fenced_saver_class()(saver_conn, serde=serde())
    saver.is_setup = True  # setup() would write
    conn = _connect(target, busy_timeout, uri=True, tables=True)
    storage = SqliteStorage(path, conn, lambda: saver, created=False, read_only=True)
    storage.saver  # noqa: B018  # made now: `close` closes its connection
    return storage


def _columns(conn: sqlite3.Connection, table: str) -> set[str]:
    return {row[1] for row in conn.execute(f"PRAGMA table_info({table})")}


@contextmanager
def _transaction(conn: sqlite3.Connection, begin: str = "BEGIN IMMEDIATE") -> Iterator[sqlite3.Connection]:
    """A transaction on an autocommit connection, IMMEDIATE unless `begin` says: SQLite's write lock, taken up front."""
    conn.execute(begin)
    try:
        yield conn
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


def _migrate(conn: sqlite3.Connection) -> None:
    """Create the console's tables; carry a round-1 store (one decision row per interrupt) over to v2."""
    with _transaction(conn):
        version = _schema_version(conn) or 0
        if version > SCHEMA_VERSION:
            raise StoreError(
                f"the review database was written by a newer console (schema {version}, this one knows "
                f"{SCHEMA_VERSION}): upgrade this console"
            )
        old = _columns(conn, "review_decisions")
        if old and "attempt_id" not in old:
            conn.execute("ALTER TABLE review_decisions RENAME TO review_decisions_v1")
            for index in ("review_decisions_status", "review_decisions_time"):
                conn.execute(f"DROP INDEX IF EXISTS {index}")
        if create_schema(conn.execute, _SCHEMA, functools.partial(_columns, conn), "INTEGER NOT NULL DEFAULT 0"):
            for name in _TRIGGER_NAMES:  # made again by install_feed, which also fills the new columns in
                conn.execute(f"DROP TRIGGER IF EXISTS {name}")
        if old and "attempt_id" not in old:
            # v1 stored the row id where the interrupt id belongs; v2 keeps both.
            conn.execute(
                "INSERT INTO review_decisions (thread_id, row_id, interrupt_id, batch_id, reviewer, decided_at, tool, "
                "tool_call_id, decision_type, resume_json, args_before, args_after, message, status, owner, "
                "lease_until, applied_at, applied_by, error) "
                "SELECT thread_id, interrupt_id, CASE WHEN instr(interrupt_id, '#') > 0 "
                "THEN substr(interrupt_id, 1, instr(interrupt_id, '#') - 1) ELSE interrupt_id END, batch_id, "
                "reviewer, decided_at, tool, tool_call_id, decision_type, resume_json, args_before, args_after, "
                "message, status, owner, lease_until, applied_at, CASE WHEN status = 'applied' THEN owner END, error "
                "FROM review_decisions_v1 ORDER BY decided_at"
            )
            conn.execute("DROP TABLE review_decisions_v1")
        conn.execute("DROP TABLE IF EXISTS review_thread_leases")  # v1's leases: transient, replaced by review_leases


def _feed_installed(conn: sqlite3.Connection) -> bool:
    marks = ",".join("?" * len(_TRIGGER_NAMES))
    sql = f"SELECT COUNT(*) FROM sqlite_master WHERE type = 'trigger' AND name IN ({marks})"
    return bool(conn.execute(sql, _TRIGGER_NAMES).fetchone()[0] == len(_TRIGGER_NAMES))


def install_feed(conn: sqlite3.Connection, *, only_if_missing: bool = False) -> None:
    """(Re)create the change-feed triggers, backfill the heads, start a new feed generation (every inbox re-reads)."""
    with _transaction(conn):
        if only_if_missing and _feed_installed(conn):
            return
        for statement in _TRIGGERS:
            conn.execute(statement)
        conn.execute(
            "INSERT INTO review_thread_heads(thread_id, checkpoint_id, seq) "
            "SELECT thread_id, MAX(checkpoint_id), 1 FROM checkpoints WHERE checkpoint_ns = '' GROUP BY thread_id "
            "ON CONFLICT(thread_id) DO UPDATE SET checkpoint_id = excluded.checkpoint_id"
        )
        conn.execute(
            f"UPDATE review_thread_heads SET graph_id = COALESCE(graph_id, (SELECT {_GRAPH_OF.format(row='c')} "
            "FROM checkpoints AS c WHERE c.thread_id = review_thread_heads.thread_id "
            "AND c.checkpoint_ns = '' AND c.checkpoint_id = review_thread_heads.checkpoint_id))"
        )
        conn.execute(_PAUSED)
        conn.execute(
            "INSERT INTO review_meta(key, value) VALUES ('feed_generation', '1') "
            "ON CONFLICT(key) DO UPDATE SET value = CAST(value AS INTEGER) + 1"
        )
