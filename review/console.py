"""`ReviewConsole`: the one gateway pages and the CLI use to reach the agent and its checkpoints."""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from review.agent import AgentSpec, allowed_types, load_agent
from review.audit import AuditEntry, entry_from_row, list_decisions, to_csv
from review.contract import BatchResult, DecisionRequest, PendingInterrupt, ThreadOutcome
from review.cosign import proposals
from review.graphs import GraphSet, LoadedGraph, attach, load_config, read_config, resolve_target
from review.identity import Reviewer, as_reviewer
from review.inbox import Inbox, listing_reader
from review.insights import Insights, compute, log_time
from review.leases import Leases, now_iso
from review.notify.links import ActionLinks
from review.policy import NotAllowed, Policy, load_policy
from review.recovery import Recovery, Sweeper
from review.rules import (
    MIN_DECISIONS,
    MIN_SHARE,
    NAME_PREFIX,
    RuleError,
    ShadowReport,
    ShadowRule,
    Suggestion,
    promoted_policy_text,
    shadow,
    stored_args,
    suggest,
)
from review.runner import RunJob, Runner
from review.serde import allow_graph_types, parse_allowed_types
from review.settings import DEFAULT_POLICY_FILE, Settings, graphs_key
from review.sources import ServerSet, ServerSource, ServerTarget, parse_server_config
from review.sources.server import live_token
from review.storage import ChangeToken, Storage, open_storage
from review.storage.insight import InsightTables, RuleEvent, RuleRow
from review.submit import BatchHandle, submit_batch
from review.threads import (
    ThreadInfo,
    ThreadRun,
    ThreadView,
    list_threads,
    read_thread_infos,
    thread_runs,
)
from review.traces import SERVER_PREFIX, TraceLink, links
from review.validation import NOT_PENDING, InvalidDecision, check_request, tool_args_schema


class InboxWatch:
    """The Inbox's token (`ReviewConsole.inbox_token`: the store's, plus the Agent Servers') read without a console
    (no graph, no worker), and a wait that ends early when the store pushes a change.

    For a process that only watches (the server's change route): `read()` is None while the database does not
    exist. `wait` returns as soon as any process writes a checkpoint, so another process's interrupt reaches the
    route without waiting for the next full look: on PostgreSQL the store's LISTEN connection says so; SQLite has
    no notifications, and its feed's top (one index read) is looked at every 10 ms instead.
    """

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._storage: Storage | None = None
        self._pushed: ChangeToken | None = None  # the store's pushed token when `read` last looked

    def _opened(self) -> Storage | None:
        if self._storage is None:
            if "://" not in self._settings.db and not self._settings.db_path.exists():
                return None
            self._storage = open_storage(self._settings, create=False, light=True)
        return self._storage

    def read(self) -> str | None:
        """The Inbox's change token now, or None while there is no database."""
        storage = self._opened()
        if storage is None:
            return None
        self._pushed = storage.change_token()  # taken BEFORE the read: a change while reading still ends the wait
        return storage.inbox_token() + live_token()

    def wait(self, timeout: float) -> None:
        """Block up to `timeout` seconds, less when a checkpoint is written after the last `read` (blocking:
        call it from a worker thread)."""
        storage = self._storage
        if storage is not None and self._pushed is not None:
            storage.wait_for_change(self._pushed, timeout)
        else:
            time.sleep(timeout)


def change_token_reader(settings: Settings) -> Callable[[], str | None]:
    """`InboxWatch(settings).read`: the Inbox's token without a console."""
    return InboxWatch(settings).read


