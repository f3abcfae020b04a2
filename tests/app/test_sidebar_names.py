"""The sidebar names what is reviewed: the loaded graph(s) and the database."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from tests.app.conftest import APP, run
from tests.cli.test_cli import ROOT
from ui.console import close_consoles


def _captions(at: AppTest) -> list[str]:
    return [caption.value.replace("\\", "") for caption in at.sidebar.caption]  # as shown: markdown escapes off


def test_the_sidebar_names_the_demo_graph_and_the_database(app_db: Path) -> None:
    at = run(AppTest.from_file(APP, default_timeout=30))
    captions = _captions(at)
    assert "Graph: canvas-shapes" in captions, captions
    assert any(c.startswith("Database: ") and app_db.name in c for c in captions), captions


def test_the_sidebar_names_a_teams_own_graph(app_db: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REVIEW_GRAPH", str(ROOT / "tests/agents/langchain_per_call.py") + ":graph")
    close_consoles()
    at = run(AppTest.from_file(APP, default_timeout=30))
    graph_lines = [c for c in _captions(at) if c.startswith("Graph")]
    assert len(graph_lines) == 1 and "langchain_per_call" in graph_lines[0], graph_lines
