"""Opening the store: which path, creating what is missing, a clear error naming an unusable path,
read-only files, and a round-1 store carried over to the append-only log."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from review import ReviewConsole, Settings, StoreError, resolve_db_path
from review.settings import DEFAULT_DB
from review.storage import open_storage
from tests.conftest import THREE_SHAPES, sqlite_only
from tests.helpers import APPROVE, batch


def _tables(path: Path) -> set[str]:
    conn = sqlite3.connect(path)
    try:
        return {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type IN ('table', 'trigger')")}
    finally:
        conn.close()


def _open(path: Path, *, create: bool = True):  # type: ignore[no-untyped-def]
    return open_storage(Settings(db=str(path)), create=create)


def test_path_precedence_explicit_then_review_db_then_default(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("REVIEW_DB", raising=False)
    assert resolve_db_path() == DEFAULT_DB == Path("data") / "review.sqlite"
    monkeypatch.setenv("REVIEW_DB", str(tmp_path / "env.sqlite"))
    assert resolve_db_path() == tmp_path / "env.sqlite"
    assert resolve_db_path(tmp_path / "flag.sqlite") == tmp_path / "flag.sqlite"
    assert Settings.from_env(db=str(tmp_path / "flag.sqlite")).db_path == tmp_path / "flag.sqlite"


def test_settings_read_the_environment_once_and_refuse_nonsense(monkeypatch: pytest.MonkeyPatch) -> None:
    env = {"REVIEW_LEASE_SECONDS": "2.5", "REVIEW_BUSY_TIMEOUT_SECONDS": "1", "REVIEW_AGENT": "x:Y"}
    settings = Settings.from_env(env)
    assert (settings.lease_seconds, settings.busy_timeout_seconds, settings.agent) == (2.5, 1.0, "x:Y")
    with pytest.raises(ValueError, match="REVIEW_LEASE_SECONDS"):
        Settings.from_env({"REVIEW_LEASE_SECONDS": "soon"})
    with pytest.raises(ValueError, match="more than 0"):
        Settings.from_env({"REVIEW_LEASE_SECONDS": "-1"})


def test_review_db_env_var_is_respected_and_missing_directories_are_created(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "not" / "yet" / "there" / "review.sqlite"
    monkeypatch.setenv("REVIEW_DB", str(target))
    console = ReviewConsole.open()
    try:
        assert console.db_path == target
        rows = console.start_run(THREE_SHAPES).result(timeout=30).new_pending
        assert len(rows) == 3
    finally:
        console.close()
    assert target.is_file()
    # one file holds LangGraph's checkpoints and the console's tables
    assert {
        "checkpoints",
        "writes",
        "review_decisions",
        "review_leases",
        "review_thread_heads",
        "review_drafts",
        "review_listing",
    } <= _tables(target)
    reopened = ReviewConsole.open(target)  # opening again keeps everything, and adds no second set of triggers
    try:
        assert [r.key for r in reopened.pending()] == [r.key for r in rows]
        triggers = reopened.storage.query("SELECT COUNT(*) FROM sqlite_master WHERE type = 'trigger'")[0][0]
        version = reopened.storage.query("SELECT value FROM review_meta WHERE key = 'schema_version'")[0][0]
    finally:
        reopened.close()
    assert triggers == sum(1 for name in _tables(target) if name.startswith("review_heads_")) == 4
    assert version == "3"


def test_the_fast_listing_reads_langgraphs_own_channel_names() -> None:
    """The head-writes read names LangGraph's private write channels: it must stay in step with them."""
    from langgraph._internal import _constants as lg

    from review import inbox
    from review.storage import sqlite

    assert inbox.INTERRUPT == sqlite.INTERRUPT_CHANNEL == lg.INTERRUPT
    assert {lg.INTERRUPT, lg.RESUME, lg.ERROR, lg.ERROR_SOURCE_NODE} == inbox.CONTROL_WRITES
    assert inbox.NULL_TASK_ID == lg.NULL_TASK_ID
    assert f"~{lg.PUSH}" == inbox.PUSH_PATH


