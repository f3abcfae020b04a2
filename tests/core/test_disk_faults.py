"""Storage faults on a real small file system: a full disk and a read-only one (tmpfs mounts).

Mounting needs root (or CAP_SYS_ADMIN); elsewhere these tests skip and say why. Each fault must end
with one readable line and exit 2 when nothing could be recorded, and never lose or double a decision:
after the space comes back, recovery finishes what the fault cut short, and the audit says what the
checkpoint shows.
"""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from review import ReviewConsole, StoreError
from tests.conftest import THREE_SHAPES
from tests.core.crash_harness import ROOT, Child, forks, read_lines, wait_for
from tests.helpers import APPROVE, batch


@pytest.fixture
def small_fs(tmp_path: Path) -> Iterator[Callable[[str], Path]]:
    """`small_fs("16m")`: a fresh tmpfs of that size, unmounted afterwards."""
    mounted: list[Path] = []

    def mount(size: str) -> Path:
        point = tmp_path / f"fs-{uuid.uuid4().hex[:6]}"
        point.mkdir()
        done = subprocess.run(
            ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(point)], capture_output=True, text=True
        )
        if done.returncode != 0:
            pytest.skip(f"cannot mount a tmpfs here ({done.stderr.strip() or done.returncode}): needs root")
        mounted.append(point)
        return point

    yield mount
    for point in mounted:
        subprocess.run(["umount", "-l", str(point)], check=False)


def _fill(folder: Path) -> Path:
    """Write a file until the file system is full; returns it (delete it to free the space)."""
    filler = folder / "filler"
    with filler.open("wb", buffering=0) as out, contextlib.suppress(OSError):
        while True:
            out.write(b"x" * 65536)  # unbuffered: nothing is left to flush (and fail) at close
    return filler


def _cli(db: Path, *args: str, env: dict[str, str] | None = None) -> tuple[int, Any, str]:
    done = subprocess.run(
        [sys.executable, "-m", "review", "--db", str(db), *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )
    return done.returncode, json.loads(done.stdout) if done.stdout.strip() else None, done.stderr


def _start(db: Path) -> list[Any]:
    console = ReviewConsole.open(db)
    try:
        return console.start_run(THREE_SHAPES).result(timeout=30).new_pending
    finally:
        console.close()


def test_a_full_disk_refuses_the_batch_with_its_reason_and_records_nothing(small_fs: Callable[[str], Path]) -> None:
    db = small_fs("16m") / "review.sqlite"
    rows = _start(db)
    console = ReviewConsole.open(db)
    try:
        assert len(console.pending()) == 3
        filler = _fill(db.parent)
        with pytest.raises(StoreError, match="the disk is full") as raised:
            console.submit(batch(rows, {"create_circle": APPROVE}), "kim")
        assert str(db) in str(raised.value) and "\n" not in str(raised.value)
        filler.unlink()
        assert console.audit() == [] and len(console.pending()) == 3  # nothing was recorded or sent
        assert console.submit(batch(rows, {"create_circle": APPROVE}), "kim").exit_code == 0  # space is back
    finally:
        console.close()


def test_the_cli_on_a_full_disk_exits_2_with_the_reason(small_fs: Callable[[str], Path], tmp_path: Path) -> None:
    db = small_fs("16m") / "review.sqlite"
    rows = _start(db)
    batch_file = tmp_path / "batch.json"
    batch_file.write_text(json.dumps(batch(rows, {"create_circle": APPROVE})), encoding="utf-8")
    filler = _fill(db.parent)
    code, out, err = _cli(db, "decide", "--reviewer", "kim", str(batch_file))
    assert code == 2 and "the disk is full" in out["error"] and "Traceback" not in err
    filler.unlink()
    code, out, _ = _cli(db, "audit")
    assert code == 0 and out == []


@pytest.mark.slow
def test_a_disk_that_fills_during_the_resume_loses_nothing_and_doubles_nothing(
    small_fs: Callable[[str], Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    effect_log = tmp_path / "effects.jsonl"  # the outside world: not on the full disk
    monkeypatch.setenv("CANVAS_EFFECT_LOG", str(effect_log))
    db = small_fs("16m") / "review.sqlite"
    rows = _start(db)
    batch_file = tmp_path / "batch.json"
    batch_file.write_text(json.dumps(batch(rows, {t: APPROVE for t in ("create_circle", "create_square")})))
    decider = Child(
        db,
        ["decide", "--reviewer", "kim", str(batch_file)],
        tmp_path,
        {"CANVAS_EFFECT_LOG": str(effect_log), "SLOW_AGENT_ONLY": "s1", "SLOW_AGENT_STALL_S": "0.5"},
    )
    try:
        wait_for("the square's tool to stall", decider.stalled)
        wait_for("the circle to be drawn", lambda: any(e["shape_id"] == "c1" for e in read_lines(effect_log)))
        filler = _fill(db.parent)
        code = decider.wait()
    finally:
        decider.cleanup()
    assert code == 1, decider.stderr()
    assert decider.json()["not_applied"]  # it says what it could not record
    filler.unlink()

    reopened = ReviewConsole.open(db)
    try:
        assert {e.tool: e.status for e in reopened.audit()} == {"create_circle": "applied", "create_square": "applied"}
        thread_id = rows[0].thread_id
        assert sorted(s["shape_id"] for s in reopened.thread(thread_id).canvas) == ["c1", "s1"]
        assert [r.tool for r in reopened.pending()] == ["create_triangle"]
    finally:
        reopened.close()
    assert sorted(e["shape_id"] for e in read_lines(effect_log)) == ["c1", "s1"]
    assert forks(db, thread_id) == 0


def test_pending_show_and_audit_work_on_a_read_only_file_system(
    small_fs: Callable[[str], Path], tmp_path: Path
) -> None:
    folder = small_fs("16m")
    db = folder / "review.sqlite"
    rows = _start(db)
    subprocess.run(["mount", "-o", "remount,ro", str(folder)], check=True)
    code, listed, err = _cli(db, "pending")
    assert code == 0, err
    assert [r["row_id"] for r in listed] == [r.row_id for r in rows]
    code, shown, _ = _cli(db, "show", rows[0].thread_id)
    assert code == 0 and len(shown["pending"]) == 3
    assert _cli(db, "audit")[:2] == (0, [])
    batch_file = tmp_path / "batch.json"
    batch_file.write_text(json.dumps(batch(rows, {"create_circle": APPROVE})), encoding="utf-8")
    code, out, err = _cli(db, "decide", "--reviewer", "kim", str(batch_file))
    assert code == 2 and "read-only" in out["error"] and "Traceback" not in err
