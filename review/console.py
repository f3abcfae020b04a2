"""`ReviewConsole`: the one gateway pages and the CLI use to reach the agent and its checkpoints."""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import replace
from pathlib import Path
from typing import Any

from review.agent import AgentSpec, allowed_types, load_agent
from review.audit import AuditEntry, list_decisions, to_csv
from review.contract import BatchResult, DecisionRequest, PendingInterrupt, ThreadOutcome
from review.inbox import Inbox
from review.leases import Leases
from review.recovery import Recovery, Sweeper
from review.runner import RunJob, Runner
from review.settings import Settings
from review.storage import ChangeToken, Storage, open_storage
from review.submit import BatchHandle, submit_batch
from review.threads import ThreadRun, ThreadView, list_threads, thread_runs, view_thread


class ReviewConsole:
    """An open store, the agent's compiled graph over it, the inbox cache, the worker and recovery."""

    def __init__(self, storage: Storage, agent: AgentSpec, settings: Settings) -> None:
        self.settings = settings
        self.storage = storage
        self.agent = agent
        self.graph = agent.build_graph(storage.saver)
        self.tools = {tool.name: tool for tool in agent.tools}
        self.inbox = Inbox(storage, self.graph)
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
        storage = open_storage(settings, create=create, allowed_types=allowed_types(spec))
        try:
            console = cls(storage, spec, settings)
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
        """The SQLite file in use (for a PostgreSQL store use `db_label`)."""
        return self.settings.db_path

    @property
    def db_label(self) -> str:
        """The store as users should see it: a path, or a URL without its password."""
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
        problems += self.storage.health()
        if self.storage.read_only:
            problems.append(f"{self.storage.label} is read-only: rows are shown, nothing can be decided")
        return problems

    # --- reading ---------------------------------------------------------------------------

    def pending(self, thread_id: str | None = None) -> list[PendingInterrupt]:
        """Every pending interrupt (or one thread's), re-reading only threads that changed."""
        return self.inbox.rows(thread_id)

    def change_token(self) -> ChangeToken:
        """Cheap (no query on PostgreSQL, one index read on SQLite): moves when pending rows may have changed.

        A page polls it (e.g. every 0.2 s) and redraws only when it moved; `pending()` reads the truth.
        """
        return self.storage.change_token()

    @property
    def pushes_changes(self) -> bool:
        """The store notifies changes (PostgreSQL), so watching `change_token()` often costs nothing."""
        return self.storage.pushes_changes

    def wait_for_change(self, token: ChangeToken, timeout: float) -> ChangeToken:
        """Block until `change_token()` differs from `token`, or `timeout` seconds; returns the new token."""
        return self.storage.wait_for_change(token, timeout)

    def runs(self) -> list[ThreadRun]:
        """Runs in progress or cut short (e.g. "run interrupted, continuing")."""
        return thread_runs(self.storage.leases(), self.leases.abandoned)

    def thread(self, thread_id: str) -> ThreadView:
        return view_thread(self.graph, self.inbox, thread_id)

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
