"""CLI fixtures: the CLI run in-process."""

from __future__ import annotations

import io
import sys
from typing import Any

import pytest

from review.cli import main
from tests.cli.test_cli import Ran


@pytest.fixture
def run_main(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> Any:
    """The same CLI in-process: `run_main(*argv, stdin=...)` -> Ran."""

    def run(*argv: str, stdin: str = "") -> Ran:
        monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
        capsys.readouterr()
        code = main(list(argv))
        captured = capsys.readouterr()
        return Ran(code, captured.out, captured.err)

    return run
