"""The Inbox page's Streamlit parts: the tables, the submit and its progress, the banner (the card: ui/card.py).

app.py composes them; the logic they call is plain Python (ui/inbox.py, ui/detail.py); the preview is
the picture the thread's graph draws (review/pictures.py, ui/picture.py).
One draft (`inbox.STATE_DRAFT`, keyed by row) is shared by the tables and the card: every change, from
either, goes through `set_draft` (ui/drafts.py), which also keeps the reviewer's stored copy (`console.save_draft`)
in step, so a reload or a server restart loses no unsent decision.

A submit never waits for a resume in the click handler: `submit` validates and claims (one call to
the console; `send` takes out the rows the core refuses and sends the rest, unless "All or nothing"
is ticked), keeps the batch's handle in session state (`inbox.STATE_BATCH`) and returns; `live`,
a small fragment that runs every 0.2 s, shows the resumes' progress in `st.status` and reruns the
page when they are done, or, with no batch running, when the store's change token moved (a row
raised by another process, a run that ended): the table is drawn again only then.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import streamlit as st

from review import BatchResult, PendingInterrupt, ReviewConsole, StoreError
from review.identity import Reviewer
from review.submit import BatchHandle
from ui import inbox, inbox_gate, keys
from ui.auth import current_reviewer
from ui.console import reviewer_name
from ui.drafts import fold, retire_editor, set_draft
from ui.format import (
    AGE_TICK_SECONDS,
    frozen_labels,
    md_escape,
    plural,
    short_id,
    thread_label,
    unique_labels,
)
from ui.sidebar import NEW_RUN

GATE_WARNING = "Enter your name in the sidebar before sending decisions"
LIVE_SECONDS = 0.2  # without serve.py's route: how often an open Inbox checks the store (one cheap query)
BUSY_SECONDS = 0.1  # while this session's batch resumes: how often its progress is looked at
BUSY_REDRAW_SECONDS = 1.0  # while a batch resumes, the table is redrawn at most this often
STATE_TOKEN = "inbox_token"  # the store's change token the page was last drawn at
STATE_DRAWN = "inbox_drawn_at"  # time.monotonic() of the Inbox body's last run (its ages then)
STATE_DEMO = "inbox_demo_started"
ALL_OR_NOTHING = "inbox_all_or_nothing"  # ticked: a batch with a refused row sends nothing (a widget key)
CONTRADICTED_SHOWN = 10  # decisions the graph contradicted, newest, listed under Runs (all on the Audit page)

COLUMN_CONFIG = {
    "tool": st.column_config.TextColumn("tool", width=110, pinned=True),
    "arguments": st.column_config.TextColumn("arguments", width=180, help="What the call does; in full on its card"),
    "thread": st.column_config.TextColumn(
        "thread", width=150, help="The thread's request (its short id first where two requests read the same)"
    ),
    "decision": st.column_config.SelectboxColumn(
        "decision", options=list(inbox.DECISIONS), required=False, width=82, help="Empty: stays pending"
    ),
    "message": st.column_config.TextColumn("message", width=120, help="Sent with reject"),
    "edited arguments": st.column_config.TextColumn(
        "edited arguments",
        width=132,
        help="key=value, key=value or a JSON object; given keys replace the originals (implies edit)",
    ),
    "status": st.column_config.TextColumn(
        "status",
        width=200,
        help="Why the decision cannot be sent, the last submit, a failed last attempt, or a running thread; "
        "full text on its card",
    ),
    "waiting": st.column_config.TextColumn("waiting", width=62, help="Time since the interrupt was raised"),
}


def group_columns(group: inbox.RowGroup) -> dict[str, Any]:
    """The column config of one group's editor: its decision column offers the group's decisions and no other;
    a group of questions calls its message column `answer`."""
    config = dict(COLUMN_CONFIG)
    config["decision"] = st.column_config.SelectboxColumn(
        "decision", options=list(group.decisions), required=False, width=82, help="Empty: stays pending"
    )
    if group.answers:
        config["message"] = st.column_config.TextColumn(
            "answer", width=160, help="The answer, sent with respond (a yes/no, a number, any JSON value: on its card)"
        )
    return config


@dataclass
class InFlight:
    """A submitted batch whose resumes run in the console's worker (kept in session state)."""

    handle: BatchHandle
    plan: inbox.BatchPlan
    draft: inbox.Draft  # the entries sent, to name the rows in the banner
    labels: dict[str, str]
    retried: set[str] = field(default_factory=set)
    extra: list[str] = field(default_factory=list)  # lines for the banner (decisions not sent)
    refused: dict[str, str] = field(default_factory=dict)  # row key -> why it was not sent (it stays drafted)
    started: float = field(default_factory=time.monotonic)
    redrawn: float = field(default_factory=time.monotonic)


