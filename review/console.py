"""`ReviewConsole`: the one gateway pages and the CLI use to reach the agent and its checkpoints."""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Callable, Iterable
from dataclasses import replace
from pathlib import Path
from typing import Any

from review.agent import AgentSpec, allowed_types, load_agent
from review.audit import AuditEntry, entry_from_row, list_decisions, to_csv
from review.contract import BatchResult, DecisionRequest, PendingInterrupt, ThreadOutcome
from review.inbox import Inbox, listing_reader
from review.leases import Leases, now_iso
from review.recovery import Recovery, Sweeper
from review.runner import RunJob, Runner
from review.settings import Settings
from review.storage import Storage, open_storage
from review.submit import BatchHandle, submit_batch
from review.threads import (
    ThreadInfo,
    ThreadRun,
    ThreadView,
    list_threads,
    read_thread_infos,
    thread_runs,
    view_thread,
)


def change_token_reader(settings: Settings) -> Callable[[], str | None]:
    """Read the store's change token (`ReviewConsole.change_token`) without a console: no graph, no worker.

    For a process that only watches (the server's change route): None while the database does not exist.
    """
    opened: list[Storage] = []

    def read() -> str | None:
        if not opened:
            if not settings.db_path.exists():
                return None
            opened.append(open_storage(settings, create=False, light=True))
        return opened[0].change_token()

    return read