class ReviewConsole:
    """An open store, the agent's compiled graph over it, the inbox cache, the worker and recovery."""

    def __init__(
        self,
        storage: Storage,
        graphs: list[LoadedGraph],
        settings: Settings,
        *,
        reader: str | None = None,
        servers: ServerSet | None = None,
    ) -> None:
        self.settings = settings
        self.storage = storage
        self.graphs = GraphSet(graphs, storage.thread_graph)
        _allow_graph_types(storage, graphs, settings)
        self.graph = self.graphs.default.graph  # the default graph (the only one, most of the time)
        self.tools = self.graphs.default.tools
        self.inbox = Inbox(storage, self.graphs, reader=reader)
        self._infos: dict[str, ThreadInfo] = {}  # a thread's request and start never change
        self._infos_lock = threading.Lock()
        self.leases = Leases(storage, settings.lease_seconds)
        self.servers = servers or ServerSet()
        self.runner = Runner(storage, self.graphs, self.inbox, self.leases, servers=self.servers)
        self.sources = self.runner.sources  # the source of each thread: an Agent Server that listed it, or local
        self.recovery = Recovery(storage, self.runner, self.leases)
        self.policy = load_policy(settings.policy)
        self.recovered: list[ThreadOutcome] = []
        self._sweeper: Sweeper | None = None
        self._links: ActionLinks | None = None

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
        if isinstance(agent, str):
            settings = replace(settings, agent=agent, graph=None, config=None)
        targets = _targets(settings) if agent is None else []  # import the graphs before touching the store
        spec = agent if agent is not None and not isinstance(agent, str) else None
        if spec is None and not targets:
            spec = load_agent(settings.agent)
        storage = open_storage(settings, create=create, allowed_types=allowed_types(spec) if spec else ())
        try:
            if spec is not None:
                graphs = [attach(spec, storage.saver, settings.agent, getattr(spec, "name", "agent"))]
            else:
                graphs = [attach(obj, storage.saver, target, graph_id) for graph_id, target, obj in targets]
            # Saved listings are shared between processes that load the same graphs (import paths).
            reference = graphs_key(settings) if agent is None or isinstance(agent, str) else None
            servers = open_servers(settings)
            console = cls(
                storage, graphs, settings, reader=listing_reader(reference) if reference else None, servers=servers
            )
        except BaseException:
            storage.close()
            raise
        # Read the servers before recovery: a claim left on a server thread is finished there.
        console.sources.refresh(full=True)
        if recover and not storage.read_only:
            console.recovered = console.recovery.run_once()
            console.apply_rules(wait=True)  # the audit keeps what they decided
        if watch and not storage.read_only:
            console._sweeper = Sweeper(console._sweep, settings.sweep_seconds)
        if watch:
            console.sources.start()
        return console

    def _sweep(self) -> None:
        self.recovery.sweep()
        self.apply_rules()

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
        """The store refuses writes: rows are shown, nothing can be decided or started."""
        return self.storage.read_only

    def health(self, *, sources: bool = True) -> list[str]:
        """Problems worth showing users: a failing heartbeat or recovery sweep, a read-only store, and (`sources`)
        an Agent Server that cannot be listed (`source_health`)."""
        problems = [text for text in (self.leases.last_error, self._sweeper and self._sweeper.last_error) if text]
        problems += self.storage.health()
        if sources:
            problems += self.source_health()
        if self.storage.read_only:
            problems.append(f"{self.storage.label} is read-only: rows are shown, nothing can be decided")
        return problems

    # --- reading ---------------------------------------------------------------------------

    def pending(self, thread_id: str | None = None) -> list[PendingInterrupt]:
        """Every pending interrupt (or one thread's), re-reading only threads that changed.

        Rows of Agent Servers come from their last refresh (a running console polls them in the background).
        """
        return self.sources.rows(thread_id)

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

    def inbox_token(self) -> str:
        """Changes whenever anything the Inbox shows may have changed, in any process (a cheap query)."""
        return self.storage.inbox_token() + self.sources.token()

    def source_health(self) -> list[str]:
        """One line per Agent Server whose last refresh failed (its last good rows stay listed). Part of the inbox
        token, so an open Inbox redraws when a server goes away or comes back."""
        return self.sources.health()

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
            for thread_id in missing:
                request = self.sources.for_thread(thread_id).request(thread_id)
                if request is not None and thread_id not in found:
                    found[thread_id] = ThreadInfo(thread_id, request, None)
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
        """One thread from its checkpoints, for any graph (`ThreadView`: values as JSON-ready data, messages, what
        runs next, pending rows, the timeline); `timeline=False` skips the checkpoint history (the Inbox's pane)."""
        return self.sources.for_thread(thread_id).view(thread_id, timeline=timeline)

    def threads(self, limit: int = 200) -> list[str]:
        """Thread ids of the store, most recently changed first (at most `limit`)."""
        return list_threads(self.storage, limit)

    def audit(
        self, *, reviewer: str | None = None, thread_id: str | None = None, verification: str | None = None
    ) -> list[AuditEntry]:
        """The decision log, newest first; of one reviewer, thread or verification level when given."""
        entries = list_decisions(self.storage, reviewer=reviewer, thread_id=thread_id)
        return [e for e in entries if verification is None or e.verification == verification]

    def audit_csv(self, *, reviewer: str | None = None) -> str:
        """The decision log (of one reviewer) as guarded CSV."""
        return to_csv(self.audit(reviewer=reviewer))

    # --- insights ----------------------------------------------------------------------------

    def _insight_tables(self) -> InsightTables:
        """The insight reads and the suggested rules' table of this store (made once, on first use)."""
        found: InsightTables | None = getattr(self, "_insight", None)
        if found is None:
            found = self._insight = InsightTables(self.storage)
        return found

    def insights(self, since: datetime | None, until: datetime | None = None) -> Insights:
        """Time to decide, approve / edit / reject rates, deadline breaches and notification -> decision latency of
        the decisions made in [since, until) (None: since the first; until: now). review/insights.py says how."""
        until = until or datetime.now(UTC)
        tables = self._insight_tables()
        entries = [
            entry_from_row(row)
            for row in tables.decisions_between(log_time(since) if since is not None else None, log_time(until))
        ]
        notified = tables.notified_at([(e.thread_id, e.row_id) for e in entries if e.status == "applied"])
        return compute(
            entries,
            since=since,
            until=until,
            deadlines=self.policy.deadlines,
            pending=self.pending(),
            notified_at=notified,
        )

    # --- trace links -------------------------------------------------------------------------

    def trace_links(self, thread_id: str, source: str | None = None) -> list[TraceLink]:
        """Where the thread's latest run went (review/traces.py): its LangSmith trace when `REVIEW_TRACE_URL` is set
        (run and thread ids from the metadata of the thread's head checkpoint: the one that raised its rows), and
        its Studio view when `source` says an Agent Server holds it (a row's `source`). No network."""
        metadata = None
        if self.settings.trace_url and not (source or "").startswith(SERVER_PREFIX):
            head = self.storage.saver.get_tuple({"configurable": {"thread_id": thread_id, "checkpoint_ns": ""}})
            metadata = dict(head.metadata) if head is not None else None
        return links(self.settings.trace_url, self.settings.studio_url, thread_id, metadata, source)

    def row_links(self, row: PendingInterrupt) -> list[TraceLink]:
        """`trace_links` of a row's thread and source."""
        return self.trace_links(row.thread_id, row.source)

    # --- rules earned from history ------------------------------------------------------------

    def rule_suggestions(self, *, min_decisions: int = MIN_DECISIONS, min_share: float = MIN_SHARE) -> list[Suggestion]:
        """Auto-approve rules the decision log argues for (review/rules.py), leaving out tools that already have a
        rule in shadow mode, promoted or dropped."""
        tables = self._insight_tables()
        entries = [entry_from_row(row) for row in tables.decisions_between(None, None)]
        stored = {row.tool for row in tables.rules()}
        return suggest(entries, self.policy, min_decisions=min_decisions, min_share=min_share, skip=stored)

    def shadow_rules(self) -> list[ShadowReport]:
        """Every rule put in shadow mode (newest first), each held against the decisions people made since."""
        tables = self._insight_tables()
        stored = [_shadow_rule(row) for row in tables.rules()]
        if not stored:
            return []
        entries = [entry_from_row(row) for row in tables.decisions_between(min(r.since for r in stored), None)]
        return [shadow(rule, entries) for rule in stored]

    def rule_events(self) -> list[RuleEvent]:
        """Who shadowed, promoted or dropped which rule, when (newest first)."""
        return self._insight_tables().rule_events()

    def start_shadow(
        self, tool: str, reviewer: Reviewer | str, *, args: dict[str, Any] | None = None, evidence: str = ""
    ) -> ShadowRule:
        """Put an auto-approve rule for `tool` (matching `args`; all its calls when None) in shadow mode: from now on
        every decision of the tool is held against it. Whoever may decide the tool may; NotAllowed if not."""
        who = self._rule_keeper(tool, reviewer)
        rule = ShadowRule(f"{NAME_PREFIX}{tool}", tool, dict(args or {}), "shadow", now_iso(), who.identity, evidence)
        rule.rule()  # its arguments as the policy file's schema checks them (PolicyError names what is wrong)
        row = RuleRow(
            rule.name, rule.tool, stored_args(rule), rule.state, rule.since, rule.created_by, evidence, None, None
        )
        if not self._insight_tables().add_rule(row):
            raise RuleError(f"a rule named {rule.name!r} was shadowed before (see the rules' history)")
        return rule

    def promote_rule(self, name: str, reviewer: Reviewer | str) -> Path:
        """Write the shadowed rule `name` into the policy file as an `[[auto_approve]]` table (checked by the policy's
        loader first), record who promoted it, and use the new policy at once; returns the file written.

        The file is the console's policy (`--policy`), else review-policy.toml. Another console reads it when it
        opens. RuleError when the rule is not in shadow mode or the file would not load."""
        rule = self._shadowed(name)
        who = self._rule_keeper(rule.tool, reviewer)
        path = Path(self.settings.policy).expanduser() if self.settings.policy else DEFAULT_POLICY_FILE
        existed = path.exists()
        current = path.read_text(encoding="utf-8") if existed else ""
        at = now_iso()
        _write_atomically(path, promoted_policy_text(current, rule, who.label, at, str(path)))
        if not self._insight_tables().end_rule(name, "promoted", who.identity, at, f"written to {path}"):
            if existed:
                _write_atomically(path, current)
            else:
                path.unlink()
            raise RuleError(f"the rule {name!r} was promoted or dropped meanwhile: the policy file is as it was")
        self.policy = _reloaded(self.policy, path)
        return path

    def drop_rule(self, name: str, reviewer: Reviewer | str) -> None:
        """Stop shadowing the rule `name` (it is kept, dropped, in the rules' history)."""
        rule = self._shadowed(name)
        who = self._rule_keeper(rule.tool, reviewer)
        if not self._insight_tables().end_rule(name, "dropped", who.identity, now_iso(), None):
            raise RuleError(f"the rule {name!r} was promoted or dropped meanwhile")

    def _shadowed(self, name: str) -> ShadowRule:
        found = next((row for row in self._insight_tables().rules() if row.name == name), None)
        if found is None:
            raise RuleError(f"no rule named {name!r} is in shadow mode")
        if found.state != "shadow":
            raise RuleError(f"the rule {name!r} was {found.state} by {found.ended_by} at {found.ended_at}")
        return _shadow_rule(found)

    def _rule_keeper(self, tool: str, reviewer: Reviewer | str) -> Reviewer:
        """Who may shadow, promote or drop a rule of `tool`: whoever the policy lets approve its calls."""
        who = as_reviewer(reviewer)
        if self.storage.read_only:
            raise ValueError(f"{self.storage.label} is read-only: rules cannot be changed")
        if not who.identity:
            raise NotAllowed("say who you are (sign in, or enter your name in the sidebar) before changing rules")
        row = PendingInterrupt("", "", "", None, tool, {}, "", ("approve",), None)
        refused = self.policy.may_decide(who, row, "approve")
        if refused:
            raise NotAllowed(refused)
        return who

    # --- acting ----------------------------------------------------------------------------

    def start_run(
        self,
        prompt: str,
        *,
        graph_id: str | None = None,
        run_input: Any = None,
        reviewer: Reviewer | str | None = None,
    ) -> RunJob:
        """Start a graph (the default one) on `prompt` in a new thread; follow `job.events()`, then `job.result()`.

        `run_input` replaces the input the graph builds from the prompt (`--input JSON`): any JSON value, since a
        graph's input need not be a dict (a functional-API `@entrypoint` takes its first argument as is). None means
        "build it from the prompt"; a graph whose input is JSON null cannot be started from here.

        `reviewer`: the person starting it (a typed name is an unverified reviewer; `Reviewer.anonymous()` when
        nobody said who they are), checked against the policy's `starters`: `NotAllowed` (a ValueError) names
        why when refused. Every entry point acting for a person passes one (the pages, the CLI); None is code in
        this process acting for nobody (a script embedding the console, tests), which the policy does not limit.
        """
        if reviewer is not None:
            refused = self.policy.may_start(as_reviewer(reviewer))
            if refused:
                raise NotAllowed(refused)
        graph = self.graphs.get(graph_id)
        if run_input is None:
            prompt = (prompt or "").strip()
            if not prompt:
                raise ValueError("the prompt is empty")
            run_input = graph.start_input(prompt)
        if self.storage.read_only:
            raise ValueError(f"{self.storage.label} is read-only: no run can be started")
        return self.runner.start(graph, run_input)

    def submit_batch(
        self,
        items: Iterable[DecisionRequest | dict[str, Any]],
        reviewer: Reviewer | str,
        *,
        channel: str | None = None,
    ) -> BatchHandle:
        """Validate, claim and start resuming a batch; returns at once with a handle.

        `reviewer`: who decides (a typed name is an unverified reviewer); the policy checks every row.
        `channel`: where it was decided, for the audit (review/submit.py's CHANNELS: "link" from an action link,
        "api" from a program); None: the reviewer's kind says it (cli, rule, else console).
        """
        requests = [
            item if isinstance(item, DecisionRequest) else DecisionRequest.from_dict(item, position)
            for position, item in enumerate(items, start=1)
        ]
        return submit_batch(self.storage, self.runner, requests, reviewer, self.policy, channel)

    def may_decide(self, reviewer: Reviewer | str, row: PendingInterrupt) -> str | None:
        """None when this reviewer may decide the row; else why not (the page shows it read-only)."""
        return row.blocked or self.policy.may_decide(as_reviewer(reviewer), row)

    def check_decision(
        self, thread_id: str, row_id: str, raw: Any, reviewer: Reviewer | str | None, *, force: bool = False
    ) -> str | None:
        """Why a submit would refuse the decision `raw` (langchain's shape) for this row, in its words; None if not.

        The very checks `submit_batch` makes (review/validation.py's `check_request`: the row's warning, the
        decision's fields, the tool's arguments or the question's answer, the policy), on the row as the console
        last listed it, with its source's tools; nothing is claimed or written. The Inbox asks it as the reviewer
        types. `reviewer` None: nobody said who yet, so the policy is not asked. ValueError for a bad name.
        """
        row = next((r for r in self.pending(thread_id) if r.row_id == row_id), None)
        if row is None:
            return NOT_PENDING
        who = as_reviewer(reviewer) if reviewer is not None else None
        tools = self.runner.source_for(thread_id).tools(row.graph_id)
        try:
            check_request(row, raw, tools, who, self.policy, force=force)
        except InvalidDecision as exc:
            return str(exc)
        return None

    def action_links(self) -> ActionLinks:
        """The store's signed action links (review/notify/links.py): made by any replica's notifier, checked here
        against the policy as it is when asked. Their key is REVIEW_LINK_KEY, else the store's own."""
        if self._links is None:
            self._links = ActionLinks.open(self.storage, lambda: self.policy, self.settings)
        return self._links

    def args_schema(self, row: PendingInterrupt) -> dict[str, Any] | None:
        """The JSON Schema of a row's tool arguments, for a form of them: the one its interrupt carries, else the
        loaded tool's (the schema an edit is checked against); None when neither is known."""
        if row.args_schema is not None:
            return row.args_schema
        tool = self.runner.source_for(row.thread_id).tools(row.graph_id).get(row.tool or "")
        return tool_args_schema(tool) if tool is not None else None

    def row_notes(self, rows: Iterable[PendingInterrupt]) -> dict[tuple[str, str], list[str]]:
        """What the policy and the co-signs say about each row: rules, deadlines, and each waiting proposal
        ("1 of 2 approvals (ana)", "1 of 2 approvals of edit {"color": "blue"} (bob)")."""
        signs = self.storage.cosigns()
        notes: dict[tuple[str, str], list[str]] = {}
        for row in rows:
            found = self.policy.notes(row)
            needed = self.policy.approvals(row.tool)
            found += [proposal.text(needed) for proposal in proposals(signs.get(row.key, ()))]
            if found:
                notes[row.key] = found
        return notes

    def apply_rules(self, *, wait: bool = False) -> list[BatchResult]:
        """Let the policy decide what it decides by itself: auto-approve matching calls, act on passed deadlines.

        Each decision goes through the same claim path as a reviewer's, under the rule's name, so a reviewer
        deciding at the same moment races safely against it (one of them wins, the other is told who).
        """
        if self.storage.read_only or not (self.policy.auto_approve or self.policy.deadlines):
            return []
        now = datetime.now(UTC)
        by_rule: dict[str, list[dict[str, Any]]] = {}
        for row in self.pending():
            rule = self.policy.auto_rule(row)
            deadline = self.policy.deadline(row)
            if rule is not None:
                by_rule.setdefault(rule.name, []).append(_item(row, {"type": "approve"}))
            elif (
                deadline is not None
                and deadline.reject
                and deadline.due(row, now)
                and "reject" in row.allowed_decisions
            ):
                by_rule.setdefault(deadline.name, []).append(_item(row, {"type": "reject", "message": deadline.reject}))
        results = []
        for name, items in by_rule.items():
            handle = self.submit_batch(items, Reviewer.rule(name))
            results.append(handle.result() if wait else handle.result_so_far)
        return results

    def submit(
        self, items: Iterable[DecisionRequest | dict[str, Any]], reviewer: Reviewer | str, *, channel: str | None = None
    ) -> BatchResult:
        """`submit_batch` and wait for every thread's resume."""
        return self.submit_batch(items, reviewer, channel=channel).result()

    def job(self, job_id: str) -> RunJob | None:
        """A run of this process by its id, while it is kept (`RunJob`)."""
        return self.runner.job(job_id)

    def close(self) -> None:
        """Stop the sweeper, the servers' poller, the worker and the heartbeat, then close the store."""
        if self._sweeper is not None:
            self._sweeper.stop()
        self.sources.stop()
        self.runner.shutdown()
        self.leases.stop()
        self.inbox.close()
        self.storage.close()