def init_state() -> None:
    """Give the Inbox's session keys their starting values (a rerun keeps what is there)."""
    state = st.session_state
    state.setdefault(inbox.STATE_DRAFT, {})
    state.setdefault(inbox.STATE_EDITORS, {})
    state.setdefault(inbox.STATE_RENDERED, [])
    state.setdefault(inbox.STATE_GENERATION, 0)
    state.setdefault(inbox.STATE_STATUS, {})
    state.setdefault(inbox.STATE_REPORT, None)
    state.setdefault(STATE_TOKEN, None)
    state.setdefault(STATE_DRAWN, time.monotonic())


def take_rows(live: Sequence[PendingInterrupt], filters: tuple[Any, ...], *, edited: bool) -> inbox.Sheet:
    """The rows the table shows this run (`inbox.next_sheet`), kept in session state.

    Held when this run folded an edit (the reviewer is typing: the next cell may already be open), or when the
    browser's idle gate is alive and has not said that the reviewer paused; taken at once otherwise (a click
    elsewhere retired the editors, the filters changed, or no gate runs: AppTest, a browser still loading).
    """
    state = st.session_state
    adopt = bool(state.pop(inbox.STATE_ADOPT, False))
    hold = edited or (inbox_gate.alive() and not adopt)
    sheet = inbox.next_sheet(state.get(inbox.STATE_SHEET), live, filters, hold=hold)
    state[inbox.STATE_SHEET] = sheet
    if sheet.held:
        inbox_gate.held_again()
    return sheet


# --- what the rows need from the store ---------------------------------------------------------


def row_context(
    console: ReviewConsole,
    rows: Sequence[PendingInterrupt],
    now: datetime,
    also: Sequence[str] = (),
    *,
    check_drafts: bool = True,
) -> inbox.RowContext:
    """Thread names, failed last attempts and running threads for these rows (names also for threads `also`),
    and (`check_drafts`) why each drafted decision would be refused, asked of the core as the reviewer types.

    Threads chosen in the Thread filter are named too, rows or not: Streamlit keeps the filter's value as the
    option's text, so a chosen thread with no rows for a moment (its last row answered, its next one not raised
    yet) that lost its name would silently drop out of the filter, and its next rows out of the table.
    """
    chosen = st.session_state.get(inbox.THREAD_FILTER) or []
    thread_ids = list(dict.fromkeys([*(row.thread_id for row in rows), *also, *chosen]))
    infos = console.thread_infos(thread_ids)
    labels = unique_labels(
        {
            thread_id: thread_label(
                thread_id,
                infos[thread_id].request if thread_id in infos else None,
                infos[thread_id].started_at if thread_id in infos else None,
                now,
            )
            for thread_id in thread_ids
        }
    )
    failures = {f"{thread_id}:{row_id}": entry for (thread_id, row_id), entry in console.failures().items()}
    running = {run.thread_id for run in console.runs() if run.state in ("running", "continuing")}
    batch = st.session_state.get(inbox.STATE_BATCH)
    sending = set(batch.plan.keys) if isinstance(batch, InFlight) else set()
    names = frozen_labels(st.session_state.setdefault("inbox_thread_names", {}), labels)
    notes = {f"{t}:{r}": "; ".join(found) for (t, r), found in console.row_notes(rows).items()}
    reviewer = current_reviewer()
    refusals = {}
    offered = {}
    if reviewer is not None:
        for row in rows:
            reason = console.may_decide(reviewer, row)
            if reason and not row.blocked:
                refusals[inbox.row_key(row)] = reason
            elif not reason:  # the policy may take some decisions away (a tool's `decisions`): not offered then
                allowed = tuple(d for d in row.allowed_decisions if console.policy.permits(row, d))
                if allowed != tuple(row.allowed_decisions):
                    offered[inbox.row_key(row)] = allowed
    problems = draft_problems(console, rows, sending) if check_drafts else {}
    return inbox.RowContext(
        labels=labels,
        names=names,
        failures=failures,
        running=running,
        sending=sending,
        notes=notes,
        refusals=refusals,
        problems=problems,
        several_graphs=len(console.graphs) > 1,
        cells=inbox.thread_cells({t: infos[t].request if t in infos else None for t in thread_ids}),
        offered=offered,
    )


