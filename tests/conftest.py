"""Shared fixtures: a fresh store per test, stores and checkpointers parametrised over backends.

`store_url` is "sqlite" (a file in the test's tmp_path) or "postgres" (a fresh database, made with
CREATE DATABASE, on ONE private cluster per test session: `pg_cluster`). tests/core and tests/bench
build their `db_path` / `console` on it, so the review core runs against both backends; a test that
is about SQLite files pins it with `sqlite_only`. Without PostgreSQL's binaries the postgres cases
skip, except with CI=true, where they fail (as the browser tests do without Chromium).
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import sys
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.checkpoint.sqlite import SqliteSaver

from review import ReviewConsole
from scripts.pg_cluster import Cluster, bin_dir, free_port

THREE_SHAPES = "Create a red circle c1, a blue square s1 and a green triangle t1"
THEN_SEQUENCE = "Draw a red circle c1, then a blue square s1"
CLEAR = "Clear the canvas"


@pytest.fixture(autouse=True)
def _no_app_arguments(monkeypatch: pytest.MonkeyPatch) -> None:
    """The app reads its settings from `sys.argv` (`streamlit run app.py -- --db ...`) and refuses what it does
    not know: under pytest, `sys.argv` holds pytest's own arguments, which are not the app's."""
    monkeypatch.setattr(sys, "argv", [sys.argv[0]])


BACKENDS = ["sqlite", "postgres"]
# For a test about SQLite itself (files, locks, tmpfs faults, its migration): the sqlite case only.
sqlite_only = pytest.mark.parametrize("store_url", ["sqlite"], indirect=True)


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[Cluster]:
    """One private PostgreSQL cluster for the whole session, on a free loopback port, removed after."""
    if bin_dir() is None:
        message = "PostgreSQL is not installed (apt-get install postgresql)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    base = Path(tempfile.mkdtemp(prefix="review-pg-"))
    base.chmod(0o755)  # the server runs as `postgres` and must reach its data folder
    cluster = Cluster(base / "data", free_port())
    try:
        cluster.start(fast=True)  # no fsync: the tests kill consoles, never the server's disk
        yield cluster
    finally:
        cluster.remove()
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture(params=BACKENDS)
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The store of this test: a SQLite file path, or the URL of a fresh PostgreSQL database."""
    if request.param == "sqlite":
        return str(tmp_path / "review.sqlite")
    cluster: Cluster = request.getfixturevalue("pg_cluster")
    return cluster.create_database(f"test_{uuid.uuid4().hex[:16]}")


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "review.sqlite"


@pytest.fixture
def console(db_path: Path) -> Iterator[ReviewConsole]:
    opened = ReviewConsole.open(db_path)
    yield opened
    opened.close()


@pytest.fixture(params=["memory", "sqlite"])
def checkpointer(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[object]:
    if request.param == "memory":
        yield InMemorySaver()
        return
    conn = sqlite3.connect(tmp_path / "graph.sqlite", check_same_thread=False)
    yield SqliteSaver(conn)
    conn.close()