class ReviewConsole:
    """An open store, the agent's compiled graph over it, the inbox cache, the worker and recovery."""

    def __init__(self, storage: Storage, agent: AgentSpec, settings: Settings, *, reader: str | None = None) -> None:
        self.settings = settings
        self.storage = storage
        self.agent = agent
        self.graph = agent.build_graph(storage.saver)
        self.tools = {tool.name: tool for tool in agent.tools}
        self.inbox = Inbox(storage, self.graph, reader=reader)
        self._infos: dict[str, ThreadInfo] = {}  # a thread's request and start never change
        self._infos_lock = threading.Lock()
        self.leases = Leases(storage, settings.lease_seconds)
        self.runner = Runner(storage, self.graph, self.inbox, self.leases)
        self.recovery = Recovery(storage, self.runner, self.leases)
        self.recovered: list[ThreadOutcome] = []
        self._sweeper: Sweeper | None = None

    @classmethod
    def open(
        cls,
        db: str | os.PathLike[str] | None = None,
        *,
        agent: AgentSpec | str | None = None,
        settings: Settings | None = None,
        recover: bool = True,
        create: bool = True,
        watch: bool = False,
    ) -> ReviewConsole:
        """Open the store (creating it when missing, if `create`) and finish what a stopped process left.

        `watch`: keep sweeping for leftovers every `settings.sweep_seconds` (a long-running console).
        """
        settings = settings or Settings.from_env()
        if db is not None:
            settings = replace(settings, db=str(db))
        spec = agent if agent is not None and not isinstance(agent, str) else load_agent(agent or settings.agent)
        # Saved listings are shared between processes reviewing the same agent spec (an import path).
        reference = (agent or settings.agent) if agent is None or isinstance(agent, str) else None
        storage = open_storage(settings, create=create, allowed_types=allowed_types(spec))
        try:
            console = cls(storage, spec, settings, reader=listing_reader(reference) if reference else None)
        except BaseException:
            storage.close()
            raise
        if recover and not storage.read_only:
            console.recovered = console.recovery.run_once()
        if watch and not storage.read_only:
            console._sweeper = Sweeper(console.recovery.sweep, settings.sweep_seconds)
        return console

    @property
    def db_path(self) -> Path:
        """The SQLite file in use."""
        return self.settings.db_path

    @property
    def db_label(self) -> str:
        """The store as users should see it (a path)."""
        return self.storage.label

    @property
    def created(self) -> bool:
        """The store did not exist and this console created it (a typo in a path looks like this)."""
        return self.storage.created

    @property
    def read_only(self) -> bool:
        return self.storage.read_only

    def health(self) -> list[str]:
        """Problems worth showing users: a failing heartbeat or recovery sweep, a read-only store."""
        problems = [text for text in (self.leases.last_error, self._sweeper and self._sweeper.last_error) if text]
        if self.storage.read_only:
            problems.append(f"{self.storage.label} is read-only: rows are shown, nothing can be decided")
        return problems

    # --- reading ---------------------------------------------------------------------------

    def pending(self, thread_id: str | None = None) -> list[PendingInterrupt]:
        """Every pending interrupt (or one thread's), re-reading only threads that changed."""
        return self.inbox.rows(thread_id)

    def change_token(self) -> str:
        """Changes whenever anything the Inbox shows may have changed, in any process (a cheap query)."""
        return self.storage.change_token()

    def failures(self) -> dict[tuple[str, str], AuditEntry]:
        """Rows whose latest decision failed (the tool or the run raised), by (thread_id, row_id).

        Such a row is pending again; the entry says who decided it, when, and the error.
        """
        return {(e.thread_id, e.row_id): e for e in map(entry_from_row, self.storage.last_failures())}

    def thread_infos(self, thread_ids: Iterable[str]) -> dict[str, ThreadInfo]:
        """Each thread's request (its first human message) and start time, read once per thread."""
        wanted = list(dict.fromkeys(thread_ids))
        with self._infos_lock:
            missing = [t for t in wanted if t not in self._infos]
        if missing:
            found = read_thread_infos(self.storage, missing)
            with self._infos_lock:
                self._infos.update(found)
        with self._infos_lock:
            return {t: self._infos[t] for t in wanted if t in self._infos}

    def draft(self, reviewer: str) -> dict[str, dict[str, Any]]:
        """The unsent decisions `reviewer` left (row key -> entry), kept across reloads and restarts."""
        out: dict[str, dict[str, Any]] = {}
        for key, text in self.storage.draft(reviewer).items():
            try:
                entry = json.loads(text)
            except ValueError:
                continue
            if isinstance(entry, dict):
                out[key] = entry
        return out

    def save_draft(self, reviewer: str, changes: dict[str, dict[str, Any] | None]) -> None:
        """Keep (or, with None, forget) some of `reviewer`'s unsent decisions. Nothing is kept when read-only."""
        if self.storage.read_only or not changes:
            return
        self.storage.save_draft(
            reviewer,
            {
                key: None if entry is None else json.dumps(entry, sort_keys=True, default=str)
                for key, entry in changes.items()
            },
            now_iso(),
        )

    def runs(self) -> list[ThreadRun]:
        """Runs in progress or cut short (e.g. "run interrupted, continuing")."""
        return thread_runs(self.storage.leases(), self.leases.abandoned)

    def thread(self, thread_id: str, *, timeline: bool = True) -> ThreadView:
        """One thread from its checkpoints; `timeline=False` skips the checkpoint history (the Inbox's pane)."""
        return view_thread(self.graph, self.inbox, thread_id, history=50 if timeline else 0)

    def threads(self, limit: int = 200) -> list[str]:
        return list_threads(self.storage, limit)

    def audit(self, *, reviewer: str | None = None, thread_id: str | None = None) -> list[AuditEntry]:
        return list_decisions(self.storage, reviewer=reviewer, thread_id=thread_id)

    def audit_csv(self, *, reviewer: str | None = None) -> str:
        return to_csv(self.audit(reviewer=reviewer))

    # --- acting ----------------------------------------------------------------------------

    def start_run(self, prompt: str) -> RunJob:
        """Start the agent on `prompt` in a new thread; follow `job.events()`, then `job.result()`."""
        prompt = (prompt or "").strip()
        if not prompt:
            raise ValueError("the prompt is empty")
        if self.storage.read_only:
            raise ValueError(f"{self.storage.label} is read-only: no run can be started")
        return self.runner.start(self.agent.start_input(prompt))

    def submit_batch(self, items: Iterable[DecisionRequest | dict[str, Any]], reviewer: str) -> BatchHandle:
        """Validate, claim and start resuming a batch; returns at once with a handle."""
        requests = [
            item if isinstance(item, DecisionRequest) else DecisionRequest.from_dict(item, position)
            for position, item in enumerate(items, start=1)
        ]
        return submit_batch(self.storage, self.inbox, self.runner, self.tools, requests, reviewer)

    def submit(self, items: Iterable[DecisionRequest | dict[str, Any]], reviewer: str) -> BatchResult:
        """`submit_batch` and wait for every thread's resume."""
        return self.submit_batch(items, reviewer).result()

    def job(self, job_id: str) -> RunJob | None:
        return self.runner.job(job_id)

    def close(self) -> None:
        if self._sweeper is not None:
            self._sweeper.stop()
        self.runner.shutdown()
        self.leases.stop()
        self.storage.close()