def decision_check(console: ReviewConsole) -> inbox.Check:
    """The core's validator for this session's reviewer (`ReviewConsole.check_decision`). Before anyone is named
    the policy is not asked: Submit asks for a name first."""
    reviewer = current_reviewer()

    def check(thread_id: str, row_id: str, raw: dict[str, Any]) -> str | None:
        return console.check_decision(thread_id, row_id, raw, reviewer)

    return check


def draft_problems(console: ReviewConsole, rows: Sequence[PendingInterrupt], sending: set[str]) -> dict[str, str]:
    """Row key -> why its drafted decision would be refused: what a submit now would say, before Submit."""
    draft = st.session_state.get(inbox.STATE_DRAFT) or {}
    keys_pending = [inbox.row_key(row) for row in rows]
    return inbox.plan_batch(draft, keys_pending, sending=sending, check=decision_check(console)).errors


# --- callbacks -----------------------------------------------------------------------------------


def bulk(console: ReviewConsole, decision: str) -> None:
    """Approve / reject every row shown that allows it, but those whose last attempt failed (retrying one is a
    choice); the note says how many were skipped and why."""
    fold(console)
    state = st.session_state
    failed = {f"{thread_id}:{row_id}" for thread_id, row_id in console.failures()}
    choice = inbox.bulk_choice(state.get(inbox.STATE_GROUPS) or [], decision, failed)
    set_draft(console, inbox.apply_bulk(state[inbox.STATE_DRAFT], choice.keys, decision))
    state["inbox_bulk_note"] = choice.note()
    retire_editor()


def submit(console: ReviewConsole) -> None:
    """Validate and claim the batch, start its resumes, and return: `live` follows them."""
    fold(console)
    state = st.session_state
    reviewer = reviewer_name()
    if not reviewer:
        state[inbox.STATE_REPORT] = inbox.SubmitReport("warning", [GATE_WARNING])
        return
    if isinstance(state.get(inbox.STATE_BATCH), InFlight):
        state[inbox.STATE_REPORT] = inbox.SubmitReport(
            "info", ["Nothing sent yet: the last batch is still being applied (see its progress)"]
        )
        return
    rows = console.pending()
    now = datetime.now(UTC)
    draft = inbox.sync_draft(state[inbox.STATE_DRAFT], rows)
    threads = [entry["thread_id"] for entry in draft.values()]
    context = row_context(console, rows, now, also=threads, check_drafts=False)  # the plan below checks the drafts

    def recorded(thread_id: str) -> set[str]:
        return {entry.row_id for entry in console.audit(thread_id=thread_id)}

    # The core's validator, as the table asked it, in the words a submit would give.
    plan = inbox.plan_batch(
        draft, [inbox.row_key(row) for row in rows], recorded=recorded, check=decision_check(console)
    )
    dropped = inbox.report_dropped(plan.dropped, draft, context.labels)
    for key in plan.dropped:
        draft.pop(key, None)
    all_or_nothing = bool(state.get(ALL_OR_NOTHING))
    report: inbox.SubmitReport | None
    if plan.errors and (all_or_nothing or not plan.items):
        report = inbox.report_invalid(plan.errors, draft, shown=state[inbox.STATE_RENDERED], labels=context.labels)
    elif not plan.items:
        report = inbox.SubmitReport("info", ["Nothing to send: choose a decision on at least one row"])
    else:
        try:
            # validate + claim; resumes start in the worker. The signed-in identity, else the typed (unverified) name.
            handle, sent, refused = send(console, plan, current_reviewer() or reviewer, all_or_nothing=all_or_nothing)
        except (ValueError, StoreError) as exc:  # a bad reviewer name, a full or read-only database
            report = inbox.SubmitReport("error", [f"Nothing was sent: {exc}"])
        else:
            state[inbox.STATE_BATCH] = InFlight(
                handle,
                sent,
                {key: draft[key] for key in [*sent.keys, *refused] if key in draft},
                context.labels,
                retried={key for key in sent.keys if key in context.failures},
                extra=dropped,
                refused=refused,
            )
            report = None
            dropped = []
    if report is not None:
        report.lines.extend(dropped)
        state[inbox.STATE_STATUS] = report.status
    state[inbox.STATE_REPORT] = report
    set_draft(console, draft)
    retire_editor()


