"""Shared fixtures: a fresh store per test, checkpointers parametrised over backends."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.checkpoint.sqlite import SqliteSaver

from review import ReviewConsole

THREE_SHAPES = "Create a red circle c1, a blue square s1 and a green triangle t1"
THEN_SEQUENCE = "Draw a red circle c1, then a blue square s1"
CLEAR = "Clear the canvas"


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
