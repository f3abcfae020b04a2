"""Insights, metrics and rules run on both backends: `db_path` is the parametrised store (tests/conftest.py)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from review import ReviewConsole


@pytest.fixture
def db_path(store_url: str) -> Path | str:
    return store_url if "://" in store_url else Path(store_url)


@pytest.fixture
def console(db_path: Path | str) -> Iterator[ReviewConsole]:
    opened = ReviewConsole.open(db_path)
    yield opened
    opened.close()