def send(
    console: ReviewConsole, plan: inbox.BatchPlan, who: Reviewer | str, *, all_or_nothing: bool
) -> tuple[BatchHandle, inbox.BatchPlan, dict[str, str]]:
    """Hand the plan's valid rows to the console; the handle, the plan it sent, and the rows not sent (key -> why).

    The rows the table already refused are not in `plan.items`. The core checks every row again, and the batch
    as a whole (a batched request decided in part, a breakpoint's calls split): it refuses a batch whole, naming
    each bad row. Unless the reviewer asked for all or nothing, those rows are taken out and the rest is sent
    again, until the core takes it or nothing is left (each round takes one row out at least).
    """
    refused = {} if all_or_nothing else dict(plan.errors)
    while True:
        handle = console.submit_batch(plan.items, who)
        invalid = handle.result_so_far.invalid
        if not invalid or all_or_nothing:
            return handle, plan, refused
        bad = {f"{error.thread_id}:{error.row_id}": error.error for error in invalid}
        keys = {key for item, key in zip(plan.items, plan.keys, strict=True) if key in bad}
        refused.update({key: bad[key] for key in keys})
        rest = inbox.without(plan, keys)
        if not keys or not rest.items:  # the core named no row of ours, or refused every one: nothing sent
            return handle, plan, refused
        plan = rest


def finish_batch(console: ReviewConsole) -> bool:
    """If this session's batch has finished resuming, turn it into the banner and row statuses; True if it did."""
    state = st.session_state
    batch = state.get(inbox.STATE_BATCH)
    if not isinstance(batch, InFlight) or not batch.handle.done():
        return False
    result = batch.handle.result()
    report = inbox.report_result(
        result,
        batch.plan,
        batch.draft,
        batch.labels,
        retried=batch.retried,
        refused=batch.refused,
        decided=conflict_decisions(console, result),
    )
    report.lines.extend(batch.extra)
    draft = dict(state[inbox.STATE_DRAFT])
    for key in report.done:
        draft.pop(key, None)
    del state[inbox.STATE_BATCH]
    # No fresh editors here: the reviewer may be typing into the table while the batch resumed. The rows it
    # answered leave the table when the reviewer pauses; their edits were folded before they were sent.
    set_draft(console, draft)
    # The table may still show the rows it applied (held): they say so instead of "answered elsewhere".
    state[inbox.STATE_STATUS] = {**dict.fromkeys(report.done, "applied"), **report.status}
    state[inbox.STATE_REPORT] = report
    return True


def conflict_decisions(console: ReviewConsole, result: BatchResult) -> dict[tuple[str, str], str]:
    """What the reviewer who decided first decided, for each conflict of the batch ((thread, row) -> words)."""
    decided: dict[tuple[str, str], str] = {}
    for thread_id in {conflict.thread_id for conflict in result.conflicts}:
        holders = {(c.row_id, c.reviewer) for c in result.conflicts if c.thread_id == thread_id}
        for entry in console.audit(thread_id=thread_id):
            if (entry.row_id, entry.reviewer) in holders and entry.status in ("claimed", "applied"):
                decided.setdefault((thread_id, entry.row_id), inbox.decided_text(entry))
    return decided


def start_examples(console: ReviewConsole) -> None:
    """Start the default graph's example runs (its `run_examples`) as whoever is here: the policy's `starters`
    decide (never a viewer)."""
    starter = current_reviewer() or Reviewer.anonymous()
    started = []
    for prompt in console.graphs.default.examples.values():
        try:
            started.append(console.start_run(prompt, reviewer=starter).thread_id)
        except ValueError as exc:
            st.session_state[STATE_DEMO] = f"Nothing started: {exc}"
            return
    st.session_state[STATE_DEMO] = (
        f"Started {plural(len(started), 'example run')}: their tool calls appear here in a moment."
    )


# --- drawing -------------------------------------------------------------------------------------


