"""The Audit page with large values (issue 18, item 7): a picked entry's long fields are shown cut, with that entry's
whole JSON to download; and the CSV quotes every cell and guards formulas after a `;` (item 9)."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

import pytest
import streamlit.runtime.memory_media_file_storage as media
from streamlit.testing.v1 import AppTest

from review import ReviewConsole
from review.audit import AuditEntry, csv_cell, to_csv
from tests.app.conftest import run

BIG = 100_000


def _entry(**changes: Any) -> AuditEntry:
    fields: dict[str, Any] = {
        "attempt_id": 7,
        "decided_at": "2025-01-01T12:00:00+00:00",
        "reviewer": "ann",
        "identity": "ann",
        "issuer": None,
        "verification": "unverified",
        "co_signers": None,
        "thread_id": "thread-1",
        "row_id": "interrupt-1",
        "interrupt_id": "interrupt-1",
        "tool": "send_report",
        "decision": "edit",
        "args_before": {"body": "b" * BIG},
        "args_after": {"body": "a" * BIG},
        "message": "m" * BIG,
        "status": "applied",
        "applied_at": None,
        "error": None,
        "rerun": False,
        "recovered_from": None,
        "warning": None,
        "batch_id": "batch-1",
    }
    return AuditEntry(**{**fields, **changes})


def test_a_large_entry_is_shown_cut_and_downloads_whole(
    app: AppTest, app_console: ReviewConsole, monkeypatch: pytest.MonkeyPatch
) -> None:
    entry = _entry()
    monkeypatch.setattr(app_console, "audit", lambda **_: [entry])  # the page reads the log through the console
    served: list[tuple[bytes, str, str | None]] = []
    original = media.MemoryMediaFileStorage.load_and_get_id

    def load_and_get_id(self: Any, data: Any, mimetype: str, kind: Any, filename: str | None = None) -> str:
        served.append((bytes(data), mimetype, filename))
        return original(self, data, mimetype, kind, filename)

    monkeypatch.setattr(media.MemoryMediaFileStorage, "load_and_get_id", load_and_get_id)
    run(app)
    app.switch_page("pages/audit.py")
    run(app)
    app.session_state["audit_table"] = {"selection": {"rows": [0], "columns": [], "cells": []}}
    run(app)

    shown = [t.value for t in app.text]
    message = next(t for t in shown if t.startswith("mmm"))
    assert len(message) < 2_200 and message.endswith(f"(cut: {BIG:,} characters; download the entry for all)")
    assert all(len(t) < 2_200 for t in shown)  # the arguments too
    assert [b.label for b in app.download_button] == ["Download this entry (JSON)", "Download CSV"]
    downloads = {filename: (data, mimetype) for data, mimetype, filename in served}
    data, mimetype = downloads["review-audit-attempt-7.json"]
    assert mimetype == "application/json" and json.loads(data) == entry.to_dict()


def test_a_small_entry_has_no_entry_download(
    app: AppTest, app_console: ReviewConsole, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(app_console, "audit", lambda **_: [_entry(args_before={}, args_after={}, message="ok")])
    run(app)
    app.switch_page("pages/audit.py")
    run(app)
    app.session_state["audit_table"] = {"selection": {"rows": [0], "columns": [], "cells": []}}
    run(app)
    assert "ok" in [t.value for t in app.text]
    assert [b.label for b in app.download_button] == ["Download CSV"]


@pytest.mark.parametrize(
    ("value", "cell"),
    [
        ("a;=1+1", "a;'=1+1"),
        (";=cmd|' /C calc'!A0", ";'=cmd|' /C calc'!A0"),
        ("x\t@SUM(A1)", "x\t'@SUM(A1)"),
        ("ok; -see below", "ok; '-see below"),
        ("=HYPERLINK(1);=2", "'=HYPERLINK(1);'=2"),
        ("[1, -2]", "[1, -2]"),  # a comma is quoted, never split: the arguments' JSON stays valid
        ("a;b", "a;b"),
    ],
)
def test_a_formula_after_a_separator_is_guarded(value: str, cell: str) -> None:
    assert csv_cell(value) == cell


def test_every_csv_cell_is_quoted_so_a_semicolon_locale_keeps_it_one_cell() -> None:
    text = to_csv([_entry(message="a;=1+1", args_before={"x": 1}, args_after=None, reviewer="ann,bob")])
    header, row = text.splitlines()
    assert all(cell.startswith('"') and cell.endswith('"') for cell in header.split(","))
    # Read the way a spreadsheet whose list separator is `;` reads it: quotes kept, `;` splits.
    cells = next(csv.reader(io.StringIO(row), delimiter=";"))
    assert not [c for c in cells if c.lstrip('"').startswith(("=", "+", "-", "@"))], cells
    values = dict(zip(header.replace('"', "").split(","), next(csv.reader(io.StringIO(row))), strict=True))
    assert values["message"] == "a;'=1+1" and values["reviewer"] == "ann,bob"
