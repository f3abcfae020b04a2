"""Browser tests: `streamlit run serve.py` on 127.0.0.1 with a temporary database, driven by Debian's Chromium.

Fixtures:
- `server` (session): the console on a free port, its database path and effect log; the process group is
  killed at teardown, also when a test failed. `serve(workdir, log)` starts another one (a fresh server).
- `browser` (session): Chromium from /usr/bin/chromium (Playwright's own download does not work here).
- `new_app` (function): opens a fresh browser context (one reviewer) on the console; each gets a dialog guard
  (no `alert()` may ever open) and a screenshot under tests/e2e/artifacts/ at teardown, pass or fail.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.helpers import ROOT, App

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
VIEWPORT = {"width": 1600, "height": 1000}
START_TIMEOUT_S = 60


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    """Remember each phase's outcome on the item, so teardown knows whether the test failed."""
    report = yield
    setattr(item, f"rep_{report.when}", report)
    return report


@dataclass(frozen=True)
class Server:
    url: str
    db: Path  # a SQLite file, or (a replica on PostgreSQL) the database's URL
    effect_log: Path
    log: Path
    env: dict[str, str]

    def effects(self) -> list[str]:
        """Side effects the tools really performed (one JSON line each), across processes."""
        return self.effect_log.read_text().splitlines() if self.effect_log.exists() else []


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
            return response.read().decode().strip() == "ok"
    except (urllib.error.URLError, OSError):
        return False


def _stop(process: subprocess.Popen[bytes]) -> None:
    """Kill the server's whole process group (streamlit and any worker it started)."""
    if process.poll() is not None:
        return
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)
    except ProcessLookupError:
        pass


@contextmanager
def serve(
    workdir: Path, log: Path, db: str | None = None, *, port: int | None = None, args: Sequence[str] = ()
) -> Iterator[Server]:
    """`streamlit run serve.py` (the pages plus the Inbox's change route) on a free port of 127.0.0.1 with its own
    database in `workdir` (or `db`, e.g. a postgresql:// URL several servers share), until the block ends."""
    port = port or _free_port()
    url = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "REVIEW_DB": db or str(workdir / "review.sqlite"),
        "CANVAS_EFFECT_LOG": str(workdir / "effects.jsonl"),
        "STREAMLIT_BROWSER_GATHER_USAGE_STATS": "false",
        "PYTHONUNBUFFERED": "1",
    }
    env.pop("REVIEW_AGENT", None)
    command = [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        "serve.py",
        "--server.headless",
        "true",
        "--server.address",
        "127.0.0.1",
        "--server.port",
        str(port),
        "--server.fileWatcherType",
        "none",
        *args,
    ]
    with log.open("wb") as out:
        process = subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while not _healthy(url):
            if process.poll() is not None:
                pytest.fail(f"streamlit exited with {process.returncode}:\n{log.read_text()[-3000:]}")
            if time.monotonic() > deadline:
                pytest.fail(f"streamlit not healthy after {START_TIMEOUT_S} s:\n{log.read_text()[-3000:]}")
            time.sleep(0.1)  # polling a health endpoint, not synchronising with the page
        where: Any = env["REVIEW_DB"] if db else Path(env["REVIEW_DB"])
        yield Server(url, where, Path(env["CANVAS_EFFECT_LOG"]), log, env)
    finally:
        _stop(process)


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    if not (ROOT / "app.py").exists():
        pytest.fail("app.py is missing: the console has no entry point")
    ARTIFACTS.mkdir(exist_ok=True)
    for old in ARTIFACTS.glob("*.png"):  # screenshots of an earlier session would pass for this one's
        old.unlink()
    with serve(tmp_path_factory.mktemp("e2e"), ARTIFACTS / "server.log") as running:
        yield running


@pytest.fixture
def fresh_server(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Server]:
    """A server of this test's own, on a new database (`prepare(db)`, if the test defines it, fills it first)."""
    ARTIFACTS.mkdir(exist_ok=True)
    name = re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.name)
    prepare = getattr(request.module, "prepare_" + request.node.originalname, None)
    if prepare is not None:
        prepare(tmp_path / "review.sqlite")
    with serve(tmp_path, ARTIFACTS / f"server-{name}.log") as running:
        yield running


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    if not CHROMIUM.exists():
        message = f"{CHROMIUM} is missing (apt-get install chromium)"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture(scope="session")
def saved_state(server: Server) -> Iterator[Callable[[str], Any]]:
    """`saved_state(thread_id)`: the thread's latest checkpoint, read with LangGraph itself (not through review/)."""
    from langgraph.checkpoint.sqlite import SqliteSaver

    from graph import build_graph

    conn = sqlite3.connect(server.db, check_same_thread=False, timeout=30)
    graph = build_graph(SqliteSaver(conn))
    try:
        yield lambda thread_id: graph.get_state({"configurable": {"thread_id": thread_id}})
    finally:
        conn.close()


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", text).strip("_")[:120]


@pytest.fixture
def new_app(request: pytest.FixtureRequest, browser: object, server: Server) -> Iterator[Callable[..., App]]:
    """`new_app(path="", title="Inbox", on=server, viewport=None)`: a new browser context (a new reviewer)."""
    opened: list[tuple[object, App]] = []

    def make(path: str = "", title: str = "Inbox", on: Server = server, viewport: dict[str, int] | None = None) -> App:
        context = browser.new_context(viewport=viewport or VIEWPORT)  # type: ignore[attr-defined]
        context.set_default_timeout(30_000)
        page = context.new_page()
        app = App(page, on.url)
        page.on("dialog", lambda dialog: (app.dialogs.append(dialog.message), dialog.dismiss()))
        page.on("pageerror", lambda error: app.page_errors.append(str(error)))
        opened.append((context, app))
        app.open(path, title)
        return app

    yield make
    failed = any(
        getattr(request.node, f"rep_{when}", None) and getattr(request.node, f"rep_{when}").failed
        for when in ("setup", "call")
    )
    dialogs: list[str] = []
    for index, (context, app) in enumerate(opened):
        suffix = "" if len(opened) == 1 else f"-{index + 1}"
        name = f"{_slug(request.node.name)}{suffix}{'-FAILED' if failed else ''}.png"
        try:
            app.screenshot(ARTIFACTS / name)
        except Exception as exc:  # a screenshot must not hide the test's own failure
            print(f"screenshot {name} failed: {exc}")
        dialogs += app.dialogs
        if app.retries:  # steps that had to start over: not failures, but worth seeing when a run is slow
            print(f"{request.node.name}{suffix}: {len(app.retries)} retried step(s): {app.retries}")
        if app.page_errors:
            print(f"{request.node.name}{suffix}: JavaScript errors in the page: {app.page_errors}")
        context.close()  # type: ignore[attr-defined]
    assert not dialogs, f"a JavaScript dialog opened: {dialogs}"