def filters(rows: Sequence[PendingInterrupt], context: inbox.RowContext) -> list[PendingInterrupt]:
    """The Tool, Thread and State filters; the rows they leave."""
    state = st.session_state
    # Options keep the current choice, so a filter survives its rows leaving the table.
    tools = sorted({inbox.tool_label(row, context) for row in rows} | set(state.get(inbox.TOOL_FILTER) or []))
    threads = list(dict.fromkeys([row.thread_id for row in rows] + list(state.get(inbox.THREAD_FILTER) or [])))
    tool_column, thread_column, state_column = st.columns([2, 3, 2])
    chosen_tools = tool_column.multiselect("Tool", tools, key=inbox.TOOL_FILTER, placeholder="All tools")
    chosen_threads = thread_column.multiselect(
        "Thread",
        threads,
        key=inbox.THREAD_FILTER,
        format_func=context.name,
        on_change=_thread_filter_changed,
        placeholder="All threads",
        help="Threads by their request and age",
    )
    chosen_states = state_column.multiselect(
        "State", list(inbox.ROW_STATES), key=inbox.STATE_FILTER, placeholder="Any state"
    )
    return inbox.filter_rows(rows, chosen_tools, chosen_threads, chosen_states, context)


def filter_values() -> tuple[Any, ...]:
    """What the filters chose (a change of them is the reviewer's click: the table takes the live rows)."""
    state = st.session_state
    return tuple(tuple(state.get(key) or ()) for key in (inbox.TOOL_FILTER, inbox.THREAD_FILTER, inbox.STATE_FILTER))


def bulk_buttons(console: ReviewConsole, *, enabled: bool) -> None:
    """Approve / Reject all shown, side by side, full labels, with their shortcuts."""
    with st.container(horizontal=True):
        for label, decision, icon, shortcut in (
            ("Approve all shown", "approve", ":material/done_all:", keys.APPROVE_ALL),
            ("Reject all shown", "reject", ":material/block:", keys.REJECT_ALL),
        ):
            st.button(
                label,
                key=f"inbox_{decision}_all",
                icon=icon,
                on_click=bulk,
                args=(console, decision),
                disabled=not enabled,
                shortcut=shortcut,
                help=keys.with_key(
                    f"{decision.capitalize()} every row the filters show that allows it (rows whose last attempt "
                    "failed excepted); says how many were skipped",
                    shortcut,
                ),
            )


def table(sheet: inbox.Sheet, draft: inbox.Draft, context: inbox.RowContext, now: datetime) -> None:
    """The rows as editable tables, one per set of decisions the rows offer (`inbox.group_rows`): a row's decision
    cell offers only what the row allows. Each row's decision, edit and message come from the draft."""
    state = st.session_state
    status = {**{key: inbox.GONE for key in sheet.gone}, **state[inbox.STATE_STATUS]}
    groups = inbox.group_rows(sheet.rows, context)
    editors: dict[str, list[str]] = {}
    tables: dict[str, list[tuple[str, tuple[str, ...]]]] = {}
    for group in groups:
        keys_shown = group.keys
        st.caption(md_escape(group.title))
        frame = inbox.build_frame(group.rows, draft, status, now, context)
        height = min(36 + 35 * max(len(group.rows), 1), 36 + 35 * 10)
        editor = inbox.editor_key(keys_shown, state[inbox.STATE_GENERATION])
        # What a focused cell of this table is (ui/inbox_gate.py): its row's key and first cells, as shown.
        first = frame[list(group.columns[:3])].fillna("").astype(str).itertuples(index=False)
        tables[editor if group.decisions else editor.replace("editor", "table")] = [
            (key, tuple(cells)) for key, cells in zip(keys_shown, first, strict=True)
        ]
        if not group.decisions:  # nothing to decide here: a plain table, no editor
            st.dataframe(
                frame,
                key=editor.replace("editor", "table"),
                hide_index=True,
                column_order=group.columns,
                column_config=COLUMN_CONFIG,
                height=height,
            )
            continue
        st.data_editor(
            frame,
            key=editor,
            hide_index=True,
            num_rows="fixed",
            column_order=group.columns,
            column_config=group_columns(group),
            disabled=list(inbox.READ_ONLY),
            placeholder="",
            alt=group.title,
            height=height,
        )
        editors[editor] = keys_shown
    state[inbox.STATE_EDITORS] = editors
    state[inbox.STATE_TABLES] = tables
    state[inbox.STATE_RENDERED] = [key for group in groups for key in group.keys]
    state[inbox.STATE_GROUPS] = groups