def test_a_directory_is_refused_with_its_path(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="is a directory") as raised:
        _open(tmp_path)
    assert str(tmp_path) in str(raised.value)
    with pytest.raises(StoreError, match="is a directory"):
        ReviewConsole.open(tmp_path)


def test_a_path_below_a_file_is_refused_with_its_path(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("x", encoding="utf-8")
    target = blocker / "review.sqlite"
    with pytest.raises(StoreError) as raised:
        _open(target)
    assert str(target) in str(raised.value)


def test_a_file_that_is_not_sqlite_is_refused_and_left_as_it_was(tmp_path: Path) -> None:
    target = tmp_path / "notes.sqlite"
    content = "this is not a database\n" * 200
    target.write_text(content, encoding="utf-8")
    for create in (True, False):
        with pytest.raises(StoreError, match="not a review database") as raised:
            _open(target, create=create)
        assert str(target) in str(raised.value)
    assert target.read_text(encoding="utf-8") == content  # left as it was


def test_an_empty_file_is_only_made_a_database_by_a_command_that_creates(tmp_path: Path) -> None:
    """`pending` (create=False) must not silently turn a 0-byte file into a database; `start` may."""
    target = tmp_path / "empty.sqlite"
    target.touch()
    with pytest.raises(StoreError, match="an empty file at") as raised:
        _open(target, create=False)
    assert str(target) in str(raised.value) and target.stat().st_size == 0
    store = _open(target, create=True)
    try:
        assert store.created  # the app's sidebar says a new, empty database was created
    finally:
        store.close()


def test_an_unknown_url_scheme_is_a_clear_error_not_a_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(StoreError, match=r"mysql:// databases are not supported; use a SQLite file path or a post"):
        ReviewConsole.open("mysql://kim@localhost:3306/review")
    assert not (tmp_path / "mysql:").exists()


def test_create_false_refuses_a_missing_file_and_creates_nothing(tmp_path: Path) -> None:
    target = tmp_path / "missing" / "review.sqlite"
    with pytest.raises(StoreError) as raised:
        ReviewConsole.open(target, create=False)
    assert str(target) in str(raised.value)
    assert not target.parent.exists()


def test_a_store_says_whether_it_created_the_file(tmp_path: Path) -> None:
    first = _open(tmp_path / "new.sqlite")
    first.close()
    again = _open(tmp_path / "new.sqlite")
    again.close()
    assert (first.created, again.created) == (True, False)


def test_a_round_one_store_is_carried_over_with_row_and_interrupt_ids_apart(tmp_path: Path) -> None:
    """v1 kept one row per interrupt and wrote the batched row id where the interrupt id belongs."""
    path = tmp_path / "v1.sqlite"
    conn = sqlite3.connect(path)
    conn.executescript(
        """
        CREATE TABLE review_decisions (thread_id TEXT NOT NULL, interrupt_id TEXT NOT NULL, batch_id TEXT NOT NULL,
            reviewer TEXT NOT NULL, decided_at TEXT NOT NULL, tool TEXT, tool_call_id TEXT,
            decision_type TEXT NOT NULL, resume_json TEXT NOT NULL, args_before TEXT, args_after TEXT, message TEXT,
            status TEXT NOT NULL DEFAULT 'claimed', owner TEXT NOT NULL, lease_until REAL NOT NULL, applied_at TEXT,
            error TEXT, PRIMARY KEY (thread_id, interrupt_id));
        CREATE TABLE review_thread_leases (thread_id TEXT PRIMARY KEY, owner TEXT NOT NULL, lease_until REAL NOT NULL);
        INSERT INTO review_decisions VALUES ('t1', 'abc#1', 'b1', 'ana', '2026-01-01T00:00:00', 'send_email', NULL,
            'approve', '{"type": "approve"}', '{}', NULL, NULL, 'applied', 'h:1:x', 0, '2026-01-01T00:00:01', NULL);
        """
    )
    conn.close()
    console = ReviewConsole.open(path)
    try:
        (entry,) = console.audit()
        assert (entry.row_id, entry.interrupt_id, entry.status, entry.reviewer) == ("abc#1", "abc", "applied", "ana")
        assert "review_thread_leases" not in _tables(path)
    finally:
        console.close()


# --- a store this process cannot write -----------------------------------------------------------


def _paused_store(path: Path) -> list:  # type: ignore[type-arg]
    console = ReviewConsole.open(path)
    try:
        return console.start_run(THREE_SHAPES).result(timeout=30).new_pending
    finally:
        console.close()


def _make_read_only(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Root ignores file modes, so make the store look unwritable the way the store checks it."""
    import review.storage.sqlite as backend

    monkeypatch.setattr(backend, "_writable", lambda target: False)


@sqlite_only
def test_pending_show_and_audit_work_on_a_read_only_store_and_deciding_says_why_not(
    db_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    rows = _paused_store(db_path)
    before = db_path.read_bytes()
    _make_read_only(db_path, monkeypatch)
    console = ReviewConsole.open(db_path)
    try:
        assert console.read_only
        assert [r.key for r in console.pending()] == [r.key for r in rows]
        assert console.thread(rows[0].thread_id).exists
        assert console.audit() == []
        assert any("read-only" in problem for problem in console.health())
        with pytest.raises(StoreError, match="read-only"):
            console.submit(batch(rows, {"create_circle": APPROVE}), "kim")
        with pytest.raises(ValueError, match="read-only"):
            console.start_run(THREE_SHAPES)
    finally:
        console.close()
    assert db_path.read_bytes() == before


@sqlite_only
def test_the_cli_reads_a_read_only_store_and_refuses_decide_with_exit_2(
    db_path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from review.cli import main

    rows = _paused_store(db_path)
    _make_read_only(db_path, monkeypatch)
    assert main(["--db", str(db_path), "pending"]) == 0
    assert len(json.loads(capsys.readouterr().out)) == 3
    batch_file = tmp_path / "batch.json"
    batch_file.write_text(json.dumps(batch(rows, {"create_circle": APPROVE})), encoding="utf-8")
    assert main(["--db", str(db_path), "decide", "--reviewer", "kim", str(batch_file)]) == 2
    error = json.loads(capsys.readouterr().out)["error"]
    assert "read-only" in error and str(db_path) in error and "\n" not in error


def test_a_second_open_in_the_same_process_keeps_the_consoles_writes_visible_to_other_processes(
    tmp_path: Path,
) -> None:
    """SQLite's locks are POSIX record locks: closing ANY descriptor of the file drops them for the whole process.

    The change route opens the store a second time beside the console; if that open read the file with Python's
    own I/O, another process closing its connection took the database for unused and deleted the -wal under the
    console, whose writes then went to a deleted file: decisions reported applied that nobody else ever saw.
    """
    import subprocess
    import sys

    from review.console import change_token_reader

    db = tmp_path / "r.sqlite"
    console = ReviewConsole.open(db)
    try:
        console.start_run("Draw a red circle c1").result(timeout=30)
        assert change_token_reader(console.settings)() is not None  # the second open, in this process
        cli = [sys.executable, "-m", "review", "--db", str(db)]
        subprocess.run([*cli, "pending"], check=True, capture_output=True)  # another process comes and goes
        assert Path(f"{db}-wal").exists()  # nobody deleted the WAL under the open console

        [row] = console.pending()
        assert console.submit(batch([row], {"create_circle": APPROVE}), reviewer="ana").exit_code == 0
        # What the console wrote is what another process reads.
        audit = json.loads(subprocess.run([*cli, "audit"], check=True, capture_output=True, text=True).stdout)
        assert [(e["reviewer"], e["status"]) for e in audit] == [("ana", "applied")]
    finally:
        console.close()
