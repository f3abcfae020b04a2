"""`ReviewConsole`: the one gateway pages and the CLI use to reach the agent and its checkpoints."""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from review.agent import AgentSpec, load_agent
from review.audit import AuditEntry, list_decisions, to_csv
from review.contract import BatchResult, DecisionRequest, PendingInterrupt, ThreadOutcome
from review.inbox import Inbox
from review.leases import Leases
from review.runner import RunJob, Runner
from review.store import Store, open_store
from review.submit import BatchHandle, submit_batch
from review.threads import ThreadView, list_threads, view_thread


class ReviewConsole:
    """An open store, the agent's compiled graph over it, the inbox cache and the worker."""

    def __init__(self, store: Store, agent: AgentSpec, *, lease_seconds: float | None = None) -> None:
        self.store = store
        self.agent = agent
        self.graph = agent.build_graph(store.saver)
        self.tools = {tool.name: tool for tool in agent.tools}
        self.inbox = Inbox(store, self.graph)
        self.leases = Leases(store, lease_seconds)
        self.runner = Runner(store, self.graph, self.inbox, self.leases)
        self.recovered: list[ThreadOutcome] = []

    @classmethod
    def open(
        cls,
        db: str | os.PathLike[str] | None = None,
        *,
        agent: AgentSpec | str | None = None,
        recover: bool = True,
        create: bool = True,
    ) -> ReviewConsole:
        """Open the store (creating it when missing, if `create`) and finish decisions a killed process left."""
        spec = agent if agent is not None and not isinstance(agent, str) else load_agent(agent)
        console = cls(open_store(db, create=create), spec)
        if recover:
            console.recovered = console.runner.recover()
        return console

    @property
    def db_path(self) -> Path:
        return self.store.path

    # --- reading ---------------------------------------------------------------------------

    def pending(self, thread_id: str | None = None) -> list[PendingInterrupt]:
        """Every pending interrupt (or one thread's), re-reading only threads that changed."""
        return self.inbox.rows(thread_id)

    def thread(self, thread_id: str) -> ThreadView:
        return view_thread(self.graph, self.inbox, thread_id)

    def threads(self, limit: int = 200) -> list[str]:
        return list_threads(self.store, limit)

    def audit(self, *, reviewer: str | None = None, thread_id: str | None = None) -> list[AuditEntry]:
        return list_decisions(self.store, reviewer=reviewer, thread_id=thread_id)

    def audit_csv(self, *, reviewer: str | None = None) -> str:
        return to_csv(self.audit(reviewer=reviewer))

    # --- acting ----------------------------------------------------------------------------

    def start_run(self, prompt: str) -> RunJob:
        """Start the agent on `prompt` in a new thread; follow `job.events()`, then `job.result()`."""
        prompt = (prompt or "").strip()
        if not prompt:
            raise ValueError("the prompt is empty")
        return self.runner.start(self.agent.start_input(prompt))

    def submit_batch(self, items: Iterable[DecisionRequest | dict[str, Any]], reviewer: str) -> BatchHandle:
        """Validate, claim and start resuming a batch; returns at once with a handle."""
        requests = [item if isinstance(item, DecisionRequest) else DecisionRequest.from_dict(item) for item in items]
        return submit_batch(self.store, self.inbox, self.runner, self.tools, requests, reviewer)

    def submit(self, items: Iterable[DecisionRequest | dict[str, Any]], reviewer: str) -> BatchResult:
        """`submit_batch` and wait for every thread's resume."""
        return self.submit_batch(items, reviewer).result()

    def job(self, job_id: str) -> RunJob | None:
        return self.runner.job(job_id)

    def close(self) -> None:
        self.runner.shutdown()
        self.leases.stop()
        self.store.close()