REFUSED_SHOWN = 5  # refused rows named under the tables (the others: their status cell, and Submit)


def refused_rows(rows: Sequence[PendingInterrupt], draft: inbox.Draft, context: inbox.RowContext) -> None:
    """The shown rows whose drafted decision would be refused, named with the core's reason, right under the
    tables: visible at once, whatever the width (the status cell may be scrolled out of view)."""
    lines = []
    for row in rows:
        key = inbox.row_key(row)
        entry = draft.get(key)
        problem = inbox.row_problem(key, entry, context) if entry is not None else None
        if problem is not None and entry is not None:
            lines.append(f"{inbox.row_text(entry, context.labels)}: {problem}")
    if not lines:
        return
    more = len(lines) - REFUSED_SHOWN
    shown = [f"{plural(len(lines), 'row')} cannot be sent as decided:", *lines[:REFUSED_SHOWN]]
    if more > 0:
        shown.append(f"… and {more} more: see their status")
    st.warning("  \n".join(md_escape(line) for line in shown), icon=":material/block:")


def sendable(draft: inbox.Draft, decided: set[str], context: inbox.RowContext) -> int:
    """Decided rows a submit now would send: those the checks do not refuse (with all or nothing ticked, none
    when one is refused)."""
    refused = {key for key in decided if key in draft and inbox.row_problem(key, draft[key], context)}
    if refused and st.session_state.get(ALL_OR_NOTHING):
        return 0
    return len(decided - refused)


def submit_controls(console: ReviewConsole, *, sendable: int) -> None:
    """Submit decisions (the primary button only when there is something to send) and the all-or-nothing choice."""
    with st.container(horizontal=True, vertical_alignment="center"):
        st.button(
            "Submit decisions",
            key="inbox_submit",
            type="primary" if sendable else "secondary",
            icon=":material/send:",
            on_click=submit,
            args=(console,),
            help=keys.with_key(
                "Send every decided row, of every thread, as one batch; a refused row stays in your draft with "
                "its reason, the others are sent",
                keys.SUBMIT,
            ),
        )
        st.checkbox(
            "All or nothing",
            key=ALL_OR_NOTHING,
            help="Send nothing if any decided row is refused (unticked: the valid rows are sent, the refused ones "
            "stay in your draft with their reason)",
        )
    keys.press_to_click("Submit decisions")  # its key, so that its accessible name is exactly its label


def progress() -> None:
    """While this session's batch resumes: how far it got, in `st.status`."""
    batch = st.session_state.get(inbox.STATE_BATCH)
    if not isinstance(batch, InFlight):
        return
    jobs = batch.handle.jobs
    done = sum(1 for job in jobs if job.done())
    seconds = time.monotonic() - batch.started
    label = f"Applying {plural(len(batch.plan.items), 'decision')}: {done} of {plural(len(jobs), 'thread')} resumed"
    with st.status(f"{label} ({seconds:.0f} s)", state="running", expanded=True):
        recent = sorted((event for job in jobs for event in job.events()[-2:]), key=lambda e: e.at)[-4:]
        for event in recent:
            st.text(f"{event.node}: {event.text}")


def look(console: ReviewConsole) -> None:
    """One look (from a timed fragment): follow this session's batch, else compare the store's change token;
    the page is drawn again only when the batch ended or the token moved."""
    state = st.session_state
    batch = state.get(inbox.STATE_BATCH)
    if isinstance(batch, InFlight):
        if batch.handle.done():
            st.rerun()  # the page turns it into the banner
        progress()
        now = time.monotonic()
        if now - batch.redrawn >= BUSY_REDRAW_SECONDS and console.inbox_token() != state[STATE_TOKEN]:
            batch.redrawn = now
            st.rerun()  # the table shows rows leaving while the batch resumes
        return
    if console.inbox_token() != state[STATE_TOKEN] or time.monotonic() - state[STATE_DRAWN] >= AGE_TICK_SECONDS:
        st.rerun()  # a change; or the ages shown (in minutes) move on


