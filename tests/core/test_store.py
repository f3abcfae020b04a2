"""Opening the store: which path, creating what is missing, and a clear error naming an unusable path."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from review import ReviewConsole, StoreError, resolve_db_path
from review.store import DEFAULT_DB, open_store
from tests.conftest import THREE_SHAPES


def _tables(path: Path) -> set[str]:
    conn = sqlite3.connect(path)
    try:
        return {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type IN ('table', 'trigger')")}
    finally:
        conn.close()


def test_path_precedence_explicit_then_review_db_then_default(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("REVIEW_DB", raising=False)
    assert resolve_db_path() == DEFAULT_DB == Path("data") / "review.sqlite"
    monkeypatch.setenv("REVIEW_DB", str(tmp_path / "env.sqlite"))
    assert resolve_db_path() == tmp_path / "env.sqlite"
    assert resolve_db_path(tmp_path / "flag.sqlite") == tmp_path / "flag.sqlite"


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
    assert {"checkpoints", "writes", "review_decisions", "review_thread_leases", "review_thread_heads"} <= _tables(
        target
    )
    reopened = ReviewConsole.open(target)  # opening again keeps everything, and adds no second set of triggers
    try:
        assert [r.key for r in reopened.pending()] == [r.key for r in rows]
        triggers = reopened.store.query("SELECT COUNT(*) FROM sqlite_master WHERE type = 'trigger'")[0][0]
    finally:
        reopened.close()
    assert triggers == sum(1 for name in _tables(target) if name.startswith("review_heads_"))


def test_a_directory_is_refused_with_its_path(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="is a directory") as raised:
        open_store(tmp_path)
    assert str(tmp_path) in str(raised.value)
    with pytest.raises(StoreError, match="is a directory"):
        ReviewConsole.open(tmp_path)


def test_a_path_below_a_file_is_refused_with_its_path(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("x", encoding="utf-8")
    target = blocker / "review.sqlite"
    with pytest.raises(StoreError) as raised:
        open_store(target)
    assert str(target) in str(raised.value)


def test_a_file_that_is_not_sqlite_is_refused_with_its_path(tmp_path: Path) -> None:
    target = tmp_path / "notes.sqlite"
    target.write_text("this is not a database\n" * 200, encoding="utf-8")
    with pytest.raises(StoreError) as raised:
        open_store(target)
    assert str(target) in str(raised.value)
    assert target.read_text(encoding="utf-8").startswith("this is not a database")  # left as it was


def test_create_false_refuses_a_missing_file_and_creates_nothing(tmp_path: Path) -> None:
    target = tmp_path / "missing" / "review.sqlite"
    with pytest.raises(StoreError) as raised:
        ReviewConsole.open(target, create=False)
    assert str(target) in str(raised.value)
    assert not target.parent.exists()


def test_a_store_says_whether_it_created_the_file(tmp_path: Path) -> None:
    from review.store import open_store

    first = open_store(tmp_path / "new.sqlite")
    first.close()
    again = open_store(tmp_path / "new.sqlite")
    again.close()
    assert (first.created, again.created) == (True, False)