def open_servers(settings: Settings) -> ServerSet:
    """The Agent Servers the settings name: `--server` URLs (every graph) and a config's `servers` list."""
    targets = [ServerTarget(url, settings.api_key) for url in settings.servers]
    if settings.config:
        data = load_config(Path(settings.config).expanduser())
        targets += parse_server_config(data.get("servers"), settings.api_key)
    sources = [ServerSource(t, timeout=settings.connect_timeout_seconds) for t in targets]
    return ServerSet(sources, poll_seconds=settings.server_poll_seconds)


def _targets(settings: Settings) -> list[tuple[str, str, Any]]:
    """(graph_id, target, object) of every graph the settings name: a langgraph.json's map, or one --graph."""
    if settings.config:
        path = Path(settings.config).expanduser()
        return [(gid, target, resolve_target(target, path.parent)) for gid, target in read_config(path).items()]
    if settings.graph:
        graph_id, sep, target = settings.graph.partition("=")
        if not sep or ":" in graph_id:  # no "id=" prefix: the file or module name is the id
            target = settings.graph
            spec = target.rpartition(":")[0]
            graph_id = Path(spec).stem if spec.endswith(".py") else spec.rsplit(".", 1)[-1]
        return [(graph_id, target, resolve_target(target))]
    return []


def _allow_graph_types(storage: Storage, graphs: list[LoadedGraph], settings: Settings) -> None:
    """Let the restricted serializer revive the graphs' own types (their schemas', their modules'): a pydantic
    state model, say, and the ones `REVIEW_ALLOWED_TYPES` names; nothing else (review/serde.py says which)."""
    extra = parse_allowed_types(settings.allowed_types)
    storage.saver.serde = allow_graph_types(storage.saver.serde, graphs, extra)


def _item(row: PendingInterrupt, decision: dict[str, Any]) -> dict[str, Any]:
    return {"thread_id": row.thread_id, "row_id": row.row_id, "decision": decision}


def _shadow_rule(row: RuleRow) -> ShadowRule:
    return ShadowRule(
        row.name,
        row.tool,
        json.loads(row.args),
        row.state,
        row.since,
        row.created_by,
        row.evidence,
        row.ended_at,
        row.ended_by,
    )


def _write_atomically(path: Path, text: str) -> None:
    """Replace the file's text at once (a console reading it meanwhile sees the old or the new, never half)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    temporary.write_text(text, encoding="utf-8")
    if path.exists():
        os.chmod(temporary, path.stat().st_mode & 0o7777)
    os.replace(temporary, path)


def _reloaded(policy: Policy, path: Path) -> Policy:
    """The policy file as written now, no weaker in verification than the policy in use (sign-in's requirement)."""
    fresh = load_policy(str(path))
    return fresh.requiring(sorted(policy.verifications)) if policy.verifications is not None else fresh