def report_banner(report: inbox.SubmitReport | None) -> None:
    """The last submit's banner: the total line first, the lines worth reading, per-thread details folded. It
    stays (a visit to another page included) until the reviewer dismisses it or submits again; the rows the
    batch raised stay marked in their status cells ("new: raised by your last submit") until decided."""
    if report is None or (report.lines == [GATE_WARNING] and reviewer_name()):
        return
    body = "  \n".join(md_escape(line) for line in report.lines)
    {"success": st.success, "warning": st.warning, "error": st.error}.get(report.level, st.info)(body)
    with st.container(horizontal=True, vertical_alignment="center"):
        if report.details:
            with st.expander(f"Per thread ({len(report.details)})"):
                st.text("\n".join(report.details))
        st.button("Dismiss", key="inbox_dismiss", type="tertiary", on_click=_dismiss, help="Hide this banner")


def _dismiss() -> None:
    st.session_state[inbox.STATE_REPORT] = None


THREAD_PARAM = "thread"  # `/?thread=<id>`: the Inbox shows that thread's rows (the Thread page's links)
STATE_THREAD_LINK = "inbox_thread_link"  # set once the Inbox's `?thread=` was followed on this visit


def follow_thread_link() -> None:
    """A link `/?thread=<id>` sets the Thread filter to that thread, once per visit of the Inbox (the reviewer may
    clear it; ui/sidebar.py forgets the visit when another page is shown)."""
    state = st.session_state
    if STATE_THREAD_LINK in state:  # followed on this visit of the Inbox: a URL a late rerun brings back is no link
        return
    wanted = st.query_params.get(THREAD_PARAM)
    state[STATE_THREAD_LINK] = wanted or ""
    if wanted:
        state[inbox.THREAD_FILTER] = [wanted]


def _thread_filter_changed() -> None:
    """The reviewer changed the Thread filter: the URL no longer says one thread."""
    wanted = st.query_params.get(THREAD_PARAM)
    if wanted and st.session_state.get(inbox.THREAD_FILTER) != [wanted]:
        del st.query_params[THREAD_PARAM]


def empty_inbox(console: ReviewConsole, has_rows: bool) -> None:
    """What an Inbox with nothing to show says: the filters hide every row, or nothing waits (and how to start)."""
    if has_rows:
        st.info("No rows match the filters.")
        return
    st.info("No interrupts are waiting for review.")
    examples = console.graphs.default.examples  # the graph's own (`run_examples`): the demo's shapes, or none
    if examples:
        demo, own = st.columns([2, 3])
        demo.button(
            "Start the example runs",
            key="inbox_demo",
            icon=":material/rocket_launch:",
            on_click=start_examples,
            args=(console,),
            help=f"{plural(len(examples), 'run')} of {console.graphs.default.graph_id}: " + "; ".join(examples),
        )
    else:
        own = st.container()
    with own:
        st.page_link(
            NEW_RUN,
            label="Start a run" if not examples else "Or start a run of your own",
            icon=":material/play_circle:",
        )
    note = st.session_state.get(STATE_DEMO)
    if note:
        st.caption(md_escape(note))


def runs(console: ReviewConsole, labels: dict[str, str]) -> None:
    """Runs on or cut short (recovery continues them), so a thread with nothing pending never looks stalled;
    and, like failed runs, the newest applied decisions the graph contradicted (its checkpoint shows it did
    otherwise: review/verify.py), whose rows are no longer pending."""
    shown = [run for run in console.runs() if run.state != "running"]
    contradicted = [entry for entry in console.failures().values() if entry.contradicted]
    if shown or contradicted:
        st.caption("Runs")
        for run in shown:
            line = md_escape(f"{labels.get(run.thread_id) or 'Thread ' + short_id(run.thread_id)}: {run.text}")
            (st.error if run.state == "failed" else st.info)(line, icon=":material/sync_problem:")
        for entry in contradicted[-CONTRADICTED_SHOWN:]:
            label = labels.get(entry.thread_id) or "Thread " + short_id(entry.thread_id)
            st.error(md_escape(inbox.contradiction_text(entry, label)), icon=":material/gpp_bad:")
        if len(contradicted) > CONTRADICTED_SHOWN:
            st.caption(f"{len(contradicted) - CONTRADICTED_SHOWN} older contradicted decisions: see the Audit page")
