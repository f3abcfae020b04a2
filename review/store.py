"""Opens the store: one SQLite file holding LangGraph's checkpoints and the console's own tables.

`open_store` is the one place that picks the backend; a shared server database (LangGraph's
Postgres saver) would be added here. Triggers on the checkpoint tables keep `review_thread_heads`
current whoever writes (this process, another console, the agent's own worker), so the inbox
finds changed threads with one indexed query instead of reading every thread.
"""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from langgraph.checkpoint.sqlite import SqliteSaver

DEFAULT_DB = Path("data") / "review.sqlite"
BUSY_TIMEOUT_S = 30.0


class StoreError(RuntimeError):
    """The database path cannot be used; the message says why and which path."""


def resolve_db_path(db: str | os.PathLike[str] | None = None) -> Path:
    """`--db` if given, else REVIEW_DB, else data/review.sqlite."""
    return Path(db or os.environ.get("REVIEW_DB") or DEFAULT_DB)


_CONSOLE_SCHEMA = """
CREATE TABLE IF NOT EXISTS review_decisions (
    thread_id     TEXT NOT NULL,
    interrupt_id  TEXT NOT NULL,
    batch_id      TEXT NOT NULL,
    reviewer      TEXT NOT NULL,
    decided_at    TEXT NOT NULL,
    tool          TEXT,
    tool_call_id  TEXT,
    decision_type TEXT NOT NULL,
    resume_json   TEXT NOT NULL,
    args_before   TEXT,
    args_after    TEXT,
    message       TEXT,
    status        TEXT NOT NULL DEFAULT 'claimed',  -- claimed | applied | failed
    owner         TEXT NOT NULL,                    -- who must apply it (host:pid:runner)
    lease_until   REAL NOT NULL,                    -- owner's heartbeat; past it, recovery may take over
    applied_at    TEXT,
    error         TEXT,
    PRIMARY KEY (thread_id, interrupt_id)
);
CREATE INDEX IF NOT EXISTS review_decisions_status ON review_decisions(status);
CREATE INDEX IF NOT EXISTS review_decisions_time ON review_decisions(decided_at);

-- One resume of a thread at a time, across processes: two resumes of one thread fork its history.
CREATE TABLE IF NOT EXISTS review_thread_leases (
    thread_id   TEXT PRIMARY KEY,
    owner       TEXT NOT NULL,
    lease_until REAL NOT NULL
);

-- Latest root checkpoint per thread and a store-wide change counter, kept by triggers.
CREATE TABLE IF NOT EXISTS review_thread_heads (
    thread_id     TEXT PRIMARY KEY,
    checkpoint_id TEXT,
    seq           INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS review_thread_heads_seq ON review_thread_heads(seq);
"""

_TRIGGERS = """
CREATE TRIGGER IF NOT EXISTS review_heads_on_checkpoint AFTER INSERT ON checkpoints
WHEN NEW.checkpoint_ns = ''
BEGIN
    INSERT INTO review_thread_heads(thread_id, checkpoint_id, seq)
    VALUES (NEW.thread_id, NEW.checkpoint_id, (SELECT COALESCE(MAX(seq), 0) + 1 FROM review_thread_heads))
    ON CONFLICT(thread_id) DO UPDATE SET
        checkpoint_id = MAX(COALESCE(checkpoint_id, ''), excluded.checkpoint_id),
        seq = excluded.seq;
END;
CREATE TRIGGER IF NOT EXISTS review_heads_on_write AFTER INSERT ON writes
WHEN NEW.checkpoint_ns = ''
BEGIN
    INSERT INTO review_thread_heads(thread_id, checkpoint_id, seq)
    VALUES (NEW.thread_id, NEW.checkpoint_id, (SELECT COALESCE(MAX(seq), 0) + 1 FROM review_thread_heads))
    ON CONFLICT(thread_id) DO UPDATE SET
        checkpoint_id = MAX(COALESCE(checkpoint_id, ''), excluded.checkpoint_id),
        seq = excluded.seq;
END;
CREATE TRIGGER IF NOT EXISTS review_heads_on_delete AFTER DELETE ON checkpoints
WHEN OLD.checkpoint_ns = ''
BEGIN
    UPDATE review_thread_heads
    SET seq = (SELECT COALESCE(MAX(seq), 0) + 1 FROM review_thread_heads),
        checkpoint_id = (SELECT MAX(checkpoint_id) FROM checkpoints
                         WHERE thread_id = OLD.thread_id AND checkpoint_ns = '')
    WHERE thread_id = OLD.thread_id;
END;
CREATE TRIGGER IF NOT EXISTS review_heads_on_write_delete AFTER DELETE ON writes
WHEN OLD.checkpoint_ns = ''
BEGIN
    UPDATE review_thread_heads
    SET seq = (SELECT COALESCE(MAX(seq), 0) + 1 FROM review_thread_heads)
    WHERE thread_id = OLD.thread_id;
END;
"""


