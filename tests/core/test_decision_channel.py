"""The decision log records where each decision was made (issue 21 item 3): the console, a notification's action
link, the command line, a policy rule or a program; on both backends, and in a store made before the column."""

from __future__ import annotations

import csv
import io
import sqlite3
from pathlib import Path

import pytest

from review import ReviewConsole, Settings
from review.identity import Reviewer
from tests.conftest import THREE_SHAPES
from tests.helpers import is_postgres

RULE = '[[auto_approve]]\nname = "any circle"\ntool = "create_circle"\n'


def _item(thread_id: str, row_id: str) -> dict[str, object]:
    return {"thread_id": thread_id, "row_id": row_id, "decision": {"type": "approve"}}


def _rows(console: ReviewConsole, thread_id: str) -> dict[str, str]:
    return {row.tool or "": row.row_id for row in console.pending(thread_id)}


def test_each_path_records_its_channel_in_the_log_and_the_csv(db_path: Path | str, tmp_path: Path) -> None:
    policy = tmp_path / "review-policy.toml"
    policy.write_text(RULE, encoding="utf-8")
    console = ReviewConsole.open(settings=Settings.from_env(db=str(db_path), policy=str(policy)))
    try:
        first = console.start_run(THREE_SHAPES).result(timeout=30).thread_id
        console.apply_rules(wait=True)  # the circle: the policy's rule
        rows = _rows(console, first)
        assert console.submit([_item(first, rows["create_square"])], "ann").exit_code == 0  # a page: the default
        assert console.submit([_item(first, rows["create_triangle"])], Reviewer.cli("ops")).exit_code == 0
        second = console.start_run(THREE_SHAPES).result(timeout=30).thread_id
        console.apply_rules(wait=True)
        rows = _rows(console, second)
        assert console.submit([_item(second, rows["create_square"])], "pam", channel="link").exit_code == 0
        assert console.submit([_item(second, rows["create_triangle"])], "bot", channel="api").exit_code == 0

        with pytest.raises(ValueError, match="'sms' is not a channel"):
            console.submit([_item(second, rows["create_triangle"])], "bot", channel="sms")

        by_who = {(e.thread_id, e.reviewer): e.channel for e in console.audit()}
        assert by_who == {
            (first, "rule:any circle"): "rule",
            (first, "ann"): "console",
            (first, "ops"): "cli",
            (second, "rule:any circle"): "rule",
            (second, "pam"): "link",
            (second, "bot"): "api",
        }
        csv_rows = list(csv.DictReader(io.StringIO(console.audit_csv())))
        assert sorted(row["channel"] for row in csv_rows) == ["api", "cli", "console", "link", "rule", "rule"]
    finally:
        console.close()


def test_a_store_made_before_the_channel_column_gets_it_when_opened(db_path: Path | str) -> None:
    console = ReviewConsole.open(db_path)
    try:
        thread_id = console.start_run(THREE_SHAPES).result(timeout=30).thread_id
        rows = _rows(console, thread_id)
        assert console.submit([_item(thread_id, rows["create_circle"])], "ann").exit_code == 0
    finally:
        console.close()
    drop = "ALTER TABLE review_decisions DROP COLUMN channel"  # as an earlier release made it
    if is_postgres(db_path):
        import psycopg

        with psycopg.connect(str(db_path), autocommit=True) as conn:
            conn.execute(drop)
    else:
        with sqlite3.connect(db_path) as conn:
            conn.execute(drop)

    reopened = ReviewConsole.open(db_path)
    try:
        [old] = reopened.audit(thread_id=thread_id)
        assert (old.reviewer, old.channel) == ("ann", None)  # not known then: not made up now
        assert reopened.submit([_item(thread_id, rows["create_square"])], "pam", channel="link").exit_code == 0
        channels = {e.reviewer: e.channel for e in reopened.audit(thread_id=thread_id)}
        assert channels == {"ann": None, "pam": "link"}
        assert '"channel"' in reopened.audit_csv().splitlines()[0]
    finally:
        reopened.close()