@dataclass
class Store:
    """The open database: LangGraph's saver plus a connection for the console's tables."""

    path: Path
    saver: SqliteSaver
    conn: sqlite3.Connection  # console tables; autocommit, explicit transactions
    lock: threading.RLock
    created: bool = False  # the file did not exist: a new, empty store (say so; a typo in a path looks like this)

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """An IMMEDIATE transaction: takes SQLite's write lock up front, so claims never interleave."""
        with self.lock:
            self.conn.execute("BEGIN IMMEDIATE")
            try:
                yield self.conn
            except BaseException:
                self.conn.execute("ROLLBACK")
                raise
            self.conn.execute("COMMIT")

    def query(self, sql: str, params: tuple | dict = ()) -> list[sqlite3.Row]:
        with self.lock:
            return self.conn.execute(sql, params).fetchall()

    def close(self) -> None:
        with self.lock:
            self.conn.close()
        with self.saver.lock:
            self.saver.conn.close()


def _connect(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(path, check_same_thread=False, timeout=BUSY_TIMEOUT_S)
    conn.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_S * 1000)}")
    return conn


def open_store(db: str | os.PathLike[str] | None = None, *, create: bool = True) -> Store:
    """Open the store at `db` / REVIEW_DB / data/review.sqlite, creating it when missing if `create`.

    Raises StoreError with the path and the reason when the file cannot be used.
    """
    path = resolve_db_path(db)
    try:
        if path.exists() and path.is_dir():
            raise StoreError(f"cannot use {path}: it is a directory, not a database file")
        created = not path.exists()
        if created and not create:
            raise StoreError(f"no review database at {path}: start a run first, or check --db / REVIEW_DB")
        path.parent.mkdir(parents=True, exist_ok=True)
        saver_conn = _connect(path)
        saver = SqliteSaver(saver_conn)
        saver.setup()
        conn = _connect(path)
        conn.isolation_level = None
        conn.row_factory = sqlite3.Row
        # The console's own commits (claims, leases, statuses) skip the fsync: in WAL mode that is still
        # atomic and survives a killed process, and the saver's next commit (synchronous FULL, same WAL
        # file) makes them durable before any effect of a resume is. Saves ~4 fsyncs per resumed thread.
        conn.execute("PRAGMA synchronous = NORMAL")
        conn.executescript(_CONSOLE_SCHEMA)
        _install_triggers(conn)
    except StoreError:
        raise
    except (OSError, sqlite3.Error) as exc:
        raise StoreError(f"cannot open the review database {path}: {exc}") from exc
    return Store(path=path, saver=saver, conn=conn, lock=threading.RLock(), created=created)


def _install_triggers(conn: sqlite3.Connection) -> None:
    """Create the head-tracking triggers once, backfilling heads of threads written before them."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        present = conn.execute(
            "SELECT COUNT(*) FROM sqlite_master WHERE type = 'trigger' AND name LIKE 'review_heads_%'"
        ).fetchone()[0]
        if present < len(_split_triggers(_TRIGGERS)):
            for statement in _split_triggers(_TRIGGERS):
                conn.execute(statement)
            conn.execute(
                "INSERT OR IGNORE INTO review_thread_heads(thread_id, checkpoint_id, seq) "
                "SELECT thread_id, MAX(checkpoint_id), 1 FROM checkpoints WHERE checkpoint_ns = '' GROUP BY thread_id"
            )
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise


def _split_triggers(script: str) -> list[str]:
    return [part.strip() + "\nEND;" for part in script.split("END;") if part.strip()]
